"""The warp as the trainer uses it (``synth_face(..., appearance=True, natural=True)``) on a
real face: full expressions do not fold the skin over, a squint narrows the eyes without the
lower lids crossing the upper ones, widened eyes show white instead of a stretched iris, the
stretched upper lid keeps the lid's skin, and the default items read as their emotions to the
appearance CNN."""

from __future__ import annotations

import numpy as np
import pytest
from test_trainer_support import read_frames

from tells.face.geometry import head_pose, reference_shape
from tells.face.still import find_faces
from tells.facs.synth import (
    EYES,
    IRIS,
    LID_FOLDS,
    LOWER_LIDS,
    MIN_AREA,
    MIN_EYE_OPEN,
    UPPER_LIDS,
    _areas,
    _feathered_mask,
    _keep_eyes_open,
    _lid_skin,
    _triangles,
    displacements,
    synth_face,
    untangle,
)
from tells.io.samples import sample_path
from tells.trainer.judge import judge
from tells.trainer.sources import stimulus_request


@pytest.fixture(scope="module")
def face():
    """Frame 0 of single_face.mp4 (a resting face) and its mesh."""
    img = read_frames(sample_path("single_face.mp4"), [0])[0]
    return img, find_faces(img, max_faces=1)[0][0]


def test_full_expressions_keep_every_mesh_triangle_the_right_way_up():
    """Anger's lowered brows and raised lids, disgust's raised nose and upper lip and
    happiness's raised cheeks cross rows of landmarks as requested; untangled, every triangle
    of the reference mesh keeps at least MIN_AREA of its area."""
    ref = reference_shape()[:468, :2]  # the skin, not the irises
    tri, area0 = _triangles()
    for emotion in ("anger", "disgust", "happiness"):
        d = displacements(stimulus_request(emotion), look=True)
        assert (_areas(ref + d[:468], tri) < 0).any(), emotion  # as asked, skin folds over
        kept = _areas(ref + untangle(d)[:468], tri) / area0
        assert kept.min() >= MIN_AREA - 0.02, (emotion, kept.min())


def test_a_raised_upper_lid_shows_white_above_the_iris(face):
    """AU5 at E: above the iris, inside the new eye opening, the trainer's warp is brighter
    than the oracle's (which drags the iris and lashes up into a dark band)."""
    img, lm = face
    plain = synth_face(img, "5E", landmarks=lm).astype(float)
    shown = synth_face(img, "5E", landmarks=lm, appearance=True, natural=True).astype(float)
    unit = float(np.linalg.norm(lm[263, :2] - lm[33, :2]))
    for s in (0, 1):
        c = lm[IRIS[s][0], :2]
        top = lm[EYES[s], 1].min()  # the neutral upper lid over the iris
        x, y = int(round(c[0])), int(round(top - 0.03 * unit))
        k = max(1, int(0.015 * unit))
        patch = (slice(y - k, y + k + 1), slice(x - k, x + k + 1))
        assert shown[patch].mean() > plain[patch].mean() + 15, s


def _eye_openings(lm, d_head):
    """Each eye's opening (lower minus upper lid, per column of lid points) after the
    head-frame displacement, as a share of the face's own opening."""
    s = head_pose(lm)[0]
    e = lm[263, :2] - lm[33, :2]
    down = np.array([-e[1], e[0]]) / np.linalg.norm(e)
    out = []
    for up, lo in zip(UPPER_LIDS, LOWER_LIDS, strict=True):
        gap = (lm[list(lo), :2] - lm[list(up), :2]) @ down / s
        out.append((gap + d_head[list(lo), 1] - d_head[list(up), 1]) / gap)
    return np.concatenate(out)


@pytest.mark.parametrize("code", ["6E+7E", "6C+7C+9E+10E+15D+16B+25B"])
def test_a_squint_narrows_the_eyes_without_the_lids_crossing(face, code):
    """Raised cheeks and tightened lids (a squint, disgust) lift the lower lids by more than
    this face's eyes are open: as requested they cross the upper lids (the warp tore the
    iris between them); kept, each eye keeps at least MIN_EYE_OPEN of its opening."""
    _img, lm = face
    d = displacements(code, look=True)
    assert _eye_openings(lm, untangle(d)).min() < MIN_EYE_OPEN, code
    kept = _eye_openings(lm, untangle(_keep_eyes_open(lm, d)))
    assert kept.min() >= MIN_EYE_OPEN - 0.02, (code, kept.min())


def test_the_stretched_upper_lid_keeps_the_lids_skin(face):
    """Raised brows and lids stretch the upper lid; on the surprise item that band (found
    again on the item) is nearly as light as the lid's skin in the photo, not a grey smear of
    the brow hair above the fold (it was 40 grey levels darker)."""
    img, lm = face
    expr = synth_face(img, stimulus_request("surprise"), landmarks=lm, appearance=True,
                      natural=True)
    now = find_faces(expr, max_faces=1)[0][0]
    luma = expr.astype(float) @ np.array([0.299, 0.587, 0.114])
    unit = float(np.linalg.norm(lm[263, :2] - lm[33, :2]))
    for s in (0, 1):
        band = np.vstack([now[UPPER_LIDS[s], :2], now[LID_FOLDS[s], :2][::-1]])
        inside = _feathered_mask(img.shape[:2], band, 0.0) > 0.5
        skin = _lid_skin(img, lm[UPPER_LIDS[s], :2].mean(0), unit) @ [0.299, 0.587, 0.114]
        assert luma[inside].mean() > skin - 30, (s, luma[inside].mean(), skin)


@pytest.mark.parametrize("emotion", ["anger", "fear", "happiness", "sadness", "surprise"])
def test_default_items_read_as_their_emotion(face, emotion):
    """The bare appearance CNN's probability for the emotion rises from the neutral to the
    default item, and it names it."""
    img, lm = face
    expr = synth_face(img, stimulus_request(emotion), landmarks=lm, appearance=True,
                      natural=True)
    v = judge(img, expr, emotion, neutral_landmarks=lm)
    assert v.passed and v.after > v.before + 0.2, v
    assert v.named == emotion, v
