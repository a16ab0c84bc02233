"""Depth-first enumeration of activation regions, each claim with exact evidence.

The search tree branches on the ReLU neurons in a fixed order (layer by layer,
then by index).  At a node, the pre-activation of the next neuron is an exact
affine function ``pre(x)`` on the node's region (:mod:`tvmip.affine`):

* ``pre == 0`` identically: one child, state ``0``;
* ``pre`` constant: one child, its sign;
* otherwise children ``+`` (pre > 0) and ``-`` (pre < 0), in that order.  The side
  holding the node's witness point is non-empty for free; the other side is
  decided by a cheap exact proof when one exists (a parallel opposite row, the
  box), else by the LP oracle, whose hint is made exact (:mod:`tvmip.exact`).

Records are emitted in depth-first order, which is the lexicographic order of
their pattern strings ('+' < '-'): a :class:`Region` per leaf with its witness,
an :class:`EmptyBranch` per empty side with Motzkin multipliers, and a
:class:`Frontier` for nodes at the cutoff depth whose subtrees are explored
separately (by another call, a worker, or never: then they stay open).

Each call to :meth:`Explorer.explore` starts from a reset LP and replays its
prefix, so the evidence for a subtree depends only on the subtree's root and is
identical whichever process computes it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Callable, Union

import numpy as np

from .affine import INT64_SAFE, ScaledLayer, input_map, layer_output, pre_activations, scale_network
from .errors import InternalError
from .exact import Motzkin, Row, Witness, decide, motzkin_holds, motzkin_on_support, round_point
from .lp import LPHint, MaxSlackLP
from .network import Box, Network

RowId = Union[int, str]


@dataclass(frozen=True, slots=True)
class Region:
    """A non-empty activation region: its pattern and a rational interior point."""

    pattern: str
    witness: tuple[Fraction, ...]


@dataclass(frozen=True, slots=True)
class EmptyBranch:
    """An empty side: ``prefix`` ends with the empty state; ``multipliers`` are
    integers on the branch's strict inequalities (row ids: pattern positions, or
    ``"lo<i>"`` / ``"hi<i>"`` for box faces) whose combination is a constant <= 0."""

    prefix: str
    multipliers: tuple[tuple[RowId, int], ...]


@dataclass(frozen=True, slots=True)
class Frontier:
    """A non-empty node whose subtree is not explored by this call."""

    prefix: str
    witness: Witness


@dataclass(frozen=True, slots=True)
class Open:
    """A node whose subtree was left unexplored (an early stop): a lower bound only."""

    prefix: str


Record = Union[Region, EmptyBranch, Frontier, Open]
Emit = Callable[[Record], None]


class StopSearch(Exception):
    """Raised by a tick callback to end the search early; open nodes are emitted."""


@dataclass
class SearchStats:
    nodes: int = 0
    regions: int = 0
    empty: int = 0
    lps: int = 0
    free_sides: int = 0
    parallel_proofs: int = 0
    box_proofs: int = 0
    exact_fallbacks: int = 0

    def add(self, other: "SearchStats") -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


def root_witness(dim: int, box: Box | None) -> Witness:
    """The origin, or the centre of the box."""
    if box is None:
        return Witness((0,) * dim, 1)
    centre = [(lo + hi) / 2 for lo, hi in zip(box.lo, box.hi)]
    q = math.lcm(*(v.denominator for v in centre))
    return Witness(tuple(int(v * q) for v in centre), q)


def _primitive(values: list[int]) -> tuple[tuple[int, ...], int]:
    g = math.gcd(*values)
    return tuple(v // g for v in values), g


@dataclass
class _Rows:
    """The strict inequalities of the current node, kept in step with the LP."""

    dim: int
    capacity: int
    rows: list[Row] = field(default_factory=list)
    ids: list[RowId] = field(default_factory=list)
    scales: list[Fraction] = field(default_factory=list)
    by_direction: dict[tuple[int, ...], list[tuple[Fraction, int, int]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.matrix = np.zeros((self.capacity, self.dim + 1), dtype=np.int64)
        self.bound = 0

    def push(self, row: Row, row_id: RowId, scale: Fraction) -> None:
        index = len(self.rows)
        self.rows.append(row)
        self.ids.append(row_id)
        self.scales.append(scale)
        big = max(abs(v) for v in row)
        if big >= INT64_SAFE and self.matrix.dtype != object:
            self.matrix = self.matrix.astype(object)
        self.matrix[index] = row
        self.bound = max(self.bound, big)
        direction, g = _primitive(list(row[:-1]))
        self.by_direction.setdefault(direction, []).append((Fraction(row[-1], g), g, index))

    def pop(self) -> None:
        row = self.rows.pop()
        self.ids.pop()
        self.scales.pop()
        direction, _ = _primitive(list(row[:-1]))
        entries = self.by_direction[direction]
        entries.pop()
        if not entries:
            del self.by_direction[direction]

    def satisfied_by(self, extra: Row, w: Witness) -> bool:
        """Whether ``w`` satisfies every row and ``extra`` strictly (exact)."""
        if extra[-1] * w.q - sum(a * p for a, p in zip(extra, w.p)) <= 0:
            return False
        count = len(self.rows)
        if not count:
            return True
        bound_w = max(max(abs(v) for v in w.p), w.q)
        m = self.matrix[:count]
        if self.matrix.dtype != object and self.bound * bound_w * (self.dim + 1) < INT64_SAFE:
            return bool(np.all(m[:, :-1] @ np.array(w.p, dtype=np.int64) < m[:, -1] * w.q))
        return all(r[-1] * w.q - sum(a * p for a, p in zip(r, w.p)) > 0 for r in self.rows)

    def opposite(self, row: Row) -> Motzkin | None:
        """A two-row proof: an existing row with the opposite normal and rhs too small."""
        direction, g = _primitive([-v for v in row[:-1]])
        entries = self.by_direction.get(direction)
        if not entries:
            return None
        rhs = Fraction(row[-1], g)
        best = min(entries)
        if rhs + best[0] <= 0:
            y_old, y_new = g, best[1]
            k = math.gcd(y_old, y_new)
            return Motzkin((best[2], len(self.rows)), (y_old // k, y_new // k))
        return None


class Explorer:
    """Enumerates subtrees of the search tree of one network over one domain."""

    def __init__(self, network: Network, box: Box | None = None) -> None:
        self.network = network
        self.box = box
        self.dim = network.input_dim
        self.layers: tuple[ScaledLayer, ...] = scale_network(network)
        self.relu_count = network.relu_count
        self.lp = MaxSlackLP(self.dim)
        self.stats = SearchStats()
        self._tick: Callable[[], None] | None = None
        self._emit: Emit = lambda record: None
        self._cutoff = -1
        self._pattern: list[str] = []

    # -- set-up -----------------------------------------------------------------

    def _reset(self) -> None:
        self.lp.reset()
        self._rows = _Rows(self.dim, self.relu_count + 2 * self.dim + 1)
        if self.box is not None:
            for i, (lo, hi) in enumerate(zip(self.box.lo, self.box.hi)):
                for sign, bound, name in ((-1, lo, "lo"), (1, hi, "hi")):
                    a = [0] * self.dim
                    a[i] = sign * bound.denominator
                    self._push((*a, sign * bound.numerator), f"{name}{i}", Fraction(bound.denominator))

    def _push(self, row: Row, row_id: RowId, scale: Fraction) -> None:
        self._rows.push(row, row_id, scale)
        self.lp.push(list(row[:-1]), row[-1])

    def _pop(self) -> None:
        self._rows.pop()
        self.lp.pop()

    # -- public -----------------------------------------------------------------

    def explore(
        self,
        prefix: str,
        witness: Witness | None,
        emit: Emit,
        cutoff: int | None = None,
        tick: Callable[[], None] | None = None,
    ) -> None:
        """Emit the records of the subtree at ``prefix`` (a non-empty node with the
        given ``witness``; ``''`` and None for the root) in depth-first order.
        Nodes at depth ``cutoff`` are emitted as :class:`Frontier`.  ``tick`` is
        called after every record and may raise :class:`StopSearch`."""
        self._emit = emit
        self._tick = tick
        self._cutoff = -1 if cutoff is None else cutoff
        self._reset()
        self._pattern = []
        if witness is None:
            witness = root_witness(self.dim, self.box)
        m, d = input_map(self.dim)
        self._enter_layer(0, m, d, witness, prefix)

    # -- the tree ---------------------------------------------------------------

    def _record(self, record: Record) -> None:
        self._emit(record)
        if self._tick is not None:
            self._tick()

    def _enter_layer(self, index: int, m: np.ndarray, d: int, w: Witness, replay: str) -> None:
        if index == len(self.layers):
            self.stats.regions += 1
            self._record(Region("".join(self._pattern), w.coordinates()))
            return
        layer = self.layers[index]
        p, s = pre_activations(layer, m, d)
        if not layer.relu:
            self._enter_layer(index + 1, *layer_output(p, s, None), w, replay)
            return
        self._neuron(index, 0, p, s, w, replay)

    def _neuron(self, index: int, j: int, p: np.ndarray, s: int, w: Witness, replay: str) -> None:
        layer = self.layers[index]
        if j == layer.width:
            states = self._pattern[layer.first :]
            active = np.array([state == "+" for state in states], dtype=np.int64)
            self._enter_layer(index + 1, *layer_output(p, s, active), w, replay)
            return
        position = layer.first + j
        coeffs = p[j].tolist()
        a, c = coeffs[:-1], coeffs[-1]
        if position < len(replay):
            self._replay_step(index, j, p, s, w, replay, a, c)
            return
        if position == self._cutoff:
            self._record(Frontier("".join(self._pattern), w))
            return
        self.stats.nodes += 1
        if not any(a):
            self._pattern.append("0" if c == 0 else "+" if c > 0 else "-")
            self._neuron(index, j + 1, p, s, w, replay)
            self._pattern.pop()
            return
        value = sum(ai * pi for ai, pi in zip(a, w.p)) + c * w.q
        sides = (("+", [-v for v in a] + [c]), ("-", a + [-c]))
        outcomes = []
        saved = None
        for side, raw in sides:
            row, g = _primitive(raw)
            if (value > 0) == (side == "+") and value != 0:
                self.stats.free_sides += 1
                outcomes.append((side, row, g, w, None))
                continue
            if saved is None:
                saved = self.lp.basis()
            outcomes.append((side, row, g, *self._decide(row, saved)))
        prefix = "".join(self._pattern)
        try:
            for k, (side, row, g, evidence, child_basis) in enumerate(outcomes):
                if isinstance(evidence, Motzkin):
                    self.stats.empty += 1
                    self._record(EmptyBranch(prefix + side, self._multipliers(evidence, position, s, g)))
                    continue
                self._push(row, position, Fraction(s, g))
                if child_basis is not None:
                    self.lp.restore(child_basis)
                self._pattern.append(side)
                try:
                    self._neuron(index, j + 1, p, s, evidence, replay)
                finally:
                    self._pattern.pop()
                    self._pop()
                    if child_basis is not None:
                        self.lp.restore(saved)
        except StopSearch:
            for side, _, _, evidence, _ in outcomes[k + 1 :]:
                if not isinstance(evidence, Motzkin):
                    self._emit(Open(prefix + side))
            raise

    def _replay_step(self, index: int, j: int, p: np.ndarray, s: int, w: Witness,
                     replay: str, a: list[int], c: int) -> None:
        """Follow the given prefix down to the subtree root, pushing its rows."""
        position = self.layers[index].first + j
        state = replay[position]
        forced = None if any(a) else "0" if c == 0 else "+" if c > 0 else "-"
        if state != forced and (forced is not None or state not in "+-"):
            raise InternalError(f"prefix state {state!r} at position {position} is impossible")
        self._pattern.append(state)
        if forced is None:
            raw = [-v for v in a] + [c] if state == "+" else a + [-c]
            row, g = _primitive(raw)
            self._push(row, position, Fraction(s, g))
        self._neuron(index, j + 1, p, s, w, replay)

    # -- deciding one side ------------------------------------------------------

    def _decide(self, row: Row, saved: object) -> tuple[Witness | Motzkin, object]:
        """Evidence for the side ``row`` of the current node: a witness (with the LP
        basis to enter it with) or Motzkin multipliers on ``rows + [row]``."""
        rows = self._rows
        proof = rows.opposite(row)
        if proof is not None:
            self.stats.parallel_proofs += 1
            return proof, None
        if self.box is not None:
            proof = self._box_proof(row)
            if proof is not None:
                self.stats.box_proofs += 1
                return proof, None
        self.lp.push(list(row[:-1]), row[-1])
        hint = self.lp.solve()
        self.stats.lps += 1
        evidence = self._evidence(row, hint)
        child_basis = self.lp.basis() if isinstance(evidence, Witness) else None
        self.lp.pop()
        self.lp.restore(saved)
        return evidence, child_basis

    def _evidence(self, row: Row, hint: LPHint) -> Witness | Motzkin:
        rows = self._rows
        if hint.optimal and hint.t > 0:
            for w in round_point(hint.x, hint.t):
                if rows.satisfied_by(row, w):
                    return w
        system = rows.rows + [row]
        if hint.optimal:
            scale = float(np.max(hint.duals)) if hint.duals.size else 0.0
            support = [i for i, v in enumerate(hint.duals) if v > 1e-9 * scale]
            cert = motzkin_on_support(system, support) if scale > 0 else None
            if cert is not None:
                return cert
        self.stats.exact_fallbacks += 1
        return decide(system)

    def _box_proof(self, row: Row) -> Motzkin | None:
        """``a . x < c`` fails on the whole box when ``min over the box of a . x >= c``:
        then the new row plus ``|a_i|`` times the binding box faces is the proof."""
        assert self.box is not None
        a, c = row[:-1], row[-1]
        corner = sum(ai * (lo if ai > 0 else hi) for ai, lo, hi in zip(a, self.box.lo, self.box.hi))
        if corner < c:
            return None
        # Box rows sit at indices 2i (lo_i) and 2i+1 (hi_i), scaled by the denominators.
        support, weights = [], []
        for i, ai in enumerate(a):
            if ai:
                bound = self.box.lo[i] if ai > 0 else self.box.hi[i]
                support.append(2 * i + (0 if ai > 0 else 1))
                weights.append(Fraction(abs(ai), bound.denominator))
        support.append(len(self._rows.rows))
        weights.append(Fraction(1))
        scale = math.lcm(*(v.denominator for v in weights))
        cert = Motzkin(tuple(support), tuple(int(v * scale) for v in weights))
        if not motzkin_holds(self._rows.rows + [row], cert):
            raise InternalError("box proof does not verify")
        return cert

    def _multipliers(self, cert: Motzkin, position: int, s: int, g: int) -> tuple[tuple[RowId, int], ...]:
        """Rescale multipliers from the integer rows to the true-scale inequalities
        ``g_i(x) > 0`` of the certificate format, as coprime integers."""
        rows = self._rows
        values = []
        for index, y in zip(cert.support, cert.y):
            if index == len(rows.rows):
                values.append((position, y * Fraction(s, g)))
            else:
                values.append((rows.ids[index], y * rows.scales[index]))
        denominator = math.lcm(*(v.denominator for _, v in values))
        ints = [(rid, int(v * denominator)) for rid, v in values]
        common = math.gcd(*(v for _, v in ints))
        return tuple(sorted(((rid, v // common) for rid, v in ints), key=_row_order))


def _row_order(item: tuple[RowId, int]) -> tuple[int, int | str]:
    rid = item[0]
    return (0, rid) if isinstance(rid, int) else (1, rid)
