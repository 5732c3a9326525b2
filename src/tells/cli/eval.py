"""``tells eval``: score tells against labelled data. Each kind of evaluation lives in its own
module (``tells.cli.eval_images``, ``tells.cli.eval_spotting``) exposing ``register(sub)``."""

from __future__ import annotations

import importlib

EVAL_MODULES = ["tells.cli.eval_images", "tells.cli.eval_spotting",
                "tells.cli.eval_flashes", "tells.cli.eval_agreement", "tells.cli.eval_tracking"]


def register(sub) -> None:
    p = sub.add_parser("eval", help="evaluate against labelled images or annotated spotting data")
    kinds = p.add_subparsers(dest="eval_kind", metavar="KIND")
    for name in EVAL_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue
            raise
        module.register(kinds)
    p.set_defaults(handler=lambda args: (p.print_help(), 2)[1])
