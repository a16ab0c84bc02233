"""Exact 2-D geometry of regions: a region of a two-input network clipped to a box.

The closure of an activation region is the intersection of closed half-planes,
the closures of the bounds of every neuron in an open piece (``pre >= t`` above a
breakpoint ``t``, ``pre <= t`` below), with the pre-activations along the region's
pattern (:mod:`tvmip.model.scaled`).  Clipping the box's rectangle by them gives
the region's polygon in the box with exact rational vertices, in
counter-clockwise order; the shoelace formula gives its exact area.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from fractions import Fraction
from typing import TypeVar

from .network import Box
from .scaled import (
    ScaledNetwork,
    input_map,
    layer_output,
    piece_bounds,
    pre_activations,
)

Point = tuple[Fraction, Fraction]
HalfPlane = tuple[int, int, int]  # (a, b, c): a x + b y + c >= 0
T = TypeVar("T")


def half_planes(network: ScaledNetwork, pattern: str) -> list[HalfPlane]:
    """The closed half-planes of a region of a two-input network, as primitive
    integer rows (sorted, without repetitions)."""
    m, d = input_map(2)
    rows = set()
    for layer in network.layers:
        p, s = pre_activations(layer, m, d)
        cells = None
        if layer.stateful:
            cells = [layer.activation.cell(state)
                     for state in pattern[layer.first:layer.first + layer.width]]
            for j, (cell, (a, b, c)) in enumerate(zip(cells, p.tolist())):
                if cell % 2 == 0:  # a . x < c' (slack >= 0) is -a . x + c' >= 0
                    rows.update((-bound.row[0], -bound.row[1], bound.row[2]) for bound in
                                piece_bounds(layer, layer.first + j, [a, b], c, s, cell))
        m, d = layer_output(p, s, layer, cells)
    return sorted(rows)


def cyclic(items: Sequence[T]) -> Iterator[tuple[T, T]]:
    """Consecutive pairs, the last item paired with the first (a polygon's edges)."""
    return zip(items, (*items[1:], items[0]))


def clip(polygon: list[Point], row: HalfPlane) -> list[Point]:
    """The convex polygon cut by the closed half-plane ``a x + b y + c >= 0``."""
    a, b, c = row
    values = [a * x + b * y + c for x, y in polygon]
    out = []
    for (p, q), (vp, vq) in zip(cyclic(polygon), cyclic(values)):
        if vp >= 0:
            out.append(p)
        if vp * vq < 0:
            t = vp / (vp - vq)
            out.append((p[0] + t * (q[0] - p[0]), p[1] + t * (q[1] - p[1])))
    return out


def rectangle(box: Box) -> list[Point]:
    """The box's corners, counter-clockwise."""
    (x0, y0), (x1, y1) = box.lo, box.hi
    return [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]


def polygon(outline: list[Point], rows: Iterable[HalfPlane]) -> list[Point]:
    """``outline`` (a convex polygon) cut by every half-plane of ``rows``."""
    for row in rows:
        outline = clip(outline, row)
        if not outline:
            break
    return outline


def area(points: Sequence[Point]) -> Fraction:
    """The exact area of a convex polygon with counter-clockwise vertices (shoelace)."""
    return sum((p[0] * q[1] - q[0] * p[1] for p, q in cyclic(points)), Fraction(0)) / 2


def region_polygon(network: ScaledNetwork, pattern: str, box: Box) -> list[Point]:
    """The closure of the region of ``pattern`` in the closed box, as a polygon."""
    return polygon(rectangle(box), half_planes(network, pattern))
