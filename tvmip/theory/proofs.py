"""Certifying constructions against the theorems, and the proofs/ collection.

``certify`` builds a construction (:mod:`tvmip.theory.constructions`), counts it, and
writes a certificate whose claims are the counts plus, when they reach it, the
theorem claim "this (ternary) network has at least B linear regions, B the
bound of the named theorem for the reference architecture (n0, width, depth)".
The checker recomputes B (:mod:`tvmip.checker.bounds`).  Two kinds of evidence:

* ``exact``: the whole search tree (or breakpoints for n0 = 1) with linear-region
  evidence, so every count is exact;
* ``witnesses``: one rational point per distinct affine map (a lower bound on
  linear regions, far smaller for large counts).

``prove`` regenerates the collection from ``proofs/manifest.toml`` and rewrites
``proofs/README.md``, including rows whose construction misses its bound.
"""

from __future__ import annotations

import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path
from typing import Any

from ..certificate import end_line, header_line
from ..checker.rationals import format_rational
from ..checker.verify import check_file
from ..engine.counting import count
from ..engine.listing import regions
from ..errors import InputError, InternalError
from ..files import AtomicFile, atomic_write_text
from ..theory.constructions import KINDS, Construction, construct

EVIDENCE = ("exact", "witnesses")


@dataclass(frozen=True, slots=True)
class Certified:
    """What one certification established."""

    construction: Construction
    path: Path
    evidence: str
    activation_regions: int
    linear_regions: int
    exact: bool
    seconds: float
    size: int = 0
    """Bytes of the certificate, and seconds ``tvmip check`` took on it (None: not
    checked), as :func:`prove` records them."""
    check_seconds: float | None = None

    @property
    def meets_bound(self) -> bool:
        return self.linear_regions >= self.construction.bound.value


def theorem_claim(c: Construction) -> dict[str, Any]:
    """The certificate's theorem claim for a construction."""
    return {"name": c.bound.key, "n0": c.n0, "width": c.width, "depth": c.depth,
            "bound": c.bound.value, "ternary": c.network.ternary}


def certify(kind: str, n0: int, width: int, depth: int, path: str | Path,
            evidence: str = "exact") -> Certified:
    """Build, count and certify one construction (see the module docstring)."""
    if evidence not in EVIDENCE:
        raise InputError(f"unknown evidence {evidence!r} (known: {', '.join(EVIDENCE)})")
    try:
        c = construct(kind, n0, width, depth)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    path = Path(path)
    start = time.perf_counter()
    if evidence == "exact":
        result = count(c.network, certificate=path, linear=True, theorem=theorem_claim(c))
        activation, linear = result.activation_regions, result.linear_regions
        assert linear is not None
        exact = True
    else:
        activation = linear = _write_witnesses(c, path)
        exact = False
    return Certified(c, path, evidence, activation, linear, exact, time.perf_counter() - start)


def _write_witnesses(c: Construction, path: Path) -> int:
    """A ``witnesses`` certificate: the first region (in search order) of every
    distinct affine map; returns how many."""
    seen: set[Any] = set()
    points = []
    for info in regions(c.network, glue=False):
        key = (info.gradient, info.offset)
        if key not in seen:
            seen.add(key)
            points.append(info.witness)
    counts = {name: {"kind": "at_least", "value": len(points)}
              for name in ("activation_regions", "linear_regions", "distinct_maps")}
    claim = theorem_claim(c)
    if len(points) >= claim["bound"]:
        counts["theorem"] = claim
    out = AtomicFile(path)
    try:
        out.write(header_line(c.network, None, "witnesses", list(counts)))
        for point in points:
            out.write(f'{{"x":[{",".join(_json_rational(v) for v in point)}]}}\n')
        out.write(end_line(counts, {}))
    except BaseException:
        out.abort()
        raise
    out.commit()
    return len(points)


def _json_rational(value: Fraction) -> str:
    text = format_rational(value)
    return str(text) if isinstance(text, int) else f'"{text}"'


# -- the collection -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Entry:
    """One line of the manifest."""

    name: str
    kind: str
    n0: int
    width: int
    depth: int
    evidence: str


def read_manifest(path: Path) -> list[Entry]:
    """``[[proof]]`` tables with name, kind, n0, width, depth and evidence."""
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise InputError(f"{path}: {exc}") from None
    entries = []
    for i, item in enumerate(data.get("proof", [])):
        try:
            entry = Entry(str(item["name"]), str(item["kind"]), int(item["n0"]),
                          int(item["width"]), int(item["depth"]),
                          str(item.get("evidence", "exact")))
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(f"{path}: proof {i + 1}: missing or bad field ({exc})") from None
        if entry.kind not in KINDS or entry.evidence not in EVIDENCE:
            raise InputError(f"{path}: proof {entry.name!r}: unknown kind or evidence")
        entries.append(entry)
    if len({e.name for e in entries}) != len(entries):
        raise InputError(f"{path}: duplicate proof names")
    return entries


def prove(directory: str | Path, progress: Callable[[str], None] = lambda line: None) -> list[Certified]:
    """Regenerate every certificate of ``directory/manifest.toml`` and its README."""
    directory = Path(directory)
    done = []
    for entry in read_manifest(directory / "manifest.toml"):
        target = directory / f"{entry.name}.cert.json.gz"
        item = certify(entry.kind, entry.n0, entry.width, entry.depth, target, entry.evidence)
        start = time.perf_counter()
        verdict = check_file(target)
        if not verdict.valid:
            raise InternalError(f"{target}: {verdict.line}")
        item = replace(item, size=target.stat().st_size,
                       check_seconds=time.perf_counter() - start)
        done.append(item)
        progress(_row(item))
    atomic_write_text(directory / "README.md", readme(done))
    return done


def _row(item: Certified) -> str:
    c = item.construction
    bound = c.bound
    ratio = Fraction(item.linear_regions, bound.value)
    widths = ",".join(("" if layer.activation.stateful else "i") + str(layer.width)
                      for layer in c.network.layers)
    status = "met" if item.meets_bound else "**not met**"
    linear = f"{item.linear_regions}" if item.exact else f">= {item.linear_regions}"
    return (f"| [{item.path.name}]({item.path.name}) | {c.kind} | {c.n0} | {c.width} | {c.depth} "
            f"| {widths} | {'yes' if c.network.ternary else 'no'} | {bound.name}: {bound.value} "
            f"| {linear} | {item.activation_regions if item.exact else '-'} "
            f"| {float(ratio):.2f} ({status}) | {item.evidence} | {item.seconds:.1f} s "
            f"| {_size(item.size)} | {item.check_seconds or 0:.1f} s |")


def _size(size: int) -> str:
    return f"{size / 2**20:.1f} MB" if size >= 2**20 else f"{max(size, 1) / 2**10:.0f} KB"


def readme(done: list[Certified]) -> str:
    """proofs/README.md: the table of certified constructions and their recipes."""
    lines = [
        "# Certified constructions",
        "",
        "Generated by `tvmip prove proofs/` from `manifest.toml`; every certificate here is",
        "re-verified by `tvmip check` in CI.  Each row compares a network built by",
        "`tvmip construct` with the reference general ReLU network (n0 inputs, `depth` layers",
        "of `width`): the bound is the strongest proven lower bound on that architecture's",
        "maximal number of linear regions, and the certificate claims the construction has",
        "at least that many linear regions when (and only when) it does.",
        "",
        "*Evidence* `exact`: the full search tree (breakpoints for n0 = 1) with facet",
        "evidence, so the counts are exact.  `witnesses`: one point per distinct affine map,",
        "a lower bound on linear regions (`>=`).  *Widths*: hidden layers, `i` = identity.",
        "*Time* is the generation (count and certificate), *check* the standard-library",
        "checker's verification of the file (`check_file`, in-process): single runs on the",
        "machine that regenerated the table.",
        "",
        ("| certificate | kind | n0 | width | depth | widths | ternary | bound | linear regions "
         "| activation regions | ratio | evidence | time | size | check |"),
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        *(_row(item) for item in done),
        "",
        "## Bounds",
        "",
    ]
    seen = set()
    for item in done:
        bound = item.construction.bound
        if bound.key not in seen:
            seen.add(bound.key)
            lines += [f"- **{bound.name}** (`{bound.key}`): {bound.formula}.  {bound.source}.",
                      f"  Conditions: {bound.conditions.split('; ', 1)[-1]}."]
    lines += ["", "## Recipes", ""]
    for kind in KINDS:
        example = next((item.construction for item in done if item.construction.kind == kind), None)
        if example is not None:
            lines += [f"### {kind}", "", example.recipe, ""]
    return "\n".join(lines)
