"""Leave-one-subject-out (LOSO) micro-expression recognition on flow images (MEGC protocol).

This module owns the research protocol behind ``tells research loso``: reading the manifest,
turning every sample into a small flow tensor, the folds, the models and the MEGC metrics.

Protocol, per fold (one test subject; subjects are ``dataset/subject`` so equal ids in two
datasets are different people):

1. The training subjects are all others; the fold asserts that no subject is on both sides.
2. Nested split: about a fifth of the *training* subjects (at least one, drawn with the
   fold's seed) are held out as inner validation. A CNN trained on the rest picks the epoch
   count (best smoothed validation UF1, early stop after ``patience`` epochs without gain);
   the linear baseline picks its L2 strength the same way. The test subject is never looked
   at before its predictions are written.
3. The final models train on all training subjects: ``ensemble`` CNNs (different seeds, the
   chosen epoch count) whose class probabilities are averaged, and the linear model.

Training details: inputs resized to ``size``×``size``; per-channel scales from the fold's
training samples (u and v are scaled but not shifted, so the horizontal mirror still negates
u); class-balanced cross-entropy (weights inverse to class frequency in the training fold);
augmentation by horizontal mirror with u negated and shifts of up to 2 pixels. Each fold runs
on one thread with seeds derived from ``seed`` and the test subject (not from fold order), with
``torch.use_deterministic_algorithms``: the same command with the same seed repeats bit for bit.
Folds run in worker processes when ``jobs`` > 1; their float rounding can differ from a
single-process run in the fourth decimal of a probability, so compare runs at equal ``jobs``.

Metrics are UF1 and UAR (:mod:`tells.research.metrics`) over predictions pooled across folds,
overall and per dataset, for the CNN ensemble, a single CNN (the first member; what ensembling
adds) and the linear baseline (what the network adds).
"""

from __future__ import annotations

import json
import os
import time
import zlib
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tells.errors import InputError, OutputError
from tells.research.metrics import uf1_uar

REQUIRED = ["dataset", "subject", "sample", "label"]
MODELS = ("cnn", "cnn_single", "linear")
INSTALL_HINT = (
    "tells research needs PyTorch: pip install 'tells[research]' (CPU build, torch==2.13.0)"
)


@dataclass
class LosoConfig:
    """Settings of a LOSO run (all recorded in metrics.json)."""

    seed: int = 0
    epochs: int = 30  #: most epochs a CNN may train (the inner split picks how many)
    ensemble: int = 3
    size: int = 24
    batch_size: int = 32
    lr: float = 3e-3
    weight_decay: float = 1e-3
    patience: int = 8
    val_fraction: float = 0.2
    flip: bool = True
    balance: bool = True
    shift: int = 2
    linear_l2: tuple[float, ...] = (1e-3, 1e-2, 1e-1, 1.0)
    linear_size: int = 12
    jobs: int = 1
    align: bool = True


@dataclass
class Sample:
    """Loaded data: ``x`` is ``(n, 3, size, size)`` float32; the rest one entry per sample."""

    x: np.ndarray
    table: pd.DataFrame  #: manifest rows plus ``group`` (dataset/subject) and ``y``
    classes: list[str]
    notes: dict[str, Any] = field(default_factory=dict)


# ------------------------------------------------------------------------------ manifest


def read_manifest(path: str | Path) -> pd.DataFrame:
    """Read and check a manifest; paths become absolute (relative ones are taken from the
    manifest's folder)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such manifest")
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not a readable CSV manifest ({exc})") from None
    df.columns = [c.strip().lower() for c in df.columns]
    missing = [c for c in REQUIRED if c not in df.columns]
    has_flow = "flow" in df.columns
    has_pair = {"onset", "apex"} <= set(df.columns)
    if missing or not (has_flow or has_pair):
        raise InputError(
            f"{path}: manifest needs columns dataset, subject, sample, label and flow (or onset "
            f"and apex){'; missing ' + ', '.join(missing) if missing else ''}"
        )
    if df.empty:
        raise InputError(f"{path}: manifest has no rows")
    for c in REQUIRED:
        df[c] = df[c].str.strip()
        empty = df[c] == ""
        if empty.any():
            raise InputError(f"{path}: empty {c} in data row {int(np.flatnonzero(empty)[0]) + 1}")
    base = path.parent
    for c in ("flow", "onset", "apex"):
        if c in df.columns:
            df[c] = [str(base / p) if p.strip() and not Path(p).is_absolute() else p.strip()
                     for p in df[c]]
    for i, row in enumerate(df.itertuples(index=False), start=1):
        r = row._asdict()
        if has_flow and r["flow"]:
            need = [r["flow"]]
        elif has_pair and r.get("onset") and r.get("apex"):
            need = [r["onset"], r["apex"]]
        else:
            raise InputError(f"{path}: data row {i} has neither flow nor onset and apex paths")
        for p in need:
            if not Path(p).is_file():
                raise InputError(f"{path}: data row {i}: no such file {p}")
    df["group"] = df["dataset"] + "/" + df["subject"]
    if df["group"].nunique() < 3:
        raise InputError(f"{path}: leave-one-subject-out needs at least 3 subjects, found "
                         f"{df['group'].nunique()}")
    return df.reset_index(drop=True)


def load_samples(
    manifest: pd.DataFrame,
    size: int,
    align: bool = True,
    cache_dir: Path | None = None,
    advance: Callable[[int], None] | None = None,
) -> Sample:
    """Flow tensors for every manifest row, resized to ``size``.

    Rows with ``flow`` read it (:func:`tells.research.flow.read_flow`); rows with ``onset``
    and ``apex`` compute it (:func:`tells.research.flow.flow_from_pair`), cached as ``.npy`` in
    ``cache_dir`` when given. ``notes["no_face"]`` counts computed rows where alignment was asked for but no face was
    found and the whole image was used.
    """
    import cv2

    from tells.research.flow import flow_from_pair, read_flow

    xs = []
    no_face = 0
    computed = 0
    for row in manifest.to_dict(orient="records"):
        if row.get("flow"):
            flow = read_flow(row["flow"])
        else:
            flow, aligned = _cached_pair_flow(row["onset"], row["apex"], align, cache_dir,
                                              flow_from_pair)
            computed += 1
            no_face += int(align and not aligned)
        xs.append(cv2.resize(flow, (size, size), interpolation=cv2.INTER_AREA))
        if advance:
            advance(1)
    x = np.stack(xs).transpose(0, 3, 1, 2).astype(np.float32)
    classes = sorted(manifest["label"].unique())
    table = manifest.copy()
    table["y"] = [classes.index(lab) for lab in table["label"]]
    notes = {"computed_flow": computed, "no_face": no_face, "aligned": bool(align)}
    return Sample(x=x, table=table, classes=classes, notes=notes)


def _cached_pair_flow(onset, apex, align, cache_dir, compute) -> tuple[np.ndarray, bool]:
    key = None
    if cache_dir is not None:
        st_o, st_a = os.stat(onset), os.stat(apex)
        ident = f"{onset}|{st_o.st_size}|{st_o.st_mtime_ns}|{apex}|{st_a.st_size}|" \
                f"{st_a.st_mtime_ns}|{align}"
        key = cache_dir / f"{zlib.crc32(ident.encode()):08x}_{Path(onset).stem}.npz"
        if key.is_file():
            with np.load(key) as z:
                return z["flow"], bool(z["aligned"])
    flow, aligned = compute(onset, apex, align=align)
    if key is not None:
        key.parent.mkdir(parents=True, exist_ok=True)
        np.savez(key, flow=flow, aligned=aligned)
    return flow, aligned


# --------------------------------------------------------------------------------- folds


def fold_seed(seed: int, group: str) -> int:
    """A stable 32-bit seed for one fold (independent of fold order and of ``PYTHONHASHSEED``)."""
    return zlib.crc32(f"{seed}|{group}".encode()) & 0x7FFFFFFF


def assert_disjoint(train_groups, test_groups) -> None:
    """Raise AssertionError when a subject is both in training and test."""
    shared = set(train_groups) & set(test_groups)
    if shared:
        raise AssertionError(f"subject(s) in both training and test: {sorted(shared)}")


def loso_folds(groups: pd.Series) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """``(test_group, train_index, test_index)`` per subject, sorted by subject."""
    g = groups.to_numpy()
    folds = []
    for test in sorted(set(g)):
        te = np.flatnonzero(g == test)
        tr = np.flatnonzero(g != test)
        assert_disjoint(g[tr], g[te])
        folds.append((test, tr, te))
    return folds


def inner_split(groups: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Split training positions by subject: ``(inner_train, inner_val)`` index arrays into
    ``groups``; about ``fraction`` of the subjects (at least one, never all) validate."""
    subjects = np.array(sorted(set(groups)))
    rng = np.random.default_rng(seed)
    n_val = min(len(subjects) - 1, max(1, round(fraction * len(subjects))))
    val = set(rng.choice(subjects, size=n_val, replace=False).tolist())
    is_val = np.array([g in val for g in groups])
    tr, va = np.flatnonzero(~is_val), np.flatnonzero(is_val)
    assert_disjoint(groups[tr], groups[va])
    return tr, va


def channel_scales(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel ``(shift, scale)`` from training samples: u and v are not shifted (so a
    mirror still negates u), strain is centred; scale is the RMS after the shift."""
    shift = np.zeros(3, np.float32)
    shift[2] = x[:, 2].mean()
    centred = x - shift[None, :, None, None]
    scale = np.sqrt((centred**2).mean(axis=(0, 2, 3))).astype(np.float32)
    scale[scale == 0] = 1.0
    return shift, scale


def class_weights(y: np.ndarray, n_classes: int) -> np.ndarray:
    """Inverse-frequency weights normalised to mean 1 over the classes present."""
    counts = np.bincount(y, minlength=n_classes).astype(np.float64)
    w = np.where(counts > 0, counts.sum() / np.maximum(counts, 1) / max(1, (counts > 0).sum()),
                 0.0)
    return w.astype(np.float32)


# ---------------------------------------------------------------------------------- linear


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def fit_linear(x: np.ndarray, y: np.ndarray, n_classes: int, l2: float,
               weights: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Multinomial logistic regression (L-BFGS) with per-class sample weights; returns
    ``(W, b)``. ``x`` is ``(n, d)`` standardised features."""
    from scipy.optimize import minimize

    n, d = x.shape
    sw = np.ones(n) if weights is None else weights[y].astype(np.float64)
    sw = sw / sw.sum()
    onehot = np.eye(n_classes)[y]

    def loss(theta):
        w = theta[: d * n_classes].reshape(d, n_classes)
        b = theta[d * n_classes:]
        p = _softmax(x @ w + b)
        nll = -(sw * np.log(np.clip((p * onehot).sum(1), 1e-12, None))).sum()
        g = (p - onehot) * sw[:, None]
        grad_w = x.T @ g + l2 * w
        return nll + 0.5 * l2 * (w**2).sum(), np.concatenate([grad_w.ravel(), g.sum(0)])

    theta0 = np.zeros(d * n_classes + n_classes)
    res = minimize(loss, theta0, jac=True, method="L-BFGS-B", options={"maxiter": 300})
    return res.x[: d * n_classes].reshape(d, n_classes), res.x[d * n_classes:]


def linear_features(x: np.ndarray, size: int) -> np.ndarray:
    """Flattened flow downsampled to ``size``×``size`` (area average)."""
    import cv2

    out = [cv2.resize(s.transpose(1, 2, 0), (size, size), interpolation=cv2.INTER_AREA)
           for s in x]
    return np.stack(out).reshape(len(x), -1).astype(np.float64)


def run_linear(x_tr, y_tr, x_te, n_classes, cfg: LosoConfig, inner) -> tuple[np.ndarray, float]:
    """Linear baseline of one fold: pick L2 on the inner split, refit, predict probabilities."""
    f_tr = linear_features(x_tr, cfg.linear_size)
    f_te = linear_features(x_te, cfg.linear_size)
    w = class_weights(y_tr, n_classes) if cfg.balance else None
    itr, iva = inner

    def standardise(fit, *others):
        mu, sd = fit.mean(0), fit.std(0) + 1e-6
        return [(a - mu) / sd for a in (fit, *others)]

    a_tr, a_va = standardise(f_tr[itr], f_tr[iva])
    best_l2, best = cfg.linear_l2[0], -1.0
    for l2 in cfg.linear_l2:
        wi = class_weights(y_tr[itr], n_classes) if cfg.balance else None
        W, b = fit_linear(a_tr, y_tr[itr], n_classes, l2, wi)
        score = uf1_uar(y_tr[iva], (a_va @ W + b).argmax(1))["uf1"] or 0.0
        if score > best + 1e-12:
            best_l2, best = l2, score
    a_tr, a_te = standardise(f_tr, f_te)
    W, b = fit_linear(a_tr, y_tr, n_classes, best_l2, w)
    return _softmax(a_te @ W + b), best_l2


# ------------------------------------------------------------------------------------- CNN


def _torch():
    try:
        import torch
    except ImportError:
        raise InputError(INSTALL_HINT) from None
    return torch


def build_cnn(n_classes: int, size: int):
    """Compact CNN for 3-channel flow (about 12k weights): three conv blocks (12, 24, 32
    channels; batch norm, ReLU, 2×2 max pool), then dropout and a linear layer over a 3×3 map,
    which keeps where on the face the motion is."""
    torch = _torch()
    nn = torch.nn

    def block(i, o):
        return [nn.Conv2d(i, o, 3, padding=1, bias=False), nn.BatchNorm2d(o), nn.ReLU(),
                nn.MaxPool2d(2)]

    return nn.Sequential(
        *block(3, 12), *block(12, 24), *block(24, 32),
        nn.AdaptiveAvgPool2d(3), nn.Flatten(), nn.Dropout(0.3), nn.Linear(32 * 9, n_classes),
    )


def _augment(xb, gen, cfg: LosoConfig):
    torch = _torch()
    if cfg.flip:
        flip = torch.rand(xb.shape[0], generator=gen) < 0.5
        if flip.any():
            f = xb[flip].flip(-1)
            f[:, 0] = -f[:, 0]  # mirror: horizontal motion changes sign
            xb = xb.clone()
            xb[flip] = f
    if cfg.shift > 0:
        dx, dy = (int(v) for v in torch.randint(-cfg.shift, cfg.shift + 1, (2,), generator=gen))
        xb = torch.roll(xb, shifts=(dy, dx), dims=(2, 3))
    return xb


def train_cnn(x, y, n_classes, cfg: LosoConfig, seed: int, epochs: int,
              x_val=None, y_val=None):
    """Train one CNN for ``epochs`` epochs. With validation data, also returns the validation
    UF1 after each epoch (early stop after ``cfg.patience`` epochs without a new best)."""
    torch = _torch()
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    model = build_cnn(n_classes, cfg.size)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    w = class_weights(y, n_classes) if cfg.balance else np.ones(n_classes, np.float32)
    loss_fn = torch.nn.CrossEntropyLoss(weight=torch.from_numpy(w))
    xt, yt = torch.from_numpy(x), torch.from_numpy(y.astype(np.int64))
    curve: list[float] = []
    best, since = -1.0, 0
    for _ in range(epochs):
        model.train()
        order = torch.randperm(len(xt), generator=gen)
        for i in range(0, len(order), cfg.batch_size):
            idx = order[i: i + cfg.batch_size]
            if len(idx) < 2:  # batch norm needs two samples
                continue
            xb = _augment(xt[idx], gen, cfg)
            opt.zero_grad()
            loss_fn(model(xb), yt[idx]).backward()
            opt.step()
        if x_val is not None:
            pred = predict_proba(model, x_val).argmax(1)
            curve.append(uf1_uar(y_val, pred)["uf1"] or 0.0)
            if curve[-1] > best + 1e-9:
                best, since = curve[-1], 0
            else:
                since += 1
                if since >= cfg.patience:
                    break
    return model, curve


def predict_proba(model, x: np.ndarray) -> np.ndarray:
    torch = _torch()
    model.eval()
    with torch.no_grad():
        return torch.softmax(model(torch.from_numpy(x)), dim=1).numpy()


def choose_epochs(curve: list[float], minimum: int = 3) -> int:
    """Epoch count with the best validation UF1 smoothed over 3 epochs (earliest on ties)."""
    if not curve:
        return minimum
    c = np.asarray(curve)
    smooth = np.convolve(np.pad(c, 1, mode="edge"), np.ones(3) / 3, mode="valid")
    return max(minimum, int(np.argmax(smooth)) + 1)


# ------------------------------------------------------------------------------ one fold


def _set_determinism(threads: int = 1) -> None:
    torch = _torch()
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True, warn_only=True)


def run_fold(x: np.ndarray, y: np.ndarray, groups: np.ndarray, test_group: str,
             n_classes: int, cfg: LosoConfig) -> dict[str, Any]:
    """Train and test one LOSO fold; returns the test indices, probabilities per model and
    what was chosen on the inner split."""
    t0 = time.perf_counter()
    _set_determinism(1)
    tr = np.flatnonzero(groups != test_group)
    te = np.flatnonzero(groups == test_group)
    assert_disjoint(groups[tr], groups[te])
    seed = fold_seed(cfg.seed, test_group)
    itr, iva = inner_split(groups[tr], cfg.val_fraction, seed)
    assert_disjoint(groups[tr][itr], [test_group])

    shift, scale = channel_scales(x[tr])
    xn = ((x - shift[None, :, None, None]) / scale[None, :, None, None]).astype(np.float32)
    x_tr, y_tr, x_te = xn[tr], y[tr], xn[te]

    _, curve = train_cnn(x_tr[itr], y_tr[itr], n_classes, cfg, seed, cfg.epochs,
                         x_tr[iva], y_tr[iva])
    epochs = choose_epochs(curve)
    probs = []
    for m in range(max(1, cfg.ensemble)):
        model, _ = train_cnn(x_tr, y_tr, n_classes, cfg, seed + 7919 * (m + 1), epochs)
        probs.append(predict_proba(model, x_te))
    p_lin, l2 = run_linear(x[tr], y_tr, x[te], n_classes, cfg, (itr, iva))
    return {
        "test_group": test_group,
        "test_index": te,
        "cnn": np.mean(probs, axis=0),
        "cnn_single": probs[0],
        "linear": p_lin,
        "info": {
            "fold_subject": test_group,
            "n_train": int(len(tr)),
            "n_inner_train": int(len(itr)),
            "n_inner_val": int(len(iva)),
            "n_inner_val_subjects": int(len(set(groups[tr][iva]))),
            "n_test": int(len(te)),
            "epochs_chosen": epochs,
            "inner_val_uf1_curve": [round(v, 4) for v in curve],
            "linear_l2": l2,
            "seconds": round(time.perf_counter() - t0, 2),
        },
    }


_WORKER: dict[str, Any] = {}


def _init_worker(x, y, groups, n_classes, cfg) -> None:
    _WORKER.update(x=x, y=y, groups=groups, n_classes=n_classes, cfg=cfg)


def _worker_fold(test_group: str) -> dict[str, Any]:
    w = _WORKER
    return run_fold(w["x"], w["y"], w["groups"], test_group, w["n_classes"], w["cfg"])


# --------------------------------------------------------------------------------- a run


def summarise(pred: pd.DataFrame, classes: list[str]) -> dict[str, Any]:
    """UF1/UAR per model, overall and per dataset, from the pooled predictions table."""
    out: dict[str, Any] = {}
    for model in MODELS:
        col = f"pred_{model}"
        per_ds = {
            ds: uf1_uar(g["label"], g[col], classes) for ds, g in pred.groupby("dataset")
        }
        out[model] = {"overall": uf1_uar(pred["label"], pred[col], classes),
                      "per_dataset": per_ds}
    return out


def run_loso(
    manifest_path: str | Path,
    out_dir: str | Path,
    cfg: LosoConfig,
    progress: Callable[..., Any] | None = None,
) -> dict[str, Any]:
    """Run all folds; write ``predictions.csv`` (rewritten after every fold, so partial
    results stay) and ``metrics.json``; return the metrics dict.

    ``progress(description, total, unit=...)`` is a context manager yielding ``advance(n)``
    (like :func:`tells.cli.common.progress`); ``None`` shows nothing.
    """
    from contextlib import nullcontext

    _torch()  # fail early, in one line, without torch
    t0 = time.perf_counter()
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{out_dir}: cannot create output folder ({exc.strerror})") from None
    manifest = read_manifest(manifest_path)

    def bar(desc, total, unit):
        if progress is None:
            return nullcontext(lambda n=1, **kw: None)
        return progress(desc, total, unit=unit)

    with bar("loading flow", len(manifest), "samples") as advance:
        data = load_samples(manifest, cfg.size, cfg.align, out_dir / "flow_cache", advance)
    t_load = time.perf_counter() - t0
    table, classes = data.table, data.classes
    groups = table["group"].to_numpy()
    y = table["y"].to_numpy()
    folds = loso_folds(table["group"])
    results: dict[str, dict[str, Any]] = {}
    pred_path = out_dir / "predictions.csv"

    def record(res):
        results[res["test_group"]] = res
        _predictions_table(table, classes, results).to_csv(pred_path, index=False)

    jobs = max(1, min(cfg.jobs, len(folds)))
    with bar("LOSO folds", len(folds), "folds") as advance:
        if jobs == 1:
            for test_group, _, _ in folds:
                record(run_fold(data.x, y, groups, test_group, len(classes), cfg))
                advance(1)
        else:
            import multiprocessing as mp

            with ProcessPoolExecutor(
                max_workers=jobs, mp_context=mp.get_context("spawn"),
                initializer=_init_worker,
                initargs=(data.x, y, groups, len(classes), cfg),
            ) as pool:
                futures = [pool.submit(_worker_fold, g) for g, _, _ in folds]
                for fut in as_completed(futures):
                    record(fut.result())
                    advance(1)

    pred = _predictions_table(table, classes, results)
    metrics = {
        "protocol": "MEGC leave-one-subject-out; UF1/UAR from TP/FP/FN summed over folds",
        "manifest": str(manifest_path),
        "classes": classes,
        "n_samples": int(len(table)),
        "n_subjects": int(table["group"].nunique()),
        "datasets": {ds: {"samples": int(len(g)), "subjects": int(g["group"].nunique())}
                     for ds, g in table.groupby("dataset")},
        "config": {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(cfg).items()},
        "flow": data.notes,
        "results": summarise(pred, classes),
        "folds": [results[g]["info"] for g, _, _ in folds],
        "seconds": {"load": round(t_load, 2), "total": round(time.perf_counter() - t0, 2)},
    }
    try:
        (out_dir / "metrics.json").write_text(json.dumps(metrics, indent=2, default=_json))
    except OSError as exc:
        raise OutputError(f"{out_dir / 'metrics.json'}: cannot write ({exc.strerror})") from None
    return metrics


def _json(o):
    if isinstance(o, np.generic):
        return o.item()
    return str(o)


def _predictions_table(table: pd.DataFrame, classes: list[str],
                       results: dict[str, dict[str, Any]]) -> pd.DataFrame:
    rows = []
    for group in sorted(results):
        res = results[group]
        for k, i in enumerate(res["test_index"]):
            r = table.iloc[int(i)]
            row = {"fold": group, "dataset": r["dataset"], "subject": r["subject"],
                   "sample": r["sample"], "label": r["label"]}
            for model in MODELS:
                row[f"pred_{model}"] = classes[int(np.argmax(res[model][k]))]
            for c, p in zip(classes, res["cnn"][k], strict=True):
                row[f"p_{c}"] = round(float(p), 5)
            rows.append(row)
    return pd.DataFrame(rows)
