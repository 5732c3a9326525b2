"""``tells bench batch [--json]``: batch throughput with 1 and 2 local workers, and the scaling
efficiency between them (see :mod:`tells.batch.bench`)."""

from __future__ import annotations

import sys
from pathlib import Path

from tells.cli.common import add_output_flags, print_json


def configure(parser) -> None:
    parser.description = ("Batch throughput with 1 and 2 local worker processes on the same "
                          "inputs (distinct copies of one video), in one run. Scaling "
                          "efficiency = 2-worker throughput / (2 x 1-worker throughput).")
    parser.add_argument("video", nargs="?", type=Path,
                        help="video to copy (default: the WolfgangLanger_Pexels.mp4 sample)")
    parser.add_argument("--copies", type=int, default=6,
                        help="number of distinct copies in the batch (default 6)")
    add_output_flags(parser)
    parser.set_defaults(handler=_handler)


def _handler(args) -> int:
    from tells.batch.bench import bench_batch
    from tells.io.samples import sample_path
    from tells.io.video import check_input_file

    video = check_input_file(args.video) if args.video else sample_path("WolfgangLanger_Pexels.mp4")
    quiet = args.quiet or args.json
    res = bench_batch(video, copies=max(2, args.copies),
                      say=(lambda m: None) if quiet else (lambda m: print(m, file=sys.stderr)))
    if args.json:
        print_json(res)
        return 0
    print(f"inputs       {res['copies']} distinct copies of {res['video']}")
    for r in res["runs"]:
        print(f"{r['workers']} worker{'s' if r['workers'] > 1 else ' '}    "
              f"{r['frames']} frames in {r['seconds']:.1f} s: {r['frames_per_s']:.1f} frames/s, "
              f"{r['videos_per_min']:.1f} videos/min; workers used {r['cores_used']:.2f} "
              f"cores, {r['frames_per_cpu_s']} frames per CPU second")
    print(f"scaling      efficiency {res['scaling_efficiency']:.2f} "
          "(2-worker throughput / (2 x 1-worker))")
    b, a = res["load_average_before"], res["load_average_after"]
    print(f"machine      {res['cores']} cores; load average before {b[0]:.2f} {b[1]:.2f} "
          f"{b[2]:.2f}, after {a[0]:.2f} {a[1]:.2f} {a[2]:.2f}")
    return 0
