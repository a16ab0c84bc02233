"""Hypothesis properties: tvmip's counts equal independent oracles on random small
networks, and every certificate it writes verifies with those counts.

Pins the central promise of :func:`tvmip.engine.counting.count` (and of the checker that
re-derives its claims) on networks hypothesis invents: ternary or general
weights, n0 = 1..3, hidden widths 1-5, depth 1-3, rational biases, with duplicated
rows, zero rows, opposite rows (the same hyperplane twice), identity layers, one or
two outputs, output weights that are often 0 (so regions share affine maps):

* n0 = 1: the breakpoint engine and the LP search tree (``engine="tree",
  linear=True``) both give the activation regions, linear regions and distinct
  affine maps of :func:`oracles.count_1d` (over R or an interval), with the
  oracle's patterns, and both certificates verify with all three counts;
* n0 = 2 over a box: activation regions, patterns, linear regions and distinct
  maps equal :func:`oracles.polygon_cells_2d` / :func:`oracles.polygon_linear_count_2d`,
  and the ``linear=True`` certificate verifies with all three;
* n0 = 3: every pattern met on a rational grid (:func:`oracles.grid_patterns`) is
  one tvmip reports (over the grid's box or over R^3), the reported patterns are
  distinct and as many as counted, and the certificate verifies; one-layer networks
  in general position have exactly :func:`oracles.arrangement_count` regions.

tests/test_instances.py compares activation patterns on 40 fixed random networks;
this module adds linear regions and distinct maps, n0 = 3, the tree-vs-breakpoints
agreement, and shrinking counterexamples.  The whole module runs in well under 90 s.
"""

from __future__ import annotations

import itertools
import random
from fractions import Fraction
from pathlib import Path
from typing import Any

import oracles as O
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tvmip.checker.verify import check_file
from tvmip.engine.counting import CountResult, count
from tvmip.errors import TvmipError
from tvmip.model.network import Box, network_from_dict
from tvmip.search.tree import Region

COUNTS = ("activation_regions", "linear_regions", "distinct_maps")
PROPERTY = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
_serial = itertools.count()

# --------------------------------------------------------------------------------------
# Strategies
# --------------------------------------------------------------------------------------

RATIONALS = st.builds(Fraction, st.integers(-6, 6), st.sampled_from((1, 2, 3, 4)))
GENERAL_WEIGHTS = st.builds(Fraction, st.integers(-4, 4), st.sampled_from((1, 1, 2, 3)))
TERNARY_WEIGHTS = st.sampled_from((Fraction(-1), Fraction(0), Fraction(1)))
ROW_EDITS = ("duplicate", "zero", "opposite")


@st.composite
def networks(draw: st.DrawFn, n0: int, max_depth: int = 3, max_width: int = 5) -> dict[str, Any]:
    """A ``tvmip-network/1`` dict: ternary or general weights, rational biases, up to
    two row edits per layer (a duplicated row, a zero row with bias 0 or +-1, a row
    and bias negated from another: the same hyperplane, opposite sides), identity
    layers now and then, one or two outputs whose weights are often 0."""
    weight = TERNARY_WEIGHTS if draw(st.booleans()) else GENERAL_WEIGHTS
    layers = []
    fan_in = n0
    for _ in range(draw(st.integers(1, max_depth))):
        width = draw(st.integers(1, max_width))
        rows = [[draw(weight) for _ in range(fan_in)] for _ in range(width)]
        biases = [draw(RATIONALS) for _ in range(width)]
        for edit in draw(st.lists(st.sampled_from(ROW_EDITS), max_size=2)):
            i, j = draw(st.integers(0, width - 1)), draw(st.integers(0, width - 1))
            if edit == "duplicate":
                rows[j], biases[j] = list(rows[i]), biases[i]
            elif edit == "zero":
                rows[j] = [Fraction(0)] * fan_in
                biases[j] = Fraction(draw(st.sampled_from((0, 1, -1))))
            else:
                rows[j], biases[j] = [-w for w in rows[i]], -biases[i]
        activation = draw(st.sampled_from(("relu", "relu", "relu", "identity")))
        layers.append({"activation": activation,
                       "weights": [[O.fmt(w) for w in row] for row in rows],
                       "biases": [O.fmt(b) for b in biases]})
        fan_in = width
    output_weight = st.one_of(st.just(Fraction(0)), weight)
    outputs = draw(st.integers(1, 2))
    return {"format": "tvmip-network/1", "input_dim": n0, "layers": layers,
            "output": {"weights": [[O.fmt(draw(output_weight)) for _ in range(fan_in)]
                                   for _ in range(outputs)],
                       "biases": [O.fmt(draw(RATIONALS)) for _ in range(outputs)]}}


@st.composite
def boxes(draw: st.DrawFn, n0: int) -> tuple[list[Fraction], list[Fraction]]:
    """An open box around the origin with rational corners."""
    lo = [Fraction(draw(st.integers(-5, -1)), draw(st.integers(1, 3))) for _ in range(n0)]
    hi = [Fraction(draw(st.integers(1, 5)), draw(st.integers(1, 3))) for _ in range(n0)]
    return lo, hi


# --------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("properties")


def tvmip_box(box: tuple[list[Fraction], list[Fraction]] | None) -> Box | None:
    return None if box is None else Box(tuple(box[0]), tuple(box[1]))


def counted(data: dict[str, Any], box: tuple[list[Fraction], list[Fraction]] | None,
            work: Path, **options: Any) -> tuple[CountResult, list[str], Path]:
    """Count with tvmip, writing a certificate; returns the result, the reported
    region patterns, and the certificate's path."""
    patterns: list[str] = []

    def collect(record: Any) -> None:
        if isinstance(record, Region):
            patterns.append(record.pattern)

    path = work / f"cert{next(_serial)}.json.gz"
    result = count(network_from_dict(data), tvmip_box(box), certificate=path,
                   on_record=collect, **options)
    assert result.exact
    assert len(patterns) == len(set(patterns)) == result.activation_regions
    return result, patterns, path


def counts_of(result: CountResult) -> tuple[int | None, ...]:
    return result.activation_regions, result.linear_regions, result.distinct_maps


def assert_certificate(path: Path, expected: dict[str, int]) -> None:
    """The certificate verifies, exactly, with the expected counts."""
    verdict = check_file(path)
    assert verdict.valid, verdict.line
    assert verdict.exact, verdict.line
    for name, value in expected.items():
        assert verdict.count(name) == value, (name, verdict.line)
    path.unlink()


# --------------------------------------------------------------------------------------
# n0 = 1
# --------------------------------------------------------------------------------------


@settings(PROPERTY, max_examples=250)
@given(data=networks(1), box=st.one_of(st.none(), boxes(1)))
def test_one_input_tree_and_breakpoints_equal_the_breakpoint_oracle(
        work: Path, data: dict[str, Any], box: Any) -> None:
    """n0 = 1: the breakpoint engine and the LP tree (linear=True) each give the
    oracle's activation regions, linear regions and distinct maps, and its
    patterns; both certificates verify with the three counts."""
    lo, hi = (None, None) if box is None else (box[0][0], box[1][0])
    pieces = O.breakpoints_1d(data, lo, hi)
    oracle = O.count_1d(data, lo, hi)
    for options in ({"engine": "breakpoints"}, {"engine": "tree", "linear": True}):
        result, patterns, path = counted(data, box, work, **options)
        assert counts_of(result) == oracle, options
        assert set(patterns) == {p.pattern for p in pieces}, options
        assert_certificate(path, dict(zip(COUNTS, oracle)))


# --------------------------------------------------------------------------------------
# n0 = 2
# --------------------------------------------------------------------------------------


@settings(PROPERTY, max_examples=200)
@given(data=networks(2), box=boxes(2))
def test_two_input_counts_equal_the_polygon_oracle(work: Path, data: dict[str, Any],
                                                   box: Any) -> None:
    """n0 = 2 over a box: activation regions and their patterns, linear regions and
    distinct maps equal the exact polygon oracle's; the certificate verifies.  Over
    R^2, tvmip reports (and certifies) a superset of the box's patterns."""
    cells = O.polygon_cells_2d(data, box)
    oracle = (len(cells), *O.polygon_linear_count_2d(cells))
    result, patterns, path = counted(data, box, work, linear=True)
    assert counts_of(result) == oracle
    assert set(patterns) == {cell.pattern for cell in cells}
    assert_certificate(path, dict(zip(COUNTS, oracle)))
    plane, plane_patterns, path = counted(data, None, work)
    assert set(plane_patterns) >= set(patterns)
    assert_certificate(path, {"activation_regions": plane.activation_regions})


# --------------------------------------------------------------------------------------
# n0 = 3
# --------------------------------------------------------------------------------------

GRID_BOX = ([Fraction(-4)] * 3, [Fraction(4)] * 3)


@settings(PROPERTY, max_examples=100)
@given(data=networks(3, max_depth=3, max_width=4), box=st.one_of(st.none(), boxes(3)))
def test_three_input_patterns_contain_every_grid_pattern(work: Path, data: dict[str, Any],
                                                         box: Any) -> None:
    """n0 = 3 (over a box or R^3): the patterns met at 6^3 rational grid points of the
    box (of (-4, 4)^3 for R^3) are among tvmip's patterns; the linear=True
    certificate verifies with tvmip's three counts."""
    result, patterns, path = counted(data, box, work, linear=True)
    grid = O.grid_patterns(data, O.rational_grid(GRID_BOX if box is None else box, 6))
    assert grid <= set(patterns)
    assert_certificate(path, dict(zip(COUNTS, counts_of(result))))


@settings(PROPERTY, max_examples=60)
@given(hyperplanes=st.integers(1, 6), ternary=st.booleans(), seed=st.integers(0, 2**32))
def test_general_position_layer_has_the_arrangement_count(
        work: Path, hyperplanes: int, ternary: bool, seed: int) -> None:
    """n0 = 3, one ReLU layer whose hyperplanes are in general position (checked
    exactly by the oracle): sum_{j<=3} C(n, j) regions over R^3, certified."""
    data = O.general_position_layer(hyperplanes, 3, random.Random(seed), ternary)
    expected = O.arrangement_count(hyperplanes, 3)
    result, _, path = counted(data, None, work)
    assert result.activation_regions == expected
    assert_certificate(path, {"activation_regions": expected})


# --------------------------------------------------------------------------------------
# A bug found while fuzzing: parameters beyond the float range
# --------------------------------------------------------------------------------------

HUGE = "1e400"  # read exactly (10^400); the reader accepts exponents up to 1000


def _huge_bias_network(n0: int) -> dict[str, Any]:
    return {"input_dim": n0, "layers": [{"activation": "relu",
                                         "weights": [[1] * n0, [1] + [0] * (n0 - 1)],
                                         "biases": [0, HUGE]}],
            "output": {"weights": [[1, 1]], "biases": [0]}}


@pytest.mark.parametrize(("n0", "engine", "box"), [
    (1, "breakpoints", None),
    (1, "tree", None),
    (2, "tree", None),
    (2, "tree", ([Fraction(-1)] * 2, [Fraction(10) ** 400] * 2)),
], ids=["n0=1-breakpoints-bias", "n0=1-tree-bias", "n0=2-tree-bias", "n0=2-tree-box-corner"])
def test_parameters_beyond_the_float_range_are_counted_exactly_or_refused(
        work: Path, n0: int, engine: str, box: Any) -> None:
    """A bias of 10^400 (or a box corner of 10^400): the count equals the oracle's,
    or tvmip refuses with one of its own errors -- never an unexpected exception."""
    data = _huge_bias_network(n0)
    if n0 == 1:
        expected = O.count_1d(data)[0]
    else:  # over R^2: a box around the lines' crossing (-10^400, 10^400) is enough
        expected = len(O.polygon_cells_2d(data, box or ([-10**401] * 2, [10**401] * 2)))
    try:
        result, _, path = counted(data, box, work, engine=engine)
    except TvmipError:
        return
    assert result.activation_regions == expected
    assert_certificate(path, {"activation_regions": expected})
