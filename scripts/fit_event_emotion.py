"""Fit the few weights that name a spotted expression (:mod:`tells.emotion.event`) on
labelled flash clips, and report the fit by held-out subjects.

1. ``dump``: analyse every clip of ``tells eval flashes``' layout and keep, per clip, the
   matched event's evidence (AU changes, raw CNN probabilities before the onset and at the
   apex, the shape model's change) in a JSON lines file.
2. ``fit``: coordinate search over :class:`tells.emotion.event.EventWeights` maximising the
   share of clips named right, on the subjects of one half (odd or even performer numbers),
   scored on the other half; then on all.

    python scripts/fit_event_emotion.py dump .devdata/flash_tfeid --flash 0.2,0.4 -o feats.jsonl
    python scripts/fit_event_emotion.py fit feats.jsonl [--start rise=1,apex=0.5,proto=0.5,shape=1]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

import numpy as np


def dump(args) -> None:
    import tempfile

    import tells
    from tells.api import default_stages
    from tells.config import Settings
    from tells.emotion.stage import EmotionStage
    from tells.spotting.flashes import make_clip, read_items, score_clip, write_clip

    items = read_items(args.source)
    k_shard, n_shard = (int(x) for x in args.shard.split("/"))
    items = items[k_shard::n_shard]
    flashes = [float(x) for x in args.flash.split(",")]
    with open(args.o, "w") as out, tempfile.TemporaryDirectory() as tmp:
        for variant_s in flashes:
            for k, item in enumerate(items):
                clip = make_clip(item, flash_s=variant_s)
                path = write_clip(clip, Path(tmp) / f"{k}.mp4")
                stages = default_stages(Settings())
                r = tells.analyze_video(path, report=False, stages=stages)
                ev = r.events.to_dict(orient="records")
                s = score_clip(ev, clip)
                rec = {"item": item.name, "label": item.label, "subject": item.subject,
                       "flash": variant_s, "spotted": s["spotted"]}
                hits = [e for e in ev if e["offset_t"] >= clip.onset_t - 0.1
                        and e["onset_t"] <= clip.offset_t + 0.1]
                if hits:
                    e = max(hits, key=lambda e: float(e["confidence"]))
                    f = r.frames[r.frames.success == 1].set_index("frame")
                    emo = next(st for st in stages if isinstance(st, EmotionStage))
                    af, av = emo.appearance(int(e["face_id"]))
                    row_of = {int(x): i for i, x in enumerate(af)}
                    on, ap = int(e["onset_frame"]), int(e["apex_frame"])
                    ref = max(0, on - 1)
                    cols = [c for c in f.columns if c.startswith("AU") and c.endswith("_r")]
                    rec["delta"] = {c[:-2]: float(f.loc[ap, c] - f.loc[ref, c]) for c in cols}
                    pre = [row_of[x] for x in range(max(0, on - 3), on) if x in row_of]
                    top = av[[row_of[x] for x in range(ap - 1, ap + 2) if x in row_of]].mean(0)
                    rec["cnn_on"] = av[pre, :7].mean(0).tolist() if pre else None
                    rec["cnn_apex"] = top[:7].tolist()
                    rec["shape_change"] = ((top[7:] - av[pre, 7:].mean(0)).tolist()
                                           if pre and len(top) > 7 else None)
                    rec["emotion_now"] = e["emotion"]
                out.write(json.dumps(rec) + "\n")
                out.flush()
                print(variant_s, item.name, rec.get("emotion_now"), flush=True)


def _names(recs, w) -> list[str]:
    from tells.emotion.event import name_event

    out = []
    for r in recs:
        if "delta" not in r:
            out.append("missed")
            continue
        on = None if r["cnn_on"] is None else np.array(r["cnn_on"])
        sc = None if r.get("shape_change") is None else np.array(r["shape_change"])
        out.append(name_event(r["delta"], on, np.array(r["cnn_apex"]), w, sc)[0])
    return out


def _recalls(recs, w) -> dict[str, float]:
    names = _names(recs, w)
    labels = sorted({r["label"] for r in recs})
    return {lab: float(np.mean([n == lab for n, r in zip(names, recs, strict=True) if r["label"] == lab]))
            for lab in labels}


def _accuracy(recs, w) -> float:
    """The objective: mean recall over the classes (every emotion counts the same)."""
    rec = _recalls(recs, w)
    return float(np.mean(list(rec.values()))) if rec else 0.0


def _report(recs, w) -> str:
    names = _names(recs, w)
    acc = np.mean([n == r["label"] for n, r in zip(names, recs, strict=True)])
    per = " ".join(f"{k} {v:.2f}" for k, v in _recalls(recs, w).items())
    return f"accuracy {acc:.3f}, mean recall {_accuracy(recs, w):.3f} ({per})"


def _search(recs, w):
    from tells.emotion.event import EVENT_EMOTIONS

    grid = {"rise": [0.5, 1, 2, 3, 4], "apex": [0, 0.25, 0.5, 1, 2], "proto": [0, 0.2, 0.4, 0.6, 1, 1.5],
            "shape": [0, 0.1, 0.25, 0.5, 0.75, 1, 1.5, 2],
            "contempt": [0.5, 1, 1.5, 2, 3], "dimpler": [0.5, 1, 1.5],
            "purity": [0, 0.25, 0.5, 1, 1.5, 2], "contempt_full": [1, 2, 3]}
    best = _accuracy(recs, w)
    for _ in range(3):
        for name, values in grid.items():
            for v in values:
                cand = dataclasses.replace(w, **{name: v})
                a = _accuracy(recs, cand)
                if a > best + 1e-9:
                    best, w = a, cand
        for e in EVENT_EMOTIONS:
            for v in (0.5, 1.0, 1.5, 2.0, 3.0):
                cand = dataclasses.replace(w, proto_factor={**w.proto_factor, e: v})
                a = _accuracy(recs, cand)
                if a > best + 1e-9:
                    best, w = a, cand
            for v in (-0.3, -0.15, -0.05, 0.0, 0.05, 0.15, 0.3):
                cand = dataclasses.replace(w, offsets={**w.offsets, e: v})
                a = _accuracy(recs, cand)
                if a > best + 1e-9:
                    best, w = a, cand
    return w, best


def fit(args) -> None:
    from tells.emotion.event import DEFAULT

    if args.start:  # e.g. "rise=1,apex=0.5,proto=0.5,shape=1"
        DEFAULT = dataclasses.replace(DEFAULT, **{k: float(v) for k, v in (
            kv.split("=") for kv in args.start.split(","))})

    recs = [json.loads(x) for x in open(args.feats)]
    def subj(r):
        return int(r["item"].split("/")[1][:2]) if "/" in r["item"] else 0
    print(f"{len(recs)} clips, {sum('delta' in r for r in recs)} with an event")
    print(f"current weights, all clips: {_report(recs, DEFAULT)}")
    for half in (0, 1):
        fit_on = [r for r in recs if subj(r) % 2 == half]
        test = [r for r in recs if subj(r) % 2 != half]
        w, a = _search(fit_on, DEFAULT)
        print(f"fit on {'even' if half == 0 else 'odd'} subjects (mean recall {a:.3f}); on the "
              f"held-out half: {_report(test, w)}; current weights there: {_report(test, DEFAULT)}")
    w, a = _search(recs, DEFAULT)
    print(f"fit on all: {_report(recs, w)}")
    print(w)


def main() -> None:
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("dump")
    d.add_argument("source")
    d.add_argument("--flash", default="0.4")
    d.add_argument("-o", required=True)
    d.add_argument("--shard", default="0/1", help="K/N: every N-th item from the K-th")
    d.set_defaults(fn=dump)
    f = sub.add_parser("fit")
    f.add_argument("feats")
    f.add_argument("--start", default="", help="weights to start the search from, k=v,…")
    f.set_defaults(fn=fit)
    a = ap.parse_args()
    a.fn(a)


if __name__ == "__main__":
    main()
