"""The polyhedron of the current search node: a stack of strict integer inequalities.

A row ``(a_1, .., a_n, c)`` means ``a . x < c``.  Each row also carries its id in
the certificate (a pattern position, or ``"lo<i>"`` / ``"hi<i>"`` for a box face)
and its scale: the row's slack ``c - a . x`` equals ``num / den`` times the
true-scale inequality ``g(x) > 0`` that the certificate speaks about.

The stack is mirrored row for row in the LP oracle, so the LP's dual vector
indexes these rows.  Besides exact membership tests it offers the two cheapest
emptiness proofs: an existing row with the opposite normal (parallel and
coincident hyperplanes are everywhere in ternary networks) and the reuse of a
proof found at another node.

A candidate child adds one or two rows (an open piece of its neuron's activation
has a bound below, above, or both): *extras*, which proofs index right after the
stack's rows.
"""

from __future__ import annotations

import math

import numpy as np

from ..model.network import Box
from ..model.scaled import INT64_SAFE
from .exact import Motzkin, Row, Witness, slack
from .lp import MaxSlackLP

RowId = int | str
Proof = tuple[tuple[RowId, ...], tuple[int, ...]]  # row ids and integer multipliers
Scale = tuple[int, int]  # a row's slack is num / den times the certificate's g(x)


def box_rows(box: Box | None) -> list[tuple[Row, RowId, int]]:
    """The faces of the open box as rows ``(row, id, den)``: ``x_i > lo_i`` is
    ``-den x_i < -num`` with id ``"lo<i>"`` (slack = den (x_i - lo_i)), and
    ``x_i < hi_i`` likewise with ``"hi<i>"``; none for all of R^n0."""
    if box is None:
        return []
    dim = len(box.lo)
    rows: list[tuple[Row, RowId, int]] = []
    for i, (lo, hi) in enumerate(zip(box.lo, box.hi)):
        for sign, bound, name in ((-1, lo, "lo"), (1, hi, "hi")):
            gradient = [0] * dim
            gradient[i] = sign * bound.denominator
            rows.append(((*gradient, sign * bound.numerator), f"{name}{i}", bound.denominator))
    return rows


class Polyhedron:
    """Strict inequalities pushed and popped in depth-first order, mirrored in ``lp``."""

    def __init__(self, dim: int, capacity: int, lp: MaxSlackLP) -> None:
        self.dim = dim
        self.lp = lp
        self.rows: list[Row] = []
        self.ids: list[RowId] = []
        self.scales: list[tuple[int, int]] = []
        self._directions: list[tuple[int, ...]] = []
        self._gcds: list[int] = []
        self._by_direction: dict[tuple[int, ...], list[int]] = {}
        self._index_of: dict[RowId, int] = {}
        self._matrix = np.zeros((capacity, dim + 1), dtype=np.int64)
        self._bound = 0
        lp.reset()

    def __len__(self) -> int:
        return len(self.rows)

    def push(self, row: Row, row_id: RowId, scale: tuple[int, int]) -> None:
        index = len(self.rows)
        self.rows.append(row)
        self.ids.append(row_id)
        self.scales.append(scale)
        self._index_of[row_id] = index
        g = math.gcd(*row[:-1])
        direction = tuple(v // g for v in row[:-1])
        self._directions.append(direction)
        self._gcds.append(g)
        self._by_direction.setdefault(direction, []).append(index)
        big = max(abs(v) for v in row)
        if big >= INT64_SAFE and self._matrix.dtype != object:
            self._matrix = self._matrix.astype(object)
        self._matrix[index] = row
        self._bound = max(self._bound, big)
        self.lp.push(row)

    def pop(self) -> None:
        self.rows.pop()
        self.scales.pop()
        self._gcds.pop()
        del self._index_of[self.ids.pop()]
        direction = self._directions.pop()
        entries = self._by_direction[direction]
        entries.pop()
        if not entries:
            del self._by_direction[direction]
        self.lp.pop()

    def satisfied_by(self, extras: list[Row], w: Witness) -> bool:
        """Whether ``w`` satisfies every row and the ``extras`` strictly (exact)."""
        if any(slack(extra, w) <= 0 for extra in extras):
            return False
        count = len(self.rows)
        if not count:
            return True
        bound_w = max(max(abs(v) for v in w.p), w.q)
        if self._matrix.dtype != object and self._bound * bound_w * (self.dim + 1) < INT64_SAFE:
            m = self._matrix[:count]
            return bool(np.all(m[:, :-1] @ np.array(w.p, dtype=np.int64) < m[:, -1] * w.q))
        return all(slack(row, w) > 0 for row in self.rows)

    def opposite(self, row: Row, at: int) -> Motzkin | None:
        """A two-row proof that ``row`` (an extra, at index ``at``) contradicts the
        stack: a row with the opposite normal ``-a`` whose right-hand side leaves no
        room (``c/|a| + c'/|a'| <= 0``)."""
        g = math.gcd(*row[:-1])
        entries = self._by_direction.get(tuple(-v // g for v in row[:-1]))
        for index in entries or ():
            g_old = self._gcds[index]
            if row[-1] * g_old + self.rows[index][-1] * g <= 0:
                k = math.gcd(g, g_old)
                return Motzkin((index, at), (g // k, g_old // k))
        return None

    def reuse(self, extras: list[tuple[Row, RowId]], proof: Proof) -> Motzkin | None:
        """``proof`` (found at another node) if all its rows are here (the stack's or
        the extras, at indices ``len(self) + i``) and it still holds."""
        ids, y = proof
        total = [0] * (self.dim + 1)
        support = []
        for rid, yi in zip(ids, y):
            at = next((i for i, (_, extra_id) in enumerate(extras) if extra_id == rid), -1)
            if at >= 0:
                source, index = extras[at][0], len(self.rows) + at
            else:
                index = self._index_of.get(rid, -1)
                if index < 0:
                    return None
                source = self.rows[index]
            support.append(index)
            total = [t + yi * v for t, v in zip(total, source)]
        if any(total[:-1]) or total[-1] > 0:
            return None
        return Motzkin(tuple(support), y)

    def _id_and_scale(self, index: int,
                      extras: list[tuple[RowId, Scale]]) -> tuple[RowId, Scale]:
        if index >= len(self.rows):
            return extras[index - len(self.rows)]
        return self.ids[index], self.scales[index]

    def proof_ids(self, cert: Motzkin, extras: list[tuple[RowId, Scale]]) -> Proof:
        """``cert`` with row indices replaced by ids."""
        return tuple(self._id_and_scale(i, extras)[0] for i in cert.support), cert.y

    def multipliers(self, cert: Motzkin,
                    extras: list[tuple[RowId, Scale]]) -> tuple[tuple[RowId, int], ...]:
        """The certificate's multipliers: rescaled from the integer rows to the
        true-scale inequalities, as coprime integers, sorted by row id.  ``extras``
        give the ids and scales of the rows at ``len(self)`` on."""
        fractions = []
        for index, y in zip(cert.support, cert.y):
            rid, (num, den) = self._id_and_scale(index, extras)
            num *= y
            g = math.gcd(num, den)
            fractions.append((rid, num // g, den // g))
        common = math.lcm(*(den for _, _, den in fractions))
        ints = [(rid, num * (common // den)) for rid, num, den in fractions]
        g = math.gcd(*(v for _, v in ints))
        return tuple(sorted(((rid, v // g) for rid, v in ints), key=row_order))


def row_order(item: tuple[RowId, int]) -> tuple[int, int, int | str]:
    """Neuron rows by position (``p`` or ``"p:j"``), then box faces by name."""
    rid = item[0]
    if isinstance(rid, int):
        return 0, rid, 0
    position, colon, j = rid.partition(":")
    return (0, int(position), int(j)) if colon else (1, 0, rid)
