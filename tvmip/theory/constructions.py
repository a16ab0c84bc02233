"""Networks that meet the bounds of :mod:`tvmip.theory.theorems`, with exact rational biases.

Every construction emulates the general ReLU network with ``n0`` inputs and ``depth``
layers of ``width`` (the *reference*).  Its ``width`` neurons are split over the
coordinates, ``p_k`` each (:func:`~tvmip.theorems.balanced`).  Layers ``1..L-1`` fold
every coordinate ``u_k`` of a box ``[0, R_k D] -> [0, D]`` onto itself as a zig-zag of
``pieces_k`` intervals (a :class:`Fold`), so that ``prod_k pieces_k`` boxes are mapped
onto the same box; the last layer is an arrangement of hyperplanes in the final cube
``[0, 1]^n0`` (a list of :class:`Hyperplane`), replicated in every box.  Scales run
backwards: the input box is ``prod_k [0, R_k^(L-1)]`` and coordinate ``k`` after
layer ``l`` lives in ``[0, R_k^(L-1-l)]``.

Linear, not just activation, regions: a fold face maps onto a face of the cube and
mirrors the boxes on its two sides, so their affine maps differ exactly when the
output has non-zero slope across that face.  Each hyperplane's neuron
``relu(sigma (a . u - beta))`` has output weight ``sigma``, so on every cell the output
gradient in ``u`` is the sum of the active normals ``a``; the recipes below keep it
positive in every coordinate on every cell that reaches a face of the cube.  Then
activation regions = linear regions = ``(prod_k pieces_k)^(L-1) * cells``, which is
:func:`~tvmip.theorems.construction_bound`.  The exception is a coordinate with a
single integer-fold neuron (``p_k = 1``, only when ``width < 2 n0``): its ramp has a
flat side, which adds activation regions; the bound is then a lower bound
(``Construction.exact`` is False).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from ..model.network import IDENTITY, RELU, Activation, Network, network_from_dict
from ..theory.theorems import (
    KINDS,
    Bound,
    balanced,
    construction_bound,
    grid_split,
    reference_bound,
)

Row = tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Fold:
    """A zig-zag of one coordinate on ``[0, ratio * D]``: neurons
    ``relu(sigma_j (u - t_j D))`` recombined as ``sum_j c_j relu(...) - offset * D``
    map each of ``pieces`` intervals onto ``[0, D]`` (the outer two extend to rays
    that map onto rays, so there are exactly ``pieces`` pieces on all of R)."""

    sigmas: tuple[int, ...]
    thresholds: tuple[Fraction, ...]
    coefficients: tuple[int, ...]
    offset: Fraction
    ratio: Fraction
    pieces: int


@dataclass(frozen=True, slots=True)
class Hyperplane:
    """A last-layer neuron ``relu(sigma (normal . u - beta))``; its output weight is
    ``sigma``."""

    normal: Row
    beta: Fraction
    sigma: int


def ramp() -> Fold:
    """``relu(u)``: one piece and a flat side ``u < 0`` (one neuron cannot fold)."""
    return Fold((1,), (Fraction(0),), (1,), Fraction(0), Fraction(1), 1)


def zigzag(p: int) -> Fold:
    """The ternary fold R(p) on ``2p`` neurons: ``t_j = j D``, ``relu(t_1 - u)``,
    ``relu(u - t_1)`` and two copies of ``relu(u - t_j)`` (``j = 2..p``), with
    coefficients ``1, 1`` and ``(-1)^(j+1)`` on both copies; slopes ``-1, +1, -1, ...``
    on ``p + 1`` pieces of length ``D``."""
    if p < 1:
        raise ValueError(f"a zig-zag needs p >= 1, got {p}")
    rest = range(2, p + 1)
    return Fold(
        sigmas=(-1, 1, *(1 for j in rest for _ in range(2))),
        thresholds=tuple(
            Fraction(t) for t in (1, 1, *(j for j in rest for _ in range(2)))
        ),
        coefficients=(1, 1, *((-1) ** (j + 1) for j in rest for _ in range(2))),
        offset=Fraction(0),
        ratio=Fraction(p + 1),
        pieces=p + 1,
    )


def integer_zigzag(p: int) -> Fold:
    """The integer fold R_int(p) on ``p >= 3`` neurons: ``t_j = (j - 1/2) D``; neurons
    ``relu(t_3 - u)``, ``relu(u - t_1)``, ``relu(u - t_2)``, ``relu(u - t_j)``
    (``j >= 4``) with coefficients ``2, 3, -2, 2 (-1)^(j+1)``; slopes
    ``-2, 1, -1, 1, ...`` on ``p + 1`` pieces (the first of length ``D/2``), values in
    ``[4D, 5D]``, so ``offset = 4``."""
    if p < 3:
        raise ValueError(
            f"an integer zig-zag needs p >= 3 (p <= 2 leaves a flat piece), got {p}"
        )
    order = (3, 1, 2, *range(4, p + 1))
    return Fold(
        sigmas=(-1, *(1 for _ in order[1:])),
        thresholds=tuple(Fraction(2 * j - 1, 2) for j in order),
        coefficients=(2, 3, -2, *(2 * (-1) ** (j + 1) for j in range(4, p + 1))),
        offset=Fraction(4),
        ratio=Fraction(2 * p + 1, 2),
        pieces=p + 1,
    )


def integer_fold(p: int) -> Fold:
    """The best fold on ``p`` neurons with integer weights: R_int(p) for ``p >= 3``,
    R(1) for ``p = 2``, the ramp for ``p = 1``."""
    return integer_zigzag(p) if p >= 3 else zigzag(1) if p == 2 else ramp()


def general_position(n0: int, m: int) -> list[Hyperplane]:
    """``m`` hyperplanes in general position with all vertices in the open unit cube:
    normal ``a_i = (1, i, ..., i^(n0-1))``, ``beta_i = a_i . c + delta i^n0`` with
    ``c = (1/2, ..., 1/2)``, ``delta = 1 / (2 (m+1)^n0)``, ``sigma_i = (-1)^(i+1)``.

    A point ``c + v`` lies on hyperplane ``i`` iff ``i`` is a root of the degree-``n0``
    polynomial ``delta t^n0 - sum_k v_k t^k``: at most ``n0`` hyperplanes meet in a
    point, and the vertex of ``S`` has ``|v_k| <= delta e_(n0-k)(S) < 1/2``.  Positive
    normals with alternating orientations positively span R^n0 when ``m > n0``
    (divided differences), so the only cell with no active neuron is bounded, inside
    the open cube; every other cell has a positive gradient."""
    delta = Fraction(1, 2 * (m + 1) ** n0)
    planes = []
    for i in range(1, m + 1):
        normal = tuple(i**k for k in range(n0))
        beta = Fraction(sum(normal), 2) + delta * i**n0
        planes.append(Hyperplane(normal, beta, (-1) ** (i + 1)))
    return planes


def grid(split: Sequence[int]) -> list[Hyperplane]:
    """The ternary axis grid: ``u_k = j / (m_k + 1)`` for ``j = 1..m_k``, orientation
    ``sigma = (-1)^(j+1)``.  Between the hyperplanes of axis ``k`` the number of
    active ones alternates ``floor(m_k/2), floor(m_k/2) + 1``, so with ``m_k >= 2``
    every cell has a gradient ``>= 1`` in every coordinate.  Cells:
    ``prod_k (m_k + 1)``."""
    n0 = len(split)
    return [
        Hyperplane(
            tuple(int(i == k) for i in range(n0)), Fraction(j, m + 1), (-1) ** (j + 1)
        )
        for k, m in enumerate(split)
        for j in range(1, m + 1)
    ]


# -- assembling layers ------------------------------------------------------------

# A neuron relu(alpha . u - beta) in the coordinates u; a readout u_k = c . h - offset.
Neuron = tuple[Sequence[int], Fraction]
Readout = tuple[Row, Fraction]


def _plan(
    folds: Sequence[Fold], planes: Sequence[Hyperplane], depth: int
) -> tuple[list[list[Neuron]], list[list[Readout]]]:
    """The ReLU layers as neurons in the coordinates, and after each fold layer the
    readouts of the coordinates from its outputs (``depth - 1`` of them)."""
    n0 = len(folds)
    layers: list[list[Neuron]] = []
    readouts: list[list[Readout]] = []
    for layer in range(1, depth):
        neurons: list[Neuron] = []
        groups = []
        for k, fold in enumerate(folds):
            scale = fold.ratio ** (depth - 1 - layer)
            groups.append((len(neurons), fold, scale))
            for sigma, t in zip(fold.sigmas, fold.thresholds):
                alpha = [0] * n0
                alpha[k] = sigma
                neurons.append((alpha, sigma * t * scale))
        width = len(neurons)
        readouts.append(
            [
                (
                    tuple(
                        fold.coefficients[j - start]
                        if start <= j < start + len(fold.sigmas)
                        else 0
                        for j in range(width)
                    ),
                    fold.offset * scale,
                )
                for start, fold, scale in groups
            ]
        )
        layers.append(neurons)
    layers.append(
        [(tuple(p.sigma * a for a in p.normal), p.sigma * p.beta) for p in planes]
    )
    return layers, readouts


def _dense(neuron: Neuron, readouts: Sequence[Readout]) -> tuple[list[int], Fraction]:
    """Weights and bias of ``relu(alpha . u - beta)``, ``u_k = c_k . h - offset_k``."""
    alpha, beta = neuron
    width = len(readouts[0][0])
    weights = [
        sum(a * c[j] for a, (c, _) in zip(alpha, readouts)) for j in range(width)
    ]
    return weights, -beta - sum(a * off for a, (_, off) in zip(alpha, readouts))


def _ternary_rows(c: Row) -> list[Row]:
    """``c = sum_s t_s``, ternary ``t_s = sign(c) * [|c| >= s]``, ``s = 1..max|c|``."""
    return [
        tuple((v > 0) - (v < 0) if abs(v) >= s else 0 for v in c)
        for s in range(1, max(map(abs, c)) + 1)
    ]


def _layer(
    weights: list[list[int]], biases: list[Fraction], activation: Activation
) -> dict[str, Any]:
    return {
        "weights": weights,
        "biases": [str(b) for b in biases],
        "activation": activation.spec,
    }


def _assemble(
    n0: int,
    folds: Sequence[Fold],
    planes: Sequence[Hyperplane],
    depth: int,
    identity_layers: bool,
) -> Network:
    """Realise the plan; with ``identity_layers`` every ReLU layer is preceded by an
    identity layer holding the ternary rows of the readouts, so that the ReLU layer
    reads each coordinate as the plain sum of its block (no integer weights)."""
    layers, readouts = _plan(folds, planes, depth)
    current: list[Readout] = [
        (tuple(int(i == k) for i in range(n0)), Fraction(0)) for k in range(n0)
    ]
    out: list[dict[str, Any]] = []
    for index, neurons in enumerate(layers):
        if identity_layers:
            blocks = [_ternary_rows(c) for c, _ in current]
            rows = [list(row) for block in blocks for row in block]
            out.append(_layer(rows, [Fraction(0)] * len(rows), IDENTITY))
            starts = [sum(map(len, blocks[:k])) for k in range(n0)]
            current = [
                (tuple(int(s <= j < s + len(b)) for j in range(len(rows))), off)
                for s, b, (_, off) in zip(starts, blocks, current)
            ]
        dense = [_dense(neuron, current) for neuron in neurons]
        out.append(_layer([w for w, _ in dense], [b for _, b in dense], RELU))
        if index < len(readouts):
            current = readouts[index]
    return network_from_dict(
        {
            "input_dim": n0,
            "layers": out,
            "output": {"weights": [[p.sigma for p in planes]], "biases": [0]},
        }
    )


def copies(network: Network) -> Network:
    """Ternarise an integer network by copies: hidden neuron ``j`` becomes
    ``M_j = max(1, max_i |W'_ij|)`` copies (``W'`` the next layer's or the output's
    weights), and a weight ``K`` from ``j`` becomes ``sign(K)`` on ``|K|`` of the
    copies.  Copies share a hyperplane, so regions and the function are unchanged.
    The first layer reads the inputs, which cannot be copied: its weights must be
    ternary."""
    if any(w not in (-1, 0, 1) for row in network.layers[0].weights for w in row):
        raise ValueError(
            "copies() needs ternary first-layer weights (inputs cannot be copied)"
        )
    following = [*network.layers[1:], network.output]
    counts: list[int] = [1] * network.input_dim

    def spread(row: Sequence[Fraction]) -> list[int]:
        out: list[int] = []
        for w, m in zip(row, counts):
            if w.denominator != 1:
                raise ValueError(f"copies() needs integer weights, got {w}")
            k = int(abs(w))
            out += [(w > 0) - (w < 0)] * k + [0] * (m - k)
        return out

    layers = []
    for layer, nxt in zip(network.layers, following):
        mult = [
            max(1, *(int(abs(row[j])) for row in nxt.weights))
            for j in range(layer.width)
        ]
        rows, biases = [], []
        for row, b, m in zip(layer.weights, layer.biases, mult):
            rows += [spread(row)] * m
            biases += [b] * m
        layers.append(_layer(rows, biases, layer.activation))
        counts = mult
    output = {
        "weights": [spread(row) for row in network.output.weights],
        "biases": [str(b) for b in network.output.biases],
    }
    return network_from_dict(
        {"input_dim": network.input_dim, "layers": layers, "output": output}
    )


# -- the four routes ---------------------------------------------------------------


def _general(n0: int, width: int, depth: int) -> Network:
    """General ReLU network, integer weights, widths ``(n, ..., n)``.

    Layers ``l = 1..L-1``: for each coordinate ``k`` the fold ``F_k`` = R_int(p_k)
    (``p_k >= 3``: ``p_k + 1`` pieces), R(1) (``p_k = 2``: 2 pieces) or the ramp
    (``p_k = 1``), at scale ``D = R_k^(L-1-l)``: neuron ``relu(sigma_j (u_k - t_j D))``
    with weights ``sigma_j c_i`` on the previous group of coordinate ``k``
    (``sigma_j`` on ``x_k`` for ``l = 1``), bias ``-sigma_j (t_j D + offset D_prev)``.
    Layer ``L``: ``n`` hyperplanes in general position (moment curve),
    ``relu(sigma_i (a_i . u - beta_i))``, weights ``sigma_i a_ik c`` on group ``k``.
    Output: weights ``sigma_i``, bias 0.  Linear regions:
    ``(prod_k pieces_k)^(L-1) * sum_{j<=n0} C(n, j)``."""
    folds = [integer_fold(p) for p in balanced(width, n0)]
    return _assemble(
        n0, folds, general_position(n0, width), depth, identity_layers=False
    )


def _ternary_relu(n0: int, width: int, depth: int) -> Network:
    """Ternary ReLU network (every weight in {-1, 0, 1}), widths ``(2n, ..., 2n, m)``.

    Layers ``l = 1..L-1``: the ternary fold R(p_k) on ``2 p_k`` neurons per
    coordinate, ``p_k + 1`` pieces (no ``n >= 3 n0`` condition): neurons
    ``relu(-(u_k - D))``, ``relu(u_k - D)`` and twice ``relu(u_k - j D)``,
    ``D = (p_k+1)^(L-1-l)``, reading ``u_k`` with weights ``+1, +1, -1, -1, +1, ...``
    on the previous group.  Layer ``L``: the axis grid
    ``relu(sigma (u_k - j/(m_k+1)))``, ``sigma = (-1)^(j+1)``, with the fewest
    ``m = sum_k m_k`` hyperplanes giving ``prod_k (m_k + 1) >= sum_{j<=n0} C(n, j)``
    cells (for ``n0 = 1``: ``m = n``, exactly ``(n + 1)^L`` regions, Serra's maximum).
    Output: weights ``sigma``, bias 0."""
    folds = [zigzag(p) for p in balanced(width, n0)]
    planes = grid(grid_split(n0, width, depth))
    return _assemble(n0, folds, planes, depth, identity_layers=False)


def _ternary_alternating(n0: int, width: int, depth: int) -> Network:
    """Ternary network of depth ``2L``: odd layers identity, even layers ReLU.

    ReLU layer ``2l`` (``l < L``) is the integer fold of ``general`` (width ``n``);
    identity layer ``2l + 1`` holds, per coordinate, the ternary rows ``t_s =
    sign(c) [|c| >= s]`` of the fold's coefficients ``c`` (R_int: ``rho, rho, e`` with
    ``rho = sign(c)`` and ``e`` the indicator of the coefficient-3 neuron), so the next
    ReLU layer reads ``u_k = sum of its block - offset`` with weights ``+-1``.
    Layer 1 is the identity on ``x``.  ReLU layer ``2L`` is the ternary grid of
    ``ternary-relu``.  Output: weights ``sigma``, bias 0.  For ``n0 = 1`` and
    ``n >= 3``: ReLU widths ``n``, exactly ``(n + 1)^L`` regions."""
    folds = [integer_fold(p) for p in balanced(width, n0)]
    planes = grid(grid_split(n0, width, depth))
    return _assemble(n0, folds, planes, depth, identity_layers=True)


def _ternary_wide(n0: int, width: int, depth: int) -> Network:
    """The ``general`` network ternarised by :func:`copies` (squared width).

    A neuron whose outgoing weights reach ``K`` becomes ``K`` copies: the fold
    coefficients (up to 3) triple the fold layers at most, and layer ``L-1`` carries
    the moment-curve normals ``a_ik c`` (up to ``3 n^(n0-1)``), hence width
    ``~ n^n0``.  At depth 1 with ``n0 >= 2`` no layer precedes the hyperplanes, so there
    is nothing to copy: the network is the ternary grid of ``ternary-relu``."""
    if depth == 1 and n0 >= 2:
        return _ternary_relu(n0, width, depth)
    return copies(_general(n0, width, depth))


BUILDERS: dict[str, Callable[[int, int, int], Network]] = {
    "general": _general,
    "ternary-relu": _ternary_relu,
    "ternary-alternating": _ternary_alternating,
    "ternary-wide": _ternary_wide,
}


@dataclass(frozen=True, slots=True)
class Construction:
    """A network built to meet ``bound``, the reference bound of the general network
    (``n0`` inputs, ``depth`` layers of ``width``); ``achieved`` is the number of linear
    regions the recipe guarantees (the activation-region count too when ``exact``)."""

    kind: str
    n0: int
    width: int
    depth: int
    network: Network
    bound: Bound
    achieved: Bound
    exact: bool
    recipe: str

    @property
    def reference(self) -> tuple[int, int, int]:
        """The general architecture compared with: ``(n0, width, depth)``."""
        return (self.n0, self.width, self.depth)

    @property
    def ratio(self) -> Fraction:
        """Achieved linear regions over the reference bound."""
        return Fraction(self.achieved.value, self.bound.value)


def construct(kind: str, n0: int, width: int, depth: int) -> Construction:
    """Build the construction of ``kind`` for the reference ``(n0, width, depth)``."""
    achieved = construction_bound(kind, n0, width, depth)  # validates everything
    builder = BUILDERS[kind]
    ramps = kind in ("general", "ternary-alternating", "ternary-wide") and depth >= 2
    return Construction(
        kind=kind,
        n0=n0,
        width=width,
        depth=depth,
        network=builder(n0, width, depth),
        bound=reference_bound(n0, width, depth),
        achieved=achieved,
        exact=not (ramps and min(balanced(width, n0)) == 1),
        recipe=inspect.cleandoc(builder.__doc__ or ""),
    )


def build(kind: str, n0: int, width: int, depth: int) -> Network:
    """The network of :func:`construct`."""
    return construct(kind, n0, width, depth).network


__all__ = [
    "BUILDERS",
    "KINDS",
    "Construction",
    "Fold",
    "Hyperplane",
    "build",
    "construct",
    "copies",
    "general_position",
    "grid",
    "integer_fold",
    "integer_zigzag",
    "ramp",
    "zigzag",
]
