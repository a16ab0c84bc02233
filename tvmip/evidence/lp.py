"""The floating-point LP oracle: HiGHS through ``highspy``, used only for hints.

For a system of strict inequalities ``a_i . x < c_i`` the oracle solves the
max-slack LP

    maximise t  subject to  a_i . x + t <= c_i  (rows scaled to unit 2-norm),  t <= 1,

whose optimum ``t*`` is positive exactly when the system has a solution.  Nothing
the oracle returns is trusted: ``x*`` is a point to round and the support of the
optimal row duals says which rows to use for an exact Motzkin certificate
(:mod:`tvmip.evidence.exact` turns both into verified evidence).

One :class:`MaxSlackLP` lives per process and follows the depth-first search:
rows are pushed and popped in stack order and the caller restores a saved basis
after a pop, which keeps every solve warm.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass

import highspy
import numpy as np

_INF = highspy.kHighsInf


def float_row(row: Sequence[int]) -> list[float]:
    """The row scaled by its largest entry, in floats (a hint: no overflow, however
    large the integers; entries too small relative to the largest become 0)."""
    size = max(abs(v) for v in row) or 1
    return [v / size for v in row]


@dataclass(frozen=True, slots=True)
class LPHint:
    """Untrusted solver output: slack ``t``, point ``x`` and row duals (floats)."""

    t: float
    x: np.ndarray
    duals: np.ndarray
    optimal: bool


def silent_highs() -> highspy.Highs:
    """A ``Highs`` object whose start-up banner does not reach our stdout."""
    stdout = os.dup(1)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
            highs = highspy.Highs()
    finally:
        os.dup2(stdout, 1)
        os.close(stdout)
    for option, value in (
        ("output_flag", False),
        ("log_to_console", False),
        ("presolve", "off"),
        ("threads", 1),
    ):
        highs.setOptionValue(option, value)
    return highs


class MaxSlackLP:
    """A stack of scaled rows over the columns ``(x_1..x_n, t)`` of the max-slack LP."""

    def __init__(self, dim: int) -> None:
        self.dim = dim
        self._highs = silent_highs()
        self._index = np.arange(dim + 1, dtype=np.int32)
        self.solves = 0
        self.reset()

    def reset(self) -> None:
        """Forget all rows and solver state: the next solve starts cold."""
        h = self._highs
        h.clearModel()
        lower = np.full(self.dim + 1, -_INF)
        upper = np.full(self.dim + 1, _INF)
        upper[-1] = 1.0
        h.addVars(self.dim + 1, lower, upper)
        h.changeColsCost(1, np.array([self.dim], dtype=np.int32), np.array([1.0]))
        h.changeObjectiveSense(highspy.ObjSense.kMaximize)
        self.rows = 0

    def push(self, row: tuple[int, ...]) -> None:
        """Add ``a . x + t <= c`` for the row ``(a, c)`` scaled to unit 2-norm.  A row
        whose gradient vanishes in floating point (entries beyond the float range)
        is added as an empty row: the LP then ignores it and exact checks catch it."""
        *a, c = float_row(row)
        norm = math.hypot(*a)
        if norm > 0:
            values = np.array([*(v / norm for v in a), 1.0])
            upper = c / norm
        else:
            values, upper = np.zeros(self.dim + 1), _INF
        self._highs.addRow(-_INF, upper, self.dim + 1, self._index, values)
        self.rows += 1

    def pop(self) -> None:
        """Remove the most recently pushed row (restore a saved basis afterwards)."""
        self.rows -= 1
        self._highs.deleteRows(1, np.array([self.rows], dtype=np.int32))

    def basis(self) -> highspy.HighsBasis:
        return self._highs.getBasis()

    def restore(self, basis: highspy.HighsBasis) -> None:
        self._highs.setBasis(basis)

    def solve(self) -> LPHint:
        """Solve the max-slack LP on the current rows and return the hint."""
        h = self._highs
        h.run()
        self.solves += 1
        status = h.getModelStatus()
        solution = h.getSolution()
        optimal = status == highspy.HighsModelStatus.kOptimal
        x = np.asarray(solution.col_value, dtype=float)
        duals = np.abs(np.asarray(solution.row_dual, dtype=float))
        t = float(x[-1]) if optimal else math.nan
        return LPHint(t, x[:-1], duals, optimal)
