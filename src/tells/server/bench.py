"""``tells bench serve``: the workspace under load on this machine.

A real ``tells serve`` process (SQLite in a temporary data folder unless ``--db``) with one
team, a coach and ``users`` members. One recording is analysed first so the pages have a
report. Then, at once: every member browses (home, team, recording page, report, job
progress, own training progress; a pause of 0.5 to 1.5 s between pages, like a person), and
``uploads`` members each upload a distinct copy of the sample video with its consent record,
whose analyses then run on the worker pool while the browsing goes on. Reported: page latency
(p50, p95, max) over the browsing, failed requests (status ≥ 400 or no answer), uploads lost
(not answered 201, or the stored file's SHA-256 differs from the one sent) and the analyses
finished within the window. Latencies include this client's own overhead (it runs on the same
machine); the load average is reported with them, and the CPU time the web server process
itself used per request (its analysis workers are separate processes), which says how many
requests a core serves whatever else the machine runs.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

PASSWORD = "bench password 1234"


def _start_server(data: Path, db: str, workers: int) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, "-m", "tells", "serve", "--data", str(data), "--db", db,
                             "--port", "0", "--workers", str(workers)],
                            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    line = proc.stderr.readline()
    m = re.search(r"(http://127\.0\.0\.1:\d+/)", line)
    if not m:
        proc.kill()
        raise RuntimeError(f"tells serve did not start: {line}")
    return proc, m.group(1).rstrip("/")


def _csrf(text: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', text).group(1)


async def _login(http, username: str) -> str:
    page = await http.get("/login")
    r = await http.post("/login", data={"csrf": _csrf(page.text), "username": username,
                                        "password": PASSWORD, "next": "/"})
    if r.status_code != 303:
        raise RuntimeError(f"login of {username} failed ({r.status_code})")
    return (await http.get("/api/v1/session")).json()["csrf"]


async def _join(url: str, link: str, username: str):
    import httpx

    http = httpx.AsyncClient(base_url=url, timeout=60)
    page = await http.get(link)
    r = await http.post(link, data={"csrf": _csrf(page.text), "username": username,
                                    "display_name": username, "password": PASSWORD})
    if r.status_code != 303:
        raise RuntimeError(f"{username} could not join ({r.status_code})")
    token = (await http.get("/api/v1/session")).json()["csrf"]
    return http, token


def _consent(token: str, title: str) -> dict:
    return {"csrf": token, "title": title, "subjects": "Bench Prospect", "given_by": "Bench Prospect",
            "given_at": "2026-01-01T10:00", "confirm": "yes",
            "notice": "Emotion recognition (tells) is used on this recorded call."}


def _cpu(pid: int) -> float:
    """CPU seconds the web server process has used (its analysis workers are other processes)."""
    import psutil

    t = psutil.Process(pid).cpu_times()
    return t.user + t.system


async def _run(url: str, server_pid: int, data: Path, video: Path, copies: list[Path], users: int,
               seconds: float, say) -> dict:
    import httpx

    coach = httpx.AsyncClient(base_url=url, timeout=60)
    ctoken = await _login(coach, "coach")
    r = await coach.post("/teams", data={"csrf": ctoken, "name": "Bench team"})
    tid = int(r.headers["location"].rsplit("/", 1)[1])
    say(f"{users} members join by invitation")
    members = []
    for i in range(users):
        r = await coach.post(f"/teams/{tid}/invitations", data={"csrf": ctoken, "role": "member"},
                             headers={"Accept": "application/json"})
        members.append(await _join(url, r.json()["link"], f"member{i:02d}"))
    say("one recording analysed first, so the pages have a report")
    http0, tok0 = members[0]
    r = await http0.post(f"/teams/{tid}/recordings", data=_consent(tok0, "first call"),
                         files={"video": (video.name, video.read_bytes(), "video/mp4")},
                         headers={"Accept": "application/json"})
    first = r.json()
    while (await http0.get(f"/api/v1/jobs/{first['job']}")).json()["status"] not in ("done", "failed"):
        await asyncio.sleep(0.5)
    rid, jid = first["recording"], first["job"]

    lat: list[float] = []
    by_path: dict[str, list[float]] = {}
    failed: list[str] = []
    end = time.monotonic() + seconds
    pages = {"/": "/", f"/teams/{tid}": "/teams/T", f"/recordings/{rid}": "/recordings/R",
             f"/recordings/{rid}/report": "/recordings/R/report", f"/api/v1/jobs/{jid}": "/api/v1/jobs/J",
             "/api/progress": "/api/progress", "/train": "/train"}

    async def browse(http, seed: int):
        rng = random.Random(seed)
        await asyncio.sleep(rng.uniform(0, 1.0))
        while time.monotonic() < end:
            path = rng.choice(list(pages))
            t0 = time.perf_counter()
            try:
                r = await http.get(path)
                ok = r.status_code < 400
            except httpx.HTTPError as exc:
                ok, r = False, exc
            lat.append(time.perf_counter() - t0)
            by_path.setdefault(pages[path], []).append(lat[-1] * 1000)
            if not ok:
                failed.append(f"GET {path}: {getattr(r, 'status_code', r)}")
            await asyncio.sleep(rng.uniform(0.5, 1.5))

    uploads: list[dict] = []

    async def upload(http, token, path: Path):
        body = path.read_bytes()
        t0 = time.perf_counter()
        try:
            r = await http.post(f"/teams/{tid}/recordings", data=_consent(token, path.stem),
                                files={"video": (path.name, body, "video/mp4")},
                                headers={"Accept": "application/json"})
            status = r.status_code
            out = r.json() if status == 201 else {}
        except httpx.HTTPError as exc:
            status, out = str(exc), {}
        uploads.append({"file": path.name, "bytes": len(body), "status": status,
                        "sha256": hashlib.sha256(body).hexdigest(), "seconds": time.perf_counter() - t0,
                        **out})

    say(f"{users} members browse for {seconds:g} s while {len(copies)} upload at once and their analyses run")
    load0 = os.getloadavg()[0]
    cpu0 = _cpu(server_pid)
    await asyncio.gather(*(browse(h, i) for i, (h, _) in enumerate(members)),
                         *(upload(h, t, p) for (h, t), p in zip(members[1:], copies, strict=False)))
    load1 = os.getloadavg()[0]
    cpu1 = _cpu(server_pid)
    lost, done = [], 0
    for u in uploads:
        if u["status"] != 201:
            lost.append(u)
            continue
        rec = (await coach.get(f"/api/v1/recordings/{u['recording']}")).json()
        stored = data / "media" / u["sha256"][:2] / f"{u['sha256']}.mp4"
        if rec.get("media_sha256") != u["sha256"] or not stored.is_file() or \
                hashlib.sha256(stored.read_bytes()).hexdigest() != u["sha256"]:
            lost.append(u)
        if rec["job"]["status"] == "done":
            done += 1
    for h, _ in members:
        await h.aclose()
    await coach.aclose()
    lat_ms = sorted(x * 1000 for x in lat)
    q = statistics.quantiles(lat_ms, n=100) if len(lat_ms) >= 2 else lat_ms * 100
    return {"users": users, "uploads": len(copies), "seconds": seconds, "requests": len(lat_ms),
            "page_p50_ms": round(q[49], 1), "page_p95_ms": round(q[94], 1),
            "page_max_ms": round(lat_ms[-1], 1) if lat_ms else None,
            "p95_by_page_ms": {p: round(sorted(v)[max(0, int(len(v) * 0.95) - 1)], 1)
                               for p, v in sorted(by_path.items())}, "failed_requests": len(failed),
            "failures": failed[:10], "uploads_ok": len(uploads) - len(lost), "uploads_lost": len(lost),
            "upload_seconds_max": round(max((u["seconds"] for u in uploads), default=0), 2),
            "upload_bytes": [u["bytes"] for u in uploads],
            "analyses_done_in_window": done,
            "server_cpu_s": round(cpu1 - cpu0, 2),
            "server_cpu_ms_per_request": round((cpu1 - cpu0) * 1000 / max(1, len(lat_ms)), 1), "load_average": [round(load0, 2), round(load1, 2)],
            "cores": os.cpu_count()}


def bench_serve(users: int = 50, uploads: int = 5, seconds: float = 40.0, db: str | None = None,
                workers: int = 1, video: Path | None = None,
                say: Callable[[str], None] = lambda m: None) -> dict:
    """Run the benchmark (see the module docstring) and return its figures."""
    from tells.batch.bench import distinct_copies
    from tells.io.samples import sample_path

    video = Path(video) if video else sample_path("WolfgangLanger_Pexels.mp4")
    with tempfile.TemporaryDirectory(prefix="tells-bench-serve-") as tmp:
        data = Path(tmp) / "data"
        data.mkdir()
        db_url = db or str(data / "workspace.db")
        copies = distinct_copies(video, uploads, Path(tmp) / "uploads")
        for name, role in (("coach", "coach"),):
            subprocess.run([sys.executable, "-m", "tells", "serve", "user", "add", name, "--role", role,
                            "--data", str(data), "--db", db_url, "--password-stdin"],
                           input=PASSWORD + "\n", text=True, check=True, capture_output=True)
        say("starting tells serve")
        proc, url = _start_server(data, db_url, workers)
        try:
            res = asyncio.run(_run(url, proc.pid, data, video, copies, users, seconds, say))
        finally:
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
        res["db"] = "postgresql" if db_url.startswith("postgres") else "sqlite"
        res["workers"] = workers
        res["video"] = video.name
        return res
