"""``tells eval agreement``: per-AU r, offset and scale against an OpenFace-format CSV built
here from known relationships (OpenFace's own outputs are not redistributable)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from tells.cli.main import main


@pytest.fixture(autouse=True)
def _plain_stderr(monkeypatch):
    """The CLI re-opens stderr to filter native log lines unless TELLS_DEBUG is set."""
    monkeypatch.setenv("TELLS_DEBUG", "1")


N = 60


def write_openface(path, frames, cols: dict[str, np.ndarray], success=None):
    """A CSV laid out as OpenFace's FeatureExtraction writes it: ", "-separated, so every
    column name but the first and every value carry a leading space."""
    success = np.ones(len(frames), int) if success is None else success
    head = ["frame", "face_id", "timestamp", "confidence", "success", *cols]
    lines = [", ".join(head)]
    for i, f in enumerate(frames):
        vals = [str(f), "0", f"{(f - 1) / 25:.3f}", "0.98", str(success[i])]
        vals += [f"{cols[c][i]:.6f}" for c in cols]
        lines.append(", ".join(vals))
    path.write_text("\n".join(lines) + "\n")
    return path


def tells_table(frames, cols: dict[str, np.ndarray], face_id=0, success=None):
    success = np.ones(len(frames), int) if success is None else success
    return pd.DataFrame({"frame": frames, "timestamp": np.asarray(frames) / 25.0,
                         "face_id": face_id, "success": success, **cols})


@pytest.fixture
def pair(tmp_path):
    rng = np.random.default_rng(3)
    of12, of06, of04 = rng.uniform(0, 3, N), rng.uniform(0, 2, N), rng.uniform(0, 1, N)
    of_frames = np.arange(1, N + 1)          # OpenFace counts from 1
    of_success = np.ones(N, int)
    of_success[10] = 0                       # OpenFace lost the face here
    write_openface(tmp_path / "of.csv", of_frames,
                   {"AU04_r": of04, "AU06_r": of06, "AU12_r": of12, "AU28_c": of04 > 0.5},
                   of_success)
    t_success = np.ones(N, int)
    t_success[20] = 0                        # tells lost it here
    main_face = tells_table(np.arange(N), {  # tells frame k-1 is OpenFace frame k
        "AU12_r": 2.0 * of12 + 0.5, "AU06_r": 3.0 - of06, "AU04_r": np.full(N, 0.7),
        "AU45_r": np.zeros(N)}, success=t_success)
    other = tells_table(np.arange(5), {"AU12_r": np.zeros(5), "AU06_r": np.zeros(5),
                                       "AU04_r": np.zeros(5), "AU45_r": np.zeros(5)},
                        face_id=1)
    pd.concat([main_face, other]).to_csv(tmp_path / "frames.csv", index=False)
    keep = (of_success == 1) & (t_success == 1)
    return tmp_path, of12[keep], of06[keep], int(keep.sum())


def test_json_reports_known_relationships(pair, capsys):
    root, of12, of06, n = pair
    assert main(["eval", "agreement", "--openface", str(root / "of.csv"),
                 str(root / "frames.csv"), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["n_frames"] == n == N - 2
    assert out["face_id"] == 0
    assert set(out["aus"]) == {"AU04", "AU06", "AU12"}  # AU45 only in tells, AU28 only _c
    a12, a06, a04 = out["aus"]["AU12"], out["aus"]["AU06"], out["aus"]["AU04"]
    assert a12["r"] == pytest.approx(1.0, abs=1e-6)
    assert a12["scale"] == pytest.approx(2.0, abs=1e-4)
    assert a12["offset"] == pytest.approx(np.mean(of12) + 0.5, abs=1e-4)
    assert a12["n"] == n
    assert a06["r"] == pytest.approx(-1.0, abs=1e-6)
    assert a06["scale"] == pytest.approx(-1.0, abs=1e-4)
    assert a06["offset"] == pytest.approx(np.mean(3.0 - 2 * of06), abs=1e-4)
    assert a04["r"] is None and a04["scale"] == pytest.approx(0.0, abs=1e-9)
    assert out["mean_r"] == pytest.approx(0.0, abs=1e-6)


def test_frame_base_matters(pair, capsys):
    root, *_ = pair
    # treating OpenFace's frames as counted from 0 pairs each frame with its neighbour
    assert main(["eval", "agreement", "--openface", str(root / "of.csv"), str(root),
                 "--frame-base", "0", "--json"]) == 0
    r = json.loads(capsys.readouterr().out)["aus"]["AU12"]["r"]
    assert abs(r) < 0.6


def test_table_and_face_choice(pair, capsys):
    root, *_ = pair
    assert main(["eval", "agreement", "--openface", str(root / "of.csv"),
                 str(root / "frames.csv"), "--face-id", "1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "tells face 1" in lines[0]
    au12 = next(line for line in lines if line.startswith("AU12"))
    # face 1 is seen in tells frames 0..4 (OpenFace 1..5, all found); it reads 0 throughout
    assert au12.split() == ["AU12", "-", au12.split()[2], "0.00", "5"]


def _error(args, capsys) -> str:
    code = main(["eval", "agreement", *args])
    err = capsys.readouterr().err.strip()
    assert code != 0
    assert len(err.splitlines()) == 1 and err.startswith("tells: error:")
    return err


def test_errors_are_one_line(pair, tmp_path, capsys):
    root, *_ = pair
    assert "not found" in _error(["--openface", str(root / "nope.csv"),
                                  str(root / "frames.csv")], capsys)
    write_openface(tmp_path / "of_c.csv", np.arange(1, 6), {"AU12_c": np.ones(5)})
    assert "no AUxx_r column in both" in _error(["--openface", str(tmp_path / "of_c.csv"),
                                                 str(root / "frames.csv")], capsys)
    write_openface(tmp_path / "of_far.csv", np.arange(1000, 1005), {"AU12_r": np.ones(5)})
    assert "no frame where both" in _error(["--openface", str(tmp_path / "of_far.csv"),
                                            str(root / "frames.csv")], capsys)
    (tmp_path / "empty.csv").write_text("")
    assert "empty" in _error(["--openface", str(tmp_path / "empty.csv"),
                              str(root / "frames.csv")], capsys)


def test_pick_frames_takes_the_largest_disagreements_apart_in_time():
    from tells.cli.agreement_frames import pick_frames

    n = 100
    t = np.full(n, 1.0)
    o = np.full(n, 1.0)
    t[40], t[41] = 4.0, 3.9      # tells higher at 40; 41 is its neighbour (0.04 s later)
    t[70] = 3.0                  # tells higher again, 1.2 s later
    o[10] = 3.5                  # OpenFace higher
    o[12] = 1.8                  # less than one step apart: not a disagreement
    t[90], o[90] = 0.0, 0.2      # both lowest
    m = pd.DataFrame({"frame": np.arange(n), "timestamp": np.arange(n) / 25.0,
                      "AU04_r_t": t, "AU04_r_of": o})
    p = pick_frames(m, "AU04", per_side=5)
    assert [r["frame"] for r in p["tells_higher"]] == [40, 70]
    assert [r["frame"] for r in p["openface_higher"]] == [10]
    assert p["rest"][0]["frame"] == 90
    assert p["tells_higher"][0]["tells"] == 4.0 and p["tells_higher"][0]["openface"] == 1.0
    assert [r["frame"] for r in pick_frames(m, "AU04", per_side=1)["tells_higher"]] == [40]


def test_show_draws_the_disagreeing_frames_from_the_video(wolfgang, wolfgang_analysis,
                                                          tmp_path, capsys):
    """A coder that agrees with tells except on two planted frames: the sheet shows those
    two, each a face cut from the video."""
    import cv2

    from tells.face.still import find_faces
    from tells.trainer.images import read_rgb

    df = wolfgang_analysis.frames
    df = df[(df["face_id"] == 0) & (df["success"] == 1)]
    df.to_csv(tmp_path / "frames.csv", index=False)
    frames = df["frame"].to_numpy()
    a12 = df["AU12_r"].to_numpy(float).copy()
    hi = int(np.argmax(a12))
    assert a12[hi] >= 2.0                  # the woman's lips stretch while she cries
    lo = int(np.argmin(np.where(np.abs(np.arange(len(a12)) - hi) > 50, a12, np.inf)))
    up, down = int(frames[lo]), int(frames[hi])
    of12 = a12.copy()
    of12[lo] += 3.0                        # the other coder sees a smile tells does not
    of12[hi] = 0.0                         # and none where tells reads the most
    write_openface(tmp_path / "of.csv", frames + 1, {"AU12_r": of12})
    assert main(["eval", "agreement", "--openface", str(tmp_path / "of.csv"),
                 str(tmp_path / "frames.csv"), "--show", str(tmp_path / "sheets"),
                 "--video", str(wolfgang), "--au", "AU12", "--per-side", "2", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    sheet = out["sheets"]["AU12"]
    assert [r["frame"] for r in sheet["openface_higher"]] == [up]
    assert [r["frame"] for r in sheet["tells_higher"]] == [down]
    img = read_rgb(sheet["file"])
    # the openface-higher tile: third strip, below the title (30), the strip heads (24 each)
    # and the two tiles above it with their two-line captions (168 + 42)
    head = 30 + 3 * 24 + 2 * (168 + 42)
    assert img.shape[0] == head + 168 + 42
    tile = np.ascontiguousarray(img[head:head + 168, :168])
    assert tile.std() > 20
    faces = find_faces(cv2.resize(tile, (336, 336)))
    assert len(faces) == 1


def test_skip_hands_leaves_out_the_frames_with_a_hand_on_the_face(wolfgang, wolfgang_analysis,
                                                                   tmp_path, capsys):
    """WolfgangLanger_Pexels.mp4: her hand is over her nose and mouth from about 2.4 s to 9.6 s
    (frames 58-230; frames 20, 35, 42 and 57 show none, 97, 100, 118, 132, 147, 168, 181 and
    193 show it, by eye). A coder that agrees with tells but for frames under the hand agrees
    fully without them."""
    df = wolfgang_analysis.frames
    df = df[(df["face_id"] == 0) & (df["success"] == 1)]
    df.to_csv(tmp_path / "frames.csv", index=False)
    frames = df["frame"].to_numpy()
    a12 = df["AU12_r"].to_numpy(float)
    of12 = a12.copy()
    planted = list(range(100, 200, 4))
    of12[np.isin(frames, planted)] += 4.0
    write_openface(tmp_path / "of.csv", frames + 1, {"AU12_r": of12})
    args = ["eval", "agreement", "--openface", str(tmp_path / "of.csv"),
            str(tmp_path / "frames.csv"), "--json"]
    assert main(args) == 0
    whole = json.loads(capsys.readouterr().out)
    assert whole["aus"]["AU12"]["r"] < 0.95 and "hand_frames" not in whole
    assert main([*args, "--skip-hands", "--video", str(wolfgang)]) == 0
    out = json.loads(capsys.readouterr().out)
    hands = out["hand_frames"]
    assert {97, 118, 181, *planted} <= set(hands) and len(hands) >= 100
    assert min(hands) > 57 and max(hands) < 240
    assert out["n_frames"] == whole["n_frames"] - len(hands)
    assert out["aus"]["AU12"]["r"] == pytest.approx(1.0)
    assert "--skip-hands needs --video" in _error(args[2:-1] + ["--skip-hands"], capsys)


def test_show_needs_the_video(pair, capsys):
    root, *_ = pair
    assert "--show needs --video" in _error(["--openface", str(root / "of.csv"), str(root),
                                             "--show", str(root / "s")], capsys)
    show = ["--show", str(root / "s"), "--video", str(root / "of.csv")]
    assert "no height, width, x, y column" in _error(
        ["--openface", str(root / "of.csv"), str(root), *show], capsys)
    df = pd.read_csv(root / "frames.csv").assign(x=10.0, y=10.0, width=50.0, height=50.0)
    df.to_csv(root / "boxed.csv", index=False)
    assert "AU99 not in both" in _error(["--openface", str(root / "of.csv"),
                                         str(root / "boxed.csv"), *show, "--au", "AU99"],
                                        capsys)
    assert not (root / "s").exists()
