"""Transcripts: WebVTT and SRT files as video-call tools (Teams, Zoom, Meet, Webex) export them.

Speaker names are kept: WebVTT voice tags (``<v Jane Doe>text</v>``) and ``Name: text``
prefixes as Zoom writes them. Timestamps may carry hours or not, cues may span several lines,
files may start with a byte-order mark and end lines with CRLF. A malformed file raises
:class:`tells.errors.InputError` with the file name and line number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from tells.errors import InputError

__all__ = ["Cue", "read_transcript", "parse_webvtt", "parse_srt", "cues_around", "speaker_at"]


@dataclass(frozen=True)
class Cue:
    """One transcript cue: ``start``/``end`` in seconds, ``speaker`` ('' when unknown)."""

    start: float
    end: float
    text: str
    speaker: str = ""

    def to_dict(self) -> dict:
        return {"start": self.start, "end": self.end, "speaker": self.speaker, "text": self.text}


# 01:02:03.456, 02:03.456, 01:02:03,456 (SRT); a few tools drop the milliseconds
_TS = r"(?:(\d+):)?([0-5]?\d):([0-5]\d)(?:[.,](\d{1,3}))?"
_TIMING = re.compile(rf"^\s*{_TS}\s*-->\s*{_TS}(?:\s+.*)?$")
_VOICE = re.compile(r"<v(?:\.[\w.-]+)?(?:\s+([^>]*))?>", re.IGNORECASE)
_TAG = re.compile(r"</?[^>]*>")
_PREFIX = re.compile(r"^\s*(?:-\s*)?([^\W\d][\w .'’()\-&@]{0,48}?)\s*:\s+(\S.*)$")
_ENTITIES = {"&amp;": "&", "&lt;": "<", "&gt;": ">", "&nbsp;": " ", "&lrm;": "", "&rlm;": ""}


def read_transcript(path: str | Path) -> list[Cue]:
    """Read a WebVTT (``.vtt``) or SRT (``.srt``) transcript.

    Parameters
    ----------
    path
        The file. The format is taken from the content (``WEBVTT`` header) and the extension.

    Returns
    -------
    list of Cue
        Cues in time order.

    Raises
    ------
    InputError
        The file is missing, not text, or not a valid WebVTT/SRT file (message names the line).

    Examples
    --------
    >>> cues = read_transcript("call.vtt")  # doctest: +SKIP
    >>> cues[0].speaker, cues[0].text  # doctest: +SKIP
    ('Jane Doe', 'Thanks for joining.')
    """
    path = Path(path)
    text = _read_text(path)
    first = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    if first.startswith("WEBVTT") or (path.suffix.lower() == ".vtt" and not _looks_srt(text)):
        cues = parse_webvtt(text, source=path.name)
    else:
        cues = parse_srt(text, source=path.name)
    return sorted(cues, key=lambda c: (c.start, c.end))


def _looks_srt(text: str) -> bool:
    return bool(re.search(r"\d\d:\d\d:\d\d,\d{3}\s*-->", text))


def _read_text(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"transcript not found: {path}") from None
    except IsADirectoryError:
        raise InputError(f"transcript is a directory, not a file: {path}") from None
    except OSError as exc:
        raise InputError(f"cannot read transcript {path}: {exc.strerror}") from None
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError:
            raise InputError(f"{path.name}: not a readable UTF-16 text file") from None
    if b"\x00" in raw[:4096]:
        raise InputError(f"{path.name}: not a text transcript (binary data); give a .vtt or .srt")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")  # old Windows SRT files


def _seconds(groups: tuple) -> float:
    h, m, s, frac = groups
    frac = (frac or "0").ljust(3, "0")
    return int(h or 0) * 3600 + int(m) * 60 + int(s) + int(frac) / 1000.0


def _timing(line: str, source: str, lineno: int, fmt: str) -> tuple[float, float]:
    m = _TIMING.match(line)
    example = "00:01:02.500 --> 00:01:04.000" if fmt == "WebVTT" else "00:01:02,500 --> 00:01:04,000"
    if not m:
        raise InputError(
            f"{source} line {lineno}: expected a {fmt} time range like {example}, "
            f"got {line.strip()[:60]!r}"
        )
    g = m.groups()
    start, end = _seconds(g[:4]), _seconds(g[4:])
    if end < start:
        raise InputError(f"{source} line {lineno}: cue ends before it starts ({line.strip()})")
    return start, end


def _clean(text: str) -> str:
    text = _TAG.sub("", text)
    for k, v in _ENTITIES.items():
        text = text.replace(k, v)
    return re.sub(r"\s+", " ", text).strip()


def _payload_cues(start: float, end: float, lines: list[str]) -> list[Cue]:
    """Turn a cue's text lines into cues, one per speaker turn inside the cue."""
    turns: list[tuple[str, list[str]]] = []
    speaker = ""
    for line in lines:
        voice = _VOICE.search(line)
        if voice:
            speaker = _clean(voice.group(1) or "")
            # several voices on one line: split at each voice tag
            parts = _VOICE.split(line)
            # parts = [before, name1, text1, name2, text2, ...]
            if _clean(parts[0]):
                _append(turns, speaker if not turns else turns[-1][0], _clean(parts[0]))
            for i in range(1, len(parts), 2):
                speaker = _clean(parts[i] or "")
                _append(turns, speaker, _clean(parts[i + 1]))
            continue
        text = _clean(line)
        if not text:
            continue
        prefix = _PREFIX.match(text)
        if prefix and _plausible_name(prefix.group(1)):
            speaker = prefix.group(1).strip()
            text = prefix.group(2).strip()
        _append(turns, speaker, text)
    return [Cue(start, end, " ".join(t), s) for s, t in turns if " ".join(t).strip()]


def _append(turns: list[tuple[str, list[str]]], speaker: str, text: str) -> None:
    if not text:
        return
    if turns and turns[-1][0] == speaker:
        turns[-1][1].append(text)
    else:
        turns.append((speaker, [text]))


def _plausible_name(name: str) -> bool:
    words = name.split()
    if not 1 <= len(words) <= 5 or len(name) > 48:
        return False
    if name.lower() in {"note", "http", "https", "warning", "ps", "re", "question", "answer"}:
        return False
    return not name.lower().startswith(("http", "www"))


def parse_webvtt(text: str, source: str = "transcript.vtt") -> list[Cue]:
    """Parse WebVTT text. ``source`` names the file in error messages."""
    lines = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    first = next((i for i, ln in enumerate(lines) if ln.strip()), None)
    if first is None:
        raise InputError(f"{source}: the transcript is empty")
    if not lines[first].strip().startswith("WEBVTT"):
        raise InputError(
            f"{source} line {first + 1}: a WebVTT file starts with 'WEBVTT', "
            f"got {lines[first].strip()[:60]!r}"
        )
    cues: list[Cue] = []
    i = first + 1
    while i < len(lines) and lines[i].strip():  # header lines up to the first blank line
        i += 1
    n = len(lines)
    while i < n:
        if not lines[i].strip():
            i += 1
            continue
        block_start = i
        block = []
        while i < n and lines[i].strip():
            block.append(lines[i])
            i += 1
        head = block[0].strip()
        if head.startswith(("NOTE", "STYLE", "REGION")) and "-->" not in head:
            continue
        if "-->" in head:
            t_idx = 0
        elif len(block) > 1 and "-->" in block[1]:
            t_idx = 1  # cue identifier line first
        else:
            raise InputError(
                f"{source} line {block_start + 1}: expected a cue time range like "
                f"00:01:02.500 --> 00:01:04.000, got {head[:60]!r}"
            )
        start, end = _timing(block[t_idx], source, block_start + t_idx + 1, "WebVTT")
        cues.extend(_payload_cues(start, end, block[t_idx + 1 :]))
    if not cues:
        raise InputError(f"{source}: no cues found (is it a WebVTT transcript?)")
    return cues


def parse_srt(text: str, source: str = "transcript.srt") -> list[Cue]:
    """Parse SRT (SubRip) text. ``source`` names the file in error messages."""
    lines = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    cues: list[Cue] = []
    i, n = 0, len(lines)
    while i < n:
        if not lines[i].strip():
            i += 1
            continue
        block_start = i
        block = []
        while i < n and lines[i].strip():
            block.append(lines[i])
            i += 1
        if "-->" in block[0]:
            t_idx = 0  # some exports drop the counter
        elif len(block) > 1 and block[0].strip().isdigit():
            t_idx = 1
        elif block[0].strip().isdigit():
            raise InputError(
                f"{source} line {block_start + 2}: expected a time range like "
                f"00:01:02,500 --> 00:01:04,000 after cue number {block[0].strip()}"
            )
        else:
            raise InputError(
                f"{source} line {block_start + 1}: expected a cue number or a time range like "
                f"00:01:02,500 --> 00:01:04,000, got {block[0].strip()[:60]!r}"
            )
        start, end = _timing(block[t_idx], source, block_start + t_idx + 1, "SRT")
        cues.extend(_payload_cues(start, end, block[t_idx + 1 :]))
    if not cues:
        raise InputError(f"{source}: no cues found (is it an SRT or WebVTT transcript?)")
    return cues


def cues_around(cues: list[Cue], t: float, before: float = 4.0, after: float = 2.0,
                limit: int = 3) -> list[Cue]:
    """Cues overlapping ``[t - before, t + after]``, the ones nearest ``t`` first kept."""
    near = [c for c in cues if c.end >= t - before and c.start <= t + after]
    if len(near) > limit:
        near = sorted(near, key=lambda c: _distance(c, t))[:limit]
    return sorted(near, key=lambda c: c.start)


def speaker_at(cues: list[Cue], t: float, tolerance: float = 1.0) -> str:
    """Who was speaking at ``t``: the speaker of a cue containing ``t`` ('' when that cue
    names nobody), else of the nearest cue within ``tolerance`` seconds, else ''."""
    containing = [c for c in cues if c.start <= t <= c.end]
    if containing:
        named = [c.speaker for c in containing if c.speaker]
        return named[0] if named else ""
    near = [c for c in cues if _distance(c, t) <= tolerance and c.speaker]
    return min(near, key=lambda c: _distance(c, t)).speaker if near else ""


def _distance(c: Cue, t: float) -> float:
    if c.start <= t <= c.end:
        return 0.0
    return min(abs(c.start - t), abs(c.end - t))
