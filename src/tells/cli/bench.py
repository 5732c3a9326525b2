"""``tells bench [VIDEO]``: speed against the decode+mesh floor, and memory over long runs.
``tells bench spotting`` and ``tells bench batch`` are their own benchmarks."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

from tells.cli.common import add_output_flags, print_json

#: ``tells bench NAME …`` → module exposing ``register(sub)`` for that benchmark
SUB_BENCHES = {"spotting": "tells.cli.bench_spotting", "batch": "tells.cli.bench_batch",
               "report": "tells.cli.bench_report", "live": "tells.cli.bench_live",
               "serve": "tells.cli.bench_serve"}


def register(sub) -> None:
    p = sub.add_parser(
        "bench", help="measure speed (fps vs the decode+mesh floor) and memory",
        description="Benchmark the pipeline. 'tells bench [VIDEO]' compares the full pipeline "
        "with the decode+mesh floor in one run; other benchmarks: "
        + ", ".join(f"'tells bench {k}'" for k in SUB_BENCHES) + ".")
    p.add_argument("video", nargs="?", type=Path,
                   help="video to use (default: the WolfgangLanger_Pexels.mp4 sample)")
    p.add_argument("--repeats", type=int, default=3, help="alternating rounds (best is kept)")
    p.add_argument("--minutes", type=float, default=None,
                   help="also loop the video to this many minutes and compare peak memory "
                        "with a 20-second run")
    add_output_flags(p)
    p.set_defaults(handler=_handler)


def _handler(args) -> int:
    from tells.bench.pipeline import bench
    from tells.io.samples import sample_path
    from tells.io.video import check_input_file

    path = check_input_file(args.video) if args.video else sample_path("WolfgangLanger_Pexels.mp4")
    quiet = args.quiet or args.json
    res = bench(path, repeats=max(1, args.repeats), minutes=args.minutes,
                say=(lambda m: None) if quiet else (lambda m: print(m, file=sys.stderr)))
    if args.json:
        print_json(res)
        return 0
    print(f"video          {res['video']} ({res['frames']} frames)")
    print(f"floor          {res['floor_fps']:.1f} fps  (decode + mediapipe mesh only, one after "
          "the other)")
    print(f"floor_ahead    {res['floor_ahead_fps']:.1f} fps  (the same, decoding ahead in a "
          "thread as tells does)")
    names = {"face": "faces only (detect, track, mesh, pose, align, quality)",
             "facs": "+ action units and emotions",
             "full": "+ spotting and events (tells analyze without writing)"}
    for config, r in res["configs"].items():
        print(f"{config:<6} {r['fps']:7.1f} fps  ratio {r['ratio_to_floor']:.2f} of floor, "
              f"{r['ratio_to_floor_ahead']:.2f} of floor_ahead  {names[config]}")
        for k, v in r["stage_share"].items():
            print(f"         stage {k:<14} {v:.1%} of its time")
    print(f"spotting adds  {res['spotting_added_cost']:+.1%} to the per-frame cost of facs")
    print(f"peak RSS       {res['peak_rss_mb']:.0f} MB")
    if "memory" in res:
        m = res["memory"]
        print(f"memory         20 s run peak {m['short_peak_rss_mb']:.0f} MB; "
              f"{m['long_run_s'] / 60:g} min run ({m['long_frames']} frames, {m['long_fps']} fps) "
              f"peak {m['long_peak_rss_mb']:.0f} MB; growth {m['growth']:+.1%}")
    return 0


def sub_bench_parser(argv: list[str]):
    """For ``bench NAME …`` naming a sub-benchmark, its parser with ``handler`` set;
    else ``None``. A sub-benchmark module exposes ``configure(parser)``."""
    import argparse

    if len(argv) < 2 or argv[0] != "bench" or argv[1] not in SUB_BENCHES:
        return None
    module = importlib.import_module(SUB_BENCHES[argv[1]])
    parser = argparse.ArgumentParser(prog=f"tells bench {argv[1]}")
    module.configure(parser)
    return parser
