"""Fusion of CNN and AU prototypes, flash-preserving smoothing, the CNN on posed photos."""

import numpy as np
import pytest

import tells
from tells.contract import EMOTIONS
from tells.emotion.cnn import CNN_CLASSES, EmotionCNN, fer_input
from tells.emotion.fusion import fuse, pose_weight
from tells.emotion.smooth import FlashPreservingSmoother
from tells.io.samples import POSED_PHOTOS, sample_path


def _onehot(name, classes, p=0.9):
    v = np.full(len(classes), (1 - p) / (len(classes) - 1))
    v[classes.index(name)] = p
    return v


def test_fused_probabilities_sum_to_one_and_cover_eight_emotions():
    p = fuse(_onehot("happiness", CNN_CLASSES), {"happiness": 0.8})
    assert p.shape == (8,) and p.sum() == pytest.approx(1.0)
    assert EMOTIONS[int(p.argmax())] == "happiness"


def test_contempt_comes_from_unilateral_action_units():
    cnn = _onehot("neutral", CNN_CLASSES, 0.7)
    plain = fuse(cnn, {"contempt": 0.0})
    smirk = fuse(cnn, {"contempt": 1.0})
    i = EMOTIONS.index("contempt")
    assert plain[i] < 0.05
    assert EMOTIONS[int(smirk.argmax())] == "contempt"


def test_turned_heads_lean_on_action_units():
    assert pose_weight(0.45, 0.0) == pytest.approx(0.45)
    assert pose_weight(0.45, 0.7) > 0.8


@pytest.mark.parametrize("fps", [24.0, 30.0, 60.0])
def test_a_100ms_flash_survives_smoothing(fps):
    calm, flash = _onehot("neutral", EMOTIONS, 0.9), _onehot("fear", EMOTIONS, 0.9)
    s = FlashPreservingSmoother()
    t, peak = 0.0, 0.0
    for _ in range(int(fps)):
        s(calm, t)
        t += 1 / fps
    for _ in range(max(1, round(0.1 * fps))):
        peak = max(peak, s(flash, t)[EMOTIONS.index("fear")])
        t += 1 / fps
    assert peak >= 0.75


def test_smoothing_damps_a_one_frame_flicker():
    happy, other = _onehot("happiness", EMOTIONS, 0.9), _onehot("sadness", EMOTIONS, 0.9)
    s = FlashPreservingSmoother()
    for k in range(30):
        s(happy, k / 30)
    dipped = s(other, 30 / 30)
    # the raw frame gives happiness 0.0125; smoothed it keeps a large part of its level
    assert dipped[EMOTIONS.index("happiness")] >= 0.35
    assert dipped[EMOTIONS.index("sadness")] <= 0.6


def test_cnn_input_is_normalised_64px():
    x = fer_input(np.full((128, 128, 3), 255, np.uint8))
    assert x.shape == (64, 64) and x.max() == pytest.approx(1.0)


def test_cnn_reads_posed_surprise_and_happiness():
    cnn = EmotionCNN()
    for name in ("0-f1-su-ph.jpg", "0-f15-hao-ph.jpg"):
        face = tells.analyze_image(sample_path(name))[0]
        assert CNN_CLASSES[int(cnn(face.crop).argmax())] == POSED_PHOTOS[name]


@pytest.mark.parametrize("name", list(POSED_PHOTOS))
def test_posed_photos_predicted_as_named(name):
    face = tells.analyze_image(sample_path(name))[0]
    assert set(face.emotions) == set(EMOTIONS)
    assert sum(face.emotions.values()) == pytest.approx(1.0)
    assert max(face.emotions, key=face.emotions.get) == POSED_PHOTOS[name]
    assert "AU12L" in face.aus and "AU45" in face.aus
