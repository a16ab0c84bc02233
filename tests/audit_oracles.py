"""Independent oracles for the float-rounding audit (:mod:`tvmip.float_audit`).

Nothing here calls tvmip: rounding goes through numpy / ml_dtypes (a float64 is
converted to the format by numpy, then corrected exactly against its two
neighbours, so double rounding cannot hide), regions come from the exact polygon
splitting of :func:`oracles.polygon_cells_2d`, and sizes are computed from the
polygons: squared distances to edge lines exactly, the inradius (the Chebyshev
LP ``max r : a_i . x + c_i >= r |a_i|``) by enumerating its vertices in 120-digit
mpmath.
"""

from __future__ import annotations

import gzip
import itertools
import json
import shutil
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

import ml_dtypes
import mpmath
import numpy as np
import oracles

DTYPES = {"float64": np.dtype(np.float64), "float32": np.dtype(np.float32),
          "float16": np.dtype(np.float16), "bfloat16": np.dtype(ml_dtypes.bfloat16)}
_UINT = {8: np.uint64, 4: np.uint32, 2: np.uint16}

Point = tuple[Fraction, Fraction]
Line = tuple[Fraction, Fraction, Fraction]  # a x + b y + c > 0 inside


# ------------------------------------------------------------------------ rounding


def _scalar(value: float, dtype: np.dtype) -> np.ndarray:
    with np.errstate(all="ignore"):
        return np.array(value).astype(dtype)


def _exact(value: np.ndarray) -> Fraction:
    return Fraction(float(value))


def _neighbours(value: np.ndarray) -> list[np.ndarray]:
    dtype = value.dtype
    with np.errstate(all="ignore"):
        down = np.nextafter(value, _scalar(-np.inf, dtype))
        up = np.nextafter(value, _scalar(np.inf, dtype))
    return [v for v in (down, value, up) if np.isfinite(float(v))]


def largest(name: str) -> Fraction:
    """The largest finite number of the format, as numpy reports it."""
    return _exact(_scalar(float(ml_dtypes.finfo(DTYPES[name]).max), DTYPES[name]))


def half_ulp_of_largest(name: str) -> Fraction:
    top = _scalar(float(ml_dtypes.finfo(DTYPES[name]).max), DTYPES[name])
    below = np.nextafter(top, _scalar(0.0, DTYPES[name]))
    return (_exact(top) - _exact(below)) / 2


def round_exact(value: Fraction | int | str, name: str) -> Fraction:
    """IEEE round to nearest, ties to even, of an exact rational into the format
    ``name``; :class:`OverflowError` where IEEE gives an infinity (at or beyond
    largest + half an ulp)."""
    q = Fraction(value)
    dtype = DTYPES[name]
    if abs(q) >= largest(name) + half_ulp_of_largest(name):
        raise OverflowError(f"{q} overflows {name}")
    guess = _scalar(float(q), dtype)  # float(Fraction) is correctly rounded
    if not np.isfinite(float(guess)):
        guess = _scalar(float(np.copysign(float(ml_dtypes.finfo(dtype).max), float(q))), dtype)
    best: list[tuple[Fraction, np.ndarray]] = []
    for cand in _neighbours(guess):
        d = abs(_exact(cand) - q)
        if not best or d < best[0][0]:
            best = [(d, cand)]
        elif d == best[0][0] and _exact(cand) != _exact(best[0][1]):
            best.append((d, cand))
    if len(best) == 2:  # a tie: the even significand
        even = [c for _, c in best if int(c.view(_UINT[dtype.itemsize])) % 2 == 0]
        assert len(even) == 1
        return _exact(even[0])
    return _exact(best[0][1])


def is_number_of(value: Fraction, name: str) -> bool:
    try:
        return round_exact(value, name) == value
    except OverflowError:
        return False


def spacing_exact(value: Fraction, name: str) -> Fraction:
    """The gap between the format's numbers in the binade of |value| (the subnormal
    gap near 0): numpy's spacing at the format's number at or below |value|."""
    dtype = DTYPES[name]
    v = abs(Fraction(value))
    floor = round_exact(min(v, largest(name)), name)
    if floor > v:
        floor = _exact(np.nextafter(_scalar(float(floor), dtype), _scalar(0.0, dtype)))
    f = _scalar(float(floor), dtype)
    if floor == largest(name):
        return floor - _exact(np.nextafter(f, _scalar(0.0, dtype)))
    return _exact(np.spacing(f))


def rounded_json(data: dict[str, Any], name: str) -> dict[str, Any]:
    """The network dict with every weight and bias rounded (activations kept)."""
    out = json.loads(json.dumps(data))

    def rnd(v: Any) -> str:
        return oracles.fmt(round_exact(oracles._number(v), name))

    for layer in [*out["layers"], out["output"]]:
        layer["weights"] = [[rnd(w) for w in row] for row in layer["weights"]]
        layer["biases"] = [rnd(b) for b in layer["biases"]]
    return out


# --------------------------------------------------------------------- patterns


def cells_pattern_at(data: dict[str, Any], x: Sequence[Fraction]) -> str:
    """The cell of every stateful neuron's exact pre-activation at ``x`` (a
    breakpoint's cell where the value is exactly a breakpoint), each layer's output
    by the activation's own definition."""
    net = oracles.load(data)
    z = [Fraction(v) for v in x]
    states = []
    for lay in net.layers:
        pre = [sum((w * v for w, v in zip(row, z)), b)
               for row, b in zip(lay.weights, lay.biases)]
        table = lay.table
        if table.breakpoints:
            states += [table.symbol(table.cell_of(v)) for v in pre]
        z = [oracles.activation_value(lay.activation, v) for v in pre]
    return "".join(states)


def interior_pattern(data: dict[str, Any], x: Sequence[Fraction]) -> str | None:
    """The pattern of the region holding ``x`` strictly inside, else None."""
    got = oracles.point_pattern(data, [Fraction(v) for v in x])
    return None if got is None else got[0]


# --------------------------------------------------------------------- polygons


def regions(data: dict[str, Any], box: tuple[Sequence[Any], Sequence[Any]]
            ) -> dict[str, tuple[Point, ...]]:
    """Every activation region inside the open box: pattern -> closure polygon."""
    return {c.pattern: c.polygon for c in oracles.polygon_cells_2d(data, box)}


def _on_box_side(p: Point, q: Point, box: tuple[Sequence[Any], Sequence[Any]]) -> bool:
    lo, hi = [Fraction(v) for v in box[0]], [Fraction(v) for v in box[1]]
    return any(p[i] == q[i] == bound for i in range(2) for bound in (lo[i], hi[i]))


def edge_lines(polygon: Sequence[Point], skip_box: tuple | None = None) -> list[Line]:
    """The lines of the polygon's edges, oriented ``a x + b y + c > 0`` inside (the
    polygon is counter-clockwise); edges along ``skip_box``'s sides left out."""
    lines = []
    for p, q in zip(polygon, [*polygon[1:], polygon[0]]):
        if p == q or (skip_box is not None and _on_box_side(p, q, skip_box)):
            continue
        a, b = -(q[1] - p[1]), q[0] - p[0]
        line = (a, b, -(a * p[0] + b * p[1]))
        if line not in lines:
            lines.append(line)
    return lines


def touches_box(polygon: Sequence[Point], box: tuple[Sequence[Any], Sequence[Any]]) -> bool:
    lo, hi = [Fraction(v) for v in box[0]], [Fraction(v) for v in box[1]]
    return any(p[i] in (lo[i], hi[i]) for p in polygon for i in range(2))


def squared_distance(line: Line, x: Sequence[Fraction]) -> Fraction:
    a, b, c = line
    return (a * x[0] + b * x[1] + c) ** 2 / (a * a + b * b)


def max_ball_r2(polygon: Sequence[Point], x: Sequence[Fraction],
                skip_box: tuple | None = None) -> Fraction:
    """The largest squared radius of an open ball around ``x`` (inside the convex
    polygon) that stays inside: the least squared distance to an edge line."""
    return min(squared_distance(line, x) for line in edge_lines(polygon, skip_box))


def _mp(q: Fraction) -> mpmath.mpf:
    return mpmath.mpf(q.numerator) / q.denominator


def _fraction(value: mpmath.mpf) -> Fraction:
    return Fraction(int(value.man)) * Fraction(2) ** int(value.exp) if value else Fraction(0)


def inradius(polygon: Sequence[Point], skip_box: tuple | None = None) -> Fraction | None:
    """The radius of the largest disc in the region, to ~100 digits (the binary value
    of the approximation); None if unbounded.

    ``polygon`` is the region clipped to ``skip_box`` (None: the region itself, a
    bounded polygon).  A clipped region that reaches the box is unbounded: its
    inradius is finite only if it lies between two antiparallel unbounded edges,
    and is then half their distance (any antiparallel pair of edge lines of a convex
    region is at least twice its inradius apart, and far along the strip the disc of
    half its width fits)."""
    if skip_box is not None and touches_box(polygon, skip_box):
        best = None
        for (a1, b1, c1), (a2, b2, c2) in itertools.combinations(
                edge_lines(polygon, skip_box), 2):
            if a1 * b2 - a2 * b1 != 0 or a1 * a2 + b1 * b2 >= 0:
                continue
            k = -(a2 / a1 if a1 else b2 / b1)  # (a2, b2) = -k (a1, b1), k > 0
            w2 = (c1 + c2 / k) ** 2 / (a1 * a1 + b1 * b1)
            best = w2 / 4 if best is None else min(best, w2 / 4)
        if best is None:
            return None
        with mpmath.workdps(120):
            return _fraction(mpmath.sqrt(_mp(best)))
    with mpmath.workdps(120):
        unit = []
        for line in edge_lines(polygon):
            a, b, c = map(_mp, line)
            n = mpmath.sqrt(a * a + b * b)
            unit.append((a / n, b / n, c / n))
        best = mpmath.mpf(0)
        scale = max(abs(c) for _, _, c in unit) + 1
        for trio in itertools.combinations(unit, 3):
            m = mpmath.matrix([[a, b, -1] for a, b, _ in trio])
            if abs(mpmath.det(m)) < mpmath.mpf(10) ** -90:
                continue
            x, y, r = mpmath.lu_solve(m, mpmath.matrix([-c for _, _, c in trio]))
            if r > best and all(a * x + b * y + c - r >= -scale * mpmath.mpf(10) ** -100
                                for a, b, c in unit):
                best = r
        return _fraction(best)


def min_abs_coordinate_bound(polygon: Sequence[Point]) -> Fraction:
    """A lower bound on max_i |x_i| over the polygon (so on the format's spacing
    there): per coordinate, 0 if the polygon meets x_i = 0, else its least |x_i|."""
    out = Fraction(0)
    for i in range(2):
        values = [p[i] for p in polygon]
        if min(values) <= 0 <= max(values):
            continue
        out = max(out, min(abs(v) for v in values))
    return out


# ---------------------------------------------------------------- audit files


def read_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def write_lines(path: Path, records: Sequence[Any]) -> None:
    path.write_text("".join(json.dumps(r, separators=(",", ":")) + "\n" for r in records))


def certificate_regions(path: Path) -> dict[str, tuple[Fraction, ...]]:
    """The region records of a tree certificate: pattern -> witness."""
    out = {}
    for line in gzip.decompress(path.read_bytes()).splitlines():
        record = json.loads(line)
        if isinstance(record, dict) and "r" in record:
            out[record["r"]] = tuple(Fraction(v) for v in record["x"])
    return out


def copy_audit(src: Path, dst_dir: Path) -> Path:
    """Copy an audit and its two certificates into ``dst_dir``; the copy's path."""
    header = read_lines(src)[0]
    for net in ("exact", "rounded"):
        name = header[net]["certificate"]
        shutil.copyfile(src.parent / name, dst_dir / name)
    shutil.copyfile(src, dst_dir / src.name)
    return dst_dir / src.name
