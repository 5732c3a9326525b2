"""Decoding with true timestamps across containers and codecs."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from conftest import write_video

from tells.io.video import open_video


def _frames(n=12, w=160, h=120):
    rng = np.random.default_rng(0)
    return [rng.integers(0, 255, (h, w, 3), dtype=np.uint8) for _ in range(n)]


@pytest.mark.parametrize("name,codec,pix", [
    ("a.mp4", "libx264", "yuv420p"), ("a.mkv", "libx265", "yuv420p"),
    ("a.webm", "libvpx-vp9", "yuv420p"), ("a.avi", "mjpeg", "yuvj420p"),
    ("a.mov", "libx264", "yuv420p"),
])
def test_containers_and_codecs(tmp_path, name, codec, pix):
    frames = _frames()
    path = write_video(tmp_path / name, frames, fps=25, codec=codec, pix_fmt=pix)
    with open_video(path) as v:
        got = list(v)
    assert len(got) == len(frames)
    assert np.allclose([f.t for f in got], np.arange(len(frames)) / 25, atol=2e-3)
    assert got[0].image.shape == (120, 160, 3)
    # lossy but recognisably the same picture (random noise compresses badly: loose bound)
    assert np.abs(got[5].image.astype(int) - frames[5]).mean() < 60


def test_variable_frame_rate_uses_pts(tmp_path):
    tb = Fraction(1, 1000)
    pts = [0, 40, 80, 200, 210, 220, 500, 540]  # ms: bursts and gaps
    path = write_video(tmp_path / "vfr.mkv", _frames(len(pts)), fps=25, pts=pts, time_base=tb)
    with open_video(path) as v:
        times = [f.t for f in v]
    assert np.allclose(times, np.array(pts) / 1000, atol=1e-3)


def test_odd_size_and_high_fps(tmp_path):
    frames = [np.full((121, 161, 3), i * 20, np.uint8) for i in range(10)]
    path = write_video(tmp_path / "odd.mkv", frames, fps=200, codec="libx264",
                       pix_fmt="yuv444p")
    with open_video(path) as v:
        got = list(v)
    assert got[0].image.shape == (121, 161, 3)
    assert np.allclose(np.diff([f.t for f in got]), 1 / 200, atol=1e-4)
    assert abs(int(got[3].image.mean()) - 60) <= 3


def test_large_frames_are_downscaled_for_analysis(tmp_path):
    frames = [np.zeros((2160, 3840, 3), np.uint8) for _ in range(2)]
    path = write_video(tmp_path / "uhd.mp4", frames)
    with open_video(path, max_side=1920) as v:
        f = next(iter(v))
    assert f.image.shape == (1080, 1920, 3) and f.scale == pytest.approx(2.0)
