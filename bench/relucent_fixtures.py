"""Race tvmip against relucent on relucent's own trained test networks.

Why: bench/relucent_race.py races relucent on tvmip's networks (random, ternary,
degenerate).  These are the other side's home ground: the small trained
networks that relucent ships in its repository (bench/relucent_fixtures/, with
where each comes from in its README.md), converted exactly to tvmip files.

For each fixture (or only those named with --only):

* tvmip: ``tvmip count FIXTURE -c CERT.json.gz -q --json --workers W`` timed as a
  whole process (interpreter start and the certificate included), then
  ``tvmip check CERT`` timed the same way;
* relucent: ``relucent_race.race`` (a child process, float64 ``ReLUNetwork``,
  ``Complex.bfs(start, nworkers=1, verify=True)``, as relucent's integration tests
  do apart from their seeded torch.randn start point; its ``geometry_properties``
  ["finite"] is computed in any case); relucent s is the ``bfs()`` call alone.
  ``race`` also counts in-process with tvmip and, up to 20,000 regions, compares
  the two sets of sign patterns.

It prints a markdown table.  "agree": the counts of ``tvmip count``, of race's
tvmip and of relucent are equal, the certificate checks, and the sign patterns
match where compared.  "relucent manifest" is the count in relucent's
``tests/integration/fixtures/manifest.json``.  Run with the python of an
environment that has tvmip and relucent (gurobipy), e.g. one made with
``pip install -e ".[bench]" relucent torch==2.13.0`` (bench/RELUCENT.md)::

    python bench/relucent_fixtures.py [--only NAME ...] [--workers W]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
FIXTURES = BENCH / "relucent_fixtures"
sys.path.insert(0, str(BENCH))
from relucent_race import race


def tvmip_command() -> list[str]:
    """The ``tvmip`` entry point of this interpreter's environment."""
    exe = Path(sys.executable).with_name("tvmip")
    if exe.exists():
        return [str(exe)]
    found = shutil.which("tvmip")
    return [found] if found else [sys.executable, "-c", "from tvmip.cli import main; main()"]


def timed(cmd: list[str], timeout: float) -> tuple[subprocess.CompletedProcess[str], float]:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=timeout)
    return proc, time.perf_counter() - t0


def run_fixture(path: Path, cert_dir: Path, *, workers: int, nworkers: int, box: str | None,
                time_limit: float) -> dict[str, Any]:
    net = json.loads(path.read_text())
    row: dict[str, Any] = {
        "fixture": path.stem, "n0": net["input_dim"],
        "widths": [len(layer["biases"]) for layer in net["layers"]],
        # relucent's recorded count is for all of R^n0
        "manifest": None if box else (net.get("source") or {}).get("relucent_expected_regions"),
    }
    cert = cert_dir / f"{path.stem}.cert.json.gz"
    box_args = ["--box", box] if box else []
    proc, row["tvmip_seconds"] = timed(
        tvmip_command() + ["count", str(path), *box_args, "-c", str(cert), "-q", "--json",
                           "--workers", str(workers), "--time-limit", str(time_limit)],
        timeout=time_limit + 60)
    if proc.returncode != 0:
        raise RuntimeError(f"tvmip count failed on {path.name}: {proc.stderr.strip()}")
    result = json.loads(proc.stdout)
    row["tvmip_regions"], row["tvmip_exact"] = result["activation_regions"], result["claim"] == "exact"
    proc, row["check_seconds"] = timed(tvmip_command() + ["check", str(cert)], timeout=time_limit + 60)
    row["check"] = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else proc.stderr.strip()
    row["check_valid"] = proc.returncode == 0 and row["check"].startswith("VALID")
    r = race(path, box, time_limit, nworkers=nworkers)
    row.update(relucent_regions=r["relucent_regions"], relucent_seconds=r.get("relucent_seconds"),
               relucent_error=r.get("error"), patterns_match=r.get("patterns_match"))
    row["agree"] = bool(row["tvmip_exact"] and row["check_valid"] and r["agree"]
                        and r["tvmip_regions"] == row["tvmip_regions"] == r["relucent_regions"])
    return row


HEADER = ("| fixture | n0 | widths | tvmip regions | tvmip s (count+cert) | check s | "
          "relucent regions | relucent s | relucent/tvmip | agree | relucent manifest | note |\n"
          "|---|---|---|---|---|---|---|---|---|---|---|---|")


def markdown_row(r: dict[str, Any]) -> str:
    rel_s = r["relucent_seconds"]
    ratio = f"{rel_s / r['tvmip_seconds']:.1f}" if rel_s and r["relucent_regions"] is not None else "—"
    note = "; ".join(x for x in (
        r["relucent_error"] and str(r["relucent_error"]).replace("|", "/")[:80],
        None if r["check_valid"] else f"check: {r['check'][:60]}",
        None if r["patterns_match"] is None else f"patterns match: {r['patterns_match']}",
    ) if x)
    return (f"| {r['fixture']} | {r['n0']} | {','.join(map(str, r['widths']))} | "
            f"{'' if r['tvmip_exact'] else '>= '}{r['tvmip_regions']} | {r['tvmip_seconds']:.2f} | "
            f"{r['check_seconds']:.2f} | {r['relucent_regions'] if r['relucent_regions'] is not None else '—'} | "
            f"{f'{rel_s:.2f}' if rel_s is not None else '—'} | {ratio} | "
            f"{'yes' if r['agree'] else '**no**'} | {r['manifest'] if r['manifest'] is not None else '—'} | "
            f"{note} |")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", action="append", metavar="NAME",
                    help="fixture name (file stem in bench/relucent_fixtures/); repeatable")
    ap.add_argument("--workers", type=int, default=1, help="tvmip count --workers (default 1)")
    ap.add_argument("--nworkers", type=int, default=1, help="relucent bfs nworkers (default 1)")
    ap.add_argument("--box", help="only the open box LO,HI, e.g. --box=-1,1 (quick tests; relucent: its cube)")
    ap.add_argument("--time-limit", type=float, default=3600.0, help="seconds, for each tool")
    ap.add_argument("--cert-dir", help="keep the certificates here (default: a temporary directory)")
    ap.add_argument("--json", action="store_true", help="also print each row's fields as JSON")
    args = ap.parse_args(argv)
    paths = sorted(FIXTURES.glob("*.json"))
    if args.only:
        paths = [p for p in paths if p.stem in args.only]
        missing = set(args.only) - {p.stem for p in paths}
        if missing:
            ap.error(f"no such fixture: {', '.join(sorted(missing))}")
    with tempfile.TemporaryDirectory(prefix="relucent-fixtures-") as tmp:
        cert_dir = Path(args.cert_dir or tmp)
        cert_dir.mkdir(parents=True, exist_ok=True)
        print(HEADER, flush=True)
        for path in paths:
            row = run_fixture(path, cert_dir, workers=args.workers, nworkers=args.nworkers,
                              box=args.box, time_limit=args.time_limit)
            print(markdown_row(row), flush=True)
            if args.json:
                print(json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
