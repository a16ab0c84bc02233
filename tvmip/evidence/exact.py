"""Turning solver hints into exact evidence, and deciding exactly when hints fail.

A system is a list of integer rows ``(a_1, .., a_n, c)`` meaning ``a . x < c``.
Its evidence is one of

* a :class:`Witness` ``x = p / q`` with ``a . p < c q`` for every row, or
* :class:`Motzkin` multipliers ``y >= 0``, ``y != 0`` with ``sum y_i a_i = 0`` and
  ``sum y_i c_i <= 0`` (Motzkin's transposition theorem: exactly then the strict
  system has no solution).

Hints from the float LP are rounded or re-solved on their support with exact
integer linear algebra (python-flint); when that fails, :func:`decide` runs an
exact simplex method over the rationals, so every call ends with verified
evidence and nothing is ever accepted on a tolerance.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING

import flint
import numpy as np

from ..checker.limits import MAX_EVIDENCE_BITS
from ..errors import InternalError, ResourceLimit
from ..model.scaled import INT64_SAFE

if TYPE_CHECKING:
    from .lp import LPHint, MaxSlackLP

Row = tuple[int, ...]


def check_size(values: Sequence[int], what: str) -> None:
    """Raise :class:`ResourceLimit` when an integer of ``values`` passes
    :data:`MAX_EVIDENCE_BITS`."""
    if any(abs(v).bit_length() > MAX_EVIDENCE_BITS for v in values):
        raise ResourceLimit(f"rational blow-up: {what} needs integers beyond "
                            f"{MAX_EVIDENCE_BITS} bits")


@dataclass(frozen=True, slots=True)
class Witness:
    """The rational point ``p / q`` (``q > 0``)."""

    p: tuple[int, ...]
    q: int

    def coordinates(self) -> tuple[Fraction, ...]:
        return tuple(Fraction(v, self.q) for v in self.p)


@dataclass(frozen=True, slots=True)
class Motzkin:
    """Integer multipliers ``y`` on the rows ``support`` (indices into the system)."""

    support: tuple[int, ...]
    y: tuple[int, ...]


def slack(row: Row, w: Witness) -> int:
    """``q (c - a . x)`` for ``x = p / q``: positive iff ``x`` satisfies the row strictly."""
    return row[-1] * w.q - sum(a * p for a, p in zip(row, w.p))


def satisfies(rows: Sequence[Row], w: Witness) -> bool:
    """Whether ``w`` satisfies every row strictly (vectorised when int64 is safe)."""
    if not rows:
        return True
    bound_p = max(max(abs(v) for v in w.p), w.q)
    matrix = np.array(rows, dtype=object)
    bound_rows = int(np.max(np.abs(matrix)))
    if bound_rows * bound_p * (len(w.p) + 1) < INT64_SAFE:
        m = matrix.astype(np.int64)
        point = np.array(w.p, dtype=np.int64)
        return bool(np.all(m[:, :-1] @ point < m[:, -1] * w.q))
    return all(slack(row, w) > 0 for row in rows)


def motzkin_holds(rows: Sequence[Row], cert: Motzkin) -> bool:
    """Exact check of ``y >= 0, y != 0, y^T A = 0, y^T c <= 0`` on the support."""
    if not cert.y or any(v < 0 for v in cert.y) or not any(cert.y):
        return False
    n = len(rows[0]) - 1
    total = [0] * (n + 1)
    for i, yi in zip(cert.support, cert.y):
        for k, v in enumerate(rows[i]):
            total[k] += yi * v
    return not any(total[:n]) and total[n] <= 0


def round_point(x: np.ndarray, slack: float) -> list[Witness]:
    """Candidate rational points near the float ``x``: a dyadic grid fine enough for
    the LP's slack (rows have unit norm), then the exact value of the floats."""
    candidates = []
    if slack > 0 and math.isfinite(slack) and np.all(np.isfinite(x)):
        bits = max(0, math.ceil(math.log2(2 * math.sqrt(len(x)) / slack)) + 1)
        if bits <= 60:
            q = 1 << bits
            candidates.append(Witness(tuple(round(v * q) for v in x), q))
    if np.all(np.isfinite(x)):
        fracs = [Fraction(float(v)) for v in x]
        q = math.lcm(*(f.denominator for f in fracs))
        candidates.append(Witness(tuple(int(f * q) for f in fracs), q))
    return candidates


def from_hint(rows: Sequence[Row], hint: LPHint, contains: Callable[[Witness], bool]) -> Witness | Motzkin | None:
    """Exact evidence from an LP hint: a rounded point that ``contains`` accepts, or
    Motzkin multipliers solved exactly on the support of the duals; None if both fail."""
    if hint.optimal and hint.t > 0:
        for w in round_point(hint.x, hint.t):
            if contains(w):
                return w
    if hint.optimal and hint.duals.size:
        top = float(np.max(hint.duals))
        if top > 0:
            return motzkin_on_support(rows, [i for i, v in enumerate(hint.duals) if v > 1e-9 * top])
    return None


def solve_system(rows: Sequence[Row], lp: MaxSlackLP) -> Witness | Motzkin:
    """Decide ``a . x < c`` (all rows) exactly: the LP's hint first, exactly checked,
    then :func:`decide`.  Rows may have a zero gradient (then they are constants)."""
    n = len(rows[0]) - 1 if rows else lp.dim
    for i, row in enumerate(rows):
        if not any(row[:-1]) and row[-1] <= 0:
            return Motzkin((i,), (1,))
    live = [i for i, row in enumerate(rows) if any(row[:-1])]
    if not live:
        return Witness((0,) * n, 1)
    system = [rows[i] for i in live]
    lp.reset()
    for row in system:
        lp.push(row)
    evidence = from_hint(system, lp.solve(), lambda w: satisfies(system, w)) or decide(system)
    if isinstance(evidence, Motzkin):
        return Motzkin(tuple(live[i] for i in evidence.support), evidence.y)
    return evidence


def motzkin_on_support(rows: Sequence[Row], support: Sequence[int]) -> Motzkin | None:
    """Exact multipliers using only ``support`` (a hint), or None if there are none."""
    if not support:
        return None
    n = len(rows[0]) - 1
    sub = [rows[i] for i in support]
    transposed = flint.fmpz_mat(n, len(sub), [sub[j][k] for k in range(n) for j in range(len(sub))])
    basis, nullity = transposed.nullspace()
    if nullity == 1:
        y = [int(basis[j, 0]) for j in range(len(sub))]
        if all(v <= 0 for v in y):
            y = [-v for v in y]
        g = math.gcd(*y)
        cert = Motzkin(tuple(support), tuple(v // g for v in y)) if g else None
        if cert is not None and motzkin_holds(rows, cert):
            return _trim(cert)
        return None
    if nullity == 0:
        return None
    evidence = decide(sub)
    if isinstance(evidence, Motzkin):
        return _trim(Motzkin(tuple(support[i] for i in evidence.support), evidence.y))
    return None


def _trim(cert: Motzkin) -> Motzkin:
    """Drop zero multipliers so the certificate lists only the rows it uses."""
    kept = [(i, v) for i, v in zip(cert.support, cert.y) if v]
    return Motzkin(tuple(i for i, _ in kept), tuple(v for _, v in kept))


def decide(rows: Sequence[Row]) -> Witness | Motzkin:
    """Decide ``A x < c`` exactly with the simplex method on the dual of the max-slack LP.

    The dual is ``min c.y + s`` over ``y, s >= 0`` with ``A^T y = 0`` and
    ``sum y + s = 1``; its optimum equals ``t*`` = max t s.t. ``A x + t <= c``, t <= 1.
    If ``t* <= 0`` the optimal ``y`` is a Motzkin certificate (``y = 0`` would make the
    value 1); otherwise the simplex multipliers are a point with slack ``t* > 0``.
    Bland's rule guarantees termination; both outcomes are re-checked exactly.
    """
    m, n = len(rows), len(rows[0]) - 1
    # Columns: y_0..y_{m-1}, s, then one artificial per constraint row.
    width = m + 1 + (n + 1)
    tab = [[Fraction(0)] * (width + 1) for _ in range(n + 1)]
    for i, row in enumerate(rows):
        for k in range(n):
            tab[k][i] = Fraction(row[k])
        tab[n][i] = Fraction(1)
    tab[n][m] = Fraction(1)
    tab[n][width] = Fraction(1)
    for k in range(n + 1):
        tab[k][m + 1 + k] = Fraction(1)
    basis = [m + 1 + k for k in range(n + 1)]
    artificial = set(basis)
    phase1 = [Fraction(0)] * (m + 1) + [Fraction(1)] * (n + 1)
    _simplex(tab, basis, phase1, width, forbidden=set())
    # Drive zero-level artificials out of the basis; drop rows where none can leave.
    for r in range(len(tab) - 1, -1, -1):
        if basis[r] in artificial:
            col = next((j for j in range(m + 1) if tab[r][j] != 0), None)
            if col is None:
                del tab[r], basis[r]
            else:
                _pivot(tab, r, col)
                basis[r] = col
    costs = [Fraction(rows[i][n]) for i in range(m)] + [Fraction(1)] + [Fraction(0)] * (n + 1)
    _simplex(tab, basis, costs, width, forbidden=artificial)
    value = sum(costs[b] * tab[r][width] for r, b in enumerate(basis))
    if value <= 0:
        y = [Fraction(0)] * m
        for r, b in enumerate(basis):
            if b < m:
                y[b] = tab[r][width]
        scale = math.lcm(*(v.denominator for v in y))
        cert = _trim(Motzkin(tuple(range(m)), tuple(int(v * scale) for v in y)))
        if not motzkin_holds(rows, cert):
            raise InternalError("exact simplex produced multipliers that do not verify")
        return cert
    # Simplex multipliers pi solve pi . column_b = cost_b over the basic columns.
    system = [[Fraction(rows[b][k]) if b < m else Fraction(0) for k in range(n)] + [Fraction(1)]
              for b in basis if b <= m]
    rhs = [costs[b] for b in basis if b <= m]
    pi = _solve_least(system, rhs, n + 1)
    q = math.lcm(*(v.denominator for v in pi[:n]))
    witness = Witness(tuple(int(v * q) for v in pi[:n]), q)
    if not satisfies(rows, witness):
        raise InternalError("exact simplex produced a point that does not verify")
    return witness


def _pivot(tab: list[list[Fraction]], r: int, col: int) -> None:
    pivot_row = tab[r]
    inv = 1 / pivot_row[col]
    check_size([inv.numerator, inv.denominator], "the exact simplex method")
    tab[r] = pivot_row = [v * inv for v in pivot_row]
    for k, other in enumerate(tab):
        if k != r and other[col] != 0:
            f = other[col]
            tab[k] = [a - f * b for a, b in zip(other, pivot_row)]


def _simplex(tab: list[list[Fraction]], basis: list[int], costs: list[Fraction],
             width: int, forbidden: set[int]) -> None:
    """Minimise ``costs`` from a feasible basis, Bland's rule (lowest index enters/leaves)."""
    while True:
        reduced = None
        for j in range(width):
            if j in forbidden or j in basis:
                continue
            rc = costs[j] - sum(costs[b] * tab[r][j] for r, b in enumerate(basis))
            if rc < 0:
                reduced = j
                break
        if reduced is None:
            return
        best = None
        for r, row in enumerate(tab):
            if row[reduced] > 0:
                ratio = row[width] / row[reduced]
                if best is None or ratio < best[0] or ratio == best[0] and basis[r] < basis[best[1]]:
                    best = (ratio, r)
        if best is None:
            raise InternalError("exact simplex: dual of the max-slack LP is unbounded")
        _pivot(tab, best[1], reduced)
        basis[best[1]] = reduced


def _solve_least(system: list[list[Fraction]], rhs: list[Fraction], size: int) -> list[Fraction]:
    """Solve the (consistent, possibly underdetermined) square-or-short system
    exactly; free unknowns are set to zero."""
    entries = [flint.fmpq(v.numerator, v.denominator)
               for row, b in zip(system, rhs) for v in (*row, b)]
    mat = flint.fmpq_mat(len(system), size + 1, entries)
    reduced, rank = mat.rref()
    solution = [Fraction(0)] * size
    for r in range(rank):
        lead = next(j for j in range(size + 1) if reduced[r, j] != 0)
        if lead == size:
            raise InternalError("exact simplex: inconsistent multiplier system")
        value = reduced[r, size]
        solution[lead] = Fraction(int(value.p), int(value.q))
    return solution
