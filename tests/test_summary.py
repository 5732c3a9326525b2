"""summary.json from small hand-built (SYNTHETIC) tables whose counts are known by construction."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from tells.errors import InputError
from tells.insights import load_analysis, summarize
from tells.insights.segments import Segment
from tells.insights.tables import EMOTIONS
from tells.insights.transcript import Cue
from tells.report import write_report


def _frames(n=100, fps=10.0):
    """Two faces for 10 s; face 0 is always 60 % happiness, face 1 is 50 % contempt +
    20 % sadness. Frames 50..59 of face 1 are missing (-1 rows: no face there)."""
    rows = []
    for i in range(n):
        for fid in (0, 1):
            p = dict.fromkeys(EMOTIONS, 0.0)
            if fid == 0:
                p.update(happiness=0.6, neutral=0.4)
            else:
                p.update(contempt=0.5, sadness=0.2, neutral=0.3)
            missing = fid == 1 and 50 <= i < 60
            rows.append({
                "frame": i, "timestamp": i / fps, "face_id": -1 if missing else fid,
                "confidence": 0.0 if missing else 0.9, "success": 0 if missing else 1,
                "x": 10.0 + 100 * fid, "y": 10.0, "width": 80.0, "height": 90.0,
                "AU12_r": 2.0 if fid == 0 else 0.5, "AU14_r": 1.0, **p,
            })
    return pd.DataFrame(rows)


EVENTS = pd.DataFrame([
    # face, kind, onset, apex, offset, emotion, confidence, displayed, leakage
    (1, "micro", 2.0, 2.1, 2.3, "contempt", 0.9, "happiness", True),
    (1, "macro", 5.0, 6.0, 7.5, "disgust", 0.6, "", False),
    (0, "micro", 6.5, 6.6, 6.8, "happiness", 0.95, "", False),
    (0, "micro", 8.0, 8.1, 8.3, "fear", 0.4, "", False),
], columns=["face_id", "kind", "onset_t", "apex_t", "offset_t", "emotion", "confidence",
            "displayed_emotion", "leakage"])


@pytest.fixture
def analysis_dir(tmp_path):
    d = tmp_path / "run"
    d.mkdir()
    _frames().to_csv(d / "frames.csv", index=False)
    ev = EVENTS.copy()
    ev["duration_s"] = ev["offset_t"] - ev["onset_t"]
    ev["aus"] = ["R12A+R14A", "9+15+16", "6+12", "1+2+4+5+20"]
    ev.to_csv(d / "events.csv", index=False)
    (d / "run.json").write_text(json.dumps({"video": "missing.mp4", "duration_s": 10.0, "fps": 10}))
    return d


SEGMENTS = [Segment(0.0, 5.0, "intro"), Segment(5.0, 10.0, "pricing")]
CUES = [Cue(1.5, 2.5, "Forty dollars a seat.", "Sam"), Cue(5.5, 7.0, "Let me show you.", "Ana")]


def test_counts_per_face_and_overall(analysis_dir):
    s = summarize(load_analysis(analysis_dir))
    assert s["schema"] == "tells.summary/1"
    assert s["events"]["total"] == 4
    assert s["events"]["by_kind"] == {"micro": 3, "macro": 1}
    assert s["events"]["by_emotion"]["contempt"] == 1 and s["events"]["by_emotion"]["fear"] == 1
    assert s["events"]["by_emotion"]["surprise"] == 0 and s["events"]["leakage"] == 1
    faces = {f["face_id"]: f for f in s["faces"]}
    assert set(faces) == {0, 1}  # the -1 rows are not a face
    assert faces[0]["frames"] == 100 and faces[1]["frames"] == 90
    assert faces[0]["events"]["total"] == 2 and faces[1]["events"]["leakage"] == 1
    assert faces[0]["dominant_emotion"] == "happiness"
    assert faces[1]["dominant_emotion"] == "contempt"
    assert faces[0]["valence"]["balance"] == pytest.approx(0.6)
    assert faces[1]["valence"]["negative"] == pytest.approx(0.7)
    assert faces[1]["valence"]["balance"] == pytest.approx(-0.7)
    assert s["available"] == {"faces": True, "action_units": True, "emotions": True,
                              "events": True, "transcript": False, "segments": False}


def test_segments_and_transcript_context(analysis_dir):
    s = summarize(load_analysis(analysis_dir), CUES, SEGMENTS)
    intro, pricing = s["segments"]
    assert intro["label"] == "intro" and intro["events"]["total"] == 1
    assert pricing["events"]["total"] == 3
    assert pricing["by_face"]["0"]["total"] == 2 and pricing["by_face"]["1"]["total"] == 1
    assert [m["emotion"] for m in intro["notable"]] == ["contempt"]
    top = s["top_moments"]
    # leakage + contempt + micro outranks a plain, more confident happiness micro-expression
    assert top[0]["emotion"] == "contempt" and top[0]["rank"] == 1
    assert top[0]["segment"] == "intro" and top[0]["speaker"] == "Sam"
    assert "Forty dollars a seat." in top[0]["words"]
    assert any("leakage" in r for r in top[0]["reasons"])
    assert any("Sam" in r for r in top[0]["reasons"])
    assert [m["rank"] for m in top] == [1, 2, 3, 4]
    scores = [m["score"] for m in top]
    assert scores == sorted(scores, reverse=True)
    low = next(m for m in top if m["emotion"] == "fear")
    assert any("low confidence" in r for r in low["reasons"])


def test_missing_stage_columns_degrade(tmp_path):
    d = tmp_path / "early"
    d.mkdir()
    f = _frames()[["frame", "timestamp", "face_id", "confidence", "success", "x", "y", "width",
                   "height"]]
    f.to_parquet(d / "frames.parquet", index=False)
    s = summarize(load_analysis(d))
    assert s["available"]["emotions"] is False and s["available"]["events"] is False
    assert s["events"]["total"] == 0 and s["top_moments"] == []
    assert s["faces"][0]["emotion_share"] is None and s["faces"][0]["valence"] is None
    path = write_report(d)
    assert path.exists() and (d / "summary.json").exists()
    written = json.loads((d / "summary.json").read_text())
    assert written["available"]["action_units"] is False and written["faces"][0]["frames"] == 100


def test_write_report_summary_file_is_json_and_remembers_context(analysis_dir, tmp_path):
    seg_csv = tmp_path / "agenda.csv"
    seg_csv.write_text("start,end,label\n0,5,intro\n5,10,pricing\n")
    write_report(analysis_dir, segments=seg_csv)
    first = json.loads((analysis_dir / "summary.json").read_text())
    assert [s["label"] for s in first["segments"]] == ["intro", "pricing"]
    # rebuilt without --segments: the saved context is reused
    write_report(analysis_dir)
    again = json.loads((analysis_dir / "summary.json").read_text())
    assert again["segments"] == first["segments"]
    assert not list(analysis_dir.glob(".*.tmp"))  # temp files renamed away


def test_no_face_and_missing_directory(tmp_path):
    d = tmp_path / "noface"
    d.mkdir()
    pd.DataFrame({"frame": np.arange(5), "timestamp": np.arange(5) / 5, "face_id": -1,
                  "success": 0}).to_csv(d / "frames.csv", index=False)
    s = summarize(load_analysis(d))
    assert s["faces"] == [] and s["available"]["faces"] is False
    with pytest.raises(InputError, match="tells analyze"):
        load_analysis(tmp_path / "nowhere")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputError, match="frames"):
        load_analysis(empty)
