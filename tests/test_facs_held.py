"""A weak expression held for over a second keeps its reading: the person's neutral (the
measurements' and the neutral image's) does not absorb it, and the reading ends with it."""

import tempfile
from pathlib import Path

import pytest

import tells
from tells.facs.synth import synth_face
from tells.io.samples import sample_path
from tells.io.video import open_video
from tells.spotting.flashes import Clip, write_clip

FPS = 30.0
LEAD, HOLD, TAIL = 45, 36, 30  # frames: 1.5 s at rest, 1.2 s held, 1 s at rest


@pytest.fixture(scope="module")
def neutral():
    with open_video(sample_path("single_face.mp4")) as src:
        return next(iter(src)).image


@pytest.mark.parametrize(("code", "column"), [("R14A", "AU14R_r"), ("12A", "AU12_r")])
def test_a_weak_expression_held_keeps_its_reading(neutral, code, column):
    expr = synth_face(neutral, code)
    frames = [neutral] * LEAD + [expr] * HOLD + [neutral] * TAIL
    clip = Clip(frames, FPS, LEAD / FPS, LEAD / FPS, (LEAD + HOLD) / FPS, LEAD)
    with tempfile.TemporaryDirectory() as d:
        result = tells.analyze_video(write_clip(clip, Path(d) / "held.mp4"), report=False)
    v = result.frames[column].to_numpy()
    assert len(v) == len(frames)
    early = v[LEAD + 3:LEAD + 13].mean()
    late = v[LEAD + HOLD - 10:LEAD + HOLD].mean()
    assert 0.1 <= early < 1.0  # a weak expression, read (below A: the frames count as calm)
    assert late >= 0.6 * early  # not absorbed into the neutral over the hold
    assert v[-10:].mean() < 0.05 and v[LEAD - 10:LEAD].mean() < 0.05  # and gone at rest
