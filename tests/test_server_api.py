"""The workspace through a real ``tells serve`` process and httpx, on SQLite and on a real
PostgreSQL server: accounts and invitations, an upload with its consent record analysed by a
job, the recording page and report, notes, training under the account, the dashboard."""

from __future__ import annotations

import json
import re

import test_server_support as sup
from test_server_support import Client

clip, pg_base, library, world = sup.clip, sup.pg_base, sup.library, sup.world  # fixtures


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
    import io
    import zipfile

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
