"""Naming an event from what changed (tells.emotion.event) and the bare-CNN reference input."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

import tells
from tells.emotion.cnn import CNN_CLASSES, bare_input
from tells.emotion.event import (
    EVENT_EMOTIONS,
    FEATURE_NAMES,
    EventModel,
    change_features,
    name_event,
    one_sided,
    shared_event_model,
    texture,
)
from tells.face.align import crop_template
from tells.io import provision
from tells.io.samples import sample_path


def _cnn(**probs) -> np.ndarray:
    p = np.array([probs.get(c, 0.0) for c in CNN_CLASSES])
    p[CNN_CLASSES.index("neutral")] += max(0.0, 1.0 - p.sum())
    return p


def test_one_sided_dimpler_is_contempt_and_a_smile_is_not():
    # FACS contempt: the right lip corner tightened (R14), a little raised (R12)
    assert name_event({"AU14R": 2.0, "AU14": 1.0, "AU12R": 0.5})[0] == "contempt"
    assert one_sided({"AU14L": 2.0}) > 0.5
    smile = {"AU06": 2.0, "AU12": 3.0, "AU12L": 3.0, "AU12R": 3.0}
    assert one_sided(smile) == 0.0
    # a dimpler that relaxes on one side while the corners rise is not contempt on the other
    relaxed = {**smile, "AU14L": -4.9}
    assert one_sided(relaxed) == 0.0
    features = dict(zip(FEATURE_NAMES, change_features(relaxed, None, None), strict=True))
    assert features["AU14_asym"] == 0.0 and features["one_sided"] == 0.0
    name, share = name_event(smile, _cnn(neutral=0.9), _cnn(happiness=0.9))
    assert name == "happiness" and 0.0 < share <= 1.0
    # the same one-sided corner on a face whose brows drop and lids tighten is not contempt
    assert name_event({"AU14R": 2.0, "AU12R": 0.5, "AU04": 3.0, "AU07": 3.0,
                       "AU23": 2.0})[0] != "contempt"


def test_the_rise_of_the_cnn_not_its_level_names_the_event():
    # a face the CNN reads as sad at rest: anger rises at the apex, sadness stays high
    onset = _cnn(sadness=0.6, anger=0.05)
    apex = _cnn(sadness=0.45, anger=0.4)
    assert name_event({"AU04": 1.5}, onset, apex)[0] == "anger"
    # the same apex levels without the rise weigh far less for anger and more for sadness (the
    # brow lowerer's rise and the apex levels alone leave the two close), and a face sad
    # before and at the apex is sadness
    m = shared_event_model()

    def shares(before, at):
        s = m.scores({"AU04": 1.5}, before, at, None)
        p = np.exp(s - s.max())
        return dict(zip(EVENT_EMOTIONS, p / p.sum(), strict=True))

    rise, level = shares(onset, apex), shares(apex, apex)
    assert level["anger"] < 0.75 * rise["anger"]
    assert level["sadness"] > 1.5 * rise["sadness"]
    assert name_event({"AU04": 1.5}, onset, onset)[0] == "sadness"


def test_without_appearance_the_action_units_decide():
    """EMFACS prototypes as tells measures them on real faces (a dropped jaw parts the lips:
    AU25 with AU26). Known weakness, measured by ``scripts/fit_event_emotion.py fit``: from
    action units alone, anger (4+5+7+23) reads as fear; the appearance and the mesh change
    decide it when recorded."""
    assert name_event({"AU01": 3.0, "AU02": 3.0, "AU05": 2.0, "AU25": 3.0,
                       "AU26": 3.0})[0] == "surprise"
    assert name_event({"AU06": 2.0, "AU12": 3.0, "AU12L": 3.0, "AU12R": 3.0})[0] == "happiness"
    assert name_event({"AU01": 3.0, "AU04": 2.0, "AU15": 3.0})[0] == "sadness"
    assert name_event({"AU01": 3.0, "AU02": 3.0, "AU04": 2.0, "AU05": 3.0, "AU07": 2.0,
                       "AU20": 3.0, "AU25": 3.0, "AU26": 3.0})[0] == "fear"
    assert name_event({"AU09": 3.0, "AU10": 2.0, "AU15": 2.0})[0] == "disgust"


def test_the_evidence_at_hand_picks_the_model():
    m = shared_event_model()
    delta = {"AU06": 2.0, "AU12": 3.0, "AU12L": 3.0, "AU12R": 3.0}
    on, apex = _cnn(neutral=0.9), _cnn(happiness=0.9)
    aus_only = m.scores(delta)
    with_cnn = m.scores(delta, on, apex)
    change = np.random.default_rng(0).normal(size=m.width)
    full = m.scores(delta, on, apex, change)
    assert not np.allclose(aus_only, with_cnn) and not np.allclose(with_cnn, full)
    # the mesh and texture changes count by their direction, not their size: a weak
    # expression reads as the strong one it resembles; each block on its own
    assert np.allclose(m.scores(delta, on, apex, 0.25 * change), full, atol=0.01)
    mesh_weak = change.copy()
    mesh_weak[:len(m.mesh_basis)] *= 0.25
    assert np.allclose(m.scores(delta, on, apex, mesh_weak), full, atol=0.01)
    mesh_only = change.copy()
    mesh_only[len(m.mesh_basis):] = 0.0
    assert not np.allclose(m.scores(delta, on, apex, mesh_only), full)
    # the CNN features are missing, not zero, when no appearance was recorded
    x = change_features(delta, None, None)
    assert x.shape == (len(FEATURE_NAMES),) and np.isnan(x[-2 * len(CNN_CLASSES):]).all()


def test_the_shipped_model_is_the_listed_one_and_a_foreign_file_is_refused(tmp_path):
    asset = provision.MODELS["event_model"]
    path = provision.model_path("event_model")
    assert provision.sha256_file(path) == asset.sha256
    m = EventModel(path)
    assert m.meta["people"] >= 50
    assert (len(m.mesh_components(np.zeros((478, 3))))
            + len(m.texture_components(np.zeros((128, 128), np.uint8)))) == m.width
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["feature_names"] = arrays["feature_names"][::-1]
    bad = tmp_path / "bad.npz"
    np.savez(bad, **arrays)
    with pytest.raises(ValueError, match="other classes or features"):
        EventModel(bad)


def test_bare_input_takes_the_box_and_the_whole_tight_crop():
    img = np.zeros((200, 300, 3), np.uint8)
    img[50:150, 120:220] = 255  # the "face"
    x = bare_input(img, (120.0, 50.0, 100.0, 100.0))
    assert x.shape == (64, 64) and x.mean() == pytest.approx(1.0, abs=0.02)
    whole = bare_input(img[50:150, 120:220], None)
    assert whole.mean() == pytest.approx(1.0, abs=0.02)
    # a box running off the image edge is padded by replication, not shifted
    edge = bare_input(img, (250.0, 50.0, 100.0, 100.0))
    assert edge.shape == (64, 64) and edge.mean() < 0.0


def test_texture_sees_furrows_not_lighting():
    """The texture evidence is a change of gradients in the aligned crop: a brow furrow (two
    dark creases between the brows) changes it; the same face lit brighter or with more
    contrast hardly does, and gray or RGB crops read the same."""
    crop = tells.analyze_image(sample_path("single_face.jpg"))[0].crop
    gray = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY)
    base = texture(gray)
    assert np.array_equal(texture(crop), base)
    x, y = (int(v) for v in crop_template(gray.shape[0])[9])  # between the brows
    furrowed = gray.copy()
    for dx in (-4, 4):
        cv2.line(furrowed, (x + dx, y - 8), (x + dx, y + 8), int(gray[y, x]) - 60, 1)
    furrow = np.linalg.norm(texture(furrowed) - base)
    brighter = np.clip(gray.astype(int) + 12, 0, 255).astype(np.uint8)
    assert furrow > 0.03 * np.linalg.norm(base)
    assert np.linalg.norm(texture(brighter) - base) < 0.1 * furrow
