"""Pictures of the regions: exact geometry, drawn with matplotlib.

Everything is computed in exact rationals and converted to floats only for drawing.

* ``n0 = 2``: the region map over a box.  Each activation region is drawn as its
  exact polygon, the box clipped by the region's closed half-planes
  ``sign_j * pre_j(x) >= 0`` (the pre-activation rows along its pattern, as in
  :meth:`tvmip.linear.Gluer._geometry`); no rasterising.  Thin edges separate
  activation regions, thick edges linear regions (and the box).  Fill colours come in
  families: one base colour per linear region (a greedy colouring of the linear-region
  adjacency graph, so neighbours always differ however many regions there are) and a
  shade per activation region inside it.
* ``n0 = 1``: the graph of ``f`` over an interval, one colour per linear piece,
  breakpoints marked; values at breakpoints are exact evaluations.
* ``n0 >= 3`` (or any ``n0 >= 2`` on request): the plane ``x = p + s d1 + t d2``; the
  network restricted to it (:func:`restrict_to_plane`, exact) is drawn as for ``n0 = 2``
  in the coordinates ``(s, t)``.  Its counts are those of the restricted network.

Without a box, the picture covers every vertex of every region of ``R^2`` (and a
witness of each region without a vertex), so every region of the plane appears; on
the line it covers every breakpoint.  Both are padded outwards to multiples of a
power of two.  The entry point for the command line is :func:`plot`.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from .checker.errors import FormatError
from .checker.rationals import parse_rational
from .engine.listing import RegionInfo, regions
from .errors import InputError, InternalError, TvmipError
from .files import atomic_path
from .model.network import Box, Layer, Network, evaluate
from .model.scaled import (
    ScaledNetwork,
    input_map,
    layer_output,
    piece_bounds,
    pre_activations,
    scale_network,
    scaled,
)
from .search.oned import propagate

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "FORMATS",
    "Cell",
    "Piece",
    "Plane",
    "PlotSummary",
    "boundaries",
    "coordinate_plane",
    "default_box",
    "graph_pieces",
    "linear_ids",
    "parse_plane",
    "plot",
    "region_cells",
    "restrict_to_plane",
]

FORMATS = ("png", "svg", "pdf")
Point = tuple[Fraction, Fraction]
HalfPlane = tuple[int, int, int]  # (a, b, c): a x + b y + c >= 0
T = TypeVar("T")

# Fills: Paul Tol's "light" scheme (colour-blind safe) with lavender for its grey and
# olive; graph lines: Tol's "bright" scheme.
FILL_COLOURS = ("#77AADD", "#EE8866", "#44BB99", "#EEDD88", "#FFAABB", "#99DDFF",
                "#BBCC33", "#CCAADD")
LINE_COLOURS = ("#4477AA", "#EE6677", "#228833", "#CCBB44", "#66CCEE", "#AA3377")
SHADES = (0.0, 0.45, -0.18)  # mix towards white (> 0) or black (< 0)
THIN, THICK = 0.4, 1.8


@dataclass(frozen=True, slots=True)
class Plane:
    """The affine plane ``x = point + s * d1 + t * d2`` of an ``n0``-dimensional input."""

    point: tuple[Fraction, ...]
    d1: tuple[Fraction, ...]
    d2: tuple[Fraction, ...]

    def at(self, s: Fraction, t: Fraction) -> tuple[Fraction, ...]:
        return tuple(p + s * u + t * v for p, u, v in zip(self.point, self.d1, self.d2))

    def __str__(self) -> str:
        def text(v: tuple[Fraction, ...]) -> str:
            return "(" + ", ".join(map(str, v)) + ")"

        return f"x = p + s d1 + t d2, p = {text(self.point)}, d1 = {text(self.d1)}, " \
               f"d2 = {text(self.d2)}"


@dataclass(frozen=True, slots=True)
class Cell:
    """An activation region as drawn: the closure of (region and box), a convex
    polygon with exact vertices in counter-clockwise order."""

    region: RegionInfo
    vertices: tuple[Point, ...]

    @property
    def linear_region(self) -> int:
        assert self.region.linear_region is not None  # region_cells always glues
        return self.region.linear_region


@dataclass(frozen=True, slots=True)
class Piece:
    """An activation region of a one-input network: the interval ``(lo, hi)`` with
    the exact values of ``f`` at its ends (one entry per output)."""

    lo: Fraction
    hi: Fraction
    pattern: str
    f_lo: tuple[Fraction, ...]
    f_hi: tuple[Fraction, ...]

    @property
    def affine_map(self) -> tuple[tuple[Fraction, Fraction], ...]:
        """``(slope, offset)`` of ``f`` on the piece, per output."""
        slopes = [(b - a) / (self.hi - self.lo) for a, b in zip(self.f_lo, self.f_hi)]
        return tuple((g, a - g * self.lo) for g, a in zip(slopes, self.f_lo))


@dataclass(frozen=True, slots=True)
class PlotSummary:
    """What a picture shows: its domain (in the plotted coordinates: ``(s, t)`` on a
    plane) and the exact counts over it, one polygon or piece per activation region."""

    path: Path
    box: Box
    plane: Plane | None
    activation_regions: int
    linear_regions: int
    distinct_maps: int


# -- the plane ----------------------------------------------------------------------


def restrict_to_plane(network: Network, point: Sequence[Fraction], d1: Sequence[Fraction],
                      d2: Sequence[Fraction]) -> Network:
    """The two-input network ``(s, t) -> f(point + s d1 + t d2)``, exactly: the first
    layer ``W z + b`` becomes ``[W d1, W d2] (s, t) + (W point + b)``."""
    n0 = network.input_dim
    if not len(point) == len(d1) == len(d2) == n0:
        raise InputError(f"the plane needs a point and two directions with {n0} coordinates")
    first = network.layers[0]

    def dot(row: Sequence[Fraction], v: Sequence[Fraction]) -> Fraction:
        return sum((w * Fraction(x) for w, x in zip(row, v)), Fraction(0))

    weights = tuple((dot(row, d1), dot(row, d2)) for row in first.weights)
    biases = tuple(dot(row, point) + b for row, b in zip(first.weights, first.biases))
    return Network(2, (Layer(weights, biases, first.activation), *network.layers[1:]),
                   network.output)


def parse_plane(text: str, dim: int) -> Plane:
    """Parse ``--slice POINT;DIR1;DIR2``, each a comma-separated list of ``dim`` rationals
    (``"0,0,1/2;1,0,0;0,1,-1"``); the directions must be linearly independent."""
    parts = text.split(";")
    if len(parts) != 3:
        raise InputError(f"--slice: expected POINT;DIR1;DIR2, got {len(parts)} parts")
    vectors = []
    for name, part in zip(("POINT", "DIR1", "DIR2"), parts):
        items = [v.strip() for v in part.split(",")]
        if len(items) != dim:
            raise InputError(f"--slice: {name} has {len(items)} coordinates, expected {dim}")
        try:
            vectors.append(tuple(parse_rational(v, f"--slice {name}") for v in items))
        except FormatError as exc:
            raise InputError(str(exc)) from None
    plane = Plane(*vectors)
    d1, d2 = plane.d1, plane.d2
    if all(d1[i] * d2[j] == d1[j] * d2[i] for i in range(dim) for j in range(i + 1, dim)):
        raise InputError("--slice: the two directions are linearly dependent")
    return plane


def coordinate_plane(dim: int) -> Plane:
    """The plane through the origin spanned by the first two unit vectors."""
    zero = (Fraction(0),) * dim
    unit = [tuple(Fraction(int(i == k)) for i in range(dim)) for k in range(2)]
    return Plane(zero, unit[0], unit[1])


# -- exact geometry -----------------------------------------------------------------


def _half_planes(network: ScaledNetwork, pattern: str) -> list[HalfPlane]:
    """The closed half-planes of a region, the closures of the bounds of every neuron
    in an open piece (``pre >= t`` above a breakpoint ``t``, ``pre <= t`` below), as
    primitive integer rows."""
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


def _cyclic(items: Sequence[T]) -> Iterator[tuple[T, T]]:
    """Consecutive pairs, the last item paired with the first (a polygon's edges)."""
    return zip(items, (*items[1:], items[0]))


def _clip(polygon: list[Point], row: HalfPlane) -> list[Point]:
    """The convex polygon cut by the closed half-plane ``a x + b y + c >= 0``."""
    a, b, c = row
    values = [a * x + b * y + c for x, y in polygon]
    out = []
    for (p, q), (vp, vq) in zip(_cyclic(polygon), _cyclic(values)):
        if vp >= 0:
            out.append(p)
        if vp * vq < 0:
            t = vp / (vp - vq)
            out.append((p[0] + t * (q[0] - p[0]), p[1] + t * (q[1] - p[1])))
    return out


def _rectangle(lo: Sequence[Fraction], hi: Sequence[Fraction]) -> list[Point]:
    return [(lo[0], lo[1]), (hi[0], lo[1]), (hi[0], hi[1]), (lo[0], hi[1])]


def _polygon(rectangle: list[Point], rows: Iterable[HalfPlane]) -> list[Point]:
    polygon = rectangle
    for row in rows:
        polygon = _clip(polygon, row)
        if not polygon:
            break
    return polygon


def _area2(polygon: Sequence[Point]) -> Fraction:
    """Twice the signed area (shoelace)."""
    return sum((p[0] * q[1] - q[0] * p[1] for p, q in _cyclic(polygon)), Fraction(0))


def region_cells(network: Network | ScaledNetwork, box: Box) -> tuple[Cell, ...]:
    """Every activation region of a two-input network over ``box``, with its exact polygon."""
    network = scaled(network)
    if network.dim != 2:
        raise ValueError("region polygons need a network with two inputs")
    rectangle = _rectangle(box.lo, box.hi)
    cells = []
    for region in regions(network, box):
        polygon = _polygon(rectangle, _half_planes(network, region.pattern))
        if len(polygon) < 3 or _area2(polygon) <= 0:
            raise InternalError(f"region {region.pattern} has a degenerate polygon in the box")
        cells.append(Cell(region, tuple(polygon)))
    return tuple(cells)


def _outward(lo: Fraction, hi: Fraction, unit: Fraction) -> tuple[Fraction, Fraction]:
    """``[lo, hi]`` widened by at least ``unit`` on each side, to multiples of ``unit``."""
    return (math.floor(lo / unit) - 1) * unit, (math.ceil(hi / unit) + 1) * unit


def _unit(span: Fraction) -> Fraction:
    """A power of two near a quarter of ``span`` (1 for an empty span)."""
    return Fraction(2) ** math.floor(math.log2(span / 4)) if span else Fraction(1)


def _padded_box(points: Sequence[Sequence[Fraction]], dim: int) -> Box:
    """A box strictly containing ``points`` (``[-2, 2]^dim`` when there are none)."""
    if not points:
        return Box((Fraction(-2),) * dim, (Fraction(2),) * dim)
    lo = [min(p[i] for p in points) for i in range(dim)]
    hi = [max(p[i] for p in points) for i in range(dim)]
    unit = _unit(max(b - a for a, b in zip(lo, hi)))
    ends = [_outward(a, b, unit) for a, b in zip(lo, hi)]
    return Box(tuple(e[0] for e in ends), tuple(e[1] for e in ends))


def _vertices(network: ScaledNetwork) -> list[tuple[Fraction, ...]]:
    """Every vertex of every region of ``R^2``, and the witness of each region without one.

    A vertex solves two integer rows ``a x + b y = -c``, so by Cramer's rule each of its
    coordinates is at most ``2 max|a,b| max|c|`` in absolute value; clipping a square
    slightly larger than that yields the vertices as the corners strictly inside it."""
    found = [(region, _half_planes(network, region.pattern))
             for region in regions(network, glue=False)]
    rows = [row for _, region_rows in found for row in region_rows]
    bound = 1 + 2 * max((max(abs(a), abs(b)) for a, b, _ in rows), default=0) * \
        max((abs(c) for _, _, c in rows), default=0)
    square = _rectangle((Fraction(-bound),) * 2, (Fraction(bound),) * 2)
    points: list[tuple[Fraction, ...]] = []
    for region, region_rows in found:
        corners = [p for p in _polygon(square, region_rows) if max(map(abs, p)) < bound]
        points.extend(corners or [region.witness])
    return points


def default_box(network: Network | ScaledNetwork) -> Box:
    """The domain drawn when none is given (one- and two-input networks): a box around
    every breakpoint (``n0 = 1``) or every region vertex (``n0 = 2``, see
    :func:`_vertices`), padded outwards to multiples of a power of two near a quarter of
    the points' spread; ``[-2, 2]^n0`` when there is nothing to contain."""
    network = scaled(network)
    if network.dim == 1:
        partition = propagate(network)
        return _padded_box([(partition.breakpoint(i),) for i in range(len(partition.bn))], 1)
    if network.dim == 2:
        return _padded_box(_vertices(network), 2)
    raise ValueError("default boxes are for networks with one or two inputs")


# -- edges and colours --------------------------------------------------------------


def _on_line(line: tuple[Fraction, Fraction, Fraction], u: Fraction) -> Point:
    """The point with parameter ``u`` (its x, or y on a vertical line) on
    ``a x + b y = c``."""
    a, b, c = line
    return (c / a, u) if b == 0 else (u, (c - a * u) / b)


def boundaries(cells: Sequence[Cell]) -> tuple[list[tuple[Point, Point]], set[tuple[int, int]]]:
    """The linear-region boundary (segments where the cells on the two sides lie in
    different linear regions, or where only one cell is: the box) and the pairs of
    cells sharing a boundary segment of positive length.

    Edges are grouped by their line ``a x + b y = c``; each line is cut at every edge
    end on it, and each elementary piece is covered by at most one cell per side."""
    lines: dict[tuple[Fraction, Fraction, Fraction], list[tuple[Fraction, Fraction, int]]] = {}
    for index, cell in enumerate(cells):
        for p, q in _cyclic(cell.vertices):
            a, b = q[1] - p[1], p[0] - q[0]
            lead = a if a else b
            line = (a / lead, b / lead, (a * p[0] + b * p[1]) / lead)
            u, v = (p[1], q[1]) if line[1] == 0 else (p[0], q[0])
            lines.setdefault(line, []).append((min(u, v), max(u, v), index))
    boundary: list[tuple[Point, Point]] = []
    neighbours: set[tuple[int, int]] = set()
    for line, spans in lines.items():
        cuts = sorted({u for span in spans for u in span[:2]})
        stretches: list[list[Fraction]] = []  # maximal runs of linear boundary on the line
        for u, v in itertools.pairwise(cuts):
            sides = [i for lo, hi, i in spans if lo <= u and v <= hi]
            if len(sides) == 2:
                neighbours.add((min(sides), max(sides)))
            if len(sides) == 1 or len({cells[i].linear_region for i in sides}) == 2:
                if stretches and stretches[-1][1] == u:
                    stretches[-1][1] = v
                else:
                    stretches.append([u, v])
        boundary.extend((_on_line(line, u), _on_line(line, v)) for u, v in stretches)
    return boundary, neighbours


def _greedy_colours(count: int, edges: Iterable[tuple[int, int]], colours: int,
                    spread: bool) -> list[int]:
    """A colour per node, different from its coloured neighbours when one is free;
    among the free ones the least used so far (``spread``: large maps use the whole
    palette) or the first."""
    adjacent: list[set[int]] = [set() for _ in range(count)]
    for i, j in edges:
        adjacent[i].add(j)
        adjacent[j].add(i)
    used = [0] * colours
    chosen: list[int] = []
    for node in range(count):
        taken = Counter(chosen[k] for k in adjacent[node] if k < node)
        colour = min(range(colours), key=lambda c: (taken[c], used[c] if spread else 0, c))
        chosen.append(colour)
        used[colour] += 1
    return chosen


def _mix(colour: str, amount: float) -> tuple[float, float, float]:
    """``colour`` mixed towards white (``amount > 0``) or black (``amount < 0``)."""
    r, g, b = (int(colour[k:k + 2], 16) / 255 for k in (1, 3, 5))
    target = 1.0 if amount > 0 else 0.0
    return r + abs(amount) * (target - r), g + abs(amount) * (target - g), \
        b + abs(amount) * (target - b)


def _fills(cells: Sequence[Cell],
           neighbours: set[tuple[int, int]]) -> list[tuple[float, float, float]]:
    """Base colour per linear region, shade per activation region inside it (the plain
    base colour unless a neighbour in the same linear region has it)."""
    linear = [cell.linear_region for cell in cells]
    count = max(linear) + 1
    base = _greedy_colours(count, {(linear[i], linear[j]) for i, j in neighbours
                                   if linear[i] != linear[j]}, len(FILL_COLOURS), True)
    shade = _greedy_colours(len(cells), [(i, j) for i, j in neighbours
                                         if linear[i] == linear[j]], len(SHADES), False)
    return [_mix(FILL_COLOURS[base[lr]], SHADES[s]) for lr, s in zip(linear, shade)]


# -- drawing ------------------------------------------------------------------------


def _figure(size: tuple[float, float]) -> Figure:
    """A matplotlib figure not attached to pyplot: no GUI backend and no global state."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise TvmipError("pictures need matplotlib: pip install 'tvmip[plot]'") from None
    return Figure(figsize=size, layout="constrained")


def _save(figure: Figure, path: Path) -> None:
    """Render to a temporary file beside ``path``, then rename it into place."""
    with atomic_path(path) as temp:
        figure.savefig(temp, format=path.suffix[1:].lower(), dpi=150)


def _heading(name: str | None, network: Network, counts: tuple[int, int, int],
             box: Box, plane: Plane | None) -> str:
    activation, linear, maps = counts
    domain = " x ".join(f"({lo}, {hi})" for lo, hi in zip(box.lo, box.hi))
    where = f"over {domain}" if plane is None else f"over (s, t) in {domain}\non {plane}"
    return (f"{name or 'network'}  (sha256 {network.sha256[:12]})\n{activation} activation "
            f"regions, {linear} linear regions, {maps} distinct affine maps\n{where}")


def _draw_map(cells: Sequence[Cell], box: Box, heading: str, plane: Plane | None,
              path: Path) -> None:
    from matplotlib.collections import LineCollection, PolyCollection
    from matplotlib.lines import Line2D

    boundary, neighbours = boundaries(cells)
    thick = THICK * max(0.45, min(1.0, 12 / math.sqrt(len(cells))))  # thinner for big maps
    figure = _figure((7.5, 8.0))
    axes = figure.add_subplot()
    axes.add_collection(PolyCollection(
        [[(float(x), float(y)) for x, y in cell.vertices] for cell in cells],
        facecolors=_fills(cells, neighbours), edgecolors="#404040", linewidths=THIN))
    axes.add_collection(LineCollection(
        [[(float(x), float(y)) for x, y in segment] for segment in boundary],
        colors="black", linewidths=thick, capstyle="round"))
    (x0, y0), (x1, y1) = [float(v) for v in box.lo], [float(v) for v in box.hi]
    pad = 0.01 * max(x1 - x0, y1 - y0)
    axes.set_xlim(x0 - pad, x1 + pad)
    axes.set_ylim(y0 - pad, y1 + pad)
    if 1 / 3 <= (y1 - y0) / (x1 - x0) <= 3:
        axes.set_aspect("equal")
    axes.set_xlabel("s" if plane else "x1")
    axes.set_ylabel("t" if plane else "x2")
    figure.suptitle(heading, fontsize=9)
    figure.legend(handles=[
        Line2D([], [], color="#404040", linewidth=THIN, label="activation-region boundary"),
        Line2D([], [], color="black", linewidth=thick,
               label="linear-region boundary (and the box)")],
        loc="outside lower center", ncols=2, fontsize=8, frameon=False)
    _save(figure, path)


def graph_pieces(network: Network | ScaledNetwork, box: Box) -> tuple[Piece, ...]:
    """The activation intervals of a one-input network over ``box`` (exact breakpoint
    propagation), with exact values of ``f`` at their ends."""
    network = scaled(network)
    partition = propagate(network, box)
    ends = [box.lo[0], *(partition.breakpoint(i) for i in range(len(partition.bn))), box.hi[0]]
    values = [evaluate(network.network, [x]) for x in ends]
    return tuple(Piece(ends[i], ends[i + 1], pattern, values[i], values[i + 1])
                 for i, pattern in enumerate(partition.patterns()))


def linear_ids(pieces: Sequence[Piece]) -> list[int]:
    """The linear region of each piece: a new one wherever the affine map changes."""
    ids = [0]
    for left, right in itertools.pairwise(pieces):
        ids.append(ids[-1] + (left.affine_map != right.affine_map))
    return ids


def _draw_graph(pieces: Sequence[Piece], heading: str, path: Path) -> None:
    from matplotlib.collections import LineCollection
    from matplotlib.lines import Line2D

    linear = linear_ids(pieces)
    figure = _figure((8.0, 5.2))
    axes = figure.add_subplot()
    for piece in pieces[1::2]:
        axes.axvspan(float(piece.lo), float(piece.hi), color="#EEEEEE", linewidth=0)
    colours = [LINE_COLOURS[k % len(LINE_COLOURS)] for k in linear]
    markers = ["black" if a != b else "white" for a, b in itertools.pairwise(linear)]
    styles = ("solid", "dashed", "dotted", "dashdot")
    for k in range(len(pieces[0].f_lo)):
        axes.add_collection(LineCollection(
            [[(float(p.lo), float(p.f_lo[k])), (float(p.hi), float(p.f_hi[k]))] for p in pieces],
            colors=colours, linewidths=2, linestyles=styles[k % len(styles)]))
        axes.scatter([float(p.lo) for p in pieces[1:]], [float(p.f_lo[k]) for p in pieces[1:]],
                     s=22, zorder=3, edgecolors="black", linewidths=1, c=markers)
    axes.autoscale_view()
    axes.set_xlim(float(pieces[0].lo), float(pieces[-1].hi))
    axes.set_xlabel("x")
    axes.set_ylabel("f(x)" if len(pieces[0].f_lo) == 1 else "f(x): f1 solid, f2 dashed, ...")
    figure.suptitle(heading, fontsize=9)
    figure.legend(handles=[
        Line2D([], [], linestyle="", marker="o", markerfacecolor="black",
               markeredgecolor="black", label="breakpoint: the affine map changes"),
        Line2D([], [], linestyle="", marker="o", markerfacecolor="white",
               markeredgecolor="black", label="breakpoint: only the pattern changes"),
        Line2D([], [], color="#DDDDDD", linewidth=6,
               label="activation regions (shaded alternately)")],
        loc="outside lower center", ncols=3, fontsize=8, frameon=False)
    _save(figure, path)


def plot(network: Network, path: str | Path, *, box: Box | None = None,
         plane: Plane | None = None, name: str | None = None) -> PlotSummary:
    """Draw ``network``'s regions to ``path`` (.png, .svg or .pdf), atomically.

    ``box`` is the domain in the plotted coordinates (``(s, t)`` when slicing; default:
    :func:`default_box`).  ``plane`` restricts the input to a plane (default for
    ``n0 >= 3``: :func:`coordinate_plane`; not allowed for ``n0 = 1``).  ``name`` titles
    the picture (e.g. the network file's name), beside the network's SHA-256 prefix.
    The counts in the title and the summary are those of the drawn domain.
    """
    path = Path(path)
    if path.suffix[1:].lower() not in FORMATS:
        raise InputError(f"{path}: unsupported picture format (use {', '.join(FORMATS)})")
    if not (path.parent if str(path.parent) else Path(".")).is_dir():
        raise InputError(f"{path}: directory {path.parent} does not exist")
    n0 = network.input_dim
    if n0 == 1 and plane is not None:
        raise InputError("a slice needs a network with at least two inputs")
    if n0 >= 3 and plane is None:
        plane = coordinate_plane(n0)
    drawn = scale_network(network if plane is None else
                          restrict_to_plane(network, plane.point, plane.d1, plane.d2))
    dim = min(n0, 2)
    if box is not None and len(box.lo) != dim:
        raise InputError(f"the box must have {dim} coordinates (the plotted ones)")
    box = box or default_box(drawn)
    counts: tuple[int, int, int]
    if n0 == 1:
        pieces = graph_pieces(drawn, box)
        counts = (len(pieces), linear_ids(pieces)[-1] + 1,
                  len({p.affine_map for p in pieces}))
        _draw_graph(pieces, _heading(name, network, counts, box, plane), path)
    else:
        cells = region_cells(drawn, box)
        counts = (len(cells), len({c.linear_region for c in cells}),
                  len({(c.region.gradient, c.region.offset) for c in cells}))
        _draw_map(cells, box, _heading(name, network, counts, box, plane), plane, path)
    return PlotSummary(path, box, plane, *counts)
