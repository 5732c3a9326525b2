"""Which inputs a batch must analyse: identify each file by content, skip what is finished.

A file whose path, size and modification time match its catalogue row keeps that row's hash
(no re-reading); others are hashed. Files with the same content count once. Content that a
previous run finished (``done``/``no_face`` with its folder intact, or ``failed``) is skipped;
the rest is marked ``queued`` with its result folder name fixed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tells.batch.catalog import FINAL_STATUSES, RESULT_STATUSES, Catalog, Entry, utc_now
from tells.batch.hashing import content_hash
from tells.batch.outputs import folder_name
from tells.errors import InputError


@dataclass
class Input:
    """A file to batch, with its content hash and the stat that hash belongs to."""

    path: Path
    hash: str
    size: int
    mtime_ns: int


def identify(paths: list[Path], known: dict[str, Entry],
             problems: list[dict]) -> tuple[list[Input], int]:
    """Name each file by content, keeping the first path of each content.

    Parameters
    ----------
    paths : discovered files.
    known : catalogue rows by path (their hash is reused when size and mtime still match).
    problems : a file that cannot be read is appended here (it has no content to name a
        catalogue row by).

    Returns
    -------
    (list of Input, int)
        The distinct inputs and the number of files that repeated another's content.
    """
    unique: dict[str, Input] = {}
    duplicates = 0
    for p in paths:
        try:
            st = p.stat()
            row = known.get(str(p))
            if row is not None and (row.size_bytes, row.mtime_ns) == (st.st_size, st.st_mtime_ns):
                h = row.hash
            else:
                h = content_hash(p)
        except (OSError, InputError) as exc:
            problems.append({"path": str(p), "status": "failed",
                             "error": str(exc) if isinstance(exc, InputError)
                             else f"{p}: cannot read ({exc.strerror or exc})"})
            continue
        if h in unique:
            duplicates += 1
        else:
            unique[h] = Input(p, h, st.st_size, st.st_mtime_ns)
    return list(unique.values()), duplicates


def finished(entry: Entry | None, out: Path) -> bool:
    """Whether a row needs no more work: a final status, and its folder still there."""
    if entry is None or entry.status not in FINAL_STATUSES:
        return False
    return entry.status not in RESULT_STATUSES or (out / entry.output / "run.json").is_file()


def estimate_frames(path: Path) -> int:
    """Frames the container says it holds (0 when unknown or unreadable): for time left."""
    from tells.io.video import open_video

    try:
        with open_video(path) as v:
            info = v.info
    except InputError:
        return 0
    if info.frame_count:
        return int(info.frame_count)
    return int(round((info.duration_s or 0) * (info.fps or 0)))


def plan(inputs: list[Input], rows: dict[str, Entry], catalog: Catalog,
         out: Path) -> tuple[list[Entry], list[Entry]]:
    """Split inputs into work and skips, and record that in the catalogue.

    Parameters
    ----------
    inputs : distinct inputs from :func:`identify`.
    rows : the catalogue's rows by hash.
    catalog : where the queued rows (and refreshed paths of skipped ones) are saved.
    out : the batch output folder.

    Returns
    -------
    (list of Entry, list of Entry)
        Rows to analyse, now ``queued``; rows finished by an earlier run.
    """
    taken = {e.output for e in rows.values()}
    todo, changed, skipped = [], [], []
    for item in inputs:
        entry = rows.get(item.hash)
        if finished(entry, out):
            skipped.append(entry)
            if entry.path != str(item.path):
                entry.path, entry.size_bytes, entry.mtime_ns = (str(item.path), item.size,
                                                                item.mtime_ns)
                changed.append(entry)
            continue
        if entry is None:
            name = folder_name(item.path, item.hash, taken, out)
            taken.add(name)
            entry = Entry(hash=item.hash, output=name, attempts=0)
        entry.path, entry.size_bytes, entry.mtime_ns = str(item.path), item.size, item.mtime_ns
        entry.status, entry.error, entry.queued_at = "queued", None, utc_now()
        entry.started_at = entry.finished_at = entry.worker = None
        todo.append(entry)
    catalog.save(*todo, *changed)
    return todo, skipped


