"""Analysis jobs and retention across process boundaries: a server killed during an analysis
finishes the job once after a restart, its worker processes do not outlive it, and the
retention policy deletes media (and, unless kept, derived tables) by ``tells serve purge`` and
by the server's scheduled round."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import psutil
import pytest
import test_server_support as sup
from test_server_support import Client, add_user, cut_clip, make_team, workspace

clip = sup.clip  # fixture


@pytest.fixture(scope="module")
def long_clip(tmp_path_factory):
    return cut_clip(tmp_path_factory.mktemp("long") / "long.mp4", frames=100, start=100)


def _audit(db, action, target):
    with sqlite3.connect(db) as conn:
        return conn.execute("select count(*) from ws_audit where action=? and target=?",
                            (action, target)).fetchone()[0]


def test_killed_server_finishes_the_job_once_after_restart(tmp_path, long_clip):
    data = tmp_path / "data"
    data.mkdir()
    db = str(data / "workspace.db")
    add_user(data, db, "root", "admin")
    with workspace(tmp_path, db) as srv:
        c = Client(srv.url)
        assert c.login("root").status_code == 303
        tid = make_team(c, "T")
        r = c.upload(tid, long_clip)
        assert r.status_code == 201, r.text
        rid, jid = r.json()["recording"], r.json()["job"]
        seen = []
        end = time.monotonic() + 180
        while time.monotonic() < end:
            j = c.get(f"/api/v1/jobs/{jid}").json()
            if j["status"] == "running" and j["frames_done"] > 0:
                seen.append(j["frames_done"])
                if len(set(seen)) >= 2:
                    break
            assert j["status"] in ("queued", "running"), j
            time.sleep(0.3)
        assert len(set(seen)) >= 2 and max(seen) < 100, seen  # live progress, not finished yet
        family = psutil.Process(srv.proc.pid).children(recursive=True)
        assert family  # the worker pool's processes
        srv.kill()
        gone, alive = psutil.wait_procs(family, timeout=30)
        assert alive == []  # no worker outlives the server
        # restart on the same data: the same browser session still works
        srv.start()
        j = c.wait_job(jid)
    assert j["status"] == "done" and j["attempts"] == 2, j
    assert j["frames_done"] == 100
    assert _audit(db, "job.done", f"recording:{rid}") == 1
    assert len(list((data / "analyses").iterdir())) == 1
    assert [p for p in (data / "staging").rglob("*") if p.is_file()] == []


def test_retention_by_the_scheduled_round_and_by_purge_command(tmp_path, clip):
    data = tmp_path / "data"
    data.mkdir()
    db = str(data / "workspace.db")
    add_user(data, db, "root", "admin")

    def backdate(rid):  # 40 days pass for this recording
        old = (datetime.now(UTC) - timedelta(days=40)).strftime("%Y-%m-%d %H:%M:%S.000000")
        with sqlite3.connect(db) as conn:
            conn.execute("update ws_recordings set uploaded_at=? where id=?", (old, rid))

    def row(rid):
        with sqlite3.connect(db) as conn:
            return conn.execute("select media_hash, analysis_hash from ws_recordings where id=?",
                                (rid,)).fetchone()

    with workspace(tmp_path, db, env={"TELLS_RETENTION_EVERY_S": "1"}) as srv:
        c = Client(srv.url)
        assert c.login("root").status_code == 303
        keep, drop = make_team(c, "Keeps tables"), make_team(c, "Deletes all")
        assert c.post(f"/teams/{keep}/retention", {"days": "30", "keep_derived": "1"}).status_code == 303
        assert c.post(f"/teams/{drop}/retention", {"days": "7"}).status_code == 303
        recs = {}
        for tid in (keep, drop):
            r = c.upload(tid, clip).json()
            c.wait_job(r["job"])
            recs[tid] = r["recording"]
        h, a = row(recs[keep])
        media = data / "media" / h[:2] / f"{h}.mp4"
        analysis = data / "analyses" / a
        assert media.is_file() and (analysis / "report.html").is_file()
        # the server's scheduled round deletes the old recording's media and tables ...
        backdate(recs[drop])
        end = time.monotonic() + 60
        while time.monotonic() < end and row(recs[drop]) != (None, None):
            time.sleep(0.5)
        assert row(recs[drop]) == (None, None)
        assert "media deleted" in c.get(f"/recordings/{recs[drop]}").text
        # ... but not the files: the other team's (younger) recording holds the same content
        assert media.is_file() and analysis.is_dir()
        assert row(recs[keep]) == (h, a)
    assert _audit(db, "purge", f"recording:{recs[drop]}") == 1
    # with the server stopped, 'tells serve purge' applies the other team's policy
    backdate(recs[keep])
    out = subprocess.run([sys.executable, "-m", "tells", "serve", "purge", "--data", str(data), "--db", db],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "1 recording(s), 1 media file(s) deleted, 0 analysis(es) deleted" in out.stdout
    assert not media.exists()
    assert row(recs[keep]) == (None, a) and (analysis / "report.html").is_file()  # tables kept
    assert _audit(db, "purge", f"recording:{recs[keep]}") == 1
