"""Faces in the real sample videos: found, tracked with one id, timeline complete."""

from __future__ import annotations

import numpy as np

import tells
from tells.contract import GEOMETRY_COLUMNS, QUALITY_COLUMNS
from tells.io.samples import sample_path


def test_sample_video_is_one_face_throughout(wolfgang_analysis):
    f = wolfgang_analysis.frames
    assert list(f.columns[: len(GEOMETRY_COLUMNS)]) == GEOMETRY_COLUMNS
    assert set(QUALITY_COLUMNS) <= set(f.columns)
    assert len(f) == 472 and f["frame"].tolist() == list(range(472))
    assert (f["success"] == 1).mean() >= 0.99
    assert set(f.loc[f.success == 1, "face_id"]) == {0}
    # timestamps come from PTS at 24000/1001 fps
    assert np.allclose(np.diff(f["timestamp"]), 1001 / 24000, atol=1e-4)
    # the face is large and frontal-ish in this clip: boxes are plausible, pose modest
    ok = f[f.success == 1]
    assert ok["width"].between(120, 400).all() and ok["height"].between(120, 400).all()
    assert ok["pose_Ry"].abs().median() < 0.5


def test_no_face_video_has_only_empty_rows():
    r = tells.analyze_video(sample_path("no_face.mp4"))
    f = r.frames
    assert len(f) == r.run["frames"] == 95
    assert (f["success"] == 0).all() and (f["face_id"] == -1).all()
    assert r.run["faces"] == []


def test_face_leaving_and_entering_matches_visible_frames():
    # checked by eye on extracted frames: face_noface.mov shows the face in frames 0-71
    # (72 is black, then sky); noface_face.mov shows sky until 95, the face 96-167, 168 black.
    # Both are HEVC with variable frame timing.
    leaving = tells.analyze_video(sample_path("face_noface.mov")).frames
    entering = tells.analyze_video(sample_path("noface_face.mov")).frames
    assert leaving.loc[leaving.success == 1, "frame"].tolist() == list(range(0, 72))
    assert entering.loc[entering.success == 1, "frame"].tolist() == list(range(96, 168))
    assert set(leaving.loc[leaving.success == 1, "face_id"]) == {0}
    dt = np.diff(entering["timestamp"])
    assert dt.min() > 0 and dt.max() / dt.min() > 1.5  # truly variable timing, from PTS


def test_briefly_lost_face_keeps_its_id(tmp_path, wolfgang_frames):
    from conftest import write_video

    frames = [img.copy() for img in wolfgang_frames[:90]]
    for i in range(40, 45):  # five black frames: the face is lost, then comes back
        frames[i][:] = 0
    path = write_video(tmp_path / "gap.mp4", frames)
    f = tells.analyze_video(path).frames
    assert f.loc[40:44, "success"].eq(0).all()
    assert f.loc[f.frame >= 46, "success"].eq(1).all()
    assert set(f.loc[f.success == 1, "face_id"]) == {0}


def test_five_faces_tracked_with_stable_ids(tmp_path):
    from conftest import write_video

    from tells.io.image import read_image

    img = read_image(sample_path("multi_face.jpg"))[:666, :1000]
    frames = [np.roll(img, shift=2 * i, axis=1) for i in range(30)]  # slow pan
    f = tells.analyze_video(write_video(tmp_path / "five.mp4", frames, fps=30)).frames
    ok = f[f.success == 1]
    assert ok["face_id"].nunique() == 5
    per_frame = ok.groupby("frame")["face_id"].apply(lambda s: tuple(sorted(s)))
    assert (per_frame == (0, 1, 2, 3, 4)).mean() >= 0.9
    # each id stays on one face: its x moves with the pan (2 px a frame), never jumps
    for _, g in ok.groupby("face_id"):
        assert np.abs(np.diff(g["x"].to_numpy()) - 2).max() < 12
