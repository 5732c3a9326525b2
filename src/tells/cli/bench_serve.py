"""``tells bench serve [--json]``: the team workspace under load (see
:mod:`tells.server.bench`)."""

from __future__ import annotations

import sys

from tells.cli.common import add_output_flags, print_json


def configure(parser) -> None:
    parser.description = ("The team workspace under load on this machine: USERS members browse "
                          "while UPLOADS of them upload a call at once and the analyses run. "
                          "Reports page latency (p50/p95/max), failed requests and lost uploads.")
    parser.add_argument("--users", type=int, default=50, help="members browsing (default 50)")
    parser.add_argument("--uploads", type=int, default=5, help="uploads at once (default 5)")
    parser.add_argument("--seconds", type=float, default=40.0, help="browsing time (default 40)")
    parser.add_argument("--workers", type=int, default=1, help="analysis worker processes (default 1)")
    parser.add_argument("--db", help="a PostgreSQL URL to use instead of a temporary SQLite file "
                        "(its database must be empty)")
    add_output_flags(parser)
    parser.set_defaults(handler=_handler)


def _handler(args) -> int:
    from tells.errors import InputError
    from tells.server.bench import bench_serve

    if args.users < 1 or args.uploads < 0 or args.uploads >= args.users or args.seconds <= 0:
        raise InputError("need --users ≥ 1, 0 ≤ --uploads < --users and --seconds > 0")
    quiet = args.quiet or args.json
    res = bench_serve(users=args.users, uploads=args.uploads, seconds=args.seconds, db=args.db,
                      workers=args.workers,
                      say=(lambda m: None) if quiet else (lambda m: print(m, file=sys.stderr)))
    if args.json:
        print_json(res)
        return 0
    print(f"workspace      {res['db']}, {res['workers']} analysis worker(s), {res['cores']} cores, "
          f"load average {res['load_average'][0]} -> {res['load_average'][1]}")
    print(f"browsing       {res['users']} members for {res['seconds']:g} s: {res['requests']} page requests")
    print(f"page latency   p50 {res['page_p50_ms']} ms, p95 {res['page_p95_ms']} ms, max {res['page_max_ms']} ms")
    print(f"server CPU     {res['server_cpu_s']} s in the window, {res['server_cpu_ms_per_request']} ms "
          "per request (the web process alone)")
    print("p95 by page    " + ", ".join(f"{p} {v}" for p, v in res["p95_by_page_ms"].items()))
    print(f"failed         {res['failed_requests']} request(s)" +
          (f" e.g. {'; '.join(res['failures'][:3])}" if res["failures"] else ""))
    print(f"uploads        {res['uploads_ok']} of {res['uploads']} stored intact, {res['uploads_lost']} lost "
          f"(slowest {res['upload_seconds_max']} s); analyses finished in the window: "
          f"{res['analyses_done_in_window']}")
    return 0
