"""The MILP baseline (tvmip.search.mip) on every piecewise-linear activation.

For networks with step, sign, hardtanh, leaky ReLU, quantize and general ``pwl``
activations (hand-built degenerate cases, and a hypothesis property on random
ternary networks): the MILP finds exactly the tree search's patterns
(``tvmip.regions``) and the exact count (``tvmip.count``), over a box and over
R^n0 (through :func:`milp_box`); every witness it reports has its pattern per the
independent oracle of tests/oracles.py; :func:`find_missing` finds a removed
pattern again; and ``tvmip crosscheck`` runs on a step network."""

from __future__ import annotations

import json
from collections.abc import Callable
from fractions import Fraction as Q
from pathlib import Path
from typing import Any

import oracles as O
import pytest
from cli_runner import run_tvmip
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_mip import cube, milp_patterns

import tvmip
from tvmip.checker.model import Box
from tvmip.errors import InputError
from tvmip.model.network import Network, network_from_dict
from tvmip.model.scaled import scale_network
from tvmip.search.mip import find_missing, milp_box

JUMP = {"pwl": {"breakpoints": [0], "pieces": [[0, 0], [0, 1]], "values": [5]}}
"""0 below 0, 1 above, 5 at 0: the value at the breakpoint differs from both sides."""
KINKS = {"pwl": {"breakpoints": ["-1/2", "1/2"], "pieces": [[-1, 0], [2, "3/2"], [1, 2]],
                 "values": ["1/2", "5/2"]}}
"""Continuous, slopes -1, 2, 1."""
STAIRS = {"pwl": {"breakpoints": [0, 1], "pieces": [[0, -1], [1, 0], [0, 2]],
                  "values": [3, "1/2"]}}
"""Jumps at both breakpoints, odd values there."""
QUANTIZE = {"quantize": {"scale": "1/2", "zero_point": 0, "qmin": -2, "qmax": 2}}
"""Five levels -1 .. 1, breakpoints at -3/4, -1/4, 1/4, 3/4."""
QUANTIZE3 = {"quantize": {"scale": 1, "zero_point": 1, "qmin": 0, "qmax": 2}}
"""Three levels -1, 0, 1, breakpoints at -1/2 (value 0) and 1/2 (value 0)."""


def network(n0: int, *layers: tuple[list[list[Any]], list[Any], Any]) -> Network:
    """A network from (weights, biases, activation) triples; output: the sum."""
    data = {"input_dim": n0,
            "layers": [{"weights": w, "biases": b, "activation": a} for w, b, a in layers],
            "output": {"weights": [[1] * len(layers[-1][1])], "biases": [0]}}
    return network_from_dict(data)


CASES: dict[str, Network] = {
    # step(x), step(x) again, step(1/2 - x); then step of their differences, which are
    # constant on every region and 0 (step's breakpoint) on some
    "step_1d": network(1, ([[1], [1], [-1]], [0, 0, "1/2"], "step"),
                       ([[1, -1, 0], [1, 0, -1], [0, 1, 1]], [0, 0, -1], "step")),
    # sign of two lines, then relu of sums of signs: 0 (relu's breakpoint) where they
    # differ, a neuron constant at 0 from its zero row
    "sign_relu_2d": network(2, ([[1, 0], [1, 1], [0, -1]], [0, 0, "1/2"], "sign"),
                            ([[1, 1, 0], [1, 0, 1], [0, 0, 0]], [0, 0, 0], "relu")),
    # saturations at -1 and 1 are constant at hardtanh's breakpoints in layer 2
    "hardtanh_3_layers": network(2, ([[1, 0], [1, -1]], [0, "1/2"], "hardtanh"),
                                 ([[1, 0], [1, 1]], [0, 0], "hardtanh"),
                                 ([[1, -1]], ["1/2"], "relu")),
    # leaky ReLU with slope 1/2 (duplicated neuron) and -1 (|z|), then sign
    "leaky_relu_2d": network(2, ([[1, 1], [1, 1], [0, 1]], [0, 0, "-1/2"], {"leaky_relu": "1/2"}),
                             ([[1, -1, 0], [0, 1, -1]], [0, 1], {"leaky_relu": -1}),
                             ([[1, -1]], [0], "sign")),
    "quantize_1d": network(1, ([[1], [-1]], [0, "1/4"], QUANTIZE),
                           ([[1, 1], [1, -1]], [0, 0], QUANTIZE3)),
    # integer levels, plus 1/2: the sums sit at QUANTIZE3's breakpoints on some regions
    "quantize_2d": network(2, ([[1, 1], [1, -1], [0, 0]], [0, 0, "1/2"], QUANTIZE3),
                           ([[1, 1, 1], [1, -1, 0]], ["1/2", "-1/2"], QUANTIZE3),
                           ([[1, 1]], ["1/4"], QUANTIZE)),
    # the jump's value 5 at its breakpoint: a neuron constant there, and one whose
    # input is constant at the breakpoint on some regions only (z1 - z2 = 0)
    "pwl_jump_1d": network(1, ([[0], [1], [1]], [0, 0, "-1"], JUMP),
                           ([[1, 0, 0], [0, 1, -1], [0, 1, 1]], [-5, 0, -1], JUMP)),
    "pwl_kinks_2d": network(2, ([[1, -1], [1, -1], [0, 0], [1, 1]], [0, 0, "1/2", -1], KINKS),
                            ([[1, 0, -1, 0], [0, 1, 0, 1]], [0, "-1/2"], STAIRS)),
    "pwl_stairs_3_layers": network(1, ([[1], [-1]], [0, 1], STAIRS),
                                   ([[1, 1], [1, -1]], [-1, 0], KINKS),
                                   ([[1, 0], [1, -1], [0, 0]], [0, 0, 1], "hardtanh")),
    "mixed_degenerate": network(2, ([[1, 0], [0, 1], [1, 0], [0, 0]], [0, 0, 0, 0], "step"),
                                ([[1, 1, -1, 0], [-1, 0, 1, 1]], [-1, 0], "hardtanh"),
                                ([[1, 1], [1, -1]], [0, 0], {"leaky_relu": "1/2"})),
}


def position_activations(net: Network) -> list[Any]:
    """The activation at each pattern position."""
    return [layer.activation for layer in net.layers if layer.activation.stateful
            for _ in layer.biases]


def tree_patterns(net: Network, box: Box | None) -> set[str]:
    """The tree search's patterns; tvmip.count's exact count agrees with them."""
    patterns = {r.pattern for r in tvmip.regions(net, box, engine="tree", glue=False)}
    assert tvmip.count(net, box).activation_regions == len(patterns)
    return patterns


DOMAINS = {"box": lambda dim: cube(dim, Q(3, 2)), "R^n0": lambda dim: None}


@pytest.mark.parametrize("domain", DOMAINS)
@pytest.mark.parametrize("name", CASES)
def test_milp_finds_the_tree_patterns(name: str, domain: str) -> None:
    net = CASES[name]
    box = DOMAINS[domain](net.input_dim)
    assert milp_patterns(net, box) == tree_patterns(net, box)


def test_cases_cover_breakpoint_states() -> None:
    """Every case has a region with a neuron at a breakpoint (an odd cell)."""
    for name, net in CASES.items():
        acts = position_activations(net)
        assert any(act.cell(state) % 2 for pattern in tree_patterns(net, None)
                   for act, state in zip(acts, pattern)), name


@pytest.mark.parametrize("domain", DOMAINS)
@pytest.mark.parametrize("name", CASES)
def test_find_missing_finds_a_removed_pattern(name: str, domain: str) -> None:
    """Drop the pattern with the most breakpoint states: it is found again, exactly
    that one, with a point of its region; nothing is missing from the full set."""
    net = CASES[name]
    box = DOMAINS[domain](net.input_dim)
    scaled = scale_network(net)
    known = tree_patterns(net, box)
    acts = position_activations(net)

    def stops(pattern: str) -> int:
        return sum(act.cell(state) % 2 for act, state in zip(acts, pattern))

    dropped = max(sorted(known), key=stops)
    found = find_missing(scaled, box, known - {dropped})
    assert found is not None and found[0] == dropped
    got = O.point_pattern(net.to_json(), found[1])
    assert got is not None and got[0] == dropped
    assert find_missing(scaled, box, known) is None


def test_find_missing_rejects_foreign_symbols() -> None:
    """hardtanh's states are the cells 0..4: '+' is ReLU's, not one of them."""
    net = CASES["hardtanh_3_layers"]
    with pytest.raises(InputError, match="not a pattern"):
        find_missing(scale_network(net), None, {"22+2+"})
    with pytest.raises(InputError, match="not a pattern"):
        find_missing(scale_network(net), None, {"222"})


def test_box_for_all_of_the_space_reaches_breakpoint_lines() -> None:
    """hardtanh(x - y), hardtanh(x + y): the lines x -+ y = -+1 meet at (+-1, 0) and
    (0, +-1), so the box must reach beyond 1 (the region x - y > 1, x + y > 1 lies in
    x > 1); its 9 regions are found over R^2."""
    net = network(2, ([[1, -1], [1, 1]], [0, 0], "hardtanh"))
    domain = milp_box(scale_network(net), None)
    assert all(-lo == hi == 2 for lo, hi in zip(domain.box.lo, domain.box.hi))
    assert len(milp_patterns(net, None)) == 9 == len(tree_patterns(net, None))


# -- a property on random ternary networks -------------------------------------------


ACTIVATIONS: list[Any] = ["relu", "step", "sign", "hardtanh", {"leaky_relu": "1/2"},
                          {"leaky_relu": -1}, QUANTIZE, QUANTIZE3, JUMP, KINKS, STAIRS,
                          "identity"]


@st.composite
def ternary_networks(draw: Callable[[st.SearchStrategy[Any]], Any]) -> Network:
    """1 or 2 inputs, 1-3 layers of 1-3 neurons with ternary weights, mixed activations
    (the first layer has a state), biases in {-1, -1/2, 0, 1/2, 1}; sometimes a
    duplicated neuron, or a zero row whose bias is one of the activation's breakpoints."""
    fan_in = n0 = draw(st.integers(1, 2))
    layers = []
    for depth in range(draw(st.integers(1, 3))):
        act = draw(st.sampled_from(ACTIVATIONS[:-1] if depth == 0 else ACTIVATIONS))
        width = draw(st.integers(1, 3))
        w = [[draw(st.sampled_from((-1, 0, 1))) for _ in range(fan_in)] for _ in range(width)]
        b = [draw(st.sampled_from((-1, "-1/2", 0, "1/2", 1))) for _ in range(width)]
        breakpoints = O.pwl_table(O.parse_activation(act)).breakpoints
        edit = draw(st.sampled_from(("none", "duplicate", "constant")))
        if edit == "duplicate" and width > 1:
            w[1], b[1] = list(w[0]), b[0]
        elif edit == "constant" and breakpoints:
            w[0], b[0] = [0] * fan_in, O.fmt(draw(st.sampled_from(breakpoints)))
        layers.append((w, b, act))
        fan_in = width
    return network(n0, *layers)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ternary_networks())
def test_random_ternary_networks(net: Network) -> None:
    """Over the box (-2, 2)^n0, and over R when n0 = 1 (where :func:`milp_box` stays
    small: for two inputs and several layers its Hadamard bound grows beyond what
    the float solver handles reliably)."""
    for box in (cube(net.input_dim, Q(2)), *([None] if net.input_dim == 1 else [])):
        assert milp_patterns(net, box) == tree_patterns(net, box)


# -- the command line ----------------------------------------------------------------


def test_crosscheck_command_on_a_step_network(tmp_path: Path) -> None:
    path = tmp_path / "step.json"
    path.write_text(json.dumps(CASES["step_1d"].to_json()))
    out = run_tvmip(["crosscheck", str(path)], real_process=True)
    assert out.code == 0, out
    count = len(tree_patterns(CASES["step_1d"], None))
    assert f"{count} activation regions over R^1" in out.stdout
    assert "MILP over R^1 through the box" in out.stdout
    assert "MIP cross-check: no missing pattern" in out.stdout
    out = run_tvmip(["crosscheck", str(path), "--box", "-1,1"], real_process=True)
    assert out.code == 0, out
    assert "over box (-1, 1)" in out.stdout and "MILP over" not in out.stdout
    assert "MIP cross-check: no missing pattern" in out.stdout
