"""Fit the model that names a spotted expression (:mod:`tells.emotion.event`) on labelled
flash clips of real faces, and report it by held-out people.

1. ``dump``: analyse every clip of ``tells eval flashes``' layout (a pairs folder or CSV) and
   keep, per clip, the matched event's evidence exactly as event naming receives it (AU
   changes, raw CNN probabilities before the onset and at the apex) and the pose-normalised
   mesh and the crop's texture (:func:`tells.emotion.event.texture`) before the onset and at
   the apex, in a JSON lines file. ``--jobs`` runs clips in
   worker processes; ``--mirror`` adds every clip mirrored left-right; ``--gray`` dumps
   the clips in gray (a colour set seen as the gray sets are: camera and set differ more
   than the posing); ``--crops`` also
   keeps the aligned gray crops of those frames (``<out>_crops.npz``, arrays ``<line>_pre``
   and ``<line>_apex``), so another texture descriptor can be tried without a new dump.
2. ``fit``: a class-balanced multinomial logistic regression over the change features
   (:func:`tells.emotion.event.change_features` and principal components of the mesh
   change and of the texture change, each block scaled to unit length: its direction, so a
   weak expression reads as a strong one does; the model file keeps the components and their
   weights), the numbers of components and the L2 strength chosen by the mean recall over
   the emotions on people left out (grouped folds) from the grid given (the defaults: a
   stronger L2 than the 0.01 used before, which fitted each set's own way of posing, and
   more components; see the README for what was tried); prints accuracy and
   per-class recall on people left out, per source, and with each source left out whole,
   and on the morphed, subtler clips of ``scripts/devset_subtle.py`` apart, then fits on all
   (morphs at ``--subtle-weight``, warps at ``--synthetic-weight``) and writes the model file (``-o``, default the shipped
   ``tells/emotion/data/event_model.npz``).

    python scripts/fit_event_emotion.py dump .devdata/flash_dev1 --flash 0.2,0.4 -o a.jsonl
    python scripts/fit_event_emotion.py dump .devdata/pairs_kdef.csv --flash 0.4 -o b.jsonl
    python scripts/fit_event_emotion.py fit a.jsonl b.jsonl [--folds 5] [-o model.npz]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import cv2
import numpy as np

from tells.emotion.event import POINTS, texture


class _MeshRecorder:
    """A pipeline stage that keeps each frame's pose-normalised mesh (x, y of the face
    points) and the texture of its crop, for the dump only."""

    columns: list[str] = []

    def __init__(self, crops: bool = False):
        self.mesh: dict[int, np.ndarray] = {}
        self.texture: dict[int, np.ndarray] = {}
        self.crops: dict[int, np.ndarray] | None = {} if crops else None

    def __call__(self, obs) -> dict:
        if obs.face_id == 0 and obs.crop is not None:
            self.mesh[obs.frame] = np.asarray(obs.aligned[:POINTS, :2], np.float32).copy()
            self.texture[obs.frame] = texture(obs.crop)
            if self.crops is not None:
                c = obs.crop
                self.crops[obs.frame] = cv2.cvtColor(c, cv2.COLOR_RGB2GRAY) if c.ndim == 3 \
                    else c.copy()
        return {}

    def finish(self) -> None:
        """Nothing to flush."""


def _subject(item) -> str:
    """A person id: the item's own subject (pairs CSV), else the TFEID performer number the
    folder layout's item names start with."""
    if item.subject and not re.match(r"^\d{2}", item.subject):
        return item.subject
    name = item.name.split("/")[-1]
    return "tfeid_" + name[:2]


def _one(job) -> dict:
    import tempfile

    import tells
    from tells.api import default_stages
    from tells.config import Settings
    from tells.emotion.stage import EmotionStage
    from tells.spotting.flashes import make_clip, score_clip, write_clip

    item, flash_s, mirror, crops, in_gray = job
    rec = {"item": item.name, "label": item.label, "subject": _subject(item), "flash": flash_s,
           "mirror": mirror, **({"gray": True} if in_gray else {})}
    try:
        clip = make_clip(item, flash_s=flash_s)
    except Exception as exc:  # unreadable photo, no face to register: left out, said why
        rec["error"] = str(exc)
        return rec
    if mirror:  # the same face seen in a mirror: left and right swap, the emotion stays
        clip = dataclasses.replace(clip, frames=[np.ascontiguousarray(f[:, ::-1])
                                                 for f in clip.frames])
    if in_gray:  # the clip's frames are RGB
        clip = dataclasses.replace(clip, frames=[
            cv2.cvtColor(cv2.cvtColor(f, cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB)
            for f in clip.frames])
    with tempfile.TemporaryDirectory() as tmp:
        path = write_clip(clip, Path(tmp) / "clip.mp4")
        stages = default_stages(Settings())
        meshes = _MeshRecorder(crops)
        r = tells.analyze_video(path, report=False, stages=[*stages, meshes])
    ev = r.events.to_dict(orient="records")
    rec["spotted"] = score_clip(ev, clip)["spotted"]
    hits = [e for e in ev if e["offset_t"] >= clip.onset_t - 0.1
            and e["onset_t"] <= clip.offset_t + 0.1]
    if not hits:
        return rec
    e = max(hits, key=lambda e: float(e["confidence"]))
    if int(e["face_id"]) != 0:
        return rec
    f = r.frames[(r.frames.success == 1) & (r.frames.face_id == 0)].set_index("frame")
    emo = next(st for st in stages if isinstance(st, EmotionStage))
    af, av = emo.appearance(0)
    row_of = {int(x): i for i, x in enumerate(af)}
    on, ap = int(e["onset_frame"]), int(e["apex_frame"])
    ref = max(0, on - 1)
    cols = [c for c in f.columns if c.startswith("AU") and c.endswith("_r")]
    rec["delta"] = {c[:-2]: float(f.loc[ap, c] - f.loc[ref, c]) for c in cols}
    # the same frames event naming reads: 0.1 s before the onset, apex ± 1
    pre = [x for x in range(max(0, on - 3), on) if x in row_of and x in meshes.mesh]
    top = [x for x in range(ap - 1, ap + 2) if x in row_of and x in meshes.mesh]
    if not pre or not top:
        return rec
    rec["cnn_on"] = av[[row_of[x] for x in pre], :7].mean(0).tolist()
    rec["cnn_apex"] = av[[row_of[x] for x in top], :7].mean(0).tolist()
    rec["mesh_before"] = np.round(np.mean([meshes.mesh[x] for x in pre], 0).ravel(), 5).tolist()
    rec["mesh_apex"] = np.round(np.mean([meshes.mesh[x] for x in top], 0).ravel(), 5).tolist()
    for key, frames in (("texture_before", pre), ("texture_apex", top)):
        rec[key] = np.round(np.mean([meshes.texture[x] for x in frames], 0), 4).tolist()
    rec["emotion_now"] = e["emotion"]
    if crops:
        rec["_crops"] = (np.stack([meshes.crops[x] for x in pre]),
                         np.stack([meshes.crops[x] for x in top]))
    return rec


def dump(args) -> None:
    from tells.spotting.flashes import read_items

    items = read_items(args.source)
    flashes = [float(x) for x in args.flash.split(",")]
    jobs = [(item, f, m, args.crops, args.gray) for f in flashes
            for m in ((False, True) if args.mirror else (False,)) for item in items]
    done = 0
    crops = {}
    with open(args.o, "w") as out, ProcessPoolExecutor(max_workers=args.jobs) as pool:
        for rec in pool.map(_one, jobs, chunksize=2):
            if "_crops" in rec:
                crops[f"{done}_pre"], crops[f"{done}_apex"] = rec.pop("_crops")
            out.write(json.dumps(rec) + "\n")
            out.flush()
            done += 1
            print(f"{done}/{len(jobs)} {rec['flash']} {rec['item']} {rec['label']} -> "
                  f"{rec.get('emotion_now', rec.get('error', 'missed'))}", flush=True)
    if args.crops:
        path = Path(args.o).with_name(Path(args.o).stem + "_crops.npz")
        np.savez_compressed(path, **crops)
        print(f"wrote {path}")


# ---------------------------------------------------------------- fitting

def _load(paths: list[str]) -> list[dict]:
    recs = []
    for p in paths:
        for line in open(p):
            r = json.loads(line)
            r["source"] = r["subject"].split("_")[0]
            recs.append(r)
    return recs


def _columns(kind: str) -> np.ndarray:
    """Indices of the change features a model of ``kind`` reads: ``full`` and ``cnn`` all
    of them, ``aus`` the action units' only (no appearance recorded)."""
    from tells.emotion.event import FEATURE_NAMES, N_AU_FEATURES

    return np.arange(len(FEATURE_NAMES) if kind != "aus" else N_AU_FEATURES)


#: the per-frame evidence the full model reads through principal components of its change
BLOCKS = ("mesh", "texture")


def _change(recs, block) -> np.ndarray:
    return np.array([np.subtract(r[f"{block}_apex"], r[f"{block}_before"]) for r in recs])


def _design(recs, maps, kind="full"):
    """Feature matrix: the change features, then (``full``) the mesh and texture changes
    through ``maps`` (``{block: components}``), each scaled to unit length (its direction:
    a weak expression changes the face the same way as a strong one, less far)."""
    from tells.emotion.event import change_features, unit

    x = np.array([change_features(r["delta"], np.array(r["cnn_on"]), np.array(r["cnn_apex"]))
                  for r in recs])[:, _columns(kind)]
    if kind == "full":
        x = np.hstack([x] + [unit(_change(recs, b) @ maps[b].T) for b in BLOCKS
                             if len(maps[b])])
    return x


def _basis(recs, block) -> np.ndarray:
    d = _change(recs, block)
    d = d - d.mean(0)
    _, _, vt = np.linalg.svd(d, full_matrices=False)
    return vt


def _fit_logreg(x, y, n_cls, l2, sw):
    """Multinomial logistic regression on standardised x with sample weights ``sw``
    (L-BFGS); returns (W, b)."""
    from scipy.optimize import minimize

    n, d = x.shape
    onehot = np.eye(n_cls)[y]

    def loss(theta):
        w = theta[: d * n_cls].reshape(d, n_cls)
        b = theta[d * n_cls:]
        z = x @ w + b
        z -= z.max(1, keepdims=True)
        lse = np.log(np.exp(z).sum(1, keepdims=True))
        logp = z - lse
        val = -(sw * (onehot * logp).sum(1)).sum() / sw.sum() + 0.5 * l2 * (w * w).sum()
        g = (np.exp(logp) - onehot) * sw[:, None] / sw.sum()
        gw = x.T @ g + l2 * w
        return val, np.concatenate([gw.ravel(), g.sum(0)])

    theta = minimize(loss, np.zeros(d * n_cls + n_cls), jac=True, method="L-BFGS-B",
                     options={"maxiter": 2000}).x
    return theta[: d * n_cls].reshape(d, n_cls), theta[d * n_cls:]


def _class_weights(y, n_cls):
    counts = np.bincount(y, minlength=n_cls).astype(float)
    return np.where(counts > 0, len(y) / (n_cls * np.maximum(counts, 1)), 0.0)


def _synthetic(r) -> bool:
    """A clip made by tells' warp (``scripts/devset_emotion_warp.py``), not a photo."""
    return "warp-" in r["item"]


def _subtle(r) -> bool:
    """A clip of a real pair morphed part of the way to its expression
    (``scripts/devset_subtle.py``)."""
    return "subtle" in r["item"]


def _as_taken(r) -> bool:
    """A real photo pair as it was taken: not mirrored, grayed, warp-made or morphed."""
    return not r.get("mirror") and not r.get("gray") and not _made(r)


def _made(r) -> bool:
    """Made here (a warp or a morph), not a photo as it was taken: helps the fit, not scored
    with the real clips."""
    return _synthetic(r) or _subtle(r)


def _apart(r) -> str | None:
    """The clips scored apart from the real ones, unmirrored: ``"morphs"`` (a real pair
    morphed part of the way), ``"grayed"`` (a real pair dumped in gray), else None."""
    if r.get("mirror"):
        return None
    return "morphs" if _subtle(r) else "grayed" if r.get("gray") and not _made(r) else None


#: weight of a warp-made clip in the fit, against 1 for a real one (set by ``fit``)
SYNTHETIC_WEIGHT = [0.25]
#: weight of a morphed (subtler) clip (set by ``fit``)
SUBTLE_WEIGHT = [0.0]
#: weight of a grayed clip (set by ``fit``)
GRAY_WEIGHT = [0.0]


def _weights(recs) -> np.ndarray:
    return np.array([SYNTHETIC_WEIGHT[0] if _synthetic(r) else SUBTLE_WEIGHT[0] if _subtle(r)
                     else GRAY_WEIGHT[0] if r.get("gray") else 1.0 for r in recs])


def _train(recs, l2, n_pc, kind="full"):
    """``n_pc``: components of the (mesh, texture) change."""
    from tells.emotion.event import EVENT_EMOTIONS

    weight = _weights(recs)
    recs = [r for r, w in zip(recs, weight, strict=True) if w > 0]
    weight = weight[weight > 0]
    y = _labels(recs)
    maps = {b: _basis(recs, b)[:n] if kind == "full" else np.zeros((0, 1))
            for b, n in zip(BLOCKS, n_pc, strict=True)}
    x = _design(recs, maps, kind)
    mu, sd = x.mean(0), x.std(0) + 1e-6
    sw = _class_weights(y, len(EVENT_EMOTIONS))[y] * weight
    w, b = _fit_logreg((x - mu) / sd, y, len(EVENT_EMOTIONS), l2, sw)
    return {"w": w, "b": b, "mu": mu, "sd": sd, "maps": maps, "kind": kind}


def _predict(m, recs):
    x = _design(recs, m["maps"], m["kind"])
    return np.argmax(((x - m["mu"]) / m["sd"]) @ m["w"] + m["b"], 1)


def _folds(recs, k, seed=0):
    people = sorted({r["subject"] for r in recs})
    rng = np.random.default_rng(seed)
    rng.shuffle(people)
    fold_of = {p: i % k for i, p in enumerate(people)}
    return np.array([fold_of[r["subject"]] for r in recs])


def _cv(recs, l2, n_pc, k, kind="full", seed=0):
    """Predictions for every record from a model fitted without its person's fold (people
    dealt to folds by ``seed``)."""
    folds = _folds(recs, k, seed)
    pred = np.zeros(len(recs), int)
    for i in range(k):
        train = [r for r, f in zip(recs, folds, strict=True) if f != i]
        test_idx = np.flatnonzero(folds == i)
        m = _train(train, l2, n_pc, kind)
        pred[test_idx] = _predict(m, [recs[j] for j in test_idx])
    return pred


def _summary(recs, pred, all_recs=None) -> str:
    """Accuracy over every clip of ``all_recs`` (misses count as wrong), per-class recall."""
    from tells.emotion.event import EVENT_EMOTIONS

    y = _labels(recs)
    total = len(all_recs) if all_recs is not None else len(recs)
    acc = (pred == y).sum() / max(total, 1)
    per = []
    for c, e in enumerate(EVENT_EMOTIONS):
        n_all = sum(r["label"] == e for r in (all_recs or recs))
        if n_all:
            per.append(f"{e[:4]} {((pred == y) & (y == c)).sum() / n_all:.2f}")
    return f"{acc:.3f} of {total} ({' '.join(per)})"


def _labels(recs) -> np.ndarray:
    from tells.emotion.event import EVENT_EMOTIONS

    return np.array([EVENT_EMOTIONS.index(r["label"]) for r in recs])


def _mean_recall(recs, pred) -> float:

    y = _labels(recs)
    return float(np.mean([np.mean(pred[y == c] == c) for c in np.unique(y)]))


def _by_source(recs, scored, everything, l2, n_pc, apart) -> None:
    """Each source's real clips named by a model fitted without any clip of that source's
    people (their mirrored, warp-made and morphed clips included): how the model does on a set
    it has never seen, a harder test than people left out (posing, lighting and camera
    differ); and the same source's clips scored apart (``apart``: ``{name: (mask over recs,
    every such clip loaded, misses included)}``, the morphs and the grayed)."""
    from tells.emotion.event import EVENT_EMOTIONS

    y = _labels(recs)
    right = total = 0
    sums = {name: [0, 0] for name in apart}
    for src in sorted({r["source"] for r in everything}):
        train = [r for r in recs if r["source"] != src]
        of_src = np.array([r["source"] == src for r in recs])
        test = np.flatnonzero(scored & of_src)
        m = _train(train, l2, n_pc)
        pred = _predict(m, [recs[i] for i in test])
        n = sum(r["source"] == src for r in everything)
        per = " ".join(f"{e[:4]} {np.mean(pred[y[test] == c] == c):.2f}"
                       for c, e in enumerate(EVENT_EMOTIONS) if (y[test] == c).any())
        line = f"  {src} left out whole: {(pred == y[test]).sum() / n:.3f} of {n} ({per})"
        right, total = right + int((pred == y[test]).sum()), total + n
        for name, (mask, every) in apart.items():
            n_m = sum(r["source"] == src for r in every)
            if n_m:
                test_m = np.flatnonzero(mask & of_src)
                ok = int((_predict(m, [recs[i] for i in test_m]) == y[test_m]).sum())
                line += f"; its {name} {ok / n_m:.3f} of {n_m}"
                sums[name][0] += ok
                sums[name][1] += n_m
        print(line)
    print(f"  each source left out whole: {right / total:.3f} of {total}"
          + "".join(f"; {name} {ok / n:.3f} of {n}" for name, (ok, n) in sums.items() if n))


def _by_agreement(recs, scored, pred, info) -> None:
    """People-out accuracy on the real TFEID photos by the share of the database's observers
    who named the posed emotion (``Image_info.xls``; scripts/devset_tfeid.py reads it)."""
    import sys

    from tells.emotion.event import EVENT_EMOTIONS

    sys.path.insert(0, str(Path(__file__).parent))
    from devset_tfeid import _agreement

    shares = _agreement(Path(info))
    rows = []
    for r, p, s in zip(recs, pred, scored, strict=True):
        photo = r["item"].split("/")[-1].split("_")[-1]
        share = shares.get(photo, {}).get(r["label"])
        if s and r["source"] == "tfeid" and share is not None:
            rows.append((share, p == EVENT_EMOTIONS.index(r["label"])))
    share, ok = np.array([x[0] for x in rows]), np.array([x[1] for x in rows])
    for lo, hi in [(0.0, 0.5), (0.5, 0.7), (0.7, 0.9), (0.9, 1.01)]:
        m = (share >= lo) & (share < hi)
        if m.any():
            print(f"  tfeid, observers agreeing {lo:.1f}-{min(hi, 1.0):.1f}: "
                  f"{ok[m].mean():.3f} of {m.sum()}")


def fit(args) -> None:
    from tells.emotion.event import EVENT_EMOTIONS, FEATURE_NAMES

    SYNTHETIC_WEIGHT[0] = args.synthetic_weight
    SUBTLE_WEIGHT[0] = args.subtle_weight
    GRAY_WEIGHT[0] = args.gray_weight
    loaded = _load(args.feats)
    recs = [r for r in loaded if "texture_apex" in r and r["label"] in EVENT_EMOTIONS]
    # scored: the real photos as they are (mirrored, grayed, warp-made and morphed clips only
    # help the fit; the grayed and the morphs are scored apart)
    everything = [r for r in loaded if _as_taken(r)]
    scored = np.array([_as_taken(r) for r in recs])
    warps = np.array([_synthetic(r) and not r.get("mirror") for r in recs])
    # {name: (mask over recs, every such clip loaded, misses included)}
    apart = {name: (np.array([_apart(r) == name for r in recs]),
                    [r for r in loaded if _apart(r) == name]) for name in ("morphs", "grayed")}
    print(f"{len(loaded)} clips ({len(everything)} real and unmirrored), {len(recs)} with an "
          f"event and its evidence, {len({r['subject'] for r in recs})} people")

    def sub(mask):
        return [r for r, m in zip(recs, mask, strict=True) if m]

    if args.warps_only:  # nothing learned from the real photos: they are all a test set
        train = [r for r in recs if _synthetic(r)]
        n_pc = tuple(int(v.split(",")[0]) for v in (args.pcs, args.texture_pcs))
        l2 = float(args.l2.split(",")[0])
        SYNTHETIC_WEIGHT[0], SUBTLE_WEIGHT[0] = 1.0, 0.0
        for kind in ("full", "aus"):
            pred = _predict(_train(train, l2, n_pc, kind), sub(scored))
            print(f"fitted on {len(train)} warp-made clips only ({kind}), every real clip: "
                  f"{_summary(sub(scored), pred, everything)}")
        return

    best = None
    grid = [(m, t) for m in args.pcs.split(",") for t in args.texture_pcs.split(",")]
    for n_pc in [(int(m), int(t)) for m, t in grid]:
        for l2 in [float(v) for v in args.l2.split(",")]:
            pred = _cv(recs, l2, n_pc, args.folds)
            line = _summary(sub(scored), pred[scored], everything)
            if warps.any():
                line += f"; warps {_summary(sub(warps), pred[warps])}"
            for name, (mask, every) in apart.items():
                if mask.any():
                    line += f"; {name} {_summary(sub(mask), pred[mask], every)}"
            print(f"people left out ({args.folds} folds), pcs {n_pc[0]:3d} mesh "
                  f"{n_pc[1]:3d} texture, l2 {l2:g}: {line}", flush=True)
            acc = _mean_recall(sub(scored), pred[scored])  # every emotion counts the same
            if best is None or acc > best[0]:
                best = (acc, n_pc, l2, pred)
    _, n_pc, l2, pred = best
    print(f"chosen: pcs {n_pc[0]} mesh, {n_pc[1]} texture, l2 {l2:g} "
          f"(mean recall {best[0]:.3f})")
    for src in sorted({r["source"] for r in everything}):
        for flash in sorted({r["flash"] for r in everything}):
            m = scored & np.array([r["source"] == src and r["flash"] == flash for r in recs])
            every = [r for r in everything if r["source"] == src and r["flash"] == flash]
            if every:
                print(f"  {src} {flash}s, people left out: "
                      f"{_summary(sub(m), pred[m], every)}")
    _by_source(recs, scored, everything, l2, n_pc, apart)
    if args.tfeid_info:
        _by_agreement(recs, scored, pred, args.tfeid_info)
    if args.fold_seeds > 1:  # how much the figure owes to which people share a fold
        accs = [((_cv(recs, l2, n_pc, args.folds, seed=s) == _labels(recs)) & scored).sum()
                / len(everything) for s in range(args.fold_seeds)]
        print(f"  over {args.fold_seeds} ways of dealing people to folds: mean {np.mean(accs):.3f} "
              f"(from {min(accs):.3f} to {max(accs):.3f})")
    arrays = {}
    n_feat = len(FEATURE_NAMES)
    for kind in ("full", "cnn", "aus"):
        if kind != "full":  # the fallbacks: no mesh change, or no appearance at all (with
            # their few features a weaker L2 names better)
            pred = _cv(recs, args.fallback_l2, (0, 0), args.folds, kind)
            print(f"  without {'the mesh' if kind == 'cnn' else 'appearance'}, people left "
                  f"out: {_summary(sub(scored), pred[scored], everything)}")
        m = _train(recs, l2 if kind == "full" else args.fallback_l2, n_pc, kind)
        # fold the standardisation and the components into plain linear maps
        w_std = m["w"] / m["sd"][:, None]
        cols = _columns(kind)
        weights = np.zeros((len(EVENT_EMOTIONS), n_feat))
        weights[:, cols] = w_std[:len(cols)].T
        arrays[f"weights_{kind}"] = weights
        arrays[f"bias_{kind}"] = m["b"] - m["mu"] @ w_std
        if kind == "full":
            at = len(cols)
            for b in BLOCKS:
                k = len(m["maps"][b])
                arrays[f"{b}_basis"] = m["maps"][b].astype(np.float16)  # directions: 3 digits do
                arrays[f"{b}_weights"] = w_std[at:at + k].T.astype(np.float32)
                at += k
    np.savez_compressed(
        args.o, classes=np.array(EVENT_EMOTIONS), feature_names=np.array(FEATURE_NAMES),
        **arrays,
        meta=np.array(json.dumps({"clips": len(recs), "people": len({r['subject'] for r in recs}),
                                  "real_clips": int(scored.sum()),
                                  "synthetic_weight": args.synthetic_weight,
                                  "subtle_weight": args.subtle_weight,
                                  "pcs": n_pc[0], "texture_pcs": n_pc[1], "l2": l2,
                                  "fallback_l2": args.fallback_l2,
                                  "sources": sorted({r['source'] for r in recs})})))
    print(f"wrote {args.o}")


def main() -> None:
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("dump")
    d.add_argument("source")
    d.add_argument("--flash", default="0.4")
    d.add_argument("--jobs", type=int, default=2)
    d.add_argument("--mirror", action="store_true",
                   help="also each clip mirrored left-right (more examples of the same people)")
    d.add_argument("--gray", action="store_true",
                   help="turn every clip gray (a colour set seen as a gray camera sees it)")
    d.add_argument("--crops", action="store_true",
                   help="also keep the gray crops of the frames the texture is read from "
                   "(<out>_crops.npz; arrays <line>_pre, <line>_apex)")
    d.add_argument("-o", required=True)
    d.set_defaults(fn=dump)
    f = sub.add_parser("fit")
    f.add_argument("feats", nargs="+")
    f.add_argument("--folds", type=int, default=5)
    f.add_argument("--pcs", default="60", help="mesh change components to try")
    f.add_argument("--texture-pcs", default="100",
                   help="texture change components to try")
    f.add_argument("--l2", default="0.1", help="L2 strengths to try")
    f.add_argument("--fallback-l2", type=float, default=0.01,
                   help="L2 strength of the fallback models (no mesh change, no appearance)")
    f.add_argument("--synthetic-weight", type=float, default=0.25,
                   help="weight of a warp-made clip (scripts/devset_emotion_warp.py) in the fit")
    f.add_argument("--subtle-weight", type=float, default=1.0,
                   help="weight of a morphed, subtler clip (scripts/devset_subtle.py) in the "
                        "fit; such clips are scored apart either way")
    f.add_argument("--gray-weight", type=float, default=0.0,
                   help="weight of a grayed clip (dump --gray) in the fit; such clips are "
                        "scored apart either way")
    f.add_argument("--tfeid-info", help="TFEID's Image_info.xls: also print accuracy on its "
                   "photos by how many of the database's observers named the posed emotion")
    f.add_argument("--fold-seeds", type=int, default=1,
                   help="also report the chosen model's people-left-out accuracy over this many "
                   "ways of dealing people to the folds (mean, range)")
    f.add_argument("--warps-only", action="store_true",
                   help="fit on the warp-made clips alone (the first --pcs, --texture-pcs, "
                   "--l2) and score every real clip with it; writes nothing")
    f.add_argument("-o", default=str(Path(__file__).resolve().parents[1]
                                     / "src/tells/emotion/data/event_model.npz"))
    f.set_defaults(fn=fit)
    a = ap.parse_args()
    a.fn(a)


if __name__ == "__main__":
    main()
