"""Semantic mutation fuzzing of the trusted checker, judged by independent counts.

tests/test_fuzz_checker.py throws random damage at certificates and asks for one
verdict line; a damaged file whose claims still read the honest counts is then
rejected by the claim comparison alone.  A forger does better: he edits the
*evidence* so that it establishes a different count, and rewrites the claims to
match.  This module does the same, so that only the evidence checks stand between
a forgery and VALID:

1. **Honest bases** (:func:`bases`): every network of ``instances/`` with at most
   :data:`MAX_REGIONS` activation regions, counted with ``tvmip.count(...,
   linear=True)`` by the tree engine (region, empty-branch, look-ahead, facet and
   no-facet records) and, for n0 = 1, by the breakpoint engine.  Only the public
   API (``import tvmip``) is used.
2. **Semantic mutations** (:data:`KINDS`), aware of the geometry (each region's
   exact neuron maps, recomputed here with :mod:`oracles`' reader): facet records
   retargeted to another neuron (preferably one with a parallel or coincident
   hyperplane) or region, given another neighbour, their point moved onto a
   parallel hyperplane, along the hyperplane, to a vertex or to where a third
   neuron vanishes, points or whole evidence borrowed from another facet record;
   no-facet records retargeted, with multipliers, ``mu`` or row ids changed;
   records dropped, duplicated, swapped, or turned into the other kind; tree
   patterns, witnesses, look-aheads, Motzkin multipliers and row ids (box faces
   included) changed; breakpoints moved, intervals merged, split, re-labelled.
3. **Claim fixing** (:func:`check_fixed`): when the checker's only objection is
   that a claim differs from what the evidence establishes, the claim is
   rewritten to that value (up to :data:`FIX_ROUNDS` times); a lower bound is
   relabelled ``at_least`` and a claim without evidence dropped.  Then claims
   are also set to the true count plus/minus one, or relabelled ``at_least``
   (:func:`claim_variants`): :data:`VARIANTS` of them when the evidence is
   accepted, one in a sample when it is rejected (the claims should not matter).
4. **Oracle comparison** (:func:`unsound`): a VALID verdict's exact counts must
   equal the independent counts of ``instances/expected.json`` (or of the
   separable-network oracle), an ``at_least`` count must not exceed them.
   Where no independent count exists, the honest certificate's VALID count is
   the reference: two VALID exact certificates with different counts for one
   network and domain mean the checker accepted a false one.

Tests: :func:`test_facet_evidence_moved_to_a_parallel_hyperplane` replays the
review's forgery exhaustively (every record of a glue edge moved to a parallel
hyperplane of its region: an edge is written from both sides, so forging one
record is not enough); :func:`test_linear_evidence_property` draws facet and
no-facet mutations with hypothesis (derandomized, shrinking);
:func:`test_seeded_mutations` runs every kind for volume.  Cases are deterministic
(one seed per case); the seeded loop stops generating when the module's
wall-clock budget (:data:`MODULE_SECONDS`) is spent, after at least
:data:`MIN_PER_KIND` cases of every kind.  ``pytest -s`` prints the outcome
tallies per kind and every soundness failure with its mutation.
"""

from __future__ import annotations

import copy
import functools
import itertools
import json
import math
import random
import re
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import oracles as O
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from records import in_region_order

import tvmip

INSTANCES = Path(__file__).resolve().parent.parent / "instances"
MANIFEST: list[dict[str, Any]] = json.loads((INSTANCES / "expected.json").read_text())
COUNTS = ("activation_regions", "linear_regions", "distinct_maps")
WORDS = {"activation regions": "activation_regions", "linear regions": "linear_regions",
         "distinct affine maps": "distinct_maps"}

MAX_REGIONS = 200  # larger instances take over ~1 s to count (and their mutants to check)
MODULE_SECONDS = 55.0  # wall-clock budget of the module (the seeded loop stops there)
SEED = 20250716
CASES = 20_000  # seeded cases at most (the budget usually ends the loop first)
MIN_PER_KIND = 8  # seeded cases of every kind, whatever the budget
HYPOTHESIS_EXAMPLES = 300
FIX_ROUNDS = 3
VARIANTS = 2  # claim variants checked per mutant whose evidence is accepted
REJECTED_VARIANT = 4  # one in this many mutants with rejected evidence checks one variant
SHOWN_FAILURES = 12

Affine = tuple[Fraction, ...]  # gradient, then constant
Record = dict[str, Any]
Point = list[Fraction]

# --------------------------------------------------------------------------------------
# Exact geometry of a region (independent of tvmip: oracles.py's reader, Fractions)
# --------------------------------------------------------------------------------------


def region_maps(net: O.Net, pattern: str) -> tuple[list[Affine], tuple[Affine, ...]]:
    """Pre-activation maps of every ReLU neuron and the output maps on ``pattern``'s
    region; states missing from a short pattern read as '+' (later layers only)."""
    dim = net.input_dim
    pattern = pattern.ljust(net.relu_count, "+")
    inputs: list[Affine] = [tuple(Fraction(int(i == k)) for k in range(dim + 1))
                            for i in range(dim)]
    zero = (Fraction(0),) * (dim + 1)
    maps: list[Affine] = []
    for layer in net.layers:
        pre = affine_layer(layer, inputs, dim)
        if layer.activation == O.IDENTITY:
            inputs = pre
            continue
        start = len(maps)
        maps.extend(pre)
        inputs = [m if pattern[start + j] == "+" else zero for j, m in enumerate(pre)]
    return maps, tuple(affine_layer(net.output, inputs, dim))


def neuron_maps(net: O.Net, pattern: str) -> list[Affine]:
    return region_maps(net, pattern)[0]


def affine_layer(layer: O.Layer, inputs: Sequence[Affine], dim: int) -> list[Affine]:
    """``W z + b`` for inputs ``z`` that are affine maps of x."""
    out = []
    for row, bias in zip(layer.weights, layer.biases):
        acc = [Fraction(0)] * (dim + 1)
        for w, m in zip(row, inputs):
            if w:
                acc = [a + w * v for a, v in zip(acc, m)]
        acc[dim] += bias
        out.append(tuple(acc))
    return out


def at(m: Affine, x: Sequence[Fraction]) -> Fraction:
    return sum((g * v for g, v in zip(m, x)), m[-1])


def proportional(a: Sequence[Fraction], b: Sequence[Fraction]) -> bool:
    """``a`` and ``b`` are nonzero multiples of each other (either sign)."""
    if not any(a) or not any(b):
        return False
    return all(a[i] * b[j] == a[j] * b[i] for i in range(len(a)) for j in range(i + 1, len(a)))


def parallel(a: Affine, b: Affine) -> bool:
    """Parallel hyperplanes (coincident ones included)."""
    return proportional(a[:-1], b[:-1])


def coincident(a: Affine, b: Affine) -> bool:
    return parallel(a, b) and proportional(a, b)


def project(x: Point, m: Affine) -> Point:
    """The orthogonal projection of ``x`` onto the hyperplane ``m = 0``."""
    g = m[:-1]
    t = at(m, x) / sum(v * v for v in g)
    return [v - t * gi for v, gi in zip(x, g)]


def in_plane_directions(m: Affine) -> list[Point]:
    """Nonzero directions ``d`` with ``grad(m) . d = 0``."""
    g = m[:-1]
    dim = len(g)
    out = []
    for i, j in itertools.combinations(range(dim), 2):
        if g[i] or g[j]:
            d = [Fraction(0)] * dim
            d[i], d[j] = g[j], -g[i]
            out.append(d)
    return out


def solve(rows: Sequence[Affine]) -> Point | None:
    """The point where the ``len(x)`` affine maps all vanish, or None if singular."""
    dim = len(rows)
    matrix = [[*row[:-1], -row[-1]] for row in rows]
    for col in range(dim):
        pivot = next((r for r in range(col, dim) if matrix[r][col]), None)
        if pivot is None:
            return None
        matrix[col], matrix[pivot] = matrix[pivot], matrix[col]
        for r in range(dim):
            if r != col and matrix[r][col]:
                factor = matrix[r][col] / matrix[col][col]
                matrix[r] = [a - factor * b for a, b in zip(matrix[r], matrix[col])]
    return [matrix[i][-1] / matrix[i][i] for i in range(dim)]


def read_point(value: Sequence[Any]) -> Point:
    return [Fraction(v) for v in value]


def write_point(point: Sequence[Fraction]) -> list[int | str]:
    return [O.fmt(v) for v in point]


# --------------------------------------------------------------------------------------
# Independent reference counts
# --------------------------------------------------------------------------------------


def separable_counts(net: O.Net, box: tuple[Point, Point] | None) -> dict[str, int] | None:
    """All three counts of a network whose every neuron reads one input coordinate:
    its regions are products of the blocks' 1-D pieces (:func:`oracles.breakpoints_1d`),
    f is a sum of one function per coordinate, so two product cells sharing a facet
    differ in one coordinate only and are glued when that block's maps agree: linear
    regions are the product of the blocks' counts.  Maps are compared per cell (the
    constants a block copies only shift every offset alike)."""
    blocks = O.separable_blocks(net)
    if blocks is None:
        return None
    pieces = [O.breakpoints_1d(block, *((None, None) if box is None else (box[0][k], box[1][k])))
              for k, block in enumerate(blocks)]
    linear = math.prod(1 + sum(a.output_map != b.output_map for a, b in itertools.pairwise(p))
                       for p in pieces)
    outputs = len(net.output.biases)
    maps = {tuple((tuple(c.slope[o] for c in cell), sum(c.offset[o] for c in cell))
                  for o in range(outputs)) for cell in itertools.product(*pieces)}
    return {"activation_regions": math.prod(map(len, pieces)), "linear_regions": linear,
            "distinct_maps": len(maps)}


def references(entry: dict[str, Any], net: O.Net, box: tuple[Point, Point] | None,
               honest: dict[str, int]) -> tuple[dict[str, int], dict[str, str]]:
    """The count each claim is compared with, and where it comes from: expected.json,
    else the separable oracle, else (named as such) the honest certificate."""
    values: dict[str, int] = {}
    sources: dict[str, str] = {}
    separable = None
    for name in COUNTS:
        if entry.get(name) is not None:
            values[name], sources[name] = entry[name], "expected.json"
            continue
        if separable is None:
            separable = separable_counts(net, box) or {}
            if separable:
                assert separable["activation_regions"] == entry["activation_regions"], entry
        if name in separable:
            values[name], sources[name] = separable[name], "separable oracle"
        elif name in honest:
            values[name], sources[name] = honest[name], "honest certificate (not independent)"
    return values, sources


# --------------------------------------------------------------------------------------
# Honest bases
# --------------------------------------------------------------------------------------


class Base:
    """An honest certificate, parsed, with its network's geometry and references.
    (A plain class, not a dataclass: hypothesis prints the fixtures of a failing
    example, and a dataclass in full.)"""

    def __init__(self, name: str, lines: Sequence[Record], net: O.Net,
                 box: tuple[Point, Point] | None, reference: dict[str, int],
                 sources: dict[str, str], verdict: tvmip.Verdict) -> None:
        self.name = name
        self.header, self.records, self.end = lines[0], list(lines[1:-1]), lines[-1]
        self.net = net
        self.box = box
        self.reference = reference  # claim -> the count it is compared with
        self.sources = sources  # claim -> where that count comes from
        self.verdict = verdict  # the honest certificate's
        self.patterns = [r["r"] for r in self.records if "r" in r]  # regions, in order
        self.witnesses = [read_point(r["x"]) for r in self.records if "r" in r]
        self.pools: tuple[list[int], ...] | None = None  # facet_pools, once
        self._maps: dict[int, tuple[list[Affine], tuple[Affine, ...]]] = {}

    def __repr__(self) -> str:
        return f"<base {self.name}>"

    @property
    def kind(self) -> str:
        return self.header["kind"]

    @property
    def dim(self) -> int:
        return self.net.input_dim

    @property
    def length(self) -> int:
        return self.net.relu_count

    def _region(self, region: int) -> tuple[list[Affine], tuple[Affine, ...]]:
        if region not in self._maps:
            self._maps[region] = region_maps(self.net, self.patterns[region])
        return self._maps[region]

    def maps(self, region: int) -> list[Affine]:
        """Neuron maps on the honest base's region ``region``."""
        return self._region(region)[0]

    def output(self, region: int) -> tuple[Affine, ...]:
        """Output maps on the honest base's region ``region``."""
        return self._region(region)[1]

    def planes(self, region: int) -> list[int]:
        """Neurons that define a hyperplane on the region (strict state, nonzero gradient)."""
        pattern = self.patterns[region]
        return [k for k, m in enumerate(self.maps(region)) if pattern[k] != "0" and any(m[:-1])]

    def region_count(self) -> int:
        return len(self.patterns)

    def faces(self) -> list[str]:
        """Box-face row ids, plus one that names no face."""
        return [f"{side}{i}" for side in ("lo", "hi") for i in range(self.dim)] + [
            f"hi{self.dim}"]

    def fresh_records(self) -> list[Record]:
        """A private copy of the records to mutate (a JSON round trip: fast)."""
        return json.loads(json.dumps(self.records))

    def text(self, records: Sequence[Record], end: Record) -> str:
        """The certificate with these records (the facet evidence in region order, see
        :mod:`records`) and end record, as JSON Lines."""
        return "".join(json.dumps(obj, separators=(",", ":")) + "\n"
                       for obj in (self.header, *in_region_order(list(records)), end))


def _domain_text(domain: dict[str, Any] | None) -> str | None:
    return None if domain is None else ",".join(str(v) for v in (*domain["lo"], *domain["hi"]))


def _box(domain: dict[str, Any] | None) -> tuple[Point, Point] | None:
    return None if domain is None else (read_point(domain["lo"]), read_point(domain["hi"]))


def _produce(entry: dict[str, Any], engine: str, directory: Path) -> Base:
    """Count one instance with the public API, write and read back its certificate."""
    net = tvmip.load_network(INSTANCES / entry["network"])
    domain = _domain_text(entry["domain"])
    box = None if domain is None else tvmip.parse_box(domain, net.input_dim)
    path = directory / f"{entry['network']}.{engine}.cert.jsonl"
    tvmip.count(net, box, linear=True, engine=engine, certificate=path)
    verdict = tvmip.check(path)
    lines = [json.loads(text) for text in path.read_text().splitlines()]
    onet = O.load(lines[0]["network"])
    honest = {name: value for name, value, _ in verdict.counts}
    reference, sources = references(entry, onet, _box(entry["domain"]), honest)
    name = f"{entry['network'].removesuffix('.json')}/{engine}"
    return Base(name, lines, onet, _box(entry["domain"]), reference, sources, verdict)


def _entries() -> list[dict[str, Any]]:
    return [e for e in MANIFEST if e["activation_regions"] <= MAX_REGIONS]


@pytest.fixture(scope="module")
def clock() -> float:
    """When the module started: the seeded loop's budget runs from here."""
    return time.monotonic()


@pytest.fixture(scope="module")
def all_bases(clock: float, tmp_path_factory: pytest.TempPathFactory) -> list[Base]:
    """Every honest base: each instance by the tree engine, and for n0 = 1 also by the
    breakpoint engine."""
    directory = tmp_path_factory.mktemp("mutation-bases")
    out = []
    for entry in _entries():
        with open(INSTANCES / entry["network"]) as handle:
            dim = json.load(handle)["input_dim"]
        for engine in ("tree", "breakpoints") if dim == 1 else ("tree",):
            out.append(_produce(entry, engine, directory))
    return out


@pytest.fixture(scope="module")
def bases(all_bases: list[Base]) -> list[Base]:
    """The honest bases the checker accepts (the others fail test_honest_bases)."""
    return [b for b in all_bases if b.verdict.valid]


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("mutants") / "mutant.cert.jsonl"


# --------------------------------------------------------------------------------------
# Random choices, from a seeded generator or from hypothesis
# --------------------------------------------------------------------------------------


class Pick:
    """Random choices drawn from a seeded :class:`random.Random` (volume) or from
    hypothesis data (shrinkable)."""

    def __init__(self, integer: Callable[[int, int], int]) -> None:
        self._integer = integer

    @classmethod
    def seeded(cls, rng: random.Random) -> Pick:
        return cls(rng.randint)

    @classmethod
    def drawing(cls, data: st.DataObject) -> Pick:
        return cls(lambda lo, hi: data.draw(st.integers(lo, hi)))

    def integer(self, lo: int, hi: int) -> int:
        return lo if hi <= lo else self._integer(lo, hi)

    def chance(self, out_of: int) -> bool:
        """True with probability 1 / out_of (False is where hypothesis shrinks to)."""
        return self.integer(1, out_of) == out_of

    def choice(self, items: Sequence[Any]) -> Any:
        assert items, "nothing to choose from"
        return items[self.integer(0, len(items) - 1)]

    def prefer(self, preferred: Sequence[Any], others: Sequence[Any]) -> Any | None:
        """Usually one of ``preferred`` (when there are any), else one of ``others``."""
        if preferred and (not others or not self.chance(4)):
            return self.choice(preferred)
        return self.choice(others) if others else None


SMALL = (Fraction(1, 1000), Fraction(-1, 1000), Fraction(1, 7), Fraction(-1, 3), Fraction(1),
         Fraction(-2), Fraction(10), Fraction(-1000))
FACTORS = (Fraction(0), Fraction(2), Fraction(1, 2), Fraction(-1), Fraction(3, 2),
           Fraction(1_000_001, 1_000_000))


# --------------------------------------------------------------------------------------
# Mutations: each edits a copy of the records in place and says what it did (None when
# it does not apply)
# --------------------------------------------------------------------------------------

Mutation = Callable[[Base, list[Record], Pick], str | None]


def is_facet(r: Record) -> bool:
    return "f" in r and "n" in r


def is_nofacet(r: Record) -> bool:
    return "nf" in r


def is_linear(r: Record) -> bool:
    return is_facet(r) or is_nofacet(r)


def is_region(r: Record) -> bool:
    return "r" in r


def is_lookahead(r: Record) -> bool:
    return "e" in r and "*" in r["e"]


def is_empty(r: Record) -> bool:
    return "e" in r and "*" not in r["e"]


def is_tree(r: Record) -> bool:
    return "r" in r or "e" in r or "o" in r


def is_interval(r: Record) -> bool:
    return "s" in r


def is_breakpoint(r: Record) -> bool:
    return "b" in r


def where(records: Sequence[Record], kind: Callable[[Record], bool]) -> list[int]:
    return [i for i, r in enumerate(records) if kind(r)]


def line(i: int) -> str:
    """Record index -> line number in the file (the header is line 1)."""
    return f"line {i + 2}"


FacetOp = Callable[..., str | None]  # (base, records, pick, record index) -> description


def _related(base: Base, region: int, k: int, coincident_too: bool = True) -> list[int]:
    """Other neurons of the region whose hyperplane is parallel to neuron k's."""
    maps = base.maps(region)
    return [j for j in base.planes(region) if j != k and parallel(maps[j], maps[k])
            and (coincident_too or not coincident(maps[j], maps[k]))]


def _same_map(base: Base, region: int) -> list[int]:
    """The other regions with the region's output map."""
    return [s for s in range(base.region_count())
            if s != region and base.output(s) == base.output(region)]


def _facet(base: Base, records: list[Record], i: int) -> tuple[int, int, Any] | None:
    """Region, neuron and neighbour of facet record i, if it names an honest region."""
    region, k = records[i]["f"]
    if not (isinstance(region, int) and 0 <= region < base.region_count()
            and isinstance(k, int) and 0 <= k < base.length):
        return None
    return region, k, records[i]["n"]


def retarget_neuron(base: Base, records: list[Record], pick: Pick, i: int) -> str | None:
    """[r, k] -> [r, k'], k' preferably parallel or coincident to k."""
    if (facet := _facet(base, records, i)) is None:
        return None
    region, k, _ = facet
    others = [j for j in base.planes(region) if j != k] or \
        [j for j in range(base.length) if j != k]
    new = pick.prefer(_related(base, region, k), others)
    records[i]["f"] = [region, new]
    return f"{line(i)}: facet [{region}, {k}] retargeted to neuron {new}"


def retarget_region(base: Base, records: list[Record], pick: Pick, i: int) -> str | None:
    """[r, k] -> [r', k]: r' preferably a region with r's output map, or the neighbour."""
    if (facet := _facet(base, records, i)) is None:
        return None
    region, k, n = facet
    new = pick.prefer([*_same_map(base, region), n],
                      [s for s in range(base.region_count()) if s != region])
    if new is None:
        return None
    if k not in base.planes(new) and base.planes(new) and pick.chance(2):
        k = pick.choice(base.planes(new))
    records[i]["f"] = [new, k]
    return f"{line(i)}: facet [{region}, ...] moved to region {new}, neuron {k}"


def reverse(base: Base, records: list[Record], pick: Pick, i: int) -> str | None:
    """[r, k] with neighbour m -> [m, k] with neighbour r (the facet seen from m)."""
    if (facet := _facet(base, records, i)) is None:
        return None
    region, k, n = facet
    records[i]["f"], records[i]["n"] = [n, k], region
    return f"{line(i)}: facet [{region}, {k}] -> [{n}, {k}] with neighbour {region}"


def neighbour(base: Base, records: list[Record], pick: Pick, i: int) -> str | None:
    """Neighbour m -> another region, preferably one with r's map or r's neighbour
    across another hyperplane."""
    if (facet := _facet(base, records, i)) is None:
        return None
    region, _, n = facet
    across = {r["n"] for r in records if is_facet(r) and r["f"][0] == region}
    preferred = sorted((across | set(_same_map(base, region))) - {region, n})
    new = pick.prefer(preferred, [s for s in range(base.region_count()) if s not in (region, n)])
    if new is None:
        return None
    records[i]["n"] = new
    return f"{line(i)}: facet [{region}, ...] neighbour {n} -> {new}"


def point_parallel(base: Base, records: list[Record], pick: Pick, i: int) -> str | None:
    """x projected onto a parallel (else any other) hyperplane of the region."""
    if (facet := _facet(base, records, i)) is None:
        return None
    region, k, _ = facet
    j = pick.prefer(_related(base, region, k, coincident_too=False),
                    [j for j in base.planes(region) if j != k])
    if j is None:
        return None
    records[i]["x"] = write_point(project(read_point(records[i]["x"]), base.maps(region)[j]))
    return f"{line(i)}: facet [{region}, {k}] point projected onto neuron {j}'s hyperplane"


def borrow(base: Base, records: list[Record], pick: Pick, i: int,
           what: str | None = None) -> str | None:
    """Point and/or neighbour (``what``: "x", "n" or "xn", else drawn) copied from
    another facet record of the region, preferably one on a parallel, distinct
    hyperplane (the review's forgery)."""
    if (facet := _facet(base, records, i)) is None:
        return None
    region, k, _ = facet
    maps = base.maps(region)
    same = [j for j in where(records, is_facet)
            if j != i and records[j]["f"][0] == region and _facet(base, records, j) is not None]
    if not same:
        return None
    par = [j for j in same if parallel(maps[records[j]["f"][1]], maps[k])
           and not coincident(maps[records[j]["f"][1]], maps[k])]
    j = pick.prefer(par, same)
    what = what or pick.choice(("xn", "xn", "xn", "x", "n"))
    for key in what:
        records[i][key] = copy.deepcopy(records[j][key])
    return (f"{line(i)}: facet [{region}, {k}] takes {what!r} of {line(j)} "
            f"(facet {records[j]['f']}, x {records[j]['x']}, neighbour {records[j]['n']})")


def point_along(base: Base, records: list[Record], pick: Pick, i: int) -> str | None:
    """x moved along the facet's hyperplane (into another facet, off the region...)."""
    if (facet := _facet(base, records, i)) is None:
        return None
    region, k, _ = facet
    directions = in_plane_directions(base.maps(region)[k])
    if not directions:
        return None
    d, t = pick.choice(directions), pick.choice(SMALL)
    x = read_point(records[i]["x"])
    records[i]["x"] = write_point([v + t * dv for v, dv in zip(x, d)])
    return f"{line(i)}: facet [{region}, {k}] point moved by {t} * {write_point(d)}"


def point_third(base: Base, records: list[Record], pick: Pick, i: int) -> str | None:
    """x moved along the hyperplane to where a third neuron (of r or of its neighbour)
    vanishes: a ridge of the facet, or a point of another facet."""
    if (facet := _facet(base, records, i)) is None:
        return None
    region, k, n = facet
    x = read_point(records[i]["x"])
    plane = base.maps(region)[k]
    owner = pick.choice([region] + ([n] if isinstance(n, int) and 0 <= n < base.region_count()
                                    else []))
    candidates = []
    for d in in_plane_directions(plane):
        for j, m in enumerate(base.maps(owner)):
            slope = sum(g * v for g, v in zip(m[:-1], d))
            if slope and not coincident(m, plane):
                candidates.append((j, d, -at(m, x) / slope))
    if not candidates:
        return None
    j, d, t = pick.choice(candidates)
    records[i]["x"] = write_point([v + t * dv for v, dv in zip(x, d)])
    return f"{line(i)}: facet [{region}, {k}] point moved to where neuron {j} of {owner} vanishes"


def point_vertex(base: Base, records: list[Record], pick: Pick, i: int) -> str | None:
    """x moved to a vertex: neuron k's hyperplane meets n0 - 1 others of the region."""
    if (facet := _facet(base, records, i)) is None:
        return None
    region, k, _ = facet
    maps = base.maps(region)
    others = [j for j in base.planes(region) if j != k]
    if base.dim < 2 or len(others) < base.dim - 1:
        return None
    for _ in range(6):
        chosen = [pick.choice(others) for _ in range(base.dim - 1)]
        vertex = solve([maps[k], *(maps[j] for j in chosen)])
        if vertex is not None:
            records[i]["x"] = write_point(vertex)
            return f"{line(i)}: facet [{region}, {k}] point moved to the vertex with {chosen}"
    return None


def swap_points(base: Base, records: list[Record], pick: Pick, i: int) -> str | None:
    """The points of two facet records exchanged (preferably of one region)."""
    region = records[i]["f"][0]
    facets = [j for j in where(records, is_facet) if j != i]
    if not facets:
        return None
    j = pick.prefer([j for j in facets if records[j]["f"][0] == region], facets)
    records[i]["x"], records[j]["x"] = records[j]["x"], records[i]["x"]
    return f"{line(i)} and {line(j)}: facet points swapped"


def to_nofacet(base: Base, records: list[Record], pick: Pick, i: int) -> str | None:
    """A facet record replaced by a no-facet record on the same neuron, with the
    multipliers of another no-facet record (preferably of the same region)."""
    region, k = records[i]["f"]
    donors = where(records, is_nofacet)
    if donors:
        j = pick.prefer([j for j in donors if records[j]["nf"][0] == region], donors)
        y, mu, source = records[j]["y"], records[j]["mu"], line(j)
    else:
        y = [[pick.choice([p for p in range(base.length) if p != k] or [k]), 1]]
        mu, source = pick.choice((1, -1)), "made up"
    records[i] = {"nf": [region, k], "y": copy.deepcopy(y), "mu": mu}
    return f"{line(i)}: facet [{region}, {k}] -> no-facet with y, mu of {source}"


FACET_OPS: dict[str, FacetOp] = {
    "retarget_neuron": retarget_neuron, "retarget_region": retarget_region,
    "reverse": reverse, "neighbour": neighbour, "point_parallel": point_parallel,
    "borrow": borrow, "point_along": point_along, "point_third": point_third,
    "point_vertex": point_vertex, "swap_points": swap_points, "to_nofacet": to_nofacet}


def _glues(base: Base, records: list[Record], i: int) -> bool:
    """Facet record i joins two regions with one output map (a glue edge)."""
    facet = _facet(base, records, i)
    return facet is not None and isinstance(n := facet[2], int) \
        and 0 <= n < base.region_count() and base.output(n) == base.output(facet[0])


def _twins(records: list[Record], i: int) -> list[int]:
    """The facet records of the edge of record i, from either side."""
    pair = {records[i]["f"][0], records[i]["n"]}
    return [j for j in where(records, is_facet) if {records[j]["f"][0], records[j]["n"]} == pair]


def _has_parallel(base: Base, records: list[Record], i: int) -> bool:
    """The region of facet record i has another hyperplane parallel to the facet's."""
    facet = _facet(base, records, i)
    return facet is not None and bool(_related(base, facet[0], facet[1], coincident_too=False))


def facet_pools(base: Base, records: list[Record]) -> tuple[list[int], ...]:
    """Facet records of glue edges whose regions all have parallel hyperplanes to move
    evidence to, of glue edges, and all of them."""
    facets = where(records, is_facet)
    glue = [i for i in facets if _glues(base, records, i)]
    movable = [i for i in glue if all(_has_parallel(base, records, j) for j in _twins(records, i))]
    return movable, glue, facets


def _target(base: Base, records: list[Record], pick: Pick) -> int:
    """A facet record, preferably from the first pools of :func:`facet_pools`
    (computed once per base; the records of a compound mutation may have moved)."""
    if base.pools is None:
        base.pools = facet_pools(base, base.records)
    pools = [[i for i in pool if i < len(records) and is_facet(records[i])] for pool in base.pools]
    if not pools[-1]:
        pools = list(facet_pools(base, records))
    pool = next(p for p in pools if p and (p is pools[-1] or not pick.chance(4)))
    return pick.choice(pool)


def on_facet(name: str) -> Mutation:
    """The facet operation on one facet record, or on every record of its edge (r's
    towards m and m's towards r: an edge is written from both sides, so forging one
    record alone does not lose it)."""
    op = FACET_OPS[name]

    def mutate(base: Base, records: list[Record], pick: Pick) -> str | None:
        if not any(map(is_facet, records)):
            return None
        i = _target(base, records, pick)
        if pick.chance(2):
            return op(base, records, pick, i)
        pair, twins = sorted({records[i]["f"][0], records[i]["n"]}), _twins(records, i)
        if op is borrow:  # the same part of the evidence on every record of the edge
            op_ = functools.partial(borrow, what=pick.choice(("xn", "xn", "xn", "x", "n")))
        else:
            op_ = op
        done = [what for j in twins if (what := op_(base, records, pick, j))]
        return f"edge {pair}, every record: " + "; ".join(done) if done else None

    return mutate


def linear_drop(base: Base, records: list[Record], pick: Pick) -> str | None:
    """One facet or no-facet record deleted."""
    linear = where(records, is_linear)
    if not linear:
        return None
    i = pick.choice(linear)
    gone = records.pop(i)
    return f"{line(i)} deleted: {json.dumps(gone)}"


def linear_duplicate(base: Base, records: list[Record], pick: Pick) -> str | None:
    """One facet or no-facet record repeated somewhere among the linear records."""
    linear = where(records, is_linear)
    if not linear:
        return None
    i = pick.choice(linear)
    j = pick.integer(linear[0], linear[-1] + 1)
    records.insert(j, copy.deepcopy(records[i]))
    return f"{line(i)} duplicated before record {j + 2}"


def nofacet_to_facet(base: Base, records: list[Record], pick: Pick) -> str | None:
    """A no-facet record replaced by a facet record: the point and neighbour of
    another facet record of the region, or the region's witness projected onto the
    hyperplane with a region of the same map as neighbour."""
    nofacets = where(records, is_nofacet)
    if not nofacets:
        return None
    i = pick.choice(nofacets)
    region, k = records[i]["nf"]
    if region >= base.region_count():
        return None
    donors = [j for j in where(records, is_facet) if records[j]["f"][0] == region]
    if donors and not pick.chance(3):
        j = pick.choice(donors)
        x, n, source = records[j]["x"], records[j]["n"], line(j)
    else:
        x = write_point(project(base.witnesses[region], base.maps(region)[k]))
        n = pick.prefer(_same_map(base, region),
                        [s for s in range(base.region_count()) if s != region])
        source = "the projected witness"
    records[i] = {"f": [region, k], "x": copy.deepcopy(x), "n": n}
    return f"{line(i)}: no-facet [{region}, {k}] -> facet with the point of {source}, n = {n}"


def _change_row_id(base: Base, record: Record, pick: Pick) -> str:
    """One row id of a multiplier list renamed: another position, a box face, or
    exchanged with another entry's id."""
    y = record["y"]
    e = pick.integer(0, len(y) - 1)
    old = y[e][0]
    options = ["position", "face"] + (["exchange"] if len(y) > 1 else [])
    how = pick.choice(options)
    if how == "position":
        y[e][0] = pick.choice([p for p in range(base.length) if p != old] or [old])
    elif how == "face":
        y[e][0] = pick.choice(base.faces())
    else:
        f = pick.choice([f for f in range(len(y)) if f != e])
        y[e][0], y[f][0] = y[f][0], y[e][0]
    return f"row {old!r} -> {y[e][0]!r} ({how})"


def _change_multiplier(record: Record, pick: Pick) -> str:
    """One multiplier (or ``mu``) scaled, zeroed, negated, or set to another's value."""
    y = record["y"]
    slots = list(range(len(y))) + (["mu"] if "mu" in record else [])
    slot = pick.choice(slots)
    old = Fraction(record["mu"] if slot == "mu" else y[slot][1])
    how = pick.choice(("factor", "shift", "copy"))
    if how == "factor":
        new = old * pick.choice(FACTORS)
    elif how == "shift":
        new = old + pick.choice(SMALL)
    else:
        new = Fraction(pick.choice([m for _, m in y] + [record.get("mu", 1)]))
    if new == old:
        new = old + 1
    if slot == "mu":
        record["mu"] = O.fmt(new)
    else:
        y[slot][1] = O.fmt(new)
    return f"multiplier {slot} {old} -> {new}"


def nofacet_multiplier(base: Base, records: list[Record], pick: Pick) -> str | None:
    """One multiplier or ``mu`` of a no-facet proof changed."""
    nofacets = where(records, is_nofacet)
    if not nofacets:
        return None
    i = pick.choice(nofacets)
    return f"{line(i)} (no-facet {records[i]['nf']}): {_change_multiplier(records[i], pick)}"


def nofacet_row_id(base: Base, records: list[Record], pick: Pick) -> str | None:
    """One row id of a no-facet proof changed (another neuron, a box face...)."""
    nofacets = where(records, is_nofacet)
    if not nofacets:
        return None
    i = pick.choice(nofacets)
    return f"{line(i)} (no-facet {records[i]['nf']}): {_change_row_id(base, records[i], pick)}"


def nofacet_retarget(base: Base, records: list[Record], pick: Pick) -> str | None:
    """[r, k] -> [r, k'] (preferably parallel or coincident) or [r', k]."""
    nofacets = where(records, is_nofacet)
    if not nofacets:
        return None
    i = pick.choice(nofacets)
    region, k = records[i]["nf"]
    if region >= base.region_count():
        return None
    if pick.chance(3):
        new = pick.choice([s for s in range(base.region_count()) if s != region] or [region])
        records[i]["nf"] = [new, k]
        return f"{line(i)}: no-facet [{region}, {k}] moved to region {new}"
    new_k = pick.prefer(_related(base, region, k), [j for j in base.planes(region) if j != k])
    if new_k is None:
        return None
    records[i]["nf"] = [region, new_k]
    return f"{line(i)}: no-facet [{region}, {k}] retargeted to neuron {new_k}"


def nofacet_borrow(base: Base, records: list[Record], pick: Pick) -> str | None:
    """y and mu copied from another no-facet record (preferably of the same region)."""
    nofacets = where(records, is_nofacet)
    if len(nofacets) < 2:
        return None
    i = pick.choice(nofacets)
    region = records[i]["nf"][0]
    others = [j for j in nofacets if j != i]
    j = pick.prefer([j for j in others if records[j]["nf"][0] == region], others)
    records[i]["y"], records[i]["mu"] = copy.deepcopy(records[j]["y"]), records[j]["mu"]
    return f"{line(i)}: no-facet {records[i]['nf']} takes y, mu of {line(j)} {records[j]['nf']}"


# -- the tree --------------------------------------------------------------------------


def tree_drop(base: Base, records: list[Record], pick: Pick) -> str | None:
    """One region, empty-branch or look-ahead record deleted."""
    tree = where(records, is_tree)
    i = pick.choice(tree)
    gone = records.pop(i)
    return f"{line(i)} deleted: {json.dumps(gone)[:80]}"


def tree_duplicate(base: Base, records: list[Record], pick: Pick) -> str | None:
    """One tree record repeated, next to itself or elsewhere in the tree."""
    tree = where(records, is_tree)
    i = pick.choice(tree)
    j = pick.choice((i, i + 1, pick.integer(tree[0], tree[-1] + 1)))
    records.insert(j, copy.deepcopy(records[i]))
    return f"{line(i)} duplicated before record {j + 2}"


def tree_swap(base: Base, records: list[Record], pick: Pick) -> str | None:
    """Two tree records exchanged (usually neighbours)."""
    tree = where(records, is_tree)
    if len(tree) < 2:
        return None
    a = pick.integer(0, len(tree) - 2)
    b = a + 1 if not pick.chance(3) else pick.integer(0, len(tree) - 1)
    i, j = tree[a], tree[b]
    records[i], records[j] = records[j], records[i]
    return f"{line(i)} and {line(j)} swapped"


def tree_state(base: Base, records: list[Record], pick: Pick) -> str | None:
    """One state of a region or empty-branch pattern changed; or an empty branch's
    prefix shortened or lengthened."""
    i = pick.choice(where(records, lambda r: is_region(r) or is_empty(r)))
    key = "r" if "r" in records[i] else "e"
    text = records[i][key]
    if key == "e" and pick.chance(3):
        new = text[:-1] if pick.chance(2) and len(text) > 1 else text + pick.choice("+-0")
    else:
        p = pick.integer(0, len(text) - 1)
        new = text[:p] + pick.choice([s for s in "+-0" if s != text[p]]) + text[p + 1:]
    records[i][key] = new
    return f"{line(i)}: {key} {text!r} -> {new!r}"


def tree_witness(base: Base, records: list[Record], pick: Pick) -> str | None:
    """A region's witness replaced by another region's, a midpoint, a point on one of
    its hyperplanes, just across it, or a scaled copy."""
    regions = where(records, is_region)
    i = pick.choice(regions)
    r = regions.index(i)
    x = read_point(records[i]["x"])
    how = pick.choice(("other", "midpoint", "onto", "across", "scaled"))
    if how in ("other", "midpoint"):
        other = base.witnesses[pick.integer(0, len(base.witnesses) - 1)]
        new = other if how == "other" else [(a + b) / 2 for a, b in zip(x, other)]
    elif how in ("onto", "across"):
        planes = base.planes(r) if r < base.region_count() else []
        if not planes:
            return None
        m = base.maps(r)[pick.choice(planes)]
        new = project(x, m)
        if how == "across":
            step = Fraction(1, 1000) * (-1 if at(m, x) > 0 else 1)
            new = [v + step * g for v, g in zip(new, m[:-1])]
    else:
        new = [v * pick.choice((2, -1, Fraction(1, 2))) for v in x]
    records[i]["x"] = write_point(new)
    return f"{line(i)}: witness of {records[i]['r']!r} {how} -> {write_point(new)}"


def lookahead_edit(base: Base, records: list[Record], pick: Pick) -> str | None:
    """A look-ahead record dropped, duplicated, its side flipped, its neuron moved by
    one wildcard, or its node changed."""
    heads = where(records, is_lookahead)
    if not heads:
        return None
    i = pick.choice(heads)
    text = records[i]["e"]
    how = pick.choice(("drop", "duplicate", "side", "star", "node"))
    if how == "drop":
        records.pop(i)
        return f"{line(i)}: look-ahead {text!r} deleted"
    if how == "duplicate":
        records.insert(pick.choice((i, i + 1, pick.integer(0, len(records)))),
                       copy.deepcopy(records[i]))
        return f"{line(i)}: look-ahead {text!r} duplicated"
    node = text.split("*")[0]
    if how == "side":
        new = text[:-1] + ("-" if text[-1] == "+" else "+")
    elif how == "star":
        new = text[:-1] + ("*" if pick.chance(2) else "") + text[-1]
        if new == text:
            new = text.replace("**", "*", 1) if "**" in text else text[:-1] + "*" + text[-1]
    elif node:
        p = pick.integer(0, len(node) - 1)
        new = node[:p] + pick.choice([s for s in "+-0" if s != node[p]]) + text[p + 1:]
    else:
        return None
    records[i]["e"] = new
    return f"{line(i)}: look-ahead {text!r} -> {new!r}"


def tree_row_id(base: Base, records: list[Record], pick: Pick) -> str | None:
    """One row id of an empty-branch or look-ahead proof changed (box faces included)."""
    i = pick.choice(where(records, lambda r: "e" in r))
    return f"{line(i)} (e {records[i]['e']!r}): {_change_row_id(base, records[i], pick)}"


def tree_multiplier(base: Base, records: list[Record], pick: Pick) -> str | None:
    """One multiplier of an empty-branch or look-ahead proof changed."""
    i = pick.choice(where(records, lambda r: "e" in r))
    return f"{line(i)} (e {records[i]['e']!r}): {_change_multiplier(records[i], pick)}"


def tree_kind_swap(base: Base, records: list[Record], pick: Pick) -> str | None:
    """A region turned into an empty branch (multipliers of another proof), an empty
    branch into a region (another region's witness), or any node into an open one."""
    i = pick.choice(where(records, is_tree))
    old = records[i]
    text = old.get("r", old.get("e", old.get("o", ""))).split("*")[0]
    how = pick.choice(("open", "to_empty", "to_region"))
    if how == "open" or not text:
        records[i] = {"o": text}
    elif how == "to_empty":
        donors = where(records, lambda r: "e" in r)
        records[i] = {"e": text, "y": copy.deepcopy(records[pick.choice(donors)]["y"])}
    else:
        records[i] = {"r": text.ljust(base.length, pick.choice("+-")),
                      "x": write_point(pick.choice(base.witnesses))}
    return f"{line(i)}: {json.dumps(old)[:60]} -> {json.dumps(records[i])[:60]}"


# -- breakpoints -----------------------------------------------------------------------


def _neighbour_roots(base: Base, records: list[Record], i: int) -> list[Fraction]:
    """Roots of the neurons of the intervals next to breakpoint record i."""
    roots = []
    for j in (i - 1, i + 1):
        for m in neuron_maps(base.net, records[j]["s"]):
            if m[0]:
                roots.append(-m[1] / m[0])
    return roots


def bp_move(base: Base, records: list[Record], pick: Pick) -> str | None:
    """A breakpoint moved: a little, to a neighbouring breakpoint or midpoint, or to
    the root of another neuron of an adjacent interval."""
    points = where(records, is_breakpoint)
    if not points:
        return None
    i = pick.choice(points)
    b = Fraction(records[i]["b"])
    neighbours = [Fraction(records[j]["b"]) for j in (i - 2, i + 2) if j in points]
    options = [b + t for t in SMALL] + neighbours + [(b + c) / 2 for c in neighbours]
    new = pick.prefer([r for r in _neighbour_roots(base, records, i) if r != b], options)
    records[i]["b"] = O.fmt(new)
    return f"{line(i)}: breakpoint {b} -> {new}"


def bp_merge(base: Base, records: list[Record], pick: Pick) -> str | None:
    """A breakpoint deleted with the interval on its left or right."""
    points = where(records, is_breakpoint)
    if not points:
        return None
    i = pick.choice(points)
    side = pick.choice((-1, 1))
    for j in sorted((i, i + side), reverse=True):
        records.pop(j)
    return f"{line(i)}: breakpoint deleted with the interval on its {'left' if side < 0 else 'right'}"


def bp_pattern(base: Base, records: list[Record], pick: Pick) -> str | None:
    """One state of an interval's pattern changed."""
    i = pick.choice(where(records, is_interval))
    text = records[i]["s"]
    p = pick.integer(0, len(text) - 1)
    new = text[:p] + pick.choice([s for s in "+-0" if s != text[p]]) + text[p + 1:]
    records[i]["s"] = new
    return f"{line(i)}: interval pattern {text!r} -> {new!r}"


def bp_map(base: Base, records: list[Record], pick: Pick) -> str | None:
    """An interval's map replaced by a neighbour's or perturbed."""
    intervals = where(records, is_interval)
    i = pick.choice(intervals)
    old = records[i]["f"]
    neighbours = [j for j in (i - 2, i + 2) if j in intervals]
    if neighbours and pick.chance(2):
        records[i]["f"] = copy.deepcopy(records[pick.choice(neighbours)]["f"])
    else:
        o, c = pick.integer(0, len(old) - 1), pick.integer(0, 1)
        records[i]["f"][o][c] = O.fmt(Fraction(old[o][c]) + pick.choice(SMALL))
    return f"{line(i)}: interval map {old} -> {records[i]['f']}"


def bp_split(base: Base, records: list[Record], pick: Pick) -> str | None:
    """An interval split at an inner point, the new right part a copy of it or of the
    next interval."""
    intervals = where(records, is_interval)
    i = pick.choice(intervals)
    left = Fraction(records[i - 1]["b"]) if i > 0 else None
    right = Fraction(records[i + 1]["b"]) if i + 1 < len(records) else None
    if left is None and right is None:
        inner = Fraction(pick.integer(-3, 3), 2)
    elif left is None or right is None:
        inner = (left if right is None else right) + pick.choice((-1, 1)) * Fraction(1, 3)
    else:
        inner = (left + right) / 2
    copied = pick.choice([j for j in (i, i + 2) if j in intervals])
    records[i + 1:i + 1] = [{"b": O.fmt(inner)}, copy.deepcopy(records[copied])]
    return f"{line(i)}: interval split at {inner}, right part a copy of {line(copied)}"


def bp_swap(base: Base, records: list[Record], pick: Pick) -> str | None:
    """Two intervals (pattern and map) exchanged."""
    intervals = where(records, is_interval)
    if len(intervals) < 2:
        return None
    i = pick.choice(intervals)
    j = pick.choice([j for j in intervals if j != i])
    records[i], records[j] = records[j], records[i]
    return f"{line(i)} and {line(j)}: intervals swapped"


# -- the registry ----------------------------------------------------------------------


@dataclass(frozen=True)
class Kind:
    """A mutation and the bases it applies to."""

    name: str
    mutate: Mutation
    applies: Callable[[Base], bool]


def _has(kind: Callable[[Record], bool], dim: int = 1) -> Callable[[Base], bool]:
    """Applies to bases of at least ``dim`` inputs with a record of ``kind``."""
    return lambda base: base.dim >= dim and any(map(kind, base.records))


KINDS: tuple[Kind, ...] = (
    *(Kind(f"facet_{name}", on_facet(name),
           _has(is_facet, dim=2 if name.startswith("point_") and name != "point_parallel"
                else 1)) for name in FACET_OPS),
    Kind("linear_drop", linear_drop, _has(is_linear)),
    Kind("linear_duplicate", linear_duplicate, _has(is_linear)),
    Kind("nofacet_to_facet", nofacet_to_facet, _has(is_nofacet)),
    Kind("nofacet_multiplier", nofacet_multiplier, _has(is_nofacet)),
    Kind("nofacet_row_id", nofacet_row_id, _has(is_nofacet)),
    Kind("nofacet_retarget", nofacet_retarget, _has(is_nofacet)),
    Kind("nofacet_borrow", nofacet_borrow, _has(is_nofacet)),
    Kind("tree_drop", tree_drop, _has(is_tree)),
    Kind("tree_duplicate", tree_duplicate, _has(is_tree)),
    Kind("tree_swap", tree_swap, _has(is_tree)),
    Kind("tree_state", tree_state, _has(is_tree)),
    Kind("tree_witness", tree_witness, _has(is_region)),
    Kind("lookahead_edit", lookahead_edit, _has(is_lookahead)),
    Kind("tree_row_id", tree_row_id, _has(lambda r: "e" in r)),
    Kind("tree_multiplier", tree_multiplier, _has(lambda r: "e" in r)),
    Kind("tree_kind_swap", tree_kind_swap, _has(lambda r: "e" in r)),
    Kind("bp_move", bp_move, _has(is_breakpoint)),
    Kind("bp_merge", bp_merge, _has(is_breakpoint)),
    Kind("bp_pattern", bp_pattern, _has(is_interval)),
    Kind("bp_map", bp_map, _has(is_interval)),
    Kind("bp_split", bp_split, _has(is_interval)),
    Kind("bp_swap", bp_swap, _has(is_interval)),
)


def compound(base: Base, records: list[Record], pick: Pick) -> str | None:
    """Two mutations of the base, one after the other (the second on the first's
    result, its geometry still the honest base's)."""
    kinds = [k for k in KINDS if k.applies(base)]
    done = []
    for step in range(2):
        kind = pick.choice(kinds)
        try:
            what = kind.mutate(base, records, pick)
        except (KeyError, IndexError, TypeError, ValueError, ZeroDivisionError):
            if step == 0:
                raise  # the first mutation sees honest records: a bug of the mutation
            continue  # the second may not find the structure it expects
        if what is not None:
            done.append(f"{kind.name}: {what}")
    return " + ".join(done) or None


KINDS += (Kind("compound", compound, lambda base: True),)
KIND_NAMES = tuple(kind.name for kind in KINDS)
SINGLE = {kind.name: kind for kind in KINDS}

# --------------------------------------------------------------------------------------
# Checking a mutant: claim fixing, claim variants, the oracle comparison
# --------------------------------------------------------------------------------------

_WORDS = "|".join(WORDS)
MISMATCH = re.compile(rf"the certificate claims (-?\d+) ({_WORDS}) but its evidence "
                      r"establishes (\d+)")
LOWER = re.compile(rf"claims an exact number of ({_WORDS}) but its evidence only gives "
                   "a lower bound")
NO_EVIDENCE = re.compile(r"the certificate claims (\w+) but carries no evidence for it")


def fix_claims(claims: dict[str, Any], line_: str) -> str | None:
    """Rewrite the claim the checker objects to, if its only objection is a claim;
    returns what was done."""
    if match := MISMATCH.search(line_):
        name = WORDS[match[2]]
        claims[name]["value"] = int(match[3])
        return f"{name} := {match[3]}"
    if match := LOWER.search(line_):
        claims[WORDS[match[1]]]["kind"] = "at_least"
        return f"{WORDS[match[1]]} := at_least"
    if (match := NO_EVIDENCE.search(line_)) and match[1] in claims \
            and match[1] != "activation_regions":
        del claims[match[1]]
        return f"{match[1]} dropped"
    return None


def claims_only(line_: str) -> bool:
    """The verdict objects only to the claims (the evidence was accepted)."""
    return any(p.search(line_) for p in (MISMATCH, LOWER, NO_EVIDENCE))


def check(base: Base, records: Sequence[Record], end: Record, path: Path) -> tvmip.Verdict:
    path.write_text(base.text(records, end))
    return tvmip.check(path)


def check_fixed(base: Base, records: Sequence[Record], end: Record,
                path: Path) -> tuple[tvmip.Verdict, list[str]]:
    """Check, rewriting the claims the checker objects to (``end`` is edited)."""
    verdict = check(base, records, end, path)
    fixes: list[str] = []
    for _ in range(FIX_ROUNDS):
        if verdict.exit_code != 1 or (fix := fix_claims(end["end"]["claims"], verdict.line)) is None:
            break
        fixes.append(fix)
        verdict = check(base, records, end, path)
    return verdict, fixes


def claim_variants(base: Base, end: Record) -> Iterator[tuple[str, Record]]:
    """The end record with one count claim set to the reference plus/minus one, or
    relabelled ``at_least``."""
    for name in COUNTS:
        if name not in end["end"]["claims"]:
            continue
        for delta in (1, -1):
            variant = copy.deepcopy(end)
            variant["end"]["claims"][name]["value"] = base.reference[name] + delta
            yield f"{name} := reference {delta:+d}", variant
        variant = copy.deepcopy(end)
        variant["end"]["claims"][name]["kind"] = "at_least"
        yield f"{name} := at_least", variant


def unsound(base: Base, verdict: tvmip.Verdict) -> list[str]:
    """How a VALID verdict's counts contradict the references (empty if they agree)."""
    if not verdict.valid:
        return []
    problems = []
    for name, value, exact in verdict.counts:
        reference = base.reference[name]
        if value != reference if exact else value > reference:
            problems.append(f"{name}: {'exactly' if exact else 'at least'} {value}, but "
                            f"{reference} per {base.sources[name]}")
    return problems


@dataclass
class Outcome:
    """One mutant: what was done, how the checker answered, what went wrong."""

    kind: str
    base: str
    mutation: str
    verdict: str = ""
    fixes: list[str] = field(default_factory=list)
    variants: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)

    @property
    def word(self) -> str:
        return self.verdict.split(":")[0] if self.verdict else "n/a"

    def report(self) -> str:
        return (f"[{self.kind}] base {self.base}\n    mutation: {self.mutation}\n"
                f"    claims fixed: {self.fixes or 'no'}\n    verdict: {self.verdict}\n"
                + "".join(f"    SOUNDNESS: {f}\n" for f in self.failures))


def _word(verdict: tvmip.Verdict) -> str:
    return {0: "VALID", 1: "INVALID", 2: "error"}.get(verdict.exit_code, "other")


def run_case(base: Base, kind: Kind, pick: Pick, path: Path) -> Outcome:
    """Mutate, fix the claims, compare every VALID verdict with the references."""
    records = base.fresh_records()
    mutation = kind.mutate(base, records, pick)
    if records == base.records:  # nothing changed (e.g. a point replaced by itself)
        mutation = None
    outcome = Outcome(kind.name, base.name, mutation or "")
    if mutation is None:
        return outcome
    end = copy.deepcopy(base.end)
    try:
        verdict, outcome.fixes = check_fixed(base, records, end, path)
        outcome.verdict = verdict.line
        outcome.failures += unsound(base, verdict)
        variants = list(claim_variants(base, end))
        accepted = verdict.valid or claims_only(verdict.line)
        # rejected evidence: the claims should not matter; a sample checks that they do not
        for _ in range(VARIANTS if accepted else int(pick.chance(REJECTED_VARIANT))):
            what, variant = variants.pop(pick.integer(0, len(variants) - 1))
            answer = check(base, records, variant, path)
            outcome.variants[_word(answer)] += 1
            outcome.failures += [f"with {what}: {p} ({answer.line})"
                                 for p in unsound(base, answer)]
    except Exception as exc:  # noqa: BLE001 (the checker promises a verdict on any file)
        outcome.verdict = f"crash: {type(exc).__name__}: {exc}"
        outcome.failures.append(f"the checker raised {type(exc).__name__}: {exc}")
    return outcome


# --------------------------------------------------------------------------------------
# Tallies and the report
# --------------------------------------------------------------------------------------

TALLY: Counter[tuple[str, str]] = Counter()  # (kind, outcome) -> mutants
OUTCOMES = ("VALID", "INVALID", "error", "crash", "n/a")
FAILURES: list[Outcome] = []
SEEN: set[tuple[str, str, str]] = set()
PINNED = "pinned_edge_forgery"  # the kind of test_facet_evidence_moved_to_a_parallel_hyperplane


def record(outcome: Outcome) -> None:
    """Count the outcome once (hypothesis replays a failing example while shrinking)."""
    key = (outcome.kind, outcome.base, outcome.mutation)
    if key in SEEN:
        return
    SEEN.add(key)
    TALLY[outcome.kind, outcome.word] += 1
    TALLY[outcome.kind, "claims fixed"] += bool(outcome.fixes)
    for word, n in outcome.variants.items():
        TALLY[outcome.kind, f"variant {word}"] += n
    if outcome.failures:
        TALLY[outcome.kind, "UNSOUND"] += 1
        FAILURES.append(outcome)


COLUMNS = {"VALID": "VALID", "INVALID": "INVALID", "error": "error", "n/a": "n/a",
           "claims fixed": "fixed", "UNSOUND": "UNSOUND", "variant VALID": "v.VALID",
           "variant INVALID": "v.INVAL", "variant error": "v.error"}


@pytest.fixture(scope="module", autouse=True)
def report(clock: float) -> Iterator[None]:
    """Print the outcomes per mutation kind (``n/a``: the mutation did not apply or
    changed nothing; ``fixed``: claims rewritten; ``v.*``: the claim variants) and one
    example of every soundness failure per kind and base (visible with ``pytest -s``)."""
    yield
    skipped = [e["network"] for e in MANIFEST if e not in _entries()]
    print(f"\n\nsemantic mutation fuzzing ({time.monotonic() - clock:.1f} s; instances over "
          f"{MAX_REGIONS} regions skipped: {', '.join(skipped) or 'none'})")
    print(f"  {'kind':24s} {'cases':>6s} " + " ".join(f"{c:>7s}" for c in COLUMNS.values()))
    kinds = (*KIND_NAMES, PINNED)
    for name in (*kinds, "total"):
        names = kinds if name == "total" else (name,)
        cases = sum(TALLY[n, c] for n in names for c in OUTCOMES)
        row = [sum(TALLY[n, c] for n in names) for c in COLUMNS]
        print(f"  {name:24s} {cases:6d} " + " ".join(f"{v:7d}" for v in row))
    shown: set[tuple[str, str]] = set()
    for outcome in FAILURES:
        if (outcome.kind, outcome.base) not in shown:
            shown.add((outcome.kind, outcome.base))
            print(outcome.report())
    if FAILURES:
        print(f"{len(FAILURES)} unsound mutants ({len(shown)} kind/base pairs)")


def assert_sound(outcomes: Sequence[Outcome]) -> None:
    failed = [o for o in outcomes if o.failures]
    assert not failed, (f"{len(failed)} mutants were VALID with counts the oracles "
                        "contradict:\n" + "\n".join(o.report() for o in failed[:SHOWN_FAILURES]))


# --------------------------------------------------------------------------------------
# Tests
# --------------------------------------------------------------------------------------


def test_honest_bases(all_bases: list[Base]) -> None:
    """Every honest certificate is VALID with the reference counts, and together the
    bases hold what the mutations are meant to damage."""
    for base in all_bases:
        assert base.verdict.valid, (base.name, base.verdict.line)
        assert {name: value for name, value, exact in base.verdict.counts if exact} \
            == base.reference, (base.name, base.verdict.line, base.sources)
    for kind in KINDS:
        assert any(kind.applies(b) for b in all_bases), f"no base for {kind.name}"
    assert any("lo0" in json.dumps(b.records) for b in all_bases)


def test_claim_fixing_understands_the_checker(bases: list[Base], work: Path) -> None:
    """The fixer reads the checker's claim messages: an honest certificate whose
    claims are all off by one is fixed back to VALID with the honest counts.  (If the
    wording changes, the fuzzer would silently stop fixing claims; this fails instead.)"""
    base = next(b for b in bases if b.kind == "tree" and any(map(is_facet, b.records)))
    end = copy.deepcopy(base.end)
    for name in COUNTS:
        end["end"]["claims"][name]["value"] += 1
    verdict, fixes = check_fixed(base, base.records, end, work)
    assert verdict.valid and len(fixes) == 3, (verdict.line, fixes)
    assert not unsound(base, verdict)
    end["end"]["claims"]["linear_regions"]["kind"] = "at_least"
    assert check(base, base.records, end, work).line.endswith("(lower bound)")


def edge_forgeries(base: Base, per_edge: int = 8) -> Iterator[tuple[str, list[Record]]]:
    """The review's forgery: every record of one edge (r's facet towards m, m's towards
    r) takes the point and neighbour of a facet record of its own region on a
    parallel, distinct hyperplane (up to ``per_edge`` choices of donors per edge)."""
    facets = where(base.records, is_facet)
    edges: dict[frozenset[int], list[int]] = {}
    for i in facets:
        edges.setdefault(frozenset((base.records[i]["f"][0], base.records[i]["n"])), []).append(i)
    for pair, members in edges.items():
        donors = []
        for i in members:
            region, k = base.records[i]["f"]
            maps = base.maps(region)
            donors.append([j for j in facets if base.records[j]["f"][0] == region
                           and parallel(maps[base.records[j]["f"][1]], maps[k])
                           and not coincident(maps[base.records[j]["f"][1]], maps[k])])
        for choice in itertools.islice(itertools.product(*donors), per_edge):
            records = base.fresh_records()
            for i, j in zip(members, choice):
                records[i]["x"], records[i]["n"] = base.records[j]["x"], base.records[j]["n"]
            moves = ", ".join(f"{line(i)} {base.records[i]['f']} takes x, n of {line(j)} "
                              f"{base.records[j]['f']}" for i, j in zip(members, choice))
            yield f"edge {sorted(pair)}: {moves}", records


def test_facet_evidence_moved_to_a_parallel_hyperplane(bases: list[Base], work: Path) -> None:
    """The review's forgery, exhaustively (:func:`edge_forgeries`), claims rewritten to
    what the evidence then establishes: each mutant must be rejected, or VALID with
    the true counts."""
    outcomes = []
    for base in bases:
        for mutation, records in edge_forgeries(base):
            end = copy.deepcopy(base.end)
            verdict, fixes = check_fixed(base, records, end, work)
            outcome = Outcome(PINNED, base.name, mutation, verdict.line, fixes,
                              failures=unsound(base, verdict))
            record(outcome)
            outcomes.append(outcome)
    assert outcomes, "no base has facets on parallel hyperplanes"
    assert_sound(outcomes)


def _applicable(bases: Sequence[Base], kind: Kind) -> list[Base]:
    return [b for b in bases if kind.applies(b)]


LINEAR_KINDS = tuple(k for k in KINDS if k.name.startswith(("facet_", "nofacet_", "linear_")))


@settings(max_examples=HYPOTHESIS_EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_linear_evidence_property(bases: list[Base], work: Path, data: st.DataObject) -> None:
    """Property: whatever the mutation of the facet and no-facet evidence (drawn with
    its parameters, so a failure shrinks), a VALID verdict after claim fixing states
    the true counts.  The linear evidence has the most intricate geometry; the tree
    and breakpoint kinds get their volume in :func:`test_seeded_mutations`."""
    kind = SINGLE[data.draw(st.sampled_from([k.name for k in LINEAR_KINDS]), label="kind")]
    names = {b.name: b for b in _applicable(bases, kind)}
    base = names[data.draw(st.sampled_from(sorted(names)), label="base")]
    outcome = run_case(base, kind, Pick.drawing(data), work)
    record(outcome)
    assert not outcome.failures, outcome.report()


@pytest.mark.slow
def test_seeded_mutations(bases: list[Base], work: Path, clock: float) -> None:
    """Volume: :data:`MIN_PER_KIND` cases of every kind, then random kinds until
    :data:`CASES` or the module's budget.  Case ``i`` is reproducible alone from its
    seed ``SEED:i``."""
    outcomes = []
    minimum = MIN_PER_KIND * len(KINDS)
    for i in range(CASES):
        if i >= minimum and time.monotonic() - clock > MODULE_SECONDS:
            break
        rng = random.Random(f"{SEED}:{i}")
        kind = KINDS[i % len(KINDS)] if i < minimum else rng.choice(KINDS)
        base = rng.choice(_applicable(bases, kind))
        outcome = run_case(base, kind, Pick.seeded(rng), work)
        outcome.mutation = f"(seed {SEED}:{i}) {outcome.mutation}"
        record(outcome)
        outcomes.append(outcome)
    assert_sound(outcomes)
