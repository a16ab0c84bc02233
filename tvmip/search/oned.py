"""Exact breakpoint propagation for one-input networks (n0 = 1), without LPs.

On the line, activation regions are open intervals.  We push the partition of
the domain through the layers: on each interval every layer input is an exact
affine function of x, so each pre-activation crosses each breakpoint ``t`` of its
activation at most once inside it (at a rational point) unless it is the
constant ``t`` there (the breakpoint's cell, ReLU's ``0``).  Sorting those
crossings splits the interval; on a sub-interval the signs of ``pre - t`` for
every breakpoint ``t`` give the neuron's cell (:mod:`tvmip.checker.activation`).

Every breakpoint found is where the first neuron (in network order) whose state
differs between the two sides reaches a breakpoint of its activation, so
consecutive intervals always carry different patterns and each interval is
exactly one activation region.  Linear
regions are the maximal runs of intervals with equal output maps; distinct maps
are counted separately (the same map can come back after a different one).

All arithmetic is on integers over common denominators, vectorised with numpy:
``int64`` while a bound proves no overflow, Python integers (``object`` arrays)
otherwise.  Float values are used only to order zeros inside an interval, and
that order is then verified exactly (and re-sorted exactly where it fails).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from ..model.network import Box
from ..model.scaled import INT64_SAFE, ScaledLayer, ScaledNetwork, max_abs


def _fits(*bounds: int) -> bool:
    return math.prod(bounds) < INT64_SAFE


def _as(array: np.ndarray, big: bool) -> np.ndarray:
    return array.astype(object) if big and array.dtype != object else array


@dataclass(frozen=True)
class Partition:
    """The domain cut into intervals (activation regions), with exact data per interval.

    ``bn / bd`` are the interior breakpoints (sorted, reduced, ``bd > 0``); interval
    ``i`` runs from breakpoint ``i - 1`` to ``i`` (the domain's ends outside).
    ``states`` holds the cell of every neuron with a state on every interval, and
    ``symbols[p, cell]`` the code point of its symbol; the output map on
    interval ``i`` is ``x -> (slope[i] x + offset[i]) / denominator`` per output.
    """

    bn: np.ndarray
    bd: np.ndarray
    states: np.ndarray
    symbols: np.ndarray
    slope: np.ndarray
    offset: np.ndarray
    denominator: int
    box: Box | None

    @property
    def activation_regions(self) -> int:
        return len(self.states)

    def map_changes(self) -> np.ndarray:
        """For each breakpoint: whether the output map differs on its two sides."""
        differs = (self.slope[1:] != self.slope[:-1]) | (self.offset[1:] != self.offset[:-1])
        return np.any(differs, axis=1) if differs.size else np.zeros(0, dtype=bool)

    @property
    def linear_regions(self) -> int:
        return 1 + int(np.count_nonzero(self.map_changes()))

    @property
    def distinct_maps(self) -> int:
        rows = np.hstack([self.slope, self.offset])
        return len({tuple(row) for row in rows.tolist()})

    @property
    def output_values(self) -> int | None:
        """The number of values of f when it is piecewise constant, else None."""
        return None if np.any(self.slope) else self.distinct_maps

    def patterns(self) -> Iterator[str]:
        """Pattern strings, one per interval (decoded in blocks to bound memory)."""
        width = self.states.shape[1]
        positions = np.arange(width)[None, :]
        for start in range(0, len(self.states), 65536):
            block = np.ascontiguousarray(self.symbols[positions, self.states[start:start + 65536]])
            if width == 0:
                yield from ("" for _ in range(len(block)))
            elif block.dtype == np.uint8:
                yield from (row.decode() for row in block.view(f"S{width}").ravel())
            else:
                yield from (str(row) for row in block.view(f"<U{width}").ravel())

    def breakpoint(self, i: int) -> Fraction:
        return Fraction(int(self.bn[i]), int(self.bd[i]))


def propagate(network: ScaledNetwork, box: Box | None = None) -> Partition:
    """Cut the domain (R, or the open interval ``box``) into activation regions."""
    if network.dim != 1:
        raise ValueError("breakpoint propagation needs a network with one input")
    # Interior breakpoints (none yet) and the input map x -> x on one interval.
    bn = np.zeros(0, dtype=np.int64)
    bd = np.ones(0, dtype=np.int64)
    g = np.ones((1, 1), dtype=np.int64)
    h = np.zeros((1, 1), dtype=np.int64)
    d = 1
    all_states: list[np.ndarray] = []
    for layer in network.layers:
        pa, pc, s = _pre_activations(layer, g, h, d)
        if layer.stateful:
            bn, bd, parent, cells = _split(*_crossings(layer, pa, pc, s), bn, bd, box)
            cells = _cells(cells, len(layer.activation.breakpoints))
            all_states = [st[parent] for st in all_states] + [cells]
            g, h, s = _activated(layer, pa[parent], pc[parent], s, cells)
        else:
            g, h, s = _activated(layer, pa, pc, s, np.zeros(pa.shape, dtype=np.int8))
        g, h, d = _reduce(g, h, s)
    slope, offset, denominator = _pre_activations(network.output, g, h, d)
    slope, offset, denominator = _reduce(slope, offset, denominator)
    states = np.hstack(all_states) if all_states else np.zeros((len(g), 0), dtype=np.int8)
    return Partition(bn, bd, states, _symbol_table(network), slope, offset, denominator, box)


def _symbol_table(network: ScaledNetwork) -> np.ndarray:
    """``table[p, cell]``: the code point of the symbol of neuron ``p``'s cell (bytes
    when every symbol is ASCII, UCS-4 otherwise)."""
    acts = [layer.activation for layer in network.layers if layer.stateful
            for _ in range(layer.width)]
    codes = [[ord(c) for c in act.symbols] for act in acts]
    big = any(code >= 128 for row in codes for code in row)
    table = np.zeros((len(acts), max((a.cells for a in acts), default=1)),
                     dtype=np.uint32 if big else np.uint8)
    for p, row in enumerate(codes):
        table[p, :len(row)] = row
    return table


def _crossings(layer: ScaledLayer, pa: np.ndarray,
               pc: np.ndarray, s: int) -> tuple[np.ndarray, np.ndarray]:
    """Slopes and offsets of ``pre - t`` for every neuron and every breakpoint ``t`` of
    its activation (columns neuron-major), as integers over ``s * den(t)``."""
    ts = layer.activation.breakpoints
    if ts == (0,):
        return pa, pc
    big = pa.dtype == object or pc.dtype == object or \
        not _fits(max(max_abs(pa), max_abs(pc), 1), max(t.denominator for t in ts)) or \
        not _fits(max(abs(t.numerator) for t in ts), s)
    pa, pc = _as(pa, big), _as(pc, big)
    a = np.stack([pa * t.denominator for t in ts], axis=2).reshape(len(pa), -1)
    c = np.stack([pc * t.denominator - t.numerator * s for t in ts], axis=2).reshape(len(pc), -1)
    return a, c


def _cells(signs: np.ndarray, breakpoints: int) -> np.ndarray:
    """Each neuron's cell from the signs of ``pre - t_j`` over its breakpoints: the
    breakpoint ``t_j`` where the sign is 0 (a constant at it), else the open piece
    above as many breakpoints as the sign is positive."""
    if breakpoints == 1:  # cells 0, 1, 2 are the signs -1, 0, +1
        return (signs + 1).astype(np.int8)
    signs = signs.reshape(len(signs), -1, breakpoints)
    at = signs == 0
    piece = 2 * np.count_nonzero(signs > 0, axis=2)
    exact = 2 * np.argmax(at, axis=2) + 1
    return np.where(np.any(at, axis=2), exact, piece).astype(np.int16 if breakpoints > 63 else np.int8)


def _activated(layer: ScaledLayer, pa: np.ndarray, pc: np.ndarray, s: int,
               cells: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """The layer's output on every interval: ``(k pre + c) / unit`` on each neuron's
    cell (see :class:`~tvmip.model.scaled.ScaledLayer`), over ``s * unit``."""
    if layer.masks:
        mask = np.array([k for k, _ in layer.cell_maps], dtype=np.int64)[cells]
        return pa * mask, pc * mask, s
    maps = np.array(layer.cell_maps, dtype=object)
    k, c = maps[cells, 0], maps[cells, 1]
    pa, pc = _as(pa, True), _as(pc, True)
    return pa * k, pc * k + c * s, s * layer.unit


def _pre_activations(layer: ScaledLayer, g: np.ndarray, h: np.ndarray,
                     d: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Slopes and offsets of ``W z + b`` on every interval, over ``d * scale``."""
    wt = layer.weights.T
    bias = layer.biases
    big = not _fits(layer.weight_bound, max(max_abs(g), max_abs(h), 1)) or \
        not _fits(layer.bias_bound, d) or g.dtype == object or wt.dtype == object
    g, h, wt, bias = (_as(v, big) for v in (g, h, wt, bias))
    pa = g @ wt
    pc = h @ wt + bias * d
    return pa, pc, d * layer.scale


def _reduce(g: np.ndarray, h: np.ndarray, d: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Divide maps and denominator by their common gcd; back to int64 when small."""
    common = math.gcd(d, int(np.gcd.reduce(g, axis=None)) if g.size else 0,
                      int(np.gcd.reduce(h, axis=None)) if h.size else 0)
    if common > 1:
        g, h, d = g // common, h // common, d // common
    if g.dtype == object and max(max_abs(g), max_abs(h)) < INT64_SAFE:
        g, h = g.astype(np.int64), h.astype(np.int64)
    return g, h, d


def _compare(zn: np.ndarray, zd: np.ndarray, pn: np.ndarray, pd: np.ndarray) -> np.ndarray:
    """Exact sign of ``zn/zd - pn/pd`` (positive denominators), elementwise."""
    big = not _fits(max(max_abs(zn), 1), max(max_abs(pd), 1)) or \
        not _fits(max(max_abs(pn), 1), max(max_abs(zd), 1))
    zn, zd, pn, pd = (_as(v, big) for v in (zn, zd, pn, pd))
    return np.sign(zn * pd - pn * zd).astype(np.int8)


def _split(pa: np.ndarray, pc: np.ndarray, bn: np.ndarray, bd: np.ndarray,
           box: Box | None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Split every interval at the zeros of this layer's pre-activations.

    Returns the new breakpoints, each new interval's parent, and the signs
    (-1/0/+1) of every column on the new intervals."""
    count, width = pa.shape
    sign_a = np.sign(pa).astype(np.int8)
    sign_c = np.sign(pc).astype(np.int8)
    # Zeros z = -pc/pa as reduced fractions zn/zd with zd > 0 (where pa != 0).
    nonconst = sign_a != 0
    zd = np.where(nonconst, np.abs(pa), 1)
    zn = np.where(nonconst, -pc * sign_a, 0)
    common = np.gcd(zn, zd)
    zn, zd = zn // common, zd // common
    # Each interval's ends; -1/+1 compare results stand in for infinite ends.
    left_n, left_d, right_n, right_d = _ends(bn, bd, box, count, pa.dtype)
    above_left = _compare(zn, zd, left_n[:, None], left_d[:, None])
    below_right = _compare(zn, zd, right_n[:, None], right_d[:, None])
    if box is None:
        above_left[0, :] = 1
        below_right[-1, :] = -1
    inside = nonconst & (above_left > 0) & (below_right < 0)
    # States that hold on a whole interval: constant sign, or zero outside it.
    base = np.where(nonconst, np.where(above_left <= 0, sign_a, -sign_a), sign_c)
    rank = np.full((count, width), -1, dtype=np.int64)
    ii, jj = np.nonzero(inside)
    if len(ii):
        order, unique_start = _sorted_zeros(ii, zn[ii, jj], zd[ii, jj])
        ii, jj = ii[order], jj[order]
        new_zn, new_zd = zn[ii, jj], zd[ii, jj]
        # Rank of each zero among the distinct zeros of its interval.
        group = np.cumsum(unique_start) - 1
        first_group = np.zeros(count + 1, dtype=np.int64)
        np.add.at(first_group, ii + 1, unique_start)
        first_group = np.cumsum(first_group)
        rank[ii, jj] = group - first_group[ii]
        cuts = first_group[1:] - first_group[:-1]
        keep = unique_start.astype(bool)
        fresh_n, fresh_d = new_zn[keep], new_zd[keep]
    else:
        cuts = np.zeros(count, dtype=np.int64)
        fresh_n = fresh_d = np.zeros(0, dtype=np.int64)
    pieces = cuts + 1
    parent = np.repeat(np.arange(count), pieces)
    local = np.arange(len(parent)) - np.repeat(np.cumsum(pieces) - pieces, pieces)
    r = rank[parent]
    states = np.where(r >= 0, np.where(local[:, None] > r, sign_a[parent], -sign_a[parent]),
                      base[parent]).astype(np.int8)
    # The right end of each new interval but the last: a fresh zero of its parent,
    # or, after the parent's last fresh zero, the parent's own right end.
    right = parent[:-1], local[:-1]
    fresh = right[1] < cuts[right[0]]
    big = fresh_n.dtype == object or bn.dtype == object
    new_n = np.empty(len(parent) - 1, dtype=object if big else np.int64)
    new_d = np.empty(len(parent) - 1, dtype=new_n.dtype)
    fresh_index = (np.cumsum(cuts) - cuts)[right[0][fresh]] + right[1][fresh]
    new_n[fresh], new_d[fresh] = fresh_n[fresh_index], fresh_d[fresh_index]
    new_n[~fresh], new_d[~fresh] = bn[right[0][~fresh]], bd[right[0][~fresh]]
    return new_n, new_d, parent, states


def _ends(bn: np.ndarray, bd: np.ndarray, box: Box | None, count: int,
          dtype: np.dtype) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Left and right ends of every interval (placeholders 0/1 where infinite)."""
    lo = (box.lo[0].numerator, box.lo[0].denominator) if box else (0, 1)
    hi = (box.hi[0].numerator, box.hi[0].denominator) if box else (0, 1)
    big = bn.dtype == object or dtype == object or max(map(abs, (*lo, *hi))) >= INT64_SAFE
    left_n = np.array([lo[0], *bn.tolist()], dtype=object if big else np.int64)
    left_d = np.array([lo[1], *bd.tolist()], dtype=object if big else np.int64)
    right_n = np.array([*bn.tolist(), hi[0]], dtype=object if big else np.int64)
    right_d = np.array([*bd.tolist(), hi[1]], dtype=object if big else np.int64)
    return left_n, left_d, right_n, right_d


def _sorted_zeros(parent: np.ndarray, zn: np.ndarray, zd: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Order zeros by (interval, value) and flag the first of each distinct value.

    Floats give the order; consecutive zeros of one interval are then compared
    exactly, and if any pair is out of order everything is sorted exactly."""
    try:
        approx = np.array([n / d for n, d in zip(zn.tolist(), zd.tolist())], dtype=float)
    except OverflowError:  # a zero beyond the float range: order everything exactly
        approx = np.zeros(len(zn))
    order = np.lexsort((approx, parent))
    p, n, d = parent[order], zn[order], zd[order]
    same = p[1:] == p[:-1]
    step = _compare(n[1:], d[1:], n[:-1], d[:-1])
    if np.any(same & (step < 0)):
        exact = sorted(range(len(parent)), key=lambda k: (int(parent[k]), Fraction(int(zn[k]), int(zd[k]))))
        order = np.array(exact, dtype=np.int64)
        p, n, d = parent[order], zn[order], zd[order]
        same = p[1:] == p[:-1]
        step = _compare(n[1:], d[1:], n[:-1], d[:-1])
    unique_start = np.ones(len(order), dtype=np.int64)
    unique_start[1:] = ~(same & (step == 0))
    return order, unique_start


def _fraction_texts(num: np.ndarray, den: int | np.ndarray) -> list[str]:
    """Reduced rationals as JSON texts: ``3`` or ``"3/4"``."""
    if isinstance(den, int):
        den = np.full(num.shape, den, dtype=object if num.dtype == object or den >= INT64_SAFE
                      else np.int64)
    common = np.gcd(num, den)
    numerators, denominators = (num // common).tolist(), (den // common).tolist()
    return [str(n) if d == 1 else f'"{n}/{d}"' for n, d in zip(numerators, denominators)]


def certificate_lines(partition: Partition) -> Iterator[str]:
    """The records of a ``breakpoints`` certificate: intervals and breakpoints, alternating."""
    slopes = [_fraction_texts(partition.slope[:, k], partition.denominator)
              for k in range(partition.slope.shape[1])]
    offsets = [_fraction_texts(partition.offset[:, k], partition.denominator)
               for k in range(partition.offset.shape[1])]
    points = _fraction_texts(partition.bn, partition.bd)
    for i, pattern in enumerate(partition.patterns()):
        maps = ",".join(f"[{slope[i]},{offset[i]}]" for slope, offset in zip(slopes, offsets))
        yield f'{{"s":"{pattern}","f":[{maps}]}}\n'
        if i < len(points):
            yield f'{{"b":{points[i]}}}\n'


def interior_points(partition: Partition) -> Iterator[Fraction]:
    """A rational point inside each interval: midpoints, one step beyond the
    outermost breakpoints, or the box ends' midpoint."""
    box = partition.box
    lo = box.lo[0] if box else None
    hi = box.hi[0] if box else None
    count = partition.activation_regions
    for i in range(count):
        left = partition.breakpoint(i - 1) if i > 0 else lo
        right = partition.breakpoint(i) if i < count - 1 else hi
        if left is not None and right is not None:
            yield (left + right) / 2
        elif left is not None:
            yield left + 1
        elif right is not None:
            yield right - 1
        else:
            yield Fraction(0)
