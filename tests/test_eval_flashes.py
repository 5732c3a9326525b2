"""``tells eval flashes``: clips made from labelled faces, scored like the METT protocol."""

from __future__ import annotations

import json
import subprocess
import sys

import cv2
import numpy as np
import pytest

from tells.errors import InputError
from tells.spotting.flashes import Clip, make_clip, read_items, score_clip


@pytest.fixture(scope="module")
def pair_dir(tmp_path_factory, wolfgang_frames):
    """A real neutral/expression pair of one person: a calm frame of the sample video and the
    apex of its grimace (frames 62-137, apex near 95), plus a 'flash' of the calm face itself."""
    root = tmp_path_factory.mktemp("pairs")
    calm, apex = wolfgang_frames[10], wolfgang_frames[95]
    for label, expr in (("disgust", apex), ("neutral", calm)):
        d = root / label / "wolfgang"
        d.mkdir(parents=True)
        cv2.imwrite(str(d / "neutral.png"), cv2.cvtColor(calm, cv2.COLOR_RGB2BGR))
        cv2.imwrite(str(d / "expression.png"), cv2.cvtColor(expr, cv2.COLOR_RGB2BGR))
    return root


def test_items_from_folder_and_csv(pair_dir, tmp_path):
    items = read_items(pair_dir)
    assert sorted(i.label for i in items) == ["disgust", "neutral"]
    assert all(i.kind == "pair" and i.neutral.name == "neutral.png" for i in items)
    csv = tmp_path / "pairs.csv"
    n = pair_dir / "disgust" / "wolfgang" / "neutral.png"
    e = pair_dir / "disgust" / "wolfgang" / "expression.png"
    csv.write_text(f"neutral,expression,label,subject\n{n},{e},disgusted,p1\n")
    (item,) = read_items(csv)
    assert (item.label, item.subject, item.expression) == ("disgust", "p1", e)
    with pytest.raises(InputError):
        read_items(tmp_path)  # a folder with no labelled items


def test_sequence_folders_with_label_csv(tmp_path):
    seq = tmp_path / "seqs" / "s01_001"
    seq.mkdir(parents=True)
    for k in range(5):
        cv2.imwrite(str(seq / f"{k:03d}.png"), np.full((40, 40, 3), 40 * k, np.uint8))
    labels = tmp_path / "labels.csv"
    labels.write_text("sequence,label\ns01_001,happy\n")
    (item,) = read_items(tmp_path / "seqs", labels)
    assert item.kind == "sequence" and item.label == "happiness" and len(item.frames) == 5
    clip = make_clip(item, flash_s=0.2, fps=30, lead_s=0.5, tail_s=0.5, align=False)
    values = [int(f[0, 0, 0]) for f in clip.frames]
    # neutral lead, up to the apex (the brightest, last frame) and back down, neutral tail
    assert values[:15] == [0] * 15 and values[-15:] == [0] * 15
    assert max(values) == 160 and values[clip.apex_index] == 160
    # six frames (0.2 s at 30 fps) from the first changed frame to the last
    assert clip.onset_t == pytest.approx(0.5)
    assert round((clip.offset_t - clip.onset_t) * 30) + 1 == 6
    assert sum(v > 0 for v in values) == 6


def test_micro_pair_timing(pair_dir):
    item = read_items(pair_dir)[0]
    clip = make_clip(item, flash_s=0.2, fps=30, lead_s=1.0, tail_s=1.0, align=False)
    assert len(clip.frames) == 30 + 6 + 30
    changed = [i for i, f in enumerate(clip.frames)
               if np.abs(f.astype(int) - clip.frames[0].astype(int)).mean() > 1.0]
    assert changed == list(range(30, 36))  # exactly the six flash frames show the expression
    assert (clip.onset_t, clip.offset_t) == (pytest.approx(1.0), pytest.approx(35 / 30))


def test_score_clip_matches_overlap_and_counts_the_rest():
    clip = Clip([np.zeros((2, 2, 3), np.uint8)], 30.0, 1.0, 1.1, 1.3, 33)
    events = [{"onset_t": 0.1, "offset_t": 0.3, "emotion": "fear", "confidence": 0.9},
              {"onset_t": 0.97, "offset_t": 1.33, "emotion": "anger", "confidence": 0.5},
              {"onset_t": 1.2, "offset_t": 1.5, "emotion": "disgust", "confidence": 0.4}]
    s = score_clip(events, clip)
    assert s["spotted"] and s["emotion"] == "anger" and s["false_events"] == 1
    assert s["iou"] == pytest.approx(0.3 / 0.36, abs=1e-3)
    miss = score_clip(events[:1], clip)
    assert not miss["spotted"] and miss["emotion"] is None and miss["false_events"] == 1


def test_eval_flashes_end_to_end(pair_dir, tmp_path):
    out = tmp_path / "out"
    r = subprocess.run([sys.executable, "-m", "tells", "eval", "flashes", str(pair_dir),
                        "--flash", "0.4", "--json", "--out", str(out)],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    result = json.loads(r.stdout)
    (case,) = result["cases"]
    assert case["case"] == "micro@0.4s" and case["clips"] == 2
    rows = {row["label"]: row for row in
            __import__("csv").DictReader(open(out / "clips.csv"))}
    # the real grimace flashed for 0.4 s is found; the calm face 'flashed' on itself is not
    assert rows["disgust"]["spotted"] == "True"
    assert rows["neutral"]["spotted"] == "False"
    assert case["false_events_per_clip"] == 0.0
    assert set(case["recall"]) == {"disgust", "neutral"}
    assert 0.0 <= case["cnn_apex_right"] <= 1.0


def test_eval_flashes_bad_input_is_one_line(tmp_path):
    r = subprocess.run([sys.executable, "-m", "tells", "eval", "flashes",
                        str(tmp_path / "missing")], capture_output=True, text=True, timeout=120)
    assert r.returncode != 0
    assert r.stderr.strip().count("\n") == 0 and "no such folder" in r.stderr
    r = subprocess.run([sys.executable, "-m", "tells", "eval", "flashes", str(tmp_path),
                        "--flash", "9"], capture_output=True, text=True, timeout=120)
    assert r.returncode != 0 and "Traceback" not in r.stderr



def test_a_clip_that_fails_inside_tells_is_recorded_and_the_rest_scored(pair_dir, monkeypatch):
    """A bug hit by one clip (here one injected into its analysis) is that clip's error, counted
    in the summary; the other clips are still analysed and scored."""
    import tells
    from tells.cli.eval_flashes import evaluate

    real = tells.analyze_video
    seen = []

    def analyze(path, **kw):
        seen.append(path)
        if len(seen) == 1:
            raise RuntimeError("shape mismatch in a solver")
        return real(path, **kw)

    monkeypatch.setattr(tells, "analyze_video", analyze)
    items = read_items(pair_dir)
    summaries, rows = evaluate(items, [("micro", 0.4)])
    failed = [r for r in rows if "error" in r]
    assert len(failed) == 1 and failed[0]["error"].startswith("internal error: RuntimeError")
    scored = [r for r in rows if "error" not in r]
    assert len(scored) == 1 and "spotted" in scored[0]
    (summary,) = summaries
    assert summary["clips"] == 1 and summary["errors"] == 1


def test_clips_that_cannot_be_made_are_named_and_nothing_measured_is_a_failure(pair_dir,
                                                                             tmp_path):
    """A pairs CSV naming a photo that is not there: with another, real pair beside it the
    result is flagged partial and says which clip and why; with that pair alone nothing was
    measured, so the command fails with one line that says why."""
    real = pair_dir / "disgust" / "wolfgang"
    rows = ["neutral,expression,label",
            f"{real / 'neutral.png'},{real / 'expression.png'},disgust",
            f"{real / 'neutral.png'},{tmp_path / 'gone.png'},anger"]
    both, alone = tmp_path / "both.csv", tmp_path / "alone.csv"
    both.write_text("\n".join(rows) + "\n")
    alone.write_text("\n".join(rows[:1] + rows[2:]) + "\n")
    cmd = [sys.executable, "-m", "tells", "eval", "flashes", "--flash", "0.4", "--quiet"]
    r = subprocess.run([*cmd, str(both)], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    assert "1 clips, 1 NOT ANALYSED (partial result)" in r.stdout
    assert "not analysed:" in r.stdout and "gone.png" in r.stdout
    r = subprocess.run([*cmd, str(alone)], capture_output=True, text=True, timeout=600)
    assert r.returncode != 0 and "Traceback" not in r.stderr
    (line,) = [x for x in r.stderr.splitlines() if x.startswith("tells: ")]
    assert "no clip could be analysed" in line and "gone.png" in line
