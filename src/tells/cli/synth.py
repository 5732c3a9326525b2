"""``tells synth``: synthetic test material.

- ``tells synth face IMAGE --aus "6+12" -o OUT.png`` warps a face photo to show action units
  (the FACS test oracle, :func:`tells.facs.synth.synth_face`).
- ``tells synth VIDEO -o OUT.mp4 --truth OUT.csv [--seed N] [--rate PER_MIN]
  [--kinds micro,macro]`` injects expressions into a real video and writes their ground truth
  (:func:`tells.spotting.synth.synth_video`).
"""

from __future__ import annotations

from pathlib import Path

from tells.errors import InputError, OutputError


def register(sub) -> None:
    p = sub.add_parser(
        "synth", help="synthetic test material: warp a face to show AUs, or inject "
        "expressions into a video with ground truth",
        description="tells synth face IMAGE --aus 6+12 -o OUT.png: deform a face photo to show "
        "FACS action units (letters A..E give intensity, R/L one side). "
        "tells synth VIDEO -o OUT.mp4 --truth OUT.csv: inject micro and macro expressions of "
        "all seven emotions (B-D intensity) plus blink and head-movement distractors into a "
        "real video, and write the truth in the event columns.")
    p.add_argument("target", help="'face' (then an IMAGE), or a VIDEO file")
    p.add_argument("input", type=Path, nargs="?", help="with 'face': the face photo or frame")
    p.add_argument("--aus", help='face mode: action units, e.g. "6+12", "1+2+5B+26", '
                   '"R12A+R14A"')
    p.add_argument("-o", "--output", type=Path, required=True,
                   help="output image (face mode) or video (.mp4)")
    p.add_argument("--truth", type=Path, help="video mode: truth CSV to write")
    p.add_argument("--seed", type=int, default=0, help="video mode: random seed")
    p.add_argument("--rate", type=float, default=6.0, help="video mode: expressions per minute")
    p.add_argument("--kinds", default="micro,macro", help="video mode: micro, macro or both")
    p.add_argument("--seconds", type=float, default=None,
                   help="video mode: output length (the input plays forward and back)")
    p.add_argument("--segment", default=None, metavar="START,END",
                   help="video mode: use only this stretch of the input (seconds)")
    p.add_argument("--no-distractors", action="store_true",
                   help="video mode: no extra blinks or head movements")
    p.add_argument("--quiet", "-q", action="store_true")
    p.set_defaults(handler=_handler)


def _handler(args) -> int:
    if args.target == "face":
        if args.input is None or not args.aus:
            raise InputError("usage: tells synth face IMAGE --aus CODES -o OUT.png")
        return _face(args)
    return _video(args)


def _video(args) -> int:
    from tells.cli.common import progress
    from tells.io.video import open_video
    from tells.spotting.synth import synth_video

    if args.truth is None:
        raise InputError("video mode needs --truth OUT.csv (where the injected events go)")
    kinds = tuple(k.strip() for k in args.kinds.split(",") if k.strip())
    if not kinds or any(k not in ("micro", "macro") for k in kinds):
        raise InputError(f"--kinds takes micro, macro or micro,macro, not {args.kinds!r}")
    segment = None
    if args.segment:
        try:
            a, b = (float(x) for x in args.segment.split(","))
        except ValueError:
            raise InputError(f"--segment takes START,END in seconds, not {args.segment!r}") \
                from None
        segment = (a, b)
    if args.output.suffix.lower() != ".mp4":
        raise OutputError(f"{args.output}: the synthetic video is written as .mp4")
    with open_video(args.target) as probe:
        fps, length = probe.info.fps or 30.0, probe.info.duration_s or 0.0
    seconds = args.seconds or ((segment[1] - segment[0]) if segment else length)
    with progress(f"synthesising {args.output.name}", int(seconds * fps),
                  enabled=not args.quiet) as advance:
        truth = synth_video(args.target, args.output, args.truth, seed=args.seed,
                            rate_per_min=args.rate, kinds=kinds, duration_s=args.seconds,
                            segment=segment, distractors=not args.no_distractors,
                            progress=lambda f: advance(1))
    if not args.quiet:
        print(f"wrote {args.output} and {args.truth} ({len(truth)} injected expressions: "
              f"{(truth['kind'] == 'micro').sum()} micro, {(truth['kind'] == 'macro').sum()} "
              "macro)")
    return 0


def _face(args) -> int:
    import cv2

    from tells.facs.synth import synth_face
    from tells.io.image import read_image

    rgb = read_image(args.input)
    out = synth_face(rgb, args.aus)
    if args.output.suffix.lower() not in {".png", ".jpg", ".jpeg", ".bmp", ".webp"}:
        raise OutputError(f"{args.output}: use a .png or .jpg file name")
    if not args.output.parent.exists():
        raise OutputError(f"{args.output.parent}: folder does not exist")
    if not cv2.imwrite(str(args.output), cv2.cvtColor(out, cv2.COLOR_RGB2BGR)):
        raise OutputError(f"{args.output}: cannot write")
    print(f"wrote {args.output}")
    return 0
