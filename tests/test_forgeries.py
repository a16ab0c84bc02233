"""Forged certificates: each attacks one way the trusted checker could be fooled.

Every forgery is built at test time from an honest certificate that ``tvmip.count``
writes (so it follows the producer's format as that evolves), changed in one place,
with its claims rewritten to match the forged evidence: the attack is the only
thing wrong with it.  Where it is not obvious that a forged claim is false, exact
``Fraction`` arithmetic in this file or ``tests/oracles.py`` (which imports nothing
from tvmip) establishes the truth.  The checker must answer every forgery with
exactly one line and the right exit code (1 INVALID, 2 input error), never a
traceback, never 4 (internal error).

1. Facet records not tied to their hyperplane: a facet of the region on a parallel
   hyperplane stands in for the facet on neuron k's, a glue edge is lost and the
   linear regions are over-counted.
2. Theorem claims over a box: a box can cut one linear region of R^n0 into several,
   so only the distinct affine maps bound the linear regions of R^n0.
3. Verdicts state their domain, and ``tvmip check --box`` binds it.
4. A theorem applied where its hypotheses fail.
5. Values that crash printing or hashing (more than 4,300 digits, non-ASCII digits).
6. Resource blow-ups from small files: the checking process must end within 10 s
   and stay under 400 MB.
7. Further forgeries: records out of depth-first order, a look-ahead before the
   neuron's map is known, a no-facet proof through a coincident row, a glue edge to
   a region that is not adjacent, missing facet evidence, a false "ternary".

Only the public API (``tvmip.count``, ``tvmip.check``, ...) and the two command
lines (``python -m tvmip.cli``, ``python -m tvmip.checker``) are used.
"""

from __future__ import annotations

import copy
import gzip
import hashlib
import json
import random
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from fractions import Fraction
from itertools import count
from math import comb, prod
from pathlib import Path
from typing import Any

import oracles
import pytest
from records import evidence_region, in_region_order

import tvmip

INSTANCES = Path(__file__).resolve().parent.parent / "instances"
SUBPROCESS_TIMEOUT = 60
LINEAR_CLAIMS = ("linear_regions", "distinct_maps")

# A legal JSON number of 4,000 digits whose value has 4,900 (past Python's 4,300-digit
# limit for int <-> str), its negative, a rational with a 4,900-digit denominator, and
# a decimal exponent of 5,000 digits.
HUGE = "3" + "0" * 3999 + "e900"
HUGE_NEGATIVE = "-" + HUGE
HUGE_DENOMINATOR = "0." + "0" * 3998 + "1e-900"
LONG_EXPONENT = "1e" + "1" * 5000

# f = 0 with three ReLUs at x = 0, 1, 2: 4 activation regions, 1 linear region.
ZERO_1D: dict[str, Any] = {
    "input_dim": 1,
    "layers": [{"activation": "relu", "weights": [[1], [1], [1]], "biases": [0, -1, -2]}],
    "output": {"weights": [[0, 0, 0]], "biases": [0]},
}

# f = relu(1 - |x| - y), ternary.  Over R^2: the tent's two faces and one zero
# region above it, 3 linear regions.  The zero region {y >= 1 - |x|} is not convex:
# the box (-2, 2) x (-1, 1/2) cuts it in two, so 4 linear regions there, 3 maps.
TENT: dict[str, Any] = {
    "input_dim": 2,
    "layers": [
        {"activation": "relu", "weights": [[1, 0], [-1, 0], [0, 1], [0, -1]],
         "biases": [0, 0, 0, 0]},
        {"activation": "relu", "weights": [[-1, -1, -1, 1]], "biases": [1]},
    ],
    "output": {"weights": [[1]], "biases": [0]},
}
TENT_BOX = "-2,-1,2,1/2"

# c = relu(x) + relu(-x) - 1 = |x| - 1: 4 activation regions over R.  With every
# layer-1 state read as '+', c's map is the constant -1, which "proves" c > 0 empty.
FOLD_1D: dict[str, Any] = {
    "input_dim": 1,
    "layers": [
        {"activation": "relu", "weights": [[1], [-1]], "biases": [0, 0]},
        {"activation": "relu", "weights": [[1, 1]], "biases": [-1]},
    ],
    "output": {"weights": [[1]], "biases": [0]},
}


def theorem(name: str, n0: int, width: int, depth: int, ternary: bool = True) -> dict[str, Any]:
    """A theorem claim whose bound is computed here from the published formula."""
    return {"name": name, "n0": n0, "width": width, "depth": depth,
            "bound": theorem_bound(name, n0, width, depth), "ternary": ternary}


def theorem_bound(name: str, n0: int, width: int, depth: int) -> int:
    """Montufar et al. 2014, Serra et al. 2018 and its n0 = 1 maximum, evaluated
    without their hypotheses (which is what a forger does)."""
    widths = [width] * depth
    arrangement = sum(comb(widths[-1], j) for j in range(n0 + 1))
    if name == "montufar-2014":
        return prod((w // n0) ** n0 for w in widths[:-1]) * arrangement
    if name == "serra-2018":
        return prod((w // n0 + 1) ** n0 for w in widths[:-1]) * arrangement
    assert name == "serra-2018-1d"
    return prod(w + 1 for w in widths)


def unit(dim: int, value: int = 1) -> list[int]:
    """``value`` times the first unit vector of R^dim."""
    return [value] + [0] * (dim - 1)


def first_coordinate(dim: int, width: int = 1) -> dict[str, Any]:
    """``width`` copies of relu(x_1) in R^dim; the output is their sum."""
    return {"input_dim": dim,
            "layers": [{"activation": "relu", "weights": [unit(dim)] * width,
                        "biases": [0] * width}],
            "output": {"weights": [[1] * width], "biases": [0]}}


# --------------------------------------------------------------------------------------
# Certificates as data
# --------------------------------------------------------------------------------------


@dataclass
class Cert:
    """A certificate as parsed JSON: the header, the records and the end record's body."""

    header: dict[str, Any]
    records: list[dict[str, Any]]
    end: dict[str, Any]

    @classmethod
    def read(cls, path: Path) -> Cert:
        data = path.read_bytes()
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
        lines = [json.loads(line) for line in data.decode().splitlines()]
        return cls(lines[0], lines[1:-1], lines[-1]["end"])

    def copy(self) -> Cert:
        return copy.deepcopy(self)

    @property
    def network(self) -> dict[str, Any]:
        return self.header["network"]

    @property
    def patterns(self) -> list[str]:
        return [record["r"] for record in self.records if "r" in record]

    def value(self, claim: str) -> int:
        return self.end["claims"][claim]["value"]

    def claim(self, name: str, value: int) -> None:
        self.end["claims"][name] = {"kind": "exact", "value": value}

    def add_theorem(self, claim: dict[str, Any]) -> None:
        if "theorem" not in self.header["claims"]:
            self.header["claims"].append("theorem")
        self.end["claims"]["theorem"] = claim

    def text(self, raw: dict[str, str] | None = None) -> str:
        """JSON Lines, the facet evidence in region order (see :mod:`records`); each
        string ``marker`` of ``raw`` is replaced by the literal JSON text it maps to
        (numbers json.dumps cannot write)."""
        lines = [self.header, *in_region_order(self.records), {"end": self.end}]
        text = "".join(json.dumps(line, separators=(",", ":"), ensure_ascii=False) + "\n"
                       for line in lines)
        for marker, literal in (raw or {}).items():
            assert json.dumps(marker) in text, marker
            text = text.replace(json.dumps(marker), literal)
        return text

    def write(self, path: Path, raw: dict[str, str] | None = None, gz: bool = False) -> Path:
        data = self.text(raw).encode()
        path.write_bytes(gzip.compress(data, 9) if gz else data)
        return path


_serial = count()


def network_dict(source: dict[str, Any] | str) -> dict[str, Any]:
    """A network given as a dict or as the name of a file in instances/."""
    return json.loads((INSTANCES / source).read_text()) if isinstance(source, str) else source


def honest(tmp: Path, source: dict[str, Any] | str, box: str | None = None, *,
           linear: bool = True, engine: str = "tree",
           theorem_claim: dict[str, Any] | None = None) -> Cert:
    """The producer's certificate for ``source`` (over R^n0 or the box text), checked
    VALID before it is forged."""
    net = tvmip.network_from_dict(network_dict(source))
    domain = tvmip.parse_box(box, net.input_dim) if box else None
    path = tmp / f"honest-{next(_serial)}.jsonl"
    tvmip.count(net, domain, linear=linear, engine=engine, certificate=path,
                theorem=theorem_claim)
    verdict = tvmip.check(path)
    assert verdict.exit_code == 0, verdict.line
    return Cert.read(path)


def canonical_sha256(network: dict[str, Any]) -> str:
    """The network's hash as the format defines it: SHA-256 of the canonical JSON text
    (known keys only, rationals as ints or "p/q", sorted keys, no spaces).  Computed
    here because the producer may refuse the hostile networks of the blow-up tests."""
    net = oracles.load(network)

    def layer(lay: oracles.Layer, activation: bool) -> dict[str, Any]:
        out: dict[str, Any] = {"weights": [[oracles.fmt(w) for w in row] for row in lay.weights],
                               "biases": [oracles.fmt(b) for b in lay.biases]}
        if activation:
            out["activation"] = lay.activation
        return out

    canonical = {"format": "tvmip-network/1", "input_dim": net.input_dim,
                 "layers": [layer(lay, True) for lay in net.layers],
                 "output": layer(net.output, False)}
    text = json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()


def header_for(network: dict[str, Any], claims: Sequence[str], kind: str = "tree",
               domain: Any = None) -> dict[str, Any]:
    """A header for a hand-made certificate, with the network's true hash."""
    return {"format": "tvmip-certificate/1", "tool": "forgery", "kind": kind,
            "network": network, "network_sha256": canonical_sha256(network),
            "domain": domain, "claims": list(claims)}


@pytest.mark.parametrize("source", [ZERO_1D, "n2_gp_general.json"], ids=["zero", "gp"])
def test_hand_made_headers_carry_the_true_hash(source: dict[str, Any] | str) -> None:
    """Guards the hand-made certificates below: their hash is the producer's."""
    network = network_dict(source)
    assert canonical_sha256(network) == tvmip.network_from_dict(network).sha256


def exact_end(**counts: int) -> dict[str, Any]:
    return {"claims": {name: {"kind": "exact", "value": value} for name, value in counts.items()},
            "metadata": {}}


# --------------------------------------------------------------------------------------
# Running the checker: the API, `tvmip check` and `python -m tvmip.checker`
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What one entry point answered."""

    via: str
    code: int
    stdout: str
    stderr: str

    @property
    def text(self) -> str:
        return (self.stdout + self.stderr).strip()

    def __str__(self) -> str:
        return f"[{self.via}] exit {self.code}: {self.text[:600]!r}"


def via_api(path: Path) -> Outcome:
    try:
        verdict = tvmip.check(path)
    except Exception as exc:  # noqa: BLE001 - the point is that it must not raise
        return Outcome("api", -1, "", f"tvmip.check raised {type(exc).__name__}")
    return Outcome("api", verdict.exit_code, verdict.line, "")


def _subprocess(via: str, args: list[str]) -> Outcome:
    proc = subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True,
                          timeout=SUBPROCESS_TIMEOUT, check=False)
    return Outcome(via, proc.returncode, proc.stdout, proc.stderr)


def via_cli(path: Path, *options: str) -> Outcome:
    return _subprocess("tvmip check", ["tvmip.cli", "check", str(path), *options])


def via_checker(path: Path) -> Outcome:
    return _subprocess("python -m tvmip.checker", ["tvmip.checker", str(path)])


def one_line(outcome: Outcome) -> bool:
    """Exactly one line, and no traceback."""
    return bool(outcome.text) and "\n" not in outcome.text and "Traceback" not in outcome.text


def assert_outcomes(outcomes: list[Outcome], ok: Callable[[Outcome], bool], what: str) -> None:
    """Every entry point answers one line that satisfies ``ok``; all failures reported."""
    bad = [outcome for outcome in outcomes if not (one_line(outcome) and ok(outcome))]
    assert not bad, f"expected {what}, got:\n" + "\n".join(map(str, bad))


def assert_rejected(path: Path, keyword: str | None = None, *options: str,
                    everywhere: bool = False) -> None:
    """INVALID (exit 1, one line) from `tvmip check` and the API (and the standalone
    checker with ``everywhere``); ``keyword`` a regex the reason must contain."""
    outcomes = [via_cli(path, *options)]
    if not options:
        outcomes.append(via_api(path))
    if everywhere:
        outcomes.append(via_checker(path))
    assert_outcomes(outcomes, lambda o: o.code == 1 and o.text.startswith("INVALID:")
                    and (keyword is None or re.search(keyword, o.text, re.IGNORECASE)
                         is not None), f"INVALID ({keyword or 'any reason'})")


def assert_valid(path: Path, *options: str) -> list[Outcome]:
    outcomes = [via_cli(path, *options)] + ([] if options else [via_api(path)])
    assert_outcomes(outcomes, lambda o: o.code == 0 and o.text.startswith("VALID:"), "VALID")
    return outcomes


# --------------------------------------------------------------------------------------
# Exact geometry of a certificate's regions (Fractions only, nothing from tvmip)
# --------------------------------------------------------------------------------------

Affine = tuple[Fraction, ...]  # gradient..., constant


def _combine(weights: Sequence[Fraction], inputs: Sequence[Affine], bias: Fraction,
             dim: int) -> Affine:
    acc = [Fraction(0)] * (dim + 1)
    for w, m in zip(weights, inputs):
        if w:
            acc = [a + w * v for a, v in zip(acc, m)]
    acc[dim] += bias
    return tuple(acc)


def region_maps(net: oracles.Net, pattern: str) -> tuple[list[Affine], tuple[Affine, ...]]:
    """Pre-activation maps of the ReLU neurons (pattern order) and the output maps on
    the activation region of ``pattern``."""
    dim = net.input_dim
    zero = (Fraction(0),) * (dim + 1)
    inputs: list[Affine] = [tuple(Fraction(int(i == k)) for k in range(dim + 1))
                            for i in range(dim)]
    rows: list[Affine] = []
    for layer in net.layers:
        pre = [_combine(w, inputs, b, dim) for w, b in zip(layer.weights, layer.biases)]
        if layer.activation == "identity":
            inputs = pre
            continue
        states = pattern[len(rows):len(rows) + len(pre)]
        rows.extend(pre)
        inputs = [m if s == "+" else zero for m, s in zip(pre, states)]
    out = net.output
    return rows, tuple(_combine(w, inputs, b, dim) for w, b in zip(out.weights, out.biases))


def at(row: Affine, point: Sequence[Any]) -> Fraction:
    return sum((g * Fraction(v) for g, v in zip(row, point)), row[-1])


def direction(row: Affine) -> tuple[Fraction, ...]:
    """The hyperplane's normal up to scale and sign (parallel rows share it)."""
    lead = next(v for v in row[:-1] if v)
    return tuple(v / lead for v in row[:-1])


@dataclass(frozen=True)
class Geometry:
    """Per region of a tree certificate: its neurons' maps and its output map."""

    rows: list[list[Affine]]
    maps: list[tuple[Affine, ...]]


def geometry(cert: Cert) -> Geometry:
    net = oracles.load(cert.network)
    both = [region_maps(net, pattern) for pattern in cert.patterns]
    return Geometry([rows for rows, _ in both], [maps for _, maps in both])


def components(maps: Sequence[Any], edges: Sequence[tuple[int, int]]) -> int:
    """Connected components of the glue graph: edges between regions of equal maps."""
    parent = list(range(len(maps)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for a, b in edges:
        if maps[a] == maps[b]:
            parent[root(a)] = root(b)
    return len({root(i) for i in range(len(maps))})


def evidence_count(cert: Cert, geo: Geometry) -> int:
    """The linear regions that the facet records of ``cert`` establish if believed:
    what a forger writes into the claims to make them match the evidence."""
    edges = [(record["f"][0], record["n"]) for record in cert.records if "f" in record]
    return components(geo.maps, edges)


def true_linear_regions(network: dict[str, Any]) -> int:
    """Linear regions over all of R^n0 by the independent oracles (n0 = 1 or 2; the
    box of the 2-D oracle contains every vertex of the networks used here)."""
    if network["input_dim"] == 1:
        return oracles.count_1d(network)[1]
    cells = oracles.polygon_cells_2d(network, ((-1000, -1000), (1000, 1000)))
    return oracles.polygon_linear_count_2d(cells)[0]


# ======================================================================================
# 1. Facet records not tied to their hyperplane
# ======================================================================================


def forge_parallel_facets(cert: Cert) -> tuple[Cert, list[int]]:
    """Within each region, facet records on parallel hyperplanes can vouch for one
    another if the checker only compares directions.  For every such family choose
    the one facet (point and neighbour) all its members repeat, so that the glue
    edges of the others disappear; the choice maximising the linear regions is found
    by coordinate ascent.  Returns the forgery (claims rewritten) and the indices of
    the rewritten records."""
    geo = geometry(cert)
    families: dict[tuple[int, tuple[Fraction, ...]], list[int]] = {}
    for index, record in enumerate(cert.records):
        if "f" in record:
            region, neuron = record["f"]
            families.setdefault((region, direction(geo.rows[region][neuron])), []).append(index)
    groups = [members for members in families.values() if len(members) > 1]

    def neighbour(index: int, choice: dict[int, int]) -> int:
        return cert.records[choice.get(index, index)]["n"]

    def source_of(keep: Sequence[int]) -> dict[int, int]:
        return {index: members[k] for members, k in zip(groups, keep) for index in members}

    def score(keep: Sequence[int]) -> int:
        choice = source_of(keep)
        edges = [(record["f"][0], neighbour(i, choice))
                 for i, record in enumerate(cert.records) if "f" in record]
        return components(geo.maps, edges)

    keep = [0] * len(groups)
    best = score(keep)
    for _ in range(2):
        for g, members in enumerate(groups):
            for k in range(len(members)):
                trial = [*keep[:g], k, *keep[g + 1:]]
                if (value := score(trial)) > best:
                    keep, best = trial, value
    forged = cert.copy()
    changed = []
    for index, source in source_of(keep).items():
        if index != source:
            record = cert.records[source]
            forged.records[index] = {"f": cert.records[index]["f"], "x": record["x"],
                                     "n": record["n"]}
            changed.append(index)
    forged.claim("linear_regions", best)
    assert evidence_count(forged, geo) == best
    return forged, changed


@pytest.fixture
def every_record(monkeypatch: pytest.MonkeyPatch) -> None:
    """The producer writes one record per facet and none for a hyperplane a parallel
    inequality shuts out; the checker also accepts the full set (every facet from both
    sides, a no-facet proof for every other hyperplane), which gives a forger the most
    records to rearrange.  This makes the producer write the full set."""
    from tvmip.search import linear as gluing

    facets = gluing.Gluer._facets
    monkeypatch.setattr(gluing, "shut_out", lambda rows: set())
    monkeypatch.setattr(gluing.Gluer, "_facets",
                        lambda self, index, pattern, geometry, index_of, known:
                        facets(self, index, pattern, geometry, index_of, set()))


@pytest.mark.parametrize(("source", "claim"), [
    (ZERO_1D, None),
    (ZERO_1D, theorem("montufar-2014", 1, 1, 1)),
    ("n2_concurrent_parallel.json", None),
], ids=["zero-1d", "zero-1d-meets-montufar", "n2-concurrent-parallel"])
def test_parallel_facet_stands_in_for_the_real_one(
        tmp_path: Path, source: dict[str, Any] | str, claim: dict[str, Any] | None,
        every_record: None) -> None:
    """A facet record for neuron k whose point lies on a different, parallel hyperplane
    of the same region (with its own neighbour): the real neighbour across k's
    hyperplane is never named, a glue edge is lost and the linear regions come out too
    high.  The checker must see that neuron k's pre-activation does not vanish there."""
    cert = honest(tmp_path, source)
    forged, changed = forge_parallel_facets(cert)
    truth = true_linear_regions(cert.network)
    assert cert.value("linear_regions") == truth
    assert forged.value("linear_regions") > truth, "nothing to forge: the attack got weaker"
    geo = geometry(cert)
    for index in changed:  # the only defect: the point is off neuron k's own hyperplane
        region, neuron = forged.records[index]["f"]
        assert at(geo.rows[region][neuron], forged.records[index]["x"]) != 0
    if claim is not None:
        assert truth < claim["bound"] <= forged.value("linear_regions")
        forged.add_theorem(claim)
    assert_rejected(forged.write(tmp_path / "forged.jsonl"), r"hyperplane|vanish",
                    everywhere=True)


def test_concurrent_parallel_forgery_reaches_eleven(tmp_path: Path) -> None:
    """The known forgery: n2_concurrent_parallel (truly 9 linear regions, three parallel
    lines x = 0, 1, 2) certified as 11."""
    forged, _ = forge_parallel_facets(honest(tmp_path, "n2_concurrent_parallel.json"))
    assert forged.value("linear_regions") >= 11
    assert_rejected(forged.write(tmp_path / "eleven.jsonl"), r"hyperplane|vanish")


# ======================================================================================
# 2. Theorem claims over a box
# ======================================================================================

TENT_THEOREM = theorem("montufar-2014", 2, 2, 1)  # bound 4


def test_tent_network_cut_by_the_box() -> None:
    """The premise of the box attacks, from the oracle: 3 linear regions over R^2, but 4
    in the box, where the non-convex zero region falls apart (with 3 maps)."""
    assert true_linear_regions(TENT) == 3
    lo, hi = (-2, -1), (2, Fraction(1, 2))
    assert oracles.polygon_linear_count_2d(oracles.polygon_cells_2d(TENT, (lo, hi))) == (4, 3)
    assert true_linear_regions(TENT) < TENT_THEOREM["bound"] == 4


def test_box_count_does_not_claim_the_theorem(tmp_path: Path) -> None:
    """`tvmip.count` over a box must not claim a theorem that only the box's linear
    regions reach: its distinct maps (3) are what bound R^2's linear regions."""
    path = tmp_path / "tent.jsonl"
    net = tvmip.network_from_dict(TENT)
    result = tvmip.count(net, tvmip.parse_box(TENT_BOX, 2), linear=True,
                         theorem=TENT_THEOREM, certificate=path)
    assert (result.linear_regions, result.distinct_maps) == (4, 3)
    assert "theorem" not in Cert.read(path).end["claims"]
    assert tvmip.check(path).exit_code == 0


def test_box_theorem_reached_by_cut_regions_is_invalid(tmp_path: Path) -> None:
    """A box certificate whose 4 linear regions in the box reach Montufar's bound 4
    while the network has 3 linear regions over R^2: the theorem claim is false."""
    cert = honest(tmp_path, TENT, TENT_BOX)
    assert (cert.value("linear_regions"), cert.value("distinct_maps")) == (4, 3)
    cert.add_theorem(TENT_THEOREM)
    assert_rejected(cert.write(tmp_path / "tent-theorem.jsonl"), r"distinct|bound|reach",
                    everywhere=True)


def test_box_theorem_over_rn_is_invalid_too(tmp_path: Path) -> None:
    """Control: over R^2 the same claim already fails (3 < 4)."""
    cert = honest(tmp_path, TENT)
    assert cert.value("linear_regions") == 3
    cert.add_theorem(TENT_THEOREM)
    assert_rejected(cert.write(tmp_path / "tent-rn.jsonl"), r"reach|bound")


def test_box_theorem_met_by_distinct_maps_is_valid(tmp_path: Path) -> None:
    """Control: a box certificate whose distinct maps (11) reach the bound (7) keeps
    its theorem, from the producer to the verdict."""
    claim = theorem("montufar-2014", 2, 3, 1)
    cert = honest(tmp_path, "n2_gp_ternary.json", "-1000,1000", theorem_claim=claim)
    assert cert.value("distinct_maps") >= claim["bound"] == 7
    assert cert.end["claims"]["theorem"] == claim
    assert_valid(cert.write(tmp_path / "gp.jsonl"))


# ======================================================================================
# 3. Verdicts state their domain; `tvmip check --box` binds it
# ======================================================================================


def _all_three(path: Path) -> list[Outcome]:
    return [via_api(path), via_cli(path), via_checker(path)]


@pytest.mark.parametrize(("box", "line"), [
    (None, "VALID: 11 activation regions over R^2"),
    ("0,1/100", "VALID: 1 activation regions over the box (0, 1/100)^2"),
], ids=["rn", "box"])
def test_verdict_states_the_domain(tmp_path: Path, box: str | None, line: str) -> None:
    """Counts over a box are not counts over R^n0: the line must say which."""
    cert = honest(tmp_path, "n2_gp_ternary.json", box, linear=False)
    outcomes = _all_three(cert.write(tmp_path / "gp.jsonl"))
    assert_outcomes(outcomes, lambda o: o.code == 0 and o.text == line, repr(line))


def test_verdict_states_the_domain_with_linear_claims(tmp_path: Path) -> None:
    path = honest(tmp_path, TENT, TENT_BOX).write(tmp_path / "tent.jsonl")
    names_box = re.compile(r"3 distinct affine maps over the box \(-2, 2\).*\(-1, 1/2\)")
    assert_outcomes(_all_three(path), lambda o: o.code == 0 and bool(names_box.search(o.text)),
                    names_box.pattern)


@pytest.mark.parametrize(("cert_box", "option", "valid"), [
    ("0,1/100", "none", False),
    (None, "-1,1", False),
    ("0,1/100", "0,1/50", False),
    ("0,1/100", "0,0.01", True),
    ("0,1/100", "0,0,1/100,1/100", True),
    (None, "none", True),
], ids=["box-checked-as-rn", "rn-checked-as-box", "other-box", "same-box-decimal",
        "same-box-per-coordinate", "rn-as-rn"])
def test_check_box_binds_the_domain(tmp_path: Path, cert_box: str | None, option: str,
                                    valid: bool) -> None:
    """`tvmip check CERT --box B` accepts only a certificate about exactly B (`none`:
    all of R^n0), like `--network` binds the network."""
    path = honest(tmp_path, "n2_gp_ternary.json", cert_box).write(tmp_path / "gp.jsonl")
    network = str(INSTANCES / "n2_gp_ternary.json")
    if valid:
        assert_valid(path, "--box", option)
        assert_valid(path, "--box", option, "--network", network)
    else:
        assert_rejected(path, r"domain", "--box", option)


def test_check_box_syntax_error_is_an_input_error(tmp_path: Path) -> None:
    """An empty box given to `--box` is a usage error (exit 2), not a verdict."""
    path = honest(tmp_path, "n2_gp_ternary.json", linear=False).write(tmp_path / "gp.jsonl")
    assert_outcomes([via_cli(path, "--box", "1,0")],
                    lambda o: o.code == 2 and "no such option" not in o.text.lower(),
                    "an input error about the box")


# ======================================================================================
# 4. A theorem applied where its hypotheses fail
# ======================================================================================


@pytest.mark.parametrize(("source", "claim"), [
    ("n2_gp_ternary.json", theorem("serra-2018-1d", 2, 3, 1)),
    ("n2_gp_ternary.json", theorem("serra-2018", 2, 2, 1)),
    ("n2_gp_ternary.json", theorem("montufar-2014", 2, 1, 1)),
    ("n1_fold_ternary_d3.json", theorem("serra-2018-1d", 1, 2, 3)),
    ("n1_fold_ternary_d3.json", theorem("serra-2018", 1, 2, 3)),
], ids=["serra-1d-with-n0-2", "serra-width-below-3n0", "montufar-width-below-n0",
        "serra-1d-width-below-3", "serra-n0-1-width-below-3"])
def test_theorem_outside_its_hypotheses(tmp_path: Path, source: str,
                                        claim: dict[str, Any]) -> None:
    """The bound is the formula's value and the linear regions reach it; only the
    theorem's hypothesis (n0 = 1, width >= 3 n0, width >= n0) fails."""
    engine = "tree" if network_dict(source)["input_dim"] > 1 else "breakpoints"
    cert = honest(tmp_path, source, engine=engine)
    assert cert.value("linear_regions") >= claim["bound"]
    cert.add_theorem(claim)
    assert_rejected(cert.write(tmp_path / "theorem.jsonl"),
                    r"appl|hypothes|need|requir|n0|width")


# ======================================================================================
# 5. Values that crash printing or hashing
# ======================================================================================

MARK = "@forged@"


def _zero_tree(tmp: Path) -> Cert:
    return honest(tmp, ZERO_1D)


def huge_weight(tmp: Path) -> Path:
    """A weight with a 4,900-digit value: the network's canonical text (its hash)
    cannot be printed."""
    cert = _zero_tree(tmp)
    cert.network["layers"][0]["weights"][2][0] = MARK
    return cert.write(tmp / "weight.jsonl", {MARK: HUGE})


def huge_denominator_bias(tmp: Path) -> Path:
    """A bias whose denominator has 4,900 digits (the canonical "p/q" text again)."""
    cert = _zero_tree(tmp)
    cert.network["layers"][0]["biases"][0] = MARK
    return cert.write(tmp / "bias.jsonl", {MARK: HUGE_DENOMINATOR})


def huge_witness(tmp: Path) -> Path:
    """The witness of region '+++' (x > 2) moved to a 4,900-digit x: still inside."""
    cert = _zero_tree(tmp)
    next(r for r in cert.records if r.get("r") == "+++")["x"] = [MARK]
    return cert.write(tmp / "witness.jsonl", {MARK: HUGE})


def long_exponent_witness(tmp: Path) -> Path:
    """A witness coordinate 1e111...1 whose exponent alone has 5,000 digits."""
    cert = _zero_tree(tmp)
    next(r for r in cert.records if r.get("r") == "+++")["x"] = [MARK]
    return cert.write(tmp / "exponent.jsonl", {MARK: LONG_EXPONENT})


def huge_box_bound(tmp: Path) -> Path:
    """A domain whose lower end has 4,900 digits (the verdict names the domain)."""
    cert = honest(tmp, ZERO_1D, "-10,4")
    cert.header["domain"]["lo"] = [MARK]
    return cert.write(tmp / "domain.jsonl", {MARK: HUGE_NEGATIVE})


def huge_negative_multiplier(tmp: Path) -> Path:
    """A negative multiplier is reported with its value."""
    cert = _zero_tree(tmp)
    next(r for r in cert.records if "e" in r)["y"][0][1] = MARK
    return cert.write(tmp / "multiplier.jsonl", {MARK: HUGE_NEGATIVE})


def huge_breakpoint(tmp: Path) -> Path:
    """A breakpoint that does not increase is reported with its value."""
    cert = honest(tmp, ZERO_1D, engine="breakpoints")
    [r for r in cert.records if "b" in r][1]["b"] = MARK
    return cert.write(tmp / "breakpoint.jsonl", {MARK: HUGE_NEGATIVE})


def huge_bound(tmp: Path) -> Path:
    """A theorem whose recomputed bound (Serra, n0 = 20, width 10^6, depth 64) has
    about 6,000 digits, claimed with a wrong bound: the mismatch is reported."""
    dim = 20
    cert = honest(tmp, first_coordinate(dim))
    cert.add_theorem({"name": "serra-2018", "n0": dim, "width": 10**6, "depth": 64,
                      "bound": 1, "ternary": True})
    return cert.write(tmp / "bound.jsonl")


def _box_face_renamed(tmp: Path, name: str) -> Path:
    """The first box face named in a multiplier list of a box certificate, renamed."""
    cert = honest(tmp, "n2_gp_ternary.json", "0,1/100")
    row = next(item for r in cert.records if "e" in r for item in r["y"]
               if isinstance(item[0], str))
    row[0] = name
    return cert.write(tmp / "face.jsonl")


def superscript_face(tmp: Path) -> Path:
    """Box face 'lo²': str.isdigit() says yes, int() says no."""
    return _box_face_renamed(tmp, "lo\u00b2")


def arabic_indic_face(tmp: Path) -> Path:
    """Box face 'hi١' (ARABIC-INDIC DIGIT ONE): int() reads 1, the name is not 'hi1'."""
    return _box_face_renamed(tmp, "hi\u0661")


CRASHES: dict[str, Callable[[Path], Path]] = {f.__name__: f for f in (
    huge_weight, huge_denominator_bias, huge_witness, long_exponent_witness, huge_box_bound,
    huge_negative_multiplier, huge_breakpoint, huge_bound, superscript_face,
    arabic_indic_face)}


@pytest.mark.parametrize("name", list(CRASHES))
def test_hostile_values_give_one_line(tmp_path: Path, name: str) -> None:
    """From all three entry points: exit 1 or 2, one line, no traceback; the API
    returns a verdict instead of raising."""
    outcomes = _all_three(CRASHES[name](tmp_path))
    assert_outcomes(outcomes, lambda o: o.code in (1, 2), "exit 1 or 2")


# ======================================================================================
# 6. Resource blow-ups from small files
# ======================================================================================

RESOURCE_SECONDS = 10
RESOURCE_MB = 400
ADDRESS_SPACE = 4 * 2**30  # bytes; a safety net for the machine running the tests


@dataclass(frozen=True)
class Measured:
    """How the standalone checker ended: exit code (None: killed at the time limit),
    wall time, peak resident memory, and its output."""

    code: int | None
    seconds: float
    peak_mb: float
    text: str

    def __str__(self) -> str:
        return (f"exit {self.code} after {self.seconds:.1f} s, peak {self.peak_mb:.0f} MB: "
                f"{self.text[-600:]!r}")


# A small launcher between pytest and the checker: Linux carries a process's peak RSS
# across fork and exec, so a checker forked from pytest itself would report at least
# pytest's own size.  The launcher forks it, caps its address space (a safety net for
# the machine), kills it at the time limit and reports its exit and ru_maxrss (wait4).
_LAUNCHER = """
import json, os, resource, sys, time
report, limit, seconds, *command = sys.argv[1:]
start = time.monotonic()
pid = os.fork()
if pid == 0:
    try:
        resource.setrlimit(resource.RLIMIT_AS, (int(limit), int(limit)))
        os.execv(command[0], command)
    finally:
        os._exit(127)
while True:
    done, status, usage = os.wait4(pid, os.WNOHANG)
    if done:
        code = os.waitstatus_to_exitcode(status)
        break
    if time.monotonic() - start > float(seconds):
        os.kill(pid, 9)
        _, status, usage = os.wait4(pid, 0)
        code = None
        break
    time.sleep(0.01)
with open(report, "w") as out:
    json.dump({"code": code, "seconds": time.monotonic() - start,
               "peak_kb": usage.ru_maxrss}, out)
"""


def run_measured(path: Path) -> Measured:
    """`python -m tvmip.checker PATH` through the launcher."""
    with tempfile.TemporaryDirectory() as folder:
        report = Path(folder) / "report.json"
        proc = subprocess.run(
            [sys.executable, "-c", _LAUNCHER, str(report), str(ADDRESS_SPACE),
             str(RESOURCE_SECONDS), sys.executable, "-m", "tvmip.checker", str(path)],
            capture_output=True, text=True, errors="replace", check=False,
            timeout=RESOURCE_SECONDS + SUBPROCESS_TIMEOUT)
        result = json.loads(report.read_text())
    return Measured(result["code"], result["seconds"], result["peak_kb"] / 1024,
                    (proc.stdout + proc.stderr).strip())


def _two_halves(dim: int, claims: Sequence[str], claimed: int = 2) -> Cert:
    """relu(x_1) in R^dim: the regions x_1 > 0 and x_1 < 0 with different maps, the
    counts claimed as ``claimed`` (3 makes every correct answer exit 1 or 2)."""
    network = first_coordinate(dim)
    records = [{"r": "+", "x": unit(dim)}, {"r": "-", "x": unit(dim, -1)}]
    counts = {name: claimed for name in ("activation_regions", *claims)}
    return Cert(header_for(network, ["activation_regions", *claims]), records,
                exact_end(**counts))


def quadratic_input_dim(tmp: Path) -> Path:
    """input_dim 40,000 in a few hundred gzip bytes: memory quadratic in n0 is 13 GB.
    (The claims are off by one: no correct answer is VALID.)"""
    return _two_halves(40_000, (), claimed=3).write(tmp / "dim.jsonl.gz", gz=True)


def absurd_theorem(tmp: Path) -> Path:
    """Montufar for n0 = 3,000, width 10^6, depth 64: a bound of 1.6 million bits
    (claimed as 2, which it is not)."""
    cert = _two_halves(3000, LINEAR_CLAIMS)
    cert.add_theorem({"name": "montufar-2014", "n0": 3000, "width": 10**6, "depth": 64,
                      "bound": 2, "ternary": True})
    return cert.write(tmp / "theorem.jsonl.gz", gz=True)


def repeated_lookaheads(tmp: Path) -> Path:
    """One honest look-ahead repeated 400,000 times at its node (44 KB of gzip), the
    activation regions claimed one too many."""
    cert = honest(tmp, "n1_degenerate_d2.json", linear=False)
    first = next(i for i, r in enumerate(cert.records) if "*" in r.get("e", ""))
    cert.records[first:first] = [cert.records[first]] * 400_000
    cert.claim("activation_regions", cert.value("activation_regions") + 1)
    return cert.write(tmp / "lookaheads.jsonl.gz", gz=True)


def _distinct_denominators(count_: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [f"1/{rng.randrange(10**899, 10**900)}" for _ in range(count_)]


def witness_denominators(tmp: Path) -> Path:
    """A witness with 1,000 coordinates over distinct 900-digit denominators: their
    common denominator has 900,000 digits (the claims are off by one)."""
    cert = _two_halves(1000, (), claimed=3)
    cert.records[0]["x"] = ["1", *_distinct_denominators(999, 1)]
    return cert.write(tmp / "denominators.jsonl.gz", gz=True)


def multiplier_denominators(tmp: Path) -> Path:
    """An "empty" branch (it is not: x > 0 lies in it) with 1,000 multipliers over
    distinct 900-digit denominators."""
    width = 1000
    network = {"input_dim": 2, "layers": [{"activation": "relu", "weights": [[1, 0]] * width,
               "biases": list(range(width))}], "output": {"weights": [[1] * width], "biases": [0]}}
    y = [[i, d] for i, d in enumerate(_distinct_denominators(width, 2))]
    cert = Cert(header_for(network, ["activation_regions"]), [{"e": "+" * width, "y": y}],
                exact_end(activation_regions=0))
    return cert.write(tmp / "multipliers.jsonl.gz", gz=True)


def _amplified(tmp: Path, name: str, line: str) -> Path:
    header = json.dumps(_zero_tree(tmp).header, separators=(",", ":"))
    path = tmp / name
    path.write_bytes(gzip.compress(f"{header}\n{line}\n".encode(), 9))
    return path


def empty_lists(tmp: Path) -> Path:
    """A record of 6.3 million empty lists: 19 MB of JSON from 19 KB of gzip."""
    return _amplified(tmp, "lists.jsonl.gz", '{"r":"+++","x":[' + "[]," * 6_300_000 + "[]]}")


def nested_objects(tmp: Path) -> Path:
    """Two million {"a": []} objects inside one line: 18 MB from 35 KB of gzip."""
    return _amplified(tmp, "objects.jsonl.gz", '{"a":[' + '{"a":[]},' * 2_000_000 + "{}]}")


def dense_layers(tmp: Path) -> Path:
    """Two dense all-ones layers of 640 neurons over 640 inputs (4 KB of gzip): the
    maps of one pattern cost 640^3 multiply-adds."""
    n = 640
    network = {"input_dim": n, "layers": [
        {"activation": "relu", "weights": [[1] * n] * n, "biases": [0] * n},
        {"activation": "relu", "weights": [[1] * n] * n, "biases": [0] * n}],
        "output": {"weights": [[1] * n], "biases": [0]}}
    cert = Cert(header_for(network, ["activation_regions"]),
                [{"r": "+" * 2 * n, "x": [1] * n}], exact_end(activation_regions=1))
    return cert.write(tmp / "dense.jsonl.gz", gz=True)


COINCIDENT = 100


def coincident_neurons(tmp: Path) -> Path:
    """An honest certificate (f = 0, 2 activation regions, 1 linear region) whose 100
    neurons all are relu(x_1) in R^1000, with a few facet records on x_1 = 0.  At a
    facet point all 100 neurons vanish; a quadratic parallelism test per neuron costs
    100 * 1000^2 / 2 operations per region per record, from a 240 KB file."""
    dim, n = 1000, COINCIDENT
    network = first_coordinate(dim, n)
    network["output"]["weights"] = [[0] * n]
    records: list[dict[str, Any]] = [{"r": "+" * n, "x": unit(dim)}]
    records += [{"e": "+" * j + "-", "y": [[0, 1], [j, 1]]} for j in range(n - 1, 0, -1)]
    records += [{"e": "-" * j + "+", "y": [[0, 1], [j, 1]]} for j in range(1, n)]
    records.append({"r": "-" * n, "x": unit(dim, -1)})
    for t in range(1, 6):
        point = [0, t] + [0] * (dim - 2)
        records += [{"f": [0, 0], "x": point, "n": 1}, {"f": [1, 0], "x": point, "n": 0}]
    cert = Cert(header_for(network, ["activation_regions", *LINEAR_CLAIMS]), records,
                exact_end(activation_regions=2, linear_regions=1, distinct_maps=1))
    return cert.write(tmp / "coincident.jsonl")


BLOWUPS: dict[str, Callable[[Path], Path]] = {f.__name__: f for f in (
    quadratic_input_dim, absurd_theorem, repeated_lookaheads, witness_denominators,
    multiplier_denominators, empty_lists, nested_objects, dense_layers, coincident_neurons)}
HONEST_BLOWUPS = {"coincident_neurons"}  # true certificates: VALID is a right answer too


@pytest.fixture(scope="module")
def blowups(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Measured]:
    """Every blow-up file checked once, two at a time (the time limit is per process)."""
    folder = tmp_path_factory.mktemp("blowups")
    paths = {name: build(folder) for name, build in BLOWUPS.items()}
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {name: pool.submit(run_measured, path) for name, path in paths.items()}
        return {name: future.result() for name, future in futures.items()}


@pytest.mark.parametrize("name", list(BLOWUPS))
def test_small_file_bounded_time_and_memory(blowups: dict[str, Measured], name: str) -> None:
    """Within 10 s and 400 MB: an input error or INVALID (VALID allowed only for the
    honest certificate), one line, no traceback."""
    run = blowups[name]
    assert run.code is not None, f"still running after {RESOURCE_SECONDS} s: {run}"
    assert run.peak_mb < RESOURCE_MB, str(run)
    assert run.text and "\n" not in run.text and "Traceback" not in run.text, str(run)
    if name in HONEST_BLOWUPS and run.code == 0:
        assert run.text.startswith("VALID: 2 activation regions, 1 linear regions"), str(run)
    else:
        assert run.code in (1, 2), str(run)


# ======================================================================================
# 7. Further forgeries
# ======================================================================================


def test_records_out_of_depth_first_order(tmp_path: Path) -> None:
    """The same records with the first two siblings swapped ('-' before '+'): the
    checker must not accept a permuted tree, whose completeness it could not follow."""
    cert = honest(tmp_path, ZERO_1D)
    first, second = [i for i, r in enumerate(cert.records) if "r" in r or "e" in r][:2]
    cert.records[first], cert.records[second] = cert.records[second], cert.records[first]
    assert_rejected(cert.write(tmp_path / "order.jsonl"), r"order|place|skip")


def test_lookahead_before_the_map_is_known(tmp_path: Path) -> None:
    """A look-ahead at the root for a layer-2 neuron: its Motzkin proof holds for the
    wildcard filling '++' (an empty layer-1 pattern, where c = -1), not for the real
    ones.  Believed, it removes every c > 0 branch: 2 activation regions instead of 4."""
    assert oracles.count_1d(FOLD_1D)[0] == 4
    records = [
        {"e": "**+", "y": [[2, 1]]},            # c > 0 "empty" under the filling '++'
        {"e": "++", "y": [[0, 1], [1, 1]]},     # x > 0 and -x > 0
        {"r": "+--", "x": ["1/2"]},
        {"r": "-+-", "x": ["-1/2"]},
        {"e": "--", "y": [[0, 1], [1, 1]]},     # x < 0 and -x < 0
    ]
    cert = Cert(header_for(FOLD_1D, ["activation_regions"]), records,
                exact_end(activation_regions=2))
    assert_rejected(cert.write(tmp_path / "lookahead.jsonl"), r"determin|layer",
                    everywhere=True)


def _coincident_twin(rows: list[Affine], neuron: int) -> int | None:
    return next((j for j, row in enumerate(rows) if j != neuron and row == rows[neuron]), None)


def test_no_facet_proof_through_a_coincident_row(tmp_path: Path) -> None:
    """n2_concurrent_parallel has the line x = 1 twice (neurons 3 and 4, which cancel in
    f).  Every glue facet on it is replaced by a no-facet "proof" that uses the twin
    row: y * (s * row_4) - s * row_3 = 0, a constant <= 0.  Linear regions go up."""
    cert = honest(tmp_path, "n2_concurrent_parallel.json")
    geo = geometry(cert)
    forged = cert.copy()
    for index, record in enumerate(cert.records):
        region, neuron = record.get("f", (None, None))
        if region is None or geo.maps[region] != geo.maps[record["n"]]:
            continue
        twin = _coincident_twin(geo.rows[region], neuron)
        if twin is not None:
            sign = 1 if cert.patterns[region][twin] == "+" else -1
            forged.records[index] = {"nf": [region, neuron], "y": [[twin, 1]], "mu": -sign}
    forged.claim("linear_regions", evidence_count(forged, geo))
    assert forged.value("linear_regions") > true_linear_regions(cert.network)
    assert_rejected(forged.write(tmp_path / "twin.jsonl"), r"hyperplane|itself|coincid")


def test_glue_edge_to_a_region_that_is_not_adjacent(tmp_path: Path) -> None:
    """Two linear regions of n2_concurrent_parallel carry the same map (9 linear
    regions, 8 maps).  An extra facet record glues them at a facet point of one of
    them: 8 linear regions, false."""
    cert = honest(tmp_path, "n2_concurrent_parallel.json")
    geo = geometry(cert)
    edges = [(r["f"][0], r["n"]) for r in cert.records if "f" in r]
    pair = next((a, b) for a in range(len(geo.maps)) for b in range(len(geo.maps))
                if a != b and geo.maps[a] == geo.maps[b]
                and components(geo.maps, [*edges, (a, b)]) < components(geo.maps, edges))
    facet = next(r for r in cert.records if "f" in r and r["f"][0] == pair[0])
    forged = cert.copy()
    forged.records.append({"f": facet["f"], "x": facet["x"], "n": pair[1]})
    forged.claim("linear_regions", evidence_count(forged, geo))
    assert forged.value("linear_regions") < true_linear_regions(cert.network)
    assert_rejected(forged.write(tmp_path / "glue.jsonl"), r"violat|side|neighbou?r|facet")


def test_facet_evidence_out_of_region_order(tmp_path: Path) -> None:
    """The checker reads the facet evidence region by region and checks each region's
    hyperplanes once the records move past it, so evidence of an earlier region after
    a later one's is refused: here a genuine record repeated after a later region's
    (each region has all its evidence, the repeat is harmless but for its place)."""
    cert = honest(tmp_path, "n2_concurrent_parallel.json")
    first = next(i for i, r in enumerate(cert.records) if evidence_region(r) is not None)
    later = next(i for i, r in enumerate(cert.records)
                 if evidence_region(r) not in (None, evidence_region(cert.records[first])))
    records = cert.records.copy()
    records.insert(later + 1, records[first])
    lines = [cert.header, *records, {"end": cert.end}]
    path = tmp_path / "reordered.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    assert_rejected(path, r"region order")


def test_missing_facet_evidence(tmp_path: Path) -> None:
    """The records of one glue edge (from both sides) dropped, a repeat of another
    facet record of the region in place of each: the edge's hyperplane has no
    evidence, and the claims count one linear region more."""
    cert = honest(tmp_path, "n2_concurrent_parallel.json")
    geo = geometry(cert)
    facets = [i for i, r in enumerate(cert.records) if "f" in r]
    for i in facets:
        a, b = cert.records[i]["f"][0], cert.records[i]["n"]
        kept = [j for j in facets if {cert.records[j]["f"][0], cert.records[j]["n"]} != {a, b}]
        forged = cert.copy()
        forged.records = [r for j, r in enumerate(cert.records) if j not in facets or j in kept]
        if evidence_count(forged, geo) > cert.value("linear_regions"):
            break
    else:
        pytest.fail("no glue edge whose loss changes the count")
    for region in (a, b):
        forged.records += [cert.records[j] for j in kept if cert.records[j]["f"][0] == region][:1]
    forged.claim("linear_regions", evidence_count(forged, geo))
    assert_rejected(forged.write(tmp_path / "missing.jsonl"), r"evidence|facet")


def test_ternary_claim_for_a_general_network(tmp_path: Path) -> None:
    cert = honest(tmp_path, "n2_gp_general.json")
    claim = theorem("montufar-2014", 2, 2, 1)
    assert cert.value("linear_regions") >= claim["bound"]
    cert.add_theorem(claim)
    assert_rejected(cert.write(tmp_path / "ternary.jsonl"), r"ternary")
