"""Pictures (tvmip.plot): the exact geometry behind them, checked independently.

Polygons are checked with an exact shoelace area and centroid and the pattern at the
centroid from tests/oracles.py (which shares no code with tvmip); one-input graphs
against the oracle's breakpoint propagation; plane slices by exact evaluation."""

from __future__ import annotations

import itertools
import json
import random
from collections.abc import Iterator, Sequence
from fractions import Fraction as Q
from pathlib import Path
from typing import Any

import oracles as O
import pytest

from tvmip.engine.listing import regions
from tvmip.errors import InputError
from tvmip.model.network import Box, default_network_path, evaluate, load_network
from tvmip.model.scaled import scale_network
from tvmip.model.subspace import Subspace, parse_subspace
from tvmip.plot import (
    Cell,
    boundaries,
    choose_view,
    graph_pieces,
    linear_ids,
    plot,
    region_cells,
)
from tvmip.search.oned import propagate

INSTANCES = Path(__file__).resolve().parent.parent / "instances"
MANIFEST = {e["network"]: e for e in json.loads((INSTANCES / "expected.json").read_text())}
BOXED_2D = sorted(name for name, e in MANIFEST.items() if name.startswith("n2_") and e["domain"])
OPEN_2D = sorted(name for name, e in MANIFEST.items()
                 if name.startswith("n2_") and e["domain"] is None)
ONE_D = sorted(name for name in MANIFEST if name.startswith("n1_"))
PNG = b"\x89PNG\r\n\x1a\n"


def make_box(domain: dict[str, Any]) -> Box:
    return Box(tuple(Q(v) for v in domain["lo"]), tuple(Q(v) for v in domain["hi"]))


def cyclic(polygon: Sequence[tuple[Q, Q]]) -> Iterator[tuple[tuple[Q, Q], tuple[Q, Q]]]:
    return zip(polygon, (*polygon[1:], polygon[0]))


def area2(polygon: Sequence[tuple[Q, Q]]) -> Q:
    """Twice the signed area (shoelace)."""
    return sum((p[0] * q[1] - q[0] * p[1] for p, q in cyclic(polygon)), Q(0))


def centroid(polygon: Sequence[tuple[Q, Q]]) -> tuple[Q, Q]:
    """The exact centroid of a simple polygon."""
    cx = cy = Q(0)
    for p, q in cyclic(polygon):
        cross = p[0] * q[1] - q[0] * p[1]
        cx += (p[0] + q[0]) * cross
        cy += (p[1] + q[1]) * cross
    a = area2(polygon)
    return cx / (3 * a), cy / (3 * a)


def on_segment(m: tuple[Q, Q], p: tuple[Q, Q], q: tuple[Q, Q]) -> bool:
    cross = (q[0] - p[0]) * (m[1] - p[1]) - (q[1] - p[1]) * (m[0] - p[0])
    return cross == 0 and min(p[0], q[0]) <= m[0] <= max(p[0], q[0]) and \
        min(p[1], q[1]) <= m[1] <= max(p[1], q[1])


def edges_through(m: tuple[Q, Q], cells: Sequence[Cell]) -> list[int]:
    """The cells with ``m`` on their boundary."""
    return [i for i, c in enumerate(cells) if any(on_segment(m, p, q) for p, q in cyclic(c.vertices))]


def midpoints(p: tuple[Q, Q], q: tuple[Q, Q], cells: Sequence[Cell]) -> list[tuple[Q, Q]]:
    """Midpoints of the segment ``pq`` cut at every cell vertex on it."""
    axis = 0 if p[0] != q[0] else 1
    cuts = sorted({v for c in cells for v in c.vertices if on_segment(v, p, q)} | {p, q},
                  key=lambda v: v[axis])
    return [((a[0] + b[0]) / 2, (a[1] + b[1]) / 2) for a, b in itertools.pairwise(cuts)]


def check_boundaries(cells: Sequence[Cell]) -> None:
    """Thick segments are exactly where different linear regions meet or the box ends
    (checked on every piece between cell vertices)."""
    thick, _ = boundaries(cells)

    def separates(m: tuple[Q, Q]) -> bool:
        sides = edges_through(m, cells)
        assert len(sides) in (1, 2)
        return len({cells[i].region.linear_region for i in sides}) == len(sides)

    for p, q in thick:
        assert all(separates(m) for m in midpoints(p, q, cells))
    for cell in cells:
        for p, q in cyclic(cell.vertices):
            for m in midpoints(p, q, cells):
                assert separates(m) == any(on_segment(m, a, b) for a, b in thick)


def check_cells(path: Path, box: Box, activation: int, linear: int | None) -> None:
    net = load_network(path)
    cells = region_cells(net, box)
    assert len(cells) == activation == len(list(regions(net, box)))
    if linear is not None:
        assert len({c.region.linear_region for c in cells}) == linear
    raw = json.loads(path.read_text())
    total = Q(0)
    for cell in cells:
        a = area2(cell.vertices)
        assert a > 0  # non-degenerate, counter-clockwise
        for x, y in cell.vertices:
            assert box.lo[0] <= x <= box.hi[0] and box.lo[1] <= y <= box.hi[1]
        found = O.point_pattern(raw, centroid(cell.vertices))
        assert found is not None and found[0] == cell.region.pattern
        total += a / 2
    assert total == (box.hi[0] - box.lo[0]) * (box.hi[1] - box.lo[1])
    if len(cells) < 100:
        check_boundaries(cells)


@pytest.mark.parametrize("name", BOXED_2D)
def test_polygons_tile_the_box(name: str) -> None:
    entry = MANIFEST[name]
    check_cells(INSTANCES / name, make_box(entry["domain"]), entry["activation_regions"],
                entry["linear_regions"])


def test_polygons_of_the_demo_network() -> None:
    path = default_network_path()
    box = Box((Q(-2), Q(-2)), (Q(2), Q(2)))
    check_cells(path, box, sum(1 for _ in regions(load_network(path), box)), None)


def parse_plane(text: str, dim: int) -> Subspace:
    return parse_subspace(text, dim, 2, "--slice")


@pytest.mark.parametrize("name", OPEN_2D)
def test_default_view_counts_the_regions_outside_it(name: str) -> None:
    """The default view's title counts are exact: the regions of R^2 (the manifest's
    count) split into those drawn in the view and those outside it."""
    entry = MANIFEST[name]
    net = load_network(INSTANCES / name)
    view = choose_view(scale_network(net))
    assert view.how == "default" and view.total == entry["activation_regions"]
    inside = view.total - view.outside
    check_cells(INSTANCES / name, view.box, inside, None)


@pytest.mark.parametrize("name", ONE_D)
def test_graph_pieces_are_the_breakpoint_partition(name: str) -> None:
    entry = MANIFEST[name]
    net = load_network(INSTANCES / name)
    box = make_box(entry["domain"]) if entry["domain"] else choose_view(scale_network(net)).box
    pieces = graph_pieces(net, box)
    oracle = O.breakpoints_1d(json.loads((INSTANCES / name).read_text()), box.lo[0], box.hi[0])
    assert [(p.lo, p.hi, p.pattern) for p in pieces] == [(o.lo, o.hi, o.pattern) for o in oracle]
    assert [p.affine_map for p in pieces] == [o.output_map for o in oracle]
    partition = propagate(scale_network(net), box)
    assert [p.pattern for p in pieces] == list(partition.patterns())
    for left, right in itertools.pairwise(pieces):  # f is continuous: the ends agree
        assert left.ends()[1] == right.ends()[0] == evaluate(net, [left.hi])
    linear = linear_ids(pieces)
    assert (len(pieces), linear[-1] + 1, len({p.affine_map for p in pieces})) == \
        (entry["activation_regions"], entry["linear_regions"], entry["distinct_maps"])


def test_restricted_network_agrees_on_the_plane() -> None:
    net = load_network(INSTANCES / "n3_gp_ternary.json")
    rng = random.Random(6)

    def rational() -> Q:
        return Q(rng.randint(-20, 20), rng.randint(1, 7))

    for _ in range(5):
        plane = Subspace(tuple(rational() for _ in range(3)),
                         tuple(tuple(rational() for _ in range(3)) for _ in range(2)))
        restricted = plane.restrict(net)
        assert restricted.input_dim == 2
        for _ in range(20):
            s, t = rational(), rational()
            assert evaluate(restricted, [s, t]) == evaluate(net, plane.at(s, t))


def test_parse_plane() -> None:
    plane = parse_plane("0, 1/2, -1; 1,0,0; 0,1,1", 3)
    assert plane == Subspace((Q(0), Q(1, 2), Q(-1)), ((Q(1), Q(0), Q(0)), (Q(0), Q(1), Q(1))))
    for bad in ("0,0,0;1,0,0", "0,0;1,0,0;0,1,0", "0,0,0;1,2,3;2,4,6", "0,0,x;1,0,0;0,1,0"):
        with pytest.raises(InputError):
            parse_plane(bad, 3)


def test_plot_writes_pictures(tmp_path: Path) -> None:
    entry = MANIFEST["n2_random_ternary_w8_d2.json"]
    net = load_network(INSTANCES / entry["network"])
    summary = plot(net, tmp_path / "map.png", box=make_box(entry["domain"]), name="w8")
    assert (summary.activation_regions, summary.linear_regions, summary.distinct_maps) == \
        (entry["activation_regions"], entry["linear_regions"], entry["distinct_maps"])
    assert (tmp_path / "map.png").read_bytes().startswith(PNG)
    plot(net, tmp_path / "map.svg")
    assert b"<svg" in (tmp_path / "map.svg").read_bytes()[:1000]
    plot(net, tmp_path / "map.pdf")
    assert (tmp_path / "map.pdf").read_bytes().startswith(b"%PDF")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["map.pdf", "map.png", "map.svg"]
    with pytest.raises(InputError):
        plot(net, tmp_path / "map.jpeg")


def test_plot_graph_and_slice(tmp_path: Path) -> None:
    entry = MANIFEST["n1_fold_ternary_d3.json"]
    summary = plot(load_network(INSTANCES / entry["network"]), tmp_path / "f.png")
    assert (summary.activation_regions, summary.linear_regions, summary.distinct_maps) == \
        (entry["activation_regions"], entry["linear_regions"], entry["distinct_maps"])
    assert (tmp_path / "f.png").read_bytes().startswith(PNG)
    net = load_network(INSTANCES / "n3_separable_box.json")
    plane = parse_plane("0,0,1/2;1,0,0;0,1,0", 3)
    summary = plot(net, tmp_path / "slice.svg", plane=plane)
    assert summary.plane == plane and len(summary.box.lo) == 2
    assert summary.activation_regions == len(regions(plane.restrict(net), summary.box))
    assert b"<svg" in (tmp_path / "slice.svg").read_bytes()[:1000]
