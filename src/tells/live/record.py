"""Recording a live session (``tells live -o DIR``): the files ``tells analyze`` writes.

While the session runs, ``frames.csv`` grows by appended chunks every ``flush_s`` seconds
(whole rows in one write each), ``events.csv``/``events.json`` are rewritten (atomically) as
events are decided, and ``run.json`` says ``"complete": false`` with ``live.ended_cleanly:
false`` and how far the tables reach. A killed process so leaves readable tables that lose at
most the last ``flush_s`` seconds, flagged as unfinished. When the session ends, everything is
written again as ``tells analyze`` writes it (:func:`tells.api.write_outputs`: Parquet too,
then ``run.json`` with ``ended_cleanly``, then the report).
"""

from __future__ import annotations

import os
import time

import pandas as pd

from tells.io.table import FrameTable, ensure_writable_dir, write_csv, write_json


class Recorder:
    """A session sink writing ``out`` (see the module docstring)."""

    def __init__(self, out: str | os.PathLike, flush_s: float = 2.0, report: bool = True):
        self.out = ensure_writable_dir(out)
        self.flush_s, self.report = flush_s, report
        self._pending: list[dict] = []
        self._rows_written = 0
        self._last_flush = 0.0
        self._events_dirty = False
        self._header = True
        self.flushed_until_t: float | None = None
        for name in ("frames.csv", "frames.parquet", "events.csv", "events.json", "run.json",
                     "report.html", "summary.json"):  # a previous session's files
            (self.out / name).unlink(missing_ok=True)

    def start(self, session) -> None:
        self.session = session
        self._last_flush = time.monotonic()
        self._write_state(session)

    def frame(self, session, frame, rows: list[dict]) -> None:
        self._pending += rows
        if time.monotonic() - self._last_flush >= self.flush_s:
            self.flush(session)

    def event(self, session, ev) -> None:
        self._events_dirty = True

    def flush(self, session) -> None:
        """Append the waiting rows to ``frames.csv``; rewrite events and ``run.json``."""
        self._last_flush = time.monotonic()
        if self._pending:
            table = FrameTable(session.columns)
            for row in self._pending:
                table.append(row)
            text = table.to_frame().to_csv(None, index=False, header=self._header,
                                           float_format="%.6g")
            with open(self.out / "frames.csv", "a", encoding="utf-8") as fh:
                fh.write(text)
                fh.flush()
                os.fsync(fh.fileno())
            self._header = False
            self._rows_written += len(self._pending)
            self.flushed_until_t = float(self._pending[-1]["timestamp"])
            self._pending = []
        if self._events_dirty:
            self._write_events(session)
        self._write_state(session)

    def _write_events(self, session) -> None:
        from tells.spotting.events import EVENT_TABLE_COLUMNS

        events = pd.DataFrame([e.record for e in session.events], columns=EVENT_TABLE_COLUMNS)
        write_csv(events, self.out / "events.csv")
        write_json({"events": events.to_dict(orient="records")}, self.out / "events.json")
        self._events_dirty = False

    def _write_state(self, session) -> None:
        cap = session.capture
        write_json({
            "complete": False,
            "warnings": ["live session still running or killed: the tables reach only the "
                         "last flush"],
            "input": {"path": cap.info.path, "source": cap.kind,
                      "description": cap.description},
            "frames": self._rows_written,
            "live": {"ended_cleanly": False, "state": "running",
                     "rows_flushed": self._rows_written,
                     "flushed_until_t": self.flushed_until_t,
                     "flush_every_s": self.flush_s,
                     "dropped_frames": cap.dropped, "events": len(session.events),
                     "decision_delay_s": session.delay_s},
        }, self.out / "run.json")

    def end(self, session, result) -> None:
        from tells.api import VideoAnalysis, write_outputs

        analysis = VideoAnalysis(frames=result.frames, run=result.run, out_dir=self.out,
                                 events=result.events)
        write_outputs(analysis, self.out, report=self.report)
