"""Analysis jobs: rows in ``ws_jobs`` run on the batch layer's worker pool.

The runner is one thread of the server. It connects the pool with
:func:`tells.batch.cluster.connect` (a local Dask pool of single-threaded processes on
127.0.0.1, or the Dask scheduler given with ``--scheduler``; then the workers must see the
data folder at the same path), submits :func:`tells.batch.task.analyze_job` for each queued
job, follows the workers' progress events, and commits what comes back.

A job survives a restart: its row is the truth. A server that starts re-queues the jobs still
marked ``running`` by an earlier process (killed mid-analysis), and only the process that
claimed a job may finish it; the result folder is published by rename before the row says
``done``, so a job completes once however often it was started. One server process per
database.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from datetime import datetime
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from tells.server.db import AnalysisJob, Recording, utcnow
from tells.server.storage import Layout

log = logging.getLogger("tells.server")

POLL_S = 0.3
#: how often the runner enforces the teams' retention policies
RETENTION_EVERY_S = 3600.0


class JobRunner:
    """Runs queued jobs on the pool until :meth:`stop`.

    Parameters
    ----------
    engine, layout : the workspace database and data folder.
    workers : local worker processes (default: one per core).
    scheduler : address of a Dask scheduler to use instead of a local pool.
    """

    def __init__(self, engine: Engine, layout: Layout, workers: int | None = None,
                 scheduler: str | None = None, retention_every_s: float = RETENTION_EVERY_S):
        self.engine, self.layout = engine, layout
        self.workers, self.scheduler = workers, scheduler
        self.instance = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.retention_every_s = retention_every_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._progress: dict[str, int] = {}
        self._lock = threading.Lock()
        self.ready = threading.Event()
        self.error: str | None = None

    # lifecycle ------------------------------------------------------------------------------
    def start(self) -> JobRunner:
        self.requeue()
        self._thread = threading.Thread(target=self._run, name="tells-jobs", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 20) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout)

    def requeue(self) -> int:
        """Jobs an earlier server process left ``running`` go back to the queue."""
        with Session(self.engine) as db:
            n = db.execute(update(AnalysisJob).where(AnalysisJob.status == "running")
                           .values(status="queued", claimed_by=None)).rowcount
            db.commit()
        if n:
            log.warning("re-queued %d analysis job(s) left running by an earlier server", n)
        return n

    # the loop -------------------------------------------------------------------------------
    def _run(self) -> None:
        from tells.batch.cluster import connect
        from tells.batch.task import PROGRESS_TOPIC

        try:
            with connect(self.workers, self.scheduler, retries=2) as pool:
                pool.client.subscribe_topic(PROGRESS_TOPIC, self._on_progress)
                if pool.local:  # load the analysis code now, not on the first upload
                    pool.client.run(_warm_up, on_error="ignore")
                self.ready.set()
                self._loop(pool)
        except Exception as exc:  # the pool could not start: say so on the pages
            self.error = f"the analysis workers could not start ({type(exc).__name__}: {exc})"
            log.error(self.error)
            self.ready.set()

    def _loop(self, pool) -> None:
        running: dict[int, object] = {}
        capacity = max(1, pool.workers)
        next_retention = time.monotonic() + self.retention_every_s
        while not self._stop.is_set():
            for jid, fut in list(running.items()):
                if fut.done():
                    running.pop(jid)
                    self._finish(jid, fut)
            while len(running) < capacity and (claimed := self._claim()) is not None:
                if not self._reuse(*claimed):
                    running[claimed[0]] = self._submit(pool, *claimed)
            self._flush_progress()
            if time.monotonic() >= next_retention:
                next_retention = time.monotonic() + self.retention_every_s
                self._retention()
            self._stop.wait(POLL_S)
        for fut in running.values():  # a stopping server leaves them running in the table:
            fut.cancel()              # the next start re-queues them

    def _claim(self) -> tuple[int, str, str] | None:
        with Session(self.engine) as db:
            row = db.execute(select(AnalysisJob.id, Recording.media_hash, Recording.media_ext)
                             .join(Recording, Recording.id == AnalysisJob.recording_id)
                             .where(AnalysisJob.status == "queued")
                             .order_by(AnalysisJob.id).limit(1)).first()
            if row is None:
                return None
            jid, h, ext = row
            if h is None:  # media deleted before the job ran
                db.execute(update(AnalysisJob).where(AnalysisJob.id == jid).values(
                    status="failed", error="the recording's media was deleted", finished_at=utcnow()))
                db.commit()
                return None
            got = db.execute(update(AnalysisJob).where(AnalysisJob.id == jid,
                                                       AnalysisJob.status == "queued")
                             .values(status="running", claimed_by=self.instance,
                                     started_at=utcnow(), frames_done=0,
                                     attempts=AnalysisJob.attempts + 1)).rowcount
            db.commit()
            return (jid, h, ext) if got == 1 else None

    def _reuse(self, jid: int, content_hash: str, ext: str) -> bool:
        """Content already analysed (the same file uploaded again): the job is done with the
        stored result, as the batch catalogue skips inputs it has seen."""
        import json

        folder = self.layout.analysis_dir(content_hash)
        try:
            run = json.loads((folder / "run.json").read_text())
            events = json.loads((folder / "events.json").read_text()).get("events", [])
        except (OSError, ValueError):
            return False
        if not run.get("complete", True):
            return False
        self._context_report(jid, content_hash)
        kinds = [e.get("kind") for e in events]
        self._close(jid, "done", result={
            "frames": run.get("frames"), "faces": len(run.get("faces") or []), "events": len(events),
            "micro_events": kinds.count("micro"), "macro_events": kinds.count("macro"),
            "analysis_s": None, "fps": None, "worker": None, "reused": True,
            "warning": None}, content_hash=content_hash)
        return True

    def _submit(self, pool, jid: int, content_hash: str, ext: str):
        from tells.batch.task import Job, analyze_job

        job = Job(hash=content_hash, path=str(self.layout.media_path(content_hash, ext)),
                  stage_dir=str(self.layout.staging))
        return pool.client.submit(analyze_job, job, key=f"tells-ws-job-{jid}-{uuid.uuid4().hex[:6]}",
                                  pure=False, retries=1)

    def _on_progress(self, event) -> None:  # on the Dask client's event-loop thread
        _, msg = event
        with self._lock:
            self._progress[msg["hash"]] = int(msg["frames"])

    def _flush_progress(self) -> None:
        with self._lock:
            todo, self._progress = self._progress, {}
        if not todo:
            return
        with Session(self.engine) as db:
            for h, frames in todo.items():
                ids = select(Recording.id).where(Recording.media_hash == h)
                db.execute(update(AnalysisJob).where(
                    AnalysisJob.status == "running", AnalysisJob.claimed_by == self.instance,
                    AnalysisJob.recording_id.in_(ids)).values(frames_done=frames))
            db.commit()

    # results --------------------------------------------------------------------------------
    def _finish(self, jid: int, fut) -> None:
        from tells.batch.outputs import publish

        try:
            outcome = fut.result()
        except Exception as exc:  # the worker died twice, or a bug in the analysis
            self._close(jid, "failed", error=f"the analysis failed ({type(exc).__name__}: {exc})")
            return
        if outcome.status == "failed":
            self._close(jid, "failed", error=outcome.error)
            return
        try:
            publish(self.layout.analyses, Path(outcome.staged), outcome.hash)
            self._context_report(jid, outcome.hash)
        except Exception as exc:
            self._close(jid, "failed", error=f"the result could not be stored ({exc})")
            return
        self._close(jid, "done", result={
            "frames": outcome.frames, "faces": outcome.faces, "events": outcome.events,
            "micro_events": outcome.micro_events, "macro_events": outcome.macro_events,
            "analysis_s": outcome.analysis_s, "fps": outcome.fps, "worker": outcome.worker,
            "warning": outcome.error,
        }, content_hash=outcome.hash)

    def _context_report(self, jid: int, content_hash: str) -> None:
        """A recording with a transcript or agenda gets its own report next to the shared
        analysis tables (hard links), built with that context."""
        with Session(self.engine) as db:
            rec = db.get(Recording, db.get(AnalysisJob, jid).recording_id)
            if not (rec.has_transcript or rec.has_agenda):
                return
            rid = rec.id
        build_context_report(self.layout, rid, content_hash)

    def _close(self, jid: int, status: str, *, error: str | None = None,
               result: dict | None = None, content_hash: str | None = None) -> None:
        from tells.server.records import audit

        with Session(self.engine) as db:
            job = db.get(AnalysisJob, jid)
            values: dict = {"status": status, "error": error, "finished_at": utcnow(),
                            "result": result}
            if result and result.get("frames"):
                values["frames_done"] = result["frames"]
                values["frames_total"] = result["frames"]
            n = db.execute(update(AnalysisJob).where(
                AnalysisJob.id == jid, AnalysisJob.status == "running",
                AnalysisJob.claimed_by == self.instance).values(**values)).rowcount
            if n != 1:  # another process owns it now; its result stands
                db.rollback()
                return
            rec = db.get(Recording, job.recording_id)
            if status == "done":
                rec.analysis_hash = content_hash
            audit(db, None, f"job.{status}", rec.team_id, f"recording:{rec.id}",
                  {"job": jid, "attempts": job.attempts, "error": error})
            db.commit()

    def _retention(self) -> None:
        from tells.server.records import enforce_retention

        try:
            enforce_retention(self.engine, self.layout)
        except Exception as exc:  # keep the runner alive; the next round tries again
            log.error("retention: %s", exc)


def _warm_up() -> None:
    import tells.api  # noqa: F401 (mediapipe, LiteRT, the pipeline)
    from tells.face.mp import install_native_log_filter

    install_native_log_filter()


def build_context_report(layout: Layout, rid: int, content_hash: str) -> Path:
    """``reports/<rid>/``: links to the analysis tables plus a report with the recording's
    transcript and agenda."""
    import shutil

    from tells.report.build import write_report

    src = layout.analysis_dir(content_hash)
    ctx = layout.context / str(rid)
    dest = layout.reports / str(rid)
    tmp = layout.staging / f"report-{rid}-{uuid.uuid4().hex[:6]}"
    tmp.mkdir(parents=True)
    for f in src.iterdir():
        if f.is_file() and f.name not in ("report.html", "summary.json", "context.json"):
            os.link(f, tmp / f.name)
    transcript = next((p for p in ctx.glob("transcript.*")), None)
    agenda = ctx / "agenda.csv"
    write_report(tmp, transcript=transcript, segments=agenda if agenda.exists() else None)
    shutil.rmtree(dest, ignore_errors=True)
    os.replace(tmp, dest)
    return dest


def job_json(job: AnalysisJob) -> dict:
    def iso(dt: datetime | None):
        return None if dt is None else dt.isoformat(timespec="seconds")

    total = job.frames_total
    return {"id": job.id, "recording": job.recording_id, "status": job.status,
            "attempts": job.attempts, "frames_done": job.frames_done, "frames_total": total,
            "fraction": (min(1.0, job.frames_done / total) if total else None),
            "error": job.error, "result": job.result, "created_at": iso(job.created_at),
            "finished_at": iso(job.finished_at)}
