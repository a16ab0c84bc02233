"""Regenerate docs/sparsity.png and docs/sparsity.csv: the sparsity study of README's
"Training" section (about two minutes on two cores).

    python bench/sparsity_study.py [extra tvmip study options]
"""

from __future__ import annotations

import sys
from pathlib import Path

from tvmip.cli import main

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = ["study", "sparsity", "--data", "peaks", "--widths", "8,8",
            "--alphas", "0.1,0.3,0.5,0.7,0.9,1.1,1.3", "--seeds", "0,1,2",
            "--epochs", "1500", "-o", str(ROOT / "docs" / "sparsity.png")]

if __name__ == "__main__":
    main([*SETTINGS, *sys.argv[1:]])
