"""Pictures of the regions: exact geometry, drawn with matplotlib.

Everything is computed in exact rationals and converted to floats only for drawing.

* ``n0 = 2``: the region map over a box.  Each activation region is drawn as its
  exact polygon, the box clipped by the region's closed half-planes
  (:mod:`tvmip.model.polygons`); no rasterising.  Thin edges separate activation
  regions, thick edges linear regions (and the box).  Fill colours come in
  families: one base colour per linear region (a greedy colouring of the
  linear-region adjacency graph, so neighbours always differ however many regions
  there are) and a shade per activation region inside it; or, on request, a
  colour scale of ``f`` at each region's centroid, or of ``|grad f|``.
* ``n0 = 1``: the graph of ``f`` over an interval, one colour per linear piece,
  breakpoints marked; each piece is drawn from its exact affine map (so jumps of
  step-like activations show as jumps).
* ``n0 >= 3`` (or any ``n0 >= 2`` on request): the plane ``x = p + s d1 + t d2``; the
  network restricted to it (:class:`tvmip.model.subspace.Subspace`, exact) is drawn
  as for ``n0 = 2`` in the coordinates ``(s, t)``.  Its counts are those of the
  restricted network.

The drawn domain (:class:`View`) is the given box; else the box around the data
points (``--data``, widened by a tenth of their spread); else a default view.
Trained networks have breakpoints and region vertices far from where anything
happens (+-1e18 is not rare), so the default view is not the box around all of
them: per axis it spans the 5% to 95% quantiles of the vertex coordinates (the
breakpoints on the line), widened by half that span on each side but not beyond
the outermost vertex, rounded outwards to multiples of a power of two.  Its title
says how many regions of the whole plane (line) lie outside it, from an exact
count of both.  The figure's shape follows the box's aspect ratio.

An interrupt or a limit while counting ends with :class:`~tvmip.errors.Interrupted`
or :class:`~tvmip.errors.ResourceLimit` and no picture: a map drawn from part of
the regions would look complete.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .engine.listing import RegionInfo, RegionList, regions
from .engine.run import NO_LIMITS, Limits
from .errors import InputError, InternalError, Interrupted, ResourceLimit
from .files import atomic_path
from .model.network import Box, Network
from .model.polygons import Point, area, cyclic, half_planes, polygon, rectangle
from .model.scaled import ScaledNetwork, scale_network
from .model.subspace import Subspace, coordinate_plane
from .search.oned import Partition, propagate

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "COLOURINGS",
    "FORMATS",
    "Cell",
    "Piece",
    "PlotSummary",
    "View",
    "boundaries",
    "choose_view",
    "graph_pieces",
    "linear_ids",
    "plot",
    "region_cells",
]

FORMATS = ("png", "svg", "pdf")
COLOURINGS = ("linear", "f", "grad")
QUANTILE = Fraction(1, 20)  # the default view spans the 5% to 95% quantiles, widened

# Fills: Paul Tol's "light" scheme (colour-blind safe) with lavender for its grey and
# olive; graph lines: Tol's "bright" scheme.
FILL_COLOURS = ("#77AADD", "#EE8866", "#44BB99", "#EEDD88", "#FFAABB", "#99DDFF",
                "#BBCC33", "#CCAADD")
LINE_COLOURS = ("#4477AA", "#EE6677", "#228833", "#CCBB44", "#66CCEE", "#AA3377")
SHADES = (0.0, 0.45, -0.18)  # mix towards white (> 0) or black (< 0)
THIN, THICK = 0.4, 1.8


@dataclass(frozen=True, slots=True)
class Cell:
    """An activation region as drawn: the closure of (region and box), a convex
    polygon with exact vertices in counter-clockwise order."""

    region: RegionInfo
    vertices: tuple[Point, ...]
    group: int
    """The linear region, or, where linear regions are not certified (a jumping
    activation feeds a later layer), the class of equal affine maps: cells of one
    group share a colour family and no heavy line."""

    def centroid(self) -> Point:
        """The vertices' mean: a point of the polygon, exactly."""
        n = len(self.vertices)
        return (sum((p[0] for p in self.vertices), Fraction(0)) / n,
                sum((p[1] for p in self.vertices), Fraction(0)) / n)


@dataclass(frozen=True, slots=True)
class Piece:
    """An activation region of a one-input network: the interval ``(lo, hi)`` and
    the exact affine map ``(slope, offset)`` of each output of ``f`` on it."""

    lo: Fraction
    hi: Fraction
    pattern: str
    affine_map: tuple[tuple[Fraction, Fraction], ...]

    def ends(self) -> tuple[tuple[Fraction, ...], tuple[Fraction, ...]]:
        """``f`` at the piece's ends, as limits from inside the piece."""
        return (tuple(a * self.lo + b for a, b in self.affine_map),
                tuple(a * self.hi + b for a, b in self.affine_map))


@dataclass(frozen=True, slots=True)
class View:
    """The drawn domain, how it was chosen (``box``, ``data`` or ``default``), and
    for the default view how many of the ``total`` regions of the whole plane (or
    line) lie ``outside`` it."""

    box: Box
    how: str
    total: int | None = None
    outside: int | None = None


@dataclass(frozen=True, slots=True)
class PlotSummary:
    """What a picture shows: its view (in the plotted coordinates: ``(s, t)`` on a
    plane) and the exact counts over it, one polygon or piece per activation region."""

    path: Path
    view: View
    plane: Subspace | None
    activation_regions: int
    linear_regions: int | None
    distinct_maps: int

    @property
    def box(self) -> Box:
        return self.view.box


def _complete(listing: RegionList) -> RegionList:
    """The listing, or the error that ends a picture drawn from part of the regions."""
    if listing.complete:
        return listing
    found = len(listing)
    reason = listing.stop_reason or "stopped"
    message = f"{reason}: no picture written (at least {found} activation regions found)"
    raise Interrupted(message) if reason.startswith("interrupted") else ResourceLimit(message)


# -- the view -------------------------------------------------------------------------


def _outward(lo: Fraction, hi: Fraction, unit: Fraction) -> tuple[Fraction, Fraction]:
    """``[lo, hi]`` widened by at least ``unit`` on each side, to multiples of ``unit``."""
    return (math.floor(lo / unit) - 1) * unit, (math.ceil(hi / unit) + 1) * unit


def _unit(span: Fraction) -> Fraction:
    """A power of two near a quarter of ``span`` (1 for an empty span)."""
    return Fraction(2) ** math.floor(math.log2(span / 4)) if span else Fraction(1)


def _central(values: list[Fraction]) -> tuple[Fraction, Fraction]:
    """The 5% to 95% quantiles of ``values``, widened by half their span on each side
    but not beyond the extreme values."""
    values = sorted(values)
    k = len(values) - 1
    lo, hi = values[math.floor(QUANTILE * k)], values[math.ceil((1 - QUANTILE) * k)]
    pad = (hi - lo) / 2
    return max(lo - pad, values[0]), min(hi + pad, values[-1])


def _view_box(points: Sequence[Sequence[Fraction]], dim: int) -> Box:
    """The default view around ``points`` (``[-2, 2]^dim`` when there are none)."""
    if not points:
        return Box((Fraction(-2),) * dim, (Fraction(2),) * dim)
    ends = [_central([p[i] for p in points]) for i in range(dim)]
    unit = _unit(max(b - a for a, b in ends))
    widened = [_outward(a, b, unit) for a, b in ends]
    return Box(tuple(e[0] for e in widened), tuple(e[1] for e in widened))


def _vertices(network: ScaledNetwork, listing: RegionList) -> list[tuple[Fraction, ...]]:
    """Every vertex of every region of ``R^2``, and the witness of each region without one.

    A vertex solves two integer rows ``a x + b y = -c``, so by Cramer's rule each of its
    coordinates is at most ``2 max|a,b| max|c|`` in absolute value; clipping a square
    slightly larger than that yields the vertices as the corners strictly inside it."""
    found = [(region, half_planes(network, region.pattern)) for region in listing]
    rows = [row for _, region_rows in found for row in region_rows]
    bound = 1 + 2 * max((max(abs(a), abs(b)) for a, b, _ in rows), default=0) * \
        max((abs(c) for _, _, c in rows), default=0)
    square = rectangle(Box((Fraction(-bound),) * 2, (Fraction(bound),) * 2))
    points: list[tuple[Fraction, ...]] = []
    for region, region_rows in found:
        corners = [p for p in polygon(square, region_rows) if max(map(abs, p)) < bound]
        points.extend(corners or [region.witness])
    return points


def choose_view(network: ScaledNetwork, box: Box | None = None,
                data: Sequence[Sequence[Fraction]] | None = None,
                limits: Limits = NO_LIMITS, progress: bool = False) -> View:
    """The drawn domain of a one- or two-input network: ``box``, else the box around
    ``data``, else the default view (see the module docstring)."""
    if box is not None:
        return View(box, "box")
    if data:
        from .model.data import data_box

        return View(data_box([tuple(p[:network.dim]) for p in data]), "data")
    if network.dim == 1:
        partition = propagate(network)
        points = [partition.breakpoint(i) for i in range(len(partition.bn))]
        view = _view_box([(t,) for t in points], 1)
        inside = sum(view.lo[0] < t < view.hi[0] for t in points) + 1
        return View(view, "default", len(points) + 1, len(points) + 1 - inside)
    listing = _complete(regions(network, glue=False, limits=limits, progress=progress))
    view = _view_box(_vertices(network, listing), 2)
    inside = len(_complete(regions(network, view, glue=False, limits=limits)))
    return View(view, "default", len(listing), len(listing) - inside)


# -- the exact pictures ---------------------------------------------------------------


def region_cells(network: Network | ScaledNetwork, box: Box, limits: Limits = NO_LIMITS,
                 progress: bool = False) -> tuple[Cell, ...]:
    """Every activation region of a two-input network over ``box``, with its exact
    polygon (:class:`~tvmip.errors.Interrupted` or
    :class:`~tvmip.errors.ResourceLimit` if the count does not finish)."""
    listing = _complete(regions(network, box, polygons=True, limits=limits, progress=progress))
    maps: dict[tuple[Any, Any], int] = {}
    cells = []
    for region in listing:
        assert region.polygon is not None
        if len(region.polygon) < 3 or area(region.polygon) <= 0:
            raise InternalError(f"region {region.pattern} has a degenerate polygon in the box")
        group = region.linear_region
        if group is None:
            group = maps.setdefault((region.gradient, region.offset), len(maps))
        cells.append(Cell(region, region.polygon, group))
    return tuple(cells)


def graph_pieces(network: Network | ScaledNetwork, box: Box) -> tuple[Piece, ...]:
    """The activation intervals of a one-input network over ``box`` (exact breakpoint
    propagation), with the exact affine map of ``f`` on each."""
    network = network if isinstance(network, ScaledNetwork) else scale_network(network)
    partition: Partition = propagate(network, box)
    ends = [box.lo[0], *(partition.breakpoint(i) for i in range(len(partition.bn))), box.hi[0]]
    s = partition.denominator
    return tuple(
        Piece(ends[i], ends[i + 1], pattern,
              tuple((Fraction(a, s), Fraction(b, s))
                    for a, b in zip(partition.slope[i].tolist(), partition.offset[i].tolist())))
        for i, pattern in enumerate(partition.patterns()))


def linear_ids(pieces: Sequence[Piece]) -> list[int]:
    """The linear region of each piece: a new one wherever the affine map changes."""
    ids = [0]
    for left, right in itertools.pairwise(pieces):
        ids.append(ids[-1] + (left.affine_map != right.affine_map))
    return ids


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
        for p, q in cyclic(cell.vertices):
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
            if len(sides) == 1 or len({cells[i].group for i in sides}) == 2:
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
    linear = [cell.group for cell in cells]
    count = max(linear) + 1
    base = _greedy_colours(count, {(linear[i], linear[j]) for i, j in neighbours
                                   if linear[i] != linear[j]}, len(FILL_COLOURS), True)
    shade = _greedy_colours(len(cells), [(i, j) for i, j in neighbours
                                         if linear[i] == linear[j]], len(SHADES), False)
    return [_mix(FILL_COLOURS[base[lr]], SHADES[s]) for lr, s in zip(linear, shade)]



# -- drawing ------------------------------------------------------------------------


def _figure(box: Box, extra: float) -> Figure:
    """A matplotlib figure not attached to pyplot (no GUI backend, no global state),
    shaped like the box (its aspect ratio clamped to 1/3..3), ``extra`` inches added
    below the plot for the title and legend."""
    from matplotlib.figure import Figure

    sides = [float(hi - lo) for lo, hi in zip(box.lo, box.hi)]
    aspect = min(3.0, max(1 / 3, sides[1] / sides[0])) if len(sides) == 2 else 0.62
    side = 7.0 / math.sqrt(max(aspect, 1.0))
    axes_width = side - 0.9  # the y label and tick labels take the rest of the width
    return Figure(figsize=(side, axes_width * aspect + extra), layout="constrained")


def _save(figure: Figure, path: Path) -> None:
    """Render to a temporary file beside ``path``, then rename it into place."""
    with atomic_path(path) as temp:
        figure.savefig(temp, format=path.suffix[1:].lower(), dpi=150)


def _heading(name: str | None, network: Network, counts: tuple[int, int | None, int],
             view: View, plane: Subspace | None) -> str:
    activation, linear, maps = counts
    domain = " x ".join(f"({lo}, {hi})" for lo, hi in zip(view.box.lo, view.box.hi))
    where = f"over {domain}" if plane is None else f"over (s, t) in {domain}\non {plane}"
    if view.how == "data":
        where += " (the data's box)"
    elif view.how == "default":
        space = "line" if len(view.box.lo) == 1 else "plane"
        where += (f"\ndefault view: {view.outside} of the {view.total} activation regions of "
                  f"the whole {space} lie outside it")
    glued = f"{linear} linear regions" if linear is not None else "linear regions not certified"
    return (f"{name or 'network'}  (sha256 {network.sha256[:12]})\n{activation} activation "
            f"regions, {glued}, {maps} distinct affine maps\n{where}")


def _colour_values(cells: Sequence[Cell], colour: str) -> list[float]:
    """Per cell: ``f`` at the polygon's centroid, or ``|grad f|`` (first output)."""
    out = []
    for cell in cells:
        gradient, offset = cell.region.gradient[0], cell.region.offset[0]
        if colour == "f":
            x, y = cell.centroid()
            out.append(float(gradient[0] * x + gradient[1] * y + offset))
        else:
            out.append(math.hypot(*(float(g) for g in gradient)))
    return out


def _draw_map(cells: Sequence[Cell], view: View, heading: str, plane: Subspace | None,
              data: Sequence[Sequence[Fraction]] | None, colour: str, path: Path) -> None:
    from matplotlib.collections import LineCollection, PolyCollection
    from matplotlib.lines import Line2D

    box = view.box
    boundary, neighbours = boundaries(cells)
    thick = THICK * max(0.45, min(1.0, 12 / math.sqrt(len(cells))))  # thinner for big maps
    figure = _figure(box, 1.6)
    axes = figure.add_subplot()
    polygons = PolyCollection([[(float(x), float(y)) for x, y in cell.vertices] for cell in cells],
                              edgecolors="#404040", linewidths=THIN)
    if colour == "linear":
        polygons.set_facecolor(_fills(cells, neighbours))
    else:
        polygons.set_array(_colour_values(cells, colour))
        polygons.set_cmap("viridis")
        label = "f at the region's centroid" if colour == "f" else "|grad f| on the region"
        figure.colorbar(polygons, ax=axes, label=label, shrink=0.8)
    axes.add_collection(polygons)
    axes.add_collection(LineCollection(
        [[(float(x), float(y)) for x, y in segment] for segment in boundary],
        colors="black", linewidths=thick, capstyle="round"))
    if data:
        axes.scatter([float(p[0]) for p in data], [float(p[1]) for p in data], s=6,
                     c="black", alpha=0.6, linewidths=0, zorder=3, label="data")
    (x0, y0), (x1, y1) = [float(v) for v in box.lo], [float(v) for v in box.hi]
    pad = 0.01 * max(x1 - x0, y1 - y0)
    axes.set_xlim(x0 - pad, x1 + pad)
    axes.set_ylim(y0 - pad, y1 + pad)
    if 1 / 3 <= (y1 - y0) / (x1 - x0) <= 3:
        axes.set_aspect("equal")
    axes.set_xlabel("s" if plane else "x1")
    axes.set_ylabel("t" if plane else "x2")
    figure.suptitle(heading, fontsize=9)
    handles = [Line2D([], [], color="#404040", linewidth=THIN, label="activation-region boundary"),
               Line2D([], [], color="black", linewidth=thick,
                      label="linear-region boundary (and the box)")]
    if data:
        handles.append(Line2D([], [], linestyle="", marker="o", markersize=3, color="black",
                              label="data"))
    figure.legend(handles=handles, loc="outside lower center", ncols=len(handles), fontsize=8,
                  frameon=False)
    _save(figure, path)


def _draw_graph(pieces: Sequence[Piece], view: View, heading: str,
                data: Sequence[Sequence[Fraction]] | None, path: Path) -> None:
    from matplotlib.collections import LineCollection
    from matplotlib.lines import Line2D

    linear = linear_ids(pieces)
    figure = _figure(view.box, 1.4)
    axes = figure.add_subplot()
    for piece in pieces[1::2]:
        axes.axvspan(float(piece.lo), float(piece.hi), color="#EEEEEE", linewidth=0)
    colours = [LINE_COLOURS[k % len(LINE_COLOURS)] for k in linear]
    markers = ["black" if a != b else "white" for a, b in itertools.pairwise(linear)]
    styles = ("solid", "dashed", "dotted", "dashdot")
    ends = [piece.ends() for piece in pieces]
    for k in range(len(pieces[0].affine_map)):
        axes.add_collection(LineCollection(
            [[(float(p.lo), float(lo[k])), (float(p.hi), float(hi[k]))]
             for p, (lo, hi) in zip(pieces, ends)],
            colors=colours, linewidths=2, linestyles=styles[k % len(styles)]))
        axes.scatter([float(p.lo) for p in pieces[1:]], [float(lo[k]) for lo, _ in ends[1:]],
                     s=22, zorder=3, edgecolors="black", linewidths=1, c=markers)
    handles = [
        Line2D([], [], linestyle="", marker="o", markerfacecolor="black",
               markeredgecolor="black", label="breakpoint: the affine map changes"),
        Line2D([], [], linestyle="", marker="o", markerfacecolor="white",
               markeredgecolor="black", label="breakpoint: only the pattern changes"),
        Line2D([], [], color="#DDDDDD", linewidth=6,
               label="activation regions (shaded alternately)")]
    if data:
        targets = [p for p in data if len(p) > 1]
        if targets:
            axes.scatter([float(p[0]) for p in targets], [float(p[1]) for p in targets], s=8,
                         c="black", alpha=0.6, linewidths=0, zorder=4)
        else:
            axes.plot([float(p[0]) for p in data], [0.0] * len(data), "|", color="black",
                      transform=axes.get_xaxis_transform(), markersize=8)
        handles.append(Line2D([], [], linestyle="", marker="o", markersize=3, color="black",
                              label="data"))
    axes.autoscale_view()
    axes.set_xlim(float(pieces[0].lo), float(pieces[-1].hi))
    axes.set_xlabel("x")
    axes.set_ylabel("f(x)" if len(pieces[0].affine_map) == 1 else "f(x): f1 solid, f2 dashed, ...")
    figure.suptitle(heading, fontsize=9)
    figure.legend(handles=handles, loc="outside lower center", ncols=2, fontsize=8, frameon=False)
    _save(figure, path)


def plot(network: Network, path: str | Path, *, box: Box | None = None,
         plane: Subspace | None = None, data: Sequence[Sequence[Fraction]] | None = None,
         colour: str = "linear", name: str | None = None, limits: Limits = NO_LIMITS,
         progress: bool = False) -> PlotSummary:
    """Draw ``network``'s regions to ``path`` (.png, .svg or .pdf), atomically.

    ``box`` is the domain in the plotted coordinates (``(s, t)`` when slicing);
    without it the box around ``data`` (points, exact; drawn on the picture; for one
    input a second coordinate is drawn as the target value), else the default view
    (:func:`choose_view`).  ``plane`` restricts the input to a plane (default for
    ``n0 >= 3``: :func:`~tvmip.model.subspace.coordinate_plane`; not allowed for
    ``n0 = 1``).  ``colour``: ``linear`` (families per linear region), ``f`` or
    ``grad`` (a colour scale, two-input maps).  ``name`` titles the picture beside
    the network's SHA-256 prefix.  The counts are those of the drawn domain.  A
    count stopped by ``limits`` or an interrupt writes no picture
    (:class:`~tvmip.errors.Interrupted`, :class:`~tvmip.errors.ResourceLimit`).
    """
    path = Path(path)
    if path.suffix[1:].lower() not in FORMATS:
        raise InputError(f"{path}: unsupported picture format (use {', '.join(FORMATS)})")
    if not (path.parent if str(path.parent) else Path(".")).is_dir():
        raise InputError(f"{path}: directory {path.parent} does not exist")
    if colour not in COLOURINGS:
        raise InputError(f"unknown colouring {colour!r} (use {', '.join(COLOURINGS)})")
    n0 = network.input_dim
    if n0 == 1 and plane is not None:
        raise InputError("a slice needs a network with at least two inputs")
    if n0 >= 3 and plane is None:
        plane = coordinate_plane(n0)
    if plane is not None and data:
        raise InputError("--data draws the data of a one- or two-input network; for a slice "
                         "give --box in the plane's coordinates (s, t)")
    drawn = scale_network(network if plane is None else plane.restrict(network))
    dim = min(n0, 2)
    if box is not None and len(box.lo) != dim:
        raise InputError(f"the box must have {dim} coordinates (the plotted ones)")
    view = choose_view(drawn, box, data, limits, progress)
    counts: tuple[int, int | None, int]
    if n0 == 1:
        pieces = graph_pieces(drawn, view.box)
        counts = (len(pieces), linear_ids(pieces)[-1] + 1, len({p.affine_map for p in pieces}))
        _draw_graph(pieces, view, _heading(name, network, counts, view, plane), data, path)
    else:
        cells = region_cells(drawn, view.box, limits, progress)
        glued = all(c.region.linear_region is not None for c in cells)
        counts = (len(cells), len({c.group for c in cells}) if glued else None,
                  len({(c.region.gradient, c.region.offset) for c in cells}))
        _draw_map(cells, view, _heading(name, network, counts, view, plane), plane, data,
                  colour, path)
    return PlotSummary(path, view, plane, *counts)
