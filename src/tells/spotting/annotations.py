"""Readers that turn spotting truth and prediction files into one normalised events table.

This module owns the file layouts; :mod:`tells.spotting.evaluate` owns the scoring. Every
reader returns a :class:`pandas.DataFrame` with the columns of :data:`COLUMNS`: the event
columns of DESIGN.md's output contract plus ``video`` (the name that pairs truth with
predictions), ``subject``, ``label`` (the emotion label as written in the file) and
``offset_estimated`` (True where the file gave no offset and one was filled in).

Formats (``FORMATS``):

``tells``
    The event table tells writes (``events.csv``, or ``events.json`` as a list of records or
    ``{"events": [...]}``), optionally with a ``video`` column so one file can pool many
    videos. A directory is searched recursively for ``events.csv`` (or ``events.json``); each
    file's folder, relative to the directory, names its video (``pred/sub01/EP02_01f/events.csv``
    is video ``sub01/EP02_01f``; a directory holding ``events.csv`` itself is one video named
    after the directory). An empty events file is a video with no events.
``casme2``
    CASME II coding sheet (xlsx or csv, with header): ``Subject, Filename, OnsetFrame,
    ApexFrame, OffsetFrame, Action Units, Estimated Emotion``. Every row is a micro-expression;
    the video is ``sub{Subject:02d}/{Filename}`` (the dataset's folder layout). An apex of "/"
    (unknown) becomes missing.
``cas-me-2``
    CAS(ME)^2 sheet, no header: ``subject, clip, onset, apex, offset, AUs, valence, expression
    type, emotion, duration, video path``. The video is the file stem of the video path when
    given, else ``{subject}_{clip up to the first "_"}``. An offset of 0 means unknown: it is
    set to the apex (the convention of the MEGC baselines), or to the onset when the apex is
    unknown too, and ``offset_estimated`` is True on that row.
``samm-lv``
    SAMM Long Videos sheet: a few title lines, then the header ``Subject, Filename, Inducement
    Code, Onset, Apex, Offset, Duration, Type, Action Units, Notes``. Type ``Macro`` is macro,
    ``Micro - 1/2`` micro. The video is the first two ``_`` parts of Filename (``006_1_3`` is
    event 3 of video ``006_1``). An apex of -1 becomes missing.

Frame numbers are kept as the file writes them. The dataset sheets count frames as their image
files do (CAS(ME)^2 and SAMM Long Videos from 1), tells from 0: pass ``frame_offset=1`` to
:func:`tells.spotting.evaluate.evaluate_spotting` (``--frame-offset 1``) when scoring tells
predictions against them.

Reading ``.xlsx`` needs ``openpyxl``; any user-caused problem (missing file, missing columns,
unreadable sheet) raises :class:`tells.errors.InputError` with one line.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from tells.errors import InputError

FORMATS = ("tells", "casme2", "cas-me-2", "samm-lv")

#: columns of every normalised events table, in order
COLUMNS = [
    "video", "subject", "face_id", "kind",
    "onset_frame", "apex_frame", "offset_frame",
    "onset_t", "apex_t", "offset_t", "duration_s",
    "aus", "emotion", "label", "confidence", "displayed_emotion", "leakage",
    "offset_estimated",
]

#: dataset emotion words mapped to the contract's emotion names; others/repression map to none
EMOTION_NAMES = {
    "anger": "anger", "angry": "anger",
    "contempt": "contempt",
    "disgust": "disgust", "disgusted": "disgust",
    "fear": "fear", "fearful": "fear",
    "happiness": "happiness", "happy": "happiness",
    "sadness": "sadness", "sad": "sadness",
    "surprise": "surprise", "surprised": "surprise",
    "neutral": "neutral",
}

_VIDEO_EXT = re.compile(r"\.(mp4|avi|mov|mkv|webm|m4v|mpg|mpeg|wmv)$", re.IGNORECASE)


def read_events(path: str | Path, fmt: str = "tells") -> pd.DataFrame:
    """Read a truth or prediction file (or directory) into a normalised events table.

    Parameters
    ----------
    path
        File, or for ``fmt="tells"`` a directory of per-video analysis folders.
    fmt
        One of :data:`FORMATS`.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`COLUMNS`.
    """
    readers: dict[str, Callable[[Path], pd.DataFrame]] = {
        "tells": read_tells,
        "casme2": read_casme2,
        "cas-me-2": read_cas_me_2,
        "samm-lv": read_samm_lv,
    }
    if fmt not in readers:
        raise InputError(f"unknown annotation format {fmt!r}: expected one of {', '.join(FORMATS)}")
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file or directory")
    return readers[fmt](path)


# ---------------------------------------------------------------------------------- tells


def read_tells(path: Path) -> pd.DataFrame:
    """Read tells events (``events.csv``/``.json``/``.parquet`` or a directory of them)."""
    path = Path(path)
    if path.is_dir():
        return _read_tells_dir(path)
    return _normalise_tells(_read_table_file(path), path)


def _read_tells_dir(root: Path) -> pd.DataFrame:
    files: dict[Path, Path] = {}
    for name in ("events.csv", "events.json", "events.parquet"):
        for f in sorted(root.rglob(name)):
            files.setdefault(f.parent, f)  # csv wins over json over parquet in one folder
    if not files:
        raise InputError(
            f"{root}: no events.csv found (expected a tells analysis folder, or a directory "
            "of per-video analysis folders each holding events.csv)"
        )
    frames = []
    for folder, f in sorted(files.items()):
        df = _normalise_tells(_read_table_file(f), f)
        rel = folder.relative_to(root).as_posix()
        df["video"] = root.name if rel == "." else rel
        frames.append(df)
    return _finish(pd.concat(frames, ignore_index=True))


def _read_table_file(path: Path) -> pd.DataFrame:
    suffix = path.suffix.lower()
    try:
        if suffix == ".json":
            data = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(data, dict):
                data = data.get("events")
            if not isinstance(data, list):
                raise InputError(
                    f"{path}: expected a JSON list of events or an object with an 'events' list"
                )
            return pd.DataFrame.from_records(data)
        if suffix == ".parquet":
            return pd.read_parquet(path)
        if suffix in (".xlsx", ".xlsm"):
            return _read_excel(path, header=0)
        return pd.read_csv(path)
    except InputError:
        raise
    except pd.errors.EmptyDataError:
        raise InputError(f"{path}: empty file (expected at least a header line)") from None
    except (ValueError, OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise InputError(f"{path}: not a readable events table ({_first_line(exc)})") from None


def _normalise_tells(df: pd.DataFrame, path: Path) -> pd.DataFrame:
    df = df.copy()
    df.columns = [str(c).strip() for c in df.columns]
    if "kind" not in df.columns:
        raise InputError(f"{path}: no 'kind' column (expected the tells event table columns)")
    has_frames = {"onset_frame", "offset_frame"} <= set(df.columns)
    has_times = {"onset_t", "offset_t"} <= set(df.columns)
    if not (has_frames or has_times):
        raise InputError(
            f"{path}: expected columns onset_frame and offset_frame (or onset_t and offset_t)"
        )
    df["kind"] = df["kind"].astype(str).str.strip().str.lower()
    if len(df) and not df["kind"].isin(["micro", "macro"]).any():
        raise InputError(f"{path}: no row has kind micro or macro")
    for c in ("onset_frame", "apex_frame", "offset_frame", "onset_t", "apex_t", "offset_t"):
        if c in df.columns:
            df[c] = _numeric(df[c], c, path)
    if "emotion" in df.columns:
        df["label"] = df["emotion"]
    return _finish(df)


# ---------------------------------------------------------------------------- CASME II


def read_casme2(path: Path) -> pd.DataFrame:
    """Read a CASME II coding sheet (every row a micro-expression)."""
    raw = _read_sheet(path, header=0)
    need = ["Subject", "Filename", "OnsetFrame", "ApexFrame", "OffsetFrame"]
    cols = _find_columns(raw, need + ["Action Units", "Estimated Emotion"], path, required=need)
    subject = raw[cols["Subject"]].map(_subject_code)
    out = pd.DataFrame(
        {
            "subject": subject,
            "video": [f"sub{s}/{str(f).strip()}" for s, f in zip(subject, raw[cols["Filename"]], strict=True)],
            "kind": "micro",
            "onset_frame": _numeric(raw[cols["OnsetFrame"]], "OnsetFrame", path),
            "apex_frame": pd.to_numeric(raw[cols["ApexFrame"]], errors="coerce"),
            "offset_frame": _numeric(raw[cols["OffsetFrame"]], "OffsetFrame", path),
        }
    )
    if "Action Units" in cols:
        out["aus"] = raw[cols["Action Units"]].astype("string").str.strip()
    if "Estimated Emotion" in cols:
        out["label"] = raw[cols["Estimated Emotion"]].astype("string").str.strip()
    return _finish(out)


def _subject_code(value) -> str:
    """CASME II subject number as two digits ("1", "01", "sub01" → "01")."""
    s = str(value).strip().lower().removeprefix("sub")
    try:
        return f"{int(float(s)):02d}"
    except ValueError:
        return s


# ---------------------------------------------------------------------------- CAS(ME)^2


def read_cas_me_2(path: Path) -> pd.DataFrame:
    """Read a CAS(ME)^2 annotation sheet (no header; see the module docstring)."""
    raw = _read_sheet(path, header=None)
    if raw.shape[1] < 8:
        raise InputError(
            f"{path}: CAS(ME)^2 sheet has {raw.shape[1]} columns, expected at least 8 (subject, "
            "clip, onset, apex, offset, AUs, valence, expression type, ...)"
        )
    # tolerate a header line someone added: drop leading rows whose onset is not a number
    while len(raw) and pd.isna(pd.to_numeric(raw.iloc[0, 2], errors="coerce")):
        raw = raw.iloc[1:]
    raw = raw.dropna(how="all").reset_index(drop=True)
    type_col = _find_type_column(raw, preferred=7)
    if type_col is None:
        raise InputError(
            f"{path}: no expression type column (expected macro-expression or "
            "micro-expression in column 8)"
        )
    onset = _numeric(raw[2], "onset (column 3)", path)
    apex = pd.to_numeric(raw[3], errors="coerce")
    offset = _numeric(raw[4], "offset (column 5)", path)
    apex = apex.where(apex > 0)
    unknown = offset <= 0
    offset = offset.where(~unknown, apex.fillna(onset))
    subject = raw[0].astype(str).str.strip()
    clip = raw[1].astype(str).str.strip()
    if raw.shape[1] >= 11 and raw[10].notna().any():
        paths = raw[10].astype("string")
        video = [
            _video_stem(p) if isinstance(p, str) and p.strip() else f"{s}_{c.split('_')[0]}"
            for p, s, c in zip(paths.fillna(""), subject, clip, strict=True)
        ]
    else:
        video = [f"{s}_{c.split('_')[0]}" for s, c in zip(subject, clip, strict=True)]
    out = pd.DataFrame(
        {
            "video": video,
            "subject": subject,
            "kind": raw[type_col].map(_kind_word),
            "onset_frame": onset,
            "apex_frame": apex,
            "offset_frame": offset,
            "aus": raw[5].astype("string").str.strip(),
            "offset_estimated": unknown.to_numpy(),
        }
    )
    if raw.shape[1] >= 9:
        out["label"] = raw[8].astype("string").str.strip()
    return _finish(out)


def _find_type_column(raw: pd.DataFrame, preferred: int) -> int | None:
    def is_type(col) -> bool:
        vals = raw[col].dropna().astype(str).str.lower()
        return len(vals) > 0 and vals.str.contains("macro|micro").mean() >= 0.9

    if preferred in raw.columns and is_type(preferred):
        return preferred
    for col in raw.columns:
        if is_type(col):
            return col
    return None


def _kind_word(value) -> str:
    """'Macro', 'macro-expression' → macro; 'Micro - 1/2', 'micro-expression' → micro."""
    s = str(value).strip().lower()
    if s.startswith("micro"):
        return "micro"
    if s.startswith("macro"):
        return "macro"
    return s


def _video_stem(path: str) -> str:
    name = path.strip().replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]
    return _VIDEO_EXT.sub("", name)


# --------------------------------------------------------------------- SAMM Long Videos


def read_samm_lv(path: Path) -> pd.DataFrame:
    """Read a SAMM Long Videos sheet (title lines, then the header row)."""
    raw = _read_sheet(path, header=None, dtype=str)
    header_row = None
    for i in range(min(len(raw), 40)):
        cells = {_key(v) for v in raw.iloc[i].tolist() if pd.notna(v)}
        if {"filename", "onset", "offset", "type"} <= cells:
            header_row = i
            break
    if header_row is None:
        raise InputError(
            f"{path}: no SAMM Long Videos header found (expected a row with Subject, Filename, "
            "Onset, Apex, Offset, Duration, Type in the first 40 lines)"
        )
    table = raw.iloc[header_row + 1 :].copy()
    table.columns = [str(v).strip() if pd.notna(v) else f"col{j}" for j, v in enumerate(raw.iloc[header_row])]
    table = table.dropna(how="all").reset_index(drop=True)
    need = ["Filename", "Onset", "Offset", "Type"]
    cols = _find_columns(
        table, ["Subject", "Filename", "Onset", "Apex", "Offset", "Type", "Action Units"], path,
        required=need,
    )
    filename = table[cols["Filename"]].astype(str).str.strip()
    apex = (
        pd.to_numeric(table[cols["Apex"]], errors="coerce") if "Apex" in cols else np.nan
    )
    out = pd.DataFrame(
        {
            "video": filename.map(lambda f: "_".join(f.split("_")[:2])),
            "kind": table[cols["Type"]].map(_kind_word),
            "onset_frame": _numeric(table[cols["Onset"]], "Onset", path),
            "apex_frame": apex,
            "offset_frame": _numeric(table[cols["Offset"]], "Offset", path),
        }
    )
    out["apex_frame"] = out["apex_frame"].where(out["apex_frame"] >= 0)
    if "Subject" in cols:
        out["subject"] = table[cols["Subject"]].astype(str).str.strip()
    if "Action Units" in cols:
        out["aus"] = table[cols["Action Units"]].astype("string").str.strip()
    return _finish(out)


# ------------------------------------------------------------------------------ helpers


def _read_sheet(path: Path, header, dtype=None) -> pd.DataFrame:
    """A spreadsheet (xlsx) or CSV as a DataFrame; first sheet of a workbook."""
    suffix = path.suffix.lower()
    try:
        if suffix in (".xlsx", ".xlsm"):
            return _read_excel(path, header=header, dtype=dtype)
        if suffix == ".xls":
            raise InputError(f"{path}: old .xls workbooks are not read: save it as .xlsx or .csv")
        return pd.read_csv(path, header=header, dtype=dtype, skip_blank_lines=True,
                           engine="python", sep=None)
    except InputError:
        raise
    except pd.errors.EmptyDataError:
        raise InputError(f"{path}: empty file") from None
    except (ValueError, OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise InputError(f"{path}: not a readable sheet ({_first_line(exc)})") from None


def _read_excel(path: Path, header, dtype=None) -> pd.DataFrame:
    try:
        import openpyxl  # noqa: F401
    except ImportError:
        raise InputError(
            f"{path}: reading .xlsx needs openpyxl (pip install openpyxl), or save the sheet "
            "as .csv"
        ) from None
    try:
        return pd.read_excel(path, header=header, dtype=dtype, engine="openpyxl")
    except Exception as exc:  # openpyxl raises many types for a corrupt workbook
        raise InputError(f"{path}: not a readable .xlsx workbook ({_first_line(exc)})") from None


def _key(name) -> str:
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


def _find_columns(
    df: pd.DataFrame, wanted: list[str], path: Path, required: list[str]
) -> dict[str, str]:
    """Map wanted column names to the frame's columns, ignoring case, spaces and
    punctuation; raises :class:`InputError` naming the required ones that are missing."""
    have = {_key(c): c for c in df.columns}
    found = {w: have[_key(w)] for w in wanted if _key(w) in have}
    missing = [w for w in required if w not in found]
    if missing:
        raise InputError(
            f"{path}: missing column(s) {', '.join(missing)} (expected {', '.join(wanted)})"
        )
    return found


def _numeric(series: pd.Series, name: str, path: Path) -> pd.Series:
    values = pd.to_numeric(series, errors="coerce")
    bad = values.isna() & series.notna()
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(
            f"{path}: {name} must be a number, got {series.iloc[i]!r} in data row {i + 1}"
        )
    return values


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def normalise_emotion(label) -> str | None:
    """Map a dataset emotion word to the contract's name; None for others/repression/unknown."""
    if label is None or (isinstance(label, float) and np.isnan(label)) or label is pd.NA:
        return None
    return EMOTION_NAMES.get(str(label).strip().lower())


def _finish(df: pd.DataFrame) -> pd.DataFrame:
    """Add missing columns, derive emotion from label, put columns in :data:`COLUMNS` order
    (extra columns follow)."""
    df = df.copy()
    for c in COLUMNS:
        if c not in df.columns:
            df[c] = False if c == "offset_estimated" else np.nan
    df["video"] = df["video"].fillna("").astype(str)
    df["offset_estimated"] = df["offset_estimated"].fillna(False).astype(bool)
    if df["emotion"].isna().all() and df["label"].notna().any():
        df["emotion"] = df["label"].map(normalise_emotion)
    if "duration_s" in df.columns and df["duration_s"].isna().all():
        dur = df["offset_t"] - df["onset_t"]
        df["duration_s"] = dur
    extra = [c for c in df.columns if c not in COLUMNS]
    return df[COLUMNS + extra].reset_index(drop=True)


def check_video_overlap(truth: pd.DataFrame, pred: pd.DataFrame) -> None:
    """Raise :class:`InputError` when both tables name videos but none in common: nearly always
    a naming mismatch, which would otherwise score as all misses and false positives."""
    t = set(truth["video"]) - {""}
    p = set(pred["video"]) - {""}
    if t and p and not (t & p):
        raise InputError(
            f"truth and predictions share no video name (truth e.g. {sorted(t)[0]!r}, "
            f"predictions e.g. {sorted(p)[0]!r}): name prediction folders or the 'video' "
            "column as the truth does"
        )
