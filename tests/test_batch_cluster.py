"""``run_batch`` against a real Dask ``LocalCluster`` (two worker processes on 127.0.0.1) with
copies of the real sample videos: results, catalogue, reruns, a corrupt file, and a worker
process killed mid-video."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal

import av
import pandas as pd
import pytest
from conftest import run_cli

from tells.batch import batch_status, run_batch
from tells.batch.bench import distinct_copies
from tells.batch.outputs import STAGING_NAME
from tells.io.samples import sample_path


@pytest.fixture(scope="module")
def cluster():
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as c:
        yield c


def decoded_frames(path) -> int:
    with av.open(str(path)) as c:
        return sum(1 for _ in c.decode(video=0))


def sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def result_folders(out) -> list:
    return sorted(p for p in out.iterdir() if p.is_dir() and not p.name.startswith("."))


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """Two distinct face videos (one in a subfolder), a faceless one, a byte-identical
    duplicate, a corrupt file, and a text file the folder walk must ignore."""
    root = tmp_path_factory.mktemp("inputs")
    face_a, face_b = distinct_copies(sample_path("single_face.mp4"), 2, root / "calls")
    (root / "calls" / "week2").mkdir()
    face_b = face_b.rename(root / "calls" / "week2" / "b.mp4")
    noface = shutil.copy(sample_path("no_face.mp4"), root / "calls" / "empty_room.mp4")
    shutil.copy(face_a, root / "calls" / "week2" / "same_as_a.mp4")
    corrupt = root / "calls" / "broken.mp4"
    corrupt.write_bytes(sample_path("single_face.mp4").read_bytes()[:3000])
    (root / "calls" / "notes.txt").write_text("not a video")
    return {"root": root / "calls", "face": [face_a, face_b], "noface": noface,
            "corrupt": corrupt}


@pytest.fixture(scope="module")
def first_run(cluster, inputs, tmp_path_factory):
    out = tmp_path_factory.mktemp("out")
    seen = []
    summary = run_batch([inputs["root"]], out, scheduler=cluster.scheduler_address,
                        on_progress=lambda p: seen.append(
                            (p.videos_done, p.videos_total, p.frames_done)))
    return out, summary, seen


@pytest.fixture(scope="module")
def reference(inputs, tmp_path_factory):
    """What ``tells analyze`` writes for one of the inputs."""
    ref = tmp_path_factory.mktemp("analyze")
    proc = run_cli("analyze", str(inputs["face"][0]), "-o", str(ref), "--quiet")
    assert proc.returncode == 0, proc.stderr
    return {"files": sorted(p.name for p in ref.iterdir()),
            "columns": list(pd.read_parquet(ref / "frames.parquet").columns)}


def test_every_input_has_its_result(first_run, inputs, reference):
    out, s, _ = first_run
    assert (s.found, s.duplicates, s.analysed) == (5, 1, 4)
    assert (s.done, s.no_face, s.failed, s.error, s.skipped) == (2, 1, 1, 0, 0)
    assert not s.ok
    rows = {r["path"]: r for r in batch_status(out)}
    assert len(rows) == 4
    for video in inputs["face"]:
        row = rows[str(video)]
        assert row["hash"] == sha256(video)
        assert (row["status"], row["faces"], row["error"]) == ("done", 1, None)
        folder = out / row["output"]
        assert sorted(p.name for p in folder.iterdir()) == reference["files"]
        frames = pd.read_parquet(folder / "frames.parquet")
        assert list(frames.columns) == reference["columns"]
        assert row["frames"] == frames["frame"].nunique() == decoded_frames(video)
        assert len(pd.read_csv(folder / "frames.csv")) == len(frames)
        run = json.loads((folder / "run.json").read_text())
        assert run["input"]["path"] == str(video) and run["faces"] == [0]
        assert row["duration_s"] == pytest.approx(run["input"]["duration_s"])
    noface = rows[str(inputs["noface"])]
    assert noface["status"] == "no_face" and noface["faces"] == 0
    assert "no face" in noface["error"]
    assert (out / noface["output"] / "run.json").is_file()
    assert not (out / STAGING_NAME).exists()


def test_corrupt_file_is_reported_and_the_batch_goes_on(first_run, inputs):
    out, s, _ = first_run
    corrupt = str(inputs["corrupt"])
    (row,) = [r for r in batch_status(out) if r["path"] == corrupt]
    assert row["status"] == "failed" and corrupt in row["error"]
    assert not (out / row["output"]).exists()
    assert s.problems == [{"path": corrupt, "status": "failed", "error": row["error"]}]
    assert len(result_folders(out)) == 3


def test_progress_covers_the_whole_batch(first_run):
    _, s, seen = first_run
    assert seen[-1][:2] == (4, 4)
    assert seen[-1][2] == s.frames
    done = [v for v, _, _ in seen]
    assert done == sorted(done)


def test_rerun_skips_finished_inputs(cluster, first_run, inputs, tmp_path):
    out, _, _ = first_run
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}
    s = run_batch([inputs["root"]], out, scheduler=cluster.scheduler_address)
    assert (s.analysed, s.skipped) == (0, 4)
    assert (s.done, s.no_face, s.failed) == (2, 1, 1)  # the earlier outcomes still count
    after = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}
    results = [p for p in before if p.parent.name != out.name]
    assert results and all(after[p] == before[p] for p in results)

    # a moved file is the same content: skipped, its new path recorded
    moved = shutil.copy(inputs["face"][0], tmp_path / "moved.mp4")
    newcomer = distinct_copies(sample_path("no_face.mp4"), 1, tmp_path / "new")[0]
    s = run_batch([moved, newcomer], out, scheduler=cluster.scheduler_address)
    assert (s.analysed, s.skipped, s.done, s.no_face) == (1, 1, 1, 1)
    rows = {r["hash"]: r for r in batch_status(out)}
    assert rows[sha256(moved)]["path"] == str(moved)
    assert rows[sha256(newcomer)]["status"] == "no_face"
    assert len(rows) == 5 and len(result_folders(out)) == 4

    # a result folder someone deleted is made again, and only that one
    gone = out / rows[sha256(inputs["face"][1])]["output"]
    shutil.rmtree(gone)
    s = run_batch([inputs["root"]], out, scheduler=cluster.scheduler_address)
    assert (s.analysed, s.skipped) == (1, 3)
    assert (gone / "run.json").is_file()


def test_killed_worker_mid_video_still_one_result_each(cluster, tmp_path):
    videos = distinct_copies(sample_path("single_face.mp4"), 3, tmp_path / "in")
    killed: dict = {}

    def kill_first_busy_worker(event):
        if not killed and event["frames"] > 0:  # a worker is inside a video
            killed.update(event)
            os.kill(event["pid"], signal.SIGKILL)

    out = tmp_path / "out"
    s = run_batch([tmp_path / "in"], out, scheduler=cluster.scheduler_address, ship_inputs=True,
                  on_event=kill_first_busy_worker)
    assert killed, "no worker reported progress"
    assert (s.done, s.failed, s.error) == (3, 0, 0)
    rows = {r["hash"]: r for r in batch_status(out)}
    assert set(rows) == {sha256(v) for v in videos}
    assert all(r["status"] == "done" for r in rows.values())
    victim = rows[killed["hash"]]
    assert victim["attempts"] == 2
    assert not victim["worker"].endswith(f":{killed['pid']}")  # finished by another process
    folders = result_folders(out)
    assert len(folders) == 3
    paths = sorted(json.loads((f / "run.json").read_text())["input"]["path"] for f in folders)
    assert paths == sorted(str(v) for v in videos)
    for f in folders:
        assert pd.read_parquet(f / "frames.parquet")["frame"].nunique() == decoded_frames(videos[0])
    assert not (out / STAGING_NAME).exists()
