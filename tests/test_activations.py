"""tvmip on piecewise-linear activations against the independent oracles of
tests/oracles.py (which import nothing from tvmip), through the public API only.

The activations are identity, relu, step, sign, hardtanh, leaky ReLU, ONNX
quantize-dequantize and general ``pwl`` maps (possibly discontinuous, with a value
at each breakpoint that may differ from both one-sided limits).  The oracles are
exact: 1-D breakpoint propagation (:func:`oracles.breakpoints_1d`), 2-D polygon
splitting (:func:`oracles.polygon_cells_2d`), and patterns met on a rational grid
(:func:`oracles.grid_patterns`, a lower bound for any n0).

* random small networks (seeded; n0 = 1 with 1-3 layers over R and over an
  interval, both engines; n0 = 2 with 1-2 layers over a box, the tree engine):
  activation regions, linear regions and distinct maps equal the oracle's, every
  certificate is VALID with those counts, ``tvmip.regions`` lists exactly the
  oracle's patterns with the oracle's affine maps and linear-region partition, its
  witnesses lie inside their regions, and every grid pattern is among them;
* hand-built degenerate networks, each with its counts argued in its docstring;
* a hypothesis property for n0 = 1: both engines agree with the 1-D oracle.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction as Q
from pathlib import Path
from random import Random
from typing import Any, Protocol, TypeVar

import oracles as O
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tvmip
from tvmip.checker.linear import unique_neighbours

T = TypeVar("T")
Counts = tuple[int, int, int]  # activation regions, linear regions, distinct maps
Maps = tuple[tuple[Q, ...], ...]  # per output: (g_1, .., g_n0, c)
RegionView = dict[str, tuple[Maps, int]]  # pattern -> (output maps, linear-region id)
Box = tuple[list[Any], list[Any]] | None  # (lo, hi) corners; None: all of R^n0

# --------------------------------------------------------------------------------------
# Random networks
# --------------------------------------------------------------------------------------


class Chooser(Protocol):
    """The two methods of :class:`random.Random` the generators use."""

    def choice(self, seq: Sequence[T]) -> T: ...

    def randint(self, a: int, b: int) -> int: ...


class Drawer:
    """A :class:`Chooser` over a hypothesis ``draw``, so the seeded generators also
    serve as hypothesis strategies (which then shrink counterexamples)."""

    def __init__(self, draw: Callable[[st.SearchStrategy[Any]], Any]) -> None:
        self.draw = draw

    def choice(self, seq: Sequence[T]) -> T:
        return self.draw(st.sampled_from(seq))

    def randint(self, a: int, b: int) -> int:
        return self.draw(st.integers(a, b))


SLOPES = (-2, -1, Q(-1, 2), 0, Q(1, 2), 1, 2)
LEVELS = (-2, -1, Q(-1, 2), 0, Q(1, 2), 1, Q(3, 2), 2)
KINDS = ("identity", "relu", "step", "sign", "hardtanh", "leaky_relu", "quantize", "pwl", "pwl")


def random_pwl(r: Chooser) -> dict[str, Any]:
    """A ``pwl`` activation with 1-3 breakpoints (half-integers), random slopes, and
    either continuous (each piece meets the next at the breakpoint, whose value is
    that common point) or with jumps (offsets at random; the value at a breakpoint
    is the left limit, the right limit, or something else)."""
    k = r.randint(1, 3)
    ts = [Q(r.randint(-4, 2), 2)]
    for _ in range(k - 1):
        ts.append(ts[-1] + Q(r.randint(1, 4), 2))
    slopes = [Q(r.choice(SLOPES)) for _ in range(k + 1)]
    continuous = r.randint(0, 1)
    offsets, values = [Q(r.choice(LEVELS))], []
    for i, t in enumerate(ts):
        left = slopes[i] * t + offsets[i]
        offsets.append(left - slopes[i + 1] * t if continuous else Q(r.choice(LEVELS)))
        right = slopes[i + 1] * t + offsets[i + 1]
        values.append(left if continuous else r.choice((left, right, Q(r.choice(LEVELS)))))
    return {"pwl": {"breakpoints": [O.fmt(t) for t in ts],
                    "pieces": [[O.fmt(a), O.fmt(b)] for a, b in zip(slopes, offsets)],
                    "values": [O.fmt(v) for v in values]}}


def random_activation(r: Chooser) -> Any:
    """Any activation of the network format; quantize with 2-6 levels."""
    kind = r.choice(KINDS)
    if kind == "leaky_relu":
        return {"leaky_relu": O.fmt(Q(r.choice(("1/10", "1/2", 1, -1, 2, 0))))}
    if kind == "quantize":
        qmin = r.randint(-3, 0)
        qmax = qmin + r.randint(1, 5)
        return {"quantize": {"scale": r.choice(("1/2", 1, "1/3", "3/2")),
                             "zero_point": r.randint(qmin, qmax), "qmin": qmin, "qmax": qmax}}
    if kind == "pwl":
        return random_pwl(r)
    return kind


def random_network(r: Chooser, n0: int, depth: int, max_width: int = 5) -> dict[str, Any]:
    """Hidden layers of width 2..max_width, each with a random activation; ternary or
    small rational weights, simple rational biases; sometimes a duplicated row, or a
    constant row whose value is one of the activation's breakpoints (so the neuron
    sits in a breakpoint's cell and its value there must propagate)."""
    ternary = r.randint(0, 1)
    weights = (-1, 0, 1) if ternary else (-2, -1, Q(-1, 2), 0, Q(1, 2), 1, 2)
    layers, fan_in = [], n0
    for _ in range(depth):
        width = r.randint(2, max_width)
        act = random_activation(r)
        w = [[O.fmt(Q(r.choice(weights))) for _ in range(fan_in)] for _ in range(width)]
        b = [O.fmt(Q(r.randint(-6, 6), r.choice((1, 2, 3, 4)))) for _ in range(width)]
        edit = r.choice(("none", "none", "duplicate", "constant"))
        if edit == "duplicate":
            w[1], b[1] = list(w[0]), b[0]
        elif edit == "constant":
            breakpoints = O.pwl_table(O.parse_activation(act)).breakpoints
            w[0] = [0] * fan_in
            b[0] = O.fmt(r.choice(breakpoints)) if breakpoints else 0
        layers.append({"weights": w, "biases": b, "activation": act})
        fan_in = width
    out = [O.fmt(Q(r.choice((-1, 0, 1, 1, 2)))) for _ in range(fan_in)]
    return {"format": "tvmip-network/1", "input_dim": n0, "layers": layers,
            "output": {"weights": [out], "biases": [0]}}


def random_cases(seed: int, count: int, n0: int) -> list[tuple[str, dict[str, Any], Box]]:
    """Seeded cases: n0 = 1 with 1-3 layers, alternately over R and an interval;
    n0 = 2 with 1-2 layers over a box."""
    r = Random(seed)
    cases = []
    for i in range(count):
        net = random_network(r, n0, r.randint(1, 3 if n0 == 1 else 2))
        if n0 == 1:
            box = None if i % 2 == 0 else ([Q(r.randint(-12, -1), 4)], [Q(r.randint(1, 12), 4)])
        else:
            box = ([Q(-5, 2), -2], [2, Q(5, 2)])
        cases.append((f"n0={n0}-{i}", net, box))
    return cases


# --------------------------------------------------------------------------------------
# Comparing tvmip with an oracle
# --------------------------------------------------------------------------------------


def oracle_1d(data: dict[str, Any], box: Box) -> tuple[Counts, RegionView]:
    """Counts and regions of a one-input network by :func:`oracles.breakpoints_1d`."""
    lo, hi = (None, None) if box is None else (Q(box[0][0]), Q(box[1][0]))
    pieces = O.breakpoints_1d(data, lo, hi)
    view = {p.pattern: (p.output_map, comp)
            for p, comp in zip(pieces, O.linear_components_1d(pieces))}
    return O.count_1d(data, lo, hi), view


def oracle_2d(data: dict[str, Any], box: Box) -> tuple[Counts, RegionView]:
    """Counts and regions of a two-input network over a box by polygon splitting."""
    assert box is not None
    cells = O.polygon_cells_2d(data, box)
    view = {c.pattern: (c.outputs, comp) for c, comp in zip(cells, O.polygon_components_2d(cells))}
    return (len(cells), *O.polygon_linear_count_2d(cells)), view


def tvmip_box(box: Box, dim: int) -> Any:
    if box is None:
        return None
    return tvmip.parse_box(",".join(str(Q(v)) for v in [*box[0], *box[1]]), dim)


def same_partition(a: dict[str, int], b: dict[str, int]) -> bool:
    """Two labellings of the same keys induce the same partition."""
    pairs = {(a[k], b[k]) for k in a}
    return len(pairs) == len(set(a.values())) == len(set(b.values()))


def assert_regions(data: dict[str, Any], listed: list[Any], expected: RegionView,
                   glued: bool = True) -> None:
    """tvmip's region records against the oracle's: the same patterns, each witness
    strictly inside its region (the oracle's pattern there) with f(witness) equal to
    the listed map's value (f evaluated by the activations' definitions), the same
    affine maps, and the same partition into linear regions (none if not ``glued``)."""
    got: RegionView = {}
    for region in listed:
        maps = tuple((*g, c) for g, c in zip(region.gradient, region.offset))
        got[region.pattern] = (maps, region.linear_region)
        at = O.point_pattern(data, region.witness)
        assert at is not None and at[0] == region.pattern, (region.pattern, region.witness, at)
        value = O.evaluate(data, region.witness)
        assert value == tuple(sum((g * x for g, x in zip(row, region.witness)), c)
                              for row, c in zip(region.gradient, region.offset))
    assert len(got) == len(listed), "a pattern is listed twice"
    assert set(got) == set(expected), (sorted(set(got) - set(expected)),
                                       sorted(set(expected) - set(got)))
    wrong = {p: (got[p][0], expected[p][0]) for p in got if got[p][0] != expected[p][0]}
    assert not wrong, f"affine maps differ (tvmip, oracle): {wrong}"
    if not glued:
        assert all(v[1] is None for v in got.values())
        return
    assert same_partition({p: v[1] for p, v in got.items()}, {p: v[1] for p, v in expected.items()})


def assert_tvmip(data: dict[str, Any], box: Box, engine: str, expected: Counts,
                 regions: RegionView, tmp: Path) -> None:
    """tvmip's linear count with ``engine`` gives ``expected`` exactly, its certificate
    is VALID with those counts, and ``tvmip.regions`` matches the oracle's regions."""
    net = tvmip.network_from_dict(data)
    domain = tvmip_box(box, data["input_dim"])
    cert = tmp / f"{engine}.jsonl"
    if not unique_neighbours(net):
        # n0 >= 2 and a jump feeds a later layer: a facet can have several neighbours
        # (jump_network), which the facet evidence cannot show; only activation
        # regions are certified, and --linear is refused before the search.
        with pytest.raises(tvmip.InputError, match="one neighbour"):
            tvmip.count(net, domain, linear=True, engine=engine)
        result = tvmip.count(net, domain, engine=engine, certificate=cert)
        assert result.exact and result.activation_regions == expected[0]
        verdict = tvmip.check(cert)
        assert verdict.valid and verdict.count("activation_regions") == expected[0]
        assert_regions(data, list(tvmip.regions(net, domain, engine=engine)), regions,
                       glued=False)
        return
    result = tvmip.count(net, domain, linear=True, engine=engine, certificate=cert)
    got = (result.activation_regions, result.linear_regions, result.distinct_maps)
    assert result.exact and got == expected, f"{engine}: tvmip {got}, oracle {expected}"
    verdict = tvmip.check(cert)
    assert verdict.valid, verdict.line
    claims = ("activation_regions", "linear_regions", "distinct_maps")
    assert tuple(verdict.count(c) for c in claims) == expected, verdict.line
    assert_regions(data, list(tvmip.regions(net, domain, engine=engine)), regions)


def grid_box(box: Box, dim: int) -> tuple[list[Any], list[Any]]:
    return box if box is not None else ([-8] * dim, [8] * dim)


def oracle(data: dict[str, Any], box: Box) -> tuple[Counts, RegionView]:
    """The exact oracle for the network's input dimension (1 or 2; 2 needs a box)."""
    return (oracle_1d if data["input_dim"] == 1 else oracle_2d)(data, box)


def compare(data: dict[str, Any], box: Box, counts: Counts, regions: RegionView,
            tmp: Path) -> None:
    """tvmip against the oracle's ``counts`` and ``regions`` over ``box``: both
    engines for n0 = 1, the tree engine for n0 = 2; then the grid lower bound (every
    pattern met at a grid point that is on no breakpoint is a region)."""
    n0 = data["input_dim"]
    for engine in ("breakpoints", "tree") if n0 == 1 else ("tree",):
        assert_tvmip(data, box, engine, counts, regions, tmp)
    grid = O.rational_grid(grid_box(box, n0), 400 if n0 == 1 else 24)
    assert O.grid_patterns(data, grid) <= set(regions)


CASES_1D = random_cases(2025, 60, 1)
CASES_2D = random_cases(7, 40, 2)


@pytest.mark.parametrize(("name", "data", "box"), CASES_1D, ids=[c[0] for c in CASES_1D])
def test_random_1d(name: str, data: dict[str, Any], box: Box, tmp_path: Path) -> None:
    """Both engines, over R or an interval, against :func:`oracles.breakpoints_1d`."""
    compare(data, box, *oracle(data, box), tmp_path)


def assert_plane(data: dict[str, Any], inside: RegionView, tmp: Path) -> None:
    """Over all of R^2, where no exact oracle runs: the linear count's certificate is
    VALID with tvmip's counts, tvmip lists as many distinct patterns as it counts,
    every region the box oracle found (``inside``) is among them with the same map,
    and so is every pattern met on a grid over (-8, 8)^2."""
    net = tvmip.network_from_dict(data)
    cert = tmp / "plane.jsonl"
    result = tvmip.count(net, None, linear=unique_neighbours(net), engine="tree",
                         certificate=cert)
    verdict = tvmip.check(cert)
    assert verdict.valid, verdict.line
    assert verdict.activation_regions == result.activation_regions
    listed = {r.pattern: tuple((*g, c) for g, c in zip(r.gradient, r.offset))
              for r in tvmip.regions(net, None)}
    assert len(listed) == result.activation_regions
    assert all(listed.get(p) == maps for p, (maps, _) in inside.items())
    assert O.grid_patterns(data, O.rational_grid(grid_box(None, 2), 40)) <= set(listed)


@pytest.mark.parametrize(("name", "data", "box"), CASES_2D, ids=[c[0] for c in CASES_2D])
def test_random_2d(name: str, data: dict[str, Any], box: Box, tmp_path: Path) -> None:
    """Over the box against the polygon oracle, then over R^2 (:func:`assert_plane`)."""
    counts, regions = oracle(data, box)
    compare(data, box, counts, regions, tmp_path)
    assert_plane(data, regions, tmp_path)


# --------------------------------------------------------------------------------------
# The oracle's own activations, checked against their definitions
# --------------------------------------------------------------------------------------

ACTIVATION_SPECS = [
    "identity", "relu", "step", "sign", "hardtanh", {"leaky_relu": "1/10"},
    {"leaky_relu": 1}, {"quantize": {"scale": "1/2", "zero_point": 1, "qmin": -2, "qmax": 3}},
    {"quantize": {"scale": 1, "zero_point": 0, "qmin": -2, "qmax": 2}},
    {"pwl": {"breakpoints": [-1, "1/2"], "pieces": [[0, 1], [2, 0], [-1, 3]], "values": [7, 1]}},
]


@pytest.mark.parametrize("spec", ACTIVATION_SPECS, ids=str)
def test_oracle_tables_match_definitions(spec: Any) -> None:
    """The oracle's :class:`oracles.Pwl` table of each activation (used by the region
    oracles) gives the value of its definition (used by :func:`oracles.evaluate`) at
    every breakpoint, between breakpoints and beyond them; and the reader round-trips."""
    act = O.parse_activation(spec)
    table = O.pwl_table(act)
    ts = list(table.breakpoints)
    probes = [*ts, *(Q(a + b, 2) for a, b in itertools.pairwise(ts))]
    probes += [Q(v, 4) for v in range(-20, 21)] + ([ts[0] - 1, ts[-1] + 1] if ts else [])
    for z in probes:
        assert table(z) == O.activation_value(act, z), (spec, z)
    assert O.parse_activation(O.activation_json(act)) == act


def test_oracle_quantize_by_hand() -> None:
    """scale 1/2, zero point 1, q in [-2, 3]: levels (q - 1)/2 for q = -2..3, i.e.
    -3/2..1; round(z / (1/2)) = round(2z) ties to even: z = 1/4 -> round(1/2) = 0 ->
    q = 1 -> 0; z = 3/4 -> round(3/2) = 2 -> q = 3 -> 1; z = -3/4 -> round(-3/2) = -2
    -> q = -1 -> -1; z = -5 clamps to q = -2 -> -3/2."""
    act = O.parse_activation(ACTIVATION_SPECS[7])
    assert [O.activation_value(act, Q(z)) for z in ("1/4", "3/4", "-3/4", -5, 5)] == [
        0, 1, -1, Q(-3, 2), 1]
    table = O.pwl_table(act)
    assert table.breakpoints == tuple(Q(m, 4) for m in (-5, -3, -1, 1, 3))
    assert [O.round_half_even(Q(n, 2)) for n in range(-7, 8)] == [round(Q(n, 2)) for n in range(-7, 8)]


def test_oracle_symbols() -> None:
    """One breakpoint: -, 0, +; otherwise base 62, then code points from U+0100."""
    assert [O.symbol(c, 1) for c in range(3)] == ["-", "0", "+"]
    assert [O.symbol(c, 2) for c in range(5)] == ["0", "1", "2", "3", "4"]
    assert O.symbol(10, 31) == "A" and O.symbol(61, 31) == "z" and O.symbol(62, 40) == "\u0100"


# --------------------------------------------------------------------------------------
# Hand-built degenerate networks
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """A network, tvmip's domain (None: R^n0), the hand count (activation regions,
    linear regions, distinct maps) and the hand list of patterns.  ``oracle_box`` is
    the box the 2-D oracle uses when the domain is R^2 (one meeting every region)."""

    network: dict[str, Any]
    box: Box
    counts: Counts
    patterns: frozenset[str]
    oracle_box: Box = None


HAND: dict[str, Callable[[], Case]] = {}


def hand(fn: Callable[[], Case]) -> Callable[[], Case]:
    HAND[fn.__name__] = fn
    return fn


def network(n0: int, *layers: tuple[list[list[Any]], list[Any], Any], out: list[Any]) -> dict[str, Any]:
    """A network dict from (weights, biases, activation) triples and output weights."""
    return {"input_dim": n0,
            "layers": [{"weights": w, "biases": b, "activation": a} for w, b, a in layers],
            "output": {"weights": [out], "biases": [0]}}


def quantize(scale: Any, zero_point: int, qmin: int, qmax: int) -> dict[str, Any]:
    return {"quantize": {"scale": scale, "zero_point": zero_point, "qmin": qmin, "qmax": qmax}}


@hand
def duplicated_steps_1d() -> Case:
    """step(x), step(x), step(x - 1), output weights 1, -1, 1, over R.  The two
    copies share the breakpoint 0, so the cuts are 0 and 1: patterns ---, ++-, +++
    (3 activation regions).  f = 0, 1 - 1 = 0, 1: the first two pieces have the same
    map 0 and share the facet {0}: glued (f has no jump there, the copies cancel), so
    2 linear regions and 2 distinct maps."""
    net = network(1, ([[1], [1], [1]], [0, 0, -1], "step"), out=[1, -1, 1])
    return Case(net, None, (3, 2, 2), frozenset({"---", "++-", "+++"}))


@hand
def duplicated_steps_2d() -> Case:
    """step(x), step(x), step(y), output weights 1, 1, 1, over (-1, 1)^2.  Two lines
    x = 0 (doubled) and y = 0: 4 quadrants, f = 0, 2, 1, 3 (all different), so 4
    activation regions, 4 linear regions, 4 distinct maps."""
    net = network(2, ([[1, 0], [1, 0], [0, 1]], [0, 0, 0], "step"), out=[1, 1, 1])
    return Case(net, ([-1, -1], [1, 1]), (4, 4, 4), frozenset({"---", "--+", "++-", "+++"}))


@hand
def removable_jump() -> Case:
    """step(x) + step(-x) over R: 1 on both sides of 0 and 2 at 0.  Patterns -+ and
    +- (2 activation regions); equal maps (the constant 1) on both sides of the facet
    {0}: glued into 1 linear region, 1 distinct map."""
    net = network(1, ([[1], [-1]], [0, 0], "step"), out=[1, 1])
    return Case(net, None, (2, 1, 1), frozenset({"-+", "+-"}))


@hand
def constant_at_breakpoint() -> Case:
    """Layer 1 (step): n1 = step(0 x + 0) is identically at step's breakpoint: state 0,
    value step(0) = 1, and it never branches; n2 = step(x).  Layer 2 (relu): m1 =
    relu(n1 - 1) = relu(0) identically: state 0, value 0; m2 = relu(n1 + n2 - 3/2) =
    relu(n2 - 1/2): -1/2 (state -) for x < 0, +1/2 (state +) for x > 0.  Over R:
    patterns 0-0- and 0+0+ (2 regions); f = m1 + m2 = 0 and 1/2: 2 linear regions, 2
    maps.  (Taking step(0) = 0 would make m1 and m2 negative everywhere.)"""
    net = network(1, ([[0], [1]], [0, 0], "step"), ([[1, 0], [1, 1]], [-1, "-3/2"], "relu"),
                  out=[1, 1])
    return Case(net, None, (2, 2, 2), frozenset({"0-0-", "0+0+"}))


@hand
def constant_at_odd_value() -> Case:
    """A pwl with breakpoint 0, pieces 0 (below) and 1 (above) and the value 5 at 0.
    Layer 1: n1 = sigma(0 x + 0) = 5 (state 0), n2 = sigma(x).  Layer 2 (sign):
    sign(n1 - 4) = sign(1): constant in the + piece; sign(n1 + n2 - 11/2) = sign(n2 -
    1/2): - for x < 0, + for x > 0.  Over R: patterns 0-+- and 0+++; f = sum of layer
    2 = 1 - 1 = 0 and 1 + 1 = 2: 2 activation regions, 2 linear regions, 2 maps."""
    pwl = {"pwl": {"breakpoints": [0], "pieces": [[0, 0], [0, 1]], "values": [5]}}
    net = network(1, ([[0], [1]], [0, 0], pwl), ([[1, 0], [1, 1]], [-4, "-11/2"], "sign"),
                  out=[1, 1])
    return Case(net, None, (2, 2, 2), frozenset({"0-+-", "0+++"}))


@hand
def constant_hardtanh_at_saturation() -> Case:
    """hardtanh(hardtanh(x)) over R.  Layer 1: h = clip(x): cells 0, 2, 4 on x < -1,
    (-1, 1), x > 1.  Layer 2 reads h: identically -1 on x < -1 (breakpoint t_1, cell
    1), x on (-1, 1) (cell 2), identically 1 on x > 1 (t_2, cell 3).  So 3 regions 01,
    22, 43 (no new cut); f = -1, x, 1: 3 linear regions, 3 maps."""
    net = network(1, ([[1]], [0], "hardtanh"), ([[1]], [0], "hardtanh"), out=[1])
    return Case(net, None, (3, 3, 3), frozenset({"01", "22", "43"}))


@hand
def hardtanh_saturating_both_sides() -> Case:
    """hardtanh(2 hardtanh(x)) over R.  Layer 2's pre-activation 2h is -2 (piece 0)
    on x < -1, 2x on (-1, 1) crossing -1 and 1 at x = -1/2, 1/2, and 2 (piece 4) on
    x > 1: regions 00, 20, 22, 24, 44 (5).  f = -1, -1, 2x, 1, 1: the saturated pieces
    glue across x = -1 and x = 1, so 3 linear regions, 3 maps."""
    net = network(1, ([[1]], [0], "hardtanh"), ([[2]], [0], "hardtanh"), out=[1])
    return Case(net, None, (5, 3, 3), frozenset({"00", "20", "22", "24", "44"}))


@hand
def hardtanh_parallel_lines_2d() -> Case:
    """hardtanh(x + y) over (-2, 2)^2: the parallel lines x + y = -1 and x + y = 1 cut
    the square into 3 bands (cells 0, 2, 4); f = -1, x + y, 1: 3, 3, 3."""
    net = network(2, ([[1, 1]], [0], "hardtanh"), out=[1])
    return Case(net, ([-2, -2], [2, 2]), (3, 3, 3), frozenset({"0", "2", "4"}))


@hand
def step_output_weight_zero_2d() -> Case:
    """step(x), step(y), step(x + y) with output weights 0, over R^2: three lines
    through the origin, 6 sectors (x + y = 0 splits the quadrants x > 0 > y and
    x < 0 < y).  f = 0 everywhere, so all six glue across their shared rays: 6
    activation regions, 1 linear region, 1 map.  The box (-1, 1)^2 meets every
    sector, so the polygon oracle counts the same there."""
    net = network(2, ([[1, 0], [0, 1], [1, 1]], [0, 0, 0], "step"), out=[0, 0, 0])
    patterns = frozenset({"+++", "+-+", "+--", "---", "-+-", "-++"})
    return Case(net, None, (6, 1, 1), patterns, ([-1, -1], [1, 1]))


@hand
def step_output_weight_zero_1d() -> Case:
    """step(x), step(x - 1), step(x + 2) with output weights 0 over R: cuts -2, 0, 1
    give 4 regions (x < -2: ---, (-2, 0): --+, (0, 1): +-+, x > 1: +++); f = 0
    everywhere, glued across all three cuts: 1 linear region, 1 map."""
    net = network(1, ([[1], [1], [1]], [0, -1, 2], "step"), out=[0, 0, 0])
    return Case(net, None, (4, 1, 1), frozenset({"---", "--+", "+-+", "+++"}))


@hand
def coincident_and_parallel_lines_2d() -> Case:
    """Layer 1 (relu): relu(x), relu(-x), relu(y), relu(-y) (lines x = 0, y = 0);
    x = r1 - r2 and y = r3 - r4 on every region.  Layer 2 (step): step(x), coincident
    with x = 0; step(x - 1/2), parallel to it; step(y + 1/2), parallel to y = 0.
    Over (-1, 1)^2: x-cuts 0, 1/2 and y-cuts -1/2, 0 give 3 x 3 = 9 regions.  f =
    s1 + s2 + s3 = a(x) + b(y), a = 0, 1, 2 on the x-strips, b = 0, 1, 1 on the
    y-strips: the y-strips (-1/2, 0) and (0, 1) have equal maps across y = 0 (a relu
    line only) and glue, so 3 x 2 = 6 linear regions; the values a + b are 0..3: 4
    distinct maps."""
    net = network(2, ([[1, 0], [-1, 0], [0, 1], [0, -1]], [0, 0, 0, 0], "relu"),
                  ([[1, -1, 0, 0], [1, -1, 0, 0], [0, 0, 1, -1]], [0, "-1/2", "1/2"], "step"),
                  out=[1, 1, 1])
    strips_x = (("-+", "--"), ("+-", "+-"), ("+-", "++"))  # (relu states, step states)
    strips_y = (("-+", "-"), ("-+", "+"), ("+-", "+"))
    patterns = frozenset(rx + ry + sx + sy for rx, sx in strips_x for ry, sy in strips_y)
    return Case(net, ([-1, -1], [1, 1]), (9, 6, 4), patterns)


@hand
def coincident_breakpoints_1d() -> Case:
    """hardtanh(2x) then quantize (scale 2, levels -1, 0, 1) of h.  Quantize's
    breakpoints are 2 (m + 1/2) = -1, 1, exactly hardtanh's saturation values: on
    x < -1/2, h = -1 identically (cell 1 of quantize), on x > 1/2, h = 1 (cell 3), in
    between h = 2x in (-1, 1) (cell 2); no new cut.  Ties: q(+-1) = 2 round(+-1/2) =
    0 (half to even), and q = 0 inside too, so f = 0 everywhere.  3 regions 01, 22,
    43; 1 linear region, 1 map."""
    net = network(1, ([[2]], [0], "hardtanh"), ([[1]], [0], quantize(2, 0, -1, 1)), out=[1])
    return Case(net, None, (3, 1, 1), frozenset({"01", "22", "43"}))


@hand
def quantize_ties() -> Case:
    """Layer 1: quantize, scale 1, levels -2..2 (breakpoints -3/2, -1/2, 1/2, 3/2:
    cells 1, 3, 5, 7).  Four constant neurons sit on ties and round half to even:
    n1 = 1/2 -> 0 (cell 5), n2 = 3/2 -> 2 (cell 7), n3 = -1/2 -> 0 (cell 3), n4 =
    -3/2 -> -2 (cell 1); n5 = q(x) takes cells 0, 2, 4, 6, 8 on the intervals cut at
    -3/2, -1/2, 1/2, 3/2.  Layer 2 (step): step(n1 - 1) = step(-1): -, value 0;
    step(n2 - 2), step(n3), step(n4 + 2) are step(0): state 0, value 1 each;
    step(n1 + n5 - 1/2) = step(q(x) - 1/2): - for q <= 0, + for q >= 1.  So 5
    activation regions; f = sum of layer 2 = 3 for x < 1/2 (three regions glued
    across -3/2 and -1/2) and 4 for x > 1/2: 2 linear regions, 2 maps.  Rounding
    half up would give n1 = 1 and move the last cut to x = -1/2."""
    layer2 = ([[1, 0, 0, 0, 0], [0, 1, 0, 0, 0], [0, 0, 1, 0, 0], [0, 0, 0, 1, 0],
               [1, 0, 0, 0, 1]], [-1, -2, 0, 2, "-1/2"], "step")
    net = network(1, ([[0], [0], [0], [0], [1]], ["1/2", "3/2", "-1/2", "-3/2", 0],
                      quantize(1, 0, -2, 2)), layer2, out=[1, 1, 1, 1, 1])
    patterns = frozenset(f"5731{c}-000{'+' if c in '68' else '-'}" for c in "02468")
    return Case(net, None, (5, 2, 2), patterns)


@hand
def leaky_relu_slope_one() -> Case:
    """leaky_relu with slope 1 is the identity, but it has a breakpoint at 0: over R
    two activation regions - and +, with the same map x on both sides of {0}: 1
    linear region, 1 map."""
    net = network(1, ([[1]], [0], {"leaky_relu": 1}), out=[1])
    return Case(net, None, (2, 1, 1), frozenset({"-", "+"}))


@hand
def leaky_relu_slope_one_2d() -> Case:
    """leaky_relu(1) of x and of y, output x + y, over (-1, 1)^2: 4 quadrants (4
    activation regions), all with the map x + y and glued across the axes: 1 linear
    region, 1 map."""
    net = network(2, ([[1, 0], [0, 1]], [0, 0], {"leaky_relu": 1}), out=[1, 1])
    return Case(net, ([-1, -1], [1, 1]), (4, 1, 1), frozenset({"--", "-+", "+-", "++"}))


@hand
def sign_jumps() -> Case:
    """sign(x) - sign(x - 1) over R: x < 0: -1 + 1 = 0; (0, 1): 1 + 1 = 2; x > 1:
    1 - 1 = 0.  Patterns --, +-, ++ (3); maps 0, 2, 0: 3 linear regions (the
    two 0 pieces are not adjacent), 2 distinct maps."""
    net = network(1, ([[1], [1]], [0, -1], "sign"), out=[1, -1])
    return Case(net, None, (3, 3, 2), frozenset({"--", "+-", "++"}))


JUMP = {"pwl": {"breakpoints": [0], "pieces": [[1, 0], [1, 1]], "values": [0]}}
"""sigma(z) = z below 0, z + 1 above, 0 at 0: a jump of 1 at its breakpoint."""


def jump_network() -> dict[str, Any]:
    """Layer 1 (:data:`JUMP`): n1 = sigma(x), n2 = sigma(y + 10) = y + 11 on any box
    above y = -10.  Layer 2 (step): s1 = step(n2 - n1 - 11) = step(y - n1), s2 =
    step(n1); f = s1 + s2.  For x < 0, n1 = x: s2 = 0 and s1 = [y > x]; for x > 0,
    n1 = x + 1: s2 = 1 and s1 = [y > x + 1].  So the regions are A = {x < 0, y < x}
    (pattern -+--, f = 0), B = {x < 0, y > x} (-++-, f = 1), C = {x > 0, y < x + 1}
    (++-+, f = 1) and D = {x > 0, y > x + 1} (++++, f = 2).  Because n1 jumps across
    x = 0, s1's line jumps too: across the facet x = 0 the left side is split at
    y = 0 and the right side at y = 1, so a region has two neighbours across one
    hyperplane.  B and C share the segment x = 0, 0 < y < 1 with the same map 1
    and are glued (f is even continuous there)."""
    return network(2, ([[1, 0], [0, 1]], [0, 10], JUMP), ([[-1, 1], [1, 0]], [-11, 0], "step"),
                   out=[1, 1])


@hand
def jump_across_facet_2d() -> Case:
    """:func:`jump_network` over (-3, 3)^2, where all four regions meet the box
    (D at (1/2, 2)): 4 activation regions; linear regions {A}, {B, C}, {D}: 3; maps
    0, 1, 2: 3.  B's facet on x = 0 (0 < y < 3) borders C below y = 1 and D above,
    C's facet (-3 < y < 1) borders A below y = 0 and B above: a gluer that names one
    neighbour per hyperplane can miss the edge B-C."""
    return Case(jump_network(), ([-3, -3], [3, 3]), (4, 3, 3),
                frozenset({"-+--", "-++-", "++-+", "++++"}))


@hand
def jump_across_facet_small_box() -> Case:
    """:func:`jump_network` over (-1, 1)^2: D = {x > 0, y > x + 1} misses the box
    (y < 1), so 3 activation regions A, B, C; B and C glue across x = 0, 0 < y < 1:
    2 linear regions, 2 maps.  C's facet on x = 0 (-1 < y < 1) borders A below
    y = 0 and B above: its facet point must avoid y = 0."""
    return Case(jump_network(), ([-1, -1], [1, 1]), (3, 2, 2),
                frozenset({"-+--", "-++-", "++-+"}))


@pytest.mark.parametrize("name", sorted(HAND))
def test_hand_case(name: str, tmp_path: Path) -> None:
    """The oracle reproduces the hand count and patterns (2-D cases over R^2 through
    their ``oracle_box``), then tvmip reproduces the oracle."""
    case = HAND[name]()
    data = case.network
    counts, regions = oracle(data, case.box if case.box is not None else case.oracle_box)
    assert counts == case.counts, f"the oracle disagrees with the hand count: {counts}"
    assert set(regions) == case.patterns
    compare(data, case.box, counts, regions, tmp_path)


@pytest.mark.parametrize("spec", ACTIVATION_SPECS, ids=str)
def test_evaluate_at_breakpoints(spec: Any) -> None:
    """tvmip.evaluate of the one-neuron network sigma(x) equals the definition at
    every breakpoint (the value v_j, round half to even for quantize) and around."""
    data = network(1, ([[1]], [0], spec), out=[1])
    net = tvmip.network_from_dict(data)
    table = O.pwl_table(O.parse_activation(spec))
    for z in [*table.breakpoints, *(Q(v, 8) for v in range(-24, 25))]:
        assert tvmip.evaluate(net, [z]) == O.evaluate(data, [z]), (spec, z)


# --------------------------------------------------------------------------------------
# Hypothesis: both engines against the 1-D oracle
# --------------------------------------------------------------------------------------


@st.composite
def networks_1d(draw: Callable[[st.SearchStrategy[Any]], Any]) -> tuple[dict[str, Any], Box]:
    r = Drawer(draw)
    data = random_network(r, 1, r.randint(1, 3), max_width=4)
    box = None if r.randint(0, 1) else ([Q(r.randint(-8, 0), 2)], [Q(r.randint(1, 8), 2)])
    return data, box


@settings(max_examples=60, derandomize=True, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(case=networks_1d())
def test_engines_agree_with_oracle_1d(case: tuple[dict[str, Any], Box], tmp_path: Path) -> None:
    data, box = case
    counts, regions = oracle_1d(data, box)
    for engine in ("breakpoints", "tree"):
        assert_tvmip(data, box, engine, counts, regions, tmp_path)


def test_jumps_before_a_later_layer_get_no_linear_certificate(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """:func:`jump_network` over (-3, 3)^2 has 3 linear regions ({A}, {B, C}, {D}).
    With the producer's refusal switched off, the facet evidence names one neighbour
    per hyperplane, misses the glue edge B-C and claims 4; the checker must refuse
    the claim however its records look, since its facet argument needs continuous
    pre-activations."""
    import tvmip.search.linear as gluing
    from tvmip.engine import counting

    monkeypatch.setattr(counting, "unique_neighbours", lambda network: True)
    monkeypatch.setattr(gluing, "unique_neighbours", lambda network: True)
    net = tvmip.network_from_dict(jump_network())
    cert = tmp_path / "forged.jsonl"
    forged = tvmip.count(net, tvmip_box(([-3, -3], [3, 3]), 2), linear=True, certificate=cert)
    assert forged.linear_regions == 4  # the wrong count the old checker accepted
    verdict = tvmip.check(cert)
    assert not verdict.valid and "one neighbour" in verdict.line, verdict.line
