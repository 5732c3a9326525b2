"""A fixed-seed sample of FER2013's *training* split (see docs/DATA.md) for
``tells eval images``: ``OUT/<class>/<file>`` symlinks, ``--per`` images per class.

    python scripts/devset_fer_sample.py .devdata/fer2013_train .devdata/fer700 --per 100 --seed 0
"""

from __future__ import annotations

import argparse
import os
import random
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("train", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--per", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    for d in sorted(p for p in a.train.iterdir() if p.is_dir()):
        files = sorted(f for f in d.iterdir() if f.name.startswith("Training_"))
        pick = rng.sample(files, min(a.per, len(files)))
        (a.out / d.name).mkdir(parents=True, exist_ok=True)
        for f in pick:
            link = a.out / d.name / f.name
            if not link.exists():
                os.symlink(f.resolve(), link)
        print(d.name, len(pick))


if __name__ == "__main__":
    main()
