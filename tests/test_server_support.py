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
        """Start (again: on the same port, so clients keep their address)."""
        port = self.url.rsplit(":", 1)[1].strip("/") if self.url else "0"
        self.log = open(self.data.parent / f"{self.data.name}-serve.log", "a")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tells", "serve", "--data", str(self.data), "--db", self.db,
             "--port", port, "--workers", "1", *self.extra],
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


def pack_folder(dest: Path) -> Path:
    """A stimulus pack folder from real frames of the sample video: two emotions, two items
    each (the labels are arbitrary: these tests exercise the flow, not the labels)."""
    from test_trainer_support import FRAME_PAIRS

    from tells.trainer.images import write_png
    from tells.trainer.sources import read_frames

    pairs = [FRAME_PAIRS[0], FRAME_PAIRS[1], FRAME_PAIRS[12], FRAME_PAIRS[13]]
    frames = read_frames(sample_path("WolfgangLanger_Pexels.mp4"), [i for p in pairs for i in p])
    for k, (a, b) in enumerate(pairs):
        d = dest / ("happiness", "surprise")[k % 2] / f"f{a:03d}-{b:03d}"
        write_png(d / "neutral.png", frames[a])
        write_png(d / "expression.png", frames[b])
    return dest


def build_pack(data: Path, folder: Path, name: str = "starter") -> None:
    r = subprocess.run([sys.executable, "-m", "tells", "train", "pack", "build", str(folder),
                        "--name", name, "--library", str(data / "packs"), "--quiet"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def set_up_world(srv: ServerProc, clip: Path) -> dict:
    """Through the web, as people would: the admin makes teams A and B and invites a coach
    to each; coaches invite members (ann, bob to A; dan to B); ann and dan each upload the
    clip with consent and it is analysed."""
    admin = Client(srv.url)
    assert admin.login("root").status_code == 303
    ta, tb = make_team(admin, "Team A"), make_team(admin, "Team B")
    coach = accept_invite(srv.url, admin.invite(ta, "coach"), "carla")
    coach_b = accept_invite(srv.url, admin.invite(tb, "coach"), "cleo")
    ann = accept_invite(srv.url, coach.invite(ta), "ann")
    bob = accept_invite(srv.url, coach.invite(ta), "bob")
    dan = accept_invite(srv.url, coach_b.invite(tb), "dan")
    ra = ann.upload(ta, clip)
    assert ra.status_code == 201, ra.text
    rb = dan.upload(tb, clip, title="B call")
    assert rb.status_code == 201, rb.text
    ja, jb = ann.wait_job(ra.json()["job"]), dan.wait_job(rb.json()["job"])
    return dict(srv=srv, admin=admin, coach=coach, coach_b=coach_b, ann=ann, bob=bob, dan=dan,
                ta=ta, tb=tb, rec_a=ra.json()["recording"], rec_b=rb.json()["recording"],
                job_a=ja, job_b=jb)


@pytest.fixture(scope="session")
def library(tmp_path_factory) -> Path:
    """A trainer library with the pack ``starter`` (shared by the workspaces of a test run)."""
    root = tmp_path_factory.mktemp("library")
    build_pack(root, pack_folder(root / "pack"))
    return root / "packs"


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def world(request, tmp_path_factory, clip, library):
    """A running workspace (on each database) with an admin, teams A and B with their coaches
    and members, a stimulus pack, and one analysed recording in each team."""
    tmp = tmp_path_factory.mktemp(f"ws-{request.param}")
    data = tmp / "data"
    data.mkdir()
    db = fresh_db(request.param, data, request)
    add_user(data, db, "root", "admin")
    with workspace(tmp, db, "--quick-training", "--max-upload-mb", "5", "--library", str(library)) as srv:
        yield {"kind": request.param, "tmp": tmp, "data": data, "db": db,
               **set_up_world(srv, clip)}


def test_clip_is_a_short_real_video(clip):
    import av

    with av.open(str(clip)) as c:
        assert sum(1 for _ in c.decode(video=0)) == 36


def test_postgres_cluster_answers(pg_base):
    import psycopg

    with psycopg.connect(pg_base + "postgres") as conn:
        assert conn.execute("select 1").fetchone() == (1,)
