"""Re-verification of a search-tree certificate, one record at a time.

The records are the leaves of the search tree in depth-first order.  The
checker does not trust that order: it keeps the stack of nodes that must come
next and, for each record, walks down from the expected node, recomputing at
every step which children the node has (``0`` when the neuron's map is exactly
zero, its sign when constant, ``+`` then ``-`` otherwise).  A record must be the
*first* leaf of the expected subtree; the later siblings met on the way become
the next expectations.  So when the stream ends with no expectation left, the
records cover the whole tree: completeness.

Per record:

* region ``{"r": pattern, "x": point}``: the point lies in the domain and
  satisfies every strict inequality of the pattern (the region is non-empty);
* empty ``{"e": prefix, "y": [[row, multiplier], ...]}``: the multipliers are
  >= 0, not all zero, and combine the prefix's strict inequalities (and box
  faces) into a constant function that is <= 0 (Motzkin: no point satisfies them);
* open ``{"o": prefix}``: an unexplored subtree (the count is then a lower bound).

Memory is proportional to the depth of the tree, not to the number of records.
"""

from __future__ import annotations

import math
from typing import Any

from .maps import PatternMaps, common_denominator, strictly_positive
from .model import Box, Network
from .rationals import FormatError, parse_rational

STATES = frozenset("+-0")


class Rejected(Exception):
    """A claim of the certificate does not hold (the verdict is INVALID)."""


class TreeChecker:
    """Consumes tree records and counts the verified regions."""

    def __init__(self, network: Network, box: Box | None) -> None:
        self.maps = PatternMaps(network)
        self.dim = network.input_dim
        self.box = box
        self.pending: list[str] = [""]
        self.regions = 0
        self.empty = 0
        self.open = 0
        self.last_region: str | None = None

    def feed(self, record: dict[str, Any], where: str) -> None:
        kind = _record_kind(record, where)
        pattern = record[kind]
        if not isinstance(pattern, str) or not set(pattern) <= STATES:
            raise FormatError(f"{where}.{kind}", "expected a string over '+', '-', '0'")
        if len(pattern) > self.maps.length or kind == "r" and len(pattern) != self.maps.length:
            raise Rejected(
                f"{where}: pattern of length {len(pattern)} for a network with "
                f"{self.maps.length} ReLU neurons"
            )
        if kind == "e" and not pattern:
            raise Rejected(f"{where}: an empty branch needs at least one state")
        self._descend(pattern, where)
        if kind == "r":
            self._check_region(pattern, record.get("x"), where)
            self.regions += 1
            self.last_region = pattern
        elif kind == "e":
            self._check_empty(pattern, record.get("y"), where)
            self.empty += 1
        else:
            self.open += 1

    def finish(self) -> None:
        if self.pending:
            node = self.pending[-1]
            raise Rejected(f"incomplete tree: no record covers the node {node or '(root)'!r}")

    # -- completeness -------------------------------------------------------------

    def _descend(self, pattern: str, where: str) -> None:
        if not self.pending:
            raise Rejected(f"{where}: record {pattern!r} after the tree is complete")
        expected = self.pending.pop()
        if not pattern.startswith(expected):
            raise Rejected(
                f"{where}: record {pattern!r} is out of place: the next record must lie "
                f"in the subtree {expected or '(root)'!r}"
            )
        for position in range(len(expected), len(pattern)):
            children = self.maps.children(position, pattern)
            state = pattern[position]
            if state not in children:
                raise Rejected(
                    f"{where}: state {state!r} at position {position} of {pattern!r} is "
                    f"impossible (the neuron's map allows {'/'.join(children)})"
                )
            if state != children[0]:
                raise Rejected(
                    f"{where}: record {pattern!r} skips the {children[0]!r} child at "
                    f"position {position} (missing or misordered subtree)"
                )
            for sibling in reversed(children[1:]):
                self.pending.append(pattern[:position] + sibling)

    # -- evidence -----------------------------------------------------------------

    def _check_region(self, pattern: str, value: Any, where: str) -> None:
        if not isinstance(value, list) or len(value) != self.dim:
            raise FormatError(f"{where}.x", f"expected a list of {self.dim} rationals")
        point = [parse_rational(v, f"{where}.x[{i}]") for i, v in enumerate(value)]
        if self.box is not None:
            for i, v in enumerate(point):
                if not self.box.lo[i] < v < self.box.hi[i]:
                    raise Rejected(f"{where}: witness coordinate {i} = {v} lies outside the box")
        numerators, q = common_denominator(point)
        for position, state in enumerate(pattern):
            if state == "0":
                continue
            row, _ = self.maps.row(position, pattern)
            if not strictly_positive(row, 1 if state == "+" else -1, numerators, q):
                raise Rejected(
                    f"{where}: the witness of region {pattern!r} violates the strict "
                    f"inequality of neuron {position} (state {state!r})"
                )

    def _check_empty(self, prefix: str, value: Any, where: str) -> None:
        if not isinstance(value, list) or not value:
            raise FormatError(f"{where}.y", "expected a non-empty list of [row, multiplier]")
        seen = set()
        terms = []  # (integer row over its denominator, multiplier)
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
            y = parse_rational(raw, f"{at}[1]")
            if y < 0:
                raise Rejected(f"{at}: negative multiplier {y}")
            terms.append((self._inequality(row_id, prefix, at), y))
        if all(y == 0 for _, y in terms):
            raise Rejected(f"{where}: all multipliers are zero")
        denominator = math.lcm(*(den * y.denominator for (_, den), y in terms))
        total = [0] * (self.dim + 1)
        for (row, den), y in terms:
            factor = y.numerator * (denominator // (den * y.denominator))
            total = [t + factor * v for t, v in zip(total, row)]
        if any(total[:-1]):
            raise Rejected(
                f"{where}: the multipliers for empty branch {prefix!r} do not cancel "
                f"the inequalities' gradients"
            )
        if total[-1] > 0:
            raise Rejected(
                f"{where}: the multipliers for empty branch {prefix!r} combine to a "
                f"positive constant (not a contradiction)"
            )

    def _inequality(self, row_id: int | str, prefix: str, at: str) -> tuple[tuple[int, ...], int]:
        """The strict inequality ``g(x) > 0`` named by ``row_id`` as integers over a
        denominator: ``g(x) = (row . (x, 1)) / den``."""
        if isinstance(row_id, int):
            if not 0 <= row_id < len(prefix) or prefix[row_id] == "0":
                raise Rejected(f"{at}: row {row_id} is not a strict inequality of {prefix!r}")
            row, s = self.maps.row(row_id, prefix)
            sign = 1 if prefix[row_id] == "+" else -1
            return tuple(sign * v for v in row), s
        if self.box is None or len(row_id) < 3 or row_id[:2] not in ("lo", "hi") \
                or not row_id[2:].isdigit() or int(row_id[2:]) >= self.dim or \
                row_id[2:] != str(int(row_id[2:])):
            raise Rejected(f"{at}: unknown row {row_id!r}")
        i = int(row_id[2:])
        bound = (self.box.lo if row_id[:2] == "lo" else self.box.hi)[i]
        sign = 1 if row_id[:2] == "lo" else -1  # x_i - lo > 0  or  hi - x_i > 0
        gradient = [0] * self.dim
        gradient[i] = sign * bound.denominator
        return (*gradient, -sign * bound.numerator), bound.denominator


def _record_kind(record: Any, where: str) -> str:
    if not isinstance(record, dict):
        raise FormatError(where, "expected a JSON object")
    for kind, keys in (("r", {"r", "x"}), ("e", {"e", "y"}), ("o", {"o"})):
        if kind in record:
            if set(record) != keys:
                raise FormatError(where, f"a {kind!r} record has exactly the keys {sorted(keys)}")
            return kind
    raise FormatError(where, f"unknown record with keys {sorted(record)[:5]}")
