"""Linear regions: activation regions glued across shared facets with equal maps.

Two activation regions are glued when their closures share an (n0-1)-dimensional
face and ``f`` has the same affine map on both; linear regions are the connected
components of this glue graph (networkx).  Only regions whose map is shared by
another region can be glued, so the work happens inside those groups.

For such a region ``R`` and each hyperplane ``H`` among its inequalities
(coincident ones, e.g. from duplicated neurons, form one class) we decide
exactly, in ``H``'s own coordinates (one dimension less), whether

    {x in H : every other inequality of R holds strictly}

is empty.  If another inequality of ``R`` with a parallel gradient excludes ``H``
(:func:`~tvmip.checker.linear.shut_out`), nothing is written: the checker sees it
too.  Otherwise, if it is empty, a Motzkin certificate shows that ``H`` carries no
facet of ``R`` (a :class:`NoFacet`).  Otherwise its rational point lies in the relative
interior of a facet; the neighbour across it is unique, and we find its pattern
by stepping off the facet (a :class:`Facet`).  Every edge of the glue graph is
then a facet whose two sides have equal maps, and no edge can be missing.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction

from ..checker.linear import NOT_GLUED, hyperplane, shut_out, unique_neighbours
from ..checker.maps import is_constant
from ..errors import InputError, InternalError
from ..evidence.exact import Motzkin, Row, Witness, solve_system
from ..evidence.lp import MaxSlackLP
from ..evidence.polyhedron import RowId, box_rows, row_order
from ..model.network import Box
from ..model.scaled import (
    Bound,
    ScaledNetwork,
    input_map,
    layer_output,
    piece_bounds,
    pre_activations,
)
from .tree import Region

AffineMap = tuple[tuple[Fraction, ...], ...]  # per output: gradient..., offset


@dataclass(frozen=True, slots=True)
class Facet:
    """Region ``region`` has a facet on the hyperplane of the bound ``row_id`` (a
    neuron's, as in Motzkin multipliers); ``point`` lies in its relative interior and
    ``neighbour`` is the region across it."""

    region: int
    row_id: RowId
    point: tuple[Fraction, ...]
    neighbour: int


@dataclass(frozen=True, slots=True)
class NoFacet:
    """The hyperplane of the bound ``row_id`` meets region ``region``'s closure in a
    lower-dimensional set: ``multipliers`` (integers on the region's other strict
    inequalities) plus ``mu`` times ``pre - t_j`` form a constant <= 0."""

    region: int
    row_id: RowId
    multipliers: tuple[tuple[RowId, int], ...]
    mu: Fraction


Evidence = Facet | NoFacet


@dataclass(frozen=True)
class LinearStructure:
    """Maps, linear-region ids and the evidence behind them, indexed like the regions."""

    maps: tuple[AffineMap, ...]
    component: tuple[int, ...]
    evidence: tuple[Evidence, ...]

    @property
    def linear_regions(self) -> int:
        return len(set(self.component))

    @property
    def distinct_maps(self) -> int:
        return len(set(self.maps))

    @property
    def output_values(self) -> int | None:
        """The number of values of f when it is piecewise constant (every map has no
        gradient), else None."""
        return self.distinct_maps if all(map(is_constant, self.maps)) else None


@dataclass(frozen=True)
class _Geometry:
    """A region's pre-activation rows ``(a, c)`` over denominators, by position, and
    the output map on it."""

    rows: dict[int, tuple[tuple[int, ...], int]]
    output: AffineMap


class Gluer:
    """Computes the linear structure of one network over one domain."""

    def __init__(self, network: ScaledNetwork, box: Box | None = None) -> None:
        self.network = network
        self.box = box
        self.dim = network.dim
        self.layers = network.layers
        self.lp = MaxSlackLP(max(self.dim - 1, 1))

    def _needs_unique_neighbours(self) -> None:
        if not unique_neighbours(self.network.network):
            raise InputError(f"{NOT_GLUED} (the activation regions are certified)")

    def glue(self, regions: Sequence[Region],
             tick: Callable[[int], None] | None = None) -> LinearStructure:
        """Glue ``regions`` (all the activation regions of the domain) into linear
        regions.  ``tick(done)`` is called as regions are processed (their maps, then
        their facets) and may raise to stop."""
        self._needs_unique_neighbours()
        import networkx as nx  # heavy: only runs that glue pay for it

        geometry = []
        for r in regions:
            geometry.append(self._geometry(r.pattern))
            if tick is not None and len(geometry) % 64 == 0:
                tick(len(geometry) // 2)
        maps = tuple(g.output for g in geometry)
        groups: dict[AffineMap, list[int]] = {}
        for index, affine in enumerate(maps):
            groups.setdefault(affine, []).append(index)
        index_of = {r.pattern: i for i, r in enumerate(regions)}
        graph = nx.Graph()
        graph.add_nodes_from(range(len(regions)))
        evidence: list[Evidence] = []
        known: set[tuple[int, tuple[int, ...]]] = set()
        # in region order, as the checker reads the evidence (it checks each region's
        # hyperplanes once the records move past it)
        for index, affine in enumerate(maps):
            if len(groups[affine]) < 2:
                continue
            if tick is not None:
                tick((len(regions) + index + 1) // 2)
            for item in self._facets(index, regions[index].pattern, geometry[index],
                                     index_of, known):
                evidence.append(item)
                if isinstance(item, Facet) and maps[item.neighbour] == affine:
                    graph.add_edge(index, item.neighbour)
        component = [0] * len(regions)
        ordered = sorted((min(c), c) for c in nx.connected_components(graph))
        for label, (_, members) in enumerate(ordered):
            for index in members:
                component[index] = label
        return LinearStructure(maps, tuple(component), tuple(evidence))

    def adjacency(self, regions: Sequence[Region]) -> set[tuple[int, int]]:
        """The pairs of regions (indices, smaller first) that share a facet in the
        domain, whether or not their maps are equal."""
        self._needs_unique_neighbours()
        index_of = {r.pattern: i for i, r in enumerate(regions)}
        edges = set()
        known: set[tuple[int, tuple[int, ...]]] = set()
        for index, region in enumerate(regions):
            geometry = self._geometry(region.pattern)
            for item in self._facets(index, region.pattern, geometry, index_of, known):
                if isinstance(item, Facet):
                    edges.add((min(index, item.neighbour), max(index, item.neighbour)))
        return edges

    def output_map(self, pattern: str) -> AffineMap:
        """The exact affine map of ``f`` on the region of ``pattern``."""
        return self._geometry(pattern).output

    # -- one region -------------------------------------------------------------

    def _geometry(self, pattern: str) -> _Geometry:
        m, d = input_map(self.dim)
        rows = {}
        for layer in self.layers:
            p, s = pre_activations(layer, m, d)
            cells = None
            if layer.stateful:
                for j, values in enumerate(p.tolist()):
                    rows[layer.first + j] = (tuple(values), s)
                cells = [layer.activation.cell(state)
                         for state in pattern[layer.first:layer.first + layer.width]]
            m, d = layer_output(p, s, layer, cells)
        p, s = pre_activations(self.network.output, m, d)
        output = tuple(tuple(Fraction(int(v), s) for v in row) for row in p.tolist())
        return _Geometry(rows, output)

    def _facets(self, index: int, pattern: str, geometry: _Geometry, index_of: dict[str, int],
                known: set[tuple[int, tuple[int, ...]]]) -> list[Evidence]:
        """The evidence for each hyperplane of the region, but those shut out by a
        parallel inequality and those ``known``: the facet of an earlier region
        across which this one lies (each facet found is added to ``known`` for its
        neighbour, whose facet on the same hyperplane it also is)."""
        bounds = self._region_bounds(pattern, geometry)
        classes: dict[tuple[int, ...], list[Bound]] = {}
        for bound in bounds:
            if any(bound.row[:-1]):
                classes.setdefault(hyperplane(_positive(bound.row)), []).append(bound)
        box = box_rows(self.box)
        all_rows = [b.row for b in bounds] + [row for row, _, _ in box]
        all_ids = [b.row_id for b in bounds] + [row_id for _, row_id, _ in box]
        all_scales = [b.scale[0] for b in bounds] + [den for _, _, den in box]
        # hyperplanes a parallel inequality shuts out need no record (the checker sees it)
        shut = shut_out([_positive(row) for row in all_rows])
        found: list[Evidence] = []
        for key, members in classes.items():
            if key in shut or (index, key) in known:
                continue
            first = members[0]
            phi = _linear_form(first)
            ids = {b.row_id for b in members}
            keep = [i for i, rid in enumerate(all_ids) if rid not in ids]
            rows = [all_rows[i] for i in keep]
            evidence, lift = self._on_hyperplane(rows, phi)
            if isinstance(evidence, Witness):
                point = lift(evidence)
                away = [-v for v in phi[:-1]] if first.above else list(phi[:-1])
                neighbour = index_of.get(self._step_off(point, away))
                if neighbour is None:
                    raise InternalError(f"no enumerated region across a facet of region {index}")
                found.append(Facet(index, first.row_id, point, neighbour))
                known.add((neighbour, key))
            else:
                found.append(self._no_facet(index, first, phi, evidence,
                                            [all_ids[i] for i in keep],
                                            [all_scales[i] for i in keep], rows))
        return found

    def _region_bounds(self, pattern: str, geometry: _Geometry) -> list[Bound]:
        """The region's strict inequalities from its neurons in open pieces, as
        :class:`~tvmip.model.scaled.Bound` records with the rows undivided: the row
        ``a . x < c`` has the slack ``scale[0]`` times the certificate's ``g(x)``."""
        out = []
        for layer in self.layers:
            if not layer.stateful:
                continue
            for position in range(layer.first, layer.first + layer.width):
                cell = layer.activation.cell(pattern[position])
                if cell is None or cell % 2:
                    continue
                (*a, c), s = geometry.rows[position]
                for b in piece_bounds(layer, position, a, c, s, cell):
                    g = b.scale[1]
                    out.append(Bound(tuple(v * g for v in b.row), b.row_id, (b.scale[0], 1),
                                     b.j, b.above))
        return out

    def _on_hyperplane(self, rows: list[Row], phi: tuple[int, ...]):  # type: ignore[no-untyped-def]
        """Decide the rows on the hyperplane ``phi = 0``, in its own coordinates:
        constants for n0 = 1, exact intervals for n0 = 2, the LP oracle beyond."""
        reduced, lift = _restrict(rows, phi)
        if self.dim == 1:
            return _constants(reduced), lift
        if self.dim == 2:
            return _interval(reduced), lift
        return solve_system(reduced, self.lp), lift

    def _no_facet(self, index: int, first: Bound, phi: tuple[int, ...], cert: Motzkin,
                  ids: list[RowId], scales: list[int], rows: list[Row]) -> NoFacet:
        """Lift the multipliers from the hyperplane's coordinates: on ``H`` the rows
        combine to a constant <= 0, so in space they do up to a multiple of ``phi``
        (the integer row of ``pre - t_j``, ``scale[0]`` times it)."""
        gradient = [0] * self.dim
        constant = 0
        for i, y in zip(cert.support, cert.y):  # sum y_i (c_i - a_i . x)
            gradient = [g - y * v for g, v in zip(gradient, rows[i][:-1])]
            constant += y * rows[i][-1]
        j = next(k for k, v in enumerate(phi[:-1]) if v)
        num, den = (-gradient[j], phi[j]) if phi[j] > 0 else (gradient[j], -phi[j])
        # mu_row = num / den times the integer row phi cancels the gradient
        if any(g * den + num * v for g, v in zip(gradient, phi[:-1])) \
                or constant * den + num * phi[-1] > 0:
            raise InternalError(f"no-facet multipliers of region {index} do not verify")
        # slack_i = scale_i * g_i and phi = scale * (pre - t): rescale to the true-scale forms
        multipliers = tuple(sorted(((ids[i], y * scales[i]) for i, y in zip(cert.support, cert.y) if y),
                                   key=row_order))
        return NoFacet(index, first.row_id, multipliers, Fraction(num * first.scale[0], den))

    def _step_off(self, point: tuple[Fraction, ...], away: list[int]) -> str:
        """The pattern of the region entered by leaving ``point`` (on a facet) in the
        direction ``away``: the cell of each pre-activation at the point, and where it
        sits at a breakpoint, the piece its derivative along ``away`` enters (its map
        reaches the breakpoint all along the facet)."""
        q = math.lcm(*(v.denominator for v in point))
        p = [int(v * q) for v in point]
        m, d = input_map(self.dim)
        states: list[str] = []
        for layer in self.layers:
            pre, s = pre_activations(layer, m, d)
            cells = None
            if layer.stateful:
                act = layer.activation
                cells = []
                for values in pre.tolist():
                    *a, c = values
                    cell = act.cell_of(Fraction(sum(x * y for x, y in zip(a, p)) + c * q, s * q))
                    if cell % 2 and any(a):
                        slope = sum(x * y for x, y in zip(a, away))
                        if slope == 0:
                            raise InternalError("facet point is not in a facet's relative interior")
                        cell += 1 if slope > 0 else -1
                    cells.append(cell)
                states.extend(act.symbol(cell) for cell in cells)
            m, d = layer_output(pre, s, layer, cells)
        return "".join(states)


def _positive(row: Row) -> tuple[int, ...]:
    """The row ``a . x < c`` as the checker writes it: ``-a . x + c > 0``."""
    return (*(-v for v in row[:-1]), row[-1])


def _linear_form(bound: Bound) -> tuple[int, ...]:
    """The integer linear form of ``scale * (pre - t_j)`` from a bound's row
    ``a . x < c``, whose slack ``c - a . x`` is ``scale * g(x)``, ``g = +-(pre - t_j)``."""
    *a, c = bound.row
    return (*(-v for v in a), c) if bound.above else (*a, -c)


def _restrict(rows: list[Row], phi: tuple[int, ...]):  # type: ignore[no-untyped-def]
    """Rows in the coordinates of the hyperplane ``phi . (x, 1) = 0``: coordinate ``j``
    (the first with a nonzero coefficient) is eliminated; each row is multiplied by
    ``|phi_j|`` so it stays integral.  Returns the rows and the map lifting a point."""
    a, c = phi[:-1], phi[-1]
    j = next(k for k, v in enumerate(a) if v)
    size, sign = abs(a[j]), 1 if a[j] > 0 else -1
    others = [k for k in range(len(a)) if k != j]
    reduced = [(*[size * b[k] - sign * b[j] * a[k] for k in others], size * b[-1] + sign * b[j] * c)
               for b in rows]

    def lift(w: Witness) -> tuple[Fraction, ...]:
        u = [Fraction(v, w.q) for v in w.p]
        x = u[:j] + [Fraction(0)] + u[j:]
        x[j] = -(c + sum(a[k] * x[k] for k in range(len(a)) if k != j)) / Fraction(a[j])
        return tuple(x)

    return reduced, lift


def _interval(rows: list[Row]) -> Witness | Motzkin:
    """Decide rows ``alpha u < delta`` in one variable exactly: the largest lower bound
    must lie below the smallest upper bound.  Otherwise the two binding rows, with
    multipliers ``alpha_upper`` and ``-alpha_lower``, are the Motzkin certificate."""
    lower = upper = None  # (numerator, positive denominator, row index)
    for i, (alpha, delta) in enumerate(rows):
        if alpha == 0:
            if delta <= 0:
                return Motzkin((i,), (1,))
        elif alpha > 0:
            if upper is None or delta * upper[1] < upper[0] * alpha:
                upper = (delta, alpha, i)
        elif lower is None or -delta * lower[1] > lower[0] * -alpha:
            lower = (-delta, -alpha, i)
    if lower is not None and upper is not None and lower[0] * upper[1] >= upper[0] * lower[1]:
        i, j = lower[2], upper[2]
        return Motzkin((i, j), (rows[j][0], -rows[i][0]))
    if lower is not None and upper is not None:
        return Witness((lower[0] * upper[1] + upper[0] * lower[1],), 2 * lower[1] * upper[1])
    if upper is not None:
        return Witness((upper[0] - upper[1],), upper[1])
    if lower is not None:
        return Witness((lower[0] + lower[1],), lower[1])
    return Witness((0,), 1)


def _constants(rows: list[Row]) -> Witness | Motzkin:
    """Decide a system without variables: all its constants must be positive."""
    for i, row in enumerate(rows):
        if row[-1] <= 0:
            return Motzkin((i,), (1,))
    return Witness((), 1)
