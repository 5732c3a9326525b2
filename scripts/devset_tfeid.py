"""Lay out the Taiwanese facial expression photos (see docs/DATA.md) as flash pairs for
``tells eval flashes``: ``OUT/<label>/<item>/neutral.jpg + expression.jpg`` (symlinks).

Each performer's first calm photo is the neutral; front-view expression photos of every
performance type are the expressions (at most ``--per`` per performer and emotion).
``--agree P`` keeps only the expression photos that at least the share P of the database's
observers, and more of them than any other emotion, named as the posed emotion (``Image_info.xls``, read with ``xlrd``): validated
stimuli, as flash tests use.

    python scripts/devset_tfeid.py .devdata/tfeid/faces_256x256 .devdata/flash_tfeid [--per 2]
        [--agree 0.5 --info .devdata/tfeid/Image_info.xls]
"""

from __future__ import annotations

import argparse
import os
from collections import defaultdict
from pathlib import Path

LETTERS = {"b": "happiness", "c": "sadness", "d": "anger", "e": "disgust", "f": "fear",
           "g": "surprise"}


def _agreement(info: Path) -> dict[str, dict[str, float]]:
    """Per photo, the share of observers who named each emotion (columns 6-11)."""
    import xlrd

    sheet = xlrd.open_workbook(str(info)).sheet_by_index(0)
    cats = ["happiness", "sadness", "anger", "disgust", "fear", "surprise"]
    out = {}
    for r in range(2, sheet.nrows):
        try:
            shares = [float(sheet.cell_value(r, c) or 0) for c in range(6, 12)]
        except ValueError:
            continue
        out[str(sheet.cell_value(r, 0)).strip().split(".")[0]] = dict(zip(cats, shares, strict=True))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("faces", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--per", type=int, default=2)
    ap.add_argument("--subjects", default="", help="odd | even | '' (all)")
    ap.add_argument("--agree", type=float, default=0.0)
    ap.add_argument("--info", type=Path)
    a = ap.parse_args()
    agreement = _agreement(a.info) if a.agree > 0 else {}
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
            shares = agreement.get(name, {})
            if a.agree > 0 and (shares.get(LETTERS[letter], 0.0) < a.agree
                                or shares[LETTERS[letter]] < max(shares.values())):
                continue
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
