"""Lay out the Taiwanese facial expression photos (see docs/DATA.md) as flash pairs for
``tells eval flashes``: ``OUT/<label>/<item>/neutral.jpg + expression.jpg`` (symlinks).

Each performer's first calm photo is the neutral; front-view expression photos of every
performance type are the expressions (at most ``--per`` per performer and emotion).

    python scripts/devset_tfeid.py .devdata/tfeid/faces_256x256 .devdata/flash_tfeid [--per 2]
"""

from __future__ import annotations

import argparse
import os
from collections import defaultdict
from pathlib import Path

LETTERS = {"b": "happiness", "c": "sadness", "d": "anger", "e": "disgust", "f": "fear",
           "g": "surprise"}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("faces", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--per", type=int, default=2)
    ap.add_argument("--subjects", default="", help="odd | even | '' (all)")
    a = ap.parse_args()
    neutral: dict[str, Path] = {}
    expr: dict[tuple[str, str], list[Path]] = defaultdict(list)
    for f in sorted(a.faces.glob("*.jpg")):
        name = f.stem  # PPTVLNN: performer, performance type, view, letter, serial
        if len(name) != 7 or name[3] != "1" and name[4] != "a":
            continue
        who, letter = name[:2], name[4]
        if a.subjects == "odd" and int(who) % 2 == 0 or a.subjects == "even" and int(who) % 2:
            continue
        if letter == "a":
            neutral.setdefault(who, f)
        elif letter in LETTERS and name[3] == "1":
            expr[(who, LETTERS[letter])].append(f)
    n = 0
    for (who, label), files in sorted(expr.items()):
        if who not in neutral:
            continue
        by_type: dict[str, list[Path]] = defaultdict(list)
        for f in files:
            by_type[f.stem[2]].append(f)
        picked = [fs[0] for _, fs in sorted(by_type.items())][: a.per]
        for f in picked:
            d = a.out / label / f"{who}_{f.stem}"
            d.mkdir(parents=True, exist_ok=True)
            for link, target in (("neutral.jpg", neutral[who]), ("expression.jpg", f)):
                p = d / link
                if p.is_symlink() or p.exists():
                    p.unlink()
                os.symlink(target.resolve(), p)
            n += 1
    print(f"{n} pairs from {len(neutral)} performers in {a.out}")


if __name__ == "__main__":
    main()
