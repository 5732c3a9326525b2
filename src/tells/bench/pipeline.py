"""``tells bench``: the full pipeline against the decode+mesh floor, in one process and run.

The floor is what no face pipeline built on mediapipe can beat: decode every frame (same
decoder settings as tells) and run mediapipe's 478-point mesh in tracking mode on it. The
pipeline is :func:`tells.pipeline.run` with the default stages. Both run over the same frames,
alternating for ``repeats`` rounds after a warm-up; the best round of each is reported (the
machine is shared; the best round is the least disturbed one).
"""

from __future__ import annotations

import resource
import time
from collections.abc import Iterator
from pathlib import Path

from tells.api import default_stages
from tells.config import Settings
from tells.face.mp import FaceMesher
from tells.io.frames import Frame
from tells.io.video import open_video
from tells.pipeline import run


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def floor_pass(path: Path, settings: Settings) -> tuple[int, float]:
    """Decode + mediapipe mesh only; returns (frames, seconds)."""
    mesher = FaceMesher(static=False)
    mesher(next(iter(open_video(path, settings.max_side))).image)  # load the models
    n, t0 = 0, time.perf_counter()
    with open_video(path, settings.max_side) as src:
        for frame in src:
            mesher(frame.image)
            n += 1
    dt = time.perf_counter() - t0
    mesher.close()
    return n, dt


def pipeline_pass(frames, settings: Settings):
    table, stats = run(frames, settings, default_stages(settings))
    return stats


def looped(path: Path, seconds: float, settings: Settings) -> Iterator[Frame]:
    """Replay a video until ``seconds`` of media time have passed (timestamps continue)."""
    offset, index = 0.0, 0
    while True:
        last = 0.0
        with open_video(path, settings.max_side) as src:
            for frame in src:
                t = offset + frame.t
                if t >= seconds:
                    return
                yield Frame(index, t, frame.image, frame.scale)
                index += 1
                last = frame.t
        offset += last + 1.0 / max(src.info.fps, 1.0)


def bench(path: Path, repeats: int = 3, minutes: float | None = None,
          settings: Settings | None = None, say=print) -> dict:
    settings = settings or Settings()
    say(f"warming up on {path.name} …")
    pipeline_pass(open_video(path, settings.max_side), settings)
    floor_fps, pipe_fps, stage_share = 0.0, 0.0, {}
    frames = 0
    for r in range(repeats):
        n, dt = floor_pass(path, settings)
        floor_fps = max(floor_fps, n / dt)
        with open_video(path, settings.max_side) as src:
            stats = pipeline_pass(src, settings)
        if stats.fps > pipe_fps:
            pipe_fps = stats.fps
            stage_share = {k: round(v / stats.seconds, 3) for k, v in stats.stage_seconds.items()}
        frames = n
        say(f"round {r + 1}/{repeats}: floor {n / dt:.1f} fps, pipeline {stats.fps:.1f} fps")
    result = {
        "video": str(path), "frames": frames, "repeats": repeats,
        "floor_fps": round(floor_fps, 1), "pipeline_fps": round(pipe_fps, 1),
        "ratio": round(pipe_fps / floor_fps, 3) if floor_fps else None,
        "stage_share_of_pipeline_time": stage_share,
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }
    if minutes:
        say("memory: 20-second run …")
        run(looped(path, 20.0, settings), settings, default_stages(settings))
        short_peak = peak_rss_mb()
        say(f"memory: {minutes:g}-minute run …")
        t0 = time.perf_counter()
        _, stats = run(looped(path, minutes * 60.0, settings), settings, default_stages(settings))
        long_peak = peak_rss_mb()
        result["memory"] = {
            "short_run_s": 20.0, "short_peak_rss_mb": round(short_peak, 1),
            "long_run_s": minutes * 60.0, "long_frames": stats.frames,
            "long_fps": round(stats.frames / (time.perf_counter() - t0), 1),
            "long_peak_rss_mb": round(long_peak, 1),
            "growth": round(long_peak / short_peak - 1.0, 4),
        }
    return result
