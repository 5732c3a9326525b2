"""Scoring face ids against a hand-made truth file (frame, box, person).

The MOT conventions, computed with the maintained ``motmetrics`` library: IDF1 (how much of
the time each person carries the one id that best matches them), MOTA, id switches,
fragmentation; plus what tells' users ask of a tracker: how many ids for how many people,
the share of truth boxes covered, and the longest stretch each person went without a
matching face.

Truth CSV columns: ``frame, x, y, width, height, person`` (person: any label; boxes in source
pixels, the face from brow-top to chin). A truth box and a tracked box match when their
intersection over union is at least ``min_iou``.

May import: numpy, pandas, motmetrics.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from tells.errors import InputError

TRUTH_COLUMNS = ["frame", "x", "y", "width", "height", "person"]


def read_truth(path: str | Path) -> pd.DataFrame:
    """A truth file as a DataFrame; :class:`InputError` naming what is wrong."""
    path = Path(path)
    try:
        df = pd.read_csv(path)
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise InputError(f"{path}: cannot read the truth file ({exc})") from None
    missing = [c for c in TRUTH_COLUMNS if c not in df.columns]
    if missing:
        raise InputError(f"{path}: truth file lacks column(s) {', '.join(missing)} "
                         f"(needs {', '.join(TRUTH_COLUMNS)})")
    try:
        df[["frame", "x", "y", "width", "height"]] = df[
            ["frame", "x", "y", "width", "height"]].astype(float)
    except ValueError as exc:
        raise InputError(f"{path}: truth boxes must be numbers ({exc})") from None
    df["frame"] = df["frame"].astype(int)
    df["person"] = df["person"].astype(str)
    return df


def score(truth: pd.DataFrame, frames: pd.DataFrame, min_iou: float = 0.5,
          fps: float | None = None) -> dict:
    """Identity metrics of a per-frame table ``frames`` (tells output: ``frame, face_id,
    success, x, y, width, height``, optionally ``timestamp``) against ``truth``.

    Only frames within the truth's frame range are scored. Returns a dict of plain numbers.
    """
    import motmetrics as mm

    hyp = frames[(frames["success"] == 1) & (frames["face_id"] >= 0)]
    lo, hi = int(truth["frame"].min()), int(truth["frame"].max())
    hyp = hyp[(hyp["frame"] >= lo) & (hyp["frame"] <= hi)]
    people = sorted(truth["person"].unique())
    pid = {p: i for i, p in enumerate(people)}
    acc = mm.MOTAccumulator(auto_id=False)
    t_by_frame = {f: g for f, g in truth.groupby("frame")}
    h_by_frame = {f: g for f, g in hyp.groupby("frame")}
    matched: dict[str, list[tuple[int, int | None]]] = {p: [] for p in people}
    for f in range(lo, hi + 1):
        tg, hg = t_by_frame.get(f), h_by_frame.get(f)
        tb = tg[["x", "y", "width", "height"]].to_numpy() if tg is not None else np.empty((0, 4))
        hb = hg[["x", "y", "width", "height"]].to_numpy() if hg is not None else np.empty((0, 4))
        t_ids = [pid[p] for p in tg["person"]] if tg is not None else []
        h_ids = [int(i) for i in hg["face_id"]] if hg is not None else []
        dist = mm.distances.iou_matrix(tb, hb, max_iou=1.0 - min_iou)
        acc.update(t_ids, h_ids, dist, frameid=f)
        if tg is not None:
            best = _greedy(dist)
            for k, p in enumerate(tg["person"]):
                matched[p].append((f, h_ids[best[k]] if best.get(k) is not None else None))
    mh = mm.metrics.create()
    names = ["idf1", "idp", "idr", "mota", "motp", "num_switches", "num_fragmentations",
             "recall", "precision", "num_false_positives", "num_misses", "mostly_tracked",
             "num_unique_objects"]
    summary = mh.compute(acc, metrics=names, name="all").iloc[0]
    rate = fps or _fps(frames)
    per_person = {}
    for p, seq in matched.items():
        ids = sorted({i for _, i in seq if i is not None})
        per_person[p] = {"frames": len(seq), "covered": round(sum(i is not None for _, i in seq)
                                                              / max(len(seq), 1), 4),
                         "ids": ids, "longest_miss_s": round(_longest_miss(seq) / rate, 3)}
    return {
        "people": len(people), "ids": int(hyp["face_id"].nunique()),
        "frames_scored": hi - lo + 1, "truth_boxes": int(len(truth)),
        "idf1": _r(summary["idf1"]), "idp": _r(summary["idp"]), "idr": _r(summary["idr"]),
        "mota": _r(summary["mota"]), "id_switches": int(summary["num_switches"]),
        "fragmentations": int(summary["num_fragmentations"]),
        "coverage": _r(summary["recall"]), "precision": _r(summary["precision"]),
        "false_positives": int(summary["num_false_positives"]),
        "misses": int(summary["num_misses"]),
        "longest_miss_s": max((v["longest_miss_s"] for v in per_person.values()), default=0.0),
        "min_iou": min_iou, "fps": round(rate, 3), "per_person": per_person,
    }


def _greedy(dist: np.ndarray) -> dict[int, int | None]:
    """Truth row → tracked column by nearest IoU distance (NaN: no match), one-to-one."""
    out: dict[int, int | None] = {}
    used: set[int] = set()
    if dist.size == 0:
        return out
    d = np.where(np.isnan(dist), np.inf, dist)
    for flat in np.argsort(d, axis=None):
        r, c = np.unravel_index(flat, d.shape)
        if not np.isfinite(d[r, c]):
            break
        if r in out or c in used:
            continue
        out[int(r)] = int(c)
        used.add(int(c))
    return out


def _longest_miss(seq: list[tuple[int, int | None]]) -> int:
    """Most consecutive truth frames (no gap in the frame numbers) without a matched face."""
    longest = run = 0
    prev = None
    for f, i in seq:
        if prev is not None and f != prev + 1:
            run = 0
        run = run + 1 if i is None else 0
        longest = max(longest, run)
        prev = f
    return longest


def _fps(frames: pd.DataFrame) -> float:
    if "timestamp" in frames.columns:
        per = frames.drop_duplicates("frame").sort_values("frame")
        dt = np.diff(per["timestamp"].to_numpy(dtype=float))
        dt = dt[np.isfinite(dt) & (dt > 0)]
        if len(dt):
            return float(1.0 / np.median(dt))
    return 30.0


def _r(v) -> float:
    return round(float(v), 4)
