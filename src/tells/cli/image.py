"""``tells image IMG…``: faces in photos with box, pose, landmarks (and AUs/emotions)."""

from __future__ import annotations

from pathlib import Path

from tells.cli.common import print_json
from tells.errors import TellsError


def register(sub) -> None:
    p = sub.add_parser("image", help="find and describe the faces in photos",
                       description="Find every face in each image and print its box, head "
                       "pose, key landmarks and quality (and AUs and emotions when available).")
    p.add_argument("images", type=Path, nargs="+", help="image files (jpg, png, …)")
    p.add_argument("--json", action="store_true", help="JSON on stdout")
    p.set_defaults(handler=_handler)


def _handler(args) -> int:
    from tells.api import analyze_image

    report, failed = [], 0
    for path in args.images:
        try:
            faces = analyze_image(path)
            report.append({"image": str(path), "faces": [f.summary() for f in faces]})
        except TellsError as exc:
            failed += 1
            report.append({"image": str(path), "error": str(exc)})
    if args.json:
        print_json(report)
    else:
        for item in report:
            if "error" in item:
                print(f"{item['image']}: error: {item['error']}")
                continue
            print(f"{item['image']}: {len(item['faces'])} face(s)")
            for i, f in enumerate(item["faces"]):
                b, p = f["box"], f["pose"]
                flags = [k for k, v in f["quality"].items() if v]
                print(f"  face {i}: box x={b['x']:.0f} y={b['y']:.0f} w={b['width']:.0f} "
                      f"h={b['height']:.0f}  pose Rx={p['Rx']:+.2f} Ry={p['Ry']:+.2f} "
                      f"Rz={p['Rz']:+.2f} rad  conf {f['confidence']:.2f}"
                      + (f"  quality: {', '.join(flags)}" if flags else ""))
                if f.get("emotions"):
                    top = sorted(f["emotions"].items(), key=lambda kv: -kv[1])[:3]
                    print("    emotions: " + ", ".join(f"{k} {v:.2f}" for k, v in top))
                if f.get("aus"):
                    active = [f"{k} {v:.1f}" for k, v in f["aus"].items() if v >= 1.0]
                    print("    AUs ≥1: " + (", ".join(active) or "none"))
    if failed:
        if len(args.images) == 1:
            raise TellsError(report[0]["error"])
        return 2
    return 0
