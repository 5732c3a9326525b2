"""The workspace through a real ``tells serve`` process, on SQLite and on a real PostgreSQL
server (one running workspace per database, shared by every test here):

- the API with httpx: accounts and invitations, an upload with its consent record analysed by
  a job, the recording page and report, notes, training under the account, the dashboard,
  export and erasure;
- every route against every role, and the attacks the workspace must stop: other teams'
  recordings, other people's training, path traversal, oversized and non-video uploads,
  missing and replayed CSRF tokens, session fixation, brute force, cross-site posts, DNS
  rebinding;
- in real headless Chromium (on SQLite): a coach creates a team and invites a member; the
  member joins, uploads the clip with its consent record, watches the job finish, opens the
  report, trains a short session; the coach's dashboard shows the member's progress.
  Screenshots go to ``$TELLS_SERVER_SCREENSHOTS`` when set.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import zipfile
from pathlib import Path

import httpx
import pytest
import test_server_support as sup
from browser import browser_page
from test_server_support import PASSWORD, Client, accept_invite

from tells.trainer.emotions import EMOTIONS
from tells.trainer.packs import load_pack

clip, pg_base, library, world = sup.clip, sup.pg_base, sup.library, sup.world  # fixtures
SHOTS = os.environ.get("TELLS_SERVER_SCREENSHOTS")


def test_upload_is_analysed_by_a_job_and_the_page_shows_report_and_consent(world):
    ann, ja = world["ann"], world["job_a"]
    assert ja["status"] == "done", ja
    assert ja["attempts"] == 1 and ja["frames_done"] == ja["frames_total"] == 36
    assert ja["result"]["faces"] >= 1
    rec = ann.get(f"/api/v1/recordings/{world['rec_a']}").json()
    assert rec["status"] == "analysed" and isinstance(rec["events"], list)
    # content-addressed: the media file is named by its SHA-256, the analysis folder too
    data = world["tmp"] / "data"
    assert (data / "media" / rec["media_sha256"][:2] / f"{rec['media_sha256']}.mp4").is_file()
    assert (data / "analyses" / rec["analysis_sha256"] / "events.csv").is_file()
    page = ann.get(f"/recordings/{world['rec_a']}")
    assert page.status_code == 200
    assert "Pat Prospect" in page.text and "Emotion recognition (tells)" in page.text
    assert f'src="/recordings/{world["rec_a"]}/report"' in page.text
    report = ann.get(f"/recordings/{world['rec_a']}/report")
    assert report.status_code == 200 and "<html" in report.text.lower()
    assert "sandbox" in report.headers["content-security-policy"]


def test_notes_on_moments(world):
    ann, bob, rid = world["ann"], world["bob"], world["rec_a"]
    r = ann.post(f"/recordings/{rid}/notes", {"verdict": "saw", "event_index": "0", "t": "0.8",
                                              "text": "the lip corner"})
    assert r.status_code == 303
    r = bob.post(f"/recordings/{rid}/notes", {"verdict": "missed", "event_index": "0", "t": "0.8"})
    assert r.status_code == 303
    page = world["coach"].get(f"/recordings/{rid}").text
    notes = re.findall(r'<li class="note">(.*?)</li>', page, re.S)
    assert any("Ann" in n and "saw" in n and "the lip corner" in n for n in notes)
    assert any("Bob" in n and "missed" in n for n in notes)
    assert ann.post(f"/recordings/{rid}/notes", {"verdict": "guess", "t": "1"}).status_code == 400


def test_upload_without_consent_is_refused_and_nothing_is_kept(world, clip):
    ann = world["ann"]
    before = sorted(p.name for p in (world["tmp"] / "data" / "media").rglob("*") if p.is_file())
    r = ann.upload(world["ta"], clip, consent=False, title="no consent")
    assert r.status_code == 400 and "consent" in r.json()["error"]
    for missing in ("subjects", "given_by", "given_at", "confirm"):
        r = ann.upload(world["ta"], clip, title="partial", **{missing: ""})
        assert r.status_code == 400 and "consent" in r.json()["error"], missing
    after = sorted(p.name for p in (world["tmp"] / "data" / "media").rglob("*") if p.is_file())
    assert after == before
    assert list((world["tmp"] / "data" / "staging").glob("upload-*")) == []
    team = ann.get(f"/teams/{world['ta']}").text
    assert "no consent" not in team and "partial" not in team


def test_login_logout_and_wrong_password(world):
    c = Client(world["srv"].url)
    assert c.login("ann", "not the password").status_code == 401
    assert c.get("/").status_code == 303  # to the login page
    assert c.login("ann").status_code == 303
    assert c.get("/").status_code == 200
    assert c.post("/logout").status_code == 303
    assert c.get("/api/v1/session").status_code == 401


def test_training_in_the_workspace_is_the_accounts_own(world):
    """A session through the trainer's own JSON API, under ann's account whatever name the
    browser sends; bob does not see it; the coach's dashboard does."""
    ann, bob, coach = world["ann"], world["bob"], world["coach"]
    state = ann.get("/api/state").json()
    assert [p["name"] for p in state["packs"]] == ["starter"]
    assert [t["name"] for t in state["trainees"]] == ["ann"]
    # the coach assigns the pack to ann with a due date; ann's home page lists it
    r = coach.post(f"/teams/{world['ta']}/assignments", {"pack": "starter", "due": "2030-01-31",
                                                        "user": str(_uid(ann))})
    assert r.status_code == 303
    assert re.search(r"Pack <b>starter</b>, due 2030-01-31</li>", ann.get("/").text)
    assert "Pack <b>starter</b>" not in bob.get("/").text
    h = {"X-CSRF-Token": ann.token}
    step = ann.http.post("/api/sessions", json={"trainee": "someone else"}, headers=h).json()
    sid = step["session"]
    while step["kind"] != "report":
        if step["kind"] == "lesson":
            step = ann.http.post(f"/api/sessions/{sid}/lesson", json={"index": step["index"]}, headers=h).json()
        else:
            res = ann.http.post(f"/api/sessions/{sid}/answer", headers=h,
                                json={"index": step["index"], "answer": "happiness", "measured_ms": step["set_ms"]}).json()
            step = res["next"]
    assert step["report"]["trainee"] == "ann"
    assert bob.get(f"/api/sessions/{sid}").status_code == 404
    assert bob.get("/api/progress").json() == []
    assert [t["name"] for t in ann.get("/api/progress").json()] == ["ann"]
    dash = coach.get(f"/teams/{world['ta']}/dashboard", headers={"Accept": "application/json"}).json()
    row = next(m for m in dash["members"] if m["username"] == "ann")
    assert row["sessions"] == 1 and row["post"] is not None
    assert [a["done"] for a in row["assignments"]] == [True]
    assert set(row["per_emotion"][0]) >= {"session", "happiness", "surprise"}
    assert step["report"]["posttest_accuracy"] == row["post"]
    assert bob.get(f"/api/v1/training/{_uid(ann)}").status_code == 404
    assert coach.get(f"/api/v1/training/{_uid(ann)}").json()["sessions"] == 1
    # without the CSRF header the trainer API refuses to change anything
    assert ann.http.post("/api/sessions", json={}).status_code == 403


def _uid(c: Client) -> int:
    return c.get("/api/v1/session").json()["user"]["id"]


def test_export_and_erasure_of_a_recorded_person(world, clip):
    coach, ann = world["coach"], world["ann"]
    r = ann.upload(world["ta"], clip, title="to erase", subjects="Erin Erasable", given_by="Erin Erasable")
    rid, jid = r.json()["recording"], r.json()["job"]
    ann.wait_job(jid)
    people = coach.get(f"/teams/{world['ta']}/people").text
    pid = int(re.search(r'data-person="(\d+)"><td>Erin Erasable', people).group(1))
    z = coach.get(f"/people/{pid}/export")
    assert z.status_code == 200 and z.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(z.content)) as zf:
        names = zf.namelist()
        meta = json.loads(zf.read("person.json"))
    assert meta["person"] == "Erin Erasable" and [x["id"] for x in meta["recordings"]] == [rid]
    assert f"recording-{rid}/media.mp4" in names
    assert ann.get(f"/people/{pid}/export").status_code == 403  # members do not export
    rec = ann.get(f"/api/v1/recordings/{rid}").json()
    assert coach.post(f"/people/{pid}/erase").status_code == 303
    assert ann.get(f"/api/v1/recordings/{rid}").status_code == 404
    # the same clip is held by other recordings: its media file stays for them
    data = world["tmp"] / "data"
    assert (data / "media" / rec["media_sha256"][:2] / f"{rec['media_sha256']}.mp4").is_file()
    audit = coach.get(f"/teams/{world['ta']}/audit", headers={"Accept": "application/json"}).json()
    actions = [a["action"] for a in audit]
    assert "erase.person" in actions and "export.person" in actions and "upload" in actions
    assert "view" in actions and "job.done" in actions


# roles and attacks ----------------------------------------------------------------------
ROLES = ("anon", "ann", "bob", "dan", "coach", "coach_b", "admin")
#: (method, path template, expected status per role). ann and bob are members of team A
#: (ann uploaded its recording), dan a member of team B; coach/coach_b coach A/B.
#: 303 for a page means "to the login page" (anon) or done (a post), 401 anon on the API.
MATRIX = [
    ("GET", "/", dict(anon=303, ann=200, bob=200, dan=200, coach=200, coach_b=200, admin=200)),
    ("GET", "/teams/{ta}", dict(anon=303, ann=200, bob=200, dan=404, coach=200, coach_b=404, admin=200)),
    ("GET", "/teams/{ta}/upload", dict(anon=303, ann=200, bob=200, dan=404, coach=200, coach_b=404, admin=200)),
    ("GET", "/recordings/{rec_a}", dict(anon=303, ann=200, bob=200, dan=404, coach=200, coach_b=404, admin=200)),
    ("GET", "/recordings/{rec_a}/report", dict(anon=303, ann=200, bob=200, dan=404, coach=200, coach_b=404, admin=200)),
    ("GET", "/recordings/{rec_a}/media", dict(anon=404, ann=200, bob=200, dan=404, coach=200, coach_b=404, admin=200)),
    ("GET", "/recordings/{rec_a}/media?exp=9999999999&sig=00", dict(anon=404, dan=404)),
    ("GET", "/api/v1/recordings/{rec_a}", dict(anon=401, ann=200, bob=200, dan=404, coach=200, coach_b=404, admin=200)),
    ("GET", "/api/v1/recordings/{rec_b}", dict(anon=401, ann=404, bob=404, dan=200, coach=404, coach_b=200, admin=200)),
    ("GET", "/api/v1/jobs/{job_a}", dict(anon=401, ann=200, bob=200, dan=404, coach=200, coach_b=404, admin=200)),
    ("GET", "/teams/{ta}/dashboard", dict(anon=303, ann=403, bob=403, dan=404, coach=200, coach_b=404, admin=200)),
    ("GET", "/teams/{ta}/people", dict(anon=303, ann=403, bob=403, dan=404, coach=200, coach_b=404, admin=200)),
    ("GET", "/teams/{ta}/audit", dict(anon=303, ann=403, bob=403, dan=404, coach=200, coach_b=404, admin=200)),
    ("GET", "/people/{person_a}/export", dict(anon=303, ann=403, bob=403, dan=404, coach=200, coach_b=404, admin=200)),
    ("GET", "/api/v1/training/{ann_id}", dict(anon=401, ann=200, bob=404, dan=404, coach=200, coach_b=404, admin=200)),
    ("GET", "/users/{ann_id}/export", dict(anon=303, ann=200, bob=403, dan=403, coach=403, coach_b=403, admin=200)),
    ("GET", "/train", dict(anon=303, ann=200, bob=200, dan=200, coach=200, coach_b=200, admin=200)),
    ("GET", "/api/state", dict(anon=403, ann=200, bob=200, dan=200, coach=200, coach_b=200, admin=200)),
    ("GET", "/api/review", dict(anon=403, ann=403, bob=403, dan=403, coach=200, coach_b=200, admin=200)),
    ("POST", "/teams", dict(anon=401, ann=403, bob=403, dan=403)),
    ("POST", "/teams/{ta}/invitations", dict(anon=401, ann=403, bob=403, dan=404, coach=200, coach_b=404, admin=200)),
    ("POST", "/teams/{ta}/retention", dict(anon=401, ann=403, bob=403, dan=404, coach=303, coach_b=404, admin=303)),
    ("POST", "/teams/{ta}/assignments", dict(anon=401, ann=403, bob=403, dan=404, coach=400, coach_b=404, admin=400)),
    ("POST", "/recordings/{rec_a}/notes", dict(anon=401, ann=303, bob=303, dan=404, coach=303, coach_b=404, admin=303)),
    ("POST", "/recordings/{rec_a}/delete", dict(anon=401, bob=403, dan=404, coach_b=404)),
    ("POST", "/people/{person_a}/erase", dict(anon=401, ann=403, bob=403, dan=404, coach_b=404)),
    ("POST", "/users/{ann_id}/erase", dict(anon=401, ann=403, bob=403, dan=403, coach=403, coach_b=403)),
    ("POST", "/teams/{ta}/recordings", dict(anon=401, dan=404, coach_b=404)),
]
#: harmless bodies for the posts (authorised roles get a real answer)
BODIES = {"/teams/{ta}/invitations": {"role": "member"}, "/teams/{ta}/retention": {"keep_derived": "1"},
          "/teams/{ta}/assignments": {"pack": "no-such-pack", "due": "2030-01-01"},
          "/recordings/{rec_a}/notes": {"verdict": "saw", "t": "0.5"}, "/teams": {"name": "Z"}}


@pytest.fixture(scope="session")
def ids(world):
    ann = world["ann"].get("/api/v1/session").json()["user"]["id"]
    people = world["coach"].get(f"/teams/{world['ta']}/people").text
    person = int(re.search(r'data-person="(\d+)"><td>Pat Prospect', people).group(1))
    return {"ta": world["ta"], "rec_a": world["rec_a"], "rec_b": world["rec_b"],
            "job_a": world["job_a"]["id"], "ann_id": ann, "person_a": person}


def test_every_route_against_every_role(world, ids):
    clients = {r: (Client(world["srv"].url) if r == "anon" else world[r]) for r in ROLES}
    failures = []
    for method, tmpl, expect in MATRIX:
        path = tmpl.format(**ids)
        for role, status in expect.items():
            c = clients[role]
            if method == "GET":
                r = c.get(path)
            elif tmpl == "/teams/{ta}/recordings":
                r = c.http.post(path, files={"video": ("x.mp4", b"0" * 10)},
                                data={"csrf": c.token or ""})
            else:
                r = c.post(path, BODIES.get(tmpl, {}))
            if r.status_code != status:
                failures.append(f"{method} {path} as {role}: {r.status_code}, expected {status}")
            if status in (403, 404) and method == "GET" and tmpl.startswith("/recordings"):
                assert "Discovery call" not in r.text  # nothing of the recording leaks
    assert failures == []
    # a 404 on another team's recording is the same answer as for a recording that does not exist
    assert world["dan"].get("/api/v1/recordings/999999").status_code == 404


def test_member_sees_only_own_teams_in_lists(world):
    home = world["dan"].get("/").text
    assert "Team B" in home and "Team A" not in home and "Discovery call" not in home
    assert "B call" in home
    assert {t["name"] for t in world["dan"].get("/api/progress").json()} <= {"dan"}
    assert {t["name"] for t in world["dan"].get("/api/state").json()["trainees"]} == {"dan"}


def test_path_traversal_is_refused(world):
    ann, data = world["ann"], world["data"]
    for path in ("/ws/../app.py", "/ws/%2e%2e/app.py", "/static/..%2Fserver.py", "/static/../server.py",
                 "/media/..%2F..%2Fworkspace.db", "/media/starter/../../workspace.db",
                 "/recordings/1%2F..%2F..%2Fworkspace.db/report", "/ws/..%2F..%2Fdb.py"):
        r = ann.get(path)
        assert r.status_code in (400, 404), (path, r.status_code)
        assert b"SQLite format" not in r.content and b"import" not in r.content[:200]
    # an upload's own file name never becomes a path on disk
    r = ann.upload(world["ta"], stored_clip(world), name="../../../../tmp/evil.mp4", title="traversal")
    assert r.status_code == 201
    assert not any("evil" in p.name for p in data.rglob("*"))


def stored_clip(world):
    return next((world["data"] / "media").rglob("*.mp4"))


def test_bad_uploads(world, tmp_path):
    ann, ta = world["ann"], world["ta"]
    staging = world["data"] / "staging"
    # too large (the test server's limit is 5 MB): refused by its declared length ...
    r = ann.upload(ta, None, content=b"\0" * 6_000_000)
    assert r.status_code == 413
    # ... and while streaming when no length is declared (chunked)
    body = _multipart(ann.token, b"\0" * 7_000_000)

    def chunks():
        for i in range(0, len(body[1]), 65536):
            yield body[1][i:i + 65536]
    r = ann.http.post(f"/teams/{ta}/recordings", content=chunks(),
                      headers={"Content-Type": body[0], "Accept": "application/json"})
    assert r.status_code == 413
    # not videos, whatever their names say: text, an image, audio only, a truncated MP4
    png = _png()
    wav = _wav()
    head = stored_clip(world).read_bytes()[:3000]
    for name, content in (("call.mp4", b"hello, I am not a video\n" * 100), ("call.mp4", png),
                          ("call.mp4", wav), ("call.mp4", head), ("call.mp4", b"")):
        r = ann.upload(ta, None, content=content, name=name, title="bad")
        assert r.status_code == 400, (len(content), r.text)
        assert "video" in r.json()["error"] or "image" in r.json()["error"]
    assert list(staging.glob("upload-*")) == []
    assert "bad" not in re.findall(r">([^<]+)</a></td>", ann.get(f"/teams/{ta}").text)


def _multipart(token, payload):
    boundary = "tellsboundary123"
    parts = []
    for k, v in (("csrf", token), ("title", "big"), ("subjects", "X"), ("given_by", "X"),
                 ("given_at", "2026-11-30T10:00"), ("confirm", "yes"),
                 ("notice", "Emotion recognition is used on this call.")):
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode())
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="video"; filename="a.mp4"\r\n'
                 f'Content-Type: video/mp4\r\n\r\n'.encode() + payload + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return f"multipart/form-data; boundary={boundary}", b"".join(parts)


def _png() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (64, 64), (200, 100, 50)).save(buf, "PNG")
    return buf.getvalue()


def _wav() -> bytes:
    import wave

    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\0\1" * 8000)
    return buf.getvalue()


def test_csrf_missing_wrong_and_replayed(world):
    url, ta = world["srv"].url, world["ta"]
    coach = Client(url)
    assert coach.login("carla").status_code == 303
    old = coach.token
    assert coach.post(f"/teams/{ta}/invitations", {"role": "member"}, csrf=False).status_code == 403
    assert coach.post(f"/teams/{ta}/invitations", {"role": "member", "csrf": "x" * 43}).status_code == 403
    assert coach.post(f"/teams/{ta}/invitations", {"role": "member"}).status_code == 200
    # another session's token does not work with this session's cookie
    other = world["coach"].token
    assert other != old
    assert coach.post(f"/teams/{ta}/invitations", {"role": "member", "csrf": other}).status_code == 403
    # after logging out and in again, the old token is dead (replay)
    assert coach.post("/logout").status_code == 303
    assert coach.login("carla").status_code == 303
    assert coach.token != old
    assert coach.post(f"/teams/{ta}/invitations", {"role": "member", "csrf": old}).status_code == 403
    # the trainer's JSON API inside the workspace wants the token too
    assert coach.http.post("/api/review", json={"item": "x", "status": "accepted"}).status_code == 403
    # a post from another site is refused even with a token
    r = coach.http.post(f"/teams/{ta}/invitations", data={"role": "member", "csrf": coach.token},
                        headers={"Origin": "http://evil.example"})
    assert r.status_code == 403
    # the login form itself has a token (login CSRF)
    fresh = Client(url)
    assert fresh.http.post("/login", data={"username": "carla", "password": PASSWORD}).status_code == 403


def test_session_fixation_and_cookie_flags(world):
    url = world["srv"].url
    c = Client(url)
    planted = "attacker-chosen-session-value-0123456789abcdef"
    c.http.cookies.set("tells_session", planted, domain="127.0.0.1")
    assert c.get("/api/v1/session").status_code == 401
    page = c.get("/login")
    pre = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    r = c.http.post("/login", data={"csrf": pre, "username": "bob", "password": PASSWORD})
    assert r.status_code == 303
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax")
    new = re.search(r"tells_session=([^;]+)", cookie).group(1)
    assert new != planted
    attacker = httpx.Client(base_url=url, cookies={"tells_session": planted})
    assert attacker.get("/api/v1/session").status_code == 401
    # the session made before a new login ends with it
    c2 = httpx.Client(base_url=url, cookies={"tells_session": new})
    assert c2.get("/api/v1/session").status_code == 200
    page = c2.get("/login")
    pre = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    r = c2.post("/login", data={"csrf": pre, "username": "bob", "password": PASSWORD})
    assert r.status_code == 303
    stale = httpx.Client(base_url=url, cookies={"tells_session": new})
    assert stale.get("/api/v1/session").status_code == 401


def test_brute_force_login_is_rate_limited(world):
    url = world["srv"].url
    accept_invite(url, world["coach"].invite(world["ta"]), f"victim{world['kind'][:2]}")
    name = f"victim{world['kind'][:2]}"
    c = Client(url)
    codes = [c.login(name, f"guess number {i}").status_code for i in range(5)]
    assert codes == [401] * 5
    assert c.login(name).status_code == 429  # even the right password, until the window ends
    assert Client(url).login("bob").status_code == 303  # other accounts are not locked


def test_invitation_links_are_one_time(world):
    url = world["srv"].url
    link = world["coach"].invite(world["ta"])
    accept_invite(url, link, f"once{world['kind'][:2]}")
    assert Client(url).get(link).status_code == 404
    bad = link.rsplit("/", 1)[0] + "/" + "A" * 43
    assert Client(url).get(bad).status_code == 404


def test_other_hosts_refused(world):
    r = httpx.get(world["srv"].url + "login", headers={"Host": "evil.example"})
    assert r.status_code == 403


def test_user_export_and_erasure(world):
    url, admin = world["srv"].url, world["admin"]
    name = f"leaver{world['kind'][:2]}"
    leaver = accept_invite(url, world["coach"].invite(world["ta"]), name)
    uid = leaver.get("/api/v1/session").json()["user"]["id"]
    assert leaver.post(f"/recordings/{world['rec_a']}/notes", {"verdict": "saw", "t": "0.2", "text": "mine"}).status_code == 303
    data = leaver.get(f"/users/{uid}/export").json()
    assert data["user"]["username"] == name and [n["text"] for n in data["notes"]] == ["mine"]
    assert admin.post(f"/users/{uid}/erase").status_code == 200
    assert leaver.get("/api/v1/session").status_code == 401
    assert Client(url).login(name).status_code == 401
    assert "mine" not in world["coach"].get(f"/recordings/{world['rec_a']}").text


# the browser flow -----------------------------------------------------------------------
def shot(page, name: str, tmp_path: Path) -> None:
    p = tmp_path / f"{name}.png"
    page.screenshot(path=str(p), full_page=True)
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        shutil.copy(p, Path(SHOTS) / p.name)


def login(page, url: str, username: str) -> None:
    page.goto(url + "login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("#login")
    page.wait_for_selector("#logout")


@pytest.mark.browser
@pytest.mark.parametrize("world", ["sqlite"], indirect=True)  # the browser flow runs once
def test_coach_invites_member_who_uploads_and_trains(world, clip, library, tmp_path):
    url = world["srv"].url
    truth = {it.key: it.emotion for it in load_pack(library / "starter").items}
    with browser_page() as (page, errors):
        failed = []
        page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
        # the coach makes a team and an invitation link
        login(page, url, "carla")
        page.fill("#team-name", "Workshop")
        page.click("#create-team")
        page.wait_for_selector("#make-invite")
        page.click("#make-invite")
        link = page.inner_text("#invite-link").strip()
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/invite/[\w-]{40,}", link)
        shot(page, "01-coach-invites", tmp_path)
        page.click("#logout")
        page.wait_for_selector("#login-form")

        # the member joins with the link and is logged in
        page.goto(link)
        page.fill("#username", "mia")
        page.fill("#display_name", "Mia Member")
        page.fill("#password", PASSWORD)
        page.click("#join")
        page.wait_for_selector("#upload-link")
        assert "Workshop" in page.inner_text("h1")

        # upload with the consent record
        page.click("#upload-link")
        page.fill("#title", "Mia's discovery call")
        page.set_input_files("#video", str(clip))
        page.fill("#subjects", "Pat Prospect")
        page.fill("#given_by", "Pat Prospect")
        page.fill("#given_at", "2026-11-30T10:00")
        assert "emotion-recognition" in page.input_value("#notice")
        page.check("#confirm")
        shot(page, "02-upload-with-consent", tmp_path)
        page.click("#upload")
        page.wait_for_selector("#job")
        shot(page, "03-job-running", tmp_path)
        # the page follows the job and reloads with the report when it is done
        page.wait_for_selector('#job[data-status="done"]', timeout=240_000)
        page.wait_for_selector("iframe#report", timeout=30_000)
        report = page.frame_locator("iframe#report")
        report.locator("body[data-ready='1']").wait_for(timeout=30_000)
        frame = next(f for f in page.frames if f.url.endswith("/report"))
        # the sandboxed report plays the video through its signed link
        frame.wait_for_function("document.querySelector('video') && document.querySelector('video').readyState >= 1",
                                timeout=30_000)
        assert "Pat Prospect" in page.inner_text("#consent")
        shot(page, "04-report", tmp_path)

        # a short training session under the account
        page.click("#nav-train")
        page.wait_for_selector("#trainee")
        assert page.input_value("#trainee") == "mia"
        page.keyboard.press("Enter")
        index, answers = 0, []
        while True:
            page.wait_for_selector(f'#app[data-step="{index}"]', timeout=20_000)
            view = page.get_attribute("#app", "data-view")
            if view == "report":
                break
            if view == "lesson":
                page.keyboard.press("Enter")
                index += 1
                continue
            page.wait_for_selector("#answers[data-ready]", timeout=20_000)
            phase = page.get_attribute("#stage", "data-phase")
            shown = truth[page.get_attribute("#stage", "data-item")]
            answer = shown if phase != "pretest" else EMOTIONS[(EMOTIONS.index(shown) + 1) % 7]
            page.keyboard.press(str(EMOTIONS.index(answer) + 1))
            answers.append(phase)
            if phase == "practice":
                page.wait_for_selector("#feedback[data-shown]")
                page.keyboard.press("Enter")
            index += 1
        page.wait_for_selector("#report-title")
        assert "mia" in page.inner_text("#report-title")
        shot(page, "05-training-report", tmp_path)
        page.click("#logout")
        page.wait_for_selector("#login-form")

        # the coach sees the member's progress
        login(page, url, "carla")
        page.click("text=Workshop")
        page.click("#dashboard-link")
        card = page.locator('.member-progress[data-user="mia"]')
        card.wait_for()
        pre, post = card.locator(".pre").inner_text(), card.locator(".post").inner_text()
        shot(page, "06-coach-dashboard", tmp_path)
        assert errors == [], (errors, failed)
    # pre-test answered wrong on purpose, post-test right: the dashboard shows what was done
    assert answers.count("pretest") == 2 and answers.count("posttest") == 2
    assert (pre, post) == ("0%", "100%")
