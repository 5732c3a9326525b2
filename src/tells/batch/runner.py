"""``run_batch``: many videos through :func:`tells.api.analyze_video` on a pool of processes.

Order of work, all in the client process (the only writer of OUT and its catalogue):

1. discover the inputs (:mod:`tells.batch.discover`);
2. identify each by content and skip what an earlier run finished (:mod:`tells.batch.plan`);
3. hand the rest to the pool (:mod:`tells.batch.cluster`), largest first;
4. as results arrive, publish each folder by rename (:mod:`tells.batch.outputs`) and record
   the row; worker progress events drive one progress report across the batch.

A lost worker process is Dask's to retry; only a result the client receives is committed, and
each content hash is committed at most once per run, so every input ends with one result.
"""

from __future__ import annotations

import fcntl
import os
import queue
import time
import uuid
import warnings
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import CancelledError
from contextlib import contextmanager, nullcontext
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tells.batch.catalog import RESULT_STATUSES, Catalog, Entry, utc_now
from tells.batch.cluster import Pool, connect
from tells.batch.discover import discover
from tells.batch.outputs import LOCK_NAME, clear_staging, publish, stage, staging_dir
from tells.batch.plan import estimate_frames, identify, plan
from tells.batch.task import PROGRESS_TOPIC, Job, Outcome, analyze_job
from tells.config import Settings
from tells.errors import OutputError
from tells.io.table import ensure_writable_dir


@dataclass
class BatchProgress:
    """Where a running batch stands (passed to ``on_progress``)."""

    videos_total: int
    videos_done: int = 0
    frames_total: int = 0
    frames_done: int = 0
    frames_per_s: float = 0.0
    elapsed_s: float = 0.0


@dataclass
class BatchSummary:
    """What a batch did.

    ``found`` counts files; the other counts are of distinct contents. ``done``, ``no_face``,
    ``failed`` and ``error`` count every input by its final status, including the ``skipped``
    ones that an earlier run finished; ``frames`` and ``seconds`` are this run's work.
    """

    out: str
    found: int
    duplicates: int = 0
    skipped: int = 0
    analysed: int = 0
    done: int = 0
    no_face: int = 0
    failed: int = 0
    error: int = 0
    frames: int = 0
    seconds: float = 0.0
    frames_per_s: float = 0.0
    workers: int = 0
    scheduler: str | None = None
    problems: list[dict] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """No input is ``failed`` or ``error`` (in this run or, if skipped, an earlier one)."""
        return not (self.failed or self.error)

    def count(self, entry: Entry) -> None:
        """Add one input's final status to the counts (and to ``problems`` if it failed)."""
        setattr(self, entry.status, getattr(self, entry.status) + 1)
        if entry.status in ("failed", "error"):
            self.problems.append({"path": entry.path, "status": entry.status,
                                  "error": entry.error})

    def to_dict(self) -> dict:
        return asdict(self)


@contextmanager
def _exclusive(out: Path) -> Iterator[None]:
    """Hold ``OUT/.tells-batch.lock`` so two batches never write one folder at once."""
    with open(out / LOCK_NAME, "a") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise OutputError(f"another tells batch is writing to {out}; wait for it to "
                              "finish") from None
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)




def _reason(exc: BaseException) -> str:
    """One line saying why a task gave no result."""
    name = type(exc).__name__
    if name == "KilledWorker":
        return ("its worker process died more often than the scheduler retries (while running "
                "it or holding it in line); the file may crash the decoder or need more memory "
                "than a worker has, or the workers were stopped")
    if name == "CancelledError":
        return "the task was cancelled (the scheduler lost it or shut down)"
    text = str(exc).strip().splitlines()
    return f"{name}: {text[0]}" if text else name


class _Run:
    """One pass over the rows to do, on a connected pool."""

    def __init__(self, pool: Pool, catalog: Catalog, out: Path, todo: list[Entry], *,
                 retries: int, ship_inputs: bool, settings: Settings | None,
                 summary: BatchSummary, on_progress: Callable[[BatchProgress], None] | None,
                 on_event: Callable[[dict], None] | None):
        self.pool, self.catalog, self.out, self.summary = pool, catalog, out, summary
        self.retries, self.ship, self.on_progress, self.on_event = (retries, ship_inputs,
                                                                   on_progress, on_event)
        self.settings = settings.to_dict() if settings is not None else None
        self.rows = {e.hash: e for e in sorted(todo, key=lambda e: -e.size_bytes)}
        self.estimates = {h: estimate_frames(Path(e.path)) for h, e in self.rows.items()}
        self.frames_done: dict[str, int] = {}  # final frame counts
        self.frames_live: dict[str, int] = {}  # current attempt's frames so far
        self.starts: dict[str, int] = {}
        self.work_frames = 0  # all frames decoded this run, restarted attempts included
        self.events: queue.Queue = queue.Queue()
        self.keys: dict[str, str] = {}
        self.futures: dict[str, object] = {}
        self.progress = BatchProgress(videos_total=len(self.rows),
                                      frames_total=sum(self.estimates.values()))

    # --- submitting -----------------------------------------------------------------------
    def _job(self, entry: Entry) -> Job:
        stage_dir = str(staging_dir(self.out)) if self.pool.local else None
        data = Path(entry.path).read_bytes() if self.ship else None
        return Job(hash=entry.hash, path=entry.path, data=data, stage_dir=stage_dir,
                   settings=self.settings)

    def _submit(self, entry: Entry, priority: int) -> None:
        key = f"tells-analyze-{entry.hash[:16]}-{uuid.uuid4().hex[:8]}"
        with warnings.catch_warnings():  # shipped videos make "large graph" warnings
            warnings.simplefilter("ignore", UserWarning)
            fut = self.pool.client.submit(analyze_job, self._job(entry), key=key, pure=False,
                                          retries=self.retries, priority=priority)
        self.keys[key] = entry.hash
        self.futures[key] = fut
        fut.add_done_callback(lambda f: self.events.put(("done", f)))

    # --- receiving ------------------------------------------------------------------------
    def _on_worker_event(self, event) -> None:  # runs on the client's event-loop thread
        self.events.put(("progress", event[1]))

    def _progress_event(self, msg: dict) -> None:
        h = msg.get("hash")
        if h not in self.rows or h in self.frames_done:
            return
        frames = int(msg.get("frames", 0))
        before = self.frames_live.get(h, 0)
        if frames == 0:  # a worker (re)started this input
            self.starts[h] = self.starts.get(h, 0) + 1
            self.catalog.update(h, status="running", started_at=utc_now(),
                                worker=f"{msg.get('host')}:{msg.get('pid')}")
        else:
            self.work_frames += max(0, frames - before)
        self.frames_live[h] = frames
        if self.on_event is not None:
            self.on_event(msg)

    def _commit(self, entry: Entry, o: Outcome) -> None:
        if o.status in RESULT_STATUSES:
            staged = Path(o.staged) if o.staged else None
            if staged is None:  # the worker sent the analysis back: write it here
                from tells.api import write_outputs

                t0 = time.perf_counter()
                staged = stage(self.out, entry.hash)
                write_outputs(o.result, staged)
                o.write_s = round(time.perf_counter() - t0, 3)
            publish(self.out, staged, entry.output)
        for k in ("status", "error", "worker", "duration_s", "frames", "faces", "events",
                  "micro_events", "macro_events", "analysis_s", "write_s", "fps"):
            setattr(entry, k, getattr(o, k))
        entry.started_at, entry.finished_at = utc_now(o.started), utc_now(o.finished)

    def _finish(self, fut) -> None:
        h = self.keys.pop(fut.key)
        self.futures.pop(fut.key, None)
        entry = self.rows[h]
        entry.attempts += max(1, self.starts.get(h, 0))
        if fut.status == "finished":
            o: Outcome = fut.result()
            self._commit(entry, o)
            self.frames_done[h] = o.frames or 0
            self.work_frames += max(0, (o.frames or 0) - self.frames_live.get(h, 0))
        else:
            exc = fut.exception() if fut.status == "error" else CancelledError()
            entry.status, entry.error = "error", _reason(exc)
            entry.finished_at = utc_now()
            self.frames_done[h] = self.frames_live.get(h, 0)
        self.catalog.save(entry)
        self.summary.count(entry)
        self.summary.frames += entry.frames or 0

    def _report(self, started: float) -> None:
        p = self.progress
        p.videos_done = len(self.frames_done)
        live = sum(v for h, v in self.frames_live.items() if h not in self.frames_done)
        p.frames_done = sum(self.frames_done.values()) + live
        pending_estimate = sum(max(self.estimates[h], self.frames_live.get(h, 0))
                               for h in self.rows if h not in self.frames_done)
        p.frames_total = max(p.frames_done, sum(self.frames_done.values()) + pending_estimate)
        p.elapsed_s = time.monotonic() - started
        p.frames_per_s = self.work_frames / p.elapsed_s if p.elapsed_s > 0 else 0.0
        if self.on_progress is not None:
            self.on_progress(p)

    def execute(self) -> None:
        client = self.pool.client
        client.subscribe_topic(PROGRESS_TOPIC, self._on_worker_event)
        started = time.monotonic()
        waiting = list(self.rows.values())
        # shipped bytes live in the task until it ends: keep a few per worker in flight
        window = 2 * max(1, self.pool.workers) if self.ship else len(waiting)
        priority = len(waiting)
        self._report(started)
        try:
            while waiting or self.futures:
                while waiting and len(self.futures) < window:
                    self._submit(waiting.pop(0), priority)
                    priority -= 1
                try:
                    kind, payload = self.events.get(timeout=0.5)
                except queue.Empty:
                    self._report(started)
                    continue
                if kind == "progress":
                    self._progress_event(payload)
                elif payload.key in self.keys:
                    self._finish(payload)
                self._report(started)
        finally:
            client.unsubscribe_topic(PROGRESS_TOPIC)
            for fut in self.futures.values():
                fut.cancel()
        self.summary.seconds = round(time.monotonic() - started, 3)
        self.summary.frames_per_s = round(self.work_frames / self.summary.seconds, 1) \
            if self.summary.seconds > 0 else 0.0


def run_batch(
    inputs: Iterable[str | os.PathLike],
    out: str | os.PathLike,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    retries: int = 2,
    ship_inputs: bool = False,
    settings: Settings | None = None,
    on_progress: Callable[[BatchProgress], None] | None = None,
    on_event: Callable[[dict], None] | None = None,
    pool: Pool | None = None,
) -> BatchSummary:
    """Analyse many videos, one per worker process, each into its own folder under ``out``.

    Parameters
    ----------
    inputs : video files, folders (searched recursively) and glob patterns.
    out : output folder: ``out/<video name>/`` holds exactly what ``tells analyze`` writes;
        ``out/catalog.sqlite`` holds one row per input.
    workers : local worker processes (default: one per core); ignored with ``scheduler``.
    scheduler : address of a running Dask scheduler (``tcp://host:port``) whose workers have
        tells installed.
    retries : times a task is run again after its worker died or it raised.
    ship_inputs : send each video's bytes to the worker (no shared filesystem needed).
    settings : analysis settings for every video.
    on_progress : called with a :class:`BatchProgress` at least twice a second.
    on_event : called with each worker progress event ``{"hash", "frames", "pid", "host",
        "worker"}``; ``frames == 0`` marks a worker starting an input.
    pool : an already connected :class:`tells.batch.cluster.Pool` to use instead of
        ``workers``/``scheduler`` (benchmarks keep one warm across runs).

    Returns
    -------
    BatchSummary

    Raises
    ------
    InputError
        An input names nothing, or no video was found.
    OutputError
        ``out`` cannot be written, or another batch holds it.
    TellsError
        The Dask scheduler cannot be reached or its workers cannot run tells.

    Examples
    --------
    >>> from tells.batch import run_batch
    >>> s = run_batch(["calls/"], "out/", workers=4)        # doctest: +SKIP
    >>> s.done, s.failed                                      # doctest: +SKIP
    (41, 1)
    """
    paths = discover(inputs)
    out_dir = ensure_writable_dir(out).resolve()
    with _exclusive(out_dir), Catalog(out_dir) as catalog:
        clear_staging(out_dir)
        rows = catalog.all()
        problems: list[dict] = []
        unique, duplicates = identify(paths, {e.path: e for e in rows}, problems)
        todo, skipped = plan(unique, {e.hash: e for e in rows}, catalog, out_dir)
        summary = BatchSummary(out=str(out_dir), found=len(paths), duplicates=duplicates,
                               skipped=len(skipped), analysed=len(todo), failed=len(problems),
                               scheduler=scheduler, problems=problems)
        for entry in skipped:
            summary.count(entry)
        if todo:
            with nullcontext(pool) if pool else connect(workers, scheduler, retries) as p:
                summary.workers = p.workers
                _Run(p, catalog, out_dir, todo, retries=retries, ship_inputs=ship_inputs,
                     settings=settings, summary=summary, on_progress=on_progress,
                     on_event=on_event).execute()
        clear_staging(out_dir)
    return summary


def batch_status(out: str | os.PathLike) -> list[dict]:
    """The catalogue rows of a batch output folder (see :class:`tells.batch.catalog.Entry`).

    Raises
    ------
    OutputError
        ``out`` holds no catalogue.
    """
    with Catalog(Path(out), create=False) as catalog:
        return catalog.rows()
