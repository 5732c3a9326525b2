"""MEGC spotting evaluation: interval IoU, one-to-one matching, pooled precision/recall/F1.

This module owns the scoring of spotted intervals against annotated ones, following the MEGC
spotting protocol (DESIGN.md, "Domain facts"):

* A spotted interval is a true positive when its intersection-over-union with a ground-truth
  onset–offset interval is at least 0.5.
* Each truth and each prediction is matched at most once. Within a video (and kind) the
  matching is a maximum-cardinality bipartite matching over the pairs that pass the threshold
  (ties broken by the larger total IoU), so the count of true positives never depends on the
  order of rows.
* Micro and macro are matched separately (a spotted micro interval can only match a micro
  truth); TP, FP and FN are pooled over all videos; "overall" pools the micro and macro counts.
* Precision, recall and F1 whose denominator is zero are ``None`` (undefined), never 0 or 1.

Intervals are in frames, inclusive at both ends (onset 10, offset 19 is 10 frames), when both
tables carry frames; otherwise in seconds (continuous, ``offset_t - onset_t`` long).

Inputs are the normalised events tables of :mod:`tells.spotting.annotations` (columns ``video,
kind, onset_frame, offset_frame, onset_t, offset_t``; others are carried along).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from tells.errors import InputError

#: the MEGC threshold
DEFAULT_IOU = 0.5
KINDS = ("micro", "macro")


def interval_iou(a: tuple[float, float], b: tuple[float, float], inclusive: bool = True) -> float:
    """Intersection over union of two intervals.

    Parameters
    ----------
    a, b
        ``(onset, offset)`` pairs with ``onset <= offset``.
    inclusive
        Frame intervals: both ends count, so ``(3, 3)`` is one frame long. With ``False`` the
        intervals are continuous (seconds) and a zero-length interval has no extent.

    Returns
    -------
    float
        IoU in [0, 1]; 0 when both intervals have no extent.
    """
    extra = 1.0 if inclusive else 0.0
    inter = min(a[1], b[1]) - max(a[0], b[0]) + extra
    inter = max(0.0, inter)
    union = (a[1] - a[0] + extra) + (b[1] - b[0] + extra) - inter
    if union <= 0:
        return 0.0
    return float(inter / union)


def iou_matrix(
    truth: np.ndarray, pred: np.ndarray, inclusive: bool = True
) -> np.ndarray:
    """IoU of every truth interval (rows) with every predicted interval (columns).

    Parameters
    ----------
    truth, pred
        Arrays of shape ``(n, 2)`` and ``(m, 2)`` with onset and offset per row.
    inclusive
        See :func:`interval_iou`.
    """
    truth = np.asarray(truth, dtype=float).reshape(-1, 2)
    pred = np.asarray(pred, dtype=float).reshape(-1, 2)
    extra = 1.0 if inclusive else 0.0
    lo = np.maximum(truth[:, None, 0], pred[None, :, 0])
    hi = np.minimum(truth[:, None, 1], pred[None, :, 1])
    inter = np.clip(hi - lo + extra, 0.0, None)
    len_t = truth[:, 1] - truth[:, 0] + extra
    len_p = pred[:, 1] - pred[:, 0] + extra
    union = len_t[:, None] + len_p[None, :] - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)
    return out


def match_intervals(
    truth: np.ndarray,
    pred: np.ndarray,
    threshold: float = DEFAULT_IOU,
    inclusive: bool = True,
) -> list[tuple[int, int, float]]:
    """One-to-one matching of predicted to truth intervals at an IoU threshold.

    The largest possible number of pairs with IoU ≥ ``threshold`` is matched; among such
    matchings the one with the largest summed IoU wins.

    Parameters
    ----------
    truth, pred
        ``(n, 2)`` and ``(m, 2)`` onset/offset arrays.
    threshold
        Minimum IoU for a pair to count (MEGC: 0.5; a pair at exactly 0.5 counts).
    inclusive
        See :func:`interval_iou`.

    Returns
    -------
    list of (truth_index, pred_index, iou)
        Sorted by truth index.
    """
    from scipy.optimize import linear_sum_assignment

    iou = iou_matrix(truth, pred, inclusive=inclusive)
    if iou.size == 0:
        return []
    # tiny tolerance so that 0.5 computed as 0.49999999 from float seconds still counts
    ok = iou >= threshold - 1e-9
    if not ok.any():
        return []
    # weight = big + iou for eligible pairs: cardinality first, then total IoU
    big = float(min(iou.shape) + 1)
    weight = np.where(ok, big + iou, 0.0)
    rows, cols = linear_sum_assignment(weight, maximize=True)
    pairs = [(int(r), int(c), float(iou[r, c])) for r, c in zip(rows, cols, strict=True) if ok[r, c]]
    return sorted(pairs)


@dataclass
class Counts:
    """Pooled counts and the scores derived from them (``None`` when undefined)."""

    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def n_truth(self) -> int:
        return self.tp + self.fn

    @property
    def n_pred(self) -> int:
        return self.tp + self.fp

    @property
    def precision(self) -> float | None:
        return _ratio(self.tp, self.tp + self.fp)

    @property
    def recall(self) -> float | None:
        return _ratio(self.tp, self.tp + self.fn)

    @property
    def f1(self) -> float | None:
        return _ratio(2 * self.tp, 2 * self.tp + self.fp + self.fn)

    def __add__(self, other: Counts) -> Counts:
        return Counts(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn)

    def as_dict(self) -> dict[str, Any]:
        """Counts plus ``n_truth, n_pred, precision, recall, f1``."""
        d = asdict(self)
        d.update(
            n_truth=self.n_truth,
            n_pred=self.n_pred,
            precision=self.precision,
            recall=self.recall,
            f1=self.f1,
        )
        return d


def _ratio(num: int, den: int) -> float | None:
    return None if den == 0 else num / den


@dataclass
class SpottingResult:
    """Outcome of :func:`evaluate_spotting`.

    Attributes
    ----------
    micro, macro, overall
        Pooled counts; ``overall`` is ``micro + macro``.
    unit
        ``"frames"`` or ``"seconds"``: what the intervals were compared in.
    iou_threshold
        The threshold used.
    matches
        One row per truth and per prediction: ``video, kind, truth_index, pred_index, iou,
        outcome`` (``TP``, ``FN`` or ``FP``) plus the compared ``truth_on, truth_off, pred_on,
        pred_off``.
    videos, videos_only_in_truth, videos_only_in_pred
        Video names seen, and those present on one side only (their intervals still count:
        all misses or all false positives).
    """

    micro: Counts
    macro: Counts
    overall: Counts
    unit: str
    iou_threshold: float
    matches: pd.DataFrame
    videos: list[str]
    videos_only_in_truth: list[str]
    videos_only_in_pred: list[str]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready summary (the ``tells eval spotting --json`` object)."""
        return {
            "protocol": "MEGC interval IoU spotting",
            "iou_threshold": self.iou_threshold,
            "unit": self.unit,
            "micro": self.micro.as_dict(),
            "macro": self.macro.as_dict(),
            "overall": self.overall.as_dict(),
            "n_videos": len(self.videos),
            "videos_only_in_truth": self.videos_only_in_truth,
            "videos_only_in_pred": self.videos_only_in_pred,
        }


def choose_unit(truth: pd.DataFrame, pred: pd.DataFrame) -> str:
    """``"frames"`` when both tables have onset and offset frames on every row, else
    ``"seconds"`` when both have times; raises :class:`InputError` otherwise."""

    def complete(df: pd.DataFrame, cols: tuple[str, str]) -> bool:
        return all(c in df.columns for c in cols) and (
            df.empty or bool(df[list(cols)].notna().all().all())
        )

    if complete(truth, ("onset_frame", "offset_frame")) and complete(
        pred, ("onset_frame", "offset_frame")
    ):
        return "frames"
    if complete(truth, ("onset_t", "offset_t")) and complete(pred, ("onset_t", "offset_t")):
        return "seconds"
    raise InputError(
        "truth and prediction share no complete interval columns: expected onset_frame and "
        "offset_frame (or onset_t and offset_t) on every row of both"
    )


def evaluate_spotting(
    truth: pd.DataFrame,
    pred: pd.DataFrame,
    iou_threshold: float = DEFAULT_IOU,
    unit: str | None = None,
    frame_offset: int = 0,
) -> SpottingResult:
    """Score predicted intervals against truth with the MEGC spotting protocol.

    Parameters
    ----------
    truth, pred
        Normalised events tables (see :mod:`tells.spotting.annotations`): columns ``video``,
        ``kind`` (``micro``/``macro``) and ``onset_frame, offset_frame`` and/or ``onset_t,
        offset_t``. Rows whose kind is neither micro nor macro are ignored.
    iou_threshold
        Minimum IoU for a true positive (0.5 in MEGC).
    unit
        ``"frames"`` or ``"seconds"``; by default frames when both tables have them.
    frame_offset
        Added to predicted frame numbers before matching (e.g. 1 when predictions count frames
        from 0 and the annotation from 1).

    Returns
    -------
    SpottingResult
    """
    if not 0.0 < iou_threshold <= 1.0:
        raise InputError(f"IoU threshold must be in (0, 1], got {iou_threshold}")
    truth = _with_video(truth)
    pred = _with_video(pred)
    unit = unit or choose_unit(truth, pred)
    if unit == "frames":
        cols, inclusive = ("onset_frame", "offset_frame"), True
    elif unit == "seconds":
        cols, inclusive = ("onset_t", "offset_t"), False
    else:
        raise InputError(f"unit must be frames or seconds, got {unit!r}")

    truth_videos = set(truth["video"])
    pred_videos = set(pred["video"])
    videos = sorted(truth_videos | pred_videos)
    counts = {k: Counts() for k in KINDS}
    rows: list[dict[str, Any]] = []
    for video in videos:
        for kind in KINDS:
            t = truth[(truth["video"] == video) & (truth["kind"] == kind)]
            p = pred[(pred["video"] == video) & (pred["kind"] == kind)]
            t_iv = t[list(cols)].to_numpy(dtype=float).reshape(-1, 2)
            p_iv = p[list(cols)].to_numpy(dtype=float).reshape(-1, 2)
            if unit == "frames":
                p_iv = p_iv + frame_offset
            pairs = match_intervals(t_iv, p_iv, iou_threshold, inclusive)
            matched_t = {i for i, _, _ in pairs}
            matched_p = {j for _, j, _ in pairs}
            tp = len(pairs)
            counts[kind] = counts[kind] + Counts(tp, len(p_iv) - tp, len(t_iv) - tp)
            for i, j, iou in pairs:
                rows.append(_match_row(video, kind, t, i, t_iv[i], p, j, p_iv[j], iou, "TP"))
            for i in range(len(t_iv)):
                if i not in matched_t:
                    rows.append(_match_row(video, kind, t, i, t_iv[i], None, None, None, None, "FN"))
            for j in range(len(p_iv)):
                if j not in matched_p:
                    rows.append(_match_row(video, kind, None, None, None, p, j, p_iv[j], None, "FP"))
    matches = pd.DataFrame(
        rows,
        columns=[
            "video", "kind", "outcome", "iou", "truth_row", "pred_row",
            "truth_on", "truth_off", "pred_on", "pred_off",
        ],
    )
    return SpottingResult(
        micro=counts["micro"],
        macro=counts["macro"],
        overall=counts["micro"] + counts["macro"],
        unit=unit,
        iou_threshold=iou_threshold,
        matches=matches,
        videos=videos,
        videos_only_in_truth=sorted(truth_videos - pred_videos),
        videos_only_in_pred=sorted(pred_videos - truth_videos),
    )


def _with_video(df: pd.DataFrame) -> pd.DataFrame:
    """Copy with a string ``video`` column ("" when absent) and lower-case ``kind``."""
    df = df.copy()
    if "kind" not in df.columns:
        raise InputError("events table has no 'kind' column (expected micro or macro per row)")
    if "video" not in df.columns:
        df["video"] = ""
    df["video"] = df["video"].fillna("").astype(str)
    df["kind"] = df["kind"].astype(str).str.strip().str.lower()
    return df.reset_index(drop=True)


def _match_row(video, kind, t, i, t_iv, p, j, p_iv, iou, outcome) -> dict[str, Any]:
    return {
        "video": video,
        "kind": kind,
        "outcome": outcome,
        "iou": iou,
        "truth_row": None if t is None else int(t.index[i]),
        "pred_row": None if p is None else int(p.index[j]),
        "truth_on": None if t_iv is None else t_iv[0],
        "truth_off": None if t_iv is None else t_iv[1],
        "pred_on": None if p_iv is None else p_iv[0],
        "pred_off": None if p_iv is None else p_iv[1],
    }


def align_videos(truth: pd.DataFrame, pred: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Give both tables comparable ``video`` names when one side names no video.

    A table without video names (one video's events) takes the single video name of the other
    side; if the other side holds several videos that is ambiguous and raises
    :class:`InputError`. Tables that both name videos are returned unchanged.
    """
    t_named = "video" in truth.columns and truth["video"].fillna("").astype(str).ne("").any()
    p_named = "video" in pred.columns and pred["video"].fillna("").astype(str).ne("").any()
    if t_named == p_named:
        return truth, pred
    named, bare = (truth, pred) if t_named else (pred, truth)
    names = sorted(set(named["video"].dropna().astype(str)) - {""})
    if len(names) != 1:
        side = "truth" if t_named else "prediction"
        raise InputError(
            f"the {side} file covers {len(names)} videos but the other file names none: add a "
            "'video' column to it (or pass a directory of per-video folders)"
        )
    bare = bare.copy()
    bare["video"] = names[0]
    return (named, bare) if t_named else (bare, named)
