"""The call summary written to ``summary.json``: per face and per segment counts of events by
emotion and kind, leakage counts, valence balance, and the top moments with the reasons they
were picked. Key names are stable (schema ``tells.summary/1``); add keys, never rename them.

Keys
----
``schema``
    ``"tells.summary/1"``.
``tells_version``, ``disclaimer``
    Version that wrote the file; the statement that micro-expressions are cues, not proof.
``video``
    ``{"path", "duration_s", "fps"}`` (``path``/``fps`` may be null).
``available``
    ``{"faces", "action_units", "emotions", "events", "transcript", "segments"}`` booleans:
    which inputs the summary could use. Counts of an unavailable input are zero, not absent.
``events``
    Counts over all faces: ``{"total", "by_kind": {"micro", "macro"}, "by_emotion":
    {anger … surprise, "other"}, "leakage"}``.
``faces``
    One entry per face id: ``{"face_id", "frames", "visible_s", "first_t", "last_t",
    "emotion_share" ({emotion: mean probability} or null), "dominant_emotion" (highest mean
    probability other than neutral, or null), "valence" ({"positive", "negative", "other",
    "balance"} or null; balance = positive − negative in −1..1), "events" (counts as above)}``.
``segments``
    One entry per segment given: ``{"label", "start", "end", "events" (counts), "by_face"
    ({face id as string: counts}), "notable" (up to 3 moments, as in ``top_moments``)}``.
``top_moments``
    Up to ``top_n`` events, best first: ``{"rank", "face_id", "kind", "emotion",
    "displayed_emotion", "leakage", "confidence", "onset_t", "apex_t", "offset_t",
    "duration_s", "aus", "segment", "speaker", "words", "score", "reasons"}``. ``score`` =
    confidence (0.5 when unknown) + 0.3 leakage + 0.2 anger/contempt/disgust/fear + 0.1
    sadness + 0.1 micro; ``reasons`` lists in words why the moment ranks.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from tells import DISCLAIMER, __version__
from tells.insights.segments import Segment, segment_of
from tells.insights.tables import EMOTIONS, NEGATIVE, POSITIVE, Analysis
from tells.insights.transcript import Cue, cues_around, speaker_at

__all__ = ["SUMMARY_SCHEMA", "summarize", "annotate_events", "event_counts", "score_event"]

SUMMARY_SCHEMA = "tells.summary/1"
EVENT_EMOTIONS = tuple(e for e in EMOTIONS if e != "neutral")
#: emotions that matter most in a sales conversation (objection, distrust, worry)
ALARM = ("anger", "contempt", "disgust", "fear")


def event_counts(events: pd.DataFrame | None) -> dict:
    """``{"total", "by_kind": {"micro", "macro"}, "by_emotion": {...,"other"}, "leakage"}``."""
    by_emotion = {e: 0 for e in EVENT_EMOTIONS}
    by_emotion["other"] = 0
    by_kind = {"micro": 0, "macro": 0}
    if events is None or len(events) == 0:
        return {"total": 0, "by_kind": by_kind, "by_emotion": by_emotion, "leakage": 0}
    for e, n in events["emotion"].str.lower().value_counts().items():
        key = e if e in by_emotion else "other"
        by_emotion[key] += int(n)
    for k, n in events["kind"].str.lower().value_counts().items():
        if k in by_kind:
            by_kind[k] += int(n)
    return {
        "total": int(len(events)),
        "by_kind": by_kind,
        "by_emotion": by_emotion,
        "leakage": int(events["leakage"].sum()),
    }


def score_event(ev: dict) -> tuple[float, list[str]]:
    """Rank score of one event and the reasons, in words (see module docstring)."""
    conf = ev.get("confidence")
    conf = 0.5 if conf is None or (isinstance(conf, float) and math.isnan(conf)) else float(conf)
    score, reasons = conf, []
    emotion, kind = str(ev.get("emotion", "")).lower(), str(ev.get("kind", "")).lower()
    if ev.get("leakage"):
        score += 0.3
        shown = ev.get("displayed_emotion") or "another expression"
        reasons.append(f"leakage: {emotion or 'an emotion'} showed through {shown}")
    if emotion in ALARM:
        score += 0.2
        reasons.append(f"{emotion} can signal an objection or concern")
    elif emotion == "sadness":
        score += 0.1
        reasons.append("sadness can signal disappointment")
    if kind == "micro":
        score += 0.1
        dur = ev.get("duration_s")
        reasons.append(
            f"micro-expression ({dur:.2f} s)" if isinstance(dur, float) and dur == dur
            else "micro-expression"
        )
    if conf >= 0.8:
        reasons.append(f"high confidence ({conf:.2f})")
    elif conf < 0.5:
        reasons.append(f"low confidence ({conf:.2f}): treat as a weak cue")
    if ev.get("segment"):
        reasons.append(f"during {ev['segment']!r}")
    if ev.get("speaker"):
        reasons.append(f"while {ev['speaker']} was speaking")
    return round(score, 4), reasons


def annotate_events(events: pd.DataFrame | None, transcript: list[Cue] | None = None,
                    segments: list[Segment] | None = None) -> list[dict]:
    """Events as dicts with ``id``, ``segment``, ``speaker``, ``words``, ``context`` (cues
    around the apex), ``score`` and ``reasons`` added; in apex order."""
    if events is None or len(events) == 0:
        return []
    out = []
    for i, row in enumerate(events.to_dict("records")):
        ev = {k: _plain(v) for k, v in row.items()}
        ev["id"] = i
        t = ev.get("apex_t")
        t = float(t) if t is not None else 0.0
        seg = segment_of(segments or [], t)
        ev["segment"] = seg.label if seg else None
        if transcript:
            around = cues_around(transcript, t)
            ev["context"] = [c.to_dict() for c in around]
            ev["speaker"] = speaker_at(transcript, t) or None
            ev["words"] = " ".join(
                (f"{c.speaker}: " if c.speaker else "") + c.text for c in around
            ) or None
        else:
            ev["context"], ev["speaker"], ev["words"] = [], None, None
        ev["score"], ev["reasons"] = score_event(ev)
        out.append(ev)
    return out


def _plain(v):
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and math.isnan(v):
        return None
    return v


_MOMENT_KEYS = (
    "face_id", "kind", "emotion", "displayed_emotion", "leakage", "confidence", "onset_t",
    "apex_t", "offset_t", "duration_s", "aus", "segment", "speaker", "words", "score", "reasons",
)


def _moment(ev: dict, rank: int) -> dict:
    m = {"rank": rank}
    m.update({k: ev.get(k) for k in _MOMENT_KEYS})
    return m


def top_moments(annotated: list[dict], n: int) -> list[dict]:
    best = sorted(annotated, key=lambda e: (-e["score"], e.get("apex_t") or 0.0))[:n]
    return [_moment(e, i + 1) for i, e in enumerate(best)]


def face_stats(analysis: Analysis) -> list[dict]:
    ff = analysis.face_frames
    faces = []
    for fid in analysis.face_ids:
        rows = ff[ff["face_id"] == fid]
        t = rows["timestamp"].to_numpy(dtype=float)
        entry = {
            "face_id": _plain(fid),
            "frames": int(len(rows)),
            "visible_s": round(_visible_seconds(t), 3),
            "first_t": round(float(t.min()), 3),
            "last_t": round(float(t.max()), 3),
            "emotion_share": None,
            "dominant_emotion": None,
            "valence": None,
        }
        if analysis.has_emotion:
            means = rows[list(EMOTIONS)].astype(float).mean()
            share = {e: round(float(means[e]), 4) for e in EMOTIONS}
            entry["emotion_share"] = share
            entry["dominant_emotion"] = max(EVENT_EMOTIONS, key=lambda e: share[e])
            pos = sum(share[e] for e in POSITIVE)
            neg = sum(share[e] for e in NEGATIVE)
            entry["valence"] = {
                "positive": round(pos, 4),
                "negative": round(neg, 4),
                "other": round(max(0.0, 1.0 - pos - neg), 4),
                "balance": round(pos - neg, 4),
            }
        ev = analysis.events
        entry["events"] = event_counts(ev[ev["face_id"] == fid] if ev is not None else None)
        faces.append(entry)
    return faces


def _visible_seconds(t: np.ndarray) -> float:
    """Time covered by the face's frames: frame gaps up to 1 s count, longer gaps do not."""
    if len(t) < 2:
        return 0.0
    d = np.diff(np.sort(t))
    step = float(np.median(d)) if len(d) else 0.0
    return float(d[d <= 1.0].sum() + step)


def summarize(analysis: Analysis, transcript: list[Cue] | None = None,
              segments: list[Segment] | None = None, top_n: int = 10,
              annotated: list[dict] | None = None) -> dict:
    """Compute the summary of an analysis (see the module docstring for the keys).

    Parameters
    ----------
    analysis
        From :func:`tells.insights.load_analysis`.
    transcript, segments
        Optional context; events get the speaker, words and agenda item around their apex.
    top_n
        How many top moments to keep.
    annotated
        Pre-computed :func:`annotate_events` output (the report passes it to avoid doing the
        work twice).
    """
    if annotated is None:
        annotated = annotate_events(analysis.events, transcript, segments)
    events = analysis.events
    seg_entries = []
    for seg in segments or []:
        if events is not None and len(events):
            in_seg = events[(events["apex_t"] >= seg.start) & (events["apex_t"] < seg.end)]
        else:
            in_seg = None
        by_face = {}
        if in_seg is not None:
            for fid in sorted(in_seg["face_id"].unique().tolist()):
                by_face[str(_plain(fid))] = event_counts(in_seg[in_seg["face_id"] == fid])
        seg_ann = [e for e in annotated if seg.contains(e.get("apex_t") or 0.0)]
        seg_entries.append({
            **seg.to_dict(),
            "events": event_counts(in_seg),
            "by_face": by_face,
            "notable": top_moments(seg_ann, 3),
        })
    fps = analysis.fps
    return {
        "schema": SUMMARY_SCHEMA,
        "tells_version": __version__,
        "disclaimer": DISCLAIMER,
        "video": {
            "path": str(analysis.video_path) if analysis.video_path else None,
            "duration_s": round(analysis.duration_s, 3),
            "fps": round(fps, 4) if fps else None,
        },
        "available": {
            "faces": bool(analysis.face_ids),
            "action_units": analysis.has_au,
            "emotions": analysis.has_emotion,
            "events": analysis.has_events,
            "transcript": bool(transcript),
            "segments": bool(segments),
        },
        "events": event_counts(events),
        "faces": face_stats(analysis),
        "segments": seg_entries,
        "top_moments": top_moments(annotated, top_n),
    }
