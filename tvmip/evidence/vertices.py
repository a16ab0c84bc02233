"""Vertex hints: a floating-point V-representation of a node's region (pycddlib).

When a layer starts at a node, every neuron of the layer is tested for stability
on the node's region.  One H-to-V conversion of the region's closure (vertices,
rays, and for each vertex the rows tight there) answers all those tests at once
as *hints*: a neuron whose pre-activation keeps its sign at every vertex and
does not change it along any ray is stable, with the tight rows at the extreme
vertex as the support of its Motzkin certificate (LP duality); a vertex or ray
on the other side points to a witness there.  Every hint is turned into exact
evidence and checked (:mod:`tvmip.evidence.exact`); a hint that fails costs only a
fallback to the LP oracle.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import flint
import numpy as np

from .exact import Motzkin, Row, Witness, round_point
from .lp import float_row

try:
    import cdd
except ImportError:  # the hints are an optimisation: without pycddlib, LPs decide
    cdd = None  # type: ignore[assignment]

TOLERANCE = 1e-9
MAX_BASES = 64  # subsets of a degenerate vertex's tight rows tried


Solver = tuple[tuple[int, ...], list[list[int]], int]  # support, adjugate, determinant


@dataclass
class VertexHint:
    """Vertices and rays (lines as two rays) of a region's closure, with the rows
    (indices into the polyhedron) tight at each vertex."""

    vertices: np.ndarray
    rays: np.ndarray
    tight: tuple[tuple[int, ...], ...]
    unit_rows: np.ndarray  # the rows (a, c) scaled to unit gradients, for margins
    bases: dict[int, list[tuple[tuple[int, ...], np.ndarray]]] = field(default_factory=dict)
    solvers: dict[tuple[int, ...], Solver | None] = field(default_factory=dict)

    def solver(self, vertex: int, rows: list[Row], b: np.ndarray) -> Solver | None:
        """Exact integers to solve ``A_S^T y = -b`` for ``n`` rows ``S`` tight at the
        vertex whose normals' cone holds ``-b`` (chosen in floats among the tight
        rows when the vertex is degenerate): ``y = adj (-b) / det``."""
        if vertex not in self.bases:
            self.bases[vertex] = _bases(self.tight[vertex], rows)
        for support, inverse in self.bases[vertex]:
            if float(np.min(inverse @ -b)) >= -TOLERANCE * float(np.max(np.abs(b))):
                if support not in self.solvers:
                    self.solvers[support] = _adjugate(support, rows)
                return self.solvers[support]
        return None


def _bases(tight: tuple[int, ...], rows: list[Row]) -> list[tuple[tuple[int, ...], np.ndarray]]:
    """Every ``n``-subset of the tight rows with independent normals (at most
    :data:`MAX_BASES`), with the float inverse of its transposed normals."""
    n = len(rows[0]) - 1
    found = []
    for support in itertools.islice(itertools.combinations(tight, n), MAX_BASES):
        matrix = np.array([rows[k][:-1] for k in support], dtype=float).T
        if abs(np.linalg.det(matrix)) > TOLERANCE * float(np.max(np.abs(matrix))) ** n:
            found.append((support, np.linalg.inv(matrix)))
    return found


def _adjugate(support: tuple[int, ...], rows: list[Row]) -> Solver | None:
    n = len(support)
    matrix = flint.fmpz_mat(n, n, [rows[k][i] for i in range(n) for k in support])
    det = int(matrix.det())
    if not det:
        return None
    inverse = matrix.inv()  # exact rationals; det * inverse is the integer adjugate
    return support, [[int((inverse[i, j] * det).p) for j in range(n)] for i in range(n)], det


def vertex_hint(rows: list[Row], dim: int) -> VertexHint | None:
    """The V-representation of ``{x : a . x <= c}`` for the rows, or None (no
    pycddlib, no rows, or a numerical failure)."""
    if cdd is None or not rows:
        return None
    floats = np.array([float_row(row) for row in rows])
    scaled = [[c, *(-v for v in a)] for *a, c in floats.tolist()]
    try:
        polyhedron = cdd.polyhedron_from_matrix(
            cdd.matrix_from_array(scaled, rep_type=cdd.RepType.INEQUALITY))
        generators = cdd.copy_generators(polyhedron)
        incidence = cdd.copy_incidence(polyhedron)
    except (RuntimeError, ValueError):
        return None
    array = np.array(generators.array, dtype=float).reshape(-1, dim + 1)
    lines = np.zeros(len(array), dtype=bool)
    lines[list(generators.lin_set)] = True
    is_vertex = array[:, 0] > 0.5
    vertices = array[is_vertex, 1:]
    rays = np.vstack([array[~is_vertex, 1:], -array[lines & ~is_vertex, 1:]])
    tight = tuple(tuple(sorted(incidence[int(i)])) for i in np.flatnonzero(is_vertex))
    if not len(vertices) or not np.all(np.isfinite(array)):
        return None
    with np.errstate(divide="ignore", invalid="ignore"):
        unit_rows = floats / np.linalg.norm(floats[:, :-1], axis=1)[:, None]
    return VertexHint(vertices, rays, tight, unit_rows)


def _stable(hint: VertexHint, rows: list[Row], row: Row, vertex: int) -> Motzkin | None:
    """The certificate that ``row`` is empty on the region, from ``n`` rows tight at
    the vertex minimising ``b . x``: ``sum y_k a_k + |det| b = 0`` with ``y >= 0`` and
    ``sum y_k c_k + |det| d <= 0`` (exact integers)."""
    solver = hint.solver(vertex, rows, np.array(float_row(row)[:-1]))
    if solver is None:
        return None
    support, adjugate, det = solver
    sign = 1 if det > 0 else -1
    minus_b = [-v for v in row[:-1]]
    y = [sign * sum(a * v for a, v in zip(line, minus_b)) for line in adjugate]
    if any(v < 0 for v in y):
        return None
    weight = abs(det)
    if sum(yk * rows[k][-1] for yk, k in zip(y, support)) + weight * row[-1] > 0:
        return None
    g = math.gcd(*y, weight)
    kept = [(k, v // g) for k, v in zip(support, y) if v]
    return Motzkin((*(k for k, _ in kept), len(rows)), (*(v for _, v in kept), weight // g))


def decide_with_vertices(hint: VertexHint, rows: list[Row], row: Row, inside: Witness,
                         contains: Callable[[Witness], bool]) -> Witness | Motzkin | None:
    """Evidence for ``row`` (``b . x < d``) on the region from the hint, or None.

    ``inside`` is a point of the region on the far side of ``row``; ``contains(w)``
    checks a candidate witness exactly.  Empty when ``b . x >= d`` at every vertex
    and ``b . x`` does not decrease along any ray: then the rows tight at the vertex
    minimising ``b . x`` support the certificate.  Otherwise a point between
    ``inside`` and a vertex beyond the hyperplane (or along such a ray) is the
    candidate witness."""
    *gradient, d = float_row(row)
    b = np.array(gradient)
    tolerance = TOLERANCE * max(float(np.max(np.abs(b))), abs(d), 1.0)
    slack = d - hint.vertices @ b  # > 0: the vertex lies on the wanted side
    gain = -(hint.rays @ b) if len(hint.rays) else np.zeros(1)  # > 0: a ray leads there
    best = int(np.argmax(slack))
    try:
        start = np.array([p / inside.q for p in inside.p], dtype=float)
    except OverflowError:  # a point beyond float range: no float hint here
        return None
    below = float(b @ start) - d  # > 0: how far ``inside`` is on the other side
    if slack[best] > tolerance:
        t = below / (slack[best] + below)
        candidate = start + (1 + t) / 2 * (hint.vertices[best] - start)
    elif float(np.max(gain)) > tolerance:
        k = int(np.argmax(gain))
        candidate = start + 2 * below / float(gain[k]) * hint.rays[k]
    else:
        return _stable(hint, rows, row, best)
    norm = float(np.linalg.norm(b))
    with np.errstate(divide="ignore", invalid="ignore"):
        slacks = hint.unit_rows[:, -1] - hint.unit_rows[:, :-1] @ candidate
        margin = min(float(np.min(slacks)), float(d - b @ candidate) / norm)
    if not margin > 0:
        return None
    for w in round_point(candidate, margin):
        if contains(w):
            return w
    return None
