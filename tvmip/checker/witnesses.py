"""Re-verification of a witness certificate: a lower bound on linear regions.

Records are points ``{"x": [rationals]}``.  Each point must lie strictly inside
an activation region (every pre-activation nonzero, except neurons whose map is
identically zero on the region, state ``0``); the checker computes the region's
pattern at the point and the output's exact affine map there.  The maps must be
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
        for index, layer in enumerate(self.maps.layers):
            if not layer[3]:
                continue
            rows, _ = self.maps.layer_rows(index, pattern)
            for row, value in zip(rows, self.maps.values(rows, point)):
                if value == 0 and any(row):
                    raise Rejected(f"{where}: neuron {len(pattern)} vanishes at the witness "
                                   "(it lies on a region boundary)")
                pattern += "+" if value > 0 else "-" if value < 0 else "0"
        return pattern

    def finish(self) -> None:
        if not self.seen:
            raise Rejected("a witness certificate needs at least one witness")

    def verified(self) -> dict[str, tuple[int, bool]]:
        count = len(self.seen)
        return {name: (count, False) for name in
                ("activation_regions", "linear_regions", "distinct_maps")}
