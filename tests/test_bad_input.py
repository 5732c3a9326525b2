"""Bad input through the real CLI: one clear line, a non-zero exit, no traceback, and no
output file that looks complete."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from conftest import run_cli, write_video

from tells.io.samples import sample_path


def _one_clean_error(proc, *words):
    assert proc.returncode != 0
    err = proc.stderr.strip().splitlines()
    assert "Traceback" not in proc.stderr
    assert len(err) == 1 and err[0].startswith("tells: error:"), proc.stderr
    for w in words:
        assert w in err[0], err[0]
    return err[0]


def _nothing_complete(out):
    assert not (out / "run.json").exists()
    assert not (out / "frames.csv").exists()


def test_missing_path(tmp_path):
    p = run_cli("analyze", str(tmp_path / "nope.mp4"), "-o", str(tmp_path / "o"))
    _one_clean_error(p, "no such file")
    _nothing_complete(tmp_path / "o")


def test_directory(tmp_path):
    p = run_cli("analyze", str(tmp_path), "-o", str(tmp_path / "o"))
    _one_clean_error(p, "is a directory")


def test_empty_file(tmp_path):
    (tmp_path / "empty.mp4").write_bytes(b"")
    p = run_cli("analyze", str(tmp_path / "empty.mp4"), "-o", str(tmp_path / "o"))
    _one_clean_error(p, "empty")
    _nothing_complete(tmp_path / "o")


def test_text_file_renamed_mp4(tmp_path):
    bad = tmp_path / "notes.mp4"
    bad.write_text("these are meeting notes, not a video\n" * 50)
    p = run_cli("analyze", str(bad), "-o", str(tmp_path / "o"))
    _one_clean_error(p, "not a video")
    _nothing_complete(tmp_path / "o")


def test_audio_only_file(tmp_path):
    import av

    path = tmp_path / "voice.m4a"
    with av.open(str(path), "w") as out:
        s = out.add_stream("aac", rate=16000)
        t = np.arange(16000) / 16000
        samples = (0.2 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)[None, :]
        frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
        frame.sample_rate = 16000
        for pkt in s.encode(frame):
            out.mux(pkt)
        for pkt in s.encode():
            out.mux(pkt)
    p = run_cli("analyze", str(path), "-o", str(tmp_path / "o"))
    _one_clean_error(p, "no video stream", "audio")


def test_truncated_mp4_keeps_what_was_decoded(tmp_path):
    # an mp4 written for streaming (moov first) cut in half: the frames before the cut are
    # decodable; tells keeps them, flags the run incomplete and exits non-zero (3)
    import av

    src = sample_path("WolfgangLanger_Pexels.mp4")
    frag = tmp_path / "whole.mp4"
    with av.open(str(src)) as inp, av.open(str(frag), "w",
                                              options={"movflags": "faststart"}) as out:
        s_in = inp.streams.video[0]
        s_out = out.add_stream_from_template(s_in)
        for pkt in inp.demux(s_in):
            if pkt.dts is None:
                continue
            pkt.stream = s_out
            out.mux(pkt)
    data = frag.read_bytes()
    cut = tmp_path / "truncated.mp4"
    cut.write_bytes(data[: len(data) // 2])
    p = run_cli("analyze", str(cut), "-o", str(tmp_path / "o"))
    assert "Traceback" not in p.stderr
    if p.returncode == 2:  # the container could not even be opened: one clean line
        _one_clean_error(p)
        return
    assert p.returncode == 3, p.stderr
    assert "truncated" in p.stderr or "decoding stopped" in p.stderr
    run = json.loads((tmp_path / "o" / "run.json").read_text())
    assert run["complete"] is False and run["warnings"]
    assert 0 < run["frames"] < 472


def test_header_only_garbage_after_signature(tmp_path):
    data = sample_path("WolfgangLanger_Pexels.mp4").read_bytes()
    bad = tmp_path / "mangled.mp4"
    bad.write_bytes(data[:64] + bytes(4096))
    p = run_cli("analyze", str(bad), "-o", str(tmp_path / "o"))
    _one_clean_error(p)
    _nothing_complete(tmp_path / "o")


def test_unwritable_output_directory(tmp_path):
    blocker = tmp_path / "afile"
    blocker.write_text("x")
    p = run_cli("analyze", str(sample_path("single_face.mp4")), "-o", str(blocker / "out"))
    _one_clean_error(p, "cannot write")


def test_no_face_video_succeeds_with_empty_rows(tmp_path):
    p = run_cli("analyze", str(sample_path("no_face.mp4")), "-o", str(tmp_path / "o"), "-q")
    assert p.returncode == 0, p.stderr
    run = json.loads((tmp_path / "o" / "run.json").read_text())
    assert run["frames"] == 95 and run["frames_with_face"] == 0 and run["complete"]


def test_one_frame_video(tmp_path, wolfgang_frames):
    path = write_video(tmp_path / "one.mp4", wolfgang_frames[:1])
    p = run_cli("analyze", str(path), "-o", str(tmp_path / "o"), "--json")
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["frames"] == 1 and out["frames_with_face"] == 1


@pytest.mark.slow
def test_4k_frames_are_analysed_in_source_pixels(tmp_path, wolfgang_frames):
    import cv2

    big = [cv2.resize(f, (3840, 2160), interpolation=cv2.INTER_LINEAR)
           for f in wolfgang_frames[:3]]
    path = write_video(tmp_path / "uhd.mp4", big)
    p = run_cli("analyze", str(path), "-o", str(tmp_path / "o"), "-q")
    assert p.returncode == 0, p.stderr
    import pandas as pd

    f = pd.read_csv(tmp_path / "o" / "frames.csv")
    assert (f["success"] == 1).all()
    # the face is about 215 px wide at 640×360, so about 1290 px at 3840×2160
    assert f["width"].between(1000, 1600).all()


def test_image_command_on_non_image(tmp_path):
    bad = tmp_path / "x.jpg"
    bad.write_text("not an image")
    p = run_cli("image", str(bad))
    _one_clean_error(p, "not an image")


def test_outputs_written_atomically(tmp_path):
    out = tmp_path / "o"
    p = run_cli("analyze", str(sample_path("single_face.mp4")), "-o", str(out), "-q")
    assert p.returncode == 0, p.stderr
    assert sorted(x.name for x in out.iterdir()) == [
        "events.csv", "events.json", "frames.csv", "frames.parquet", "report.html", "run.json",
        "summary.json"]  # and no *.partial left behind
    shutil.rmtree(out)
