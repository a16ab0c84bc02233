"""Motzkin multipliers: reading them and checking the combination they claim.

An inequality is given as integers over a positive denominator,
``g(x) = (row . (x, 1)) / den``.  Multipliers ``y >= 0`` (not all zero) on strict
inequalities ``g_i(x) > 0`` prove that no point satisfies them all when
``sum y_i g_i`` is a constant function that is ``<= 0``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from fractions import Fraction
from typing import Any

from .errors import FormatError, Rejected
from .model import Box
from .rationals import parse_rational

Inequality = tuple[tuple[int, ...], int]  # integer row over its positive denominator
RowId = int | str


def read_multipliers(value: Any, where: str,
                     inequality: Callable[[RowId, str], Inequality]) -> list[tuple[Inequality, Fraction | int]]:
    """Parse ``[[row id, multiplier], ...]``: distinct ids, multipliers >= 0, not all 0.
    ``inequality(row_id, place)`` resolves an id (and rejects unknown ones)."""
    if not isinstance(value, list) or not value:
        raise FormatError(f"{where}.y", "expected a non-empty list of [row, multiplier]")
    seen = set()
    terms = []
    for i, item in enumerate(value):
        at = f"{where}.y[{i}]"
        if not isinstance(item, list) or len(item) != 2:
            raise FormatError(at, "expected [row, multiplier]")
        row_id, raw = item
        if isinstance(row_id, bool) or not isinstance(row_id, (int, str)):
            raise FormatError(f"{at}[0]", "a row is a pattern position or 'lo<i>'/'hi<i>'")
        if row_id in seen:
            raise Rejected(f"{at}: row {row_id!r} listed twice")
        seen.add(row_id)
        y = raw if type(raw) is int else parse_rational(raw, f"{at}[1]")
        if y < 0:
            raise Rejected(f"{at}: negative multiplier {y}")
        terms.append((inequality(row_id, at), y))
    if all(y == 0 for _, y in terms):
        raise Rejected(f"{where}: all multipliers are zero")
    return terms


def combination(terms: list[tuple[Inequality, Fraction | int]], dim: int) -> list[int]:
    """``sum y_i g_i`` as integer coefficients (gradient, then constant) over a
    positive common denominator: signs and zeros are exactly those of the sum."""
    denominator = math.lcm(*(den * _den(y) for (_, den), y in terms))
    total = [0] * (dim + 1)
    for (row, den), y in terms:
        factor = _num(y) * (denominator // (den * _den(y)))
        total = [t + factor * v for t, v in zip(total, row)]
    return total


def _num(y: Fraction | int) -> int:
    return y if type(y) is int else y.numerator  # type: ignore[union-attr]


def _den(y: Fraction | int) -> int:
    return 1 if type(y) is int else y.denominator  # type: ignore[union-attr]


def is_contradiction(total: list[int]) -> bool:
    """A combination proves emptiness when it is a constant function <= 0."""
    return not any(total[:-1]) and total[-1] <= 0


def box_inequality(box: Box | None, row_id: str, dim: int) -> Inequality | None:
    """The box face ``"lo<i>"`` (``x_i - lo_i > 0``) or ``"hi<i>"`` (``hi_i - x_i > 0``)."""
    name, digits = row_id[:2], row_id[2:]
    if box is None or name not in ("lo", "hi") or not digits.isdigit() \
            or digits != str(int(digits)) or int(digits) >= dim:
        return None
    i = int(digits)
    bound = (box.lo if name == "lo" else box.hi)[i]
    sign = 1 if name == "lo" else -1
    gradient = [0] * dim
    gradient[i] = sign * bound.denominator
    return (*gradient, -sign * bound.numerator), bound.denominator
