"""Motzkin multipliers: reading them and checking the combination they claim.

An inequality is given as integers over a positive denominator,
``g(x) = (row . (x, 1)) / den``.  Multipliers ``y >= 0`` (not all zero) on strict
inequalities ``g_i(x) > 0`` prove that no point satisfies them all when
``sum y_i g_i`` is a constant function that is ``<= 0``: at a point satisfying
them all the sum would be positive.

A proof lists at most ``n0 + 1`` rows (more are never needed: the optimal dual of
the max-slack LP ``max t s.t. g_i(x) >= t`` is a basic solution with at most as
many non-zeros as the LP has variables), which bounds the work per record.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from fractions import Fraction
from typing import Any

from .errors import FormatError, Rejected
from .limits import MAX_MAP_BITS, MAX_NUMBER_BITS, Budget, shown
from .model import Box
from .rationals import parse_rational

Inequality = tuple[tuple[int, ...], int]  # integer row over its positive denominator
RowId = int | str
_BOX_FACE = re.compile(r"(lo|hi)(0|[1-9][0-9]{0,5})")


def read_multipliers(value: Any, where: str, dim: int,
                     inequality: Callable[[RowId, str], Inequality],
                     ) -> list[tuple[Inequality, Fraction | int]]:
    """Parse ``[[row id, multiplier], ...]``: at most ``dim + 1`` distinct ids,
    multipliers >= 0, not all 0.  ``inequality(row_id, place)`` resolves an id (and
    rejects unknown ones)."""
    if not isinstance(value, list) or not value:
        raise FormatError(f"{where}.y", "expected a non-empty list of [row, multiplier]")
    if len(value) > dim + 1:
        raise Rejected(f"{where}: {len(value)} multipliers, but a proof needs at most "
                       f"n0 + 1 = {dim + 1} rows")
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
            raise Rejected(f"{at}: row {shown(row_id)!r} listed twice")
        seen.add(row_id)
        y = raw if type(raw) is int and raw.bit_length() <= MAX_NUMBER_BITS \
            else parse_rational(raw, f"{at}[1]")
        if y < 0:
            raise Rejected(f"{at}: negative multiplier {shown(y)}")
        terms.append((inequality(row_id, at), y))
    if all(y == 0 for _, y in terms):
        raise Rejected(f"{where}: all multipliers are zero")
    return terms


def combination(terms: list[tuple[Inequality, Fraction | int]], dim: int, budget: Budget,
                where: str) -> list[int]:
    """``sum y_i g_i`` as integer coefficients (gradient, then constant) over a
    positive common denominator: signs and zeros are exactly those of the sum.  The
    common denominator may not pass ``2 * MAX_MAP_BITS`` bits (checked as it grows
    when the denominators are large)."""
    scales = [den * (1 if type(y) is int else y.denominator) for (_, den), y in terms]
    limit = 2 * MAX_MAP_BITS
    if sum(v.bit_length() for v in scales) <= limit:
        denominator = math.lcm(*scales)
    else:
        denominator = 1
        for scale in scales:
            denominator = denominator // math.gcd(denominator, scale) * scale
            if denominator.bit_length() > limit:
                raise FormatError(where, "the multipliers have no common denominator within "
                                  f"{limit} bits (a resource bound)")
    budget.spend(len(terms) * (dim + 1) * (1 + denominator.bit_length() // 32))
    total = [0] * (dim + 1)
    for ((row, _), y), scale in zip(terms, scales):
        factor = (y if type(y) is int else y.numerator) * (denominator // scale)
        total = [t + factor * v for t, v in zip(total, row)]
    return total


def is_contradiction(total: list[int]) -> bool:
    """A combination proves emptiness when it is a constant function <= 0."""
    return not any(total[:-1]) and total[-1] <= 0


def box_inequality(box: Box | None, row_id: str, dim: int) -> Inequality | None:
    """The box face ``"lo<i>"`` (``x_i - lo_i > 0``) or ``"hi<i>"`` (``hi_i - x_i > 0``),
    named with ASCII digits and no leading zero; None for any other name."""
    match = _BOX_FACE.fullmatch(row_id)
    if box is None or match is None or int(match[2]) >= dim:
        return None
    i = int(match[2])
    bound = (box.lo if match[1] == "lo" else box.hi)[i]
    sign = 1 if match[1] == "lo" else -1
    gradient = [0] * dim
    gradient[i] = sign * bound.denominator
    return (*gradient, -sign * bound.numerator), bound.denominator
