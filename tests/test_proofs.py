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


def rows() -> dict[str, list[str]]:
    """proofs/README.md's table, by certificate file name: the cells of each row."""
    out = {}
    for line in (PROOFS / "README.md").read_text().splitlines():
        if line.startswith("| [") and ".cert.json.gz]" in line:
            cells = [c.strip() for c in line.strip("|").split("|")]
            out[cells[0][1:cells[0].index("]")]] = cells
    return out


def test_the_collection_reaches_the_papers_scale() -> None:
    """Exact certificates of >= 10^6 pieces for n0 = 1 and >= 10^5 linear regions for
    n0 = 2 and 3 (columns: n0 is the 3rd, linear regions the 9th, evidence the 12th)."""
    largest = {}
    for cells in rows().values():
        if cells[11] == "exact":
            n0 = int(cells[2])
            largest[n0] = max(largest.get(n0, 0), int(cells[8]))
    assert largest[1] >= 10**6 and largest[2] >= 10**5 and largest[3] >= 10**5, largest


LARGE = 2 << 20  # bytes: the largest certificates take 30-70 s each; .ci/run runs them


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
    cells = rows()[path.name]
    assert ("(met)" in cells[10]) == ("meets" in proc.stdout)
    if cells[11] == "exact":  # the table's counts are the verified ones
        assert f"{cells[9]} activation regions, {cells[8]} linear regions" in proc.stdout
