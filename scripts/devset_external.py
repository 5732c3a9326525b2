"""Pair lists (``neutral,expression,label,subject``) of the external check sets in
docs/DATA.md, for ``tells eval flashes``. These sets are never given to the event model's fit,
so they measure it on people *and* photo sources it has not seen.

    python scripts/devset_external.py rafd-morphing .devdata/rafd/morphing .devdata/pairs_rafd_morphing.csv
    python scripts/devset_external.py rafd-morphing .devdata/rafd/morphing .devdata/pairs_rafd_morphing50.csv --strength 50
    python scripts/devset_external.py rafd-utrecht .devdata/rafd/utrecht .devdata/pairs_rafd_utrecht.csv
    python scripts/devset_external.py london .devdata/london .devdata/pairs_london.csv

Paths in the CSV are written relative to the CSV's folder (as ``tells eval flashes`` reads
them).
"""

from __future__ import annotations

import argparse
import csv
import os
import re
from collections import Counter
from pathlib import Path

#: RaFD's emotion words in file names, in tells' names
RAFD = {"angry": "anger", "disgusted": "disgust", "fearful": "fear", "happy": "happiness",
        "sad": "sadness", "surprised": "surprise"}


def rafd_morphing(root: Path, strength: int = 100) -> list[tuple[Path, Path, str, str]]:
    """``images/Rafd090_NN_…_/``: ``…_neutral.png`` and the expression of each
    ``…_<emotion>_frontal.jpg/`` folder at ``strength`` per cent (``…_100.png`` is the photo,
    25, 50 and 75 are that repository's blends from the neutral)."""
    pairs = []
    for person in sorted((root / "images").glob("Rafd090_*")):
        neutral = next(person.glob("*_neutral.png"))
        pid = person.name.split("_")[1]
        for apex in sorted(person.glob(f"*/*_frontal_{strength}.png")):
            emotion = re.search(r"_([a-z]+)_frontal_\d+\.png$", apex.name).group(1)
            pairs.append((neutral, apex, RAFD[emotion], f"rafd_{pid}"))
    return pairs


def rafd_utrecht(root: Path) -> list[tuple[Path, Path, str, str]]:
    """``stimuli/{F,M}N_{n,f,h}.jpg``: neutral, fearful, happy (``H*.jpg`` are houses)."""
    pairs = []
    for neutral in sorted((root / "stimuli").glob("[FM][0-9]_n.jpg")):
        pid = neutral.name[:2]
        for code, label in (("f", "fear"), ("h", "happiness")):
            apex = neutral.with_name(f"{pid}_{code}.jpg")
            if apex.exists():
                pairs.append((neutral, apex, label, f"rafdu_{pid}"))
    return pairs


def london(root: Path) -> list[tuple[Path, Path, str, str]]:
    """Face Research Lab London Set: ``inst/neutral_front/NNN_03.jpg`` and
    ``inst/smiling_front/NNN_08.jpg`` of the same person."""
    pairs = []
    for neutral in sorted((root / "inst" / "neutral_front").glob("[0-9][0-9][0-9]_03.jpg")):
        pid = neutral.name[:3]
        apex = root / "inst" / "smiling_front" / f"{pid}_08.jpg"
        if apex.exists():
            pairs.append((neutral, apex, "happiness", f"london_{pid}"))
    return pairs


KINDS = {"rafd-morphing": rafd_morphing, "rafd-utrecht": rafd_utrecht, "london": london}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("kind", choices=sorted(KINDS))
    ap.add_argument("root", type=Path, help="the folder the set was extracted to")
    ap.add_argument("out", type=Path, help="pairs CSV to write")
    ap.add_argument("--strength", type=int, choices=(25, 50, 75, 100), default=100,
                    help="rafd-morphing only: the blend from the neutral, per cent")
    a = ap.parse_args()
    if a.strength != 100 and a.kind != "rafd-morphing":
        ap.error("--strength is for rafd-morphing only")
    pairs = (rafd_morphing(a.root, a.strength) if a.kind == "rafd-morphing"
             else KINDS[a.kind](a.root))
    if not pairs:
        raise SystemExit(f"error: no pairs found under {a.root} for {a.kind}")
    base = a.out.resolve().parent
    with open(a.out, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["neutral", "expression", "label", "subject"])
        for n, e, label, subject in pairs:
            w.writerow([os.path.relpath(n.resolve(), base), os.path.relpath(e.resolve(), base),
                        label, subject])
    counts = Counter(label for _n, _e, label, _s in pairs)
    print(f"{a.out}: {len(pairs)} pairs of {len({p[3] for p in pairs})} people",
          ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))


if __name__ == "__main__":
    main()
