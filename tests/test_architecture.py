"""The layout's promises, enforced: the import contracts of pyproject.toml hold.

``lint-imports`` checks that every stage imports only the stages below it
(cli > plot | theory | io > engine > certificate > search > evidence > model >
files | progress > checker | errors) and that the trusted checker imports nothing
but the standard library and itself.  tests/test_tampering.py also runs the
checker with numpy, the solvers and the rest of tvmip blocked.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_import_contracts_are_kept() -> None:
    command = "import sys; from importlinter.cli import lint_imports_command as c; sys.exit(c())"
    proc = subprocess.run([sys.executable, "-c", command], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "0 broken" in proc.stdout
