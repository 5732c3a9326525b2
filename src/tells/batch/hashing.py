"""Content identity of an input: the SHA-256 of its bytes.

A batch names each input by what it holds, not where it lies, so a renamed or moved recording
is still recognised as finished, and a re-recorded file under an old name is analysed again.
"""

from __future__ import annotations

import os
from pathlib import Path

from tells.errors import InputError
from tells.io.provision import sha256_file


def content_hash(path: str | os.PathLike) -> str:
    """SHA-256 of a file's bytes as 64 hex digits.

    Raises
    ------
    InputError
        The file cannot be read.

    Examples
    --------
    >>> content_hash("call.mp4")[:12]                # doctest: +SKIP
    '9f2c0a51d3e4'
    """
    p = Path(path)
    try:
        return sha256_file(p)
    except OSError as exc:
        raise InputError(f"{p}: cannot read ({exc.strerror or exc})") from None

