"""Re-verification of a search-tree certificate, one record at a time.

The records are the leaves of the search tree in depth-first order.  The
checker does not trust that order: it keeps the stack of nodes that must come
next and, for each record, walks down from the expected node, recomputing at
every step which children the node has (the cell of the neuron's value when its
map is constant, such as ReLU's ``0`` for a map that is exactly zero; every open
piece of its activation otherwise, ``+`` then ``-`` for ReLU; see
:mod:`tvmip.checker.activation`).  A record must be the *first* leaf of the
expected subtree; the later siblings met on the way become the next
expectations.  So when the stream ends with no expectation left, the records
cover the whole tree: completeness.

Per record:

* region ``{"r": pattern, "x": point}``: the point lies in the domain and
  satisfies every strict inequality of the pattern (the region is non-empty);
* empty ``{"e": prefix, "y": [[row, multiplier], ...]}``: the multipliers are
  >= 0, not all zero, and combine the prefix's strict inequalities (and box
  faces) into a constant function that is <= 0 (Motzkin: no point satisfies them).
  A row is a box face ``"lo<i>"``/``"hi<i>"`` or a neuron's bound: ``p`` for the
  neuron at position ``p`` of a one-breakpoint activation, ``"p:j"`` for its
  breakpoint ``t_j`` otherwise, with the sense of the neuron's state (``pre > t_j``
  on a piece above ``t_j``, ``pre < t_j`` below).  The empty side's own bounds in
  the proof say which of its sibling pieces it also rules out (those on the same
  side of every bound used); the later ones among them need no record;
* look-ahead ``{"e": v + "*" * k + side, "y": ...}``: the same proof on the region
  of the node ``v`` for the neuron ``k`` places further in the same layer (whose
  map ``v`` already determines).  That side is then empty at every node of ``v``'s
  subtree, so those nodes have no child there and need no record of their own.
  The look-aheads in force for a neuron on a path all sit at one node (a second
  node is rejected), each ruling out at least one new piece, which keeps the
  bookkeeping bounded per record;
* open ``{"o": prefix}``: an unexplored subtree (the count is then a lower bound).

Memory is proportional to the depth of the tree, not to the number of records.
"""

from __future__ import annotations

from typing import Any

from .errors import FormatError, Rejected
from .limits import Budget, shown
from .linear import LinearChecker
from .maps import PatternMaps, homogeneous, neuron_row_id
from .model import Box, Network, read_point
from .motzkin import (
    Inequality,
    RowId,
    box_inequality,
    combination,
    is_contradiction,
    read_multipliers,
)

WILDCARD = "*"
LINEAR_COUNTS = ("linear_regions", "distinct_maps")


class TreeChecker:
    """Consumes tree records and counts the verified regions."""

    def __init__(self, network: Network, box: Box | None, claims: list[str],
                 budget: Budget) -> None:
        self.maps = PatternMaps(network, budget)
        self.budget = budget
        self.dim = network.input_dim
        self.box = box
        self.pending: list[str] = [""]
        self.regions = 0
        self.empty = 0
        self.open = 0
        # look-aheads in force: position -> (node, pieces ruled out), and their stack
        self.scopes: dict[int, tuple[str, frozenset[str]]] = {}
        self.scope_stack: list[tuple[str, int]] = []
        wants_linear = bool(set(LINEAR_COUNTS) & set(claims))
        self.linear = LinearChecker(self.maps, network, box) if wants_linear else None

    def feed(self, record: dict[str, Any], where: str) -> None:
        if self.linear is not None and isinstance(record, dict) and ("f" in record or "nf" in record):
            if self.pending:
                raise Rejected(f"{where}: facet evidence before the tree is complete")
            self.linear.feed(record, where)
            return
        kind = _record_kind(record, where)
        text = record[kind]
        if not isinstance(text, str):
            raise FormatError(f"{where}.{kind}", "expected a pattern string")
        length = len(text)
        if length > self.maps.length or kind == "r" and length != self.maps.length:
            raise Rejected(
                f"{where}: pattern of length {length} for a network with "
                f"{self.maps.length} neurons with a state"
            )
        node, stars, last = _split_lookahead(text, f"{where}.{kind}")
        if not set(node + last) <= set(self.maps.symbols) or kind != "e" and stars:
            raise FormatError(f"{where}.{kind}", f"expected a string over "
                              f"{shown(self.maps.symbols)!r} (and '*' in look-ahead proofs)")
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
            if self.linear is not None:
                self.linear.patterns.append(text)
        elif kind == "e":
            ruled_out = self._check_motzkin(text, record.get("y"), where, len(text) - 1, text)
            self._skip_siblings(text, ruled_out)
            self.empty += 1
        else:
            self.open += 1

    def finish(self) -> None:
        if self.pending:
            node = self.pending[-1]
            raise Rejected(f"incomplete tree: no record covers the node {node or '(root)'!r}")

    def verified(self, needed: set[str]) -> dict[str, tuple[int, bool]]:
        """The ``needed`` counts the evidence establishes, each with whether it is exact
        (linear counts only when needed: a run stopped while gluing claims none and
        writes no facet evidence)."""
        counts = {"activation_regions": (self.regions, self.open == 0)}
        if self.linear is not None and self.open == 0 and needed & set(LINEAR_COUNTS):
            linear_regions, distinct_maps, constant = self.linear.counts()
            counts.update(linear_regions=(linear_regions, True), distinct_maps=(distinct_maps, True))
            if constant:
                counts["output_values"] = (distinct_maps, True)
        return counts

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

    def _skip_siblings(self, text: str, ruled_out: frozenset[str]) -> None:
        """Drop the expected later siblings of the empty side ``text`` that its proof
        rules out as well (they come next on the stack, in child order)."""
        while self.pending and len(self.pending[-1]) == len(text) \
                and self.pending[-1][:-1] == text[:-1] and self.pending[-1][-1] in ruled_out:
            self.pending.pop()

    def _children(self, position: int, pattern: str) -> str:
        """Children of the node ``pattern[:position]``: from the neuron's exact map,
        minus the pieces that a look-ahead at an ancestor ruled out."""
        children = self.maps.children(position, pattern)
        scope = self.scopes.get(position)
        if scope is not None and pattern.startswith(scope[0]):
            children = "".join(c for c in children if c not in scope[1])
        if not children:
            raise Rejected(f"node {pattern[:position]!r} has no possible child")
        return children

    def _leave_scopes(self, text: str) -> None:
        """Forget look-aheads whose subtree the stream has left (depth-first order)."""
        while self.scope_stack and not text.startswith(self.scope_stack[-1][0]):
            del self.scopes[self.scope_stack.pop()[1]]

    def _lookahead(self, node: str, position: int, side: str, value: Any, where: str) -> None:
        first_of_layer = self.maps.first[self.maps.neuron[position][0]]
        if first_of_layer > len(node):
            raise Rejected(
                f"{where}: look-ahead at {node!r} for neuron {position}, whose map the node "
                f"does not determine yet (its layer starts at position {first_of_layer})"
            )
        if side not in self.maps.activation(position).piece_symbols:
            raise Rejected(f"{where}: a look-ahead proves an open piece empty")
        scope = self.scopes.get(position)
        if scope is not None and (scope[0] != node or side in scope[1]):
            raise Rejected(f"{where}: a second look-ahead for neuron {position} under "
                           f"{scope[0] or '(root)'!r}")
        # The node must be the next one to cover: walk to it, then expect it again.
        self._descend(node, where)
        self.pending.append(node)
        pattern = node + WILDCARD * (position - len(node)) + side  # own layer: unread
        ruled_out = self._check_motzkin(node, value, where, position, pattern)
        if scope is None:
            self.scope_stack.append((node, position))
            scope = (node, frozenset())
        self.scopes[position] = (node, scope[1] | ruled_out)
        self.empty += 1

    # -- evidence -----------------------------------------------------------------

    def _check_region(self, pattern: str, value: Any, where: str) -> None:
        """The witness satisfies every strict inequality of the pattern: each neuron's
        pre-activation lies strictly inside its open piece (a neuron in a breakpoint's
        cell has a constant map, which the tree walk checked)."""
        point = read_point(value, self.dim, self.box, f"{where}.x")
        bounds = self.maps.pattern_bounds(pattern)
        values = self.maps.values([b[3] for b in bounds], homogeneous(point, f"{where}.x"))
        for (position, _, sign, _, _), v in zip(bounds, values):
            if v * sign <= 0:
                raise Rejected(
                    f"{where}: the witness of region {pattern!r} violates the strict "
                    f"inequality of neuron {position} (state {pattern[position]!r})"
                )

    def _check_motzkin(self, node: str, value: Any, where: str, position: int,
                       pattern: str) -> frozenset[str]:
        """Verify Motzkin multipliers: ``y >= 0``, not all zero, combining the strict
        inequalities of ``node``'s pattern and the box faces (plus the bounds of the
        open piece ``pattern[position]`` of the neuron at ``position``, the empty side)
        into a constant function <= 0.  Returns the pieces of that neuron the proof
        rules out: those on the same side of every bound of it the proof uses."""
        used: list[tuple[int, bool]] = []

        def inequality(row_id: RowId, at: str) -> Inequality:
            ineq, bound = self._inequality(row_id, node, position, pattern, at)
            if bound is not None:
                used.append(bound)
            return ineq

        terms = read_multipliers(value, where, self.dim, inequality)
        if not is_contradiction(combination(terms, self.dim, self.budget, where)):
            raise Rejected(
                f"{where}: the multipliers of the empty branch do not combine its "
                f"inequalities into a constant <= 0"
            )
        act = self.maps.activation(position)
        return frozenset(
            act.symbol(2 * piece) for piece in range(len(act.pieces))
            if all((piece >= j) == above for j, above in used))

    def _inequality(self, row_id: RowId, node: str, position: int, pattern: str,
                    at: str) -> tuple[Inequality, tuple[int, bool] | None]:
        """The strict inequality ``g(x) > 0`` named by ``row_id``, as an integer row
        over a denominator: ``g(x) = (row . (x, 1)) / den``; for a bound of the neuron
        at ``position`` also ``(j, above)``.  Rows are the box faces and the bounds of
        the open pieces of ``node``'s states and of ``pattern[position]``."""
        neuron = neuron_row_id(row_id)
        if neuron is None:
            face = box_inequality(self.box, str(row_id), self.dim)
            if face is None:
                raise Rejected(f"{at}: unknown row {shown(row_id)!r}")
            return face, None
        p, j = neuron
        if p != position and not 0 <= p < len(node):
            raise Rejected(f"{at}: row {shown(row_id)} is not a strict inequality of "
                           f"{shown(node)!r}")
        inequality, _, j, above = self.maps.bound(p, j, pattern if p == position else node, at)
        return inequality, ((j, above) if p == position else None)


def _split_lookahead(text: str, where: str) -> tuple[str, bool, str]:
    """``v + '*' * k + side`` as (v, True, side); any other string as (text, False, '')."""
    star = text.find(WILDCARD)
    if star < 0:
        return text, False, ""
    if len(text) < star + 2 or text[star:-1] != WILDCARD * (len(text) - 1 - star):
        raise FormatError(where, f"malformed look-ahead {shown(text)!r}: wildcards must run to "
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
    raise FormatError(where, f"unknown record with keys {shown(sorted(record)[:5])}")
