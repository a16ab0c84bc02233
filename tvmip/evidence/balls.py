"""How large a region is: a certified inscribed ball, and proofs that it is thin.

A region is given by strict rows ``a . x < c`` (primitive integers).  The max-slack
LP on rows scaled to unit norm is the Chebyshev-centre LP: its optimum is a point
and the radius of the largest ball around it (capped at 1 by the LP).  Nothing
of it is trusted: the centre is rounded to a rational point, which must satisfy
every row strictly, and the squared radius is recomputed exactly as the least
``(c - a . x)^2 / |a|^2``.  That ball lies in the region: a lower bound on its
inradius (:mod:`tvmip.checker.audit` re-checks it).

The other way, no ball of radius ``> rho`` fits when no point satisfies the
shrunk rows ``a . x < c - rho l(a)`` with ``l(a) <= |a|``
(:func:`tvmip.checker.audit.norm_lower`); Motzkin multipliers for the shrunk
system prove it, found as every other proof of emptiness is
(:func:`tvmip.evidence.exact.solve_system`).  That the region keeps away from the
origin, where a float format is finer, is proved the same way: the region's rows
with the faces of a cube around the origin have no common point.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

from ..checker.audit import norm_lower
from .exact import Motzkin, Row, Witness, round_point, satisfies, slack, solve_system
from .lp import MaxSlackLP

RowId = int | str


@dataclass(frozen=True, slots=True)
class Ball:
    """The open ball of squared radius ``r2`` around ``centre`` lies in the region
    (``r2`` None: the region is all of R^n0, no row has a gradient)."""

    centre: tuple[Fraction, ...]
    r2: Fraction | None

    @property
    def radius(self) -> float:
        """The radius for display (``inf`` for the whole space)."""
        return math.inf if self.r2 is None else math.sqrt(self.r2)


def squared_radius(rows: Sequence[Row], point: Witness) -> Fraction | None:
    """The exact squared distance from ``point`` (inside every row) to the nearest
    row's hyperplane; None when no row has a gradient."""
    best = None
    for row in rows:
        norm2 = sum(a * a for a in row[:-1])
        if norm2:
            value = Fraction(slack(row, point) ** 2, point.q ** 2 * norm2)
            best = value if best is None or value < best else best
    return best


def inscribed_ball(rows: Sequence[Row], witness: Witness, lp: MaxSlackLP) -> Ball:
    """A large ball in the region of ``rows``: around the rounded Chebyshev centre if
    that point is inside, else around ``witness`` (a known interior point)."""
    candidates = [witness]
    if rows:
        lp.reset()
        for row in rows:
            lp.push(row)
        hint = lp.solve()
        if hint.optimal and hint.t > 0:
            candidates += [w for w in round_point(hint.x, hint.t) if satisfies(rows, w)]
    scored = [(squared_radius(rows, w), w) for w in candidates]
    r2, best = max(scored, key=lambda s: (math.inf if s[0] is None else s[0]))
    return Ball(best.coordinates(), r2)


Proof = list[tuple[RowId, int]]
"""Motzkin multipliers by row id, in the checker's sign convention and scale."""


def thin_proof(rows: Sequence[tuple[RowId, Row]], rho: Fraction, lp: MaxSlackLP) -> Proof | None:
    """Multipliers proving that no ball of radius ``> rho`` fits in the region of
    ``rows`` (see the module doc), in the checker's convention (each shrunk row
    ``c - a . x - rho l(a) > 0`` taken as is); None if the shrunk system has a point."""
    system = []
    for row_id, (*a, c) in rows:
        cut = rho * norm_lower(tuple(a))
        system.append((row_id, (*(cut.denominator * v for v in a),
                                cut.denominator * c - cut.numerator), cut.denominator))
    return _motzkin(system, lp)


def far_proof(rows: Sequence[tuple[RowId, Row]], bound: Fraction, lp: MaxSlackLP) -> Proof | None:
    """Multipliers proving that the region of ``rows`` does not meet the open cube
    ``(-bound, bound)^n``, whose faces are ``"near:lo<i>"`` (``x_i + bound > 0``) and
    ``"near:hi<i>"`` (``bound - x_i > 0``); None if it does."""
    dim = len(rows[0][1]) - 1
    faces = []
    for i in range(dim):
        for side, sign in (("lo", -1), ("hi", 1)):
            a = [0] * dim
            a[i] = sign * bound.denominator
            faces.append((f"near:{side}{i}", (*a, bound.numerator), bound.denominator))
    return _motzkin([(row_id, row, 1) for row_id, row in rows] + faces, lp)


def _motzkin(system: Sequence[tuple[RowId, Row, int]], lp: MaxSlackLP) -> Proof | None:
    """Motzkin multipliers for rows ``a . x < c``, each one the checker's inequality
    times its ``scale``; None if the system has a point."""
    evidence = solve_system([row for _, row, _ in system], lp)
    if not isinstance(evidence, Motzkin):
        return None
    return [(system[i][0], y * system[i][2]) for i, y in zip(evidence.support, evidence.y) if y]
