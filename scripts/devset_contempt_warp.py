"""Contempt pairs for ``tells eval flashes`` made with tells' FACS warp on *real* neutral faces
(no public real contempt faces with a neutral of the same person were found; docs/DATA.md):
``OUT/contempt/<name>/neutral.png + expression.png``. Sides alternate; intensities vary
(unilateral AU14 at B..D, with unilateral AU12 at 0..B, as FACS codes contempt).

    python scripts/devset_contempt_warp.py NEUTRALS_DIR .devdata/flash_contempt [--seed 0]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np


def main() -> None:
    from tells.facs.synth import synth_face
    from tells.io.image import read_image

    ap = argparse.ArgumentParser()
    ap.add_argument("neutrals", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    rng = np.random.default_rng(a.seed)
    files = sorted(f for f in a.neutrals.iterdir() if f.suffix.lower() in (".jpg", ".png"))
    for k, f in enumerate(files):
        side = "LR"[k % 2]
        request = {f"AU14{side}": float(rng.uniform(2.0, 4.0)),
                   f"AU12{side}": float(rng.uniform(0.0, 2.0))}
        img = read_image(f)
        d = a.out / "contempt" / f"{f.stem}_{side}"
        d.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(d / "neutral.png"), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
        cv2.imwrite(str(d / "expression.png"),
                    cv2.cvtColor(synth_face(img, request), cv2.COLOR_RGB2BGR))
    print(f"{len(files)} contempt pairs in {a.out}")


if __name__ == "__main__":
    main()
