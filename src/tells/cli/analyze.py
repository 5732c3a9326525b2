"""``tells analyze VIDEO -o DIR``: the per-frame table (and later events and report)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from tells.cli.common import add_output_flags, print_json, progress
from tells.cli.report import add_context_flags


def register(sub) -> None:
    p = sub.add_parser(
        "analyze", help="analyse a video: faces, pose, AUs, emotions, events → DIR",
        description="Analyse every face in a video and write DIR/frames.csv, "
        "DIR/frames.parquet, DIR/run.json (tells version, model checksums, settings, "
        "timings), DIR/report.html and DIR/summary.json. Frames with no face get one row "
        "with success=0.")
    p.add_argument("video", type=Path, help="video file (mp4, mov, mkv, webm, avi, …)")
    p.add_argument("-o", "--out", type=Path, required=True, help="output directory")
    p.add_argument("--max-faces", type=int, default=None, help="most faces to track (default 8)")
    p.add_argument("--faces", type=int, default=None, metavar="N",
                   help="number of people in the video, if known: at most N faces are tracked "
                   "and, once N people have been seen, a face that comes back is given the id "
                   "of the absent person it looks most like (recorded as uncertain)")
    p.add_argument("--no-report", action="store_true",
                   help="skip report.html and summary.json (tables only)")
    add_context_flags(p)
    add_output_flags(p)
    p.set_defaults(handler=_handler)


def _handler(args) -> int:
    from tells.api import analyze_video
    from tells.io.table import ensure_writable_dir
    from tells.io.video import open_video

    ensure_writable_dir(args.out)  # fail before any work
    with open_video(args.video) as probe:
        total = probe.info.frame_count
    options = {"max_faces": args.max_faces} if args.max_faces else {}
    if args.faces is not None:
        from tells.errors import InputError

        if args.faces < 1:
            raise InputError(f"--faces must be at least 1, got {args.faces}")
        options["expected_faces"] = args.faces
    show = not (args.quiet or args.json)
    t0 = time.perf_counter()
    with progress(f"analysing {args.video.name}", total, enabled=show) as advance:
        res = analyze_video(args.video, args.out,
                            on_frame=lambda f, n: advance(1, rate=_rate(f.index, t0)),
                            report=not args.no_report, transcript=args.transcript,
                            segments=args.segments, **options)
    run = res.run
    if args.json:
        print_json({"out_dir": str(res.out_dir), **run})
    elif not args.quiet:
        faces = run["faces"]
        print(f"{run['frames']} frames, {run['frames_with_face']} with a face, "
              f"{len(faces)} face id(s) {faces}; {run['timings']['fps']} fps")
        written = "frames.csv, frames.parquet, run.json" + (
            "" if args.no_report else ", report.html, summary.json")
        print(f"wrote {res.out_dir}/: {written}")
    for w in run["warnings"]:
        print(f"tells: warning: {w} (results up to there are kept; run.json says "
              "complete=false)", file=sys.stderr)
    return 0 if run["complete"] else 3


def _rate(index: int, t0: float) -> str:
    dt = time.perf_counter() - t0
    return f"{(index + 1) / dt:.0f} fps" if dt > 0 else ""
