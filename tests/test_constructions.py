"""The constructions of tvmip.constructions: architecture, ternarity, and exact counts.

Activation regions come from tvmip's counter.  Linear regions are checked
independently for ``n0 = 1`` by an exact breakpoint propagation written here (plain
Fractions, nothing from tvmip).  For ``n0 >= 2`` the tests check the condition the
constructions rest on: on every region the output gradient is non-zero in every
coordinate, so regions mirrored across a fold face never share an affine map (and
regions across a last-layer hyperplane differ by its normal).  Counting distinct
affine maps would not do: with the ternary grid the output is separable,
``f = sum_k F_k(x_k)``, and distant cells share maps.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from itertools import pairwise

import pytest

from tvmip.engine.counting import count
from tvmip.model.network import IDENTITY, RELU, Network, evaluate, network_from_dict
from tvmip.search.tree import Region
from tvmip.theory.constructions import (
    Fold,
    Hyperplane,
    _assemble,
    construct,
    copies,
    grid,
    integer_fold,
    integer_zigzag,
    ramp,
    zigzag,
)
from tvmip.theory.theorems import KINDS, grid_split

# Small parameters: every count below takes well under a second.
GRID = [
    *((1, n, L) for n in (1, 2, 3, 4) for L in (1, 2, 3)),
    (1, 5, 2),
    *(
        (2, n, L)
        for n, L in ((2, 1), (2, 2), (3, 1), (3, 2), (4, 2), (5, 2), (6, 2), (2, 3))
    ),
    *((3, n, L) for n, L in ((3, 1), (3, 2), (4, 1), (6, 2))),
]

Map = tuple[tuple[Fraction, ...], Fraction]


def _affine(
    rows: Sequence[Sequence[Fraction]], biases: Sequence[Fraction], z: list[Map]
) -> list[Map]:
    """The maps ``W z + b`` of a layer, each map as (gradient, intercept) in x."""
    dim = len(z[0][0])
    return [
        (
            tuple(
                sum((w * g[i] for w, (g, _) in zip(row, z)), Fraction(0))
                for i in range(dim)
            ),
            sum((w * c for w, (_, c) in zip(row, z)), b),
        )
        for row, b in zip(rows, biases)
    ]


def pattern_map(network: Network, pattern: str) -> Map:
    """The affine map of the output on the activation region of ``pattern``."""
    n0 = network.input_dim
    z: list[Map] = [
        (tuple(Fraction(int(i == k)) for i in range(n0)), Fraction(0))
        for k in range(n0)
    ]
    states = iter(pattern)
    zero: Map = ((Fraction(0),) * n0, Fraction(0))
    for layer in network.layers:
        pre = _affine(layer.weights, layer.biases, z)
        z = (
            pre
            if layer.activation == IDENTITY
            else [m if next(states) == "+" else zero for m in pre]
        )
    return _affine(network.output.weights, network.output.biases, z)[0]


def _inside(lo: Fraction | None, hi: Fraction | None) -> Fraction:
    """A point of the interval (lo, hi); None is infinite."""
    if lo is None:
        return Fraction(0) if hi is None else hi - 1
    return lo + 1 if hi is None else (lo + hi) / 2


def one_dimensional(network: Network) -> tuple[int, int]:
    """(activation regions, linear regions) of a one-input network, exactly: split R at
    every zero of every pre-activation, layer by layer; count the pieces, and the
    maximal runs of consecutive pieces with the same affine output."""
    pieces: list[tuple[Fraction | None, Fraction | None, list[Map]]] = [
        (None, None, [((Fraction(1),), Fraction(0))])
    ]
    for layer in network.layers:
        split = []
        for lo, hi, z in pieces:
            pre = _affine(layer.weights, layer.biases, z)
            if layer.activation == IDENTITY:
                split.append((lo, hi, pre))
                continue
            roots = {-c / g[0] for g, c in pre if g[0] != 0}
            cuts = sorted(
                r for r in roots if (lo is None or r > lo) and (hi is None or r < hi)
            )
            ends = [lo, *cuts, hi]
            for a, b in pairwise(ends):
                x = _inside(a, b)
                on = [
                    (g, c) if g[0] * x + c > 0 else ((Fraction(0),), Fraction(0))
                    for g, c in pre
                ]
                split.append((a, b, on))
        pieces = split
    maps = [
        _affine(network.output.weights, network.output.biases, z)[0]
        for _, _, z in pieces
    ]
    return len(pieces), 1 + sum(m != n for m, n in pairwise(maps))


def regions(network: Network) -> list[Region]:
    found: list[Region] = []
    result = count(
        network,
        None,
        on_record=lambda r: found.append(r) if isinstance(r, Region) else None,
    )
    assert result.exact and result.activation_regions == len(found)
    return found


# -- the building blocks -------------------------------------------------------------


@pytest.mark.parametrize(
    "fold",
    [ramp(), zigzag(1), zigzag(2), zigzag(5), *(integer_fold(p) for p in (2, 3, 4, 7))],
)
def test_fold_maps_every_piece_onto_the_unit_interval(fold: Fold) -> None:
    """With D = 1 the recombined fold alternates between 0 and 1 at 0, the breakpoints
    and ``ratio``: each of its ``pieces`` intervals maps onto [0, 1]."""

    def g(u: Fraction) -> Fraction:
        total = sum(
            (
                c * max(Fraction(0), s * (u - t))
                for s, t, c in zip(fold.sigmas, fold.thresholds, fold.coefficients)
            ),
            Fraction(0),
        )
        return total - fold.offset

    points = sorted({Fraction(0), fold.ratio, *(t for t in fold.thresholds if t > 0)})
    assert len(points) == fold.pieces + 1
    values = [g(u) for u in points]
    assert set(values) <= {0, 1}
    assert all(a != b for a, b in pairwise(values))


def test_grid_orientations_alternate() -> None:
    planes = grid((3, 2))
    assert [p.normal for p in planes] == [(1, 0)] * 3 + [(0, 1)] * 2
    assert [p.sigma for p in planes] == [1, -1, 1, 1, -1]
    assert [p.beta for p in planes] == [
        Fraction(1, 4),
        Fraction(1, 2),
        Fraction(3, 4),
        Fraction(1, 3),
        Fraction(2, 3),
    ]


def test_copies_preserves_the_function_and_ternarises() -> None:
    general = construct("general", 2, 6, 2).network
    assert not general.ternary
    wide = copies(general)
    assert wide.ternary
    for x in (
        (Fraction(1, 3), Fraction(5, 2)),
        (Fraction(-7), Fraction(11, 5)),
        (Fraction(2), Fraction(2)),
    ):
        assert evaluate(wide, x) == evaluate(general, x)


def test_copies_rejects_integer_input_weights() -> None:
    network = network_from_dict(
        {
            "input_dim": 1,
            "layers": [{"weights": [[2]], "biases": [0], "activation": "relu"}],
            "output": {"weights": [[1]], "biases": [0]},
        }
    )
    with pytest.raises(ValueError, match="first-layer"):
        copies(network)


# -- architectures ---------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("n0, width, depth", GRID)
def test_architecture(kind: str, n0: int, width: int, depth: int) -> None:
    c = construct(kind, n0, width, depth)
    network = c.network
    assert c.reference == (n0, width, depth) and network.input_dim == n0
    assert c.achieved.value >= c.bound.value
    assert c.recipe and c.ratio == Fraction(c.achieved.value, c.bound.value)
    activations = [layer.activation for layer in network.layers]
    relu_widths = tuple(
        layer.width for layer in network.layers if layer.activation == RELU
    )
    last = sum(grid_split(n0, width, depth))
    if kind == "general":
        assert network.widths == (width,) * depth and set(activations) == {RELU}
        assert all(
            w.denominator == 1
            for layer in network.layers
            for row in layer.weights
            for w in row
        )
    elif kind == "ternary-relu":
        assert network.widths == (2 * width,) * (depth - 1) + (last,) and set(
            activations
        ) == {RELU}
    elif kind == "ternary-alternating":
        assert activations == [IDENTITY, RELU] * depth
        assert relu_widths == (width,) * (depth - 1) + (last,)
    else:
        assert set(activations) == {RELU} and len(network.layers) == depth
        assert network.widths[-1] == (last if depth == 1 and n0 >= 2 else width)
    if kind != "general":
        assert network.ternary


def test_ternary_alternating_identity_layers_hold_rho_rho_e() -> None:
    # R_int(4): coefficients (2, 3, -2, -2); rows rho = sign(c), rho, e = [c == 3].
    network = construct("ternary-alternating", 1, 4, 2).network
    assert [list(map(int, row)) for row in network.layers[2].weights] == [
        [1, 1, -1, -1],
        [1, 1, -1, -1],
        [0, 1, 0, 0],
    ]


# -- exact counts -------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("n0, width, depth", GRID)
def test_counts_meet_the_bound(kind: str, n0: int, width: int, depth: int) -> None:
    c = construct(kind, n0, width, depth)
    found = regions(c.network)
    assert len(found) == c.achieved.value if c.exact else len(found) >= c.achieved.value
    assert len(found) >= c.bound.value
    maps = [pattern_map(c.network, r.pattern) for r in found]
    if n0 == 1:
        activation, linear = one_dimensional(c.network)
        assert activation == len(found)
        assert linear == c.achieved.value if c.exact else linear >= c.achieved.value
        if c.exact:  # pairwise distinct maps: tvmip's cheapest linear-region evidence
            assert len(set(maps)) == len(found)
    elif c.exact and depth >= 2:
        # Mirror regions across a fold face x_k = const have maps that differ exactly
        # in the sign of the k-th gradient component: none may vanish.
        assert all(all(g != 0 for g in gradient) for gradient, _ in maps)


def test_witnesses_evaluate_to_their_affine_map() -> None:
    network = construct("ternary-alternating", 2, 6, 2).network
    for region in regions(network)[::37]:
        gradient, intercept = pattern_map(network, region.pattern)
        x = region.witness
        assert (
            evaluate(network, x)[0]
            == sum(g * v for g, v in zip(gradient, x)) + intercept
        )


def test_one_dimensional_maximum_is_reached_exactly() -> None:
    # Serra's exact maximum (n + 1)^L for width n = 3, depth 4, by all four routes.
    for kind in KINDS:
        c = construct(kind, 1, 3, 4)
        assert (
            one_dimensional(c.network) == (256, 256) == (c.bound.value, c.bound.value)
        )


def test_a_single_last_neuron_merges_mirror_pieces() -> None:
    """The pitfall the grid avoids: with one last-layer neuron relu(u - 1/2) the output
    is flat on u < 1/2, which reaches the fold value 0, so the two mirror pieces of
    R(1) glue into one linear region."""
    planes = [Hyperplane((1,), Fraction(1, 2), 1)]
    network = _assemble(1, [zigzag(1)], planes, 2, identity_layers=False)
    assert one_dimensional(network) == (4, 3)


@pytest.mark.parametrize(
    "args, message",
    [
        (("binary", 1, 3, 2), "unknown construction kind"),
        (("general", 0, 3, 2), "n0 must be at least 1"),
        (("ternary-relu", 2, 1, 2), "n_l >= 2"),
        (("ternary-wide", 1, 3, 0), "at least one hidden layer"),
    ],
)
def test_invalid_parameters(args: tuple[str, int, int, int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        construct(*args)


def test_integer_zigzag_needs_three_neurons() -> None:
    with pytest.raises(ValueError, match="p >= 3"):
        integer_zigzag(2)
