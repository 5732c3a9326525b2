"""``tells render DIR -o OUT.mp4``: the original video with face boxes, AU bars, the current
emotion and flashes at spotted events drawn on it."""

from __future__ import annotations

from pathlib import Path

from tells.cli.common import add_output_flags, print_json, progress


def register(sub) -> None:
    p = sub.add_parser(
        "render",
        help="write the video with boxes, AU bars, emotions and event flashes drawn on it",
        description="Render the analysis saved in DIR onto its original video (H.264).",
    )
    p.add_argument("dir", type=Path, metavar="DIR", help="directory written by `tells analyze`")
    p.add_argument("-o", "--output", type=Path, required=True, metavar="OUT.mp4",
                   help="video file to write (.mp4, .mov or .mkv)")
    p.add_argument("--video", type=Path, default=None,
                   help="the original video, when it moved since the analysis")
    add_output_flags(p)
    p.set_defaults(handler=run)


def run(args) -> int:
    from tells.insights.tables import load_analysis
    from tells.report.render import check_output_path, render_video

    check_output_path(args.output)
    analysis = load_analysis(args.dir)
    total = int(analysis.frames["frame"].max()) + 1 if "frame" in analysis.frames.columns and len(
        analysis.frames) else None
    with progress("rendering", total, enabled=not (args.quiet or args.json)) as advance:
        out = render_video(args.dir, args.output, video=args.video, progress=advance)
    if args.json:
        print_json({"video": str(out), "bytes": out.stat().st_size})
    elif not args.quiet:
        print(out)
    return 0
