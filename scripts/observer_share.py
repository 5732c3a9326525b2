"""How often the Taiwanese database's own observers named the posed emotion of the photos in
a flash-pair folder (``tells eval flashes``' layout, made by ``scripts/devset_tfeid.py``): the
human reference beside the event-emotion figure (docs/DATA.md).

    python scripts/observer_share.py .devdata/flash_dev1 --info .devdata/tfeid/Image_info.xls
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from devset_tfeid import _agreement  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("pairs", type=Path)
    ap.add_argument("--info", type=Path, required=True)
    a = ap.parse_args()
    agreement = _agreement(a.info)
    shares: dict[str, list[float]] = {}
    for item in sorted(a.pairs.glob("*/*")):
        photo = agreement.get(item.name.split("_")[-1])
        if photo is not None and item.parent.name in photo:
            shares.setdefault(item.parent.name, []).append(photo[item.parent.name])
    every = [v for vs in shares.values() for v in vs]
    print(f"{len(every)} rated photos: observers named the posed emotion with a mean share of "
          f"{np.mean(every):.3f}")
    for label, vs in shares.items():
        print(f"  {label:<10} {len(vs):>4}  {np.mean(vs):.3f}")


if __name__ == "__main__":
    main()
