"""``tells synth``: synthetic test material.

``tells synth face IMAGE --aus "6+12" -o OUT.png`` warps a face photo to show action units (the
FACS test oracle, :func:`tells.facs.synth.synth_face`). A video mode (a clip with known
expression events) is planned as another first positional ``MODE``.
"""

from __future__ import annotations

from pathlib import Path

from tells.errors import InputError, OutputError

#: first positional argument → handler; the spotting issue adds a video mode here
MODES = ("face",)


def register(sub) -> None:
    p = sub.add_parser("synth", help="synthetic test material (warp a face to show AUs)",
                       description="tells synth face IMAGE --aus 6+12 -o OUT.png: deform a "
                       "face photo to show FACS action units (letters A..E give intensity, "
                       "R/L one side).")
    p.add_argument("mode", choices=MODES, help="what to make")
    p.add_argument("input", type=Path, help="face photo or frame (jpg, png, …)")
    p.add_argument("--aus", required=True, help='action units, e.g. "6+12", "1+2+5B+26", '
                   '"R12A+R14A"')
    p.add_argument("-o", "--output", type=Path, required=True, help="output image (png, jpg)")
    p.set_defaults(handler=_handler)


def _handler(args) -> int:
    if args.mode == "face":
        return _face(args)
    raise InputError(f"unknown synth mode {args.mode!r}")


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
