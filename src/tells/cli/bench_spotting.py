"""``tells bench spotting [--seed N] [--json]``: spotting P/R/F1 on synthetic truth from real
video and events per minute on the untouched sample videos (see :mod:`tells.spotting.bench`)."""

from __future__ import annotations

import sys
from pathlib import Path

from tells.cli.common import add_output_flags, print_json


def configure(p) -> None:
    p.description = __doc__
    p.add_argument("--seed", type=int, default=0, help="random seed of the injected events")
    p.add_argument("--seconds", type=float, default=60.0, help="length of each synthetic video")
    p.add_argument("--rate", type=float, default=8.0, help="injected expressions per minute")
    p.add_argument("--keep", type=Path, default=None,
                   help="keep the synthetic videos and truth files in this folder")
    add_output_flags(p)
    p.set_defaults(handler=_handler)


def _handler(args) -> int:
    from tells.spotting.bench import bench_spotting

    quiet = args.quiet or args.json
    res = bench_spotting(seed=args.seed, duration_s=args.seconds, rate_per_min=args.rate,
                         work_dir=args.keep,
                         say=(lambda m: None) if quiet else (lambda m: print(m, file=sys.stderr)))
    if args.json:
        print_json(res)
        return 0
    s = res["spotting"]
    print(f"synthetic: {res['videos']} videos × {res['synthetic_seconds_per_video']:g} s, "
          f"{res['injected']} injected expressions (intensity {res['by_intensity']}), seed "
          f"{res['seed']}")
    print(f"{'':8} {'TP':>4} {'FP':>4} {'FN':>4} {'precision':>10} {'recall':>8} {'F1':>6}")
    def f(v):
        return f"{v:.3f}" if v is not None else "  –  "

    for kind in ("micro", "macro", "overall"):
        c = s[kind]
        print(f"{kind:8} {c['tp']:>4} {c['fp']:>4} {c['fn']:>4} {f(c['precision']):>10} "
              f"{f(c['recall']):>8} {f(c['f1']):>6}")
    e = res["emotion_of_spotted"]
    acc = f"{e['accuracy']:.3f}" if e["accuracy"] is not None else "–"
    print(f"emotion of spotted events: {e['correct']}/{e['of']} right ({acc}); confusions "
          f"{e['confusions'] or 'none'}")
    print(f"untouched sample videos: {res['untouched_events_per_minute']} events per minute")
    for u in res["untouched"]:
        print(f"  {u['video']:<28} {u['events']} events in {u['minutes'] * 60:.1f} s")
    print(f"took {res['seconds']} s")
    return 0
