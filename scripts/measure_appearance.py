"""Accuracy of the two appearance models, fer's mini-Xception (:mod:`tells.emotion.cnn`) and
face-api's expression net (:mod:`tells.emotion.faceapi`), and of their probability average, on
real faces of the development set (docs/DATA.md; the images are never committed).

    .venv/bin/python scripts/measure_appearance.py [--fer .devdata/fer2013_train]
        [--pairs .devdata/flash_tfeid1] [--per 100] [--seed 0] [--neutral] [--mirror]

Sets: ``fer`` is a fixed-seed sample of FER2013's training split, ``--per`` images per class
(the same draw as scripts/devset_fer_sample.py: ``random.Random(seed)``, sorted folders and
files); ``pairs`` is the ``expression.jpg`` of each photo pair, labelled by its folder
(``--neutral`` adds the pairs' distinct ``neutral.jpg`` as a neutral set). fer's CNN was
trained on FER2013, so its figures on ``fer`` are optimistic.

Crop conventions:

- ``bare``: the detector's largest face box made square (the whole image for a tight crop of at
  most :data:`tells.emotion.cnn.TIGHT_CROP_PX` or when no face is found): fer gets
  :func:`~tells.emotion.cnn.bare_input` (as :func:`~tells.emotion.cnn.bare_cnn`), face-api
  :func:`~tells.emotion.faceapi.box_input`;
- ``aligned``: tells' 128×128 aligned crop of the still-image mesh
  (:func:`tells.face.still.find_faces`): fer gets :func:`~tells.emotion.cnn.fer_input` (its
  default framing, the one video uses), face-api :func:`~tells.emotion.faceapi.crop_input`
  (images without a mesh use ``bare``).

Prints accuracy and per-class recall per model, set and convention, then the accuracy of
``w·fer + (1−w)·face-api`` over a grid of ``w``.
"""

from __future__ import annotations

import argparse
import os
import random
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before numpy: time on one core
import cv2
import numpy as np

from tells.emotion import faceapi
from tells.emotion.cnn import CNN_CLASSES, TIGHT_CROP_PX, bare_input, fer_input, shared_cnn
from tells.face.align import aligned_crop
from tells.face.still import detector, find_faces

FER_FOLDERS = {"angry": "anger", "disgust": "disgust", "fear": "fear", "happy": "happiness",
               "neutral": "neutral", "sad": "sadness", "surprise": "surprise"}
#: face-api's output reordered to fer's class order
TO_CNN = [faceapi.CLASSES.index(c) for c in CNN_CLASSES]
WEIGHTS = [0.0, 0.25, 0.4, 0.5, 0.6, 0.75, 1.0]
#: CPU seconds per forward pass, by model (CPU time: the machine may be shared)
TIMES: dict[str, list[float]] = {"fer": [], "face-api": []}


def _timed(model: str, fn, x: np.ndarray) -> np.ndarray:
    t = time.process_time()
    out = fn(x)
    TIMES[model].append(time.process_time() - t)
    return out


def fer_sample(root: Path, per: int, seed: int) -> list[tuple[str, Path]]:
    rng = random.Random(seed)
    out = []
    for d in sorted(p for p in root.iterdir() if p.is_dir()):
        files = sorted(f for f in d.iterdir() if f.name.startswith("Training_"))
        out += [(FER_FOLDERS[d.name], f) for f in rng.sample(files, min(per, len(files)))]
    return out


def pair_photos(root: Path, name: str) -> list[tuple[str, Path]]:
    """The pairs' ``name`` photos with their labels, each photo once (pairs of one person may
    share the neutral photo)."""
    seen: dict[Path, tuple[str, Path]] = {}
    for f in sorted(root.glob(f"*/*/{name}")):
        seen.setdefault(f.resolve(), (f.parts[-3] if name == "expression.jpg" else "neutral", f))
    return list(seen.values())


def read_probs(path: Path, mirror: bool) -> dict[str, np.ndarray]:
    """Probabilities over CNN_CLASSES of each model × convention for one image (``mirror``:
    each model's mean over the input and its mirror image)."""
    rgb = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
    box = None
    if max(rgb.shape[:2]) > TIGHT_CROP_PX:
        found = detector()(rgb)
        if found:
            d = max(found, key=lambda d: d.w * d.h)
            box = (d.x, d.y, d.w, d.h)
    cnn, net = shared_cnn(), faceapi.shared_faceapi()
    fer = cnn.mirrored if mirror else cnn.run_input
    api = net.mirrored if mirror else net.run_input
    out = {"fer bare": _timed("fer", fer, bare_input(rgb, box)),
           "face-api bare": _timed("face-api", api, faceapi.box_input(rgb, box))[TO_CNN]}
    faces = find_faces(rgb, max_faces=1)
    if faces:
        crop = aligned_crop(rgb, faces[0][0], 128)[0]
        out["fer aligned"] = fer(fer_input(crop))
        out["face-api aligned"] = api(faceapi.crop_input(crop))[TO_CNN]
    else:
        out["fer aligned"], out["face-api aligned"] = out["fer bare"], out["face-api bare"]
    for conv in ("bare", "aligned"):
        out[f"mean {conv}"] = 0.5 * (out[f"fer {conv}"] + out[f"face-api {conv}"])
    return out


def row(name: str, labels: list[str], probs: np.ndarray) -> str:
    pred = [CNN_CLASSES[i] for i in probs.argmax(axis=1)]
    acc = np.mean([p == t for p, t in zip(pred, labels, strict=True)])
    cells = []
    for c in CNN_CLASSES:
        idx = [i for i, t in enumerate(labels) if t == c]
        cells.append(f"{np.mean([pred[i] == c for i in idx]):5.2f}" if idx else "    -")
    return f"{name:18s} {len(labels):4d}  {acc:5.3f}  " + " ".join(cells)


def main() -> None:
    cv2.setNumThreads(1)
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--fer", type=Path, default=Path(".devdata/fer2013_train"))
    ap.add_argument("--pairs", type=Path, default=Path(".devdata/flash_tfeid1"))
    ap.add_argument("--per", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--neutral", action="store_true", help="also the pairs' neutral photos")
    ap.add_argument("--mirror", action="store_true",
                    help="each model averaged over the face and its mirror image")
    a = ap.parse_args()
    sets = {"fer": fer_sample(a.fer, a.per, a.seed), "pairs": pair_photos(a.pairs, "expression.jpg")}
    if a.neutral:
        sets["pairs neutral"] = pair_photos(a.pairs, "neutral.jpg")
    t0 = time.time()
    results = {name: [read_probs(p, a.mirror) for _, p in items] for name, items in sets.items()}
    print(f"({sum(map(len, sets.values()))} images in {time.time() - t0:.0f} s; face-api "
          f"aligned framing side {faceapi.SIDE_UNITS} eye distances, centre "
          f"{faceapi.CENTRE_DOWN} of eyes→chin)")
    print("forward pass, CPU ms per face (mean, OpenCV and BLAS on one thread): "
          + ", ".join(f"{k} {1000 * np.mean(v):.2f}" for k, v in TIMES.items()))
    head = " ".join(f"{c[:5]:>5s}" for c in CNN_CLASSES)
    for name, items in sets.items():
        labels = [lab for lab, _ in items]
        print(f"\n{name}: accuracy and recall per class\n{'model':18s} {'n':>4s}  {'acc':>5s}  "
              f"{head}")
        for model in results[name][0]:
            print(row(model, labels, np.array([r[model] for r in results[name]])))
        for conv in ("bare", "aligned"):
            fer = np.array([r[f"fer {conv}"] for r in results[name]])
            net = np.array([r[f"face-api {conv}"] for r in results[name]])
            accs = [np.mean([CNN_CLASSES[i] == t for i, t in
                             zip((w * fer + (1 - w) * net).argmax(axis=1), labels, strict=True)])
                    for w in WEIGHTS]
            print(f"  {conv}: w·fer + (1−w)·face-api accuracy: "
                  + "  ".join(f"w={w:.2f} {x:.3f}" for w, x in zip(WEIGHTS, accs, strict=True)))


if __name__ == "__main__":
    main()
