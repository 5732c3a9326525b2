"""MEGC spotting evaluation on hand-worked cases (every expected number worked out by hand)."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from tells.cli.main import main
from tells.errors import InputError
from tells.spotting.evaluate import (
    align_videos,
    evaluate_spotting,
    interval_iou,
    match_intervals,
)


def events(rows, with_times=False):
    """rows: (video, kind, onset_frame, offset_frame)."""
    df = pd.DataFrame(rows, columns=["video", "kind", "onset_frame", "offset_frame"])
    if with_times:
        df["onset_t"] = df["onset_frame"] / 10.0
        df["offset_t"] = df["offset_frame"] / 10.0
    return df


@pytest.fixture(autouse=True)
def _plain_stderr(monkeypatch):
    """The CLI's first call re-opens sys.stderr to filter native log lines, which would
    bypass capsys; TELLS_DEBUG turns that filter off."""
    monkeypatch.setenv("TELLS_DEBUG", "1")


# ------------------------------------------------------------------------------- IoU


def test_iou_frames_are_inclusive():
    # (0..9) and (5..14): 5 shared frames of 15 covered
    assert interval_iou((0, 9), (5, 14)) == pytest.approx(5 / 15)
    # a single frame against itself
    assert interval_iou((3, 3), (3, 3)) == 1.0
    # adjacent intervals share nothing
    assert interval_iou((0, 9), (10, 19)) == 0.0


def test_iou_seconds_are_continuous():
    assert interval_iou((1.0, 2.0), (1.5, 2.5), inclusive=False) == pytest.approx(0.5 / 1.5)
    assert interval_iou((1.0, 2.0), (2.0, 3.0), inclusive=False) == 0.0


def test_overlap_of_exactly_half_counts_and_just_below_does_not():
    truth = [(0, 11)]  # 12 frames
    # (4..15): 8 shared of 16 covered = 0.5 exactly -> TP
    assert match_intervals(truth, [(4, 15)]) == [(0, 0, 0.5)]
    # (5..16): 7 shared of 17 covered = 0.41 -> no match
    assert match_intervals(truth, [(5, 16)]) == []
    # same in a table: the 0.5 one is a TP, the other an FP + FN
    r = evaluate_spotting(
        events([("v", "micro", 0, 11), ("w", "micro", 0, 11)]),
        events([("v", "micro", 4, 15), ("w", "micro", 5, 16)]),
    )
    assert (r.micro.tp, r.micro.fp, r.micro.fn) == (1, 1, 1)


def test_half_overlap_in_seconds_counts():
    # 0.1 s shared of 0.2 s covered: 0.5 even with float rounding
    truth = pd.DataFrame({"kind": ["micro"], "onset_t": [0.1], "offset_t": [0.3]})
    pred = pd.DataFrame({"kind": ["micro"], "onset_t": [0.1], "offset_t": [0.2]})
    r = evaluate_spotting(truth, pred)
    assert r.unit == "seconds"
    assert (r.micro.tp, r.micro.fp, r.micro.fn) == (1, 0, 0)


# -------------------------------------------------------------------------- matching


def test_one_prediction_over_two_truths_matches_only_one():
    # P (0..19) has IoU 10/20 = 0.5 with both A (0..9) and B (10..19)
    truth = events([("v", "micro", 0, 9), ("v", "micro", 10, 19)])
    pred = events([("v", "micro", 0, 19)])
    r = evaluate_spotting(truth, pred)
    assert (r.micro.tp, r.micro.fp, r.micro.fn) == (1, 0, 1)
    assert r.micro.precision == 1.0
    assert r.micro.recall == 0.5
    assert r.micro.f1 == pytest.approx(2 / 3)


def test_matching_maximises_true_positives_not_first_come():
    # P1 (0..19) reaches A and B at 0.5; P2 (10..19) reaches only B (1.0).
    # A first-come matcher giving B to P1 would get 1 TP; the right answer is 2.
    pairs = match_intervals([(0, 9), (10, 19)], [(0, 19), (10, 19)])
    assert [(t, p) for t, p, _ in pairs] == [(0, 0), (1, 1)]


def test_two_predictions_on_one_truth_give_one_tp_one_fp():
    truth = events([("v", "macro", 100, 199)])
    pred = events([("v", "macro", 100, 199), ("v", "macro", 110, 199)])
    r = evaluate_spotting(truth, pred)
    assert (r.macro.tp, r.macro.fp, r.macro.fn) == (1, 1, 0)
    tp_row = r.matches[r.matches["outcome"] == "TP"].iloc[0]
    assert tp_row["iou"] == 1.0  # the exact one wins the tie on cardinality


# ------------------------------------------------------------------------------ empty


def test_empty_truth_all_predictions_are_false_positives():
    r = evaluate_spotting(events([]), events([("v", "micro", 0, 9), ("v", "micro", 30, 39)]))
    assert (r.micro.tp, r.micro.fp, r.micro.fn) == (0, 2, 0)
    assert r.micro.precision == 0.0
    assert r.micro.recall is None  # no truth: recall undefined
    assert r.micro.f1 == 0.0


def test_empty_prediction_all_truths_are_misses():
    r = evaluate_spotting(
        events([("v", "micro", 0, 9), ("v", "micro", 30, 39), ("v", "macro", 50, 99)]),
        events([]),
    )
    assert (r.overall.tp, r.overall.fp, r.overall.fn) == (0, 0, 3)
    assert r.overall.precision is None
    assert r.overall.recall == 0.0
    assert r.overall.f1 == 0.0


def test_both_empty_scores_are_undefined():
    r = evaluate_spotting(events([]), events([]))
    d = r.as_dict()["overall"]
    assert (d["tp"], d["fp"], d["fn"]) == (0, 0, 0)
    assert d["precision"] is None and d["recall"] is None and d["f1"] is None


# ----------------------------------------------------------------- pooling and kinds


def test_counts_pool_over_videos_and_never_match_across_videos():
    truth = events([("v1", "micro", 0, 9), ("v2", "micro", 100, 109)])
    pred = events([
        ("v1", "micro", 0, 9),   # TP
        ("v2", "micro", 0, 9),   # same frames as v1's truth but another video: FP
        ("v3", "micro", 5, 9),   # video without truth: FP
    ])
    r = evaluate_spotting(truth, pred)
    assert (r.micro.tp, r.micro.fp, r.micro.fn) == (1, 2, 1)
    assert r.micro.precision == pytest.approx(1 / 3)
    assert r.micro.recall == pytest.approx(1 / 2)
    assert r.micro.f1 == pytest.approx(2 / (2 + 2 + 1))
    assert r.videos_only_in_pred == ["v3"]
    assert r.videos_only_in_truth == []


def test_micro_and_macro_are_matched_separately_and_overall_pools_them():
    truth = events([("v", "micro", 0, 9), ("v", "macro", 100, 199)])
    pred = events([
        ("v", "macro", 0, 9),      # right place, wrong kind: macro FP, micro truth missed
        ("v", "macro", 110, 199),  # IoU 90/100: macro TP
    ])
    r = evaluate_spotting(truth, pred)
    assert (r.micro.tp, r.micro.fp, r.micro.fn) == (0, 0, 1)
    assert r.micro.precision is None and r.micro.recall == 0.0 and r.micro.f1 == 0.0
    assert (r.macro.tp, r.macro.fp, r.macro.fn) == (1, 1, 0)
    assert r.macro.precision == 0.5 and r.macro.recall == 1.0
    assert r.macro.f1 == pytest.approx(2 / 3)
    assert (r.overall.tp, r.overall.fp, r.overall.fn) == (1, 1, 1)
    assert r.overall.f1 == pytest.approx(0.5)


def test_frame_offset_shifts_predictions():
    truth = events([("v", "micro", 1, 10)])
    pred = events([("v", "micro", 0, 9)])
    # unshifted: 9 shared of 11 covered (0.82) still TP; check exact IoU after shift
    r = evaluate_spotting(truth, pred, frame_offset=1)
    assert r.matches.loc[r.matches["outcome"] == "TP", "iou"].tolist() == [1.0]
    r = evaluate_spotting(truth, pred)
    assert r.matches.loc[r.matches["outcome"] == "TP", "iou"].tolist() == [pytest.approx(9 / 11)]


def test_seconds_used_when_a_side_lacks_frames():
    truth = events([("v", "micro", 0, 9)], with_times=True)  # 0.0 .. 0.9 s
    pred = pd.DataFrame({"video": ["v"], "kind": ["micro"], "onset_t": [0.45],
                         "offset_t": [0.9]})
    r = evaluate_spotting(truth, pred)
    assert r.unit == "seconds"
    assert r.micro.tp == 1  # 0.45 / 0.9 = 0.5


def test_missing_interval_columns_is_an_input_error():
    truth = pd.DataFrame({"kind": ["micro"], "onset_frame": [0], "offset_frame": [9]})
    pred = pd.DataFrame({"kind": ["micro"], "apex_frame": [4]})
    with pytest.raises(InputError, match="onset_frame"):
        evaluate_spotting(truth, pred)


def test_align_videos_names_a_single_video_file():
    truth = events([("clip", "micro", 0, 9)])
    pred = pd.DataFrame({"kind": ["micro"], "onset_frame": [0], "offset_frame": [9]})
    t, p = align_videos(truth, pred)
    assert p["video"].tolist() == ["clip"]
    two = events([("a", "micro", 0, 9), ("b", "micro", 0, 9)])
    with pytest.raises(InputError, match="2 videos"):
        align_videos(two, pred)


# -------------------------------------------------------------------------------- CLI


def _write_events(path, rows):
    cols = ["video", "face_id", "kind", "onset_frame", "apex_frame", "offset_frame",
            "onset_t", "apex_t", "offset_t", "duration_s", "aus", "emotion", "confidence",
            "displayed_emotion", "leakage"]
    data = []
    for video, kind, on, off in rows:
        data.append([video, 0, kind, on, (on + off) // 2, off, on / 30, (on + off) / 60,
                     off / 30, (off - on) / 30, "R12A+R14A", "contempt", 0.8, "happiness",
                     True])
    pd.DataFrame(data, columns=cols).to_csv(path, index=False)


def test_cli_json(tmp_path, capsys):
    _write_events(tmp_path / "truth.csv", [("a", "micro", 0, 9), ("a", "macro", 100, 199),
                                           ("b", "micro", 50, 59)])
    _write_events(tmp_path / "pred.csv", [("a", "micro", 0, 9), ("b", "micro", 52, 61),
                                          ("b", "micro", 300, 309)])
    code = main(["eval", "spotting", "--truth", str(tmp_path / "truth.csv"),
                 "--pred", str(tmp_path / "pred.csv"), "--json",
                 "--matches", str(tmp_path / "m.csv")])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    # micro: a TP; b (52..61) vs (50..59): 8 of 12 -> TP; b (300..309) FP
    assert (out["micro"]["tp"], out["micro"]["fp"], out["micro"]["fn"]) == (2, 1, 0)
    assert (out["macro"]["tp"], out["macro"]["fp"], out["macro"]["fn"]) == (0, 0, 1)
    assert out["macro"]["precision"] is None
    assert out["overall"]["f1"] == pytest.approx(4 / (4 + 1 + 1))
    assert out["unit"] == "frames" and out["iou_threshold"] == 0.5
    m = pd.read_csv(tmp_path / "m.csv")
    assert sorted(m["outcome"]) == ["FN", "FP", "TP", "TP"]


def test_cli_table_and_one_line_error(tmp_path, capsys):
    _write_events(tmp_path / "t.csv", [("a", "micro", 0, 9)])
    _write_events(tmp_path / "p.csv", [("a", "micro", 0, 9)])
    assert main(["eval", "spotting", "--truth", str(tmp_path / "t.csv"),
                 "--pred", str(tmp_path / "p.csv")]) == 0
    lines = capsys.readouterr().out.splitlines()
    micro = next(line for line in lines if line.startswith("micro"))
    assert micro.split() == ["micro", "1", "0", "0", "1.000", "1.000", "1.000"]

    pd.DataFrame({"kind": ["micro"], "apex": [3]}).to_csv(tmp_path / "bad.csv", index=False)
    code = main(["eval", "spotting", "--truth", str(tmp_path / "t.csv"),
                 "--pred", str(tmp_path / "bad.csv")])
    err = capsys.readouterr().err
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and "onset_frame" in err


def test_cli_rejects_disjoint_video_names(tmp_path, capsys):
    _write_events(tmp_path / "t.csv", [("sub01/EP02_01f", "micro", 0, 9)])
    _write_events(tmp_path / "p.csv", [("EP02_01f", "micro", 0, 9)])
    code = main(["eval", "spotting", "--truth", str(tmp_path / "t.csv"),
                 "--pred", str(tmp_path / "p.csv")])
    assert code == 2
    assert "share no video name" in capsys.readouterr().err
