"""Exact pre-activation maps along a pattern, in plain Python integers.

This is the checker's own arithmetic, written independently of the producer's
numpy code.  A layer input on a pattern's region is ``z(x) = (G x + h) / D``
with integer rows ``[G | h]``; a layer with integer weights ``W / L`` and biases
``b / L`` has pre-activations ``P = (W [G | h] + [0 | b D]) / (D L)``.  A row of
``P`` is a tuple of ``n0 + 1`` integers (gradient, then constant) over the
layer's denominator ``S = D L``.  The first layer's rows are its weights and
biases themselves (no identity map is ever built, so memory is linear in the
network).  A neuron's output on the region is its activation's affine map on the
neuron's cell (:meth:`~tvmip.checker.activation.Activation.affine`) applied to
its row, over ``S`` times the common denominator ``M`` of those slopes and
offsets; every layer input is divided by the gcd of its entries and its
denominator, which keeps the integers as small as the maps allow.

Cost is accounted in the certificate's :class:`~tvmip.checker.limits.Budget`: a
layer costs its non-zero weights times ``n0 + 1`` multiply-adds, weighted by the
size of the integers in 64-bit words, and no map integer may pass
:data:`~tvmip.checker.limits.MAX_MAP_BITS` bits.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction
from operator import mul

from .activation import Activation
from .errors import FormatError, Rejected
from .limits import MAX_MAP_BITS, MAX_NUMBER_BITS, Budget, shown
from .model import Layer, Network

IntRow = tuple[int, ...]
Terms = tuple[tuple[tuple[int, int], ...], ...]  # per neuron: (input index, weight)
Bound = tuple[tuple[IntRow, int], int, int, bool]  # (row, den), position, j, above
# A bound of a region, unsigned: sign * (row . (x, 1)) / den > 0, row that of pre - t_j.
RegionBound = tuple[int, int, int, IntRow, int]  # position, j, sign, row, den
PieceSpec = tuple[tuple[int, int, int, bool], ...]  # the piece's bounds: (j, u, v, above)
LAYER_CACHE = 4096  # prefixes kept per layer (at most that many rows lists of a layer)
_BOUND_ID = re.compile(r"(0|[1-9][0-9]{0,8}):([1-9][0-9]{0,8})")


def is_constant(affine: tuple[tuple[Fraction, ...], ...]) -> bool:
    """Whether an affine map (per output: gradient, then offset) has no gradient."""
    return not any(v for row in affine for v in row[:-1])


def neuron_row_id(row_id: int | str) -> tuple[int, int | None] | None:
    """``(position, j)`` for a neuron's row id, ``p`` (``j`` None: the only breakpoint)
    or ``"p:j"``; None for any other string (a box face, or unknown)."""
    if isinstance(row_id, int):
        return row_id, None
    match = _BOUND_ID.fullmatch(row_id)
    return None if match is None else (int(match[1]), int(match[2]))


class PatternMaps:
    """Pre-activation rows of every layer, cached for the current pattern prefix."""

    def __init__(self, network: Network, budget: Budget) -> None:
        self.dim = network.input_dim
        self.budget = budget
        self.layers: list[tuple[Terms, tuple[int, ...], int]] = []
        self.activations: list[Activation] = []
        self.first: list[int] = []  # pattern position of each layer's first neuron
        position = 0
        for layer in network.layers:
            self.layers.append(_integer_layer(layer))
            self.activations.append(layer.activation)
            self.first.append(position)
            if layer.activation.stateful:
                position += layer.width
        self.output = _integer_layer(network.output)
        self.length = position
        first = network.layers[0]
        scale = self.layers[0][2]
        self._first_rows = ([(*(int(w * scale) for w in row), int(b * scale))
                             for row, b in zip(first.weights, first.biases)], scale)
        self._cache: list[dict[str, tuple[list[IntRow], int]]] = [{} for _ in self.layers]
        # position -> (layer index, neuron index) for the neurons with a state
        self.neuron = [
            (li, j)
            for li, (terms, _, _) in enumerate(self.layers)
            if self.activations[li].stateful
            for j in range(len(terms))
        ]
        self.symbols = "".join(sorted({act.symbol(cell) for act in self.activations
                                       for cell in range(act.cells) if act.stateful}))
        # Per layer: the activation on each state as integers (k, c) over a common
        # unit (output = (k pre + c) / unit), each open piece's bounds (j, u, v, above)
        # by symbol, and the breakpoint of each breakpoint's symbol.
        self._outputs = [_integer_cells(act) for act in self.activations]
        self.specs = [_piece_specs(act) for act in self.activations]
        self._full = re.compile("".join(
            f"[{re.escape(act.symbols)}]{{{len(terms)}}}"
            for (terms, _, _), act in zip(self.layers, self.activations) if act.stateful))
        self.at = [{act.symbol(2 * j + 1): t for j, t in enumerate(act.breakpoints)}
                   for act in self.activations]
        # For an activation whose only breakpoint is 0: the sign of pre on each state
        # (0 at the breakpoint), the fast path of the breakpoint checker.
        self.signs = [{"-": -1, "0": 0, "+": 1} if act.breakpoints == (0,) else None
                      for act in self.activations]

    def _inputs(self, index: int, pattern: str) -> tuple[list[IntRow | None], int, int]:
        """The input map of layer ``index >= 1`` (None for rows that are zero),
        reduced by the gcd of its entries and denominator, with its integers' size in
        bits."""
        rows, d = self.layer_rows(index - 1, pattern)
        unit, by_state = self._outputs[index - 1]
        if self.activations[index - 1].stateful:
            start = self.first[index - 1]
            maps = [by_state[state] for state in pattern[start:start + len(rows)]]
        else:
            maps = [by_state[None]] * len(rows)
        inputs, d = _activated(rows, d, maps, unit)
        flat = [v for row in inputs if row is not None for v in row]
        g = math.gcd(d, *flat) if d > 1 else 1
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
        (only the states before the layer are read).  Kept per layer for up to
        :data:`LAYER_CACHE` prefixes (then cleared): the search tree's records share
        prefixes, and the facet evidence revisits regions and their neighbours."""
        key = pattern[: self.first[index]]
        cache = self._cache[index]
        cached = cache.get(key)
        if cached is not None:
            return cached
        if index == 0:
            cached = self._first_rows
        else:
            cached = self._apply(self.layers[index], *self._inputs(index, pattern))
        if len(cache) >= LAYER_CACHE:
            cache.clear()
        cache[key] = cached
        return cached

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

    def activation(self, position: int) -> Activation:
        return self.activations[self.neuron[position][0]]

    def row(self, position: int, pattern: str) -> tuple[IntRow, int]:
        """The pre-activation row of the neuron at ``position`` and its denominator."""
        index, j = self.neuron[position]
        rows, s = self.layer_rows(index, pattern)
        return rows[j], s

    def all_rows(self, pattern: str) -> list[tuple[IntRow, int]]:
        """The pre-activation row and denominator of every neuron with a state on
        ``pattern``'s region, in pattern order (for a full pattern)."""
        out: list[tuple[IntRow, int]] = []
        for index, act in enumerate(self.activations):
            if act.stateful:
                rows, s = self.layer_rows(index, pattern)
                out.extend((row, s) for row in rows)
        return out

    def children(self, position: int, pattern: str) -> str:
        """The states a node at ``position`` branches into, in canonical order: every
        open piece when the neuron's map is not constant, else the cell of its value."""
        row, s = self.row(position, pattern)
        act = self.activation(position)
        if any(row[:-1]):
            return act.piece_symbols
        return act.symbol(act.cell_of(Fraction(row[-1], s)))

    def bound_spec(self, position: int, j: int | None, pattern: str,
                   where: str) -> tuple[int, int, int, bool]:
        """The bound ``(j, u, v, above)`` that breakpoint ``j`` (None: the only one) of
        the neuron at ``position`` imposes on ``pattern``'s region, whose state there
        must be an open piece.  A row id names ``j`` exactly when the activation has
        several breakpoints; anything else is :class:`Rejected`."""
        spec = None
        if 0 <= position < len(pattern):
            index = self.neuron[position][0]
            k = len(self.activations[index].breakpoints)
            if (j is None) == (k == 1):
                spec = self.specs[index].get(pattern[position])
        bound = spec[0] if spec and j is None else \
            next((b for b in spec or () if b[0] == j), None)
        if bound is None:
            raise Rejected(f"{where}: no strict inequality of neuron {shown(position)} "
                           f"{'' if j is None else f'at breakpoint {shown(j)} '}on this region")
        return bound

    def bound(self, position: int, j: int | None, pattern: str, where: str) -> Bound:
        """The strict inequality ``g(x) > 0`` of :meth:`bound_spec`: ``pre - t_j`` above
        the breakpoint, ``t_j - pre`` below, as an integer row over its positive
        denominator, with its position, ``j`` and sense."""
        bound = self.bound_spec(position, j, pattern, where)
        row, s = self.row(position, pattern)
        return signed_bound(row, s, bound), position, bound[0], bound[3]

    def is_pattern(self, pattern: str) -> bool:
        """Whether ``pattern`` gives every neuron with a state one of its activation's."""
        return self._full.fullmatch(pattern) is not None

    def piece_spec(self, position: int, state: str) -> PieceSpec | None:
        """The bounds ``(j, u, v, above)`` of the open piece ``state`` of the neuron at
        ``position`` (None when ``state`` is a breakpoint's cell)."""
        return self.specs[self.neuron[position][0]].get(state)

    def pattern_bounds(self, pattern: str) -> list[RegionBound]:
        """The strict inequalities of a full pattern's region: for a neuron in an open
        piece, ``pre - t_j > 0`` for the breakpoint below it and ``t_j - pre > 0`` for
        the one above, as ``(position, j, sign, row, den)`` with ``row / den`` the map
        of ``pre - t_j`` and ``sign`` +1 above it, -1 below (rows are not negated: the
        caller multiplies values by the sign)."""
        out = []
        position = 0
        for index, act in enumerate(self.activations):
            if not act.stateful:
                continue
            rows, s = self.layer_rows(index, pattern)
            specs = self.specs[index]
            for row in rows:
                for j, u, v, above in specs.get(pattern[position]) or ():
                    if u:
                        out.append((position, j, 1 if above else -1,
                                    (*(v * a for a in row[:-1]), v * row[-1] - u * s), v * s))
                    else:
                        out.append((position, j, 1 if above else -1, row, s))
                position += 1
        return out

    def values(self, rows: list[IntRow], x: tuple[int, ...]) -> list[int]:
        """``row . x`` for each row and a homogeneous point ``x`` (see :func:`homogeneous`),
        charged to the budget."""
        self.budget.spend(len(rows) * (self.dim + 1) * (1 + max(map(abs, x)).bit_length() // 64))
        return [sum(map(mul, row, x)) for row in rows]


def signed_bound(row: IntRow, s: int, bound: tuple[int, int, int, bool]) -> tuple[IntRow, int]:
    """``pre - t`` (``above``) or ``t - pre`` for ``pre = row . (x, 1) / s`` and the bound
    ``(j, u, v, above)`` of ``t = u / v``, as an integer row over the positive
    denominator ``s * v``."""
    _, u, v, above = bound
    if u:
        row, s = (*(v * a for a in row[:-1]), v * row[-1] - u * s), v * s
    return (row if above else tuple(-a for a in row)), s


def _piece_specs(act: Activation) -> dict[str, PieceSpec]:
    """Each open piece's bounds ``(j, u, v, above)``, by the piece's symbol."""
    specs = {}
    for cell in range(0, act.cells, 2):
        specs[act.symbol(cell)] = tuple(
            (j, act.breakpoints[j - 1].numerator, act.breakpoints[j - 1].denominator,
             j <= cell // 2) for j in act.bounds(cell) if j is not None)
    return specs


def _integer_cells(act: Activation) -> tuple[int, dict[str | None, tuple[int, int]]]:
    """The activation on each state (None: a stateless layer's single piece) as
    integers ``(k, c)`` over a common ``unit``: ``sigma = (k pre + c) / unit``."""
    pairs = {act.symbol(cell) if act.stateful else None: act.affine(cell)
             for cell in range(act.cells)}
    unit = math.lcm(*(v.denominator for pair in pairs.values() for v in pair))
    return unit, {state: (int(k * unit), int(c * unit)) for state, (k, c) in pairs.items()}


def _activated(rows: list[IntRow], d: int, maps: list[tuple[int, int]],
               unit: int) -> tuple[list[IntRow | None], int]:
    """``(k row + c) / unit`` for each row over ``d`` and its ``(k, c)``, as integer rows
    (None for a zero row) over ``d * unit``."""
    out: list[IntRow | None] = []
    for row, (k, c) in zip(rows, maps):
        if not k and not c:
            out.append(None)
        elif k == 1 and not c and unit == 1:
            out.append(row)
        else:
            out.append((*(k * a for a in row[:-1]), k * row[-1] + c * d))
    return out, d * unit


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
