"""Listing regions: one frozen record per activation region, with its exact data.

The records are what ``tvmip regions`` prints (JSON lines or CSV) and what the
Python API iterates over: the pattern, a rational interior point, the affine map
``f(x) = gradient . x + offset`` (one row per output) and the id of the linear
region the activation region belongs to (ids are numbered in region order); for
two-input networks over a box, also the region's exact polygon in the box and its
area.

A listing says whether it is complete: :func:`regions` returns a
:class:`RegionList`, whose ``complete`` is False when an interrupt or a limit
stopped the search (then it holds the regions verified so far, a lower bound, and
no linear-region ids) or the gluing (then it has every region but no ids).

:func:`region_graph` is the region adjacency graph (networkx): the regions as
nodes, the shared facets as edges, glued or not.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any, overload

from ..checker.linear import unique_neighbours
from ..checker.rationals import format_rational
from ..model.network import Box, Network
from ..model.polygons import Point, area, region_polygon
from ..model.scaled import ScaledNetwork, scaled
from ..progress import Progress
from ..search import oned
from ..search.linear import Gluer
from ..search.tree import Region
from .counting import CountResult, count
from .run import NO_LIMITS, Limits

if TYPE_CHECKING:
    import networkx as nx


@dataclass(frozen=True, slots=True)
class RegionInfo:
    """An activation region with exact data (``polygon`` and ``area`` only for
    two-input networks over a box, when asked for)."""

    index: int
    pattern: str
    witness: tuple[Fraction, ...]
    gradient: tuple[tuple[Fraction, ...], ...]
    offset: tuple[Fraction, ...]
    linear_region: int | None
    polygon: tuple[Point, ...] | None = None

    @property
    def area(self) -> Fraction | None:
        return None if self.polygon is None else area(self.polygon)

    def to_json(self, floats: bool = False) -> dict[str, object]:
        out: dict[str, object] = {
            "index": self.index,
            "pattern": self.pattern,
            "witness": [format_rational(v) for v in self.witness],
            "gradient": [[format_rational(v) for v in row] for row in self.gradient],
            "offset": [format_rational(v) for v in self.offset],
            "linear_region": self.linear_region,
        }
        if self.polygon is not None:
            out["polygon"] = [[format_rational(x), format_rational(y)] for x, y in self.polygon]
            out["area"] = format_rational(area(self.polygon))
        if floats:
            out["witness_float"] = [float(v) for v in self.witness]
            out["gradient_float"] = [[float(v) for v in row] for row in self.gradient]
            out["offset_float"] = [float(v) for v in self.offset]
            if self.polygon is not None:
                out["area_float"] = float(area(self.polygon))
        return out


@dataclass(frozen=True)
class RegionList(Sequence[RegionInfo]):
    """The activation regions found, in search order, and whether they are all of
    them: ``complete`` is False after an interrupt or a limit (``stop_reason``);
    then ``regions`` holds the regions verified so far (the count is a lower bound)
    and the linear-region ids are None."""

    regions: tuple[RegionInfo, ...]
    complete: bool
    stop_reason: str | None = None
    result: CountResult | None = field(default=None, repr=False)
    """The count behind the listing (tree engine): certificate claims, statistics."""

    @overload
    def __getitem__(self, index: int) -> RegionInfo: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[RegionInfo]: ...

    def __getitem__(self, index: int | slice) -> RegionInfo | Sequence[RegionInfo]:
        return self.regions[index]

    def __len__(self) -> int:
        return len(self.regions)

    def __iter__(self) -> Iterator[RegionInfo]:
        return iter(self.regions)

    @property
    def linear_regions(self) -> int | None:
        ids = {r.linear_region for r in self.regions}
        return None if None in ids else len(ids)


def regions(network: Network | ScaledNetwork, box: Box | None = None, *,
            engine: str = "auto", glue: bool = True, polygons: bool = False,
            limits: Limits = NO_LIMITS, progress: bool = False,
            certificate: str | Path | None = None) -> RegionList:
    """Every activation region of ``network`` over ``box`` (None: R^n0), in the order
    of the search tree (left to right on the line for one-input networks).  With
    ``glue`` False, or for a network whose facets can have several neighbours
    (:func:`~tvmip.checker.linear.unique_neighbours`), the (costlier) linear-region
    ids are left out (None); with
    ``polygons`` (two inputs and a box) each region's exact polygon in the box.
    ``limits``, ``progress`` and ``certificate`` are those of :func:`count` (tree
    engine): a stopped search gives an incomplete list and a lower-bound
    certificate."""
    network = scaled(network)
    if polygons and (network.dim != 2 or box is None):
        raise ValueError("region polygons need a network with two inputs and a box")
    if engine == "breakpoints" or engine == "auto" and network.dim == 1:
        return RegionList(tuple(_intervals(network, box)), True)
    glue = glue and unique_neighbours(network.network)  # else no linear-region ids
    found: list[Region] = []
    result = count(network, box, engine="tree", linear=glue, limits=limits,
                   progress=progress, certificate=certificate,
                   on_record=lambda r: found.append(r) if isinstance(r, Region) else None)
    structure = result.structure
    components: tuple[int | None, ...]
    if structure is not None:
        maps, components = structure.maps, tuple(structure.component)
    else:
        gluer = Gluer(network, box)
        maps, components = tuple(gluer.output_map(r.pattern) for r in found), (None,) * len(found)
    bar = Progress(progress and polygons)
    bar.phase("region polygons", len(found), " regions")
    listing = []
    for i, region in enumerate(found):
        outline = tuple(region_polygon(network, region.pattern, box)) \
            if polygons and box is not None else None
        listing.append(RegionInfo(i, region.pattern, region.witness,
                                  tuple(row[:-1] for row in maps[i]),
                                  tuple(row[-1] for row in maps[i]), components[i], outline))
        bar.update(i + 1)
    bar.close()
    complete = result.exact and (structure is not None or not glue)
    return RegionList(tuple(listing), complete, result.stop_reason, result)


def _intervals(network: ScaledNetwork, box: Box | None) -> Iterator[RegionInfo]:
    """The regions of a one-input network: the breakpoint engine's intervals."""
    partition = oned.propagate(network, box)
    changes = partition.map_changes().tolist()
    s = partition.denominator
    component = 0
    for i, (pattern, point) in enumerate(zip(partition.patterns(),
                                             oned.interior_points(partition))):
        if i and changes[i - 1]:
            component += 1
        slope = partition.slope[i].tolist()
        offset = partition.offset[i].tolist()
        yield RegionInfo(i, pattern, (point,), tuple((Fraction(v, s),) for v in slope),
                         tuple(Fraction(v, s) for v in offset), component)


def region_graph(network: Network | ScaledNetwork, box: Box | None,
                 listing: RegionList) -> nx.Graph:
    """The region adjacency graph of a complete listing: a node per activation region
    (its pattern, witness, affine map and linear region, as exact text), an edge per
    shared facet with ``glued`` telling whether the two maps are equal (the glue
    edges, whose components are the linear regions)."""
    import networkx as nx

    if not listing.complete:
        raise ValueError("the region graph needs a complete listing")
    network = scaled(network)
    found = [Region(r.pattern, r.witness) for r in listing]
    graph = nx.Graph()
    for r in listing:
        graph.add_node(r.index, pattern=r.pattern,
                       witness=" ".join(map(str, r.witness)),
                       gradient=";".join(" ".join(map(str, row)) for row in r.gradient),
                       offset=" ".join(map(str, r.offset)),
                       linear_region=-1 if r.linear_region is None else r.linear_region)
    for a, b in Gluer(network, box).adjacency(found):
        graph.add_edge(a, b, glued=listing[a].gradient == listing[b].gradient
                       and listing[a].offset == listing[b].offset)
    return graph


def write_graph(graph: nx.Graph, path: Path) -> None:
    """GraphML for ``.graphml``, networkx's node-link JSON otherwise; atomically."""
    import networkx as nx

    from ..files import atomic_path

    with atomic_path(path) as temp:
        if path.suffix.lower() == ".graphml":
            nx.write_graphml(graph, temp)
        else:
            temp.write_text(json.dumps(nx.node_link_data(graph, edges="links"), indent=1))


def to_jsonl(records: Sequence[RegionInfo], floats: bool = False) -> Iterator[str]:
    for record in records:
        yield json.dumps(record.to_json(floats), separators=(",", ":")) + "\n"


def to_csv(records: Sequence[RegionInfo], dim: int, outputs: int,
           floats: bool = False) -> Iterator[str]:
    """CSV with one column per coordinate: ``x1..``, then per output ``grad1..`` and
    ``offset`` (prefixed ``f2.`` etc. when the network has several outputs), the
    linear region, and with ``floats`` the same numbers again as floats (``x1_float``,
    ...) for pandas; a polygon's area (and its vertices, ``x y`` pairs separated by
    ``;``, and with ``floats`` ``area_float`` last) when the records have one."""
    def prefix(k: int) -> str:
        return "" if outputs == 1 else f"f{k + 1}."

    names = [f"x{i + 1}" for i in range(dim)]
    for k in range(outputs):
        names += [*(f"{prefix(k)}grad{i + 1}" for i in range(dim)), f"{prefix(k)}offset"]
    polygons = bool(records) and records[0].polygon is not None
    header = ["index", "pattern", *names, "linear_region"]
    header += ["area", "polygon"] if polygons else []
    header += [f"{name}_float" for name in names] if floats else []
    header += ["area_float"] if floats and polygons else []
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    yield buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    for record in records:
        numbers: list[Fraction] = list(record.witness)
        for gradient, offset in zip(record.gradient, record.offset):
            numbers += [*gradient, offset]
        row: list[Any] = [record.index, record.pattern, *map(str, numbers),
                          record.linear_region]
        if record.polygon is not None:
            row += [str(area(record.polygon)),
                    ";".join(f"{x} {y}" for x, y in record.polygon)]
        if floats:
            row += [float(v) for v in numbers]
            if record.polygon is not None:
                row.append(float(area(record.polygon)))
        writer.writerow(row)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
