"""Subtler flash pairs made from real ones: each expression photo morphed part of the way from
the same person's neutral photo, so a development set also holds the weak expressions real
people flash (a face at 40% of its posed apex moves 40% as far, and its folds show 40% as
deep).

The morph is the usual one: the expression photo is registered onto the neutral one (the
similarity fit ``tells eval flashes`` uses), both faces are found, each photo is warped to the
shape ``alpha`` of the way from the neutral mesh to the expression mesh (a thin-plate field
through the 478 points, as the FACS warp), and the two are cross-faded at ``alpha``.

    python scripts/devset_subtle.py SOURCE OUT [--alpha 0.4] [--alpha 0.6 ...]
    python scripts/devset_subtle.py SOURCE OUT --sequence 6

``--sequence N`` writes each pair as a neutral→apex image sequence instead,
``OUT/<label>/<item>/00.png .. (N-1).png`` at alpha 0, 1/(N-1), .. 1 (the layout ``tells eval
flashes`` reads as sequences; the apex frame is the registered expression photo itself).

SOURCE is anything ``tells eval flashes`` reads as photo pairs (a pairs CSV or a
``DIR/<label>/<item>/`` folder). OUT gets the morphs and a ``pairs.csv``
(``neutral,expression,label,subject``) whose expression files are named
``subtle<percent>-<item>.png``; ``scripts/fit_event_emotion.py`` tells such clips from the
real ones by that name. The subject is the one the fit gives the source's items, so a
people-out fold keeps a person's morphs with their real photos.
"""

from __future__ import annotations

import argparse
import csv
import re
from pathlib import Path

import cv2
import numpy as np


def _safe(name: str) -> str:
    """An item name as a file or folder name."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)


def morph(neutral: np.ndarray, expression: np.ndarray, alpha: float) -> np.ndarray | None:
    """``expression`` (registered onto ``neutral``) shown at ``alpha`` of its strength on the
    same face; None when either face is not found."""
    from tells.facs.synth import warp_points
    from tells.spotting.flashes import find_mesh

    a, b = find_mesh(neutral), find_mesh(expression)
    if a is None or b is None:
        return None
    d = b[:, :2] - a[:, :2]
    n = warp_points(neutral, a[:, :2], alpha * d).astype(np.float32)
    e = warp_points(expression, b[:, :2], -(1.0 - alpha) * d).astype(np.float32)
    return np.clip((1.0 - alpha) * n + alpha * e, 0, 255).round().astype(np.uint8)


def _registered(item) -> tuple[np.ndarray, np.ndarray]:
    """An item's neutral photo and its expression photo registered onto it."""
    from tells.io.image import read_image
    from tells.spotting.flashes import align_onto

    neutral = read_image(item.neutral)
    expression = align_onto(read_image(item.expression), neutral)
    if expression.shape != neutral.shape:
        expression = cv2.resize(expression, (neutral.shape[1], neutral.shape[0]))
    return neutral, expression


def _write(path: Path, rgb: np.ndarray) -> None:
    cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))


def sequences(items, out: Path, n: int) -> None:
    """Each photo pair as a neutral→apex sequence of ``n`` frames in ``out/<label>/<item>/``."""
    made = 0
    for item in (i for i in items if i.kind == "pair"):
        neutral, expression = _registered(item)
        frames = [morph(neutral, expression, k / (n - 1)) for k in range(1, n - 1)]
        if any(f is None for f in frames):
            continue
        d = out / item.label / _safe(item.name.split("/")[-1])
        d.mkdir(parents=True, exist_ok=True)
        for k, img in enumerate([neutral, *frames, expression]):
            _write(d / f"{k:02d}.png", img)
        made += 1
    print(f"{made} sequences of {n} frames in {out}")


def main() -> None:
    import sys

    from tells.spotting.flashes import read_items

    sys.path.insert(0, str(Path(__file__).parent))
    from fit_event_emotion import _subject  # the person id the fit's folds group by

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("source", help="a pairs CSV or a DIR/<label>/<item>/ folder of photo pairs")
    ap.add_argument("out", type=Path)
    ap.add_argument("--alpha", type=float, action="append",
                    help="share of the expression kept, 0 < alpha < 1 (repeatable; default 0.5)")
    ap.add_argument("--sequence", type=int, metavar="N",
                    help="write neutral→apex sequences of N frames instead of pairs")
    a = ap.parse_args()
    if a.sequence is not None:
        if a.sequence < 3:
            ap.error("--sequence needs at least 3 frames")
        sequences(read_items(a.source), a.out, a.sequence)
        return
    alphas = a.alpha or [0.5]
    if not all(0.0 < x < 1.0 for x in alphas):
        ap.error("--alpha must lie strictly between 0 and 1")
    items = [i for i in read_items(a.source) if i.kind == "pair"]
    a.out.mkdir(parents=True, exist_ok=True)
    rows, skipped = [], 0
    for k, item in enumerate(items):
        neutral, expression = _registered(item)
        subject = _subject(item)
        n_name = f"{k:04d}-neutral.png"
        made = False
        for alpha in alphas:
            img = morph(neutral, expression, alpha)
            if img is None:
                continue
            e_name = f"subtle{round(alpha * 100)}-{k:04d}-{Path(_safe(item.name)).stem}.png"
            _write(a.out / e_name, img)
            rows.append((n_name, e_name, item.label, subject))
            made = True
        if made:
            _write(a.out / n_name, neutral)
        else:
            skipped += 1
    with open(a.out / "pairs.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["neutral", "expression", "label", "subject"])
        w.writerows(rows)
    print(f"{len(rows)} morphed pairs of {len(items) - skipped} photo pairs in "
          f"{a.out / 'pairs.csv'}" + (f" ({skipped} left out: no face found)" if skipped else ""))


if __name__ == "__main__":
    main()
