"""Result folders of a batch: names, staging, and the rename that publishes them.

Every result is first written complete into ``OUT/.tells-staging/`` (the same filesystem as
its final place) and then renamed to ``OUT/<name>/``, so a folder under OUT is either a whole
``tells analyze`` result or absent: a crash, a killed worker or a full disk never leaves a half
result that looks complete. Leftovers in the staging folder are removed by the next batch.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

from tells.batch.catalog import CATALOG_NAME
from tells.errors import OutputError

STAGING_NAME = ".tells-staging"
LOCK_NAME = ".tells-batch.lock"
_RESERVED = {CATALOG_NAME, f"{CATALOG_NAME}-journal", STAGING_NAME, LOCK_NAME}


def staging_dir(out: Path) -> Path:
    """``OUT/.tells-staging``, created if missing."""
    p = out / STAGING_NAME
    p.mkdir(exist_ok=True)
    return p


def clear_staging(out: Path) -> None:
    """Remove what earlier (crashed or killed) batches left half-written."""
    shutil.rmtree(out / STAGING_NAME, ignore_errors=True)


def folder_name(path: Path, content_hash: str, taken: set[str], out: Path) -> str:
    """The result folder name for an input: its file stem, or ``stem-<hash prefix>`` when the
    stem is already used by another input, reserved, or names something else already in OUT.

    Parameters
    ----------
    path : the input file.
    content_hash : its SHA-256.
    taken : names already given to other inputs of this output folder.
    out : the batch output folder.
    """
    stem = path.stem or path.name
    if stem not in taken and stem not in _RESERVED and not (out / stem).exists():
        return stem
    return f"{stem}-{content_hash[:10]}"


def stage(out: Path, content_hash: str) -> Path:
    """A fresh, empty folder in the staging area for one result."""
    p = staging_dir(out) / f"{content_hash[:16]}-{uuid.uuid4().hex[:8]}"
    p.mkdir()
    return p


def publish(out: Path, staged: Path, name: str) -> Path:
    """Move a complete staged result to ``OUT/name``, replacing an older result there.

    The old folder is first renamed into the staging area, then the new one into place; at
    no moment does ``OUT/name`` hold a mix of the two.

    Raises
    ------
    OutputError
        A rename failed (permissions, staged folder vanished).
    """
    final = out / name
    try:
        if final.exists():
            old = staging_dir(out) / f"replaced-{uuid.uuid4().hex[:8]}"
            os.replace(final, old)
            os.replace(staged, final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(staged, final)
    except OSError as exc:
        raise OutputError(f"cannot move the result into {final} ({exc.strerror or exc})") from None
    return final
