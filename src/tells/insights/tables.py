"""Loading a saved analysis directory (the output contract of DESIGN.md): ``frames.parquet``
or ``frames.csv``, ``events.csv`` or ``events.json`` and ``run.json``. Columns a stage did not
produce yet (AUs, emotions, events) are simply absent; :class:`Analysis` says what is there.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from tells.errors import InputError

__all__ = [
    "EMOTIONS",
    "NEGATIVE",
    "POSITIVE",
    "EVENT_COLUMNS",
    "Analysis",
    "load_analysis",
    "au_columns",
]

EMOTIONS = ("anger", "contempt", "disgust", "fear", "happiness", "sadness", "surprise", "neutral")
#: valence groups (MEGC 3-class convention: surprise counts as neither)
NEGATIVE = ("anger", "contempt", "disgust", "fear", "sadness")
POSITIVE = ("happiness",)
EVENT_COLUMNS = (
    "face_id", "kind", "onset_frame", "apex_frame", "offset_frame", "onset_t", "apex_t",
    "offset_t", "duration_s", "aus", "emotion", "confidence", "displayed_emotion", "leakage",
)
_AU_R = re.compile(r"^AU(\d\d)_r$")


def au_columns(frames: pd.DataFrame) -> list[str]:
    """Bilateral AU intensity columns (``AU01_r`` …) present, in AU order."""
    return sorted((c for c in frames.columns if _AU_R.match(str(c))), key=lambda c: int(c[2:4]))


@dataclass
class Analysis:
    """A saved analysis. ``events`` is None when the spotting stage has not written any."""

    out_dir: Path
    frames: pd.DataFrame
    events: pd.DataFrame | None
    run: dict = field(default_factory=dict)

    @property
    def has_au(self) -> bool:
        return bool(au_columns(self.frames))

    @property
    def has_emotion(self) -> bool:
        return all(e in self.frames.columns for e in EMOTIONS)

    @property
    def has_events(self) -> bool:
        return self.events is not None

    @cached_property
    def face_frames(self) -> pd.DataFrame:
        """Rows where a face was found (``success`` true, a face id present)."""
        f = self.frames
        if f.empty or "face_id" not in f.columns:
            return f.iloc[0:0]
        ok = f["face_id"].notna()
        if pd.api.types.is_numeric_dtype(f["face_id"]):
            ok &= f["face_id"] >= 0  # -1 marks "no face in this frame"
        if "success" in f.columns:
            ok &= f["success"].fillna(0).astype(bool)
        return f[ok]

    @property
    def face_ids(self) -> list:
        ff = self.face_frames
        return sorted(ff["face_id"].unique().tolist()) if len(ff) else []

    def _meta(self, *keys):
        """A value from run.json, top level first, then its ``input``/``video`` sections."""
        v = _first(self.run, *keys)
        for section in ("input", "video"):
            if v is None and isinstance(self.run.get(section), dict):
                v = _first(self.run[section], *keys)
        return v

    @property
    def video_path(self) -> Path | None:
        v = _first(self.run, "input", "video", "input_video", "video_path", "path", "source")
        if isinstance(v, dict):
            v = _first(v, "path", "file", "name")
        return Path(v) if isinstance(v, str) and v else None

    @property
    def duration_s(self) -> float:
        d = self._meta("duration_s", "duration")
        try:
            if d is not None:
                return float(d)
        except (TypeError, ValueError):
            pass
        if len(self.frames) and "timestamp" in self.frames.columns:
            return float(np.nanmax(self.frames["timestamp"].to_numpy(dtype=float)))
        return 0.0

    @property
    def fps(self) -> float | None:
        f = self._meta("fps", "frame_rate")
        try:
            return float(f) if f is not None else None
        except (TypeError, ValueError):
            return None


def _first(d: dict, *keys):
    for k in keys:
        if isinstance(d, dict) and d.get(k) not in (None, ""):
            return d[k]
    return None


def load_analysis(out_dir: str | Path) -> Analysis:
    """Read the saved tables of an analysis directory.

    Raises
    ------
    InputError
        The directory or its per-frame table is missing or unreadable.
    """
    out_dir = Path(out_dir)
    if not out_dir.is_dir():
        raise InputError(f"analysis directory not found: {out_dir} (run `tells analyze` first)")
    pq, csv_ = out_dir / "frames.parquet", out_dir / "frames.csv"
    try:
        if pq.exists():
            frames = pd.read_parquet(pq)
        elif csv_.exists():
            frames = pd.read_csv(csv_)
        else:
            raise InputError(
                f"{out_dir} holds no frames.parquet or frames.csv (run `tells analyze` first)"
            )
    except InputError:
        raise
    except Exception as exc:  # pyarrow/pandas parse errors
        raise InputError(f"cannot read the per-frame table in {out_dir}: {exc}") from None
    frames.columns = [str(c).strip() for c in frames.columns]
    if len(frames) and "timestamp" not in frames.columns:
        raise InputError(f"per-frame table in {out_dir} has no 'timestamp' column")
    run = {}
    if (out_dir / "run.json").exists():
        try:
            run = json.loads((out_dir / "run.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InputError(f"cannot read {out_dir / 'run.json'}: {exc}") from None
    events = _load_events(out_dir)
    return Analysis(out_dir=out_dir, frames=frames, events=events, run=run)


def _load_events(out_dir: Path) -> pd.DataFrame | None:
    csv_, js = out_dir / "events.csv", out_dir / "events.json"
    try:
        if csv_.exists():
            ev = pd.read_csv(csv_) if csv_.stat().st_size else pd.DataFrame()
        elif js.exists():
            data = json.loads(js.read_text(encoding="utf-8"))
            if isinstance(data, dict):
                data = data.get("events", [])
            ev = pd.DataFrame(data)
        else:
            return None
    except Exception as exc:
        raise InputError(f"cannot read the event table in {out_dir}: {exc}") from None
    return normalise_events(ev)


def normalise_events(ev: pd.DataFrame) -> pd.DataFrame:
    """Give an event table every contract column with a sensible type, in apex order."""
    ev = ev.copy()
    ev.columns = [str(c).strip() for c in ev.columns]
    defaults = {
        "face_id": 0, "kind": "micro", "aus": "", "emotion": "", "confidence": np.nan,
        "displayed_emotion": "", "leakage": False,
    }
    for c in ("onset_t", "apex_t", "offset_t"):
        if c not in ev.columns:
            ev[c] = np.nan
    if ev["apex_t"].isna().all() and len(ev):
        ev["apex_t"] = (ev["onset_t"] + ev["offset_t"]) / 2
    for k, v in defaults.items():
        if k not in ev.columns:
            ev[k] = v
    if "duration_s" not in ev.columns:
        ev["duration_s"] = ev["offset_t"] - ev["onset_t"]
    for c in ("onset_frame", "apex_frame", "offset_frame"):
        if c not in ev.columns:
            ev[c] = -1
    for c in ("onset_t", "apex_t", "offset_t", "duration_s", "confidence"):
        ev[c] = pd.to_numeric(ev[c], errors="coerce").astype(float)
    for c in ("kind", "aus", "emotion", "displayed_emotion"):
        ev[c] = ev[c].fillna("").astype(str).str.strip()
    ev["leakage"] = ev["leakage"].map(_truthy).astype(bool)
    ev = ev.sort_values(["apex_t", "face_id"], kind="stable").reset_index(drop=True)
    return ev


def _truthy(v) -> bool:
    if isinstance(v, str):
        return v.strip().lower() in ("true", "1", "yes", "y", "t")
    try:
        return bool(v) and v == v
    except (TypeError, ValueError):
        return False
