"""``tells bench live [VIDEO] [--json]``: the live path in real time at 640×480, 30 fps, with one
and four faces: drops, frame-to-row and alert latency, CPU, live versus offline events (see
:mod:`tells.live.bench`)."""

from __future__ import annotations

import sys
from pathlib import Path

from tells.cli.common import add_output_flags, print_json


def configure(p) -> None:
    p.description = __doc__
    p.add_argument("video", nargs="?", type=Path,
                   help="base video with one calm face (default: the single_face.mp4 sample's "
                        "first half second, played forward and back)")
    p.add_argument("--seconds", type=float, default=20.0, help="length of the test video")
    p.add_argument("--seed", type=int, default=0, help="random seed of the injected events")
    p.add_argument("--rate", type=float, default=12.0, help="injected expressions per minute")
    p.add_argument("--delay", type=float, default=None, help="decision delay (default 0.3 s)")
    p.add_argument("--one-face", action="store_true", help="skip the four-face run")
    p.add_argument("--queue", type=int, default=None, metavar="N",
                   help="frames that may wait before one is dropped (as tells live --queue; "
                        "default: tells live's)")
    p.add_argument("--keep", type=Path, default=None, help="keep the test videos here")
    add_output_flags(p)
    p.set_defaults(handler=_handler)


def _handler(args) -> int:
    from tells.io.video import check_input_file
    from tells.live.bench import bench_live
    from tells.live.sources import DEFAULT_QUEUE
    from tells.live.spotter import DEFAULT_DELAY_S

    quiet = args.quiet or args.json
    res = bench_live(check_input_file(args.video) if args.video else None,
                     seconds=args.seconds, seed=args.seed, rate_per_min=args.rate,
                     delay_s=DEFAULT_DELAY_S if args.delay is None else args.delay,
                     four=not args.one_face, work_dir=args.keep,
                     queue_size=DEFAULT_QUEUE if args.queue is None else args.queue,
                     say=(lambda m: None) if quiet else (lambda m: print(m, file=sys.stderr)))
    if args.json:
        print_json(res)
        return 0
    print(f"live at {res['size']}, {res['fps']} fps, {res['seconds']:g} s, decision delay "
          f"{res['decision_delay_s']} s, queue {res['queue']}; load average "
          f"{res['load_average']} on {res['cpus']} cores")
    for name, r in res["runs"].items():
        f2r, al, ap = (r["frame_to_row_ms"], r["alert_after_true_offset_ms"],
                       r["alert_after_placed_offset_beyond_delay_ms"])
        print(f"{name}:")
        print(f"  frames     {r['captured_frames']} captured, {r['analysed_frames']} analysed, "
              f"{r['dropped_frames']} dropped ({r['drop_rate']:.1%})")
        print(f"  latency    frame-to-row p50 {f2r['p50']} ms, p95 {f2r['p95']} ms")
        print(f"  alerts     after the true offset p50 {al['p50']} ms, p95 {al['p95']} ms "
              f"({al['n']} of {r['injected']} injected alerted); beyond the delay after the "
              f"placed offset p50 {ap['p50']} ms, p95 {ap['p95']} ms")
        parts = ", ".join(f"{k} {v['p50']}/{v['p95']}" for k, v in
                          r["alert_breakdown_ms"].items() if v["n"])
        print(f"  of which   (p50/p95 ms) {parts}")
        print(f"  CPU        {r['cpu_percent_of_one_core']}% of one core (+ spotter "
              f"{r['spotter_cpu_percent_of_one_core']}%); {r['cpu_ms_per_frame']} ms CPU a "
              "frame in all")
        print(f"  events     offline {r['offline_events']}, live {r['live_events']}: "
              f"{r['live_same_as_offline']} same (share {r['live_share_of_offline']}); "
              f"replayed without drops {r['replay_same_as_offline']} same "
              f"(share {r['replay_share_of_offline']})")
    print(f"took {res['took_s']} s")
    return 0
