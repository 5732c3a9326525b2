"""Turn the ``INPUTS`` of ``tells batch`` into a sorted list of video files.

An input is a file (taken as named, whatever its extension, so a mislabelled file is
reported rather than silently dropped), a directory (searched recursively for files with a
video extension, hidden files and folders skipped) or a glob pattern (``*``, ``?``, ``[…]``;
``**`` crosses folders). Imports only :mod:`tells.io` and :mod:`tells.errors`.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from tells.errors import InputError
from tells.io.video import VIDEO_EXTENSIONS

_GLOB_CHARS = frozenset("*?[")


def is_video_name(path: Path) -> bool:
    """Whether ``path`` has one of the video extensions tells reads (case-insensitive)."""
    return path.suffix.lower() in VIDEO_EXTENSIONS


def _walk(folder: Path) -> Iterator[Path]:
    for root, dirs, files in os.walk(folder, followlinks=False):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in files:
            p = Path(root) / name
            if not name.startswith(".") and is_video_name(p) and p.is_file():
                yield p


def _expand(item: str) -> Iterator[Path]:
    if any(c in _GLOB_CHARS for c in item) and not Path(item).exists():
        matches = sorted(glob.glob(os.path.expanduser(item), recursive=True))
        if not matches:
            raise InputError(f"{item}: the pattern matches no file")
        for m in map(Path, matches):
            if m.is_dir():
                yield from _walk(m)
            elif is_video_name(m):
                yield m
        return
    p = Path(item).expanduser()
    if p.is_dir():
        yield from _walk(p)
    elif p.exists():
        yield p
    else:
        raise InputError(f"{p}: no such file or directory")


def discover(inputs: Iterable[str | os.PathLike]) -> list[Path]:
    """Expand files, directories and globs into absolute file paths.

    Parameters
    ----------
    inputs : what the user named on the command line.

    Returns
    -------
    list of Path
        Absolute paths, each once, sorted.

    Raises
    ------
    InputError
        A named path does not exist, a pattern matches nothing, or nothing at all was found.

    Examples
    --------
    >>> discover(["calls/", "extra/*.mov"])          # doctest: +SKIP
    [PosixPath('/home/me/calls/2024/a.mp4'), PosixPath('/home/me/extra/b.mov')]
    """
    items = [os.fspath(i) for i in inputs]
    if not items:
        raise InputError("no inputs given (name video files, folders or glob patterns)")
    found = {p.resolve() for item in items for p in _expand(item)}
    if not found:
        raise InputError(f"no video files found in {', '.join(items)} "
                         f"(looked for {', '.join(sorted(VIDEO_EXTENSIONS))})")
    return sorted(found)
