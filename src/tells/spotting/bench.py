"""``tells bench spotting``: spotting quality on synthetic ground truth from real video, and
false events on untouched real video.

Synthetic videos: calm stretches of the real sample videos (the first half second of
``single_face.mp4`` at 30 fps and the first 0.6 s of ``WolfgangLanger_Pexels.mp4`` at 24
fps, where the face rests — checked by its AU readings) are played forward and backward to
``duration_s`` and expressions of all seven emotions at B–D intensity are injected with
:func:`tells.spotting.synth.synth_video` (micro and macro, with blink and head-movement
distractors). Each is analysed by the full pipeline and scored with the MEGC protocol.
Untouched videos: the sample videos as they are; their events per minute are reported (the
sample videos hold real expressions too, so those events are listed for a look, not assumed
false).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import pandas as pd

from tells.io.samples import sample_path
from tells.spotting.evaluate import evaluate_spotting

#: (sample video, calm segment in seconds) used as bases
BASES = [("single_face.mp4", (0.0, 0.5)), ("WolfgangLanger_Pexels.mp4", (0.0, 0.6))]
UNTOUCHED = ["WolfgangLanger_Pexels.mp4", "single_face.mp4", "face_noface.mov",
             "noface_face.mov", "no_face.mp4"]


def emotion_accuracy(truth: pd.DataFrame, pred: pd.DataFrame, matches: pd.DataFrame) -> dict:
    """Share of true-positive events whose predicted emotion equals the injected one."""
    tp = matches[matches["outcome"] == "TP"]
    right, rows = 0, []
    for _, m in tp.iterrows():
        t = truth[truth["video"] == m["video"]].loc[int(m["truth_row"])]
        p = pred[pred["video"] == m["video"]].loc[int(m["pred_row"])]
        ok = t["emotion"] == p["emotion"]
        right += bool(ok)
        rows.append((t["emotion"], p["emotion"]))
    confusions: dict[str, int] = {}
    for t, p in rows:
        if t != p:
            confusions[f"{t}->{p}"] = confusions.get(f"{t}->{p}", 0) + 1
    return {"correct": right, "of": len(tp), "accuracy": right / len(tp) if len(tp) else None,
            "confusions": confusions}


def bench_spotting(seed: int = 0, duration_s: float = 60.0, rate_per_min: float = 8.0,
                   work_dir: Path | None = None, say=print) -> dict:
    import tells
    from tells.spotting.synth import synth_video

    own = tempfile.TemporaryDirectory(prefix="tells-bench-spotting-") if work_dir is None else None
    work = Path(own.name) if own else Path(work_dir)
    work.mkdir(parents=True, exist_ok=True)
    truths, preds = [], []
    t0 = time.perf_counter()
    for k, (name, segment) in enumerate(BASES):
        video = work / f"synth_{k}_{Path(name).stem}.mp4"
        truth_csv = video.with_suffix(".csv")
        say(f"synthesising {video.name} ({duration_s:g} s from {name} {segment}) …")
        truth = synth_video(sample_path(name), video, truth_csv, seed=seed + k,
                            rate_per_min=rate_per_min, duration_s=duration_s, segment=segment)
        say(f"analysing {video.name} ({len(truth)} injected expressions) …")
        res = tells.analyze_video(video, report=False)
        ev = res.events.copy()
        ev["video"] = video.name
        truth = truth.copy()
        truth["video"] = video.name
        truths.append(truth)
        preds.append(ev)
    truth = pd.concat(truths, ignore_index=True)
    pred = pd.concat(preds, ignore_index=True)
    result = evaluate_spotting(truth, pred)
    acc = emotion_accuracy(truth, pred, result.matches)
    untouched = []
    for name in UNTOUCHED:
        say(f"analysing untouched {name} …")
        res = tells.analyze_video(sample_path(name), report=False)
        minutes = max(res.run["input"].get("duration_s") or 0.0, 1e-6) / 60.0
        untouched.append({
            "video": name, "minutes": round(minutes, 3), "events": len(res.events),
            "events_per_minute": round(len(res.events) / minutes, 2),
            "list": res.events[["kind", "apex_frame", "apex_t", "aus", "emotion",
                                "confidence"]].to_dict(orient="records"),
        })
    total_min = sum(u["minutes"] for u in untouched)
    out = {
        "seed": seed, "synthetic_seconds_per_video": duration_s, "videos": len(BASES),
        "injected": len(truth), "by_intensity": truth["intensity"].value_counts().to_dict(),
        "spotting": result.as_dict(), "emotion_of_spotted": acc,
        "untouched": untouched,
        "untouched_events_per_minute": round(sum(u["events"] for u in untouched) / total_min, 2),
        "seconds": round(time.perf_counter() - t0, 1),
        "missed": result.matches[result.matches["outcome"] != "TP"].to_dict(orient="records"),
    }
    if own:
        own.cleanup()
    return out
