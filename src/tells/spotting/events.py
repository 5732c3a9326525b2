"""Events from spotted intervals: the contract's event table with AUs, emotion, confidence,
the emotion displayed around the event, and leakage.

- ``aus``: action units whose intensity rose from onset to apex by at least
  ``SpotParams.active``, FACS style with intensity letters (A trace … E maximum) and L/R for
  one-sided lip corner units (``R12A+R14A``).
- ``emotion``: named from what changed between the onset and the apex (the AU changes, the
  rise of the raw CNN probabilities, the mesh and texture change) by :mod:`tells.emotion.event`;
  ``emotion_probability`` is its share.
- ``displayed_emotion``: the most probable emotion over ±2 s around the event, outside it.
- ``leakage``: the face displayed a different, non-neutral emotion around the event (a flash
  of contempt inside a smile). A flash on a neutral face is not called leakage.
- ``confidence``: how clearly the interval stands out — its peak over the detection
  threshold, lowered by poor-quality frames. It is a heuristic score, not a calibrated
  probability.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd

from tells.contract import AU_NUMBERS, EMOTIONS, EVENT_COLUMNS
from tells.emotion.cnn import CNN_CLASSES
from tells.emotion.event import name_event
from tells.spotting.regions import REGIONS
from tells.spotting.spot import SpotParams, au_code, blink_count, columns, spot_face
from tells.spotting.stage import N_FEATURES, N_POSITIONS

#: the event table's columns: the contract's, plus the emotion's probability
EVENT_TABLE_COLUMNS = EVENT_COLUMNS[:11] + ["emotion_probability"] + EVENT_COLUMNS[11:]
DISPLAY_WINDOW_S = 2.0
N_CNN = len(CNN_CLASSES)


def _empty() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in EVENT_TABLE_COLUMNS})


def has_au_columns(frames: pd.DataFrame) -> bool:
    return all(f"AU{n:02d}_r" in frames for n in AU_NUMBERS)


def _appearance(fidx: np.ndarray, face: pd.DataFrame, appearance) -> np.ndarray | None:
    """Appearance records aligned with the face's rows: the emotion stage's (raw CNN
    probabilities over :data:`CNN_CLASSES`, then the naming model's mesh and texture
    components; kept in float32, a long recording's records are large) when given, else the
    table's fused columns (CNN classes only)."""
    if appearance is not None and len(appearance[0]):
        af, av = appearance
        lookup = {int(f): i for i, f in enumerate(af)}
        if all(int(f) in lookup for f in fidx):
            return av[[lookup[int(f)] for f in fidx]]
    if all(e in face for e in CNN_CLASSES):
        p = face[CNN_CLASSES].to_numpy(dtype=float)
        return p / np.maximum(p.sum(1, keepdims=True), 1e-9)
    return None


def _around(x: np.ndarray, lo: int, hi: int) -> np.ndarray:
    return x[max(0, lo):max(lo + 1, hi)].mean(0, dtype=np.float64)


def _displayed(emotions: np.ndarray | None, t: np.ndarray, on_t: float, off_t: float,
               apex_t: float) -> str:
    """The emotion shown around the event: the mean of the face's emotion columns
    (``emotions``, rows × :data:`EMOTIONS`, ``None`` when the table has none) within
    ``DISPLAY_WINDOW_S`` of the apex, outside the event."""
    if emotions is None:
        return "neutral"
    near = (np.abs(t - apex_t) <= DISPLAY_WINDOW_S) & ((t < on_t) | (t > off_t))
    if not near.any():
        return "neutral"
    # column-major, as pandas' ``face.loc[near, EMOTIONS]`` hands it out: the mean adds in
    # the same order (a row-major copy sums in another and can differ in the last bit)
    mean = np.asfortranarray(emotions[near]).mean(0)
    return EMOTIONS[int(np.argmax(mean))]


def _positions(frames_idx: np.ndarray, motion) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Region landmark positions (rows, regions, 2) and the two sides' skin light (rows, 2)
    for the face's rows, or ``(None, None)`` when not recorded for all."""
    if motion is None or not len(motion[0]):
        return None, None
    mf, mv = motion
    lookup = {int(f): i for i, f in enumerate(mf)}
    if any(int(f) not in lookup for f in frames_idx):
        return None, None
    rec = mv[[lookup[int(f)] for f in frames_idx]].astype(np.float64)
    pos = rec[:, :N_POSITIONS].reshape(len(frames_idx), len(REGIONS), 2)
    return pos, rec[:, N_POSITIONS:N_FEATURES] if rec.shape[1] >= N_FEATURES else None


def detect_events(frames: pd.DataFrame, motion_of=None,
                  params: SpotParams | None = None, appearance_of=None
                  ) -> tuple[pd.DataFrame, dict]:
    """Spot and describe expressions in a per-frame table with AU columns.

    Parameters
    ----------
    frames : per-frame table (contract columns incl. AU and, if present, emotion columns).
    motion_of : ``face_id -> (frames, records)`` (``MotionStage.series``: region positions and
        side lighting) or None.
    params : :class:`SpotParams`.
    appearance_of : ``face_id -> (frames, raw CNN probabilities)``
        (:meth:`tells.emotion.stage.EmotionStage.appearance`) or None (the table's emotion
        columns stand in).

    Returns
    -------
    (events, stats) — events in :data:`EVENT_TABLE_COLUMNS`, sorted by onset time; stats
    counts blinks and the candidates left out, by reason.
    """
    p = params or SpotParams()
    stats: dict = {"blinks": {}, "left_out": Counter()}
    if not has_au_columns(frames):
        return _empty(), {"blinks": {}, "left_out": {}, "note": "no AU columns"}
    rows = []
    ok = frames[frames["success"] == 1]
    for face_id, face in ok.groupby("face_id"):
        face = face.sort_values("timestamp").reset_index(drop=True)
        stats["blinks"][int(face_id)] = blink_count(face)
        fidx = face["frame"].to_numpy()
        motion = motion_of(int(face_id)) if motion_of is not None else None
        positions, light = _positions(fidx, motion)
        cands, t = spot_face(face, positions, p, int(face_id), light)
        cnn = _appearance(fidx, face, appearance_of(int(face_id)) if appearance_of else None)
        # the appearance "before the onset": the 0.1 s up to it
        pre = max(1, int(round(0.1 / max(float(np.median(np.diff(t))), 1e-3)))) if len(t) > 1 else 1
        # read once per face (a pandas lookup per event cost more than the rest of its record)
        emotions = (columns(face, EMOTIONS, float) if all(e in face for e in EMOTIONS)
                    else None)
        poor = None  # rows flagged for pose, blur or a partly visible face
        for c in cands:
            if c.reason:
                stats["left_out"][c.reason] += 1
                continue
            lr = {n: (c.aus[f"AU{n}L"], c.aus[f"AU{n}R"]) for n in (12, 14)}
            code = au_code(c.aus, lr, p.active)
            before = None if cnn is None else _around(cnn, c.onset - pre, c.onset)
            apex = None if cnn is None else _around(cnn, c.apex - 1, c.apex + 2)
            emotion, prob = name_event(
                c.aus, None if cnn is None else before[:N_CNN],
                None if cnn is None else apex[:N_CNN],
                mesh_change=None if cnn is None or len(apex) == N_CNN
                else apex[N_CNN:] - before[N_CNN:])
            on_t, apex_t, off_t = float(t[c.onset]), float(t[c.apex]), float(t[c.offset])
            dt = float(np.median(np.diff(t))) if len(t) > 1 else 0.0
            duration = off_t - on_t + dt
            displayed = _displayed(emotions, t, on_t, off_t, apex_t)
            thr = p.peak_threshold(positions is not None)
            strength = float(np.clip((c.peak - thr) / (3.0 * thr), 0, 1))  # 1 at 4× threshold
            if poor is None:
                poor = columns(face, ["q_pose", "q_blur", "q_partial"]).any(1)
            quality = 1.0 - 0.5 * float(poor[c.onset:c.offset + 1].mean())
            confidence = quality * (0.4 + 0.6 * strength)
            rows.append({
                "face_id": int(face_id),
                "kind": "micro" if duration <= p.micro_max_s else "macro",
                "onset_frame": int(fidx[c.onset]), "apex_frame": int(fidx[c.apex]),
                "offset_frame": int(fidx[c.offset]),
                "onset_t": round(on_t, 4), "apex_t": round(apex_t, 4), "offset_t": round(off_t, 4),
                "duration_s": round(duration, 4), "aus": code, "emotion": emotion,
                "emotion_probability": round(prob, 3), "confidence": round(confidence, 3),
                "displayed_emotion": displayed,
                "leakage": bool(displayed not in ("neutral", emotion)),
            })
    stats["left_out"] = dict(stats["left_out"])
    if not rows:
        return _empty(), stats
    events = pd.DataFrame(rows, columns=EVENT_TABLE_COLUMNS).sort_values(["onset_t", "face_id"])
    return events.reset_index(drop=True), stats
