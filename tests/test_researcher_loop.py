"""The researcher's loop on the command line and in Python, against independent oracles.

Covers the options a user reaches for once a network is trained: ``count --data``
(the data's box, widened by a tenth of the spread and rounded outwards, recomputed
here from the points), ``count --line``/``--slice`` (the network restricted to a
line or plane, rebuilt here by hand and counted by tests/oracles.py),
``regions --graph`` (GraphML and node-link JSON, read back with networkx and
compared with the facets of the oracle's exact polygons), ``regions --floats`` and
``--polygons``, ``crosscheck`` over R^n0 (the derived box must meet every region),
``plot --data`` and ``tvmip.regions`` with and without limits.  Every count is
checked against tests/oracles.py (no tvmip code) or the hand counts of
instances/expected.json."""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Sequence
from fractions import Fraction as Q
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import oracles as O
import pytest
from cli_runner import Outcome, run_tvmip

import tvmip
from tvmip.model.scaled import scale_network
from tvmip.plot import choose_view
from tvmip.search.mip import milp_box

INSTANCES = Path(__file__).resolve().parent.parent / "instances"
MANIFEST = {e["network"]: e for e in json.loads((INSTANCES / "expected.json").read_text())}
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

Point = tuple[Q, ...]
BoxPair = tuple[tuple[Q, ...], tuple[Q, ...]]

# Four points and a target column; the box they give cuts the arrangements of the
# 2-input instances below (e.g. it holds the vertex (1, 0) of n2_concurrent_parallel
# but not (2, -2)).
DATA_CSV = "x1,x2,y\n-0.5,-0.75,1\n2.5,0.3,0\n1.2,1.9,2\n0,-1,0.5\n"
DATA_POINTS: list[Point] = [(Q("-0.5"), Q("-0.75")), (Q("2.5"), Q("0.3")),
                            (Q("1.2"), Q("1.9")), (Q(0), Q(-1))]


# -- helpers --------------------------------------------------------------------------


def instance(name: str) -> str:
    return str(INSTANCES / name)


def ok(args: list[str]) -> Outcome:
    """``tvmip ARGS`` that must succeed."""
    out = run_tvmip(args)
    assert out.code == 0, out
    assert "Traceback" not in out.stderr, out
    return out


def count_json(args: list[str]) -> dict[str, Any]:
    """The ``--json`` result of ``tvmip count ARGS``."""
    return json.loads(ok(["count", *args, "--json", "-q"]).stdout)


def fractions(values: Sequence[Any]) -> tuple[Q, ...]:
    return tuple(Q(str(v)) for v in values)


def domain_of(result: dict[str, Any]) -> BoxPair:
    return fractions(result["domain"]["lo"]), fractions(result["domain"]["hi"])


def box_option(box: BoxPair) -> str:
    """``--box`` text with every corner: LO1,..,LOn,HI1,..,HIn."""
    return ",".join(str(v) for v in (*box[0], *box[1]))


def box_text(box: BoxPair) -> str:
    """How tvmip prints a box: (lo1, hi1) x (lo2, hi2)."""
    return " x ".join(f"({lo}, {hi})" for lo, hi in zip(*box))


def widened_box(points: Sequence[Point]) -> BoxPair:
    """The data box recomputed from the README's rule: per coordinate, widen
    [min, max] by pad = a tenth of the spread (1 when the spread is 0), then round
    outwards to multiples of the largest power of two at most pad / 10."""
    lo, hi = [], []
    for i in range(len(points[0])):
        low, high = min(p[i] for p in points), max(p[i] for p in points)
        pad = (high - low) / 10 if high > low else Q(1)
        unit = Q(1)
        while unit > pad / 10:
            unit /= 2
        while 2 * unit <= pad / 10:
            unit *= 2
        lo.append(math.floor((low - pad) / unit) * unit)
        hi.append(math.ceil((high + pad) / unit) * unit)
        # the rounding only widens, by less than one unit (about a hundredth of pad)
        assert low - pad - unit < lo[-1] <= low - pad
        assert high + pad <= hi[-1] < high + pad + unit
    return tuple(lo), tuple(hi)


def restrict(path: str, point: Sequence[Q], directions: Sequence[Sequence[Q]]) -> dict[str, Any]:
    """The network u -> f(point + sum u_i d_i) as a ``tvmip-network/1`` dict, built
    from the oracle's reading of the file: W x + b becomes (W D) u + (W p + b)."""
    data = O.to_json(O.load(path))
    first = O.load(path).layers[0]
    data["input_dim"] = len(directions)
    data["layers"][0]["weights"] = [
        [O.fmt(sum((w * d_k for w, d_k in zip(row, d)), Q(0))) for d in directions]
        for row in first.weights]
    data["layers"][0]["biases"] = [
        O.fmt(sum((w * p_k for w, p_k in zip(row, point)), b))
        for row, b in zip(first.weights, first.biases)]
    return data


def polygon_counts(net: Any, box: BoxPair) -> tuple[int, int, int]:
    """(activation, linear, distinct maps) of a 2-input network over a box, by the
    oracle's exact polygon splitting."""
    cells = O.polygon_cells_2d(net, box)
    return (len(cells), *O.polygon_linear_count_2d(cells))


def shoelace(polygon: Sequence[Sequence[Q]]) -> Q:
    """The signed area of a polygon (positive when counter-clockwise)."""
    pairs = zip(polygon, (*polygon[1:], polygon[0]))
    return sum((p[0] * q[1] - q[0] * p[1] for p, q in pairs), Q(0)) / 2


def share_a_facet(a: Sequence[Sequence[Q]], b: Sequence[Sequence[Q]]) -> bool:
    """Whether two convex polygons share a boundary segment of positive length."""
    def cross(u: Sequence[Q], v: Sequence[Q]) -> Q:
        return u[0] * v[1] - u[1] * v[0]

    for p, q in zip(a, (*a[1:], a[0])):
        d = (q[0] - p[0], q[1] - p[1])
        if d == (0, 0):
            continue
        for r, s in zip(b, (*b[1:], b[0])):
            pr, ps = (r[0] - p[0], r[1] - p[1]), (s[0] - p[0], s[1] - p[1])
            if cross(d, pr) or cross(d, ps):
                continue  # not on the line through p and q
            t = sorted((pr[0] * d[0] + pr[1] * d[1], ps[0] * d[0] + ps[1] * d[1]))
            if min(d[0] ** 2 + d[1] ** 2, t[1]) > max(Q(0), t[0]):
                return True
    return False


def one_error_line(out: Outcome, *names: str) -> None:
    """Exit 2, nothing on stdout, one line on stderr starting with 'error:'."""
    assert out.code == 2, out
    assert out.stdout == "", out
    lines = out.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), out
    for name in names:
        assert name in lines[0], out


def check_traces(name: str, args: list[str], point: Point,
                 directions: Sequence[Point]) -> None:
    """``regions ARGS`` on a line or plane: each witness u, mapped to the input
    x = point + sum u_i d_i, lies in the original network's region of the listed
    pattern (oracle, on the original network), and the listed map is the oracle's
    map there composed with the subspace."""
    out = ok(["regions", instance(name), *args, "-q"])
    records = [json.loads(line) for line in out.stdout.splitlines()]
    assert records
    for record in records:
        u = fractions(record["witness"])
        x = tuple(p + sum((u_i * d[k] for u_i, d in zip(u, directions)), Q(0))
                  for k, p in enumerate(point))
        found = O.point_pattern(instance(name), x)
        assert found is not None and found[0] == record["pattern"], record
        g, c = found[1][:-1], found[1][-1]
        dot = sum((g_k * p_k for g_k, p_k in zip(g, point)), Q(0))
        assert fractions(record["offset"]) == (dot + c,)
        assert fractions(record["gradient"][0]) == tuple(
            sum((g_k * d_k for g_k, d_k in zip(g, d)), Q(0)) for d in directions)


# -- 1. count --data -----------------------------------------------------------------


@pytest.mark.parametrize("name", ["n2_concurrent_parallel.json", "n2_random_ternary_d3.json",
                                  "n2_gp_general.json"])
def test_count_data_csv_is_the_count_over_the_widened_box(tmp_path: Path, name: str) -> None:
    """``--data`` counts over the data's box widened by a tenth of the spread (and
    rounded outwards): recomputed here, it is the box tvmip reports, ``--box`` with it
    gives the same counts, and so does the oracle's polygon splitting."""
    data = tmp_path / "points.csv"
    data.write_text(DATA_CSV)
    box = widened_box(DATA_POINTS)
    by_data = count_json([instance(name), "--data", str(data), "--linear"])
    assert domain_of(by_data) == box
    by_box = count_json([instance(name), "--box", box_option(box), "--linear"])
    counts = (by_data["activation_regions"], by_data["linear_regions"],
              by_data["distinct_maps"])
    assert by_data["claim"] == "exact"
    assert counts == (by_box["activation_regions"], by_box["linear_regions"],
                      by_box["distinct_maps"])
    assert counts == polygon_counts(instance(name), box)
    text = ok(["count", instance(name), "--data", str(data), "-q"]).stdout
    assert f"{counts[0]} activation regions over box {box_text(box)} (exact" in text


def test_count_data_npz_reads_the_floats_exactly(tmp_path: Path) -> None:
    """An NPZ file's array ``x`` (beside a ``y``) is read as the exact binary values
    of its floats: the box is that of Fraction(float) of every coordinate; with one
    array of any name, that array is used."""
    floats = np.array([[-0.5, -0.75], [2.5, 0.3], [1.2, 1.9], [0.0, -1.0]])
    np.savez(tmp_path / "xy.npz", x=floats, y=np.zeros(4))
    np.savez(tmp_path / "only.npz", inputs=floats)
    box = widened_box([tuple(Q(float(v)) for v in row) for row in floats])
    net = instance("n2_concurrent_parallel.json")
    for file in ("xy.npz", "only.npz"):
        result = count_json([net, "--data", str(tmp_path / file)])
        assert domain_of(result) == box
        assert result["activation_regions"] == polygon_counts(net, box)[0]


def test_count_data_one_input_and_constant_coordinate(tmp_path: Path) -> None:
    """One input reads the first column only (the target is ignored); a coordinate
    whose points all agree is widened by 1 on each side.  Counts against the oracle's
    breakpoint propagation and polygon splitting."""
    data = tmp_path / "line.csv"
    data.write_text("x,y\n-1/3,10\n0.25,-7\n1,0\n")
    net1 = instance("n1_fold_ternary_d3.json")
    result = count_json([net1, "--data", str(data)])
    box = widened_box([(Q(-1, 3),), (Q(1, 4),), (Q(1),)])
    assert domain_of(result) == box
    assert (result["activation_regions"], result["linear_regions"],
            result["distinct_maps"]) == O.count_1d(net1, box[0][0], box[1][0])
    flat = tmp_path / "flat.csv"
    flat.write_text("3/2,1\n3/2,2.5\n")
    box = widened_box([(Q(3, 2), Q(1)), (Q(3, 2), Q(5, 2))])
    assert box[0][0] == Q(1, 2) and box[1][0] == Q(5, 2)  # widened by 1: (x - 1, x + 1)
    net2 = instance("n2_concurrent_parallel.json")
    result = count_json([net2, "--data", str(flat)])
    assert domain_of(result) == box
    assert result["activation_regions"] == polygon_counts(net2, box)[0]


BAD_DATA: dict[str, bytes] = {
    "empty.csv": b"",
    "header_only.csv": b"x1,x2\n",
    "words.csv": b"x1,x2\n1,2\n3,four\n",
    "nan.csv": b"1,2\nnan,1\n",
    "one_column.csv": b"1\n2\n",
    "short_row.csv": b"1,2\n3\n",
    "latin1.csv": b"\xff\xfe1,2\n",
    "two_headers.csv": b"a,b\nc,d\n0,0\n",
}


def test_count_data_header_after_blank_lines(tmp_path: Path) -> None:
    """A header row is skipped wherever it comes before the first point (blank lines
    first included): the same box as without them."""
    plain, padded = tmp_path / "plain.csv", tmp_path / "padded.csv"
    plain.write_text("x1,x2\n0,0\n1,1\n")
    padded.write_text("\n\nx1,x2\n0,0\n1,1\n")
    net = instance("n2_gp_ternary.json")
    first, second = (ok(["count", net, "--data", str(p), "-q"]) for p in (plain, padded))
    assert first.stdout.replace("plain", "") == second.stdout.replace("padded", "")


@pytest.mark.parametrize("name", sorted(BAD_DATA))
def test_count_bad_csv_data_is_one_error_line(tmp_path: Path, name: str) -> None:
    """Empty, non-numeric, too few columns, not UTF-8: exit 2 and one line naming
    the file."""
    data = tmp_path / name
    data.write_bytes(BAD_DATA[name])
    out = run_tvmip(["count", instance("n2_gp_ternary.json"), "--data", str(data), "-q"])
    one_error_line(out, name)


@pytest.mark.parametrize("arrays", [
    {"x": np.array([1.0, 2.0])},                    # 1-D for two inputs
    {"x": np.array([[1.0], [2.0]])},                # one column for two inputs
    {"x": np.array([[np.nan, 1.0], [1.0, 2.0]])},   # NaN
    {"x": np.array([["a", "b"]])},                  # strings
    {"a": np.zeros((2, 2)), "b": np.ones((2, 2))},  # several arrays, none named x
    {"x": np.zeros((0, 2))},                        # no points
], ids=["1d", "one_column", "nan", "strings", "no_x", "empty"])
def test_count_bad_npz_data_is_one_error_line(tmp_path: Path, arrays: dict[str, Any]) -> None:
    data = tmp_path / "bad.npz"
    np.savez(data, **arrays)
    out = run_tvmip(["count", instance("n2_gp_ternary.json"), "--data", str(data), "-q"])
    one_error_line(out, "bad.npz")


def test_count_data_and_box_together_is_an_error(tmp_path: Path) -> None:
    data = tmp_path / "points.csv"
    data.write_text(DATA_CSV)
    out = run_tvmip(["count", instance("n2_gp_ternary.json"), "--data", str(data),
                     "--box", "-1,1", "-q"])
    one_error_line(out, "--box", "--data")


@pytest.mark.parametrize("second", ["1e-330", "1e400"])
def test_count_data_with_a_spread_outside_float_range(tmp_path: Path, second: str) -> None:
    """The points are exact rationals, so any spread has a box; at worst a one-line
    input error, never an internal error."""
    data = tmp_path / "points.csv"
    data.write_text(f"0,0\n{second},1\n")
    out = run_tvmip(["count", instance("n2_gp_ternary.json"), "--data", str(data), "-q"])
    assert out.code in (0, 2) and "internal error" not in out.stderr, out


# -- 2. count --line and --slice -------------------------------------------------------


LINES = [
    ("n2_concurrent_parallel.json", "0,0", "1,1", None),        # through the concurrency
    ("n2_concurrent_parallel.json", "1/3,-1/5", "1,2/7", None),
    ("n2_random_ternary_d3.json", "1/3,-1/5", "1,2/7", None),
    ("n2_alternating_general_d4.json", "-1,1/2", "3,-1", ("-2", "5/2")),
    ("n3_gp_general.json", "1/2,0,-1", "1,-1/3,2", None),
]


@pytest.mark.parametrize(("name", "point", "direction", "box"), LINES)
def test_count_line_is_the_oracle_count_of_the_restricted_network(
        name: str, point: str, direction: str, box: tuple[str, str] | None) -> None:
    """``--line P;D`` counts the network restricted to x = P + s D: the restriction
    is rebuilt here from the first layer and counted by the oracle's breakpoint
    propagation (activation, linear regions, distinct maps; ``--box`` in s)."""
    args = [instance(name), "--line", f"{point};{direction}"]
    if box is not None:
        args += ["--box", ",".join(box)]
    result = count_json(args)
    restricted = restrict(instance(name), fractions(point.split(",")),
                          [fractions(direction.split(","))])
    lo, hi = (None, None) if box is None else fractions(box)
    assert (result["activation_regions"], result["linear_regions"],
            result["distinct_maps"]) == O.count_1d(restricted, lo, hi)
    assert result["claim"] == "exact" and result["subspace"].startswith("x = p + s d1")
    text = ok(["count", *args, "-q"]).stdout
    assert "on the line x = p + s d1" in text
    check_traces(name, args[1:], fractions(point.split(",")),
                 [fractions(direction.split(","))])


@pytest.mark.parametrize(("name", "box"), [("n2_concurrent_parallel.json", None),
                                           ("n2_gp_ternary.json", None),
                                           ("n2_random_ternary_d3.json", "-2,2")])
def test_count_slice_on_the_identity_plane_is_the_plain_count(
        name: str, box: str | None) -> None:
    """The plane 0 + s e1 + t e2 of a 2-input network is the network itself."""
    extra = [] if box is None else ["--box", box]
    sliced = count_json([instance(name), "--slice", "0,0;1,0;0,1", "--linear", *extra])
    plain = count_json([instance(name), "--linear", *extra])
    for key in ("activation_regions", "linear_regions", "distinct_maps", "claim"):
        assert sliced[key] == plain[key], key
    if box is None:
        assert sliced["activation_regions"] == MANIFEST[name]["activation_regions"]


@pytest.mark.parametrize(("name", "plane"), [
    ("n3_gp_general.json", "1/2,0,-1;1,1,0;0,1,2"),
    ("n3_separable_d2.json", "0,1/3,0;1,0,1;0,1,-1/2"),
    ("n2_concurrent_parallel.json", "1/2,1/3;2,1;-1,1"),
])
def test_count_slice_is_the_oracle_count_of_the_restricted_network(
        name: str, plane: str) -> None:
    """``--slice P;D1;D2 --box`` (the box in (s, t)) against the oracle's polygons of
    the restriction rebuilt here."""
    point, d1, d2 = (fractions(part.split(",")) for part in plane.split(";"))
    box: BoxPair = ((Q(-3), Q(-3)), (Q(3), Q(3)))
    result = count_json([instance(name), "--slice", plane, "--box", "-3,3", "--linear"])
    assert domain_of(result) == box
    restricted = restrict(instance(name), point, [d1, d2])
    assert (result["activation_regions"], result["linear_regions"],
            result["distinct_maps"]) == polygon_counts(restricted, box)
    check_traces(name, ["--slice", plane, "--box", "-3,3"], point, [d1, d2])


@pytest.mark.parametrize("args", [
    ["--slice", "0,0;1,0;2,0"],            # dependent directions
    ["--slice", "0,0;0,0;0,1"],            # zero DIR1
    ["--slice", "0,0;1,0"],                # too few parts
    ["--line", "0,0,0;1,0,0"],             # three coordinates for two inputs
    ["--line", "0,0;a,1"],                 # not a number
    ["--line", "0,0;1,0", "--slice", "0,0;1,0;0,1"],
    ["--line", "0,0;1,0", "--data", "points.csv"],
], ids=["dependent", "zero", "parts", "coordinates", "word", "both", "data"])
def test_count_bad_subspace_is_one_error_line(tmp_path: Path, args: list[str]) -> None:
    (tmp_path / "points.csv").write_text(DATA_CSV)
    args = [str(tmp_path / a) if a == "points.csv" else a for a in args]
    out = run_tvmip(["count", instance("n2_gp_ternary.json"), *args, "-q"])
    one_error_line(out)


# -- 3. regions --graph ---------------------------------------------------------------


def read_graph(path: Path) -> nx.Graph:
    if path.suffix == ".graphml":
        return nx.read_graphml(path)
    return nx.node_link_graph(json.loads(path.read_text()), edges="links")


@pytest.mark.parametrize("name", ["n2_alternating_general_d4.json",
                                  "n2_concurrent_parallel.json",
                                  "n2_random_ternary_d3.json"])
@pytest.mark.parametrize("suffix", [".graphml", ".json"])
def test_regions_graph_is_the_facet_graph_of_the_exact_polygons(
        tmp_path: Path, name: str, suffix: str) -> None:
    """Nodes are the activation regions with their exact data; edges join exactly
    the regions whose oracle polygons share a segment of positive length; ``glued``
    says whether the two maps are equal, and the components of the glued edges are
    the linear regions of ``count --linear`` and of the oracle."""
    entry = MANIFEST[name]
    box: BoxPair = (((Q(-3), Q(-3)), (Q(3), Q(3))) if entry["domain"] is None else
                    (fractions(entry["domain"]["lo"]), fractions(entry["domain"]["hi"])))
    graph_file = tmp_path / f"g{suffix}"
    ok(["regions", instance(name), "--box", box_option(box), "--graph", str(graph_file),
        "-q"])
    graph = read_graph(graph_file)
    counted = count_json([instance(name), "--box", box_option(box), "--linear"])
    assert graph.number_of_nodes() == counted["activation_regions"]

    cells = {c.pattern: c for c in O.polygon_cells_2d(instance(name), box)}
    node_pattern = {}
    for node, attrs in graph.nodes(data=True):
        assert set(attrs) >= {"pattern", "witness", "gradient", "offset", "linear_region"}
        witness = fractions(attrs["witness"].split())
        found = O.point_pattern(instance(name), witness)
        assert found is not None and found[0] == attrs["pattern"]
        g1, g2, c = cells[attrs["pattern"]].outputs[0]
        assert fractions(attrs["gradient"].split()) == (g1, g2)
        assert fractions(attrs["offset"].split()) == (c,)
        node_pattern[node] = attrs["pattern"]
    assert sorted(node_pattern.values()) == sorted(cells)

    edges = {frozenset((node_pattern[a], node_pattern[b])) for a, b in graph.edges}
    expected = {frozenset((p, q)) for p in cells for q in cells
                if p < q and share_a_facet(cells[p].polygon, cells[q].polygon)}
    assert edges == expected
    for a, b, attrs in graph.edges(data=True):
        same = all(graph.nodes[a][k] == graph.nodes[b][k] for k in ("gradient", "offset"))
        assert attrs["glued"] is same

    glued = nx.Graph()
    glued.add_nodes_from(graph.nodes)
    glued.add_edges_from((a, b) for a, b, glue in graph.edges(data="glued") if glue)
    components = list(nx.connected_components(glued))
    assert len(components) == counted["linear_regions"]
    if entry["domain"] is not None:
        assert len(components) == entry["linear_regions"]
    # each component carries one linear-region id, and the ids differ between them
    ids = [{graph.nodes[n]["linear_region"] for n in part} for part in components]
    assert all(len(i) == 1 for i in ids) and len(set().union(*ids)) == len(components)


def test_regions_graph_of_a_one_input_network_is_a_path(tmp_path: Path) -> None:
    """On a line the regions are intervals: the graph is the path of consecutive
    intervals, glued where the maps agree (n1_box_general_d2 over its box: 7
    intervals, 6 linear regions)."""
    name = "n1_box_general_d2.json"
    domain = MANIFEST[name]["domain"]
    graph_file = tmp_path / "g.json"
    ok(["regions", instance(name), "--box", f"{domain['lo'][0]},{domain['hi'][0]}",
        "--graph", str(graph_file), "-q"])
    graph = read_graph(graph_file)
    n = MANIFEST[name]["activation_regions"]
    assert sorted(graph.nodes) == list(range(n))
    assert sorted(tuple(sorted(e)) for e in graph.edges) == [(i, i + 1) for i in range(n - 1)]
    glued = sum(1 for _, _, glue in graph.edges(data="glued") if glue)
    assert n - glued == MANIFEST[name]["linear_regions"]


# -- 4. regions --floats and --polygons --------------------------------------------------


TWO_OUTPUTS = {
    "format": "tvmip-network/1", "input_dim": 2,
    "layers": [{"weights": [[1, "1/3"], [-1, 2], ["2/7", 1]], "biases": ["1/5", 0, "-1/3"],
                "activation": "relu"},
               {"weights": [[1, -1, "1/3"], ["2/3", 1, 0]], "biases": ["-1/9", "1/7"],
                "activation": "relu"}],
    "output": {"weights": [[1, "-5/3"], ["2/3", 1]], "biases": ["1/7", 0]},
}
"""Two outputs, thirds and sevenths: floats are rounded, CSV columns get prefixes."""


@pytest.fixture
def two_outputs(tmp_path: Path) -> Path:
    path = tmp_path / "two_outputs.json"
    path.write_text(json.dumps(TWO_OUTPUTS))
    return path


def test_regions_floats_csv_columns_match_the_exact_ones(two_outputs: Path) -> None:
    """``--format csv --floats``: every exact column has a ``_float`` twin equal to
    float(Fraction) of it; the exact columns give each region's map (oracle)."""
    out = ok(["regions", str(two_outputs), "--box", "-2,2", "--format", "csv", "--floats",
              "-q"])
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    header = list(rows[0])
    numbers = ["x1", "x2", "f1.grad1", "f1.grad2", "f1.offset", "f2.grad1", "f2.grad2",
               "f2.offset"]
    assert header == ["index", "pattern", *numbers, "linear_region",
                      *(f"{n}_float" for n in numbers)]
    box: BoxPair = ((Q(-2), Q(-2)), (Q(2), Q(2)))
    cells = {c.pattern: c for c in O.polygon_cells_2d(TWO_OUTPUTS, box)}
    assert sorted(r["pattern"] for r in rows) == sorted(cells)
    rounded = 0
    for row in rows:
        for name in numbers:
            exact = Q(row[name])
            assert float(row[f"{name}_float"]) == float(exact), (row, name)
            rounded += Q(float(exact)) != exact
        outputs = cells[row["pattern"]].outputs
        for k, (g1, g2, c) in enumerate(outputs, 1):
            assert (Q(row[f"f{k}.grad1"]), Q(row[f"f{k}.grad2"]), Q(row[f"f{k}.offset"])) \
                == (g1, g2, c)
    assert rounded > 0  # some columns are not binary fractions: the floats are rounded


def test_regions_floats_jsonl_match_the_exact_values(two_outputs: Path) -> None:
    """``--floats`` in JSON lines: witness_float, gradient_float, offset_float are
    the exact values as floats; without ``--floats`` there are none."""
    lines = ok(["regions", str(two_outputs), "--floats", "-q"]).stdout.splitlines()
    plain = ok(["regions", str(two_outputs), "-q"]).stdout.splitlines()
    assert len(lines) == len(plain) == count_json([str(two_outputs)])["activation_regions"]
    for line, bare in zip(lines, plain):
        record = json.loads(line)
        assert "witness_float" not in json.loads(bare)
        assert {k: v for k, v in record.items() if not k.endswith("_float")} \
            == json.loads(bare)
        assert record["witness_float"] == [float(Q(str(v))) for v in record["witness"]]
        assert record["gradient_float"] == [[float(Q(str(v))) for v in row]
                                            for row in record["gradient"]]
        assert record["offset_float"] == [float(Q(str(v))) for v in record["offset"]]


@pytest.mark.parametrize(("name", "box"), [
    ("n2_concurrent_parallel.json", ((Q(-3), Q(-3)), (Q(3), Q(3)))),
    ("n2_random_ternary_d3.json", ((Q(-2), Q(-2)), (Q(2), Q(2)))),
    ("n2_alternating_general_d4.json", ((Q(-3), Q(-5, 2)), (Q(5, 2), Q(3)))),
])
def test_regions_polygons_tile_the_box(name: str, box: BoxPair) -> None:
    """``--polygons``: each region's polygon lies in the box, is counter-clockwise,
    its ``area`` is its shoelace area and that of the oracle's polygon for the same
    pattern, and the areas add up to the box's area."""
    out = ok(["regions", instance(name), "--box", box_option(box), "--polygons",
              "--floats", "-q"])
    records = [json.loads(line) for line in out.stdout.splitlines()]
    oracle = {c.pattern: shoelace(c.polygon) for c in O.polygon_cells_2d(instance(name), box)}
    assert sorted(r["pattern"] for r in records) == sorted(oracle)
    total = Q(0)
    for record in records:
        polygon = [fractions(v) for v in record["polygon"]]
        assert all(box[0][i] <= v[i] <= box[1][i] for v in polygon for i in (0, 1))
        area = Q(str(record["area"]))
        assert shoelace(polygon) == area == oracle[record["pattern"]] > 0
        assert record["area_float"] == float(area)
        total += area
    assert total == (box[1][0] - box[0][0]) * (box[1][1] - box[0][1])


def test_regions_polygons_csv_columns() -> None:
    """The CSV form carries ``area`` and the vertices as ``x y`` pairs joined by ';',
    and with ``--floats`` the area as a float too."""
    box: BoxPair = ((Q(-3), Q(-3)), (Q(3), Q(3)))
    out = ok(["regions", instance("n2_gp_ternary.json"), "--box", "-3,3", "--polygons",
              "--format", "csv", "--floats", "-q"])
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    total = Q(0)
    for row in rows:
        polygon = [fractions(pair.split()) for pair in row["polygon"].split(";")]
        assert shoelace(polygon) == Q(row["area"]) > 0
        assert float(row["area_float"]) == float(Q(row["area"]))
        total += Q(row["area"])
    assert total == 36
    assert len(rows) == polygon_counts(instance("n2_gp_ternary.json"), box)[0]


@pytest.mark.parametrize("args", [["n2_gp_ternary.json"],
                                  ["n1_box_general_d2.json", "--box", "-1,1"]],
                         ids=["no_box", "one_input"])
def test_regions_polygons_need_two_inputs_and_a_box(args: list[str]) -> None:
    out = run_tvmip(["regions", instance(args[0]), *args[1:], "--polygons", "-q"])
    one_error_line(out, "--polygons")


# -- 5. crosscheck over R^n0 -----------------------------------------------------------


RANK_ONE = {"input_dim": 2, "layers": [
    {"weights": [[1, 1], [1, 1], [2, 2]], "biases": [-1, -3, "1/2"], "activation": "relu"}],
    "output": {"weights": [[1, -1, 1]], "biases": [0]}}
"""Parallel lines x + y = 1, 3, -1/4 (rank 1): 4 strips."""
FAR_VERTEX = {"input_dim": 2, "layers": [
    {"weights": [[1, 0], [0, 1], [1, 1]], "biases": [-100, "7/3", -50], "activation": "relu"}],
    "output": {"weights": [[1, 1, 1]], "biases": [0]}}
"""x = 100, y = -7/3, x + y = 50 in general position (7 regions); a vertex at (100, -50)."""
IDENTITY_FIRST = {"input_dim": 2, "layers": [
    {"weights": [[1, 1], [1, -1]], "biases": [0, 0], "activation": "identity"},
    {"weights": [[1, 0], [0, 1], [1, 1]], "biases": [-5, 3, -10], "activation": "relu"}],
    "output": {"weights": [[1, -1, 1]], "biases": [0]}}
"""One layer with a state behind an identity layer: u = x + y = 5, v = x - y = -3 and
u + v = 2x = 10, in general position in (u, v): 7 regions, vertices up to 13."""

CROSSCHECKED: dict[str, tuple[Any, int]] = {
    "n2_gp_ternary": (instance("n2_gp_ternary.json"), 11),
    "n2_gp_general": (instance("n2_gp_general.json"), 22),
    "n2_concurrent_parallel": (instance("n2_concurrent_parallel.json"), 12),
    "n3_gp_ternary": (instance("n3_gp_ternary.json"), 42),
    "rank_one": (RANK_ONE, 4),
    "far_vertex": (FAR_VERTEX, O.arrangement_count(3, 2)),
    "identity_first": (IDENTITY_FIRST, O.arrangement_count(3, 2)),
}


@pytest.mark.parametrize("key", sorted(CROSSCHECKED))
def test_crosscheck_over_the_whole_space_meets_every_region(tmp_path: Path, key: str) -> None:
    """``crosscheck`` without ``--box`` on a one-layer network: exit 0, "no missing
    pattern", and the box it reports (that of milp_box) meets every region: the
    count over it equals the count over R^n0 (expected.json's hand/oracle counts,
    the closed-form arrangement count, or the oracle's polygons over the box)."""
    source, regions = CROSSCHECKED[key]
    if isinstance(source, dict):
        path = tmp_path / f"{key}.json"
        path.write_text(json.dumps(source))
        source = str(path)
    out = ok(["crosscheck", source])
    net = tvmip.load_network(source)
    n0 = net.input_dim
    assert f"{regions} activation regions over R^{n0} (exact" in out.stdout
    assert "MIP cross-check: no missing pattern" in out.stdout
    found = re.search(rf"MILP over R\^{n0} through the box (.*?): (.*)", out.stdout)
    assert found is not None, out
    domain = milp_box(scale_network(net), None)
    box: BoxPair = (domain.box.lo, domain.box.hi)
    assert found.group(1) == box_text(box) and found.group(2) == domain.reason
    assert "meets every region" in domain.reason
    assert count_json([source, "--box", box_option(box)])["activation_regions"] == regions
    if n0 == 2:
        assert polygon_counts(source, box)[0] == regions


def test_crosscheck_box_is_tight_enough_to_reach_a_far_vertex() -> None:
    """The derived box reaches past the arrangement's farthest vertex (100, -50) and
    no further than the next integer."""
    net = tvmip.network_from_dict(FAR_VERTEX)
    domain = milp_box(scale_network(net), None)
    assert domain.box.lo == (-101, -101) and domain.box.hi == (101, 101)


def test_crosscheck_over_the_whole_space_of_a_deep_network() -> None:
    """n2_alternating_general_d4 (two layers with a state): over R^2 the box tvmip can
    prove to meet every region is about (+-5.6e14)^2, too wide for a float MILP, so
    crosscheck (and count --engine milp) refuse in one line and ask for --box."""
    for args in (["crosscheck"], ["count", "--engine", "milp"]):
        out = run_tvmip([*args, instance("n2_alternating_general_d4.json")])
        assert out.code == 2 and out.stderr.startswith("error:"), out
        assert "give --box" in out.stderr and len(out.stderr.strip().splitlines()) == 1, out


# -- 6. plot --data -----------------------------------------------------------------------


def test_plot_data_writes_a_png_with_the_counts_of_count_data(tmp_path: Path) -> None:
    """``plot --data``: a PNG over the data's box, with the counts of
    ``count --data --linear``; ``--colour f`` and ``grad`` draw other pictures of the
    same regions."""
    data = tmp_path / "points.csv"
    data.write_text(DATA_CSV)
    name = instance("n2_concurrent_parallel.json")
    counted = count_json([name, "--data", str(data), "--linear"])
    box = widened_box(DATA_POINTS)
    pictures = {}
    for colour in ("linear", "f", "grad"):
        picture = tmp_path / f"{colour}.png"
        out = ok(["plot", name, "--data", str(data), "-o", str(picture), "--colour", colour,
                  "-q"])
        assert out.stdout.strip() == (
            f"{picture}: {counted['activation_regions']} activation regions, "
            f"{counted['linear_regions']} linear regions, {counted['distinct_maps']} "
            f"distinct maps over {box_text(box)}")
        pictures[colour] = picture.read_bytes()
        assert pictures[colour].startswith(PNG_SIGNATURE)
    assert len(set(pictures.values())) == 3


def test_plot_data_one_input(tmp_path: Path) -> None:
    """One input: the graph of f over the data's box (first column), with the
    oracle's breakpoint counts."""
    data = tmp_path / "points.csv"
    data.write_text(DATA_CSV)
    picture = tmp_path / "graph.png"
    name = instance("n1_fold_ternary_d3.json")
    out = ok(["plot", name, "--data", str(data), "-o", str(picture), "-q"])
    box = widened_box([p[:1] for p in DATA_POINTS])
    act, lin, maps = O.count_1d(name, box[0][0], box[1][0])
    assert out.stdout.strip() == (f"{picture}: {act} activation regions, {lin} linear "
                                  f"regions, {maps} distinct maps over {box_text(box)}")
    assert picture.read_bytes().startswith(PNG_SIGNATURE)


def test_choose_view_with_data_is_the_widened_box() -> None:
    """The drawn domain with data and no box is the data's box ('data'); a box wins."""
    net = scale_network(tvmip.load_network(instance("n2_gp_ternary.json")))
    view = choose_view(net, None, DATA_POINTS)
    assert view.how == "data" and (view.box.lo, view.box.hi) == widened_box(DATA_POINTS)
    box = tvmip.parse_box("-1,1", 2)
    assert choose_view(net, box, DATA_POINTS).box == box


# -- 7. the Python API: tvmip.regions ---------------------------------------------------


@pytest.mark.parametrize(("name", "box"), [("n2_gp_ternary.json", None),
                                           ("n2_concurrent_parallel.json", "-3,3"),
                                           ("n2_random_ternary_d3.json", "-2,2")])
def test_regions_api_complete_listing(name: str, box: str | None) -> None:
    """A complete RegionList: one entry per region of ``tvmip.count``, each witness
    in its pattern's region (oracle), linear-region ids as many as linear regions."""
    net = tvmip.load_network(instance(name))
    domain = None if box is None else tvmip.parse_box(box, 2)
    listing = tvmip.regions(net, domain)
    result = tvmip.count(net, domain, linear=True)
    assert listing.complete and listing.stop_reason is None
    assert len(listing) == result.activation_regions == len({r.pattern for r in listing})
    assert listing.linear_regions == result.linear_regions
    for i, region in enumerate(listing):
        assert region.index == i
        found = O.point_pattern(instance(name), region.witness)
        assert found is not None and found[0] == region.pattern
        assert (*region.gradient[0], region.offset[0]) == found[1]


def test_regions_api_with_a_region_limit_is_incomplete() -> None:
    """``Limits(max_regions=3)`` stops the tree search after 3 regions: an incomplete
    list of exactly those 3 (the first 3 of the complete listing, the cut being
    deterministic), a lower-bound count and no linear-region ids."""
    net = tvmip.load_network(instance("n2_gp_ternary.json"))
    full = tvmip.regions(net)
    partial = tvmip.regions(net, limits=tvmip.Limits(max_regions=3))
    assert not partial.complete and partial.stop_reason == "max-regions"
    assert len(partial) == 3
    assert [r.pattern for r in partial] == [r.pattern for r in full][:3]
    assert partial.linear_regions is None
    assert all(r.linear_region is None for r in partial)
    assert partial.result is not None and not partial.result.exact
    with pytest.raises(tvmip.InputError):
        tvmip.Limits(max_regions=0)


def test_regions_api_limit_above_the_count_is_complete() -> None:
    """A limit the search never reaches changes nothing."""
    net = tvmip.load_network(instance("n2_gp_ternary.json"))
    listing = tvmip.regions(net, limits=tvmip.Limits(max_regions=12))
    assert listing.complete and len(listing) == 11 and listing.linear_regions == 11


def test_regions_api_one_input_ignores_the_region_limit() -> None:
    """One input uses the breakpoint engine, which always runs to the exact count
    (README: the limits apply to the tree engine); with engine='tree' the limit
    holds."""
    net = tvmip.load_network(instance("n1_fold_ternary_d3.json"))
    listing = tvmip.regions(net, limits=tvmip.Limits(max_regions=3))
    assert listing.complete and len(listing) == 27 and listing.linear_regions == 27
    tree = tvmip.regions(net, engine="tree", limits=tvmip.Limits(max_regions=3))
    assert not tree.complete and len(tree) == 3


def test_region_limit_equal_to_the_count_is_not_a_stop(tmp_path: Path) -> None:
    net = tvmip.load_network(instance("n2_gp_ternary.json"))
    listing = tvmip.regions(net, limits=tvmip.Limits(max_regions=11))
    assert listing.result is not None and listing.result.exact and len(listing) == 11
    assert listing.complete and listing.linear_regions == 11
    out = run_tvmip(["count", instance("n2_gp_ternary.json"), "--max-regions", "11",
                     "--linear", "-q"])
    assert out.code == 0 and "linear regions: 11" in out.stdout, out
