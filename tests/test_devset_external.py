"""The external check sets' pair lists (scripts/devset_external.py): each expression paired
with the same person's neutral, the right label, paths that resolve from the CSV's folder."""

import csv
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "devset_external.py"


def _touch(root: Path, *names: str) -> None:
    for n in names:
        (root / n).parent.mkdir(parents=True, exist_ok=True)
        (root / n).write_bytes(b"x")


def _run(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)],
                          capture_output=True, text=True)


def _rows(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    for r in rows:  # every path resolves from the CSV's folder, as tells eval flashes reads it
        assert (path.parent / r["neutral"]).is_file() and (path.parent / r["expression"]).is_file()
    return rows


def test_rafd_morphing_pairs_each_emotion_with_its_neutral_at_the_asked_strength(tmp_path):
    root = tmp_path / "data" / "morphing"
    for pid, sex in (("16", "female"), ("21", "male")):
        person = f"images/Rafd090_{pid}_Caucasian_{sex}_"
        _touch(root, f"{person}/Rafd090_{pid}_Caucasian_{sex}_neutral.png")
        for emo in ("angry", "fearful", "sad"):
            for k in (25, 50, 75, 100):
                stem = f"Rafd090_{pid}_Caucasian_{sex}_{emo}_frontal"
                _touch(root, f"{person}/{stem}.jpg/{stem}_{k}.png")
    out = tmp_path / "lists" / "rafd.csv"
    out.parent.mkdir()
    assert _run("rafd-morphing", root, out).returncode == 0
    rows = _rows(out)
    assert len(rows) == 6
    assert {(r["subject"], r["label"]) for r in rows} == {
        (s, lab) for s in ("rafd_16", "rafd_21") for lab in ("anger", "fear", "sadness")}
    for r in rows:
        assert r["expression"].endswith("_100.png")
        assert r["subject"].split("_")[1] in r["neutral"] and "neutral" in r["neutral"]
        assert r["subject"].split("_")[1] in r["expression"]
    assert _run("rafd-morphing", root, out, "--strength", 50).returncode == 0
    assert all(r["expression"].endswith("_50.png") for r in _rows(out))


def test_rafd_utrecht_leaves_the_houses_out_and_london_skips_a_missing_smile(tmp_path):
    root = tmp_path / "utrecht"
    _touch(root, "stimuli/F1_n.jpg", "stimuli/F1_f.jpg", "stimuli/F1_h.jpg",
           "stimuli/M2_n.jpg", "stimuli/M2_h.jpg", "stimuli/H01.jpg", "stimuli/fix.jpg")
    out = tmp_path / "u.csv"
    assert _run("rafd-utrecht", root, out).returncode == 0
    rows = _rows(out)
    assert sorted((r["subject"], r["label"]) for r in rows) == [
        ("rafdu_F1", "fear"), ("rafdu_F1", "happiness"), ("rafdu_M2", "happiness")]
    assert not any("H01" in r["expression"] or "fix" in r["expression"] for r in rows)

    london = tmp_path / "london"
    _touch(london, "inst/neutral_front/001_03.jpg", "inst/smiling_front/001_08.jpg",
           "inst/neutral_front/002_03.jpg", "inst/neutral_front/._003_03.jpg")
    out = tmp_path / "l.csv"
    assert _run("london", london, out).returncode == 0
    assert [(r["subject"], r["label"]) for r in _rows(out)] == [("london_001", "happiness")]


def test_an_empty_folder_is_one_error_line_and_strength_is_rafd_morphing_only(tmp_path):
    done = _run("london", tmp_path, tmp_path / "x.csv")
    assert done.returncode != 0 and "no pairs found" in done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "x.csv").exists()
    done = _run("london", tmp_path, tmp_path / "x.csv", "--strength", 50)
    assert done.returncode != 0 and "rafd-morphing only" in done.stderr
