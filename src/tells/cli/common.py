"""Helpers shared by the command modules: JSON output, progress display, the items an
evaluation could not read."""

from __future__ import annotations

import json
import sys
import time
from contextlib import contextmanager
from typing import Any


def print_json(obj: Any) -> None:
    json.dump(obj, sys.stdout, indent=2, default=_json_default)
    sys.stdout.write("\n")


def _json_default(o: Any):
    import numpy as np

    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    return str(o)


#: failures an evaluation's summary quotes (the rest are in its per-item file with --out)
ERROR_EXAMPLES = 3


def failures(lines: list[str]) -> dict:
    """``{"errors": n, "error_examples": [first few]}`` for the items an evaluation could not
    read (each line ``item: why``); the examples only when there are failures."""
    return {"errors": len(lines),
            **({"error_examples": lines[:ERROR_EXAMPLES]} if lines else {})}


def print_failures(summary: dict, verb: str, listed_in: str) -> None:
    """The quoted failures of a summary made with :func:`failures`, then how many more
    ``listed_in`` (the per-item file) names."""
    shown = summary.get("error_examples", [])
    for line in shown:
        print(f"  {verb}: {line}")
    more = summary.get("errors", 0) - len(shown)
    if more > 0:
        print(f"  … and {more} more ({listed_in} with --out lists each)")


def add_output_flags(p) -> None:
    p.add_argument("--quiet", "-q", action="store_true", help="no progress output")
    p.add_argument("--json", action="store_true", help="machine-readable JSON on stdout")


@contextmanager
def progress(description: str, total: int | None, enabled: bool = True, unit: str = "frames"):
    """A progress bar on stderr; yields ``advance(n=1)``. Silent when disabled or not a TTY
    and no total is known."""
    if not enabled:
        yield lambda n=1, **kw: None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    console = Console(stderr=True)
    columns = [
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeRemainingColumn(),
    ]
    with Progress(*columns, console=console, transient=False) as bar:
        task = bar.add_task(description, total=total, rate="")
        pending = [0, time.monotonic()]
        last_fields: dict = {}

        def advance(n: int = 1, **fields):  # redraw at most ten times a second
            pending[0] += n
            last_fields.update(fields)
            now = time.monotonic()
            if now - pending[1] >= 0.1:
                bar.update(task, advance=pending[0], **last_fields)
                pending[0], pending[1] = 0, now
                last_fields.clear()

        yield advance
        if pending[0] or last_fields:
            bar.update(task, advance=pending[0], **last_fields)
