"""Naming an event from what changed (tells.emotion.event) and the bare-CNN reference input."""

from __future__ import annotations

import numpy as np
import pytest

from tells.emotion.cnn import CNN_CLASSES, bare_input
from tells.emotion.event import name_event, one_sided


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
    name, share = name_event(smile, _cnn(neutral=0.9), _cnn(happiness=0.9))
    assert name == "happiness" and 0.0 < share <= 1.0


def test_the_rise_of_the_cnn_not_its_level_names_the_event():
    # a face the CNN reads as sad at rest: anger rises at the apex, sadness stays high
    onset = _cnn(sadness=0.6, anger=0.05)
    apex = _cnn(sadness=0.45, anger=0.4)
    assert name_event({"AU04": 1.5}, onset, apex)[0] == "anger"


def test_without_appearance_the_action_units_decide():
    name, _ = name_event({"AU01": 3.0, "AU02": 3.0, "AU05": 2.0, "AU26": 3.0})
    assert name == "surprise"


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
