"""Flash pairs made with tells' FACS warp on *real* neutral faces, one per emotion and person:
the EMFACS prototype of each emotion (:func:`tells.facs.prototypes.prototype_request`; contempt
one-sided, sides alternating) at a random intensity B..D, the geometry-only warp the spotting
benchmark injects (``tells bench spotting``). A pairs CSV for ``tells eval flashes`` and
``scripts/fit_event_emotion.py dump``; the subject is the real person's, so a fit's people-out
folds keep a person's warps with their real photos. Expression files are named
``warp-<emotion>-<intensity>.png`` (the fit tells synthetic clips from real ones by it).

    python scripts/devset_emotion_warp.py .devdata/warp_neutrals.csv .devdata/warp [--seed 0]

NEUTRALS_CSV has columns ``neutral,subject`` (paths relative to the CSV's folder).
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import cv2
import numpy as np


def main() -> None:
    from tells.facs.prototypes import prototype_request
    from tells.facs.synth import synth_face
    from tells.io.image import read_image

    ap = argparse.ArgumentParser()
    ap.add_argument("neutrals", type=Path, help="CSV with columns neutral,subject")
    ap.add_argument("out", type=Path)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    rng = np.random.default_rng(a.seed)
    emotions = ["anger", "contempt", "disgust", "fear", "happiness", "sadness", "surprise"]
    rows = list(csv.DictReader(open(a.neutrals)))
    a.out.mkdir(parents=True, exist_ok=True)
    pairs = []
    for k, r in enumerate(rows):
        img = read_image(a.neutrals.parent / r["neutral"])
        d = a.out / r["subject"]
        d.mkdir(exist_ok=True)
        cv2.imwrite(str(d / "neutral.png"), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
        for e in emotions:
            level = float(rng.choice([2.0, 3.0, 4.0]))
            request = prototype_request(e, level)
            if e == "contempt" and k % 2:  # the other side
                request = {key.replace("R", "L") if key.endswith("R") else key: v
                           for key, v in request.items()}
            name = f"warp-{e}-{int(level)}.png"
            cv2.imwrite(str(d / name), cv2.cvtColor(synth_face(img, request), cv2.COLOR_RGB2BGR))
            pairs.append((f"{r['subject']}/neutral.png", f"{r['subject']}/{name}", e,
                          r["subject"]))
    with open(a.out / "pairs.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["neutral", "expression", "label", "subject"])
        w.writerows(pairs)
    print(f"{len(pairs)} warped pairs of {len(rows)} people in {a.out / 'pairs.csv'}")


if __name__ == "__main__":
    main()
