"""``tells bench batch``: batch throughput with 1 and 2 local workers on the same inputs.

The inputs are distinct copies of one video (remuxed with a different title, so each has its
own content hash and none is skipped as a duplicate). Each pool is started and warmed (tells
and mediapipe imported in every worker) before its clock starts; the clock then runs the real
:func:`tells.batch.run_batch` path into a fresh output folder: submit, analyse, write the
folders, publish, record the catalogue. Scaling efficiency is
``fps(2 workers) / (2 × fps(1 worker))``: 1.0 is perfect, and a machine shared with other work
depresses it, so the load average and the CPU time the workers actually got are reported
with the figures: equal frames per CPU second at 1 and 2 workers means the parallel path costs
nothing extra and any shortfall is CPU the machine did not give.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from tells.batch.cluster import default_workers, local_pool
from tells.batch.runner import run_batch


def distinct_copies(src: Path, n: int, folder: Path) -> list[Path]:
    """Remux ``src`` ``n`` times into ``folder`` with a different container title each: the
    same packets (frames, timestamps), different bytes.

    Returns
    -------
    list of Path
        ``folder/<stem>-copyNN<suffix>``.
    """
    import av

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        dst = folder / f"{src.stem}-copy{i:02d}{src.suffix}"
        with av.open(str(src)) as inp, av.open(str(dst), "w") as out:
            out.metadata["title"] = f"tells batch copy {i}"
            video = inp.streams.video[0]
            stream = out.add_stream_from_template(video)
            for packet in inp.demux(video):
                if packet.dts is None:  # demuxer's flush packet
                    continue
                packet.stream = stream
                out.mux(packet)
        paths.append(dst)
    return paths


def _cpu_seconds() -> float:
    """User + system CPU time of this (worker) process, all its threads."""
    t = os.times()
    return t.user + t.system


def _warm() -> int:
    import mediapipe  # noqa: F401

    import tells.api  # noqa: F401
    import tells.face.mp  # noqa: F401

    return os.getpid()


def bench_batch(video: Path, copies: int = 6, worker_counts: tuple[int, ...] = (1, 2),
                say: Callable[[str], None] = lambda m: None) -> dict:
    """Time the batch path on ``copies`` copies of ``video`` with each worker count.

    Returns
    -------
    dict
        ``runs`` (workers, videos, frames, seconds, frames_per_s, videos_per_min, and the
        workers' CPU time: ``worker_cpu_s``, ``frames_per_cpu_s``, ``cores_used`` = CPU
        seconds per wall second, which shows how much of the machine the workers got),
        ``scaling_efficiency`` (last count vs the first, per worker), ``cores``, and the
        1/5/15-minute load average before and after.
    """
    load_before = os.getloadavg()
    runs = []
    with tempfile.TemporaryDirectory(prefix="tells-bench-batch-") as tmp:
        inputs = distinct_copies(video, copies, Path(tmp) / "inputs")
        for n in worker_counts:
            say(f"starting {n} worker(s)")
            with local_pool(n, retries=0) as pool:
                pool.client.run(_warm)
                say(f"{n} worker(s): {copies} videos")
                cpu0 = pool.client.run(_cpu_seconds)
                s = run_batch([str(p) for p in inputs], Path(tmp) / f"out-{n}", pool=pool)
                cpu = sum(pool.client.run(_cpu_seconds).values()) - sum(cpu0.values())
            if s.done + s.no_face != copies:
                raise RuntimeError(f"bench batch: only {s.done + s.no_face} of {copies} videos "
                                   f"finished with {n} workers: {s.problems}")
            runs.append({"workers": n, "videos": copies, "frames": s.frames,
                         "seconds": s.seconds, "frames_per_s": round(s.frames / s.seconds, 1),
                         "videos_per_min": round(60 * copies / s.seconds, 1),
                         "worker_cpu_s": round(cpu, 1),
                         "frames_per_cpu_s": round(s.frames / cpu, 1) if cpu > 0 else None,
                         "cores_used": round(cpu / s.seconds, 2)})
    first, last = runs[0], runs[-1]
    efficiency = (last["frames_per_s"] / (last["workers"] / first["workers"])
                  / first["frames_per_s"])
    return {"video": video.name, "copies": copies, "runs": runs,
            "scaling_efficiency": round(efficiency, 3), "cores": default_workers(),
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in os.getloadavg()]}
