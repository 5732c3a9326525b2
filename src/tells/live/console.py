"""Terminal sinks of a live session: JSON lines for other programs (``--json``) and a live table
of alerts (``--no-view``)."""

from __future__ import annotations

import json
import sys

from tells.live.spotter import LiveEvent

NOTE = "a cue, not proof"


def event_json(session, ev: LiveEvent) -> dict:
    """The JSON form of an alert: the event record plus when it was decided."""
    return {"type": "event", **_plain(ev.record), "decided_at_t": round(ev.decided_t, 3),
            "delay_after_offset_s": round(ev.decided_t - float(ev.record["offset_t"]), 3)}


def _plain(d: dict) -> dict:
    out = {}
    for k, v in d.items():
        out[k] = v.item() if hasattr(v, "item") else v
    return out


class JsonLines:
    """One JSON object a line on stdout: ``start``, each ``event``, ``end``."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stdout

    def _put(self, obj: dict) -> None:
        self.stream.write(json.dumps(obj) + "\n")
        self.stream.flush()

    def start(self, session) -> None:
        cap = session.capture
        self._put({"type": "start", "source": cap.kind, "description": cap.description,
                   "decision_delay_s": session.delay_s})

    def event(self, session, ev: LiveEvent) -> None:
        self._put(event_json(session, ev))

    def end(self, session, result) -> None:
        live = result.run["live"]
        self._put({"type": "end", "ended_by": live["ended_by"], "frames": result.run["frames"],
                   "captured_frames": live["captured_frames"],
                   "dropped_frames": live["dropped_frames"], "events": len(result.events),
                   "frame_to_row_ms": live["frame_to_row_ms"]})


def alert_line(ev: LiveEvent) -> str:
    r = ev.record
    return (f"{r['offset_t']:8.2f} s  face {r['face_id']}  {r['kind']:<5}  {r['emotion']:<9} "
            f"{r['aus'] or '-':<22} confidence {float(r['confidence']):.0%}  ({NOTE})")


class TerminalTable:
    """A live status line and the alerts so far (rich), on stderr when stdout is taken."""

    def __init__(self, stream=None):
        from rich.console import Console

        self.console = Console(file=stream or sys.stdout)
        self.live = None
        self._last = 0.0

    def _status(self, session):
        from rich.table import Table

        t = Table(title=None, show_header=True, header_style="bold", expand=False)
        for c in ("time", "face", "kind", "emotion", "AUs", "confidence"):
            t.add_column(c)
        for ev in session.events[-8:]:
            r = ev.record
            t.add_row(f"{r['offset_t']:.2f} s", str(r["face_id"]), r["kind"], r["emotion"],
                      r["aus"] or "-", f"{float(r['confidence']):.0%}")
        t.caption = (f"[red]●[/red] analysing {session.capture.description} — "
                     f"{session.fps:.1f} fps, {session.faces_now} face(s), "
                     f"{session.dropped} frames dropped, {len(session.events)} alerts "
                     f"({NOTE}); Ctrl-C ends")
        return t

    def start(self, session) -> None:
        from rich.live import Live

        if self.console.is_terminal:
            self.live = Live(self._status(session), console=self.console,
                             refresh_per_second=4, transient=False)
            self.live.start()
        else:
            self.console.print(f"analysing {session.capture.description} (Ctrl-C ends)")

    def frame(self, session, frame, rows) -> None:
        if self.live is not None and session.last_t - self._last >= 0.25:
            self._last = session.last_t
            self.live.update(self._status(session))

    def event(self, session, ev: LiveEvent) -> None:
        if self.live is None:
            self.console.print(alert_line(ev), highlight=False)

    def end(self, session, result) -> None:
        if self.live is not None:
            self.live.update(self._status(session))
            self.live.stop()
