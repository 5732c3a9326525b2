"""Write a generated flow data set for ``tells research loso`` (same as ``tells research
make-demo``): 450 samples of 68 subjects in 3 datasets by default.

    python scripts/make_flow_dataset.py OUT_DIR [--samples 450] [--seed 0]
    tells research loso --manifest OUT_DIR/manifest.csv -o OUT_DIR/loso
"""

from __future__ import annotations

import sys

from tells.cli.main import main

if __name__ == "__main__":
    args = sys.argv[1:]
    if not args or args[0].startswith("-"):
        print(__doc__)
        sys.exit(2)
    sys.exit(main(["research", "make-demo", "-o", args[0], *args[1:]]))
