"""Columnar accumulation of per-frame rows and atomic CSV/Parquet/JSON writing.

Rows go into fixed-size numpy blocks (not lists of dicts), so a long video costs a few
bytes per value. Files are written to a ``.partial`` name and renamed, so a crash never
leaves a half-written file that looks complete.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

from tells.errors import OutputError

_BLOCK = 4096
_INT_COLUMNS = {"frame", "face_id", "success", "q_small", "q_pose", "q_blur", "q_partial"}


class FrameTable:
    """Append rows (dicts of numbers) with a fixed column order; ``to_frame()`` at the end."""

    def __init__(self, columns: list[str]):
        self.columns = list(columns)
        self._index = {c: i for i, c in enumerate(self.columns)}
        self._blocks: list[np.ndarray] = []
        self._n_in_block = _BLOCK
        self.rows = 0

    def append(self, row: dict[str, float]) -> None:
        if self._n_in_block == _BLOCK:
            self._blocks.append(np.full((_BLOCK, len(self.columns)), np.nan))
            self._n_in_block = 0
        block = self._blocks[-1][self._n_in_block]
        for key, value in row.items():
            block[self._index[key]] = value
        self._n_in_block += 1
        self.rows += 1

    def to_frame(self, start: int = 0) -> pd.DataFrame:
        """The rows from ``start`` on (index from 0), as ``to_frame().iloc[start:]`` would
        give them after ``reset_index(drop=True)``; only those rows are copied (a block holds
        ``_BLOCK`` rows whatever is filled: the live spotter converts a few hundred rows of
        one block on every detection)."""
        start = min(max(start, 0), self.rows)
        parts = [blk[max(start - i * _BLOCK, 0):self.rows - i * _BLOCK]
                 for i, blk in enumerate(self._blocks)
                 if (i + 1) * _BLOCK > start and i * _BLOCK < self.rows]
        data = np.concatenate(parts) if parts else np.empty((0, len(self.columns)))
        df = pd.DataFrame(data, columns=self.columns)
        for c in self.columns:
            if c in _INT_COLUMNS:
                df[c] = df[c].fillna(-1).astype(np.int64) if c == "face_id" else (
                    df[c].fillna(0).astype(np.int64))
        return df


def read_csv_rows(path: str | os.PathLike, columns: list[str], shown: str = "") -> list[dict]:
    """The rows of a small CSV that must have ``columns`` (a header line, then one row a line);
    an unreadable file, an empty one or one missing a column is one :class:`InputError` line
    (``shown`` is how the expected columns are named in it, default ``columns``)."""
    import csv

    from tells.errors import InputError

    try:
        with open(path, newline="") as fh:
            rows = list(csv.DictReader(fh))
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from None
    if not rows or not set(columns) <= set(rows[0]):
        raise InputError(f"{path}: expected columns {shown or ', '.join(columns)}")
    return rows


def ensure_writable_dir(path: str | os.PathLike) -> Path:
    """Create ``path`` if needed and prove it is writable, or raise :class:`OutputError`."""
    p = Path(path)
    try:
        p.mkdir(parents=True, exist_ok=True)
        probe = p / ".tells-write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise OutputError(f"cannot write to output directory {p} ({exc.strerror or exc})") from None
    return p


def _atomic(path: Path, write) -> None:
    tmp = path.with_name(path.name + ".partial")
    try:
        write(tmp)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise OutputError(f"cannot write {path} ({exc.strerror or exc})") from None


def write_csv(df: pd.DataFrame, path: Path) -> None:
    _atomic(path, lambda tmp: df.to_csv(tmp, index=False, float_format="%.6g"))


def write_parquet(df: pd.DataFrame, path: Path) -> None:
    _atomic(path, lambda tmp: df.to_parquet(tmp, index=False))


def write_json(obj, path: Path) -> None:
    def dump(tmp: Path) -> None:
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(obj, fh, indent=2, default=_default)
            fh.write("\n")

    _atomic(path, dump)


def _default(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


SERIES_BLOCK = 2048


class Series:
    """Growing (frame, features) arrays in fixed blocks of :data:`SERIES_BLOCK` rows (bounded
    overhead, no per-frame Python objects): what a stage records for after the last frame."""

    def __init__(self, width: int):
        self.width = width
        self.frames: list[np.ndarray] = []
        self.values: list[np.ndarray] = []
        self.n = 0

    def append(self, frame: int, feats: np.ndarray) -> None:
        k = self.n % SERIES_BLOCK
        if k == 0:
            self.frames.append(np.zeros(SERIES_BLOCK, np.int64))
            self.values.append(np.zeros((SERIES_BLOCK, self.width), np.float32))
        self.frames[-1][k] = frame
        self.values[-1][k] = feats
        self.n += 1

    def last(self) -> tuple[int, np.ndarray] | None:
        """``(frame, values)`` of the newest row (a copy), or ``None`` when empty."""
        if not self.n:
            return None
        k = (self.n - 1) % SERIES_BLOCK
        return int(self.frames[-1][k]), self.values[-1][k].copy()

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        if not self.n:
            return np.zeros(0, np.int64), np.zeros((0, self.width), np.float32)
        return np.concatenate(self.frames)[: self.n], np.concatenate(self.values)[: self.n]
