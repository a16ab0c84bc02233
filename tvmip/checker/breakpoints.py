"""Re-verification of a breakpoint certificate (networks with one input).

Records alternate between intervals and the breakpoints that separate them::

    {"s": pattern, "f": [[slope, offset], ...]}   an interval (one per output in "f")
    {"b": "p/q"}                                    the breakpoint to its right

The breakpoints must increase strictly and lie inside the domain.  For every
interval the checker recomputes the pattern's exact maps and verifies that each
neuron keeps its claimed state on the *whole* open interval: its pre-activation
stays strictly inside its open piece (an affine function is positive on an
interval iff it is >= 0 at both ends and not zero everywhere; at an infinite end
its slope decides), or, for a constant pre-activation, the state is the cell of
its value (ReLU's ``0`` exactly for the identically-zero neurons); and that ``f``
is the output map.  Consecutive patterns must differ, and the first neuron where
they differ must reach a breakpoint of its activation at the breakpoint.  Then each interval is one whole activation region and together
they cover the domain but for finitely many points: the count is exact.  Linear
regions are the runs of equal maps; distinct maps are counted directly.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from .errors import FormatError, Rejected
from .limits import Budget, shown
from .maps import PatternMaps, is_constant
from .model import Box, Network
from .rationals import parse_rational

Map = tuple[tuple[Fraction, Fraction], ...]  # per output: slope, offset


class BreakpointChecker:
    """Consumes interval and breakpoint records of a one-input network."""

    def __init__(self, network: Network, box: Box | None, claims: list[str],
                 budget: Budget) -> None:
        if network.input_dim != 1:
            raise Rejected("a breakpoint certificate needs a network with one input")
        self.maps = PatternMaps(network, budget)
        self.outputs = len(network.output.biases)
        self.lo = box.lo[0] if box else None
        self.hi = box.hi[0] if box else None
        self.left: Fraction | None = self.lo  # left end of the next interval
        self.expect_interval = True
        self.previous: tuple[str, Map] | None = None
        self.regions = 0
        self.map_changes = 0
        self.maps_seen: set[Map] = set()
        self._pending: tuple[str, Map, str] | None = None  # interval awaiting its right end

    def feed(self, record: dict[str, Any], where: str) -> None:
        if not isinstance(record, dict):
            raise FormatError(where, "expected a JSON object")
        if self.expect_interval:
            if set(record) != {"s", "f"}:
                raise FormatError(where, 'expected an interval {"s": pattern, "f": maps}')
            pattern = record["s"]
            if not isinstance(pattern, str) or not set(pattern) <= set(self.maps.symbols):
                raise FormatError(f"{where}.s", "expected a pattern string over "
                                  f"{shown(self.maps.symbols)!r}")
            if len(pattern) != self.maps.length:
                raise Rejected(f"{where}: pattern of length {len(pattern)} for a network with "
                               f"{self.maps.length} neurons with a state")
            if not self.maps.is_pattern(pattern):
                raise Rejected(f"{where}: a state that is not one of its neuron's activation")
            self._pending = (pattern, self._read_map(record["f"], f"{where}.f"), where)
            self.expect_interval = False
            return
        if set(record) != {"b"}:
            raise FormatError(where, 'expected a breakpoint {"b": rational}')
        point = parse_rational(record["b"], f"{where}.b")
        if self.left is not None and not point > self.left:
            raise Rejected(f"{where}: breakpoint {shown(point)} does not increase")
        if self.hi is not None and not point < self.hi:
            raise Rejected(f"{where}: breakpoint {shown(point)} lies outside the domain")
        self._close(point)
        self.left = point
        self.expect_interval = True

    def finish(self) -> None:
        if self._pending is None or self.expect_interval:
            raise Rejected("the records must end with an interval")
        self._close(self.hi)

    # -- one interval ---------------------------------------------------------------

    def _read_map(self, value: Any, where: str) -> Map:
        if not isinstance(value, list) or len(value) != self.outputs:
            raise FormatError(where, f"expected {self.outputs} [slope, offset] pairs")
        pairs = []
        for k, pair in enumerate(value):
            if not isinstance(pair, list) or len(pair) != 2:
                raise FormatError(f"{where}[{k}]", "expected [slope, offset]")
            pairs.append((parse_rational(pair[0], f"{where}[{k}][0]"),
                          parse_rational(pair[1], f"{where}[{k}][1]")))
        return tuple(pairs)

    def _close(self, right: Fraction | None) -> None:
        """Verify the pending interval, now that its right end is known."""
        assert self._pending is not None
        pattern, claimed, where = self._pending
        left, right_end = _ends(self.left), _ends(right)
        violated = self._violated(pattern, left, right_end)
        if violated is not None:
            raise Rejected(
                f"{where}: neuron {violated} does not keep state {pattern[violated]!r} on the "
                f"interval ({_end(self.left, '-inf')}, {_end(right, '+inf')})"
            )
        rows, s = self.maps.output_rows(pattern)
        actual = tuple((Fraction(r[0], s), Fraction(r[1], s)) for r in rows)
        if actual != claimed:
            raise Rejected(f"{where}: the output map of the interval is not the one claimed")
        if self.previous is not None:
            self._check_breakpoint(self.previous[0], pattern, self.left, where)
            if self.previous[1] != actual:
                self.map_changes += 1
        self.previous = (pattern, actual)
        self.maps_seen.add(actual)
        self.regions += 1
        self._pending = None

    def _violated(self, pattern: str, left: tuple[int, int] | None,
                  right: tuple[int, int] | None) -> int | None:
        """The first neuron whose state does not hold on the whole interval: an open
        piece whose bounds ``+-(pre - t_j)`` are not positive throughout, or a
        breakpoint's cell whose pre-activation is not that constant."""
        maps = self.maps
        for index, act in enumerate(maps.activations):
            if not act.stateful:
                continue
            rows, s = maps.layer_rows(index, pattern)
            start = maps.first[index]
            signs = maps.signs[index]
            if signs is not None:  # one breakpoint, at 0: a sign per state
                for k, ((slope, offset), state) in enumerate(zip(rows, pattern[start:])):
                    sign = signs[state]
                    if not (_keeps_sign(sign * slope, sign * offset, left, right) if sign
                            else slope == offset == 0):
                        return start + k
                continue
            specs, at = maps.specs[index], maps.at[index]
            for k, ((slope, offset), state) in enumerate(zip(rows, pattern[start:])):
                spec = specs.get(state)
                if spec is None:
                    if slope != 0 or Fraction(offset, s) != at[state]:
                        return start + k
                    continue
                for _, u, v, above in spec:
                    a, c = (slope, offset) if not u else (v * slope, v * offset - u * s)
                    if not (_keeps_sign(a, c, left, right) if above else
                            _keeps_sign(-a, -c, left, right)):
                        return start + k
        return None

    def _check_breakpoint(self, before: str, after: str, point: Fraction | None, where: str) -> None:
        """The patterns must differ, and the first differing neuron's pre-activation
        reach a breakpoint of its activation at ``point``."""
        first = next((k for k, (a, b) in enumerate(zip(before, after)) if a != b), None)
        if first is None:
            raise Rejected(f"{where}: the same pattern on both sides of breakpoint {shown(point)}")
        assert point is not None
        (slope, offset), s = self.maps.row(first, before)
        value = slope * point + offset  # s times the pre-activation at the point
        if not (value == 0 if self.maps.signs[self.maps.neuron[first][0]] is not None
                else value / s in self.maps.activation(first).breakpoints):
            raise Rejected(f"{where}: neuron {first} reaches no breakpoint of its activation at "
                           f"breakpoint {shown(point)}")

    def verified(self, needed: set[str]) -> dict[str, tuple[int, bool]]:
        """All three counts, exact: the intervals cover the domain (and the number of
        output values when every map is constant)."""
        counts = {"activation_regions": (self.regions, True),
                  "linear_regions": (self.map_changes + 1, True),
                  "distinct_maps": (len(self.maps_seen), True)}
        if all(map(is_constant, self.maps_seen)):
            counts["output_values"] = counts["distinct_maps"]
        return counts


def _ends(value: Fraction | None) -> tuple[int, int] | None:
    return None if value is None else (value.numerator, value.denominator)


def _keeps_sign(slope: int, offset: int, left: tuple[int, int] | None,
                right: tuple[int, int] | None) -> bool:
    """Whether ``slope x + offset > 0`` on the open interval (left, right), the ends
    given as (numerator, positive denominator) or None when infinite."""
    if slope == 0:
        return offset > 0
    end = left if slope > 0 else right  # the end where the function is smallest
    return end is not None and slope * end[0] + offset * end[1] >= 0


def _end(value: Fraction | None, infinite: str) -> str:
    return infinite if value is None else shown(value)
