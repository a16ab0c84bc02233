"""Exact pre-activation maps along a pattern, in plain Python integers.

This is the checker's own arithmetic, written independently of the producer's
numpy code.  A layer input on a pattern's region is ``z(x) = (G x + h) / D``
with integer rows ``[G | h]``; a layer with integer weights ``W / L`` and biases
``b / L`` has pre-activations ``P = (W [G | h] + [0 | b D]) / (D L)``.  A row of
``P`` is a tuple of ``n0 + 1`` integers (gradient, then constant) over the
layer's denominator ``S = D L``.  The first layer's rows are its weights and
biases themselves (no identity map is ever built, so memory is linear in the
network), and every layer input is divided by the gcd of its entries and ``D``,
which keeps the integers as small as the maps allow.

Cost is accounted in the certificate's :class:`~tvmip.checker.limits.Budget`: a
layer costs its non-zero weights times ``n0 + 1`` multiply-adds, weighted by the
size of the integers in 64-bit words, and no map integer may pass
:data:`~tvmip.checker.limits.MAX_MAP_BITS` bits.
"""

from __future__ import annotations

import math
from fractions import Fraction
from operator import mul

from .errors import FormatError
from .limits import MAX_MAP_BITS, MAX_NUMBER_BITS, Budget
from .model import RELU, Layer, Network

IntRow = tuple[int, ...]
Terms = tuple[tuple[tuple[int, int], ...], ...]  # per neuron: (input index, weight)


class PatternMaps:
    """Pre-activation rows of every layer, cached for the current pattern prefix."""

    def __init__(self, network: Network, budget: Budget) -> None:
        self.dim = network.input_dim
        self.budget = budget
        self.layers: list[tuple[Terms, tuple[int, ...], int, bool]] = []
        self.first: list[int] = []  # pattern position of each layer's first neuron
        position = 0
        for layer in network.layers:
            self.layers.append((*_integer_layer(layer), layer.activation == RELU))
            self.first.append(position)
            if layer.activation == RELU:
                position += layer.width
        self.output = _integer_layer(network.output)
        self.length = position
        first = network.layers[0]
        scale = self.layers[0][2]
        self._first_rows = ([(*(int(w * scale) for w in row), int(b * scale))
                             for row, b in zip(first.weights, first.biases)], scale)
        self._cache: list[tuple[str, list[IntRow], int] | None] = [None] * len(self.layers)
        # position -> (layer index, neuron index) for the ReLU neurons
        self.neuron = [
            (li, j)
            for li, (terms, _, _, relu) in enumerate(self.layers)
            if relu
            for j in range(len(terms))
        ]

    def _inputs(self, index: int, pattern: str) -> tuple[list[IntRow | None], int, int]:
        """The input map of layer ``index >= 1`` (None for rows that are zero),
        reduced by the gcd of its entries and denominator, with its integers' size in
        bits."""
        rows, d = self.layer_rows(index - 1, pattern)
        if self.layers[index - 1][3]:
            start = self.first[index - 1]
            inputs: list[IntRow | None] = [row if pattern[start + k] == "+" else None
                                           for k, row in enumerate(rows)]
        else:
            inputs = list(rows)
        flat = [v for row in inputs if row is not None for v in row]
        g = math.gcd(d, *flat)
        if g > 1:
            d //= g
            inputs = [None if row is None else tuple(v // g for v in row) for row in inputs]
            flat = [v // g for v in flat]
        bits = max(max(flat, default=0), -min(flat, default=0), d).bit_length()
        if bits > MAX_MAP_BITS:
            raise FormatError("", f"the network's maps need integers of more than "
                              f"{MAX_MAP_BITS} bits (a resource bound)")
        return inputs, d, bits

    def output_rows(self, pattern: str) -> tuple[list[IntRow], int]:
        """Rows of the network output ``f`` on ``pattern``'s region (a full pattern)."""
        return self._apply(self.output, *self._inputs(len(self.layers), pattern))

    def layer_rows(self, index: int, pattern: str) -> tuple[list[IntRow], int]:
        """Rows ``P`` and denominator ``S`` of layer ``index`` on ``pattern``'s region
        (only the states before the layer are read)."""
        key = pattern[: self.first[index]]
        cached = self._cache[index]
        if cached is not None and cached[0] == key:
            return cached[1], cached[2]
        if index == 0:
            out, s = self._first_rows
        else:
            out, s = self._apply(self.layers[index][:3], *self._inputs(index, pattern))
        self._cache[index] = (key, out, s)
        return out, s

    def _apply(self, layer: tuple[Terms, tuple[int, ...], int], inputs: list[IntRow | None],
               d: int, bits: int) -> tuple[list[IntRow], int]:
        """``W z + b`` as integer rows over ``d * scale``, for the input rows ``inputs``."""
        terms_of, biases, scale = layer
        words = 1 + (bits + scale.bit_length()) // 64
        self.budget.spend(sum(map(len, terms_of)) * (self.dim + 1) * words + len(biases))
        out = []
        for terms, bias in zip(terms_of, biases):
            acc = [0] * (self.dim + 1)
            for k, w in terms:
                source = inputs[k]
                if source is not None:
                    acc = [a + w * v for a, v in zip(acc, source)]
            acc[-1] += bias * d
            out.append(tuple(acc))
        return out, d * scale

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

    def values(self, rows: list[IntRow], x: tuple[int, ...]) -> list[int]:
        """``row . x`` for each row and a homogeneous point ``x`` (see :func:`homogeneous`),
        charged to the budget."""
        self.budget.spend(len(rows) * (self.dim + 1) * (1 + max(map(abs, x)).bit_length() // 64))
        return [sum(map(mul, row, x)) for row in rows]


def _integer_layer(layer: Layer) -> tuple[Terms, tuple[int, ...], int]:
    """Nonzero integer weights per neuron, integer biases, and their common denominator."""
    entries = [w for row in layer.weights for w in row] + list(layer.biases)
    scale = math.lcm(*(v.denominator for v in entries))
    if scale.bit_length() > MAX_MAP_BITS:
        raise FormatError("", f"a layer's common denominator has more than {MAX_MAP_BITS} "
                          "bits (a resource bound)")
    nonzeros = tuple(
        tuple((k, int(w * scale)) for k, w in enumerate(row) if w) for row in layer.weights
    )
    return nonzeros, tuple(int(b * scale) for b in layer.biases), scale


def homogeneous(point: list[Fraction], where: str) -> tuple[int, ...]:
    """``(p_1, .., p_n, q)`` with ``point = p / q``: then ``row . (x, 1)`` has the sign of
    ``sum(map(mul, row, homogeneous(x)))``."""
    numerators, q = common_denominator(point, where)
    return (*numerators, q)


def common_denominator(values: list[Fraction], where: str,
                       limit: int = MAX_NUMBER_BITS) -> tuple[tuple[int, ...], int]:
    """``values`` as integer numerators over one positive denominator of at most
    ``limit`` bits (a :class:`FormatError` otherwise, found before any large product)."""
    q = 1
    for v in values:
        q = q // math.gcd(q, v.denominator) * v.denominator
        if q.bit_length() > limit:
            raise FormatError(where, f"the numbers have no common denominator within {limit} "
                              "bits (a resource bound)")
    return tuple(v.numerator * (q // v.denominator) for v in values), q
