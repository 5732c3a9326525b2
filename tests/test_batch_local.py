"""The local process pool (no scheduler given): through the real ``tells batch`` command, and
with a worker process killed mid-video."""

from __future__ import annotations

import json
import os
import shutil
import signal

import pandas as pd
from conftest import run_cli

from tells.batch import batch_status, run_batch
from tells.batch.bench import distinct_copies
from tells.batch.outputs import STAGING_NAME
from tells.io.samples import sample_path


def test_cli_batch_and_status(tmp_path):
    inputs = tmp_path / "in"
    inputs.mkdir()
    face = shutil.copy(sample_path("single_face.mp4"), inputs / "face.mp4")
    noface = shutil.copy(sample_path("no_face.mp4"), inputs / "room.mp4")
    (inputs / "text.mov").write_text("this is not a video\n")
    out = tmp_path / "out"

    proc = run_cli("batch", str(inputs / "*.m*"), "-o", str(out), "--workers", "2", "--json")
    assert proc.returncode == 1, proc.stderr  # one input failed; the others are done
    assert "Traceback" not in proc.stderr
    summary = json.loads(proc.stdout)
    assert (summary["done"], summary["no_face"], summary["failed"]) == (1, 1, 1)
    assert summary["workers"] == 2
    assert [p["path"] for p in summary["problems"]] == [str(inputs / "text.mov")]
    frames = pd.read_parquet(out / "face" / "frames.parquet")
    assert (frames["face_id"] == 0).all() and frames["frame"].is_unique
    assert json.loads((out / "room" / "run.json").read_text())["faces"] == []

    status = run_cli("batch", "status", str(out), "--json")
    assert status.returncode == 0, status.stderr
    listing = json.loads(status.stdout)
    assert listing["counts"] == {"done": 1, "no_face": 1, "failed": 1}
    by_path = {r["path"]: r for r in listing["inputs"]}
    assert by_path[str(face)]["frames"] == len(frames)
    assert by_path[str(noface)]["error"].startswith("no face")

    text = run_cli("batch", "status", str(out))
    assert text.returncode == 0
    lines = text.stdout.strip().splitlines()
    assert len(lines) == 5 and lines[-1].startswith("3 inputs")
    assert any(str(face) in line and line.startswith("done") for line in lines)

    again = run_cli("batch", str(inputs), "-o", str(out), "--quiet")  # folder: .mov is a video
    assert again.returncode == 1  # the broken file is still broken
    assert "(3 finished by an earlier run)" in again.stdout


def test_local_pool_survives_a_killed_worker(tmp_path):
    videos = distinct_copies(sample_path("single_face.mp4"), 3, tmp_path / "in")
    killed: dict = {}

    def kill_first_busy_worker(event):
        if not killed and event["frames"] > 0:
            killed.update(event)
            os.kill(event["pid"], signal.SIGKILL)

    out = tmp_path / "out"
    s = run_batch([tmp_path / "in"], out, workers=2, retries=1, on_event=kill_first_busy_worker)
    assert killed, "no worker reported progress"
    assert (s.done, s.failed, s.error) == (3, 0, 0)
    rows = {r["hash"]: r for r in batch_status(out)}
    victim = rows[killed["hash"]]
    assert victim["attempts"] == 2 and victim["status"] == "done"
    assert not victim["worker"].endswith(f":{killed['pid']}")
    folders = sorted(p.name for p in out.iterdir() if p.is_dir() and not p.name.startswith("."))
    assert folders == sorted(v.stem for v in videos)
    assert not (out / STAGING_NAME).exists()
