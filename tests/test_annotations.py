"""Readers for truth/prediction files, on small files in the published layouts."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from tells.cli.main import main
from tells.errors import InputError
from tells.spotting.annotations import COLUMNS, read_events

EVENT_COLS = ["face_id", "kind", "onset_frame", "apex_frame", "offset_frame", "onset_t",
              "apex_t", "offset_t", "duration_s", "aus", "emotion", "confidence",
              "displayed_emotion", "leakage"]


def tells_rows(*intervals):
    return pd.DataFrame(
        [[0, kind, on, on + 2, off, on / 30, (on + 2) / 30, off / 30, (off - on) / 30,
          "R12A+R14A", "contempt", 0.7, "happiness", True] for kind, on, off in intervals],
        columns=EVENT_COLS,
    )


@pytest.fixture(autouse=True)
def _plain_stderr(monkeypatch):
    """The CLI's first call re-opens sys.stderr to filter native log lines, which would
    bypass capsys; TELLS_DEBUG turns that filter off."""
    monkeypatch.setenv("TELLS_DEBUG", "1")


# ------------------------------------------------------------------------------ tells


def test_tells_csv_with_video_column(tmp_path):
    df = tells_rows(("micro", 10, 20), ("macro", 100, 160))
    df.insert(0, "video", ["call1", "call2"])
    df.to_csv(tmp_path / "events.csv", index=False)
    out = read_events(tmp_path / "events.csv", "tells")
    assert list(out.columns[: len(COLUMNS)]) == COLUMNS
    assert out["video"].tolist() == ["call1", "call2"]
    assert out["kind"].tolist() == ["micro", "macro"]
    assert out["onset_frame"].tolist() == [10, 100]
    assert out["emotion"].tolist() == ["contempt", "contempt"]
    assert out["leakage"].tolist() == [True, True]


def test_tells_directory_of_analysis_folders(tmp_path):
    (tmp_path / "pred" / "sub01" / "EP02_01f").mkdir(parents=True)
    (tmp_path / "pred" / "call2").mkdir(parents=True)
    tells_rows(("micro", 5, 12)).to_csv(tmp_path / "pred/sub01/EP02_01f/events.csv", index=False)
    tells_rows(("micro", 1, 4), ("macro", 40, 90)).to_csv(
        tmp_path / "pred/call2/events.csv", index=False)
    (tmp_path / "pred" / "call2" / "frames.csv").write_text("frame\n0\n")  # ignored
    out = read_events(tmp_path / "pred", "tells")
    assert sorted(out["video"]) == ["call2", "call2", "sub01/EP02_01f"]
    assert out.loc[out["video"] == "sub01/EP02_01f", "offset_frame"].tolist() == [12]


def test_tells_single_analysis_folder_is_named_after_it(tmp_path):
    d = tmp_path / "WolfgangLanger_Pexels"
    d.mkdir()
    tells_rows(("micro", 5, 12)).to_csv(d / "events.csv", index=False)
    out = read_events(d, "tells")
    assert out["video"].tolist() == ["WolfgangLanger_Pexels"]


def test_tells_json_events(tmp_path):
    records = tells_rows(("micro", 3, 9)).to_dict(orient="records")
    (tmp_path / "events.json").write_text(json.dumps({"events": records}))
    out = read_events(tmp_path / "events.json", "tells")
    assert out[["onset_frame", "offset_frame"]].values.tolist() == [[3, 9]]


def test_tells_header_only_file_is_no_events(tmp_path):
    tells_rows().to_csv(tmp_path / "events.csv", index=False)
    assert len(read_events(tmp_path / "events.csv", "tells")) == 0


def test_tells_errors_are_one_line(tmp_path):
    pd.DataFrame({"onset_frame": [1], "offset_frame": [3]}).to_csv(tmp_path / "a.csv",
                                                                    index=False)
    with pytest.raises(InputError, match="'kind'"):
        read_events(tmp_path / "a.csv", "tells")
    pd.DataFrame({"kind": ["micro"], "onset_frame": ["x"], "offset_frame": [3]}).to_csv(
        tmp_path / "b.csv", index=False)
    with pytest.raises(InputError, match="onset_frame must be a number, got 'x' in data row 1"):
        read_events(tmp_path / "b.csv", "tells")
    with pytest.raises(InputError, match="no such file"):
        read_events(tmp_path / "missing.csv", "tells")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no events.csv"):
        read_events(tmp_path / "empty", "tells")
    with pytest.raises(InputError, match="unknown annotation format"):
        read_events(tmp_path / "a.csv", "smic")


# ---------------------------------------------------------------------------- CASME II

CASME2_HEADER = ["Subject", "Filename", "OnsetFrame", "ApexFrame", "OffsetFrame",
                 "Action Units", "Estimated Emotion"]
CASME2_ROWS = [
    [1, "EP02_01f", 46, 59, 86, "12", "happiness"],
    [1, "EP03_02", 131, 139, 161, "18", "others"],
    [2, "EP02_01f", 91, "/", 116, "4+L10", "repression"],  # same clip name, other subject
    [17, "EP05_03", 21, 44, 66, "4+7", "disgust"],
]


def _check_casme2(out):
    assert out["video"].tolist() == ["sub01/EP02_01f", "sub01/EP03_02", "sub02/EP02_01f",
                                     "sub17/EP05_03"]
    assert set(out["kind"]) == {"micro"}
    assert out["onset_frame"].tolist() == [46, 131, 91, 21]
    assert out["offset_frame"].tolist() == [86, 161, 116, 66]
    assert np.isnan(out["apex_frame"].iloc[2])  # "/" = unknown apex
    assert out["apex_frame"].iloc[0] == 59
    assert out["emotion"].tolist()[0] == "happiness"
    assert out["emotion"].isna().tolist() == [False, True, True, False]  # others, repression
    assert out["label"].tolist()[1:3] == ["others", "repression"]
    assert out["aus"].tolist()[2] == "4+L10"


def test_casme2_csv(tmp_path):
    pd.DataFrame(CASME2_ROWS, columns=CASME2_HEADER).to_csv(tmp_path / "c.csv", index=False)
    _check_casme2(read_events(tmp_path / "c.csv", "casme2"))


def test_casme2_xlsx(tmp_path):
    pd.DataFrame(CASME2_ROWS, columns=CASME2_HEADER).to_excel(tmp_path / "c.xlsx", index=False)
    _check_casme2(read_events(tmp_path / "c.xlsx", "casme2"))


def test_casme2_missing_column(tmp_path):
    pd.DataFrame([r[:4] for r in CASME2_ROWS], columns=CASME2_HEADER[:4]).to_csv(
        tmp_path / "c.csv", index=False)
    with pytest.raises(InputError, match="missing column.*OffsetFrame") as exc:
        read_events(tmp_path / "c.csv", "casme2")
    assert "\n" not in str(exc.value)


def test_corrupt_xlsx_is_an_input_error(tmp_path):
    (tmp_path / "c.xlsx").write_bytes(b"PK\x03\x04 this is not a workbook")
    with pytest.raises(InputError, match="not a readable .xlsx"):
        read_events(tmp_path / "c.xlsx", "casme2")


# --------------------------------------------------------------------------- CAS(ME)^2

CASME_SQ_ROWS = [
    # subject, clip, onset, apex, offset, AUs, valence, type, emotion, duration, video path
    [15, "anger1_1", 557, 572, 608, "4+7", "negative", "macro-expression", "anger", 52,
     "rawvideo/s15/15_0101disgustingteeth.avi"],
    [15, "anger1_2", 1201, 1210, 1222, "L12", "positive", "micro-expression", "happy", 22,
     "rawvideo/s15/15_0101disgustingteeth.avi"],
    [16, "happy1_3", 300, 312, 0, "12", "positive", "macro-expression", "happiness", 0,
     "rawvideo/s16/16_0102eatingworms.avi"],  # offset unknown -> apex
    [16, "happy1_4", 700, 0, 0, "12", "positive", "micro-expression", "others", 0,
     ""],  # apex and offset unknown, no path
]


def test_cas_me_2_csv_without_header(tmp_path):
    pd.DataFrame(CASME_SQ_ROWS).to_csv(tmp_path / "c.csv", index=False, header=False)
    out = read_events(tmp_path / "c.csv", "cas-me-2")
    assert out["video"].tolist() == ["15_0101disgustingteeth", "15_0101disgustingteeth",
                                     "16_0102eatingworms", "16_happy1"]
    assert out["kind"].tolist() == ["macro", "micro", "macro", "micro"]
    assert out["offset_frame"].tolist() == [608, 1222, 312, 700]
    assert out["offset_estimated"].tolist() == [False, False, True, True]
    assert np.isnan(out["apex_frame"].iloc[3])
    assert out["emotion"].tolist()[:3] == ["anger", "happiness", "happiness"]
    assert out["emotion"].isna().iloc[3]


def test_cas_me_2_xlsx_nine_columns(tmp_path):
    # the sheet as some releases ship it: no duration and no video path
    rows = [r[:9] for r in CASME_SQ_ROWS[:2]]
    pd.DataFrame(rows).to_excel(tmp_path / "c.xlsx", index=False, header=False)
    out = read_events(tmp_path / "c.xlsx", "cas-me-2")
    assert out["video"].tolist() == ["15_anger1", "15_anger1"]
    assert out["kind"].tolist() == ["macro", "micro"]


def test_cas_me_2_too_few_columns(tmp_path):
    pd.DataFrame([[15, "a_1", 1, 2, 3]]).to_csv(tmp_path / "c.csv", index=False, header=False)
    with pytest.raises(InputError, match="expected at least 8"):
        read_events(tmp_path / "c.csv", "cas-me-2")


# -------------------------------------------------------------------- SAMM Long Videos

SAMM_HEADER = ["Subject", "Filename", "Inducement Code", "Onset", "Apex", "Offset",
               "Duration", "Type", "Action Units", "Notes"]
SAMM_ROWS = [
    ["006", "006_1_1", 1, 566, 648, 743, 178, "Macro", "4+7", ""],
    ["006", "006_1_2", 1, 3562, 3588, 3632, 71, "Micro - 1/2", "R12", "smile"],
    ["007", "007_3_1", 3, 1100, -1, 1150, 51, "Micro - 1/2", "14", ""],
]


def _samm_sheet():
    title = [["SAMM Long Videos"] + [None] * 9, [None] * 10,
             ["Davison et al., micro-expression spotting"] + [None] * 9, [None] * 10]
    return pd.DataFrame(title + [SAMM_HEADER] + SAMM_ROWS)


def _check_samm(out):
    assert out["video"].tolist() == ["006_1", "006_1", "007_3"]
    assert out["subject"].tolist() == ["006", "006", "007"]
    assert out["kind"].tolist() == ["macro", "micro", "micro"]
    assert out["onset_frame"].tolist() == [566, 3562, 1100]
    assert out["offset_frame"].tolist() == [743, 3632, 1150]
    assert np.isnan(out["apex_frame"].iloc[2])  # -1 = unknown


def test_samm_lv_xlsx_with_title_lines(tmp_path):
    _samm_sheet().to_excel(tmp_path / "samm.xlsx", index=False, header=False)
    _check_samm(read_events(tmp_path / "samm.xlsx", "samm-lv"))


def test_samm_lv_csv(tmp_path):
    _samm_sheet().to_csv(tmp_path / "samm.csv", index=False, header=False)
    _check_samm(read_events(tmp_path / "samm.csv", "samm-lv"))


def test_samm_lv_without_header_row(tmp_path):
    pd.DataFrame(SAMM_ROWS).to_csv(tmp_path / "samm.csv", index=False, header=False)
    with pytest.raises(InputError, match="no SAMM Long Videos header"):
        read_events(tmp_path / "samm.csv", "samm-lv")


# ---------------------------------------------------------------- end to end with CLI


def test_eval_samm_truth_against_tells_folders(tmp_path, capsys):
    _samm_sheet().to_excel(tmp_path / "samm.xlsx", index=False, header=False)
    for video, rows in {
        # tells counts frames from 0: these are the truth intervals minus 1
        "006_1": [("macro", 565, 742), ("micro", 3561, 3631), ("micro", 9000, 9010)],
        "007_3": [],
    }.items():
        (tmp_path / "pred" / video).mkdir(parents=True)
        tells_rows(*rows).to_csv(tmp_path / "pred" / video / "events.csv", index=False)
    code = main(["eval", "spotting", "--truth", str(tmp_path / "samm.xlsx"), "--format",
                 "samm-lv", "--pred", str(tmp_path / "pred"), "--frame-offset", "1", "--json"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["micro"]["tp"], out["micro"]["fp"], out["micro"]["fn"]) == (1, 1, 1)
    assert (out["macro"]["tp"], out["macro"]["fp"], out["macro"]["fn"]) == (1, 0, 0)
    assert out["overall"]["precision"] == pytest.approx(2 / 3)
    assert out["overall"]["recall"] == pytest.approx(2 / 3)
