"""Exact pre-activation maps along a pattern, in plain Python integers.

This is the checker's own arithmetic, written independently of the producer's
numpy code.  A layer input on a pattern's region is ``z(x) = (G x + h) / D``
with integer rows ``[G | h]``; a layer with integer weights ``W / L`` and biases
``b / L`` has pre-activations ``P = (W [G | h] + [0 | b D]) / (D L)``.  A row of
``P`` is a tuple of ``n0 + 1`` integers (gradient, then constant) over the
layer's denominator ``S = D L``.
"""

from __future__ import annotations

import math
from fractions import Fraction

from .model import RELU, Layer, Network

IntRow = tuple[int, ...]


class PatternMaps:
    """Pre-activation rows of every layer, cached for the current pattern prefix."""

    def __init__(self, network: Network) -> None:
        self.dim = network.input_dim
        self.layers = []
        self.first = []  # pattern position of each layer's first neuron
        position = 0
        for layer in network.layers:
            self.layers.append((*_integer_layer(layer), layer.activation == RELU))
            self.first.append(position)
            if layer.activation == RELU:
                position += layer.width
        self.output = _integer_layer(network.output)
        self.length = position
        self._cache: list[tuple[str, list[IntRow], int] | None] = [None] * len(self.layers)
        # position -> (layer index, neuron index) for the ReLU neurons
        self.neuron = [
            (li, j)
            for li, (nz, _, _, relu) in enumerate(self.layers)
            if relu
            for j in range(len(nz))
        ]

    def _inputs(self, index: int, pattern: str) -> tuple[list[IntRow | None], int]:
        """The input map of layer ``index`` (None for rows that are zero)."""
        if index == 0:
            unit = [tuple(1 if i == k else 0 for i in range(self.dim + 1)) for k in range(self.dim)]
            return list(unit), 1
        rows, d = self.layer_rows(index - 1, pattern)
        if not self.layers[index - 1][3]:
            return list(rows), d
        start = self.first[index - 1]
        return [row if pattern[start + k] == "+" else None for k, row in enumerate(rows)], d

    def output_rows(self, pattern: str) -> tuple[list[IntRow], int]:
        """Rows of the network output ``f`` on ``pattern``'s region (a full pattern)."""
        inputs, d = self._inputs(len(self.layers), pattern)
        return _apply(self.output, inputs, d, self.dim)

    def layer_rows(self, index: int, pattern: str) -> tuple[list[IntRow], int]:
        """Rows ``P`` and denominator ``S`` of layer ``index`` on ``pattern``'s region
        (only the states before the layer are read)."""
        key = pattern[: self.first[index]]
        cached = self._cache[index]
        if cached is not None and cached[0] == key:
            return cached[1], cached[2]
        inputs, d = self._inputs(index, pattern)
        out, s = _apply(self.layers[index][:3], inputs, d, self.dim)
        self._cache[index] = (key, out, s)
        return out, s

    def row(self, position: int, pattern: str) -> tuple[IntRow, int]:
        """The pre-activation row of the ReLU neuron at ``position`` and its denominator."""
        index, j = self.neuron[position]
        rows, s = self.layer_rows(index, pattern)
        return rows[j], s

    def all_rows(self, pattern: str) -> list[tuple[IntRow, int]]:
        """The pre-activation row and denominator of every ReLU neuron on ``pattern``'s
        region, in pattern order (for a full pattern)."""
        out: list[tuple[IntRow, int]] = []
        for index, layer in enumerate(self.layers):
            if layer[3]:
                rows, s = self.layer_rows(index, pattern)
                out.extend((row, s) for row in rows)
        return out

    def children(self, position: int, pattern: str) -> str:
        """The states a node at ``position`` branches into, in canonical order."""
        row, _ = self.row(position, pattern)
        if any(row[:-1]):
            return "+-"
        return "0" if row[-1] == 0 else "+" if row[-1] > 0 else "-"


def _integer_layer(layer: Layer) -> tuple[tuple[tuple[tuple[int, int], ...], ...], tuple[int, ...], int]:
    """Nonzero integer weights per neuron, integer biases, and their common denominator."""
    entries = [w for row in layer.weights for w in row] + list(layer.biases)
    scale = math.lcm(*(v.denominator for v in entries))
    nonzeros = tuple(
        tuple((k, int(w * scale)) for k, w in enumerate(row) if w) for row in layer.weights
    )
    return nonzeros, tuple(int(b * scale) for b in layer.biases), scale


def _apply(layer: tuple, inputs: list[IntRow | None], d: int, dim: int) -> tuple[list[IntRow], int]:
    """``W z + b`` as integer rows over ``d * scale``, for the input rows ``inputs``."""
    nonzeros, biases, scale = layer
    out = []
    for terms, bias in zip(nonzeros, biases):
        acc = [0] * (dim + 1)
        for k, w in terms:
            source = inputs[k]
            if source is not None:
                acc = [a + w * v for a, v in zip(acc, source)]
        acc[-1] += bias * d
        out.append(tuple(acc))
    return out, d * scale


def homogeneous(point: list[Fraction]) -> tuple[int, ...]:
    """``(p_1, .., p_n, q)`` with ``point = p / q``: then ``row . (x, 1)`` has the sign of
    ``sum(map(mul, row, homogeneous(x)))``."""
    numerators, q = common_denominator(point)
    return (*numerators, q)


def common_denominator(values: list[Fraction]) -> tuple[tuple[int, ...], int]:
    """``values`` as integer numerators over one positive denominator."""
    q = math.lcm(*(v.denominator for v in values)) if values else 1
    return tuple(v.numerator * (q // v.denominator) for v in values), q
