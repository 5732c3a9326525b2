"""One live session: capture → the per-frame pipeline (the same stages as ``tells analyze``) →
online spotting (in a worker process, so its detection runs beside the per-frame work instead
of in its way) → sinks (the live page, the terminal, JSON lines, the recording).

A sink is any object with some of ``start(session)``, ``frame(session, frame, rows)``,
``event(session, live_event)`` and ``end(session, result)``; they are called from the analysis
thread in that order.
"""

from __future__ import annotations

import multiprocessing as mp
import platform
import queue
import resource
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from tells import __version__
from tells.config import Settings
from tells.contract import CONTRACT_VERSION, GEOMETRY_COLUMNS, QUALITY_COLUMNS
from tells.live.sources import Capture
from tells.live.spotter import DEFAULT_DELAY_S, LiveEvent, OnlineSpotter, PositionTap

#: what the tool says at the start of every session (and the page shows)
CONSENT_NOTE = ("Tell the people on camera that their facial expressions are being analysed: "
                "in the EU, emotion recognition must be disclosed to the people exposed to it "
                "(AI Act Art. 50). Micro-expressions are cues to emotion, not proof of lying.")


def _stamp(events: list[LiveEvent], sent: float, started: float) -> list[LiveEvent]:
    """``events`` with when their rows were sent and their detection started and ended."""
    for e in events:
        e.extra.update(sent=sent, started=started, spotted=time.monotonic())
    return events


def _send(outbox, spotter: OnlineSpotter, events: list[LiveEvent], sent: float, started: float,
          done: bool = False) -> None:
    """Hand decided events (stamped, :func:`_stamp`) to the session; the spotter's
    statistics with the last message."""
    _stamp(events, sent, started)
    if events or done:
        outbox.put(("events", [(e.record, e.decided_t, e.extra) for e in events],
                    {"steps": spotter.steps, "step_seconds": spotter.step_seconds,
                     "step_cpu_seconds": spotter.step_cpu_seconds,
                     "left_out": spotter.left_out} if done else None))


def _serve_spotter(columns, options, inbox, outbox) -> None:
    """Worker process: rows in, decided events out (detection coalesces when behind). Each
    event carries (``extra``) the monotonic times at which the rows of the frame it was
    decided at were sent, its detection started and it was decided."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the session, which ends this
    spotter = OnlineSpotter(columns, **options)
    done = False
    while not done:
        msgs = [inbox.get()]
        while True:
            try:
                msgs.append(inbox.get_nowait())
            except queue.Empty:
                break
        now, final, sent = None, None, None
        for kind, t, items, wall in msgs:
            for row, pos, looks in items:
                spotter.add(row, pos, looks)
            if kind == "rows":
                now, sent = t, wall
            if kind == "finish":
                final, sent = t, wall
        if final is not None:
            started = time.monotonic()
            _send(outbox, spotter, spotter.step(final, force=True) + spotter.finish(final),
                  sent, started, done=True)
            done = True
        elif now is not None:
            # the faces with an event to decide now first: their alerts go out before the
            # other faces' detections run
            for decisions in (True, False):
                started = time.monotonic()
                _send(outbox, spotter, spotter.step(now, decisions=decisions), sent, started)


class SpotterProcess:
    """:class:`OnlineSpotter` in a worker process (spawned, so the parent's threads are not
    forked)."""

    def __init__(self, columns: list[str], **options):
        ctx = mp.get_context("spawn")
        self._in, self._out = ctx.Queue(), ctx.Queue()
        self._proc = ctx.Process(target=_serve_spotter, args=(columns, options, self._in,
                                                              self._out),
                                 name="tells-spotter", daemon=True)
        self._proc.start()
        self.stats: dict = {}
        self.error: str | None = None

    def add(self, items: list, now_t: float) -> None:
        self._in.put(("rows", now_t, items, time.monotonic()))

    def poll(self) -> list[LiveEvent]:
        out = []
        while True:
            try:
                _, events, _ = self._out.get_nowait()
            except queue.Empty:
                if self.error is None and not self._proc.is_alive():
                    self.error = ("online spotting stopped: its worker process ended (exit code "
                                  f"{self._proc.exitcode}); no events after that")
                return out
            out += [LiveEvent(rec, t, extra=x) for rec, t, x in events]

    def finish(self, now_t: float, timeout: float = 60.0) -> list[LiveEvent]:
        out = self.poll()
        if self.error is not None:
            self.close()
            return out
        self._in.put(("finish", now_t, [], time.monotonic()))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                _, events, stats = self._out.get(timeout=1.0)
            except queue.Empty:
                if not self._proc.is_alive():
                    break
                continue
            out += [LiveEvent(rec, t, extra=x) for rec, t, x in events]
            if stats is not None:
                self.stats = stats
                break
        self.close()
        return out

    def close(self) -> None:
        if self._proc.is_alive():
            self._proc.join(timeout=2)
        if self._proc.is_alive():
            self._proc.terminate()
            self._proc.join(timeout=2)
        # rows still unsent to a process that is gone would keep the interpreter from exiting
        self._in.cancel_join_thread()
        self._in.close()


class InlineSpotter:
    """:class:`OnlineSpotter` in the analysis thread (same interface as
    :class:`SpotterProcess`)."""

    def __init__(self, columns: list[str], **options):
        self.spotter = OnlineSpotter(columns, **options)
        self._pending: list[LiveEvent] = []
        self.stats: dict = {}
        self.error: str | None = None

    def add(self, items: list, now_t: float) -> None:
        sent = time.monotonic()
        for row, pos, looks in items:
            self.spotter.add(row, pos, looks)
        started = time.monotonic()
        self._pending += _stamp(self.spotter.step(now_t), sent, started)

    def poll(self) -> list[LiveEvent]:
        out, self._pending = self._pending, []
        return out

    def finish(self, now_t: float) -> list[LiveEvent]:
        s = self.spotter
        out = self.poll() + s.step(now_t, force=True) + s.finish(now_t)
        self.stats = {"steps": s.steps, "step_seconds": s.step_seconds,
                      "step_cpu_seconds": s.step_cpu_seconds, "left_out": s.left_out}
        return out


@dataclass
class LiveResult:
    frames: pd.DataFrame
    events: pd.DataFrame
    live_events: list[LiveEvent]
    run: dict
    latencies: np.ndarray  # frame-to-row seconds, one per analysed frame


@dataclass
class LiveSession:
    """Run a live analysis of ``capture`` until it ends, :meth:`stop` is called or
    ``duration_s`` passes.

    Parameters
    ----------
    capture : the source (:func:`tells.live.sources.open_capture`).
    settings : analysis settings, as ``tells analyze`` takes them.
    delay_s : decision delay after an event's offset.
    duration_s : stop after this many seconds of wall time.
    sinks : live page, terminal, JSON lines, recorder.
    spot_in_process : run the online spotter in a worker process (else inline).
    """

    capture: Capture
    settings: Settings = field(default_factory=Settings)
    delay_s: float = DEFAULT_DELAY_S
    duration_s: float | None = None
    sinks: list = field(default_factory=list)
    spot_in_process: bool = True
    ended_by: str = ""
    # live state the sinks read
    frames_done: int = 0
    faces_now: int = 0
    last_t: float = 0.0
    fps: float = 0.0
    started_wall: float = 0.0
    events: list = field(default_factory=list)
    latency_ms: float = 0.0
    analysing_since: float = 0.0  # monotonic time the first frame was analysed

    def stop(self, reason: str = "stopped") -> None:
        """End the session (Ctrl-C, a signal): the frames already captured are finished."""
        if not self.ended_by:
            self.ended_by = reason
        self.capture.stop()

    @property
    def dropped(self) -> int:
        return self.capture.dropped

    def _call(self, name: str, *args) -> None:
        for sink in self.sinks:
            fn = getattr(sink, name, None)
            if fn is not None:
                fn(self, *args)

    def run(self) -> LiveResult:
        from tells.api import default_stages
        from tells.emotion.stage import EmotionStage
        from tells.pipeline import run
        from tells.spotting.stage import MotionStage

        # the stages of tells analyze; the tap hands the spotter what MotionStage records (for a
        # window only) and what the emotion stage recorded for event naming
        stages = [st for st in default_stages(self.settings, offline=False)
                  if not isinstance(st, MotionStage)]
        tap = PositionTap(next((st for st in stages if isinstance(st, EmotionStage)), None))
        stages.append(tap)
        columns = GEOMETRY_COLUMNS + QUALITY_COLUMNS + [c for st in stages for c in st.columns]
        self.columns = columns
        spot_cls = SpotterProcess if self.spot_in_process else InlineSpotter
        spotter = spot_cls(columns, delay_s=self.delay_s)
        rows_now: list[dict] = []
        latencies: list[float] = []
        cpu_start: list = []
        self.started_wall = time.monotonic()
        recent: list[float] = []
        self._call("start")

        def on_row(row: dict) -> None:
            rows_now.append(row)

        def deliver(events: list[LiveEvent]) -> None:
            now = time.monotonic()
            for ev in events:
                ev.wall = now
                self.events.append(ev)
                self._call("event", ev)

        def on_frame(frame, n_faces: int) -> None:
            now = time.monotonic()
            cap_t = self.capture.captured_at.pop(frame.index, None)
            if cap_t is not None and self.frames_done >= 2:  # after the models loaded
                latencies.append(now - cap_t)
                self.latency_ms = 1000 * (now - cap_t)
            if not self.frames_done:  # CPU from here: model loading is not per frame
                self.analysing_since = now
                cpu_start.append(resource.getrusage(resource.RUSAGE_SELF))
            self.capture.prime()
            self.capture.take_dropped()
            items = [(r, *tap.take(int(r["face_id"]), frame.index)) for r in rows_now
                     if r.get("success")]
            spotter.add(items, frame.t)
            self.frames_done += 1
            self.faces_now, self.last_t = n_faces, frame.t
            recent.append(now)
            while recent and recent[0] < now - 2.0:
                recent.pop(0)
            self.fps = (len(recent) - 1) / (recent[-1] - recent[0]) if len(recent) > 1 else 0.0
            self._call("frame", frame, list(rows_now))
            rows_now.clear()
            deliver(spotter.poll())
            if self.duration_s is not None and now - self.analysing_since >= self.duration_s:
                self.stop("duration")

        try:
            table, stats = run(self.capture, self.settings, stages, on_frame, on_row, ahead=1)
        finally:
            self.capture.close()
        deliver(spotter.finish(self.last_t))
        if not self.ended_by:
            self.ended_by = "source ended" if self.capture.ended else "capture stopped"
        cpu1 = resource.getrusage(resource.RUSAGE_SELF)
        wall = time.monotonic() - self.started_wall
        cpu0 = cpu_start[0] if cpu_start else cpu1
        cpu = (cpu1.ru_utime + cpu1.ru_stime) - (cpu0.ru_utime + cpu0.ru_stime)
        busy = time.monotonic() - self.analysing_since if cpu_start else 0.0
        # the spotter's detection CPU (in its process; inline it is part of ``cpu`` already)
        self._spot_cpu = spotter.stats.get("step_cpu_seconds", 0.0) if self.spot_in_process \
            else 0.0
        self._spot_error = spotter.error
        frames = table.to_frame()
        from tells.spotting.events import EVENT_TABLE_COLUMNS

        events = pd.DataFrame([e.record for e in self.events], columns=EVENT_TABLE_COLUMNS)
        if len(events):
            events = events.sort_values(["onset_t", "face_id"]).reset_index(drop=True)
        lat = np.array(latencies)
        record = self.run_record(frames, events, stats, wall, cpu, lat, spotter.stats, busy)
        result = LiveResult(frames, events, list(self.events), record, lat)
        self._call("end", result)
        return result

    def run_record(self, frames: pd.DataFrame, events: pd.DataFrame, stats, wall: float,
                   cpu: float, lat: np.ndarray, spot_stats: dict, busy: float = 0.0) -> dict:
        """The ``run.json`` record: the keys ``tells analyze`` writes, plus ``live``."""
        from tells.api import model_checksums

        info, cap = self.capture.info, self.capture
        ok = frames["success"] == 1 if len(frames) else pd.Series(dtype=bool)
        path = Path(info.path)
        clean = self.ended_by in ("source ended", "duration", "interrupted", "stopped")
        warnings = list(info.warnings) + [e for e in (cap.error, self._spot_error) if e]
        return {
            "tells_version": __version__,
            "contract_version": CONTRACT_VERSION,
            "input": {"path": str(path.resolve()) if cap.kind == "file" else info.path,
                      "source": cap.kind, "description": cap.description,
                      **({"size_bytes": path.stat().st_size} if cap.kind == "file" else {}),
                      "width": info.width, "height": info.height, "fps": info.fps,
                      "duration_s": info.duration_s, "codec": info.codec,
                      "rotation": info.rotation},
            "complete": clean and not warnings,
            "warnings": warnings,
            "frames": int(stats.frames),
            "frames_with_face": int(frames.loc[ok, "frame"].nunique()) if len(frames) else 0,
            "faces": sorted(int(i) for i in frames.loc[ok, "face_id"].unique()) if len(frames)
            else [],
            "events": {"count": len(events),
                       "micro": int((events["kind"] == "micro").sum()) if len(events) else 0,
                       "macro": int((events["kind"] == "macro").sum()) if len(events) else 0,
                       "left_out": spot_stats.get("left_out", {})},
            "models": model_checksums(),
            "settings": self.settings.to_dict(),
            "timings": {"seconds": round(wall, 3),
                        "fps": round(stats.frames / wall, 1) if wall > 0 else 0.0,
                        "detector_runs": stats.detections,
                        "spotting_seconds": round(spot_stats.get("step_seconds", 0.0), 3),
                        "stages": {k: round(v, 3) for k, v in stats.stage_seconds.items()}},
            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z",
                                     time.localtime(time.time() - wall)),
            "platform": f"{platform.system()} {platform.machine()} Python "
                        f"{platform.python_version()}",
            "live": {
                "ended_cleanly": clean, "ended_by": self.ended_by,
                "realtime": cap.paced or cap.kind != "file",
                "spotting": "online", "decision_delay_s": self.delay_s,
                "captured_frames": cap.captured, "dropped_frames": cap.dropped,
                "drop_rate": round(cap.dropped / cap.captured, 4) if cap.captured else 0.0,
                "frame_to_row_ms": _percentiles(lat),
                "cpu_percent_of_one_core": round(100 * cpu / busy, 1) if busy > 0 else 0.0,
                "spotter_cpu_percent_of_one_core": round(100 * self._spot_cpu / busy, 1)
                if busy > 0 else 0.0,
                "cpu_ms_per_frame": round(1000 * (cpu + self._spot_cpu) / stats.frames, 1)
                if stats.frames else None,
                "spotting_steps": spot_stats.get("steps", 0),
            },
        }


def _percentiles(values: np.ndarray) -> dict:
    if not len(values):
        return {"p50": None, "p95": None, "max": None}
    v = 1000 * np.asarray(values)
    return {"p50": round(float(np.percentile(v, 50)), 1),
            "p95": round(float(np.percentile(v, 95)), 1), "max": round(float(v.max()), 1)}
