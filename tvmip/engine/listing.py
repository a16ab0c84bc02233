"""Listing regions: one frozen record per activation region, with its exact data.

The records are what ``tvmip regions`` prints (JSON lines or CSV) and what the
Python API iterates over: the pattern, a rational interior point, the affine map
``f(x) = gradient . x + offset`` (one row per output) and the id of the linear
region the activation region belongs to (ids are numbered in region order).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction

from ..checker.rationals import format_rational
from ..model.network import Box, Network
from ..model.scaled import ScaledNetwork, scaled
from ..search import oned
from ..search.linear import AffineMap, Gluer
from ..search.tree import Region
from .counting import count


@dataclass(frozen=True, slots=True)
class RegionInfo:
    """An activation region with exact data."""

    index: int
    pattern: str
    witness: tuple[Fraction, ...]
    gradient: tuple[tuple[Fraction, ...], ...]
    offset: tuple[Fraction, ...]
    linear_region: int | None

    def to_json(self) -> dict[str, object]:
        def text(v: Fraction) -> object:
            return format_rational(v)

        return {
            "index": self.index,
            "pattern": self.pattern,
            "witness": [text(v) for v in self.witness],
            "gradient": [[text(v) for v in row] for row in self.gradient],
            "offset": [text(v) for v in self.offset],
            "linear_region": self.linear_region,
        }


def regions(network: Network | ScaledNetwork, box: Box | None = None, *,
            engine: str = "auto", glue: bool = True) -> Iterator[RegionInfo]:
    """Every activation region of ``network`` over ``box`` (None: R^n0), in the order
    of the search tree (left to right on the line for one-input networks).  With
    ``glue`` False the (costlier) linear-region ids are left out (None)."""
    network = scaled(network)
    if engine == "breakpoints" or engine == "auto" and network.dim == 1:
        partition = oned.propagate(network, box)
        changes = partition.map_changes().tolist()
        s = partition.denominator
        component = 0
        for i, (pattern, point) in enumerate(zip(partition.patterns(), oned.interior_points(partition))):
            if i and changes[i - 1]:
                component += 1
            slope = partition.slope[i].tolist()
            offset = partition.offset[i].tolist()
            yield RegionInfo(i, pattern, (point,), tuple((Fraction(v, s),) for v in slope),
                             tuple(Fraction(v, s) for v in offset), component)
        return
    found: list[Region] = []
    count(network, box, engine="tree",
          on_record=lambda r: found.append(r) if isinstance(r, Region) else None)
    gluer = Gluer(network, box)
    maps: tuple[AffineMap, ...]
    components: tuple[int | None, ...]
    if glue:
        structure = gluer.glue(found)
        maps, components = structure.maps, structure.component
    else:
        maps, components = tuple(gluer.output_map(r.pattern) for r in found), (None,) * len(found)
    for i, region in enumerate(found):
        affine = maps[i]
        yield RegionInfo(i, region.pattern, region.witness,
                         tuple(row[:-1] for row in affine), tuple(row[-1] for row in affine),
                         components[i])


def to_jsonl(records: Iterator[RegionInfo]) -> Iterator[str]:
    for record in records:
        yield json.dumps(record.to_json(), separators=(",", ":")) + "\n"


def to_csv(records: Iterator[RegionInfo], dim: int, outputs: int) -> Iterator[str]:
    """CSV with one column per coordinate: ``x1..``, then per output ``grad1..`` and
    ``offset`` (prefixed ``f2.`` etc. when the network has several outputs)."""
    def prefix(k: int) -> str:
        return "" if outputs == 1 else f"f{k + 1}."

    header = ["index", "pattern", *(f"x{i + 1}" for i in range(dim))]
    for k in range(outputs):
        header += [*(f"{prefix(k)}grad{i + 1}" for i in range(dim)), f"{prefix(k)}offset"]
    header.append("linear_region")
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for record in records:
        row: list[object] = [record.index, record.pattern, *map(str, record.witness)]
        for gradient, offset in zip(record.gradient, record.offset):
            row += [*map(str, gradient), str(offset)]
        row.append(record.linear_region)
        writer.writerow(row)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    if buffer.getvalue():
        yield buffer.getvalue()
