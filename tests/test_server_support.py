"""Shared pieces of the workspace tests: a short clip of the sample video, ``tells serve`` as
a real process on 127.0.0.1 (SQLite or a throwaway PostgreSQL), and an httpx client that logs
in and sends CSRF tokens the way the pages do. The tests in this file check those pieces."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tells.io.samples import sample_path

PASSWORD = "correct horse battery"
#: the one PostgreSQL cluster of a test run (started on first use)
_PG: dict = {}


def cut_clip(dest: Path, frames: int = 36, start: int = 0) -> Path:
    """The sample video's frames ``start … start+frames-1`` re-encoded as H.264 MP4."""
    import av
    from conftest import write_video

    imgs = []
    with av.open(str(sample_path("WolfgangLanger_Pexels.mp4"))) as c:
        for i, f in enumerate(c.decode(video=0)):
            if i >= start:
                imgs.append(f.to_ndarray(format="rgb24"))
            if len(imgs) == frames:
                break
    return write_video(dest, imgs, fps=24)


@pytest.fixture(scope="session")
def clip(tmp_path_factory) -> Path:
    return cut_clip(tmp_path_factory.mktemp("clip") / "call.mp4")


@pytest.fixture(scope="session")
def pg_base():
    from pg import postgres_cluster

    with postgres_cluster() as url:
        yield url


_DB_N = [0]


def fresh_db(kind: str, data: Path, request) -> str:
    """A new, empty database of the given kind."""
    if kind == "sqlite":
        return str(data / "workspace.db")
    from pg import create_database

    _DB_N[0] += 1
    return create_database(request.getfixturevalue("pg_base"), f"ws{os.getpid()}_{_DB_N[0]}")


class ServerProc:
    """``tells serve`` in a subprocess on a free loopback port."""

    def __init__(self, data: Path, db: str, *extra: str, env: dict | None = None):
        self.data, self.db, self.extra = data, db, extra
        self.env = {**os.environ, **(env or {})}
        self.env.pop("TELLS_DEBUG", None)
        self.proc = None
        self.url = ""

    def start(self) -> ServerProc:
        self.log = open(self.data.parent / f"{self.data.name}-serve.log", "a")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tells", "serve", "--data", str(self.data), "--db", self.db,
             "--port", "0", "--workers", "1", *self.extra],
            stderr=subprocess.PIPE, stdout=self.log, text=True, env=self.env)
        line = self.proc.stderr.readline()
        m = re.search(r"(http://127\.0\.0\.1:\d+/)", line)
        if not m:
            rest = self.proc.stderr.read() if self.proc.poll() is not None else ""
            raise RuntimeError(f"tells serve did not start: {line}{rest}")
        self.url = m.group(1)
        return self

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def kill(self) -> None:
        """SIGKILL: no chance to clean up (a crash or power cut)."""
        self.proc.kill()
        self.proc.wait()


def add_user(data: Path, db: str, name: str, role: str, password: str = PASSWORD):
    r = subprocess.run([sys.executable, "-m", "tells", "serve", "user", "add", name, "--role", role,
                        "--data", str(data), "--db", db, "--password-stdin"],
                       input=password + "\n", capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return r


class Client:
    """A browser stand-in: cookies, and the CSRF token of its session."""

    def __init__(self, url: str):
        self.http = httpx.Client(base_url=url, follow_redirects=False, timeout=60)
        self.token: str | None = None

    def login(self, username: str, password: str = PASSWORD) -> httpx.Response:
        page = self.http.get("/login")
        pre = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
        r = self.http.post("/login", data={"csrf": pre, "username": username,
                                           "password": password, "next": "/"})
        if r.status_code == 303:
            self.token = self.http.get("/api/v1/session").json()["csrf"]
        return r

    def get(self, path: str, **kw) -> httpx.Response:
        return self.http.get(path, **kw)

    def post(self, path: str, data: dict | None = None, csrf: bool = True, **kw) -> httpx.Response:
        data = dict(data or {})
        if csrf and self.token:
            data.setdefault("csrf", self.token)
        return self.http.post(path, data=data, **kw)

    def upload(self, tid: int, video: Path | None, consent: bool = True, name: str = "call.mp4",
               content: bytes | None = None, csrf: bool = True, **extra) -> httpx.Response:
        data = {"title": extra.pop("title", "Discovery call"), **({"csrf": self.token} if csrf else {})}
        if consent:
            data.update(subjects="Pat Prospect\nSam Seller", given_by="Pat Prospect",
                        given_at="2026-11-30T10:00", confirm="yes",
                        notice="Emotion recognition (tells) is used on this recorded call.")
        data.update(extra)
        body = content if content is not None else video.read_bytes()
        files = {"video": (name, body, "video/mp4")}
        return self.http.post(f"/teams/{tid}/recordings", data=data, files=files,
                              headers={"Accept": "application/json"})

    def wait_job(self, jid: int, timeout: float = 240) -> dict:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            j = self.get(f"/api/v1/jobs/{jid}").json()
            if j["status"] in ("done", "failed"):
                return j
            time.sleep(0.5)
        raise AssertionError(f"job {jid} did not finish: {j}")

    def invite(self, tid: int, role: str = "member") -> str:
        r = self.post(f"/teams/{tid}/invitations", {"role": role}, headers={"Accept": "application/json"})
        assert r.status_code == 200, r.text
        return r.json()["link"]


def accept_invite(url: str, link: str, username: str, password: str = PASSWORD) -> Client:
    c = Client(url)
    page = c.get(link)
    assert page.status_code == 200, page.text
    pre = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    r = c.http.post(link, data={"csrf": pre, "username": username, "display_name": username.title(),
                                "password": password})
    assert r.status_code == 303, r.text
    c.token = c.get("/api/v1/session").json()["csrf"]
    return c


@contextmanager
def workspace(tmp: Path, db: str, *extra: str, env: dict | None = None):
    srv = ServerProc(tmp / "data", db, *extra, env=env)
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


def make_team(admin: Client, name: str) -> int:
    r = admin.post("/teams", {"name": name})
    assert r.status_code == 303, r.text
    return int(r.headers["location"].rsplit("/", 1)[1])


def test_clip_is_a_short_real_video(clip):
    import av

    with av.open(str(clip)) as c:
        assert sum(1 for _ in c.decode(video=0)) == 36


def test_postgres_cluster_answers(pg_base):
    import psycopg

    with psycopg.connect(pg_base + "postgres") as conn:
        assert conn.execute("select 1").fetchone() == (1,)
