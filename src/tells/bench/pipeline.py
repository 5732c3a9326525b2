"""``tells bench``: the pipeline against the decode+mesh floor, in one process and run.

The floor is decode every frame (same decoder settings as tells) and run mediapipe's 478-point
mesh in tracking mode on it, one after the other, nothing else. Because tells decodes ahead in
a thread and meshes the next frame while its stages work on the current one, it can use the
second core where the plain floor does not; so a second floor, ``floor_ahead``, decodes ahead
in the same kind of thread. Both are reported, and the ratio to each. Three configurations
of :func:`tells.pipeline.run` go over the same frames:

- ``face``: detection, tracking, mesh, pose, alignment, quality (no per-face stages);
- ``facs``: plus action units and emotions;
- ``full``: plus the spotting stage and event detection after the last frame (what
  ``tells analyze`` runs, without writing files).

All alternate for ``repeats`` rounds after a warm-up; the best round of each is reported (the
machine is shared; the best round is the least disturbed one).
"""

from __future__ import annotations

import os
import resource
import time
from collections.abc import Iterator
from pathlib import Path

from tells.api import _spot, calibrate, default_stages
from tells.config import Settings
from tells.face.mp import FaceMesher
from tells.io.frames import Frame
from tells.io.prefetch import prefetch
from tells.io.video import open_video
from tells.pipeline import run
from tells.spotting.stage import MotionStage


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def floor_pass(path: Path, settings: Settings, ahead: bool = False) -> tuple[int, float]:
    """Decode + mediapipe mesh only (``ahead``: decoding in a thread); (frames, seconds)."""
    mesher = FaceMesher(static=False)
    mesher(next(iter(open_video(path, settings.max_side))).image)  # load the models
    n, t0 = 0, time.perf_counter()
    with open_video(path, settings.max_side) as src:
        for frame in (prefetch(src) if ahead else src):
            mesher(frame.image)
            n += 1
    dt = time.perf_counter() - t0
    mesher.close()
    return n, dt


CONFIGS = ("face", "facs", "full")


def stages_for(config: str, settings: Settings) -> list:
    stages = default_stages(settings)
    if config == "face":
        return []
    if config == "facs":
        return [st for st in stages if not isinstance(st, MotionStage)]
    return stages


def pipeline_pass(path: Path, settings: Settings, config: str = "full") -> tuple[int, float, dict]:
    """One pass; returns (frames, seconds including event detection, stage shares)."""
    stages = stages_for(config, settings)
    t0 = time.perf_counter()
    with open_video(path, settings.max_side) as src:
        table, stats = run(src, settings, stages)
    if config != "face":  # as tells analyze: the action units corrected over the recording
        frames = table.to_frame()
        calibrate(frames, stages)
        if config == "full":
            _spot(frames, stages)
    dt = time.perf_counter() - t0
    shares = {k: round(v / dt, 3) for k, v in stats.stage_seconds.items()}
    return stats.frames, dt, shares


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
    load_start = os.getloadavg()[0]
    say(f"warming up on {path.name} (load average {load_start:.1f}) …")
    pipeline_pass(path, settings, "full")
    floor_fps, ahead_fps, frames = 0.0, 0.0, 0
    best = {c: (0.0, {}) for c in CONFIGS}
    for r in range(repeats):
        n, dt = floor_pass(path, settings)
        floor_fps, frames = max(floor_fps, n / dt), n
        line = [f"floor {n / dt:.1f}"]
        n, dt = floor_pass(path, settings, ahead=True)
        ahead_fps = max(ahead_fps, n / dt)
        line.append(f"floor_ahead {n / dt:.1f}")
        for config in CONFIGS:
            n, dt, shares = pipeline_pass(path, settings, config)
            if n / dt > best[config][0]:
                best[config] = (n / dt, shares)
            line.append(f"{config} {n / dt:.1f}")
        say(f"round {r + 1}/{repeats} (fps, load average {os.getloadavg()[0]:.1f}): "
            + ", ".join(line))
    configs = {c: {"fps": round(fps, 1), "ratio_to_floor": round(fps / floor_fps, 3),
                   "ratio_to_floor_ahead": round(fps / ahead_fps, 3), "stage_share": shares}
               for c, (fps, shares) in best.items()}
    result = {
        "video": str(path), "frames": frames, "repeats": repeats,
        "floor_fps": round(floor_fps, 1), "floor_ahead_fps": round(ahead_fps, 1),
        "configs": configs,
        "pipeline_fps": configs["full"]["fps"], "ratio": configs["full"]["ratio_to_floor"],
        "spotting_added_cost": round(best["facs"][0] / best["full"][0] - 1.0, 3),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        # the machine may be shared: the 1-minute load average when the rounds began and ended
        "load_average": {"start": round(load_start, 2), "end": round(os.getloadavg()[0], 2)},
    }
    say(f"load average {load_start:.1f} at the start, {result['load_average']['end']:.1f} at "
        "the end of the rounds")
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
