"""Re-verification of a witness certificate: a lower bound on linear regions.

Records are points ``{"x": [rationals]}``.  Each point must lie strictly inside
an activation region (every pre-activation strictly inside an open piece of its
activation, except neurons whose map is constant on the region, which take the
cell of their value); the checker computes the region's pattern at the point and
the output's exact affine map there.  The maps must be
pairwise distinct.  A linear region carries one affine map, so K points with
distinct maps lie in K different linear regions (and K different activation
regions): at least K of each.  Nothing is claimed about the rest of the domain.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from .errors import FormatError, Rejected
from .limits import Budget
from .maps import PatternMaps, homogeneous
from .model import Box, Network, read_point


class WitnessChecker:
    """Consumes witness points and collects their distinct output maps."""

    def __init__(self, network: Network, box: Box | None, claims: list[str],
                 budget: Budget) -> None:
        self.maps = PatternMaps(network, budget)
        self.box = box
        self.dim = network.input_dim
        self.seen: set[tuple[tuple[Fraction, ...], ...]] = set()

    def feed(self, record: dict[str, Any], where: str) -> None:
        if not isinstance(record, dict) or set(record) != {"x"}:
            raise FormatError(where, 'expected a witness {"x": point}')
        point = homogeneous(read_point(record["x"], self.dim, self.box, f"{where}.x"),
                            f"{where}.x")
        pattern = self._pattern(point, where)
        rows, s = self.maps.output_rows(pattern)
        affine = tuple(tuple(Fraction(v, s) for v in row) for row in rows)
        if affine in self.seen:
            raise Rejected(f"{where}: a second witness with the same affine map")
        self.seen.add(affine)

    def _pattern(self, point: tuple[int, ...], where: str) -> str:
        """The activation pattern around the (homogeneous) ``point``, layer by layer."""
        pattern = ""
        for index, act in enumerate(self.maps.activations):
            if not act.stateful:
                continue
            rows, s = self.maps.layer_rows(index, pattern)
            for row, value in zip(rows, self.maps.values(rows, point)):
                cell = act.cell_of(Fraction(value, s * point[-1]))
                if cell % 2 and any(row[:-1]):
                    raise Rejected(f"{where}: neuron {len(pattern)} reaches a breakpoint at the "
                                   "witness (it lies on a region boundary)")
                pattern += act.symbol(cell)
        return pattern

    def finish(self) -> None:
        if not self.seen:
            raise Rejected("a witness certificate needs at least one witness")

    def verified(self, needed: set[str]) -> dict[str, tuple[int, bool]]:
        count = len(self.seen)
        return {name: (count, False) for name in
                ("activation_regions", "linear_regions", "distinct_maps")}
