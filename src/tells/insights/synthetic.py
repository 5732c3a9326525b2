"""SYNTHETIC analyses for tests and benchmarks: per-frame and event tables in the contract
columns (DESIGN.md) with plausible, smoothly varying AU and emotion series and spotted events
whose AUs follow the EMFACS prototypes. Nothing here comes from a real face; ``run.json``
says ``"synthetic": true`` and the report shows a note saying so.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from tells import __version__
from tells.insights.tables import EMOTIONS

__all__ = ["AU_IDS", "synthetic_tables", "write_synthetic_analysis"]

#: the AUs OpenFace 2 reports
AU_IDS = (1, 2, 4, 5, 6, 7, 9, 10, 12, 14, 15, 17, 20, 23, 25, 26, 45)
_PROTO = {
    "happiness": "6+12", "sadness": "1+4+15", "surprise": "1+2+5B+26", "fear": "1+2+4+5+7+20+26",
    "anger": "4+5+7+23", "disgust": "9+15+16", "contempt": "R12A+R14A",
}


def _smooth(rng: np.random.Generator, t: np.ndarray, period_s: float, n: int) -> np.ndarray:
    """``n`` smooth random series over times ``t`` (knots every ``period_s``, linear)."""
    knots = np.arange(0, (t.max() if len(t) else 0) + 2 * period_s, period_s)
    vals = rng.standard_normal((n, len(knots)))
    return np.stack([np.interp(t, knots, v) for v in vals], axis=1)


def synthetic_tables(duration_s: float = 60.0, fps: float = 30.0, faces: int = 1,
                     n_events: int = 20, seed: int = 0,
                     box: tuple[float, float, float, float] = (320, 70, 230, 260),
                     ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A SYNTHETIC per-frame table and event table.

    Parameters
    ----------
    duration_s, fps
        Length and frame rate of the pretend video.
    faces
        Face ids 0..faces-1; face ``k > 0`` is missing for a stretch in the middle and sits
        to the left of face 0.
    n_events
        Number of events (about 70 % micro, 15 % leakage), spread over the faces.
    box
        Face box (x, y, width, height) of face 0 in pixels.
    """
    rng = np.random.default_rng(seed)
    n = int(round(duration_s * fps))
    t_all = np.arange(n) / fps
    # events first, so the series can show them
    kinds = np.where(rng.random(n_events) < 0.7, "micro", "macro")
    dur = np.where(kinds == "micro", rng.uniform(0.2, 0.5, n_events), rng.uniform(0.6, 3.0, n_events))
    onset = np.sort(rng.uniform(0.5, max(0.6, duration_s - 3.5), n_events))
    emo_pool = np.array(["contempt", "disgust", "fear", "anger", "happiness", "sadness", "surprise"])
    emotion = rng.choice(emo_pool, n_events, p=[0.2, 0.15, 0.1, 0.1, 0.25, 0.1, 0.1])
    face_of = rng.integers(0, faces, n_events)
    leakage = (rng.random(n_events) < 0.15) & (emotion != "happiness")
    events = pd.DataFrame({
        "face_id": face_of,
        "kind": kinds,
        "onset_t": onset,
        "apex_t": onset + dur * rng.uniform(0.3, 0.6, n_events),
        "offset_t": onset + dur,
    })
    for c in ("onset", "apex", "offset"):
        events[f"{c}_frame"] = np.round(events[f"{c}_t"] * fps).astype(int)
        events[f"{c}_t"] = events[f"{c}_frame"] / fps
    events["duration_s"] = events["offset_t"] - events["onset_t"]
    events["aus"] = [_PROTO[e] for e in emotion]
    events["emotion"] = emotion
    events["confidence"] = np.round(rng.beta(5, 2, n_events), 3)
    events["displayed_emotion"] = np.where(leakage, "happiness", "")
    events["leakage"] = leakage
    cols = ["face_id", "kind", "onset_frame", "apex_frame", "offset_frame", "onset_t", "apex_t",
            "offset_t", "duration_s", "aus", "emotion", "confidence", "displayed_emotion",
            "leakage"]
    events = events[cols]

    tables = []
    for fid in range(faces):
        keep = np.ones(n, bool)
        if fid > 0:
            keep[int(n * 0.4): int(n * 0.55)] = False
        t = t_all[keep]
        m = len(t)
        au = np.clip(_smooth(rng, t, 4.0, len(AU_IDS)) * 0.6 + 0.4, 0, 5)
        logits = _smooth(rng, t, 6.0, len(EMOTIONS)) * 0.8
        logits[:, EMOTIONS.index("neutral")] += 1.8
        mine = events[events["face_id"] == fid]
        for ev in mine.itertuples():
            span = (t >= ev.onset_t) & (t <= ev.offset_t)
            if not span.any():
                continue
            bump = np.sin(np.pi * (t[span] - ev.onset_t) / max(ev.duration_s, 1e-3))
            logits[span, EMOTIONS.index(ev.emotion)] += 3.0 * bump
            for tok in ev.aus.replace("R", "").split("+"):
                num = int("".join(ch for ch in tok if ch.isdigit()))
                if num in AU_IDS:
                    au[span, AU_IDS.index(num)] += 3.0 * bump
        blink = rng.random(m) < 1 / (4 * fps)  # a blink every ~4 s
        au[:, AU_IDS.index(45)] += np.convolve(blink, np.ones(int(0.2 * fps) or 1), "same") * 3
        au = np.clip(au, 0, 5)
        p = np.exp(logits - logits.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        x0, y0, w0, h0 = box if fid == 0 else (40 + 10 * fid, box[1], box[2] * 0.8, box[3] * 0.8)
        jitter = _smooth(rng, t, 3.0, 2) * 6
        d = {
            "frame": np.nonzero(keep)[0],
            "timestamp": np.round(t, 6),
            "face_id": np.full(m, fid),
            "confidence": np.clip(0.93 + 0.03 * _smooth(rng, t, 5.0, 1)[:, 0], 0, 1).round(3),
            "success": np.ones(m, dtype=np.int8),
            "x": (x0 + jitter[:, 0]).round(1),
            "y": (y0 + jitter[:, 1]).round(1),
            "width": np.full(m, float(w0)),
            "height": np.full(m, float(h0)),
            "pose_Rx": (0.05 * _smooth(rng, t, 5.0, 1)[:, 0]).round(4),
            "pose_Ry": (0.08 * _smooth(rng, t, 5.0, 1)[:, 0]).round(4),
            "pose_Rz": (0.03 * _smooth(rng, t, 5.0, 1)[:, 0]).round(4),
        }
        for j, a in enumerate(AU_IDS):
            d[f"AU{a:02d}_r"] = au[:, j].round(3)
        for j, a in enumerate(AU_IDS):
            d[f"AU{a:02d}_c"] = (au[:, j] >= 1.0).astype(np.int8)
        for side in ("L", "R"):
            d[f"AU12{side}_r"] = au[:, AU_IDS.index(12)].round(3)
            d[f"AU14{side}_r"] = au[:, AU_IDS.index(14)].round(3)
        for j, e in enumerate(EMOTIONS):
            d[e] = p[:, j].round(4)
        tables.append(pd.DataFrame(d))
    frames = pd.concat(tables, ignore_index=True).sort_values(["frame", "face_id"], kind="stable")
    return frames.reset_index(drop=True), events


def write_synthetic_analysis(out_dir: str | Path, *, video: str | Path | None = None,
                             duration_s: float = 60.0, fps: float = 30.0, faces: int = 1,
                             n_events: int = 20, seed: int = 0, csv: bool = True) -> Path:
    """Write a SYNTHETIC analysis directory (``frames.parquet`` [+ ``frames.csv``],
    ``events.csv``, ``events.json``, ``run.json`` with ``"synthetic": true``)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    frames, events = synthetic_tables(duration_s, fps, faces, n_events, seed)
    frames.to_parquet(out / "frames.parquet", index=False)
    if csv:
        frames.to_csv(out / "frames.csv", index=False)
    events.to_csv(out / "events.csv", index=False)
    (out / "events.json").write_text(events.to_json(orient="records", indent=1))
    run = {
        "synthetic": True,
        "tells_version": __version__,
        "video": str(Path(video).resolve()) if video else None,
        "duration_s": duration_s,
        "fps": fps,
        "settings": {"generator": "tells.insights.synthetic", "seed": seed, "faces": faces,
                     "n_events": n_events},
    }
    (out / "run.json").write_text(json.dumps(run, indent=2))
    return out
