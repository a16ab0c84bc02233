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
* look-ahead ``{"e": v + "*" * k + side, "y": ...}``: the same proof on the region
  of the node ``v`` for the neuron ``k`` places further in the same layer (whose
  map ``v`` already determines).  That side is then empty at every node of ``v``'s
  subtree, so those nodes have one child there and need no record of their own;
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
WILDCARD = "*"


class Rejected(Exception):
    """A claim of the certificate does not hold (the verdict is INVALID)."""


class TreeChecker:
    """Consumes tree records and counts the verified regions."""

    def __init__(self, network: Network, box: Box | None, claims: list[str]) -> None:
        self.maps = PatternMaps(network)
        self.dim = network.input_dim
        self.box = box
        self.pending: list[str] = [""]
        self.regions = 0
        self.empty = 0
        self.open = 0
        # look-aheads in force: position -> [(node, empty side)], and their stack
        self.scopes: dict[int, list[tuple[str, str]]] = {}
        self.scope_stack: list[tuple[str, int, str]] = []

    def feed(self, record: dict[str, Any], where: str) -> None:
        kind = _record_kind(record, where)
        text = record[kind]
        if not isinstance(text, str):
            raise FormatError(f"{where}.{kind}", "expected a pattern string")
        node, stars, last = _split_lookahead(text, f"{where}.{kind}")
        if not set(node) <= STATES or kind != "e" and stars:
            raise FormatError(f"{where}.{kind}", "expected a string over '+', '-', '0' "
                              "(and '*' in look-ahead proofs)")
        length = len(text)
        if length > self.maps.length or kind == "r" and length != self.maps.length:
            raise Rejected(
                f"{where}: pattern of length {length} for a network with "
                f"{self.maps.length} ReLU neurons"
            )
        if kind == "e" and not text:
            raise Rejected(f"{where}: an empty branch needs at least one state")
        self._leave_scopes(text)
        if stars:
            self._lookahead(node, len(text) - 1, last, record.get("y"), where)
            return
        self._descend(text, where)
        if kind == "r":
            self._check_region(text, record.get("x"), where)
            self.regions += 1
        elif kind == "e":
            self._check_motzkin(text, record.get("y"), where)
            self.empty += 1
        else:
            self.open += 1

    def finish(self) -> None:
        if self.pending:
            node = self.pending[-1]
            raise Rejected(f"incomplete tree: no record covers the node {node or '(root)'!r}")

    def verified(self) -> dict[str, tuple[int, bool]]:
        """Counts the evidence establishes, each with whether it is exact."""
        return {"activation_regions": (self.regions, self.open == 0)}

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
            children = self._children(position, pattern)
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

    def _children(self, position: int, pattern: str) -> str:
        """Children of the node ``pattern[:position]``: from the neuron's exact map,
        minus the sides that a look-ahead at an ancestor proved empty."""
        children = self.maps.children(position, pattern)
        for node, side in self.scopes.get(position, ()):
            if pattern.startswith(node):
                children = children.replace(side, "")
        if not children:
            raise Rejected(f"node {pattern[:position]!r} has no possible child")
        return children

    def _leave_scopes(self, text: str) -> None:
        """Forget look-aheads whose subtree the stream has left (depth-first order)."""
        while self.scope_stack and not text.startswith(self.scope_stack[-1][0]):
            node, position, side = self.scope_stack.pop()
            self.scopes[position].remove((node, side))

    def _lookahead(self, node: str, position: int, side: str, value: Any, where: str) -> None:
        first_of_layer = self.maps.first[self.maps.neuron[position][0]]
        if first_of_layer > len(node):
            raise Rejected(
                f"{where}: look-ahead at {node!r} for neuron {position}, whose map the node "
                f"does not determine yet (its layer starts at position {first_of_layer})"
            )
        if side not in "+-":
            raise Rejected(f"{where}: a look-ahead proves a '+' or '-' side empty")
        # The node must be the next one to cover: walk to it, then expect it again.
        self._descend(node, where)
        self.pending.append(node)
        self._check_motzkin(node, value, where, (position, side))
        self.scopes.setdefault(position, []).append((node, side))
        self.scope_stack.append((node, position, side))
        self.empty += 1

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

    def _check_motzkin(self, node: str, value: Any, where: str,
                       extra: tuple[int, str] | None = None) -> None:
        """Verify Motzkin multipliers: ``y >= 0``, not all zero, combining the strict
        inequalities of ``node``'s pattern and the box faces (plus, for a look-ahead,
        neuron ``extra[0]`` in state ``extra[1]``) into a constant function <= 0."""
        if not isinstance(value, list) or not value:
            raise FormatError(f"{where}.y", "expected a non-empty list of [row, multiplier]")
        seen = set()
        terms = []  # ((integer row, its denominator), multiplier)
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
            terms.append((self._inequality(row_id, node, extra, at), y))
        if all(y == 0 for _, y in terms):
            raise Rejected(f"{where}: all multipliers are zero")
        denominator = math.lcm(*(den * y.denominator for (_, den), y in terms))
        total = [0] * (self.dim + 1)
        for (row, den), y in terms:
            factor = y.numerator * (denominator // (den * y.denominator))
            total = [t + factor * v for t, v in zip(total, row)]
        if any(total[:-1]):
            raise Rejected(
                f"{where}: the multipliers of the empty branch do not cancel the "
                f"inequalities' gradients"
            )
        if total[-1] > 0:
            raise Rejected(
                f"{where}: the multipliers of the empty branch combine to a positive "
                f"constant (not a contradiction)"
            )

    def _inequality(self, row_id: int | str, node: str, extra: tuple[int, str] | None,
                    at: str) -> tuple[tuple[int, ...], int]:
        """The strict inequality ``g(x) > 0`` named by ``row_id``, as an integer row
        over a denominator: ``g(x) = (row . (x, 1)) / den``."""
        if isinstance(row_id, int):
            if extra is not None and row_id == extra[0]:
                # Wildcards stand for states in the neuron's own layer, which do not
                # enter its map; any filling reads the same row.
                pattern, state = node + "+" * (row_id - len(node)) + extra[1], extra[1]
            elif 0 <= row_id < len(node) and node[row_id] != "0":
                pattern, state = node, node[row_id]
            else:
                raise Rejected(f"{at}: row {row_id} is not a strict inequality of {node!r}")
            row, s = self.maps.row(row_id, pattern)
            sign = 1 if state == "+" else -1
            return tuple(sign * v for v in row), s
        if self.box is None or len(row_id) < 3 or row_id[:2] not in ("lo", "hi") \
                or not row_id[2:].isdigit() or row_id[2:] != str(int(row_id[2:])) \
                or int(row_id[2:]) >= self.dim:
            raise Rejected(f"{at}: unknown row {row_id!r}")
        i = int(row_id[2:])
        bound = (self.box.lo if row_id[:2] == "lo" else self.box.hi)[i]
        sign = 1 if row_id[:2] == "lo" else -1  # x_i - lo > 0  or  hi - x_i > 0
        gradient = [0] * self.dim
        gradient[i] = sign * bound.denominator
        return (*gradient, -sign * bound.numerator), bound.denominator


def _split_lookahead(text: str, where: str) -> tuple[str, bool, str]:
    """``v + '*' * k + side`` as (v, True, side); any other string as (text, False, '')."""
    star = text.find(WILDCARD)
    if star < 0:
        return text, False, ""
    if len(text) < star + 2 or text[star:-1] != WILDCARD * (len(text) - 1 - star):
        raise FormatError(where, f"malformed look-ahead {text[:40]!r}: wildcards must run to "
                          "the last state")
    return text[:star], True, text[-1]


def _record_kind(record: Any, where: str) -> str:
    if not isinstance(record, dict):
        raise FormatError(where, "expected a JSON object")
    for kind, keys in (("r", {"r", "x"}), ("e", {"e", "y"}), ("o", {"o"})):
        if kind in record:
            if set(record) != keys:
                raise FormatError(where, f"a {kind!r} record has exactly the keys {sorted(keys)}")
            return kind
    raise FormatError(where, f"unknown record with keys {sorted(record)[:5]}")
