"""The subtler-flash morph (scripts/devset_subtle.py): a pair morphed to alpha shows the
expression alpha of the way, on a real face."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from tells.facs.synth import synth_face
from tells.io.samples import sample_path
from tells.io.video import open_video
from tells.spotting.flashes import find_mesh

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "devset_subtle.py"
#: mouth corners and the lower lip's middle: the points a broad smile moves most
MOUTH = [61, 291, 17]


@pytest.fixture(scope="module")
def subtle():
    spec = importlib.util.spec_from_file_location("devset_subtle", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def pair():
    with open_video(sample_path("single_face.mp4")) as src:
        neutral = next(iter(src)).image
    return neutral, synth_face(neutral, "6D+12D+25C+26B")


def _mouth_shift(neutral, img):
    a, b = find_mesh(neutral), find_mesh(img)
    return np.linalg.norm(b[MOUTH, :2] - a[MOUTH, :2], axis=1).mean()


@pytest.mark.parametrize("alpha", [0.35, 0.6])
def test_a_morph_moves_the_face_alpha_of_the_way(subtle, pair, alpha):
    neutral, expression = pair
    full = _mouth_shift(neutral, expression)
    assert full > 4.0  # the warp moved the mouth by several pixels
    part = _mouth_shift(neutral, subtle.morph(neutral, expression, alpha))
    assert part == pytest.approx(alpha * full, rel=0.3)


def test_no_face_no_morph(subtle, pair):
    neutral, _ = pair
    blank = np.full_like(neutral, 128)
    assert subtle.morph(neutral, blank, 0.5) is None
