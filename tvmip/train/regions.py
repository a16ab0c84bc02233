"""The exact region counts of a trained network, over the data's box and over R^n0.

Both go through :func:`tvmip.count` with ``linear=True``: activation regions,
linear regions (components of equal affine maps glued across shared facets) and
distinct affine maps.  The count over the box is run to the end (it is what the
certificate covers); the one over all of R^n0 may get a time limit, after which it
is a certified lower bound on the activation regions and the linear regions are
not counted.  Nor are they when a jumping activation (step, sign) feeds a later
layer and n0 >= 2 (:func:`tvmip.checker.linear.unique_neighbours`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..checker.linear import unique_neighbours
from ..engine.counting import count
from ..engine.run import Limits
from ..model.network import Box, Network


@dataclass(frozen=True, slots=True)
class RegionCounts:
    """What one count established over ``domain`` (None: all of R^n0)."""

    domain: Box | None
    activation_regions: int
    linear_regions: int | None
    distinct_maps: int | None
    exact: bool
    seconds: float
    stop_reason: str | None = None

    def where(self, dim: int) -> str:
        if self.domain is None:
            return f"R^{dim}"
        return " x ".join(f"({lo}, {hi})" for lo, hi in zip(self.domain.lo, self.domain.hi))

    def line(self, dim: int) -> str:
        if not self.exact:
            return (f"{self.where(dim)}: at least {self.activation_regions} activation "
                    f"regions (stopped: {self.stop_reason}); linear regions not counted")
        if self.linear_regions is None:
            return (f"{self.where(dim)}: {self.activation_regions} activation regions (exact, "
                    f"{self.seconds:.2f} s); linear regions not certified: step/sign layers "
                    "feed later ones")
        return (f"{self.where(dim)}: {self.activation_regions} activation regions, "
                f"{self.linear_regions} linear regions, {self.distinct_maps} distinct "
                f"affine maps (exact, {self.seconds:.2f} s)")

    def to_json(self) -> dict[str, Any]:
        return {"domain": None if self.domain is None else self.domain.to_json(),
                "activation_regions": self.activation_regions,
                "linear_regions": self.linear_regions, "distinct_maps": self.distinct_maps,
                "claim": "exact" if self.exact else "lower_bound",
                "stop_reason": self.stop_reason, "seconds": round(self.seconds, 3)}


def count_regions(network: Network, box: Box | None, certificate: str | Path | None = None,
                  time_limit: float | None = None, progress: bool = False) -> RegionCounts:
    """Activation and linear regions of ``network`` over ``box`` (None: R^n0)."""
    result = count(network, box, linear=unique_neighbours(network), certificate=certificate,
                   limits=Limits(time_limit=time_limit), progress=progress)
    return RegionCounts(box, result.activation_regions, result.linear_regions,
                        result.distinct_maps, result.exact, result.seconds,
                        result.stop_reason)
