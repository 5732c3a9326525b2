"""Stimulus packs: pair validation (face in both, same person, registered, readable), building
a pack from a user's folder and from analyses, review, and the ``tells train pack`` commands."""

from __future__ import annotations

import csv
import json
import shutil
import urllib.error
import urllib.request

import numpy as np
import pytest
from test_trainer_support import running_server, write_frames_pack_folder

from tells.cli.main import main
from tells.errors import InputError
from tells.io.samples import sample_path
from tells.trainer.images import read_rgb, write_png
from tells.trainer.packs import build_from_folder, load_items, load_pack
from tells.trainer.sources import build_from_analysis, read_frames
from tells.trainer.validate import IDENTITY_THRESHOLD, prepare_pair


@pytest.fixture(scope="module")
def video_frames():
    return read_frames(sample_path("WolfgangLanger_Pexels.mp4"), [0, 20, 80, 320])


def test_same_person_pair_is_registered_into_equal_squares(video_frames):
    pair = prepare_pair(video_frames[0], video_frames[20], name="v")
    assert pair.neutral.shape == pair.expression.shape
    assert pair.neutral.shape[0] == pair.neutral.shape[1]
    assert pair.identity_distance < IDENTITY_THRESHOLD
    # the face sits in the middle of the prepared image
    eye_mid = (pair.landmarks[33] + pair.landmarks[263]) / 2
    assert np.all(np.abs(eye_mid / pair.neutral.shape[0] - 0.5) < 0.25)


def test_pair_without_a_face_is_rejected():
    with pytest.raises(InputError, match=r"item: no face found in the neutral image"):
        prepare_pair(sample_path("free-mountain-vector-01.jpg"), sample_path("single_face.jpg"),
                     name="item")


def test_pair_of_two_different_people_is_rejected():
    with pytest.raises(InputError, match=r"show different people .* same person"):
        prepare_pair(sample_path("0-f15-hao-ph.jpg"), sample_path("0-f1-su-ph.jpg"))


def test_unreadable_file_is_rejected(tmp_path):
    bad = tmp_path / "expression.jpg"
    bad.write_text("this is not a JPEG")
    with pytest.raises(InputError, match=r"expression image: .*expression.jpg: cannot read the image"):
        prepare_pair(sample_path("single_face.jpg"), bad)


def test_pair_from_different_views_is_rejected(video_frames):
    with pytest.raises(InputError, match=r"turned \d+° differently|do not register"):
        prepare_pair(video_frames[80], video_frames[320])


def test_read_rgb_errors(tmp_path):
    with pytest.raises(InputError, match="no such image file"):
        read_rgb(tmp_path / "missing.png")


def _bad_pack_folder(root, video_frames):
    """One good item and one bad item of each kind."""
    write_png(root / "happiness" / "good" / "neutral.png", video_frames[0])
    write_png(root / "happiness" / "good" / "expression.png", video_frames[20])
    d = root / "anger" / "noface"
    d.mkdir(parents=True)
    shutil.copy(sample_path("free-mountain-vector-01.jpg"), d / "neutral.jpg")
    shutil.copy(sample_path("single_face.jpg"), d / "expression.jpg")
    d = root / "fear" / "twopeople"
    d.mkdir(parents=True)
    shutil.copy(sample_path("0-f15-hao-ph.jpg"), d / "neutral.jpg")
    shutil.copy(sample_path("0-f1-su-ph.jpg"), d / "expression.jpg")
    d = root / "sadness" / "broken"
    d.mkdir(parents=True)
    shutil.copy(sample_path("single_face.jpg"), d / "neutral.jpg")
    (d / "expression.png").write_bytes(b"\x89PNG truncated")
    (root / "boredom" / "x").mkdir(parents=True)


def test_build_from_folder_keeps_good_items_and_explains_bad_ones(tmp_path, video_frames):
    _bad_pack_folder(tmp_path / "src", video_frames)
    pack = build_from_folder(tmp_path / "src", "mine", library=tmp_path / "lib")
    assert [(i.emotion, i.status) for i in pack.items] == [("happiness", "accepted")]
    item = load_pack(tmp_path / "lib" / "mine").items[0]
    assert item.aus == "6+12" and item.aus_source == "prototype"
    assert {m["au"] for m in item.marks} == {"6", "12"}
    assert read_rgb(item.neutral).shape == read_rgb(item.expression).shape
    reasons = {p.where: p.reason for p in pack.problems}
    assert "no face found in the neutral image" in reasons["anger/noface"]
    assert "different people" in reasons["fear/twopeople"]
    assert "cannot read the image" in reasons["sadness/broken"]
    assert any("'boredom' is not an emotion" in r for r in reasons.values())


def test_cli_pack_build_list_and_errors(tmp_path, video_frames, capfd):
    # capfd: mediapipe writes its own log lines to fd 2, so only lines from tells are kept
    _bad_pack_folder(tmp_path / "src", video_frames)
    lib = str(tmp_path / "lib")
    assert main(["train", "pack", "build", str(tmp_path / "src"), "--name", "p1", "--library", lib, "-q"]) == 0
    out = capfd.readouterr().out
    assert "pack p1: 1 accepted, 0 waiting for review, 4 left out" in out
    assert "left out fear/twopeople:" in out
    # same name again without --replace: one clear line, non-zero exit
    assert main(["train", "pack", "build", str(tmp_path / "src"), "--name", "p1", "--library", lib, "-q"]) == 2
    err = [ln for ln in capfd.readouterr().err.splitlines() if ln.startswith("tells")]
    assert len(err) == 1 and "exists" in err[0]
    assert main(["train", "pack", "list", "--library", lib, "--json"]) == 0
    rows = json.loads(capfd.readouterr().out)
    assert [(r["pack"], r["accepted"], r["emotions"]) for r in rows] == [("p1", 1, ["happiness"])]
    # a folder with only bad items fails as a whole
    only_bad = tmp_path / "bad"
    shutil.copytree(tmp_path / "src" / "fear", only_bad / "fear")
    assert main(["train", "pack", "build", str(only_bad), "--library", lib]) == 2
    assert "no usable item" in capfd.readouterr().err


def test_build_from_analysis_items_wait_for_review(tmp_path):
    from tells import analyze_video

    video = sample_path("WolfgangLanger_Pexels.mp4")
    out = tmp_path / "analysis"
    analyze_video(video, out)
    assert (out / "run.json").is_file()
    cols = ["face_id", "kind", "onset_frame", "apex_frame", "offset_frame", "onset_t", "apex_t",
            "offset_t", "duration_s", "aus", "emotion", "confidence", "displayed_emotion", "leakage"]
    events = [
        [0, "micro", 0, 20, 30, 0.0, 0.83, 1.25, 0.42, "6+12", "happiness", 0.7, "neutral", True],
        [0, "micro", 100, 110, 115, 4.17, 4.59, 4.8, 0.63, "", "others", 0.5, "", False],
        [0, "macro", 80, 320, 330, 3.3, 13.3, 13.8, 10.5, "4+7", "anger", 0.6, "", False],
    ]
    with (out / "events.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(cols)
        w.writerows(events)
    lib = tmp_path / "lib"
    pack = build_from_analysis(out, "call", library=lib)
    assert [(i.emotion, i.status, i.aus) for i in pack.items] == [("happiness", "pending", "6+12")]
    assert pack.items[0].origin["onset_frame"] == 0 and pack.items[0].origin["apex_frame"] == 20
    assert len(pack.problems) == 2
    assert load_items(lib) == []  # nothing to practise until reviewed
    key = pack.items[0].key
    with running_server(tmp_path / "t.db", lib) as (srv, _):
        pending = json.load(urllib.request.urlopen(srv.url + "api/review"))
        assert [p["key"] for p in pending] == [key]
        req = urllib.request.Request(srv.url + "api/review", method="POST",
                                     data=json.dumps({"item": key, "status": "accepted"}).encode(),
                                     headers={"Content-Type": "application/json"})
        assert json.load(urllib.request.urlopen(req)) == {"item": key, "status": "accepted"}
    assert [i.key for i in load_items(lib)] == [key]

    # the same events as video clips: only with the consent of the people recorded
    with pytest.raises(InputError, match="consent"):
        build_from_analysis(out, "clips", library=lib, clips=True)
    clips = build_from_analysis(out, "clips", library=lib, clips=True,
                                consent="Wolfgang Langer, Pexels licence, 2026-12-01")
    (it,) = clips.items
    assert it.status == "pending" and it.origin["consent"].startswith("Wolfgang")
    import av

    with av.open(str(video)) as c:  # the frames presented from 0 s to the offset + 0.25 s
        st = c.streams.video[0]
        times = [float(f.pts * st.time_base) for f in c.decode(st)]
    want = [t for t in times if t <= 1.25 + 0.25 + 1e-6]
    assert len(it.clip["t_ms"]) == len(want)
    assert np.allclose(it.clip["t_ms"], [1000 * (t - want[0]) for t in want], atol=0.01)
    assert it.clip["apex"] == int(np.argmin([abs(t - 0.83) for t in want]))
    with running_server(tmp_path / "t.db", lib) as (srv, _):
        r = urllib.request.urlopen(srv.url + f"media/{it.key}/clip/f{len(want) - 1:03d}.jpg")
        assert r.headers["Content-Type"] == "image/jpeg" and r.read()[:2] == b"\xff\xd8"
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(srv.url + f"media/{it.key}/clip/f{len(want):03d}.jpg")


def test_frames_folder_builds_a_full_pack(tmp_path):
    write_frames_pack_folder(tmp_path / "src")
    pack = build_from_folder(tmp_path / "src", "video", library=tmp_path / "lib")
    assert pack.counts()["accepted"] == 21 and not pack.problems
    assert len({i.face_key for i in pack.items}) == 3
