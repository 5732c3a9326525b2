"""Fit the linear shape model (:mod:`tells.emotion.shape`) on FER2013's training split.

1. Mesh every image of ``TRAIN/<class>/Training_*`` (the still-image path,
   :func:`tells.face.still.find_faces`; tiny crops are padded and upscaled there), leaving out
   the images of ``--exclude`` (the ``tells eval images`` sample, so that figure stays clean).
   The meshes are cached in ``--cache`` (an .npz; delete it to mesh again).
2. Pose-normalise each mesh (:func:`tells.face.geometry.head_pose`, as video frames are), keep
   the x, y of the 468 face points, and fit principal components (``--k``) then a class-
   balanced softmax regression (``--lam`` L2) by gradient descent; report a 5-fold accuracy.
3. Fold both into one linear map and write ``weights``, ``base`` (the scores of the mean
   neutral face) and ``classes`` to ``-o``.

    python scripts/fit_shape_model.py .devdata/fer2013_train --exclude .devdata/fer700 \\
        --cache .devdata/fer_meshes.npz -o src/tells/emotion/data/shape_model.npz
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

FOLDERS = {"angry": "anger", "disgust": "disgust", "fear": "fear", "happy": "happiness",
           "sad": "sadness", "surprise": "surprise", "neutral": "neutral"}
CLASSES = ["anger", "disgust", "fear", "happiness", "sadness", "surprise", "neutral"]


def mesh_all(train: Path, exclude: Path | None) -> dict[str, np.ndarray]:
    import cv2

    from tells.face.still import find_faces

    skip = {p.name for p in exclude.rglob("*") if p.is_file()} if exclude else set()
    names, lms, labels = [], [], []
    for folder, label in FOLDERS.items():
        files = sorted(f for f in (train / folder).glob("Training_*") if f.name not in skip)
        for k, f in enumerate(files):
            img = cv2.imread(str(f))
            found = find_faces(cv2.cvtColor(img, cv2.COLOR_BGR2RGB), 1) if img is not None else []
            if found:
                names.append(f.name)
                lms.append(found[0][0][:, :3].astype(np.float32))
                labels.append(label)
            if k % 1000 == 0:
                print(f"{folder}: {k}/{len(files)} images, {len(names)} meshes", flush=True)
    return {"names": np.array(names), "lm": np.array(lms), "labels": np.array(labels)}


def features(lm: np.ndarray) -> np.ndarray:
    """(N, 936): x, y of the 468 face points of each pose-normalised mesh."""
    from tells.emotion.shape import POINTS
    from tells.face.geometry import head_pose, to_head_frame

    out = np.empty((len(lm), 2 * POINTS), np.float64)
    for i, m in enumerate(lm):
        s, rot, t, _ = head_pose(m.astype(np.float64))
        out[i] = to_head_frame(m.astype(np.float64), s, rot, t)[:POINTS, :2].ravel()
    return out


def fit(x: np.ndarray, y: np.ndarray, k: int, lam: float, steps: int = 600
        ) -> tuple[np.ndarray, np.ndarray]:
    """Linear scores ``x @ W + b`` (PCA to ``k`` components, standardised, class-balanced
    softmax regression), folded into ``(W (d, C), b (C,))``."""
    n_cls = len(CLASSES)
    mu = x.mean(0)
    _, _, vt = np.linalg.svd(x - mu, full_matrices=False)
    v = vt[:k].T
    z = (x - mu) @ v
    sd = z.std(0) + 1e-9
    z /= sd
    onehot = np.eye(n_cls)[y]
    balance = (len(y) / (n_cls * np.bincount(y, minlength=n_cls)))[y][:, None]
    w, b = np.zeros((k, n_cls)), np.zeros(n_cls)
    for _ in range(steps):
        s = z @ w + b
        p = np.exp(s - s.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        g = (p - onehot) * balance
        w -= 0.5 * (z.T @ g / len(y) + lam * w / len(y))
        b -= 0.5 * g.mean(0)
    big = (v / sd) @ w
    return big, b - mu @ big


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("train", type=Path)
    ap.add_argument("--exclude", type=Path)
    ap.add_argument("--cache", type=Path)
    ap.add_argument("-o", type=Path, required=True)
    ap.add_argument("--k", type=int, default=80)
    ap.add_argument("--lam", type=float, default=10.0)
    a = ap.parse_args()
    if a.cache and a.cache.is_file():
        with np.load(a.cache) as z:
            data = {k: z[k] for k in z.files}
    else:
        data = mesh_all(a.train, a.exclude)
        if a.cache:
            np.savez_compressed(a.cache, **data)
    x = features(data["lm"])
    y = np.array([CLASSES.index(c) for c in data["labels"]])
    print("meshes per class:", dict(zip(CLASSES, np.bincount(y, minlength=7).tolist(),
                                        strict=True)))
    fold = np.random.default_rng(0).integers(0, 5, len(y))
    pred = np.empty_like(y)
    for q in range(5):
        w, b = fit(x[fold != q], y[fold != q], a.k, a.lam)
        pred[fold == q] = (x[fold == q] @ w + b).argmax(1)
    recall = {c: round(float((pred[y == i] == i).mean()), 3) for i, c in enumerate(CLASSES)}
    print(f"5-fold accuracy {(pred == y).mean():.3f}, recall {recall}")
    w, b = fit(x, y, a.k, a.lam)
    neutral = x[y == CLASSES.index("neutral")].mean(0)
    a.o.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(a.o, classes=np.array(CLASSES), weights=w.T.astype(np.float32),
                        base=(neutral @ w + b).astype(np.float64))
    print(f"wrote {a.o} ({a.o.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
