"""The network scaled once to integers, and exact affine maps along a pattern.

On the region of a pattern every layer input is an affine function of x.  We keep
it as an integer matrix ``M = [G | h]`` (one row per neuron, ``n0 + 1`` columns)
over a positive common denominator ``D``: ``z(x) = (G x + h) / D``.  A layer whose
weights and biases are ``W / L`` and ``b / L`` (integers over their common
denominator ``L``) then has pre-activations ``(W M + [0 | b D]) / (D L)``, and its
output applies each neuron's activation on its cell (:class:`Activation.affine`).

Arrays are numpy ``int64`` while a bound on their entries proves that no product
can overflow, and Python integers (``object`` arrays) otherwise: nothing is ever
rounded, trained networks with float weights simply take the big-integer path.

A :class:`ScaledNetwork` is built once per run (:func:`scale_network`) and shared by
the search, the breakpoint engine, gluing, the MILP and the pictures.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import NamedTuple

import numpy as np

from ..checker.activation import Activation
from ..checker.limits import MAX_EVIDENCE_BITS
from ..errors import ResourceLimit
from .network import Box, Layer, Network

INT64_SAFE = 2**62
"""Integers below this in absolute value multiply and add in int64 without overflow
where the code proves a bound; beyond it arrays hold Python integers."""


@dataclass(frozen=True, slots=True)
class ScaledLayer:
    """A layer as integers: true weights are ``weights / scale``, biases ``biases / scale``.
    ``first`` is the pattern position of its first neuron (if its activation has a
    state); ``cell_maps`` gives, per cell of the activation, ``(k, c)`` with the
    activation equal to ``(k pre + c) / unit`` there (integers, ``unit`` their
    common denominator)."""

    weights: np.ndarray
    biases: np.ndarray
    scale: int
    activation: Activation
    first: int
    weight_bound: int
    bias_bound: int
    unit: int
    cell_maps: tuple[tuple[int, int], ...]
    piece_bounds: tuple[tuple[tuple[int, int, int, bool], ...], ...]
    """Per cell, the bounds of its open piece: ``(j, u, v, above)`` for ``t_j = u / v``."""

    @property
    def masks(self) -> bool:
        """Whether the activation is 0 or the pre-activation on every cell (ReLU,
        identity): its output is the pre-activation rows times a 0/1 mask."""
        return self.unit == 1 and all(c == 0 and k in (0, 1) for k, c in self.cell_maps)

    @property
    def width(self) -> int:
        return len(self.biases)

    @property
    def stateful(self) -> bool:
        return self.activation.stateful


@dataclass(frozen=True, slots=True)
class ScaledNetwork:
    """The network with every layer in integer form (built once per run)."""

    network: Network
    layers: tuple[ScaledLayer, ...]
    output: ScaledLayer

    @property
    def dim(self) -> int:
        return self.network.input_dim

    @property
    def pattern_length(self) -> int:
        return self.network.pattern_length


def _common_denominator(values: list[Fraction]) -> int:
    return math.lcm(*(v.denominator for v in values)) if values else 1


def _int_array(values: list[int], shape: tuple[int, ...]) -> np.ndarray:
    big = any(abs(v) >= INT64_SAFE for v in values)
    return np.array(values, dtype=object if big else np.int64).reshape(shape)


def _cell_maps(activation: Activation) -> tuple[int, tuple[tuple[int, int], ...]]:
    pairs = [activation.affine(cell) for cell in range(activation.cells)]
    unit = _common_denominator([v for pair in pairs for v in pair])
    return unit, tuple((int(k * unit), int(c * unit)) for k, c in pairs)


def _piece_bounds(activation: Activation) -> tuple[tuple[tuple[int, int, int, bool], ...], ...]:
    out = []
    for cell in range(activation.cells):
        spec = []
        if cell % 2 == 0:
            for j in activation.bounds(cell):
                if j is not None:
                    t = activation.breakpoints[j - 1]
                    spec.append((j, t.numerator, t.denominator, j <= cell // 2))
        out.append(tuple(spec))
    return tuple(out)


def scale_layer(layer: Layer, first: int = 0) -> ScaledLayer:
    """Integer form of one layer; ``first`` is the pattern position of its first neuron."""
    entries = [w for row in layer.weights for w in row] + list(layer.biases)
    scale = _common_denominator(entries)
    fan_in = len(layer.weights[0])
    weights = [int(w * scale) for row in layer.weights for w in row]
    biases = [int(b * scale) for b in layer.biases]
    unit, cell_maps = _cell_maps(layer.activation)
    return ScaledLayer(
        weights=_int_array(weights, (layer.width, fan_in)),
        biases=_int_array(biases, (layer.width,)),
        scale=scale,
        activation=layer.activation,
        first=first,
        weight_bound=max(sum(abs(w) for w in weights[i * fan_in:(i + 1) * fan_in])
                         for i in range(layer.width)),
        bias_bound=max(abs(b) for b in biases),
        unit=unit,
        cell_maps=cell_maps,
        piece_bounds=_piece_bounds(layer.activation),
    )


def scale_network(network: Network) -> ScaledNetwork:
    """Integer form of every layer, with pattern offsets for the layers with a state."""
    layers = []
    first = 0
    for layer in network.layers:
        layers.append(scale_layer(layer, first))
        if layer.activation.stateful:
            first += layer.width
    return ScaledNetwork(network, tuple(layers), scale_layer(network.output))


def scaled(network: Network | ScaledNetwork) -> ScaledNetwork:
    """``network`` in integer form: scaled now, or as it was scaled before (entry
    points accept either, so one run scales once)."""
    return network if isinstance(network, ScaledNetwork) else scale_network(network)


def input_map(dim: int) -> tuple[np.ndarray, int]:
    """The identity map x -> x as ``([I | 0], 1)``."""
    return np.hstack([np.eye(dim, dtype=np.int64), np.zeros((dim, 1), dtype=np.int64)]), 1


def max_abs(array: np.ndarray) -> int:
    """The largest absolute entry (0 for an empty array), as a Python int."""
    return int(np.max(np.abs(array))) if array.size else 0


def pre_activations(layer: ScaledLayer, m: np.ndarray, d: int) -> tuple[np.ndarray, int]:
    """Pre-activations of ``layer`` given its input map ``(m, d)``: ``(P, S)`` with
    ``pre_j(x) = (P[j, :n0] . x + P[j, n0]) / S`` exactly."""
    bound = layer.weight_bound * max_abs(m) + layer.bias_bound * d
    weights = layer.weights
    if bound >= INT64_SAFE or m.dtype == object or weights.dtype == object:
        weights, m = weights.astype(object), m.astype(object)
        bias = layer.biases.astype(object) * d
    else:
        bias = layer.biases * d
    if bound.bit_length() > MAX_EVIDENCE_BITS:
        raise ResourceLimit(f"rational blow-up: pre-activation maps need integers beyond "
                            f"{MAX_EVIDENCE_BITS} bits")
    p = weights @ m
    p[:, -1] += bias
    if p.dtype == object and max_abs(p) < INT64_SAFE:
        p = p.astype(np.int64)
    return p, d * layer.scale


def layer_output(p: np.ndarray, s: int, layer: ScaledLayer,
                 cells: Sequence[int] | None) -> tuple[np.ndarray, int]:
    """The layer's output map: each neuron's activation applied on its cell (``cells``
    None for a layer without state: its single piece), then divided by the common
    gcd to keep the integers small."""
    pairs = [layer.cell_maps[c] for c in cells] if cells is not None else \
        [layer.cell_maps[0]] * layer.width
    if layer.masks:
        mask = [k for k, _ in pairs]
        m = p if all(mask) else p * np.array(mask, dtype=np.int64)[:, None]
        d = s
    else:
        big = p.dtype == object or max_abs(p) * max(abs(k) for k, _ in pairs) >= INT64_SAFE \
            or s * max(abs(c) for _, c in pairs) >= INT64_SAFE
        factors = np.array([k for k, _ in pairs], dtype=object if big else np.int64)
        m = (p.astype(object) if big else p) * factors[:, None]
        m[:, -1] += np.array([c * s for _, c in pairs], dtype=m.dtype)
        d = s * layer.unit
    if d > 1:
        g = math.gcd(d, *(int(v) for v in np.unique(m)))
        if g > 1:
            if g >= INT64_SAFE and m.dtype != object:   # m is all zero: d alone is big
                m = m.astype(object)
            return m // g, d // g
    return m, d


class Bound(NamedTuple):
    """One strict inequality of an open piece: the primitive integer row ``a . x < c``
    of ``pre > t_j`` (or ``pre < t_j``), its id in the certificate (``p`` when the
    activation has one breakpoint, ``"p:j"`` otherwise) and its scale: the row's
    slack is ``num / den`` times the certificate's ``g(x) = +-(pre - t_j)``.  (A named
    tuple: the search makes one per side it considers.)"""

    row: tuple[int, ...]
    row_id: int | str
    scale: tuple[int, int]
    j: int
    above: bool


def piece_bounds(layer: ScaledLayer, position: int, a: list[int], c: int, s: int,
                 cell: int) -> list[Bound]:
    """The bounds of the open piece ``cell`` for ``pre = (a . x + c) / s``."""
    single = len(layer.activation.breakpoints) == 1
    out = []
    for j, u, v, above in layer.piece_bounds[cell]:
        if v == 1 and u == 0:
            raw = [-x for x in a] + [c] if above else a + [-c]
        else:
            raw = [-v * x for x in a] + [v * c - u * s] if above else \
                [v * x for x in a] + [u * s - v * c]
        g = math.gcd(*raw)
        out.append(Bound(tuple(x // g for x in raw), position if single else f"{position}:{j}",
                         (v * s, g), j, above))
    return out


def region_rows(network: ScaledNetwork, pattern: str,
                box: Box | None) -> list[tuple[int | str, tuple[int, ...]]] | None:
    """The strict inequalities of a full pattern's region, as ``(row id, (a, c))`` for
    the primitive integer row ``a . x < c`` (box faces ``"lo<i>"``/``"hi<i>"``
    included), or None when a neuron's state is impossible whatever x (no region
    has the pattern): a constant pre-activation must be in its value's cell (and
    gives no row), a breakpoint's cell needs a constant pre-activation."""
    rows: list[tuple[int | str, tuple[int, ...]]] = []
    m, d = input_map(network.dim)
    for layer in network.layers:
        p, s = pre_activations(layer, m, d)
        cells = None
        if layer.stateful:
            act = layer.activation
            cells = [act.cell(state) for state in pattern[layer.first:layer.first + layer.width]]
            for j, (cell, (*a, c)) in enumerate(zip(cells, p.tolist())):
                if cell is None:
                    return None
                if not any(a):  # constant: its value's cell, and no row
                    if cell != act.cell_of(Fraction(c, s)):
                        return None
                    continue
                if cell % 2:  # a breakpoint's cell needs a constant pre-activation
                    return None
                rows.extend((b.row_id, b.row)
                            for b in piece_bounds(layer, layer.first + j, a, c, s, cell))
        m, d = layer_output(p, s, layer, cells)
    if box is not None:
        for i, (lo, hi) in enumerate(zip(box.lo, box.hi)):
            for side, sign, bound in (("lo", -1, lo), ("hi", 1, hi)):
                a = [0] * network.dim
                a[i] = sign * bound.denominator
                rows.append((f"{side}{i}", (*a, sign * bound.numerator)))
    return rows
