"""Command line entry point. Each command lives in its own module under ``tells.cli`` and
exposes ``register(subparsers)``; the handler it sets receives the parsed args and returns an
exit code. User errors (:class:`tells.errors.TellsError`) end in one line and a non-zero exit."""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from tells import __version__
from tells.errors import TellsError

#: command modules, in the order ``tells --help`` lists them
COMMAND_MODULES = [
    "tells.cli.analyze",
    "tells.cli.image",
    "tells.cli.demo",
    "tells.cli.bench",
    "tells.cli.models",
    "tells.cli.samples",
    "tells.cli.eval",
    "tells.cli.synth",
    "tells.cli.render",
    "tells.cli.report",
    "tells.cli.batch",
    "tells.cli.research",
    "tells.cli.train",
    "tells.cli.live",
    "tells.cli.serve",
    "tells.cli.people",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tells",
        description=(
            "Spot micro-expressions in face video, code them with FACS action units and name "
            "the emotion behind them. Micro-expressions are cues to emotion, not proof of "
            "deception."
        ),
    )
    parser.add_argument("--version", action="version", version=f"tells {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:  # a command whose module is not there yet
            if exc.name == name:
                continue
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    from tells.face.mp import install_native_log_filter

    install_native_log_filter()
    from tells.cli.bench import sub_bench_parser

    argv = sys.argv[1:] if argv is None else list(argv)
    sub_bench = sub_bench_parser(argv)
    if sub_bench is not None:
        parser, args = sub_bench, sub_bench.parse_args(argv[2:])
    else:
        parser = build_parser()
        args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    try:
        return int(args.handler(args) or 0)
    except TellsError as exc:
        print(f"tells: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("tells: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 1
    except Exception as exc:  # a bug: still one line unless debugging
        if os.environ.get("TELLS_DEBUG"):
            raise
        print(
            f"tells: internal error: {type(exc).__name__}: {exc} "
            "(set TELLS_DEBUG=1 to see the traceback, and please report it)",
            file=sys.stderr,
        )
        return 70


if __name__ == "__main__":
    sys.exit(main())
