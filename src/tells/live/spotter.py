"""Online (causal) spotting: the offline detector run over a sliding window of the recent past.

The rows of the last ``window_s`` seconds of a face go through
:func:`tells.spotting.events.detect_events` exactly as ``tells analyze`` runs it over the
finished table; an event is decided once its offset is ``delay_s`` old (so the detector has
seen the face settle after it) and reported once (an interval overlapping one already
reported is the same expression seen again). Baselines come from the window, i.e. from the
past only, and the events are the offline event records, so every improvement of the offline
spotter reaches live analysis unchanged.

Detection (the offline detector over the window: about 8 ms of CPU for 16 s of one face's
rows at 30 fps on the 2-core development machine, load 8; 30 ms before its rolling median
went through SciPy's 1-D rank filter) runs per face only when it can matter: at the decision time of an event it saw pending (the first
frame at or after offset + ``delay_s``), and while the face moves — a cheap per-frame watch of
the regional landmark positions against their median over the past ``context_s`` (in
multiples of each region's typical deviation, as the detector measures deformation) — every
``idle_s`` while it moves and every ``settle_s`` for ``delay_s`` after it stops (when offsets
become visible). A calm face costs no detection. An event whose offset moved a little later
at its decision time is looked at again on every frame until it can be decided (the window's
edge moves offsets back and forth by a frame or two).

Baseline: each row's rolling median of the region positions is taken over the rows within
``context_s / 2`` of it that have been seen: the window is cut at the newest row, and at the
track's first row while the window still begins there (``SpotParams.causal`` and
``causal_start``), where offline extends it past the table's ends with copies of the first and
last rows (and shrinks it to the rows there are when they are fewer). Live, the last row is
the newest frame: its copies stood for the seconds not yet seen (up to half the window for
the rows just decided), and in a face's first seconds the window shrank to the few rows
there were, most of them copies; both placed the onset of an early event elsewhere than
offline. Replayed over the offline rows of the bench videos (``tells bench live``, seeds 0 to
3, one face): 46 of 47 offline events found with the same emotion before (the first event of
seed 0, 3 s into the track, was the one), 47 of 47 with the cut window.

What the causal version cannot see: the talking check looks 2 s past the offset offline and
only ``delay_s`` live, ``displayed_emotion`` averages only the past and the delay, and in a
face's first seconds the baseline has only those seconds (offline it also has the
``context_s / 2`` after them).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from tells.face.observation import FaceObservation
from tells.io.table import FrameTable
from tells.spotting.regions import REGIONS
from tells.spotting.spot import EYE_REGIONS, SpotParams
from tells.spotting.stage import N_FEATURES, N_POSITIONS, spotting_record

#: the decision delay after an event's offset (seconds): the offset is placed on a signal
#: smoothed over 0.15 s, so the detector needs about that much of the face settling after it
DEFAULT_DELAY_S = 0.3


class PositionTap:
    """A pipeline stage adding no columns, run after the others: keeps what offline event
    detection reads besides the table for each face's last frame — the regional landmark
    positions and side lighting (what :class:`tells.spotting.stage.MotionStage` records) and
    the raw appearance CNN probabilities the emotion stage recorded for the frame (``emotion``, an
    :class:`tells.emotion.stage.EmotionStage` of the same pipeline, or ``None``)."""

    columns: list[str] = []

    def __init__(self, emotion=None) -> None:
        self.emotion = emotion
        self.last: dict[int, tuple[int, np.ndarray, np.ndarray | None]] = {}

    def __call__(self, obs: FaceObservation) -> dict[str, float]:
        self.last[obs.face_id] = (obs.frame, spotting_record(obs),
                                  self._appearance(obs.face_id, obs.frame))
        return {}

    def _appearance(self, face_id: int, frame: int) -> np.ndarray | None:
        got = self.emotion.latest_appearance(face_id) if self.emotion is not None else None
        return got[1] if got is not None and got[0] == frame else None

    def take(self, face_id: int, frame: int) -> tuple[np.ndarray | None, np.ndarray | None]:
        """(positions, appearance) recorded for the face at ``frame`` (``None`` when not)."""
        got = self.last.pop(face_id, None)
        return (got[1], got[2]) if got is not None and got[0] == frame else (None, None)

    def finish(self) -> None:
        pass


@dataclass
class LiveEvent:
    """A decided event: the offline event record plus when it was decided (media time)."""

    record: dict
    decided_t: float
    wall: float = 0.0  # time.monotonic() of the decision (filled by the session)
    extra: dict = field(default_factory=dict)


@dataclass
class _Face:
    table: FrameTable  # the rows of the window (and up to as many before it: ``start``)
    start: int = 0  # table rows before the window
    times: deque = field(default_factory=deque)
    rows: deque = field(default_factory=deque)
    positions: deque = field(default_factory=deque)
    appearance: deque = field(default_factory=deque)
    reported: list = field(default_factory=list)  # (onset_t, offset_t)
    due: float = np.inf  # media time of the next decision
    last_t: float = -np.inf  # media time of the last detection
    moving_t: float = -np.inf  # media time the watch last saw the face move
    ref_t: float = -np.inf  # when the watch's reference was computed
    ref: np.ndarray | None = None  # (regions, 2) median position over the past context
    trimmed: bool = False  # rows have left the window (it no longer begins the track)
    noise: np.ndarray | None = None  # (regions,) typical distance from it


class OnlineSpotter:
    """Causal spotting over rows as they arrive.

    Parameters
    ----------
    columns : the per-frame table's columns (rows are dicts with these keys).
    delay_s : decision delay after an event's offset.
    window_s : seconds of the past each face's detection looks at (at least the offline
        baseline context plus the longest macro expression).
    idle_s : detection interval while the face moves.
    settle_s : detection interval for ``delay_s`` after it stopped moving.
    late_s : an event whose offset is more than ``delay_s + late_s`` old when first seen is
        not reported (it was judged before and left out; reporting it now would break the
        fixed decision time).
    watch : the watch's level, as a share of the detection threshold (``None``: no watch,
        detection every ``idle_s``).
    params : :class:`SpotParams`, as offline (with ``causal`` set: each row's baseline is
        the median of the rows around it seen so far).
    """

    def __init__(self, columns: list[str], delay_s: float = DEFAULT_DELAY_S,
                 window_s: float = 16.0, idle_s: float = 0.25, settle_s: float = 0.15,
                 late_s: float = 0.5, watch: float | None = 0.6,
                 params: SpotParams | None = None):
        self.columns = list(columns)
        self.delay_s, self.window_s, self.late_s = delay_s, window_s, late_s
        self.idle_s, self.settle_s, self.watch = idle_s, settle_s, watch
        # the rows end now: the baseline's window is cut there, not extended with copies of
        # the newest row; and at the track's start while the window still begins there
        # (SpotParams.causal, causal_start)
        self.params = replace(params or SpotParams(), causal=True)
        self._faces: dict[int, _Face] = {}
        keep = [i for i, r in enumerate(REGIONS) if r not in EYE_REGIONS]
        self._keep = np.array(keep)
        self.steps = 0
        self.step_seconds = 0.0
        self.step_cpu_seconds = 0.0  # CPU time of this process spent detecting
        self.left_out: dict[str, int] = {}

    def add(self, row: dict, positions: np.ndarray | None,
            appearance: np.ndarray | None = None) -> None:
        """One row of the per-frame table (rows without a face are ignored), with the face's
        regional positions and raw appearance record at that frame."""
        if not row.get("success"):
            return
        fid = int(row["face_id"])
        face = self._faces.get(fid)
        if face is None:
            face = self._faces[fid] = _Face(FrameTable(self.columns))
        t = float(row["timestamp"])
        face.table.append(row)
        face.times.append(t)
        face.rows.append(row)
        face.positions.append(np.full(N_FEATURES, np.nan, np.float32) if positions is None
                              else positions)
        face.appearance.append(appearance)
        self._watch(face, t, positions)

    def _watch(self, face: _Face, t: float, positions: np.ndarray | None) -> None:
        """Whether the face moves: its regions' distance from their median over the past
        ``context_s`` (recomputed every half second), in multiples of each region's typical
        distance, above ``watch`` × the detection threshold (no positions: always moving)."""
        if self.watch is None or positions is None or np.isnan(positions).any():
            face.moving_t = t
            return
        if t >= face.ref_t + 0.5:
            past = [p for p, s in zip(reversed(face.positions), reversed(face.times),
                                      strict=True) if s >= t - self.params.context_s]
            past = [p for p in past if not np.isnan(p).any()]
            if len(past) < 10:
                face.moving_t = t
                return
            past = np.stack(past)[:, :N_POSITIONS].reshape(len(past), -1, 2)
            face.ref = np.median(past, axis=0)
            face.noise = np.median(np.linalg.norm(past - face.ref, axis=2), axis=0) + 1e-4
            face.ref_t = t
        if face.ref is None:
            face.moving_t = t
            return
        z = np.linalg.norm(positions[:N_POSITIONS].reshape(-1, 2) - face.ref, axis=1) / face.noise
        if z[self._keep].max() >= 1.0 + self.watch * (self.params.deform_threshold - 1.0):
            face.moving_t = t

    def _is_due(self, face: _Face, now_t: float) -> bool:
        if now_t >= face.due:
            return True
        since = now_t - face.moving_t
        if since < 0.0 or since > self.delay_s + self.settle_s:
            return False
        return now_t - face.last_t >= (self.idle_s if since == 0.0 else self.settle_s) - 1e-6

    def step(self, now_t: float, force: bool = False, decisions: bool | None = None
             ) -> list[LiveEvent]:
        """Detection for the faces that are due at ``now_t`` (media time of the latest row);
        the events decided. ``decisions``: only the faces with a pending event to decide now
        (``True``) or only the others (``False``); ``None``: both, those first."""
        import time

        out: list[LiveEvent] = []
        faces = sorted(self._faces.items(), key=lambda kv: now_t < kv[1].due)
        if decisions is not None:
            faces = [(k, f) for k, f in faces if (now_t >= f.due) == decisions]
        for fid, face in faces:
            while face.times and face.times[0] < now_t - self.window_s:
                face.times.popleft()
                face.rows.popleft()
                face.positions.popleft()
                face.appearance.popleft()
                face.start += 1
                face.trimmed = True
            if not face.times:
                del self._faces[fid]
                continue
            if face.start > len(face.rows):  # keep the table at most twice the window
                face.table, face.start = FrameTable(self.columns), 0
                for row in face.rows:
                    face.table.append(row)
            if not force and not self._is_due(face, now_t):
                continue
            t0, c0 = time.perf_counter(), time.process_time()
            out += self._decide(fid, face, now_t, final=False)
            self.steps += 1
            self.step_seconds += time.perf_counter() - t0
            self.step_cpu_seconds += time.process_time() - c0
        return out

    def finish(self, now_t: float) -> list[LiveEvent]:
        """At the end of the source: decide every event still pending (as offline does at the
        end of a file)."""
        out = []
        for fid, face in self._faces.items():
            out += self._decide(fid, face, now_t, final=True)
        return out

    def _decide(self, fid: int, face: _Face, now_t: float, final: bool) -> list[LiveEvent]:
        from tells.spotting.events import detect_events

        was_due = now_t >= face.due
        face.last_t, face.due = now_t, np.inf
        if len(face.rows) < 3:
            return []
        pos = np.stack(face.positions)
        frames = np.array([int(r["frame"]) for r in face.rows], np.int64)
        ok = ~np.isnan(pos).any(1)
        motion = {fid: (frames[ok], pos[ok])}
        has = [i for i, a in enumerate(face.appearance) if a is not None]
        looks = ({fid: (frames[has], np.stack([face.appearance[i] for i in has]))}
                 if has else {})
        table = face.table.to_frame(face.start)
        params = self.params if face.trimmed else replace(self.params, causal_start=True)
        events, stats = detect_events(table, motion.get, params,
                                      appearance_of=looks.get if looks else None)
        for reason, n in stats.get("left_out", {}).items():
            self.left_out[reason] = self.left_out.get(reason, 0) + n
        decided = []
        # offsets are rounded to 0.1 ms in the records: a frame at offset + delay is past it
        horizon = now_t - self.delay_s + 1e-3
        for rec in events.to_dict(orient="records"):
            on, off = float(rec["onset_t"]), float(rec["offset_t"])
            if off < horizon - self.late_s:
                continue
            if any(on <= b + 0.05 and off >= a - 0.05 for a, b in face.reported):
                continue
            if not final and off > horizon:  # pending: look again when it can be decided
                due = off + self.delay_s - 1e-3
                if was_due and due - now_t <= self.settle_s:
                    due = now_t + 1e-6  # its offset moved a little at its decision time:
                    # every frame until it holds (it may move back)
                face.due = min(face.due, due)
                continue
            face.reported.append((on, off))
            decided.append(LiveEvent(record=rec, decided_t=now_t))
        face.reported = [r for r in face.reported if r[1] >= now_t - self.window_s]
        return decided


def replay(frames: pd.DataFrame, motion_of: Callable | None, appearance_of: Callable | None = None,
           delay_s: float = DEFAULT_DELAY_S, **kw) -> pd.DataFrame:
    """Online spotting replayed over a finished analysis (rows in time order, as live would
    see them with no frame dropped): the events live analysis would report (``attrs``:
    ``detections``, how many times the offline detector ran).

    ``motion_of`` and ``appearance_of`` are ``MotionStage.series`` and
    ``EmotionStage.appearance`` of the same run (or ``None``)."""
    from tells.spotting.events import EVENT_TABLE_COLUMNS

    spotter = OnlineSpotter(list(frames.columns), delay_s=delay_s, **kw)

    def index(of) -> dict[int, dict[int, np.ndarray]]:
        out: dict[int, dict[int, np.ndarray]] = {}
        for fid in frames.loc[frames["success"] == 1, "face_id"].unique() if of else []:
            f, v = of(int(fid))
            out[int(fid)] = dict(zip(f.tolist(), v, strict=True))
        return out

    lookup, looks = index(motion_of), index(appearance_of)
    decided: list[LiveEvent] = []
    rows = frames.sort_values(["timestamp", "face_id"], kind="stable").to_dict(orient="records")
    now = -np.inf
    for row in rows:
        t = float(row["timestamp"])
        if t > now and now > -np.inf:
            decided += spotter.step(now)
        now = t
        fid, frame = int(row["face_id"]), int(row["frame"])
        spotter.add(row, lookup.get(fid, {}).get(frame), looks.get(fid, {}).get(frame))
    decided += spotter.step(now) + spotter.finish(now)
    if not decided:
        out = pd.DataFrame(columns=EVENT_TABLE_COLUMNS + ["decided_t"])
    else:
        out = pd.DataFrame([{**e.record, "decided_t": e.decided_t} for e in decided])
        out = out.sort_values(["onset_t", "face_id"]).reset_index(drop=True)
    out.attrs["detections"] = spotter.steps
    return out
