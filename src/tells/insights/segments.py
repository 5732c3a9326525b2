"""Agenda segments: a CSV of ``start,end,label`` rows marking parts of a call ("intro",
"demo", "pricing"). Times are seconds (``75.5``) or clock times (``1:15``, ``00:01:15.5``,
``01:02:03``). A header row is optional; with one, columns may come in any order and extra
columns are ignored. Bad rows raise :class:`tells.errors.InputError` naming the line.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

from tells.errors import InputError

__all__ = ["Segment", "parse_time", "read_segments", "segment_of"]

_CLOCK = re.compile(r"^(?:(\d+):)?(\d{1,2}):(\d{1,2}(?:[.,]\d+)?)$")


@dataclass(frozen=True)
class Segment:
    """A labelled span of the call, ``start <= t < end`` in seconds."""

    start: float
    end: float
    label: str

    def contains(self, t: float) -> bool:
        return self.start <= t < self.end

    def to_dict(self) -> dict:
        return {"label": self.label, "start": self.start, "end": self.end}


def parse_time(value: str) -> float:
    """Seconds from ``"75.5"``, ``"1:15"``, ``"00:01:15.5"`` or ``"1:02:03"``.

    Raises
    ------
    ValueError
        ``value`` is not a time.

    Examples
    --------
    >>> parse_time("01:02:03.5")
    3723.5
    >>> parse_time("90")
    90.0
    """
    s = value.strip()
    if not s:
        raise ValueError("empty time")
    m = _CLOCK.match(s)
    if m:
        h, mnt, sec = m.groups()
        if int(mnt) >= 60 or float(sec.replace(",", ".")) >= 60:
            raise ValueError(f"not a clock time: {value!r}")
        return int(h or 0) * 3600 + int(mnt) * 60 + float(sec.replace(",", "."))
    try:
        t = float(s)
    except ValueError:
        raise ValueError(f"not a time: {value!r}") from None
    if t != t or t in (float("inf"), float("-inf")):
        raise ValueError(f"not a time: {value!r}")
    if t < 0:
        raise ValueError(f"negative time: {value!r}")
    return t


def read_segments(path: str | Path) -> list[Segment]:
    """Read a segments CSV (``start,end,label``).

    Returns
    -------
    list of Segment
        In start-time order. Segments may overlap (an event then counts in each).

    Raises
    ------
    InputError
        Missing file, wrong columns, a bad time, ``end <= start`` or an empty label; the
        message names the line.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"segments file not found: {path}") from None
    except OSError as exc:
        raise InputError(f"cannot read segments file {path}: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")
    name = path.name
    rows = list(csv.reader(io.StringIO(text, newline="")))
    numbered = [(i + 1, r) for i, r in enumerate(rows) if any(c.strip() for c in r)]
    numbered = [(i, r) for i, r in numbered if not r[0].lstrip().startswith("#")]
    if not numbered:
        raise InputError(f"{name}: no segments (expected rows of start,end,label)")
    cols = {"start": 0, "end": 1, "label": 2}
    first_line, first = numbered[0]
    header = [c.strip().lower() for c in first]
    if not _is_time(first[0]):
        missing = [k for k in cols if k not in header]
        if missing:
            raise InputError(
                f"{name} line {first_line}: expected a header start,end,label or a row like "
                f"0:00,2:30,intro; missing column(s) {', '.join(missing)}"
            )
        cols = {k: header.index(k) for k in cols}
        numbered = numbered[1:]
    segments = []
    for lineno, row in numbered:
        if len(row) <= max(cols.values()):
            raise InputError(
                f"{name} line {lineno}: expected start,end,label, got {','.join(row)[:60]!r}"
            )
        try:
            start = parse_time(row[cols["start"]])
            end = parse_time(row[cols["end"]])
        except ValueError as exc:
            raise InputError(f"{name} line {lineno}: {exc} (use seconds or hh:mm:ss)") from None
        label = row[cols["label"]].strip()
        if end <= start:
            raise InputError(f"{name} line {lineno}: segment ends before it starts ({label!r})")
        if not label:
            raise InputError(f"{name} line {lineno}: empty label")
        segments.append(Segment(start, end, label))
    if not segments:
        raise InputError(f"{name}: no segments after the header")
    return sorted(segments, key=lambda s: (s.start, s.end))


def _is_time(value: str) -> bool:
    try:
        parse_time(value)
    except ValueError:
        return False
    return True


def segment_of(segments: list[Segment], t: float) -> Segment | None:
    """The first segment containing ``t``, or None."""
    for s in segments:
        if s.contains(t):
            return s
    return None
