"""``tells batch INPUTS… -o OUT`` (many videos, all cores or a Dask cluster) and
``tells batch status OUT`` (the catalogue). The work itself is :mod:`tells.batch`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tells.cli.common import add_output_flags, print_json

USAGE = ("tells batch INPUTS... -o OUT [--workers N] [--scheduler ADDRESS] [--retries R] "
         "[--ship-inputs] [--quiet] [--json]\n"
         "       tells batch status OUT [--json]")

#: catalogue columns ``tells batch status`` prints, with their headings
STATUS_COLUMNS = [("status", "status"), ("faces", "faces"), ("events", "events"),
                  ("frames", "frames"), ("duration_s", "media s"), ("analysis_s", "work s"),
                  ("attempts", "tries"), ("output", "folder"), ("path", "path"),
                  ("error", "reason")]


def register(sub) -> None:
    p = sub.add_parser(
        "batch", usage=USAGE,
        help="analyse many videos on all cores or a Dask cluster; 'batch status OUT' lists them",
        description="Analyse many videos, one per worker process, each into its own folder "
        "under OUT exactly as 'tells analyze' writes it, with a catalogue OUT/catalog.sqlite. "
        "Inputs are identified by content: a rerun skips what is finished. Exit status 1 when "
        "some input failed (the others are still done).")
    p.add_argument("inputs", nargs="+", metavar="INPUTS",
                   help="video files, folders (searched recursively) and glob patterns; "
                        "or 'status OUT' to list a batch")
    p.add_argument("-o", "--out", type=Path, metavar="OUT", help="output folder")
    p.add_argument("--workers", type=int, metavar="N",
                   help="local worker processes (default: one per core)")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="run on a Dask distributed scheduler, e.g. tcp://10.0.0.5:8786; its "
                        "workers need tells installed and the inputs at the same paths "
                        "(or use --ship-inputs)")
    p.add_argument("--retries", type=int, default=2, metavar="R",
                   help="retries of a video whose worker process died or that raised an "
                        "unexpected error (default 2); with --scheduler, retries after a lost "
                        "worker follow that scheduler's distributed.scheduler.allowed-failures")
    p.add_argument("--ship-inputs", action="store_true",
                   help="send each video's bytes to the workers (no shared filesystem)")
    add_output_flags(p)
    p.set_defaults(handler=_handler, parser=p)


def _handler(args) -> int:
    parser: argparse.ArgumentParser = args.parser
    if args.inputs[0] == "status" and args.out is None:
        if len(args.inputs) != 2:
            parser.error("usage: tells batch status OUT [--json]")
        return _status(Path(args.inputs[1]), args.json)
    if args.out is None:
        parser.error("-o OUT is required (the folder for results and the catalogue)")
    if args.workers is not None and args.workers < 1:
        parser.error("--workers must be at least 1")
    if args.workers is not None and args.scheduler:
        parser.error("--workers sets the local pool; with --scheduler the cluster's own "
                     "workers run the videos")
    if args.retries < 0:
        parser.error("--retries must be 0 or more")
    return _run(args)


def _run(args) -> int:
    from tells.batch import run_batch

    with _BatchBar(enabled=not (args.quiet or args.json)) as bar:
        summary = run_batch(args.inputs, args.out, workers=args.workers,
                            scheduler=args.scheduler, retries=args.retries,
                            ship_inputs=args.ship_inputs, on_progress=bar.update)
    if args.json:
        print_json(summary.to_dict())
    elif not args.quiet or not summary.ok:
        _print_summary(summary)
    return 0 if summary.ok else 1


class _BatchBar:
    """One bar across the batch on stderr: videos done, frames done of the estimated total,
    frames per second, time left. Opened at the first report, so a rerun with nothing to do
    shows none. (Not :func:`tells.cli.common.progress`: its throttle drops the fields of a
    last update that comes soon after another, and the last update here is the one that says
    every video is done.)"""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.bar = None

    def __enter__(self) -> _BatchBar:
        return self

    def update(self, p) -> None:
        if not self.enabled:
            return
        if self.bar is None:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
            )

            self.bar = Progress(TextColumn("videos {task.fields[videos]}"), BarColumn(),
                                MofNCompleteColumn(), TextColumn("frames, {task.fields[rate]}"),
                                TimeRemainingColumn(), console=Console(stderr=True))
            self.bar.start()
            self.task = self.bar.add_task("batch", total=None, videos="", rate="")
        self.bar.update(self.task, total=max(p.frames_total, 1), completed=p.frames_done,
                        videos=f"{p.videos_done}/{p.videos_total}",
                        rate=f"{p.frames_per_s:.0f}/s")

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.stop()


def _print_summary(s) -> None:
    parts = [f"{s.done} done", f"{s.no_face} without a face", f"{s.failed} failed"]
    if s.error:
        parts.append(f"{s.error} error")
    line = f"{s.found} files: " + ", ".join(parts)
    if s.skipped:
        line += f" ({s.skipped} finished by an earlier run)"
    if s.duplicates:
        line += f"; {s.duplicates} files had the same content as another and count once"
    if s.analysed:
        where = s.scheduler or "this machine"
        line += (f"; {s.frames} frames in {s.seconds:.1f} s ({s.frames_per_s:.1f} frames/s) "
                 f"on {s.workers} workers ({where})")
    print(line)
    for p in s.problems:
        print(f"  {p['status']}: {p['error']}")
    print(f"results: {s.out}  (tells batch status {s.out})")


def _cell(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value)


def _status(out: Path, as_json: bool) -> int:
    from tells.batch import batch_status

    rows = batch_status(out)
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    if as_json:
        print_json({"out": str(out), "counts": counts, "inputs": rows})
        return 0
    table = [[h for _, h in STATUS_COLUMNS]]
    table += [[_cell(r[k]) for k, _ in STATUS_COLUMNS] for r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(STATUS_COLUMNS) - 1)]
    for row in table:
        cells = [c.ljust(w) for c, w in zip(row, widths, strict=False)] + [row[-1]]
        sys.stdout.write("  ".join(cells).rstrip() + "\n")
    print(f"{len(rows)} inputs: " + ", ".join(f"{n} {k}" for k, n in sorted(counts.items())))
    return 0
