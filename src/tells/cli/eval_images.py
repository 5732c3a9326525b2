"""``tells eval images DIR``: score emotion recognition on a folder-per-class image collection,
and ``tells eval aus-oracle``: the FACS warp oracle table.

``DIR/<label>/*.png|jpg`` (any size, 48×48 gray crops to full photos); folder names are mapped
to tells' emotion names (angry→anger, happy→happiness, sad→sadness, surprised→surprise, …).
Each image's prediction is the top emotion of its largest face. A tight crop that the detector
misses is retried padded and upscaled; if no mesh fits at all the whole image is taken as the
face (CNN only, flagged ``whole_image``); an image that cannot be read counts as an error.

Output (``--json`` prints the same object; ``--out DIR`` writes ``predictions.csv`` and
``metrics.json``)::

    {"images": N, "errors": E, "whole_image": W, "labels": [...],
     "accuracy": a, "macro_f1": f,                       # over the labels present in DIR
     "per_class": {label: {"precision": p, "recall": r, "f1": f, "support": n}},
     "confusion": {"labels": [...], "matrix": [[...]]},  # rows = truth, columns = predicted
     "unpredictable_labels": [...],                      # labels tells never outputs
     "reference": {"name": ..., "accuracy": a, "macro_f1": f, "recall": {label: r}},
                                                         # the bare CNN on the same images
     "aus": {"AU12": {"precision": p, "recall": r, "f1": f, "support": n}, ...}}  # --aus only

``--aus FILE.csv`` (columns ``image, aus`` with FACS codes like ``1+2+5B+26``; ``image`` is a
path relative to DIR or a file name) adds presence precision/recall/F1 per action unit.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import numpy as np

from tells.cli.common import add_output_flags, failures, print_failures, print_json, progress
from tells.contract import AU_NUMBERS, EMOTIONS, normalise_label
from tells.errors import InputError, OutputError, TellsError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff"}


def register(kinds) -> None:
    p = kinds.add_parser("images", help="emotion accuracy on DIR/<label>/ images",
                         description="Predict the emotion of every image in DIR/<label>/ and "
                         "report accuracy, macro-F1, per-class precision/recall and the "
                         "confusion matrix.")
    p.add_argument("dir", type=Path, help="folder with one sub-folder of images per label")
    p.add_argument("--out", type=Path, help="write predictions.csv and metrics.json here")
    p.add_argument("--aus", type=Path, metavar="FILE.csv",
                   help="AU labels (columns image, aus) to score AU presence F1")
    add_output_flags(p)
    p.set_defaults(handler=_images_handler)

    o = kinds.add_parser("aus-oracle", help="FACS warp oracle: AU read-back on warped faces",
                         description="Warp the sample faces with each action unit at B and C "
                         "intensity; print detection rates, and false positives on unwarped "
                         "re-detected copies.")
    o.add_argument("--faces", type=int, default=0, help="use only the first N sample faces")
    add_output_flags(o)
    o.set_defaults(handler=_oracle_handler)


# --- emotion evaluation --------------------------------------------------------------------

def collect(root: Path) -> list[tuple[Path, str]]:
    """``(image, label)`` for every image under ``root/<label>/``."""
    if not root.is_dir():
        raise InputError(f"{root}: not a folder (expected DIR/<label>/images)")
    items = [(f, normalise_label(d.name)) for d in sorted(root.iterdir()) if d.is_dir()
             for f in sorted(d.rglob("*")) if f.suffix.lower() in IMAGE_SUFFIXES]
    if not items:
        raise InputError(f"{root}: no images in label sub-folders (DIR/<label>/*.jpg)")
    return items


def predict(path: Path) -> dict:
    """Top emotion, probabilities, AU intensities and how the face was found for one image."""
    from tells.api import analyze_image
    from tells.emotion.cnn import CNN_CLASSES, bare_cnn, shared_cnn
    from tells.io.image import read_image

    rgb = read_image(path)
    bare = CNN_CLASSES[int(np.argmax(bare_cnn(rgb)))]
    faces = analyze_image(rgb, max_faces=3)
    if faces:
        f = faces[0]
        return {"emotions": f.emotions, "aus": f.aus, "found_by": f.found_by, "bare_cnn": bare}
    # no mesh fits: the whole image is the face (a tight crop), appearance only
    from tells.emotion.cnn import bare_input
    from tells.emotion.fusion import fuse

    probs = fuse(shared_cnn().mirrored(bare_input(rgb, None)), {}, au_weight=0.0)
    return {"emotions": dict(zip(EMOTIONS, map(float, probs), strict=True)), "aus": {},
            "found_by": "whole_image", "bare_cnn": bare}


def metrics(truth: list[str], pred: list[str]) -> dict:
    """Accuracy, macro-F1 over the labels present, per-class P/R/F1, confusion matrix."""
    labels = sorted(set(truth), key=lambda x: (x not in EMOTIONS, EMOTIONS.index(x)
                                                if x in EMOTIONS else 0, x))
    cols = labels + sorted(set(pred) - set(labels), key=EMOTIONS.index)
    idx = {c: i for i, c in enumerate(cols)}
    cm = np.zeros((len(labels), len(cols)), dtype=int)
    for t, p in zip(truth, pred, strict=True):
        cm[labels.index(t), idx[p]] += 1
    per = {}
    for i, lab in enumerate(labels):
        tp = cm[i, idx[lab]]
        fp = cm[:, idx[lab]].sum() - tp
        fn = cm[i].sum() - tp
        prec = tp / (tp + fp) if tp + fp else 0.0
        rec = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
        per[lab] = {"precision": round(prec, 4), "recall": round(rec, 4), "f1": round(f1, 4),
                    "support": int(cm[i].sum())}
    n = len(truth)
    return {"labels": labels,
            "accuracy": round(float(sum(t == p for t, p in zip(truth, pred, strict=True)) / n), 4) if n else 0.0,
            "macro_f1": round(float(np.mean([v["f1"] for v in per.values()])), 4) if per else 0.0,
            "per_class": per,
            "confusion": {"labels": cols, "matrix": cm.tolist()},
            "unpredictable_labels": [x for x in labels if x not in EMOTIONS]}


def _codes(text: str) -> set[int]:
    return {int(m) for m in re.findall(r"(?:^|[+,;\s])[LR]?(\d{1,2})[A-E]?(?=$|[+,;\s])",
                                       str(text))}


def au_scores(labels: dict[str, set[int]], found: dict[str, dict]) -> dict:
    """Presence precision/recall/F1 per action unit over the labelled images."""
    out = {}
    for n in AU_NUMBERS:
        key = f"AU{n:02d}"
        tp = fp = fn = 0
        for img, truth in labels.items():
            if img not in found:
                continue
            present = found[img].get(key, 0.0) >= 1.0
            tp += present and n in truth
            fp += present and n not in truth
            fn += (not present) and n in truth
        if tp + fn == 0 and fp == 0:
            continue
        prec = tp / (tp + fp) if tp + fp else 0.0
        rec = tp / (tp + fn) if tp + fn else 0.0
        out[key] = {"precision": round(prec, 4), "recall": round(rec, 4),
                    "f1": round(2 * prec * rec / (prec + rec), 4) if prec + rec else 0.0,
                    "support": tp + fn}
    return out


def _read_au_labels(path: Path) -> dict[str, set[int]]:
    from tells.io.table import read_csv_rows

    rows = read_csv_rows(path, ["image", "aus"])
    return {r["image"].strip(): _codes(r["aus"]) for r in rows}


def evaluate(root: Path, au_file: Path | None = None, show: bool = False) -> tuple[dict, list]:
    """Run the evaluation; returns ``(metrics, prediction rows)``."""
    items = collect(root)
    rows = []
    with progress("images", len(items), enabled=show, unit="images") as advance:
        for path, label in items:
            rel = str(path.relative_to(root))
            try:
                r = predict(path)
                top = max(r["emotions"], key=r["emotions"].get)
                rows.append({"image": rel, "label": label, "predicted": top,
                             "confidence": round(r["emotions"][top], 4),
                             "found_by": r["found_by"], "aus": r["aus"],
                             "bare_cnn": r["bare_cnn"]})
            except TellsError as exc:
                rows.append({"image": rel, "label": label, "predicted": "", "error": str(exc)})
            advance(1)
    ok = [r for r in rows if r.get("predicted")]
    result = {"images": len(items),
              **failures([f"{r['image']}: {r['error']}" for r in rows if "error" in r]),
              "whole_image": sum(r.get("found_by") == "whole_image" for r in ok),
              **metrics([r["label"] for r in ok], [r["predicted"] for r in ok])}
    ref = metrics([r["label"] for r in ok], [r["bare_cnn"] for r in ok])
    result["reference"] = {"name": "bare CNN (the mini-Xception alone on the detector's face "
                           "box, or the whole image for a tight crop)",
                           "accuracy": ref["accuracy"], "macro_f1": ref["macro_f1"],
                           "recall": {k: v["recall"] for k, v in ref["per_class"].items()}}
    if au_file is not None:
        labels = _read_au_labels(au_file)
        found = {}
        for r in ok:
            found[r["image"]] = r["aus"]
            found.setdefault(Path(r["image"]).name, r["aus"])
        result["aus"] = au_scores(labels, found)
    return result, rows


def _images_handler(args) -> int:
    result, rows = evaluate(args.dir, args.aus, show=not (args.quiet or args.json))
    if args.out is not None:
        _write(args.out, result, rows)
    if result["errors"] == result["images"]:  # nothing measured: a failure, said once
        raise InputError(f"{args.dir}: no image could be read ({result['error_examples'][0]})")
    if args.json:
        print_json(result)
        return 0
    print(f"{result['images']} images"
          f"{', ' + str(result['errors']) + ' NOT READ (partial result)' if result['errors'] else ''}"
          f"{', ' + str(result['whole_image']) + ' taken whole' if result['whole_image'] else ''}")
    print_failures(result, "not read", "predictions.csv")
    print(f"accuracy {result['accuracy']:.3f}   macro-F1 {result['macro_f1']:.3f}")
    ref = result["reference"]
    print(f"reference: bare CNN accuracy {ref['accuracy']:.3f}   macro-F1 {ref['macro_f1']:.3f}"
          " (it has no contempt class)")
    print(f"{'label':<12}{'precision':>10}{'recall':>8}{'f1':>8}{'n':>6}")
    for lab, v in result["per_class"].items():
        print(f"{lab:<12}{v['precision']:>10.3f}{v['recall']:>8.3f}{v['f1']:>8.3f}"
              f"{v['support']:>6}")
    if result["unpredictable_labels"]:
        print("labels tells does not predict: " + ", ".join(result["unpredictable_labels"]))
    cols = result["confusion"]["labels"]
    print("confusion (rows truth, columns predicted):")
    print(" " * 12 + "".join(f"{c[:9]:>10}" for c in cols))
    for lab, row in zip(result["labels"], result["confusion"]["matrix"], strict=True):
        print(f"{lab:<12}" + "".join(f"{v:>10}" for v in row))
    for au, v in result.get("aus", {}).items():
        print(f"{au}: presence F1 {v['f1']:.3f} (P {v['precision']:.3f}, R {v['recall']:.3f}, "
              f"n {v['support']})")
    return 0


def _write(out: Path, result: dict, rows: list[dict]) -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
        (out / "metrics.json").write_text(json.dumps(result, indent=2) + "\n")
        with open(out / "predictions.csv", "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["image", "label", "predicted", "confidence", "found_by", "bare_cnn",
                        "error"])
            for r in rows:
                w.writerow([r["image"], r["label"], r.get("predicted", ""),
                            r.get("confidence", ""), r.get("found_by", ""),
                            r.get("bare_cnn", ""), r.get("error", "")])
    except OSError as exc:
        raise OutputError(f"{out}: cannot write ({exc.strerror})") from None


# --- AU oracle -----------------------------------------------------------------------------

def _oracle_handler(args) -> int:
    from tells.contract import AU_NUMBERS as aus
    from tells.facs.oracle import oracle_images, run_oracle

    images = oracle_images()
    if args.faces:
        images = images[: args.faces]
    with progress("warps", len(images) * len(aus) * 2,
                  enabled=not (args.quiet or args.json), unit="warps") as advance:
        rows = [r.as_dict() for r in run_oracle(images, progress=advance)]
    if args.json:
        print_json(rows)
        return 0
    print(f"{'AU':<6}{'det@B':>7}{'det@C':>7}{'mean@B':>8}{'mean@C':>8}{'FP':>7}{'cross':>7}"
          f"{'faces':>7}{'det@B*':>8}{'det@C*':>8}{'faces*':>8}")
    for r in rows:
        def f(v):
            return "  -" if v is None else f"{v:.2f}"
        print(f"{r['au']:<6}{f(r['detect_B']):>7}{f(r['detect_C']):>7}{f(r['mean_B']):>8}"
              f"{f(r['mean_C']):>8}{f(r['false_positive']):>7}{f(r['cross_talk']):>7}"
              f"{r['faces']:>7}{f(r['detect_B_frontal']):>8}{f(r['detect_C_frontal']):>8}"
              f"{r['faces_frontal']:>8}")
    print("* over the faces within the pipeline's pose limit (a face turned further is flagged "
          "q_pose in video, and spotting leaves out events on such frames)")
    return 0
