"""Depth-first enumeration of activation regions, each claim with exact evidence.

The search tree branches on the neurons with a state in a fixed order (layer by
layer, then by index).  At a node, the pre-activation of the next neuron is an
exact affine function ``pre(x)`` on the node's region (:mod:`tvmip.model.scaled`),
and its states are the cells of its activation
(:mod:`tvmip.checker.activation`):

* ``pre`` constant: one child, the cell of its value (ReLU's ``0`` when
  ``pre == 0``), no record;
* one open piece left (the others proved empty when the layer started, see
  below): one child, no record;
* otherwise a child per open piece (ReLU: ``+``, then ``-``).  A piece holding a
  known interior point of the node is non-empty for free; otherwise a cheap
  exact proof (parallel opposite row, box, a proof reused from another node) or
  the LP oracle decides it, and its hint is made exact
  (:mod:`tvmip.evidence.exact`).  A proof may rule out later pieces too (those
  on the same side of every bound it uses): they get no record.

When a layer starts at a node ``v``, every neuron of the layer is tested once on
``v``'s region, most of them at once through one vertex hint of the region
(:mod:`tvmip.evidence.vertices`).  A piece found empty is proved there, in a
look-ahead record that covers the whole subtree, so deeper nodes neither branch
into it nor repeat the proof.  The witnesses found on the way are kept as known
points for the nodes below.

Records are emitted in depth-first order, the lexicographic order of their
pattern strings (``'*'`` before every state): a :class:`Region` per leaf, an
:class:`EmptyBranch` per proved-empty side, and a :class:`Frontier` for each node
at the cutoff depth, whose subtree is explored by a later call.  Every call to
:meth:`Explorer.explore` starts from a reset LP and replays its root's prefix, so
a subtree's evidence depends only on its root, whichever process computes it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from ..checker.activation import Activation
from ..errors import InternalError, ResourceLimit
from ..evidence.exact import (
    Motzkin,
    Row,
    Witness,
    decide,
    from_hint,
    motzkin_holds,
    slack,
)
from ..evidence.lp import LPHint, MaxSlackLP
from ..evidence.polyhedron import Polyhedron, Proof, RowId, box_rows
from ..evidence.vertices import VertexHint, decide_with_vertices, vertex_hint
from ..model.network import Box
from ..model.scaled import (
    Bound,
    ScaledLayer,
    ScaledNetwork,
    input_map,
    layer_output,
    piece_bounds,
    pre_activations,
)

PROOF_CACHE = 4  # emptiness proofs remembered per (neuron, side) within a subtree
POINTS_CAP = 8  # known interior points carried per node

Points = tuple[Witness, ...]


@dataclass(frozen=True, slots=True)
class Region:
    """A non-empty activation region: its pattern and a rational interior point."""

    pattern: str
    witness: tuple[Fraction, ...]


@dataclass(frozen=True, slots=True)
class EmptyBranch:
    """An empty side.  ``prefix`` is a node followed by the empty state of the next
    neuron, or, for a look-ahead, a node ``v`` followed by ``k`` wildcards ``*`` and
    the empty state of the neuron ``k`` places further (in the same layer): that
    side is empty on all of ``v``'s region, hence at every node of its subtree.
    ``multipliers`` are integers on the strict inequalities of ``v``'s pattern (row
    ids: pattern positions, or ``"lo<i>"`` / ``"hi<i>"`` for box faces) and of the
    empty side, whose combination is a constant function <= 0 (Motzkin)."""

    prefix: str
    multipliers: tuple[tuple[RowId, int], ...]


@dataclass(frozen=True, slots=True)
class Frontier:
    """A non-empty node whose subtree this call does not explore, with what its
    exploration needs: a witness, the pieces that look-aheads on its path ruled out
    (per position; they shape the states below it) and further known interior
    points."""

    prefix: str
    witness: Witness
    excluded: tuple[tuple[int, str], ...] = ()
    points: Points = ()


@dataclass(frozen=True, slots=True)
class Open:
    """A node whose subtree was left unexplored (an early stop): a lower bound only."""

    prefix: str


Record = Region | EmptyBranch | Frontier | Open
Emit = Callable[[Record], None]


class StopSearch(Exception):
    """Raised by a tick callback to end the search early; open nodes are emitted."""


@dataclass
class SearchStats:
    """Counters of the work done (the figures bench/ reports)."""

    nodes: int = 0
    regions: int = 0
    empty: int = 0
    lps: int = 0
    known_points: int = 0
    parallel_proofs: int = 0
    box_proofs: int = 0
    reused_proofs: int = 0
    vertex_hints: int = 0
    exact_fallbacks: int = 0

    def add_counts(self, counts: dict[str, int]) -> None:
        """Add the counters of work done elsewhere (another process)."""
        for name, value in counts.items():
            setattr(self, name, getattr(self, name) + value)


def root_witness(dim: int, box: Box | None) -> Witness:
    """The origin, or the centre of the box."""
    if box is None:
        return Witness((0,) * dim, 1)
    centre = [(lo + hi) / 2 for lo, hi in zip(box.lo, box.hi)]
    q = math.lcm(*(v.denominator for v in centre))
    return Witness(tuple(int(v * q) for v in centre), q)


def _satisfies(rows: list[Row], point: Witness) -> bool:
    return slack(rows[0], point) > 0 and (len(rows) == 1 or slack(rows[1], point) > 0)


def _inside(rows: list[Row], points: Points) -> Witness | None:
    """The first known point satisfying ``rows`` (one or two) strictly (all satisfy the
    node's rows)."""
    for point in points:
        if _satisfies(rows, point):
            return point
    return None


def _child_points(witness: Witness, rows: list[Row], points: Points) -> Points:
    """Known points of a child: its witness first, then the parent's points inside it."""
    kept = [pt for pt in points if pt is not witness and _satisfies(rows, pt)]
    return (witness, *kept[: POINTS_CAP - 1])


def ruled_out(act: Activation, cert: Motzkin, first_extra: int,
              bounds: list[Bound]) -> frozenset[str]:
    """The pieces an emptiness proof rules out: those on the same side of every bound
    of the piece that it uses (the extras from index ``first_extra``), as the checker
    reads it."""
    used = [bounds[i - first_extra] for i in cert.support if i >= first_extra]
    return frozenset(act.symbol(2 * piece) for piece in range(len(act.pieces))
                     if all((piece >= b.j) == b.above for b in used))


class Explorer:
    """Enumerates subtrees of the search tree of one network over one domain."""

    def __init__(self, network: ScaledNetwork, box: Box | None = None) -> None:
        self.network = network
        self.box = box
        self.dim = network.dim
        self.layers = network.layers
        self.lp = MaxSlackLP(self.dim)
        self.stats = SearchStats()
        self._capacity = 2 * network.pattern_length + 2 * self.dim + 2
        self._emit: Emit = lambda record: None
        self._tick: Callable[[], None] | None = None
        self._cutoff = -1
        self._root = self.root()
        self.limit_hit: str | None = None

    def root(self) -> Frontier:
        """The root of the search tree, as a subtree to explore."""
        return Frontier("", root_witness(self.dim, self.box))

    def explore(self, root: Frontier, emit: Emit, cutoff: int | None = None,
                tick: Callable[[], None] | None = None) -> None:
        """Emit the records of the subtree at ``root`` in depth-first order.  Nodes at
        depth ``cutoff`` are emitted as :class:`Frontier`.  ``tick`` is called after
        every record and may raise :class:`StopSearch`, after which the unexplored
        rest is emitted as :class:`Open` records and the exception propagates."""
        self._emit, self._tick = emit, tick
        self._cutoff = -1 if cutoff is None else cutoff
        self._root = root
        self._pattern: list[str] = []
        self._excluded = dict(root.excluded)
        self._proofs: dict[tuple[int, str], list[Proof]] = {}
        self._poly = Polyhedron(self.dim, self._capacity, self.lp)
        self.limit_hit = None
        for row, row_id, den in box_rows(self.box):
            self._poly.push(row, row_id, (den, 1))
        try:
            self._enter_layer(0, *input_map(self.dim), (root.witness, *root.points))
        except ResourceLimit as exc:
            self.limit_hit = f"{exc} at node {root.prefix or '(root)'!r}"
            self._emit(Open(root.prefix))
            raise StopSearch from None

    # -- the tree ---------------------------------------------------------------

    def _record(self, record: Record) -> None:
        self._emit(record)
        if self._tick is not None:
            self._tick()

    @contextmanager
    def _guard(self) -> Iterator[None]:
        """A number-size limit hit while deciding the current node leaves the node open
        (a lower bound) and stops the search; :attr:`limit_hit` says where."""
        try:
            yield
        except ResourceLimit as exc:
            prefix = "".join(self._pattern)
            if len(prefix) < len(self._root.prefix):
                raise  # still replaying the root's prefix: explore() covers the root
            self.limit_hit = f"{exc} at node {prefix or '(root)'!r}"
            self._emit(Open(prefix))
            raise StopSearch from None

    def _frontier(self, points: Points) -> None:
        self._record(Frontier("".join(self._pattern), points[0],
                              tuple(sorted(self._excluded.items())), points[1:]))

    def _enter_layer(self, index: int, m: np.ndarray, d: int, points: Points) -> None:
        if index == len(self.layers):
            self.stats.regions += 1
            self._record(Region("".join(self._pattern), points[0].coordinates()))
            return
        layer = self.layers[index]
        with self._guard():
            p, s = pre_activations(layer, m, d)
        if not layer.stateful:
            self._enter_layer(index + 1, *layer_output(p, s, layer, None), points)
            return
        if layer.first < len(self._root.prefix):
            self._neuron(index, 0, p, s, points)
        elif layer.first == self._cutoff:
            self._frontier(points)
        else:
            with self._guard():
                found, points = self._layer_start(layer, p, s, points)
            self._excluded.update(found)
            try:
                self._neuron(index, 0, p, s, points)
            finally:
                for position in found:
                    del self._excluded[position]

    def _candidates(self, layer: ScaledLayer, position: int) -> str:
        """The open pieces of the neuron at ``position`` that no look-ahead ruled out."""
        excluded = self._excluded.get(position)
        pieces = layer.activation.piece_symbols
        return pieces if excluded is None else "".join(c for c in pieces if c not in excluded)

    def _neuron(self, index: int, j: int, p: np.ndarray, s: int, points: Points) -> None:
        layer = self.layers[index]
        act = layer.activation
        if j == layer.width:
            cells = [act.cell(state) for state in self._pattern[layer.first:]]
            self._enter_layer(index + 1, *layer_output(p, s, layer, cells), points)
            return
        position = layer.first + j
        coeffs = p[j].tolist()
        a, c = coeffs[:-1], coeffs[-1]
        # The only state a constant pre-activation allows: its value's cell.
        fixed = None if any(a) else act.symbol(act.cell_of(Fraction(c, s)))
        candidates = self._candidates(layer, position) if fixed is None else fixed
        if position < len(self._root.prefix):
            state = self._root.prefix[position]
        elif position == self._cutoff:
            self._frontier(points)
            return
        elif len(candidates) == 1:
            state = candidates
        else:
            self.stats.nodes += 1
            self._branch(index, j, p, s, points, a, c)
            return
        # A single child: replayed, constant or the last piece left.  Only a replayed
        # branching neuron's bounds join the polyhedron (the others are redundant).
        if state not in candidates:
            raise InternalError(f"state {state!r} at position {position} is impossible")
        self._pattern.append(state)
        pushed = [] if len(candidates) == 1 else \
            piece_bounds(layer, position, a, c, s, act.cell(state))
        for bound in pushed:
            self._poly.push(bound.row, bound.row_id, bound.scale)
        try:
            self._neuron(index, j + 1, p, s, points)
        finally:
            self._pattern.pop()
            for _ in pushed:
                self._poly.pop()

    def _branch(self, index: int, j: int, p: np.ndarray, s: int, points: Points,
                a: list[int], c: int) -> None:
        """Every piece of a non-constant neuron that no look-ahead ruled out: each gets a
        witness or a proof (which may rule out later pieces as well)."""
        layer = self.layers[index]
        act = layer.activation
        position = layer.first + j
        outcomes: list[tuple[str, list[Bound], Witness | Motzkin, Any]] = []
        saved: Any = None  # the LP basis at this node, taken before its first LP
        skipped: frozenset[str] = frozenset()
        with self._guard():
            for side in self._candidates(layer, position):
                if side in skipped:
                    continue
                bounds = piece_bounds(layer, position, a, c, s, act.cell(side))
                point = _inside([b.row for b in bounds], points)
                if point is not None:
                    self.stats.known_points += 1
                    outcomes.append((side, bounds, point, None))
                    continue
                if saved is None:
                    saved = self.lp.basis()
                evidence, basis = self._decide(bounds, saved, position, side)
                outcomes.append((side, bounds, evidence, basis))
                if isinstance(evidence, Motzkin) and len(act.breakpoints) > 1:
                    skipped |= ruled_out(act, evidence, len(self._poly), bounds)
        if all(isinstance(o[2], Motzkin) for o in outcomes):
            raise InternalError(f"every piece of neuron {position} proved empty on a "
                                "non-empty region")
        prefix = "".join(self._pattern)

        def empty_record(side: str, evidence: Motzkin, bounds: list[Bound]) -> EmptyBranch:
            self.stats.empty += 1
            return EmptyBranch(prefix + side, self._poly.multipliers(
                evidence, [(b.row_id, b.scale) for b in bounds]))

        k = 0
        try:
            for k, (side, bounds, evidence, child_basis) in enumerate(outcomes):
                if isinstance(evidence, Motzkin):
                    self._record(empty_record(side, evidence, bounds))
                    continue
                for bound in bounds:
                    self._poly.push(bound.row, bound.row_id, bound.scale)
                if child_basis is not None:
                    self.lp.restore(child_basis)
                self._pattern.append(side)
                try:
                    self._neuron(index, j + 1, p, s,
                                 _child_points(evidence, [b.row for b in bounds], points))
                finally:
                    self._pattern.pop()
                    for _ in bounds:
                        self._poly.pop()
                    if child_basis is not None:
                        self.lp.restore(saved)
        except StopSearch:
            # The later siblings still need covering: proofs already found are
            # emitted as they are, unexplored children as open subtrees (no tick).
            for side, bounds, evidence, _ in outcomes[k + 1:]:
                self._emit(empty_record(side, evidence, bounds) if isinstance(evidence, Motzkin)
                           else Open(prefix + side))
            raise

    def _layer_start(self, layer: ScaledLayer, p: np.ndarray, s: int,
                     points: Points) -> tuple[dict[int, str], Points]:
        """Test the layer's neurons after the first on this node's region: the pieces
        without a known point, when some piece has one.  An empty piece is proved once,
        as the look-ahead record ``prefix + '*' * k + piece``; a non-empty one's
        witness becomes a known point.  Returns the pieces ruled out per position."""
        prefix = "".join(self._pattern)
        act = layer.activation
        excluded: dict[int, str] = {}
        records = []
        saved = None
        hint = None
        for j in range(1, layer.width):
            coeffs = p[j].tolist()
            a, c = coeffs[:-1], coeffs[-1]
            if not any(a):
                continue
            position = layer.first + j
            pieces = [(side, piece_bounds(layer, position, a, c, s, act.cell(side)))
                      for side in act.piece_symbols]
            missing = [(side, bounds) for side, bounds in pieces
                       if _inside([b.row for b in bounds], points) is None]
            if len(missing) == len(pieces):
                continue  # no piece holds a known point: the branch decides them
            ruled: frozenset[str] = frozenset()
            for side, bounds in missing:
                if side in ruled:
                    continue
                if saved is None:
                    saved = self.lp.basis()
                    hint = vertex_hint(self._poly.rows, self.dim) if self.dim > 1 else None
                evidence, _ = self._decide(bounds, saved, position, side, hint, points[0])
                if isinstance(evidence, Motzkin):
                    ruled |= ruled_out(act, evidence, len(self._poly), bounds) \
                        if len(act.breakpoints) > 1 else frozenset(side)
                    self.stats.empty += 1
                    multipliers = self._poly.multipliers(
                        evidence, [(b.row_id, b.scale) for b in bounds])
                    records.append(EmptyBranch(prefix + "*" * j + side, multipliers))
                else:
                    points = (*points, evidence)[:POINTS_CAP]
            if ruled:
                excluded[position] = "".join(sorted(ruled))
        for record in sorted(records, key=lambda r: r.prefix):
            self._emit(record)  # no tick: a stop here would leave the node uncovered
        return excluded, points

    # -- deciding one piece -------------------------------------------------------

    def _decide(self, bounds: list[Bound], saved: Any, position: int, side: str,
                hint: VertexHint | None = None,
                inside: Witness | None = None) -> tuple[Witness | Motzkin, Any]:
        """Evidence for the piece ``side`` of the neuron at ``position``, whose
        inequalities are ``bounds``: a witness (with the LP basis to enter that child
        with) or Motzkin multipliers on the polyhedron's rows plus the bounds (indices
        ``len(poly)`` on)."""
        poly = self._poly
        rows = [b.row for b in bounds]
        for at, row in enumerate(rows):
            proof = poly.opposite(row, len(poly) + at)
            if proof is not None:
                self.stats.parallel_proofs += 1
                return proof, None
            if self.box is not None:
                proof = self._box_proof(row, len(poly) + at)
                if proof is not None:
                    self.stats.box_proofs += 1
                    return proof, None
        cached = self._proofs.setdefault((position, side), [])
        if cached:
            extras = [(b.row, b.row_id) for b in bounds]
            for known in cached:
                proof = poly.reuse(extras, known)
                if proof is not None:
                    self.stats.reused_proofs += 1
                    return proof, None
        ids = [(b.row_id, b.scale) for b in bounds]
        if hint is not None and inside is not None and len(rows) == 1:
            evidence = decide_with_vertices(hint, poly.rows, rows[0], inside,
                                            lambda w: poly.satisfied_by(rows, w))
            if evidence is not None:
                self.stats.vertex_hints += 1
                if isinstance(evidence, Motzkin):
                    cached.insert(0, poly.proof_ids(evidence, ids))
                    del cached[PROOF_CACHE:]
                return evidence, None
        for row in rows:
            self.lp.push(row)
        answer = self.lp.solve()
        self.stats.lps += 1
        evidence = self._evidence(rows, answer)
        child_basis = self.lp.basis() if isinstance(evidence, Witness) else None
        for _ in rows:
            self.lp.pop()
        self.lp.restore(saved)
        if isinstance(evidence, Motzkin):
            cached.insert(0, poly.proof_ids(evidence, ids))
            del cached[PROOF_CACHE:]
        return evidence, child_basis

    def _evidence(self, rows: list[Row], hint: LPHint) -> Witness | Motzkin:
        """Exact evidence from the LP hint (:func:`tvmip.evidence.exact.from_hint`),
        or, rarely, from an exact solve."""
        system = self._poly.rows + rows
        evidence = from_hint(system, hint, lambda w: self._poly.satisfied_by(rows, w))
        if evidence is None:
            self.stats.exact_fallbacks += 1
            evidence = decide(system)
        return evidence

    def _box_proof(self, row: Row, at: int) -> Motzkin | None:
        """``a . x < c`` (the row at index ``at``) fails on the whole box when ``min over
        the box of a . x >= c``: the row plus ``|a_i|`` times the binding box faces is
        then the proof (box rows sit at indices ``2i`` (lo) and ``2i + 1`` (hi), scaled
        by denominators)."""
        assert self.box is not None
        a, c = row[:-1], row[-1]
        corner = sum(ai * (lo if ai > 0 else hi) for ai, lo, hi in zip(a, self.box.lo, self.box.hi))
        if corner < c:
            return None
        support, weights = [], []
        for i, ai in enumerate(a):
            if ai:
                bound = self.box.lo[i] if ai > 0 else self.box.hi[i]
                support.append(2 * i + (0 if ai > 0 else 1))
                weights.append(Fraction(abs(ai), bound.denominator))
        support.append(at)
        weights.append(Fraction(1))
        scale = math.lcm(*(v.denominator for v in weights))
        proof = Motzkin(tuple(support), tuple(int(v * scale) for v in weights))
        system = self._poly.rows + [row] * (at - len(self._poly) + 1)
        if not motzkin_holds(system, proof):
            raise InternalError("box proof does not verify")
        return proof
