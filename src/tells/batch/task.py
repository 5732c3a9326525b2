"""What a worker process runs for one input: :func:`analyze_job`.

The job is plain data (picklable, so it travels to a Dask worker). The worker reads the video
by path (same machine or a shared filesystem) or from the bytes the client shipped, runs
:func:`tells.api.analyze_video` (one video per process: mediapipe graphs are single-threaded)
and returns an :class:`Outcome`. With ``stage_dir`` set (the local pool: same filesystem as
the client) the worker writes the result folder there itself and returns only the summary;
otherwise the whole :class:`~tells.api.VideoAnalysis` travels back and the client writes it.

The worker never touches the catalogue or the final output folders: only the client commits,
so a result can be committed once however often the scheduler reruns a task.

A bad input (:class:`~tells.errors.InputError`) is an outcome, not an exception: retrying it
cannot help. Any other exception propagates, so the scheduler retries the task elsewhere.
Progress goes to the client as Dask worker events on :data:`PROGRESS_TOPIC`.
"""

from __future__ import annotations

import os
import socket
import tempfile
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tells.errors import InputError

#: Dask event topic carrying ``{"hash", "frames", "pid", "host"}`` while a video runs
PROGRESS_TOPIC = "tells-batch-progress"
#: seconds between progress events from one worker
PROGRESS_EVERY_S = 0.5


@dataclass(frozen=True)
class Job:
    """One input to analyse.

    Attributes
    ----------
    hash : SHA-256 of the input's bytes (its identity).
    path : absolute path on the client (and, without ``data``, on the worker too).
    data : the file's bytes when the client ships inputs to workers without a shared
        filesystem.
    stage_dir : a folder the worker can write; the worker writes the result folder inside it.
    settings : :class:`tells.config.Settings` fields, or ``None`` for the defaults.
    """

    hash: str
    path: str
    data: bytes | None = field(default=None, repr=False)
    stage_dir: str | None = None
    settings: dict | None = None


@dataclass
class Outcome:
    """What came of one :class:`Job` (``status``: ``done``, ``no_face`` or ``failed``)."""

    hash: str
    status: str
    error: str | None = None
    worker: str = ""
    started: float = 0.0
    finished: float = 0.0
    duration_s: float | None = None
    frames: int | None = None
    faces: int | None = None
    events: int | None = None
    micro_events: int | None = None
    macro_events: int | None = None
    analysis_s: float | None = None
    fps: float | None = None
    write_s: float | None = None
    #: result folder the worker wrote under ``Job.stage_dir``
    staged: str | None = None
    #: the analysis itself, when the worker did not write it (``tells.api.VideoAnalysis``)
    result: object | None = field(default=None, repr=False)


def worker_id() -> str:
    """``host:pid`` of this process."""
    return f"{socket.gethostname()}:{os.getpid()}"


class _Progress:
    """``on_frame`` callback sending throttled frame counts as Dask worker events."""

    def __init__(self, content_hash: str):
        self.hash = content_hash
        self.last = 0.0
        try:
            from distributed import get_worker

            self.worker = get_worker()
        except (ImportError, ValueError):  # not inside a Dask worker
            self.worker = None
        self.send(0)

    def send(self, frames: int) -> None:
        if self.worker is not None:
            self.worker.log_event(PROGRESS_TOPIC, {"hash": self.hash, "frames": frames,
                                                   "pid": os.getpid(),
                                                   "host": socket.gethostname()})
        self.last = time.monotonic()

    def __call__(self, frame, n_faces: int) -> None:
        if time.monotonic() - self.last >= PROGRESS_EVERY_S:
            self.send(frame.index + 1)


@contextmanager
def _readable(job: Job):
    """The path to analyse: the job's own, or a temporary copy of shipped bytes that keeps
    the file name (so messages name the right file)."""
    if job.data is None:
        yield Path(job.path)
        return
    with tempfile.TemporaryDirectory(prefix="tells-batch-") as tmp:
        p = Path(tmp) / Path(job.path).name
        p.write_bytes(job.data)
        yield p


def _event_counts(events) -> tuple[int, int, int]:
    n = len(events)
    if n == 0 or "kind" not in getattr(events, "columns", ()):
        return n, 0, 0
    kinds = events["kind"].astype(str)
    return n, int((kinds == "micro").sum()), int((kinds == "macro").sum())


def analyze_job(job: Job) -> Outcome:
    """Analyse one input on this worker.

    Returns
    -------
    Outcome
        ``done`` or ``no_face`` with the summary (and the staged folder or the analysis), or
        ``failed`` with the reason when the input is unusable.

    Raises
    ------
    Exception
        Anything but a bad input; the scheduler retries the task.
    """
    from tells.api import analyze_video, write_outputs
    from tells.config import Settings
    from tells.io.table import ensure_writable_dir

    progress = _Progress(job.hash)
    if progress.worker is not None:  # keep mediapipe's native log lines off the worker's stderr
        from tells.face.mp import install_native_log_filter

        install_native_log_filter()
    # one video per process: decoding ahead and meshing ahead would only compete with other workers
    settings = (Settings(**job.settings) if job.settings else Settings()).with_(overlap=False)
    started = time.time()
    out = Outcome(hash=job.hash, status="failed", worker=worker_id(), started=started)
    with _readable(job) as path:
        try:
            result = analyze_video(path, settings=settings, on_frame=progress)
        except InputError as exc:  # name the client's file, not a temporary copy
            out.error = str(exc).replace(str(path), job.path)
            out.finished = time.time()
            return out
    if job.data is not None:  # the run record names the client's file, not the temp copy
        result.run["input"]["path"] = job.path
    run = result.run
    progress.send(run["frames"])
    out.events, out.micro_events, out.macro_events = _event_counts(result.events)
    out.frames, out.faces = run["frames"], len(run["faces"])
    out.duration_s = run["input"].get("duration_s")
    out.analysis_s, out.fps = run["timings"]["seconds"], run["timings"]["fps"]
    out.status = "done" if run["faces"] else "no_face"
    if not run["faces"]:
        out.error = f"no face found in any of {run['frames']} frames"
    if job.stage_dir is not None:
        t0 = time.perf_counter()
        folder = ensure_writable_dir(Path(job.stage_dir) / f"{job.hash[:16]}-{uuid.uuid4().hex[:8]}")
        write_outputs(result, folder)
        out.staged, out.write_s = str(folder), round(time.perf_counter() - t0, 3)
    else:
        out.result = result
    out.finished = time.time()
    return out
