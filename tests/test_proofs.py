"""The proofs/ collection: every certificate passes `tvmip check`, and the collection
is what its manifest says it is."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

PROOFS = Path(__file__).resolve().parent.parent / "proofs"
MANIFEST = tomllib.loads((PROOFS / "manifest.toml").read_text())["proof"]
CERTIFICATES = sorted(PROOFS.glob("*.cert.json.gz"))


def test_every_manifest_entry_has_its_certificate_and_nothing_else_is_there() -> None:
    assert {f"{entry['name']}.cert.json.gz" for entry in MANIFEST} == \
        {path.name for path in CERTIFICATES}


def test_the_collection_covers_three_input_dimensions_and_large_counts() -> None:
    assert {entry["n0"] for entry in MANIFEST} >= {1, 2, 3}
    readme = (PROOFS / "README.md").read_text()
    assert "10000 |" in readme or "100000 |" in readme


LARGE = 2 << 20  # bytes: the two largest certificates take 25-30 s each; .ci/run runs them


@pytest.mark.parametrize("path", [
    pytest.param(p, marks=pytest.mark.slow) if p.stat().st_size > LARGE else p
    for p in CERTIFICATES], ids=lambda p: p.name.split(".")[0])
def test_certificate_is_valid(path: Path) -> None:
    """`tvmip check` (the CLI, in a fresh process) accepts the certificate, and a
    certificate whose README row says the bound is met carries the theorem claim."""
    proc = subprocess.run([sys.executable, "-m", "tvmip.cli", "check", str(path)],
                          capture_output=True, text=True, check=False, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.startswith("VALID: ")
    row = next(line for line in (PROOFS / "README.md").read_text().splitlines()
               if f"[{path.name}]" in line)
    assert ("(met)" in row) == ("meets" in proc.stdout)
