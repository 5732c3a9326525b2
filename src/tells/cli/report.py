"""``tells report DIR [--transcript F] [--segments F]``: rebuild ``report.html`` and
``summary.json`` from the saved tables of an analysis, without analysing again."""

from __future__ import annotations

from pathlib import Path

from tells.cli.common import add_output_flags, print_json


def register(sub) -> None:
    p = sub.add_parser(
        "report",
        help="rebuild report.html and summary.json from a saved analysis",
        description=(
            "Rebuild DIR/report.html (one self-contained page that opens offline) and "
            "DIR/summary.json from the tables `tells analyze` saved in DIR. A transcript or "
            "segments given once are remembered in DIR/context.json."
        ),
    )
    p.add_argument("dir", type=Path, metavar="DIR", help="directory written by `tells analyze`")
    add_context_flags(p)
    p.add_argument("--no-clips", action="store_true",
                   help="skip the animated event clips (thumbnails are still made)")
    add_output_flags(p)
    p.set_defaults(handler=run)


def add_context_flags(p) -> None:
    """``--transcript`` and ``--segments``, shared with ``tells analyze``."""
    p.add_argument("--transcript", type=Path, metavar="FILE", default=None,
                   help="WebVTT (.vtt) or SRT (.srt) transcript of the call; speaker names kept")
    p.add_argument("--segments", type=Path, metavar="FILE", default=None,
                   help="CSV of start,end,label agenda items (seconds or hh:mm:ss)")


def run(args) -> int:
    import sys

    from tells.report import write_report

    def say(msg: str) -> None:
        if not (args.quiet or args.json):
            print(f"tells report: {msg}", file=sys.stderr)

    path = write_report(args.dir, transcript=args.transcript, segments=args.segments,
                        clips=not args.no_clips, progress=say)
    summary = path.parent / "summary.json"
    if args.json:
        print_json({"report": str(path), "summary": str(summary),
                    "bytes": path.stat().st_size})
    elif not args.quiet:
        print(f"{path}  ({path.stat().st_size / 1e6:.1f} MB)\n{summary}")
    return 0
