"""The judge that decides which generated items are practised (the starter pack that
``tells train`` builds on first run is tested end to end in test_trainer_browser.py)."""

from __future__ import annotations

import pytest
from test_trainer_support import neutral_photos

from tells.facs.synth import synth_face
from tells.trainer.images import read_rgb
from tells.trainer.judge import judge


@pytest.fixture(scope="module")
def still(tmp_path_factory):
    """Frame 0 of single_face.mp4 (a face at rest) and its mesh."""
    from tells import analyze_image

    img = read_rgb(neutral_photos(tmp_path_factory.mktemp("still"))[1])
    return img, analyze_image(img)[0].landmarks


def test_judge_passes_what_reads_as_the_emotion_and_nothing_else(still):
    img, lm = still
    # the face itself is no expression: the CNN's happiness does not rise
    same = judge(img, img.copy(), "happiness", neutral_landmarks=lm)
    assert not same.passed and abs(same.after - same.before) < 0.05 and same.reason
    smile = judge(img, synth_face(img, "6C+12E+25D", landmarks=lm, appearance=True), "happiness",
                  neutral_landmarks=lm)
    assert smile.passed and smile.named == "happiness" and smile.after > smile.before + 0.3
    # contempt by the one-sided lip-corner measure: a one-sided smirk passes, a symmetric
    # smile (both corners up) does not
    smirk = judge(img, synth_face(img, "R12E+R14E", landmarks=lm, appearance=True), "contempt",
                  neutral_landmarks=lm)
    both = judge(img, synth_face(img, "12E+14E", landmarks=lm, appearance=True), "contempt",
                 neutral_landmarks=lm)
    assert smirk.passed and smirk.one_sided > both.one_sided
    assert not both.passed
