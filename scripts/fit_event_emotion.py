"""Fit the few weights that name a spotted expression (:mod:`tells.emotion.event`) on
labelled flash clips, and report the fit by held-out subjects.

1. ``dump``: analyse every clip of ``tells eval flashes``' layout and keep, per clip, the
   matched event's evidence (AU changes, raw CNN probabilities before the onset and at the
   apex) in a JSON lines file.
2. ``fit``: coordinate search over :class:`tells.emotion.event.EventWeights` maximising the
   share of clips named right, on the subjects of one half (odd or even performer numbers),
   scored on the other half; then on all.

    python scripts/fit_event_emotion.py dump .devdata/flash_tfeid --flash 0.2,0.4 -o feats.jsonl
    python scripts/fit_event_emotion.py fit feats.jsonl
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
                    rec["cnn_on"] = av[pre].mean(0).tolist() if pre else None
                    rec["cnn_apex"] = av[[row_of[x] for x in range(ap - 1, ap + 2)
                                          if x in row_of]].mean(0).tolist()
                    rec["emotion_now"] = e["emotion"]
                out.write(json.dumps(rec) + "\n")
                out.flush()
                print(variant_s, item.name, rec.get("emotion_now"), flush=True)


def _accuracy(recs, w) -> float:
    from tells.emotion.event import name_event

    ok = 0
    for r in recs:
        if "delta" not in r:
            continue
        on = None if r["cnn_on"] is None else np.array(r["cnn_on"])
        name, _ = name_event(r["delta"], on, np.array(r["cnn_apex"]), w)
        ok += name == r["label"]
    return ok / max(1, len(recs))


def _search(recs, w):
    from tells.emotion.event import EVENT_EMOTIONS

    grid = {"rise": [0.5, 1, 2, 3, 4], "apex": [0, 0.25, 0.5, 1, 2], "proto": [0, 0.2, 0.4, 0.6, 1, 1.5],
            "contempt": [0.5, 1, 1.5, 2, 3], "dimpler": [0.5, 1, 1.5]}
    best = _accuracy(recs, w)
    for _ in range(3):
        for name, values in grid.items():
            for v in values:
                cand = dataclasses.replace(w, **{name: v})
                a = _accuracy(recs, cand)
                if a > best + 1e-9:
                    best, w = a, cand
        for e in EVENT_EMOTIONS:
            for v in (-0.3, -0.15, -0.05, 0.0, 0.05, 0.15, 0.3):
                cand = dataclasses.replace(w, offsets={**w.offsets, e: v})
                a = _accuracy(recs, cand)
                if a > best + 1e-9:
                    best, w = a, cand
    return w, best


def fit(args) -> None:
    from tells.emotion.event import DEFAULT

    recs = [json.loads(x) for x in open(args.feats)]
    def subj(r):
        return int(r["item"].split("/")[1][:2]) if "/" in r["item"] else 0
    print(f"{len(recs)} clips, {sum('delta' in r for r in recs)} with an event")
    print(f"current weights: all {_accuracy(recs, DEFAULT):.3f}")
    for half in (0, 1):
        fit_on = [r for r in recs if subj(r) % 2 == half]
        test = [r for r in recs if subj(r) % 2 != half]
        w, a = _search(fit_on, DEFAULT)
        print(f"fit on {'even' if half == 0 else 'odd'} subjects: {a:.3f}; held-out half "
              f"{_accuracy(test, w):.3f} (current weights there {_accuracy(test, DEFAULT):.3f})")
    w, a = _search(recs, DEFAULT)
    print(f"fit on all: {a:.3f}")
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
    f.set_defaults(fn=fit)
    a = ap.parse_args()
    a.fn(a)


if __name__ == "__main__":
    main()
