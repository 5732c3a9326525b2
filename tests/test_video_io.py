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


def test_rotation_matrix_is_applied(tmp_path):
    """A phone-style portrait mp4: the track header's matrix says 'rotate 90° clockwise'."""
    import struct

    img = np.zeros((120, 160, 3), np.uint8)
    img[:40, :40] = 255  # a white block top-left in the stored picture
    path = write_video(tmp_path / "stored.mp4", [img] * 5, fps=10)
    data = bytearray(path.read_bytes())
    tkhd = data.find(b"tkhd")
    assert data[tkhd + 4] == 0  # version 0 header: the matrix starts 40 bytes in
    m = tkhd + 4 + 40
    assert struct.unpack(">9i", bytes(data[m:m + 36]))[0] == 65536  # identity before
    data[m:m + 36] = struct.pack(">9i", 0, 65536, 0, -65536, 0, 0, 0, 0, 1 << 30)
    rotated = tmp_path / "portrait.mp4"
    rotated.write_bytes(bytes(data))
    with open_video(rotated) as v:
        frame = next(iter(v))
        assert v.info.width == 120 and v.info.height == 160
    assert frame.image.shape == (160, 120, 3)
    # shown rotated clockwise: the block is now top-right
    assert frame.image[:35, -35:].mean() > 200 and frame.image[:35, :35].mean() < 50
