"""``tells serve``: the team workspace (accounts, recordings with consent, analysis jobs,
training, dashboard), and ``tells serve user add|reset`` and ``tells serve purge`` to run it.
"""

from __future__ import annotations

import getpass
import os
import sys
from pathlib import Path

from tells.errors import InputError


def register(sub) -> None:
    p = sub.add_parser(
        "serve",
        help="the team workspace: accounts, recordings with consent, analyses, training",
        description=(
            "Run the team workspace on this machine: accounts and teams, uploads of recorded "
            "calls with a consent record, analysis jobs on a worker pool, the report with notes "
            "on moments, training under each account, a coach's dashboard, retention and an "
            "audit log. Binds 127.0.0.1 unless --public; TLS belongs in a reverse proxy in "
            "front of it. Create the first admin with 'tells serve user add NAME --role admin'."
        ),
    )
    _common(p)
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8750, help="port (default 8750; 0: a free one)")
    p.add_argument("--public", action="store_true",
                   help="allow an address other than loopback (put a TLS reverse proxy in front)")
    p.add_argument("--secure-cookies", action="store_true",
                   help="send the login cookie only over HTTPS (behind a TLS proxy)")
    p.add_argument("--workers", type=int, default=None,
                   help="local analysis worker processes (default: one per core)")
    p.add_argument("--scheduler", metavar="tcp://HOST:PORT",
                   help="run analyses on this Dask scheduler's workers (they must see --data "
                        "at the same path)")
    p.add_argument("--max-upload-mb", type=int, default=2000,
                   help="largest upload in MB (default 2000)")
    p.add_argument("--library", type=Path,
                   help="trainer stimulus pack library (default: DATA/packs)")
    p.add_argument("--quick-training", action="store_true",
                   help="short training sessions: one test item per emotion, two practice trials each")
    p.set_defaults(handler=_serve)
    ssub = p.add_subparsers(dest="serve_command", metavar="{user,purge}")

    u = ssub.add_parser("user", help="add an account or reset a password")
    usub = u.add_subparsers(dest="user_command", metavar="{add,reset}")
    u.set_defaults(handler=lambda a: (u.print_help(), 2)[1])
    add = usub.add_parser("add", help="add an account (the first admin, or anyone)")
    add.add_argument("username")
    add.add_argument("--role", choices=["admin", "coach", "member"], default="member")
    add.add_argument("--name", help="display name (default: the user name)")
    add.add_argument("--password-stdin", action="store_true",
                     help="read the password from standard input (for scripts)")
    _common(add)
    add.set_defaults(handler=_user_add)
    reset = usub.add_parser("reset", help="set a new password (ends the user's sessions)")
    reset.add_argument("username")
    reset.add_argument("--password-stdin", action="store_true",
                       help="read the password from standard input (for scripts)")
    _common(reset)
    reset.set_defaults(handler=_user_reset)

    pu = ssub.add_parser("purge", help="apply the teams' retention policies now")
    _common(pu)
    pu.set_defaults(handler=_purge)


def _common(p) -> None:
    p.add_argument("--data", type=Path,
                   help="data folder for media, analyses and the SQLite database "
                        "(default: $TELLS_HOME/workspace)")
    p.add_argument("--db", help="database: postgresql://USER@HOST/NAME or a SQLite file "
                   "(default: DATA/workspace.db)")


def _data(args) -> Path:
    if args.data:
        return args.data.expanduser().resolve()
    from tells.config import tells_home

    return tells_home() / "workspace"


def _engine(args):
    from tells.server.db import open_db

    data = _data(args)
    return data, open_db(args.db or (data / "workspace.db"))


def _password(args, prompt: str) -> str:
    from tells.server.auth import check_password

    if args.password_stdin:
        pw = sys.stdin.readline().rstrip("\n")
    elif sys.stdin.isatty():
        pw = getpass.getpass(prompt)
        if getpass.getpass("again: ") != pw:
            raise InputError("the passwords differ")
    else:
        raise InputError("no terminal to ask for the password; pass --password-stdin")
    check_password(pw)
    return pw


def _user_add(args) -> int:
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from tells.server.app import check_username
    from tells.server.auth import hash_password
    from tells.server.db import User
    from tells.server.records import audit

    name = check_username(args.username.strip().lower())
    _, engine = _engine(args)
    with Session(engine) as db:
        if db.scalar(select(User.id).where(User.username == name)) is not None:
            raise InputError(f"user {name!r} exists; use 'tells serve user reset {name}'")
        user = User(username=name, display_name=args.name or name, role=args.role,
                    password_hash=hash_password(_password(args, f"password for {name}: ")))
        db.add(user)
        db.flush()
        audit(db, None, "user.add", None, f"user:{user.id}", {"role": args.role, "by": "cli"})
        db.commit()
    print(f"added {args.role} {name}", file=sys.stderr)
    return 0


def _user_reset(args) -> int:
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from tells.server.auth import end_all_sessions, hash_password
    from tells.server.db import User
    from tells.server.records import audit

    name = args.username.strip().lower()
    _, engine = _engine(args)
    with Session(engine) as db:
        user = db.scalar(select(User).where(User.username == name))
        if user is None:
            raise InputError(f"no user {name!r}")
        user.password_hash = hash_password(_password(args, f"new password for {name}: "))
        end_all_sessions(db, user.id)
        audit(db, None, "user.reset", None, f"user:{user.id}", {"by": "cli"})
        db.commit()
    print(f"new password set for {name}; their sessions ended", file=sys.stderr)
    return 0


def _purge(args) -> int:
    from tells.server.records import enforce_retention
    from tells.server.storage import Layout

    data, engine = _engine(args)
    out = enforce_retention(engine, Layout(data).create())
    print(f"retention applied: {out['recordings']} recording(s), {out['media_deleted']} media "
          f"file(s) deleted, {out['derived_deleted']} analysis(es) deleted")
    return 0


def _serve(args) -> int:
    from tells.server.app import ServerConfig, Workspace, count_users, make_app
    from tells.trainer.server import ServedApp, bind

    loopback = args.host in ("127.0.0.1", "localhost", "::1")
    if not loopback and not args.public:
        raise InputError(f"--host {args.host} is not this machine only; add --public to serve "
                         "other machines (and put a TLS reverse proxy in front)")
    if args.max_upload_mb < 1:
        raise InputError("--max-upload-mb must be at least 1")
    data, engine = _engine(args)
    cfg = ServerConfig(data=data, db=args.db or str(data / "workspace.db"), host=args.host,
                       port=args.port, public=not loopback, max_upload=args.max_upload_mb * 1_000_000,
                       workers=args.workers, scheduler=args.scheduler, library=args.library,
                       quick_training=args.quick_training, secure_cookies=args.secure_cookies,
                       retention_every_s=float(os.environ.get("TELLS_RETENTION_EVERY_S", 3600)))
    ws = Workspace(cfg, engine)
    sock = bind(args.host, args.port)
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    print(f"tells workspace on http://{shown}:{port}/ (Ctrl-C to stop)", file=sys.stderr, flush=True)
    if not loopback:
        print("tells: note: serving beyond this machine: TLS belongs in a reverse proxy in front "
              "of it (and use --secure-cookies)", file=sys.stderr, flush=True)
    if count_users(engine) == 0:
        print("tells: no accounts yet: tells serve user add NAME --role admin", file=sys.stderr, flush=True)
    ServedApp(make_app(ws), sock, name="tells-serve").serve_forever()
    return 0
