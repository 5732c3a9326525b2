"""MEGC recognition metrics: UF1 and UAR from pooled per-class counts.

UF1 is the mean over classes of the per-class F1 = 2TP / (2TP + FP + FN); UAR is the mean over
classes of the per-class recall TP / (TP + FN). TP, FP and FN are summed over all folds before
the division, which is the same as computing them from the pooled predictions. Classes are
those present in the truth of the samples being scored (a class with no truth sample has no
recall); predictions of other labels still count as misses of the true class.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def class_counts(truth: Sequence, pred: Sequence, classes: Sequence) -> dict[Any, dict[str, int]]:
    """Per-class TP, FP, FN of single-label predictions."""
    t = np.asarray(truth, dtype=object)
    p = np.asarray(pred, dtype=object)
    if t.shape != p.shape:
        raise ValueError("truth and pred differ in length")
    out = {}
    for c in classes:
        tp = int(np.sum((t == c) & (p == c)))
        fp = int(np.sum((t != c) & (p == c)))
        fn = int(np.sum((t == c) & (p != c)))
        out[c] = {"tp": tp, "fp": fp, "fn": fn, "support": tp + fn}
    return out


def uf1_uar(truth: Sequence, pred: Sequence, classes: Sequence | None = None) -> dict[str, Any]:
    """UF1, UAR and the per-class figures behind them.

    Parameters
    ----------
    truth, pred
        Labels, one per sample (pooled over folds).
    classes
        Classes to average over; by default the sorted distinct truth labels. Classes with no
        truth sample are dropped (their recall is undefined).

    Returns
    -------
    dict
        ``uf1``, ``uar``, ``n`` and ``per_class`` (``tp, fp, fn, support, f1, recall``).
        ``uf1``/``uar`` are ``None`` when there is no sample.
    """
    truth = list(truth)
    pred = list(pred)
    if classes is None:
        classes = sorted(set(truth), key=str)
    counts = class_counts(truth, pred, classes)
    per_class = {}
    for c, k in counts.items():
        if k["support"] == 0:
            continue
        k = dict(k)
        k["f1"] = 2 * k["tp"] / (2 * k["tp"] + k["fp"] + k["fn"])
        k["recall"] = k["tp"] / k["support"]
        per_class[str(c)] = k
    if not per_class:
        return {"uf1": None, "uar": None, "n": len(truth), "per_class": {}}
    return {
        "uf1": float(np.mean([k["f1"] for k in per_class.values()])),
        "uar": float(np.mean([k["recall"] for k in per_class.values()])),
        "n": len(truth),
        "per_class": per_class,
    }
