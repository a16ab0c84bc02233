"""Exact algebra on piecewise-linear functions of one variable, for ONNX in and out.

A function here is an :class:`~tvmip.checker.activation.Activation` (breakpoints,
``(slope, offset)`` of each open piece, the value at each breakpoint) kept in
*minimal form*: no breakpoint where neither the piece nor the value changes.  The
minimal form is unique, so two functions are equal exactly when their records are
(``Activation`` equality compares breakpoints, pieces and values): that is how
:func:`named` recognises ``relu``, ``hardtanh``, ``quantize`` and the rest.

Every operation is exact.  Most are built by :func:`tabulate`, which is given the
function pointwise and a superset of its breakpoints: on each open interval between
them the function is affine, so two interior samples give the piece exactly, and a
third one checks it (a product of two non-constant pieces is quadratic, not
affine, and is refused).  :func:`compose` finds its candidate breakpoints in closed
form: those of the inner function and the points where an inner piece crosses an
outer breakpoint.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Callable, Iterable, Sequence
from fractions import Fraction
from itertools import pairwise

from ..checker.activation import (
    HARDTANH,
    IDENTITY,
    RELU,
    SIGN,
    STEP,
    Activation,
    leaky_relu,
    pwl,
    quantize,
)
from ..checker.limits import MAX_BREAKPOINTS

ZERO, ONE, HALF = Fraction(0), Fraction(1), Fraction(1, 2)
Piece = tuple[Fraction, Fraction]


class NotPiecewiseLinear(ValueError):
    """An operation whose result is not an exact piecewise-linear function."""


def at(f: Activation, z: Fraction) -> Fraction:
    """``f(z)`` by bisection (``Activation.__call__`` scans every breakpoint)."""
    j = bisect_left(f.breakpoints, z)
    if j < len(f.breakpoints) and f.breakpoints[j] == z:
        return f.values[j]
    slope, offset = f.pieces[j]
    return slope * z + offset


def minimal(breakpoints: Sequence[Fraction], pieces: Sequence[Piece],
            values: Sequence[Fraction]) -> Activation:
    """The function in minimal form: breakpoints where nothing happens are dropped."""
    kept_t: list[Fraction] = []
    kept_v: list[Fraction] = []
    kept_p: list[Piece] = [pieces[0]]
    for t, v, piece in zip(breakpoints, values, pieces[1:]):
        slope, offset = kept_p[-1]
        if piece == kept_p[-1] and v == slope * t + offset:
            continue
        kept_t.append(t)
        kept_v.append(v)
        kept_p.append(piece)
    if len(kept_t) > MAX_BREAKPOINTS:
        raise NotPiecewiseLinear(f"more than {MAX_BREAKPOINTS} breakpoints")
    return pwl(kept_t, kept_p, kept_v)


def line(slope: Fraction, offset: Fraction = ZERO) -> Activation:
    """``slope * z + offset``, a function with no breakpoint."""
    return pwl([], [(Fraction(slope), Fraction(offset))], [])


def constant(value: Fraction) -> Activation:
    return line(ZERO, value)


def _samples(points: list[Fraction]) -> list[tuple[Fraction, Fraction, Fraction]]:
    """Three points inside each open interval the sorted ``points`` cut the line into."""
    if not points:
        return [(ZERO, ONE, Fraction(2))]
    inner = [(a + (b - a) / 4, a + (b - a) / 2, a + 3 * (b - a) / 4)
             for a, b in pairwise(points)]
    first, last = points[0], points[-1]
    return [(first - 3, first - 2, first - 1), *inner, (last + 1, last + 2, last + 3)]


def tabulate(function: Callable[[Fraction], Fraction],
             points: Iterable[Fraction]) -> Activation:
    """The function that ``function`` computes, given a superset of its breakpoints.

    Raises :class:`NotPiecewiseLinear` when ``function`` is not affine between them."""
    cuts = sorted(set(points))
    if len(cuts) > 4 * MAX_BREAKPOINTS:
        raise NotPiecewiseLinear(f"more than {MAX_BREAKPOINTS} breakpoints")
    pieces: list[Piece] = []
    for u, v, w in _samples(cuts):
        fu, fv, fw = function(u), function(v), function(w)
        slope = (fw - fu) / (w - u)
        if fv != fu + slope * (v - u):
            raise NotPiecewiseLinear("the result is not piecewise linear")
        pieces.append((slope, fu - slope * u))
    return minimal(cuts, pieces, [function(t) for t in cuts])


def compose(outer: Activation, inner: Activation) -> Activation:
    """``outer(inner(z))``."""
    points = set(inner.breakpoints)
    edges: list[Fraction | None] = [None, *inner.breakpoints, None]
    for (slope, offset), lo, hi in zip(inner.pieces, edges, edges[1:]):
        if slope == 0:
            continue
        for t in outer.breakpoints:
            z = (t - offset) / slope
            if (lo is None or z > lo) and (hi is None or z < hi):
                points.add(z)
    return tabulate(lambda z: at(outer, at(inner, z)), points)


def combine(op: Callable[..., Fraction], *functions: Activation) -> Activation:
    """``op(f_1(z), .., f_n(z))`` pointwise, for an ``op`` that keeps affine pieces
    affine (sums, a product with a constant, a selection by a piecewise-constant
    condition); anything else is refused by :func:`tabulate`'s check."""
    points = {t for f in functions for t in f.breakpoints}
    return tabulate(lambda z: op(*(at(f, z) for f in functions)), points)


def clip(lo: Fraction | None, hi: Fraction | None) -> Activation:
    """``min(hi, max(z, lo))`` (ONNX Clip); a missing bound is unbounded."""
    if lo is not None and hi is not None and lo >= hi:
        return constant(hi)
    def clipped(z: Fraction) -> Fraction:
        z = z if lo is None else max(z, lo)
        return z if hi is None else min(z, hi)

    return tabulate(clipped, [b for b in (lo, hi) if b is not None])


GREATER = pwl([ZERO], [(ZERO, ZERO), (ZERO, ONE)], [ZERO])
"""1 if z > 0 else 0: ``Greater(f, g)`` is ``GREATER(f - g)``; ``STEP`` is >=."""
EQUAL = pwl([ZERO], [(ZERO, ZERO), (ZERO, ZERO)], [ONE])
"""1 at 0, else 0."""
SIGN_ONNX = pwl([ZERO], [(ZERO, -ONE), (ZERO, ONE)], [ZERO])
"""ONNX Sign: -1, 0, +1 (tvmip's ``sign`` is +1 at 0)."""
ABS = pwl([ZERO], [(-ONE, ZERO), (ONE, ZERO)], [ZERO])


def quantizer(scale: Fraction, zero_point: int, qmin: int, qmax: int) -> Activation:
    """ONNX QuantizeLinear exactly: ``clamp(round_half_even(z / scale) + zero_point,
    qmin, qmax)``, an integer staircase with steps at ``scale (m + 1/2)``."""
    if qmax - qmin > MAX_BREAKPOINTS:
        raise NotPiecewiseLinear(f"more than {MAX_BREAKPOINTS} quantization steps")
    lo, hi = min(qmin, qmax), qmax
    steps = range(lo - zero_point, hi - zero_point)
    if not steps:
        return constant(Fraction(lo))
    return pwl([scale * (m + HALF) for m in steps],
               [(ZERO, Fraction(zero_point + m)) for m in range(lo - zero_point, hi - zero_point + 1)],
               [Fraction(zero_point + (m if m % 2 == 0 else m + 1)) for m in steps])


def value_range(f: Activation) -> tuple[Fraction, Fraction] | None:
    """The smallest closed interval holding every value of ``f``, None if unbounded."""
    if f.pieces[0][0] != 0 or f.pieces[-1][0] != 0:
        return None
    left_ends = [a * t + b for (a, b), t in zip(f.pieces[1:], f.breakpoints)]
    right_ends = [a * t + b for (a, b), t in zip(f.pieces[:-1], f.breakpoints)]
    values = [*f.values, f.pieces[0][1], f.pieces[-1][1], *left_ends, *right_ends]
    return min(values), max(values)


def round_half_even(f: Activation) -> Activation:
    """ONNX Round of ``f``, whose values must be bounded (else infinitely many steps)."""
    bounds = value_range(f)
    if bounds is None:
        raise NotPiecewiseLinear("Round of an unbounded value has infinitely many steps")
    lo, hi = math.floor(bounds[0]), math.ceil(bounds[1])
    if hi - lo > MAX_BREAKPOINTS:
        raise NotPiecewiseLinear(f"more than {MAX_BREAKPOINTS} rounding steps")
    if lo == hi:
        return compose(constant(Fraction(lo)), f)
    steps = range(lo, hi)
    stairs = pwl([k + HALF for k in steps], [(ZERO, Fraction(k)) for k in range(lo, hi + 1)],
                 [Fraction(k if k % 2 == 0 else k + 1) for k in steps])
    return compose(stairs, f)


def is_boolean(f: Activation) -> bool:
    """Whether ``f`` only takes the values 0 and 1 (a comparison's result)."""
    return all(a == 0 and b in (0, 1) for a, b in f.pieces) and all(v in (0, 1) for v in f.values)


def quantize_levels(f: Activation) -> tuple[Fraction, int, int] | None:
    """``(s, low, high)`` when ``f`` is ``quantize(s, z0, z0 + low, z0 + high)`` for every
    zero point ``z0`` (the function does not show it), else None."""
    if not f.breakpoints or any(a != 0 for a, _ in f.pieces):
        return None
    levels = [b for _, b in f.pieces]
    scale = levels[1] - levels[0]
    if scale <= 0 or any(b - a != scale for a, b in pairwise(levels)):
        return None
    low = levels[0] / scale
    high = low + len(f.breakpoints)
    if low.denominator != 1 or not low <= 0 <= high:
        return None
    if quantize(scale, 0, int(low), int(high)) != f:  # breakpoints and ties
        return None
    return scale, int(low), int(high)


def named(f: Activation, zero_points: Sequence[int] = ()) -> Activation:
    """``f`` under the name a network file would give it: ``identity``, ``relu``,
    ``step``, ``sign``, ``hardtanh``, ``leaky_relu``, ``quantize`` (with a zero point
    from ``zero_points``), or else the general ``pwl``.  The function is unchanged."""
    for known in (IDENTITY, RELU, STEP, SIGN, HARDTANH):
        if f == known:
            return known
    if (f.breakpoints == (ZERO,) and f.values == (ZERO,) and f.pieces[1] == (ONE, ZERO)
            and f.pieces[0][1] == 0):
        return leaky_relu(f.pieces[0][0])
    levels = quantize_levels(f)
    if levels is not None and zero_points:
        scale, low, high = levels
        z0 = zero_points[0]
        return quantize(scale, z0, z0 + low, z0 + high)
    return f
