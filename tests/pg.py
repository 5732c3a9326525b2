"""A throwaway PostgreSQL server for tests: Debian's ``postgresql`` binaries
(``/usr/lib/postgresql/*/bin``), a cluster made with ``initdb`` in a temporary folder, started
with ``pg_ctl`` on 127.0.0.1 and a free port, removed afterwards. PostgreSQL refuses to run as
root, so as root the cluster belongs to the ``postgres`` system user the Debian package
creates (``runuser``)."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from contextlib import contextmanager
from pathlib import Path


def pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
    return Path(found[-1]).parent if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def postgres_cluster():
    """Yield ``postgresql://tells@127.0.0.1:PORT/`` of a fresh server (database ``postgres``
    exists; make your own with CREATE DATABASE)."""
    bindir = pg_bin()
    if bindir is None:
        raise RuntimeError("Debian's postgresql is required (bash install.sh)")
    root = Path(tempfile.mkdtemp(prefix="tells-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:
        pw = pwd.getpwnam("postgres")
        os.chown(root, pw.pw_uid, pw.pw_gid)
        root.chmod(0o700)
        as_user = ["runuser", "-u", "postgres", "--"]
    data, port = root / "data", _free_port()
    run = lambda *cmd: subprocess.run([*as_user, *cmd], check=True, capture_output=True, text=True)  # noqa: E731
    try:
        run(str(bindir / "initdb"), "-D", str(data), "-U", "tells", "-A", "trust", "--no-sync",
            "-E", "UTF8", "--locale=C")
        run(str(bindir / "pg_ctl"), "-D", str(data), "-w", "-t", "60", "-l", str(root / "log"),
            "-o", f"-h 127.0.0.1 -p {port} -k {root} -c fsync=off -c full_page_writes=off "
                  "-c synchronous_commit=off -c max_connections=200",
            "start")
        yield f"postgresql://tells@127.0.0.1:{port}/"
    finally:
        subprocess.run([*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w",
                        "stop"], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


def create_database(base_url: str, name: str) -> str:
    import psycopg

    with psycopg.connect(base_url + "postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return base_url + name
