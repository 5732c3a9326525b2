"""Leave-one-subject-out research protocol: metrics by hand, folds, flow, a small learnable
generated set, determinism."""

from __future__ import annotations

import json
import sys

import numpy as np
import pandas as pd
import pytest

from tells.cli.main import main
from tells.errors import InputError
from tells.research.flow import (
    dis_flow,
    flow_from_pair,
    optical_strain,
    read_flow,
    similarity_fit,
    write_flow_png,
)
from tells.research.loso import (
    LosoConfig,
    assert_disjoint,
    class_weights,
    inner_split,
    load_samples,
    loso_folds,
    read_manifest,
    run_loso,
    summarise,
)
from tells.research.metrics import uf1_uar
from tells.research.synthetic import make_flow_dataset


@pytest.fixture(autouse=True)
def _plain_stderr(monkeypatch):
    """The CLI's first call re-opens sys.stderr to filter native log lines, which would
    bypass capsys; TELLS_DEBUG turns that filter off."""
    monkeypatch.setenv("TELLS_DEBUG", "1")


# ---------------------------------------------------------------------------- metrics


def test_uf1_uar_hand_computed():
    truth = ["a", "a", "a", "b", "b", "c"]
    pred = ["a", "a", "b", "b", "c", "c"]
    # a: TP 2 FP 0 FN 1 -> F1 4/5, recall 2/3
    # b: TP 1 FP 1 FN 1 -> F1 2/4, recall 1/2
    # c: TP 1 FP 1 FN 0 -> F1 2/3, recall 1
    m = uf1_uar(truth, pred)
    assert m["uf1"] == pytest.approx((4 / 5 + 1 / 2 + 2 / 3) / 3)
    assert m["uar"] == pytest.approx((2 / 3 + 1 / 2 + 1) / 3)
    assert m["per_class"]["b"] == {"tp": 1, "fp": 1, "fn": 1, "support": 2,
                                   "f1": 0.5, "recall": 0.5}


def test_class_without_truth_is_not_averaged_but_its_predictions_are_misses():
    # c never true: dropped; the b predicted as c is a miss of b
    m = uf1_uar(["a", "b"], ["a", "c"], classes=["a", "b", "c"])
    assert m["uf1"] == pytest.approx(0.5)  # a: 1, b: 0
    assert m["uar"] == pytest.approx(0.5)
    assert set(m["per_class"]) == {"a", "b"}


def test_summary_pools_folds_and_splits_datasets():
    pred = pd.DataFrame({
        "fold": ["A/1", "A/1", "A/2", "B/1", "B/1", "B/2"],
        "dataset": ["A", "A", "A", "B", "B", "B"],
        "label": ["x", "x", "y", "x", "y", "y"],
        "pred_cnn": ["x", "y", "y", "x", "y", "x"],
    })
    pred["pred_cnn_single"] = pred["pred_cnn"]
    pred["pred_linear"] = "x"
    s = summarise(pred, ["x", "y"])
    # A: x TP1 FN1 -> F1 2/3 R 1/2; y TP1 FP1 -> F1 2/3 R 1  => UF1 2/3, UAR 3/4
    assert s["cnn"]["per_dataset"]["A"]["uf1"] == pytest.approx(2 / 3)
    assert s["cnn"]["per_dataset"]["A"]["uar"] == pytest.approx(3 / 4)
    # overall over 6 samples, counts summed over all folds:
    # x: TP2 FP1 FN1 -> F1 4/6, R 2/3 ; y: TP2 FP1 FN1 -> F1 4/6, R 2/3
    assert s["cnn"]["overall"]["uf1"] == pytest.approx(2 / 3)
    assert s["cnn"]["overall"]["uar"] == pytest.approx(2 / 3)
    # always "x": x F1 = 2*3/(6+3) = 2/3, y F1 0; recalls 1 and 0
    assert s["linear"]["overall"]["uf1"] == pytest.approx(1 / 3)
    assert s["linear"]["overall"]["uar"] == pytest.approx(1 / 2)


def test_class_weights_balance_counts():
    # counts 3, 1, 0 -> weights total/(count*present) = 4/6, 4/2, 0
    w = class_weights(np.array([0, 0, 0, 1]), 3)
    assert w.tolist() == pytest.approx([4 / 6, 2.0, 0.0])


# ------------------------------------------------------------------------------ folds


def test_folds_leave_each_subject_out_once_and_never_overlap():
    groups = pd.Series(["d1/s1", "d1/s1", "d1/s2", "d2/s1", "d2/s1", "d2/s1", "d1/s3"])
    folds = loso_folds(groups)
    assert [f[0] for f in folds] == ["d1/s1", "d1/s2", "d1/s3", "d2/s1"]
    seen = []
    for test, tr, te in folds:
        assert set(groups[te]) == {test}
        assert test not in set(groups[tr])
        assert len(tr) + len(te) == len(groups)
        seen.extend(te.tolist())
    assert sorted(seen) == list(range(len(groups)))


def test_overlap_is_refused():
    with pytest.raises(AssertionError, match="d1/s2"):
        assert_disjoint(["d1/s1", "d1/s2"], ["d1/s2"])


def test_inner_split_is_by_subject():
    groups = np.array([f"s{i % 10}" for i in range(50)])
    tr, va = inner_split(groups, 0.2, seed=3)
    assert len(set(groups[va])) == 2
    assert not set(groups[tr]) & set(groups[va])
    assert len(tr) + len(va) == 50
    # two subjects: one validates, never both
    tr, va = inner_split(np.array(["a", "b", "a"]), 0.9, seed=0)
    assert len(set(np.array(["a", "b", "a"])[va])) == 1 and len(tr) > 0


def test_same_subject_id_in_two_datasets_is_two_people(tmp_path):
    make_flow_dataset(tmp_path, n_samples=8, datasets=(("a", 2, 16, 1.0), ("b", 2, 16, 1.0)))
    m = read_manifest(tmp_path / "manifest.csv")
    assert sorted(m["group"].unique()) == ["a/s01", "a/s02", "b/s01", "b/s02"]


# ------------------------------------------------------------------------------- flow


def test_flow_png_round_trip_keeps_channel_order(tmp_path):
    flow = np.zeros((8, 8, 3), np.float32)
    flow[..., 0] = 2.0  # u only
    write_flow_png(tmp_path / "f.png", flow, scale=(4.0, 4.0, 1.0))
    back = read_flow(tmp_path / "f.png")
    # 127.5 + 127.5 * 0.5 = 191.25 -> 191 -> 191/255*2-1
    assert back[..., 0] == pytest.approx(np.full((8, 8), 191 / 255 * 2 - 1))
    assert np.abs(back[..., 1]).max() < 0.01 and np.abs(back[..., 2]).max() < 0.01


def test_read_flow_npy_and_errors(tmp_path):
    np.save(tmp_path / "chw.npy", np.ones((3, 5, 7), np.float32))
    assert read_flow(tmp_path / "chw.npy").shape == (5, 7, 3)
    np.save(tmp_path / "bad.npy", np.ones((5, 7), np.float32))
    with pytest.raises(InputError, match="expected"):
        read_flow(tmp_path / "bad.npy")
    (tmp_path / "x.png").write_bytes(b"not an image")
    with pytest.raises(InputError, match="not a readable image"):
        read_flow(tmp_path / "x.png")


def test_strain_of_a_linear_stretch():
    # u = 0.1 x, v = 0: only du/dx = 0.1 -> strain 0.1 everywhere
    x = np.tile(np.arange(10, dtype=np.float64), (10, 1))
    assert optical_strain(0.1 * x, np.zeros_like(x)) == pytest.approx(np.full((10, 10), 0.1))
    # pure shear u = 0.2 y: exy = 0.1 -> sqrt(2 * 0.01)
    y = x.T
    assert optical_strain(0.2 * y, np.zeros_like(y)) == pytest.approx(
        np.full((10, 10), np.sqrt(0.02)))


def _texture(side=64, seed=0):
    import cv2

    rng = np.random.default_rng(seed)
    t = cv2.GaussianBlur(rng.uniform(0, 255, (side, side)).astype(np.float32), (0, 0), 2.0)
    t = (t - t.min()) / (t.max() - t.min()) * 255
    return t.astype(np.uint8)


def test_dis_flow_sees_a_shift_to_the_right():
    t = _texture(96)
    onset, apex = t[16:80, 16:80], t[16:80, 14:78]  # content moves 2 px right
    f = dis_flow(np.ascontiguousarray(onset), np.ascontiguousarray(apex))
    inner = f[16:48, 16:48]
    assert np.median(inner[..., 0]) == pytest.approx(2.0, abs=0.3)
    assert np.median(inner[..., 1]) == pytest.approx(0.0, abs=0.3)


def test_similarity_fit_recovers_rotation_scale_shift():
    src = np.array([[0, 0], [1, 0], [0, 1], [2, 3]], float)
    # rotate 90 degrees, scale 2, shift (5, -1): (x, y) -> (-2y + 5, 2x - 1)
    dst = np.column_stack([-2 * src[:, 1] + 5, 2 * src[:, 0] - 1])
    assert similarity_fit(src, dst) == pytest.approx(np.array([[0, -2, 5], [2, 0, -1]]))


def test_onset_apex_rows_compute_flow(tmp_path):
    import cv2

    rows = []
    for i, (label, dx) in enumerate([("right", 2), ("left", -2), ("right", 2), ("left", -2)]):
        t = _texture(96, seed=i)
        onset, apex = t[16:80, 16:80], t[16:80, 16 - dx:80 - dx]
        for name, img in (("on", onset), ("ap", apex)):
            cv2.imwrite(str(tmp_path / f"{name}{i}.png"), np.dstack([img] * 3))
        rows.append({"dataset": "d", "subject": f"s{i}", "sample": f"x{i}", "label": label,
                     "onset": f"on{i}.png", "apex": f"ap{i}.png"})
    pd.DataFrame(rows).to_csv(tmp_path / "m.csv", index=False)
    data = load_samples(read_manifest(tmp_path / "m.csv"), size=16, align=False)
    mean_u = data.x[:, 0, 4:12, 4:12].mean(axis=(1, 2))
    assert (mean_u[[0, 2]] > 0.5).all() and (mean_u[[1, 3]] < -0.5).all()
    assert data.notes == {"computed_flow": 4, "no_face": 0, "aligned": False}
    # the whole images as flow_from_pair sees them, unaligned
    f, aligned = flow_from_pair(tmp_path / "on0.png", tmp_path / "ap0.png", size=64,
                                align=False)
    assert not aligned and f.shape == (64, 64, 3)


def test_manifest_errors(tmp_path):
    pd.DataFrame({"dataset": ["d"], "subject": ["s"], "label": ["x"],
                  "flow": ["f.png"]}).to_csv(tmp_path / "a.csv", index=False)
    with pytest.raises(InputError, match="missing sample"):
        read_manifest(tmp_path / "a.csv")
    pd.DataFrame({"dataset": ["d"] * 3, "subject": ["1", "2", "3"], "sample": ["a", "b", "c"],
                  "label": ["x"] * 3, "flow": ["f.png"] * 3}).to_csv(tmp_path / "b.csv",
                                                                     index=False)
    with pytest.raises(InputError, match="data row 1: no such file"):
        read_manifest(tmp_path / "b.csv")


def test_without_torch_the_command_says_how_to_install(tmp_path, monkeypatch, capsys):
    make_flow_dataset(tmp_path, n_samples=6, datasets=(("a", 3, 16, 1.0),))
    monkeypatch.setitem(sys.modules, "torch", None)  # as if torch were not installed
    code = main(["research", "loso", "--manifest", str(tmp_path / "manifest.csv"),
                 "-o", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1 and "pip install 'tells[research]'" in err


# ------------------------------------------------------------------- learning and runs


@pytest.fixture(scope="module")
def small_set(tmp_path_factory):
    d = tmp_path_factory.mktemp("flowset")
    make_flow_dataset(d, n_samples=120, datasets=(("a", 3, 24, 0.3), ("b", 3, 20, 0.3)),
                      seed=1)
    return d / "manifest.csv"


def test_small_generated_set_is_learnt_well_above_chance(small_set, tmp_path, capsys):
    code = main(["research", "loso", "--manifest", str(small_set), "-o", str(tmp_path),
                 "--epochs", "15", "--ensemble", "1", "--size", "12", "--batch-size", "16",
                 "--jobs", "1", "--json"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["n_samples"] == 120 and out["n_subjects"] == 6
    assert len(out["folds"]) == 6
    # three classes: guessing gives UF1/UAR about 1/3 (sd about 0.05 at 120 samples)
    for model in ("cnn", "linear"):
        assert out["results"][model]["overall"]["uf1"] > 0.5
        assert out["results"][model]["overall"]["uar"] > 0.5
    pred = pd.read_csv(tmp_path / "predictions.csv")
    assert len(pred) == 120 and not pred.duplicated(["dataset", "sample"]).any()
    # every fold's predictions are for its own subject only
    assert (pred["fold"] == pred["dataset"] + "/" + pred["subject"]).all()
    # the metrics file agrees with a recount of the predictions file
    recount = uf1_uar(pred["label"], pred["pred_cnn"])
    assert out["results"]["cnn"]["overall"]["uf1"] == pytest.approx(recount["uf1"])
    saved = json.loads((tmp_path / "metrics.json").read_text())
    assert saved["results"] == out["results"]


def test_same_seed_same_result(small_set, tmp_path):
    manifest = pd.read_csv(small_set)
    few = manifest[manifest["subject"].isin(["s01", "s02"])]  # 4 subjects over 2 datasets
    few.to_csv(small_set.parent / "few.csv", index=False)
    cfg = LosoConfig(seed=5, epochs=2, ensemble=2, size=12, jobs=1, linear_l2=(0.1,))

    def run(name, **changes):
        for k, v in changes.items():
            setattr(cfg, k, v)
        run_loso(small_set.parent / "few.csv", tmp_path / name, cfg)
        return pd.read_csv(tmp_path / name / "predictions.csv")

    a, again = run("a"), run("again")
    pd.testing.assert_frame_equal(a, again)  # bit for bit
    other = run("other", seed=6)
    assert not np.allclose(a.filter(like="p_").to_numpy(), other.filter(like="p_").to_numpy(),
                           atol=1e-3)
