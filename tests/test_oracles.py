"""Tests of the independent oracles (tests/oracles.py) on hand-computed cases, and
cross-checks between oracles.  Nothing here imports tvmip."""

from __future__ import annotations

import itertools
import json
import random
from fractions import Fraction as Q
from pathlib import Path
from typing import Any

import oracles as O
import pytest

INSTANCES = Path(__file__).resolve().parent.parent / "instances"
MANIFEST = json.loads((INSTANCES / "expected.json").read_text())


def net1(layers: list[tuple[list, list, str]], out: list, out_b: Any = 0, dim: int = 1) -> dict[str, Any]:
    """A network dict from (weights, biases, activation) triples and output weights."""
    return {
        "input_dim": dim,
        "layers": [{"weights": w, "biases": b, "activation": a} for w, b, a in layers],
        "output": {"weights": [out], "biases": [out_b]},
    }


# ------------------------------------------------------------------------ reading


def test_load_reads_numbers_exactly(tmp_path: Path) -> None:
    text = ('{"input_dim": 1, "layers": [{"weights": [[0.1], ["1/3"], [2]], '
            '"biases": ["-0.25", 1e-3, 0], "activation": "relu"}], '
            '"output": {"weights": [[1, 1, 1]], "biases": [0.5]}}')
    path = tmp_path / "n.json"
    path.write_text(text)
    net = O.load(path)
    assert net.layers[0].weights == ((Q(1, 10),), (Q(1, 3),), (Q(2),))
    assert net.layers[0].biases == (Q(-1, 4), Q(1, 1000), Q(0))
    assert net.output.biases == (Q(1, 2),)
    assert O.load(json.loads(text)).layers[0].weights[0][0] == Q(1, 10)  # Python float 0.1
    assert O.load(O.to_json(net)) == net


def test_load_rejects_bad_shapes() -> None:
    with pytest.raises(ValueError):
        O.load(net1([([[1, 2]], [0], "relu")], [1]))
    with pytest.raises(ValueError):
        O.load(net1([([[1]], [0], "tanh")], [1]))


def test_evaluate() -> None:
    net = net1([([[1], [-1]], [0, 0], "relu"), ([[1, 1]], ["-1/2"], "identity")], [2], 1)
    assert O.evaluate(net, [Q(-3)]) == (Q(6),)  # 2 * (3 - 1/2) + 1


# ------------------------------------------------------------------------- n0 = 1


def test_abs() -> None:
    net = net1([([[1], [-1]], [0, 0], "relu")], [1, 1])
    pieces = O.breakpoints_1d(net)
    assert [(p.lo, p.hi, p.pattern) for p in pieces] == [(None, 0, "-+"), (0, None, "+-")]
    assert [p.output_map for p in pieces] == [((-1, 0),), ((1, 0),)]
    assert O.count_1d(net) == (2, 2, 2)


def test_cancelling_neurons() -> None:
    net = net1([([[1], [1]], [0, 0], "relu")], [1, -1])  # relu(x) - relu(x) = 0
    assert O.count_1d(net) == (2, 1, 1)


def test_duplicated_neuron() -> None:
    net = net1([([[1], [1], [1]], [0, 0, -1], "relu")], [1, 1, 1])
    pieces = O.breakpoints_1d(net)
    assert [p.pattern for p in pieces] == ["---", "++-", "+++"]
    assert [p.lo for p in pieces] == [None, 0, 1]
    assert O.count_1d(net) == (3, 3, 3)


def test_dead_zero_and_constant_rows() -> None:
    # a zero row is identically 0 ('0'); a constant row has a fixed sign
    net = net1([([[0], [0], [0], [1]], [0, -1, 2, 0], "relu")], [1, 1, 1, 1])
    assert [p.pattern for p in O.breakpoints_1d(net)] == ["0-+-", "0-++"]
    assert O.count_1d(net) == (2, 2, 2)


def test_neuron_vanishing_on_an_interval() -> None:
    # layer 2 reads relu(x) only: identically zero for x < 0, positive for x > 0;
    # the second layer-2 neuron is -relu(x) - 1 < 0: never active
    net = net1([([[1]], [0], "relu"), ([[1], [-1]], [0, -1], "relu")], [1, 1])
    assert [p.pattern for p in O.breakpoints_1d(net)] == ["-0-", "++-"]


def test_touching_zero_without_a_sign_change() -> None:
    # |x| = relu(x) + relu(-x) vanishes at 0 but is positive on both sides: the second
    # layer adds no breakpoint (the pattern changes at 0 because of layer 1 anyway)
    net = net1([([[1], [-1]], [0, 0], "relu"), ([[1, 1]], [0], "relu")], [1])
    assert [p.pattern for p in O.breakpoints_1d(net)] == ["-++", "+-+"]
    # relu(|x| - 1): breakpoints -1, 0, 1
    net = net1([([[1], [-1]], [0, 0], "relu"), ([[1, 1]], [-1], "relu")], [1])
    assert [p.pattern for p in O.breakpoints_1d(net)] == ["-++", "-+-", "+--", "+-+"]


def test_identity_layers_carry_no_state() -> None:
    net = net1([([[1], [1]], [0, -1], "identity"), ([[1, 0], [0, 1], [1, 1]], [0, 0, 0], "relu")], [1, 1, 1])
    pieces = O.breakpoints_1d(net)
    assert [p.pattern for p in pieces] == ["---", "+--", "+-+", "+++"]
    assert [p.lo for p in pieces] == [None, 0, Q(1, 2), 1]


def test_hat_has_repeated_maps() -> None:
    # relu(x+1) - relu(x) - relu(x) + relu(x-1): maps 0, x+1, 1-x, 0
    net = net1([([[1], [1], [1], [1]], [1, 0, 0, -1], "relu")], [1, -1, -1, 1])
    assert O.count_1d(net) == (4, 4, 3)


def test_interval_domains() -> None:
    net = net1([([[1]], [-1], "relu")], [1])
    assert O.count_1d(net, Q(0), Q(2))[0] == 2
    assert O.count_1d(net, Q(1), Q(2))[0] == 1  # breakpoint on the closed end
    assert O.count_1d(net, Q(2), Q(3))[0] == 1
    assert O.count_1d(net, None, Q(1))[0] == 1
    assert O.count_1d(net, Q(1, 2), None)[0] == 2


def test_maximum_for_width_n_at_n0_1() -> None:
    # a fold keeps every piece affine and separate: 27 regions from the manifest instance
    assert O.count_1d(INSTANCES / "n1_fold_ternary_d3.json")[:2] == (27, 27)


def random_net(rng: random.Random, dim: int, depth: int, ternary: bool, degenerate: bool = True,
               identity_rate: float = 0.2) -> dict[str, Any]:
    """A small random network; with ``degenerate``, duplicated and zero rows."""
    def num(small: bool = False) -> Any:
        if ternary or small:
            return rng.choice((-1, 0, 1))
        return O.fmt(Q(rng.randint(-6, 6), rng.randint(1, 3)))

    layers, fan_in = [], dim
    for _ in range(depth):
        width = rng.randint(2, 5)
        w = [[num() for _ in range(fan_in)] for _ in range(width)]
        b = [O.fmt(Q(rng.randint(-7, 7), rng.choice((1, 2, 3, 5)))) for _ in range(width)]
        if degenerate and width >= 3:
            i, j = rng.sample(range(width), 2)
            w[j], b[j] = list(w[i]), b[i]  # duplicate
            if rng.random() < 0.5:
                k = rng.choice([k for k in range(width) if k not in (i, j)])
                w[k] = [0] * fan_in
                b[k] = rng.choice((0, -1, 1))
        act = "identity" if rng.random() < identity_rate else "relu"
        layers.append({"weights": w, "biases": b, "activation": act})
        fan_in = width
    return {"input_dim": dim, "layers": layers,
            "output": {"weights": [[num() for _ in range(fan_in)]], "biases": [0]}}


def test_breakpoints_match_point_evaluation() -> None:
    """Every grid point: its pattern is the piece's, and f(x) is the piece's map."""
    rng = random.Random(7)
    for trial in range(40):
        net = random_net(rng, 1, rng.randint(1, 3), ternary=trial % 2 == 0)
        lo, hi = Q(-4), Q(4)
        pieces = O.breakpoints_1d(net, lo, hi)
        assert pieces[0].lo == lo and pieces[-1].hi == hi
        assert all(a.hi == b.lo for a, b in itertools.pairwise(pieces))
        for (x,) in O.rational_grid(([lo], [hi]), 240):
            piece = next(p for p in pieces if p.lo < x < p.hi)
            got = O.point_pattern(net, [x])
            if got is None:
                continue
            assert got[0] == piece.pattern
            assert O.evaluate(net, [x]) == (piece.slope[0] * x + piece.offset[0],)
        # the breakpoints themselves: f continuous, so both neighbours' maps agree there
        for a, b in itertools.pairwise(pieces):
            fx = O.evaluate(net, [a.hi])[0]
            assert a.slope[0] * a.hi + a.offset[0] == fx == b.slope[0] * a.hi + b.offset[0]


def test_breakpoints_over_r_restrict_to_a_box() -> None:
    rng = random.Random(11)
    for trial in range(40):
        net = random_net(rng, 1, rng.randint(1, 3), ternary=trial % 2 == 1)
        full = O.breakpoints_1d(net)
        lo, hi = Q(rng.randint(-9, 0), 3), Q(rng.randint(1, 9), 4)
        inside = [p for p in full if (p.lo is None or p.lo < hi) and (p.hi is None or p.hi > lo)]
        assert [p.pattern for p in O.breakpoints_1d(net, lo, hi)] == [p.pattern for p in inside]


# ------------------------------------------------------------------------- n0 = 2

BIG = ((Q(-100), Q(-100)), (Q(100), Q(100)))


def lines(rows: list[list[int]], biases: list[Any], out: list[Any] | None = None) -> dict[str, Any]:
    out = out if out is not None else [1] * len(rows)
    return net1([(rows, biases, "relu")], out, dim=2)


def test_concurrent_lines() -> None:
    assert O.polygon_count_2d(lines([[1, 0], [0, 1], [1, 1]], [0, 0, 0]), BIG) == 6
    assert O.polygon_count_2d(lines([[1, 0], [0, 1], [1, 1], [1, -1]], [0, 0, 0, 0]), BIG) == 8


def test_parallel_and_duplicate_lines() -> None:
    assert O.polygon_count_2d(lines([[1, 0], [1, 0], [-1, 0]], [0, -1, 2]), BIG) == 4
    assert O.polygon_count_2d(lines([[1, 0], [1, 0]], [0, 0]), BIG) == 2
    # x = 1 twice (copies cancel in f) and y = 0 with output weight 0: f = 0 on 4 regions
    net = lines([[1, 0], [1, 0], [0, 1]], [-1, -1, 0], out=[1, -1, 0])
    cells = O.polygon_cells_2d(net, BIG)
    assert len(cells) == 4
    assert O.polygon_linear_count_2d(cells) == (1, 1)


def test_zero_and_dead_rows_2d() -> None:
    net = lines([[0, 0], [0, 0], [1, 0]], [0, -1, 0])
    cells = O.polygon_cells_2d(net, BIG)
    assert sorted(c.pattern for c in cells) == ["0-+", "0--"]


def test_box_cuts_regions() -> None:
    net = lines([[1, 0], [0, 1], [1, 1]], [0, 0, 0])
    assert O.polygon_count_2d(net, ((Q(1), Q(1)), (Q(2), Q(2)))) == 1
    assert O.polygon_count_2d(net, ((Q(0), Q(0)), (Q(2), Q(2)))) == 1  # lines on the boundary
    assert O.polygon_count_2d(net, ((Q(-1), Q(1)), (Q(2), Q(2)))) == 2
    assert O.polygon_count_2d(net, ((Q(-2), Q(1, 2)), (Q(2), Q(2)))) == 3


def test_polygon_linear_regions() -> None:
    # hat in x: relu(x+1) - 2 relu(x) + relu(x-1): 4 strips, maps 0, x+1, 1-x, 0
    net = lines([[1, 0], [1, 0], [1, 0], [1, 0]], [1, 0, 0, -1], out=[1, -1, -1, 1])
    cells = O.polygon_cells_2d(net, BIG)
    assert len(cells) == 4 and O.polygon_linear_count_2d(cells) == (4, 3)
    # |x| + |y| and a line x + y = 5 with output weight 0: it crosses quadrants I, II and
    # IV (7 activation regions) but its pieces glue back into the 4 quadrants
    net = lines([[1, 0], [-1, 0], [0, 1], [0, -1], [1, 1]], [0, 0, 0, 0, -5], out=[1, 1, 1, 1, 0])
    cells = O.polygon_cells_2d(net, BIG)
    assert len(cells) == 7 and O.polygon_linear_count_2d(cells) == (4, 4)


def candidate_lines(net: O.Net) -> list[tuple[Q, Q, Q]]:
    """Every line (a, b, c) meaning a x + b y + c = t that can carry an edge of a region
    of an n0 = 2 network: a neuron's pre-activation map, along *any* choice of cells for
    the earlier neurons (realised or not), set equal to one of its breakpoints t."""
    maps: list[list[O.Affine]] = [O._identity_maps(2)]  # the possible inputs of a layer
    lines = []
    for lay in net.layers:
        table = lay.table
        pres = [O._compose(lay, m, 2) for m in maps]
        for pre in pres:
            for m in pre:
                if not O._is_constant(m):
                    lines += [(m[0], m[1], m[2] - t) for t in table.breakpoints]
        cells = range(2 * len(table.breakpoints) + 1)
        maps = [list(post) for pre in pres for post in itertools.product(
            *[[O._cell_map(table, c, m) for c in cells] for m in pre])]
        maps = [list(m) for m in {tuple(m) for m in maps}]
        assert len(maps) <= 10_000, "too many cell choices for this oracle"
    return list(set(lines))


def vertex_box(net: dict[str, Any]) -> tuple[tuple[Q, Q], tuple[Q, Q]]:
    """A box whose interior contains every vertex of the regions of an n0 = 2 network
    and meets every line that can carry an edge, so that every region of R^2 meets it,
    and so does every edge shared by two regions.  Every vertex lies on two non-parallel
    :func:`candidate_lines`; a region without a vertex is a strip or half-plane bounded
    by whole candidate lines.  Regions are convex, so each meets the box in one cell and
    counts (activation and glued linear) in the box equal those over R^2."""
    lines = candidate_lines(O.load(net))
    m = Q(1)
    for a, b, c in lines:  # the point of the line nearest to the origin
        norm = a * a + b * b
        m = max(m, abs(c * a / norm), abs(c * b / norm))
    for (a1, b1, c1), (a2, b2, c2) in itertools.combinations(lines, 2):
        det = a1 * b2 - b1 * a2
        if det:
            x = (-c1 * b2 + b1 * c2) / det
            y = (-a1 * c2 + c1 * a2) / det
            assert a1 * x + b1 * y + c1 == 0 == a2 * x + b2 * y + c2
            m = max(m, abs(x), abs(y))
    return (-m - 1, -m - 1), (m + 1, m + 1)


@pytest.mark.parametrize("ternary", [True, False])
def test_polygon_matches_arrangement_formula(ternary: bool) -> None:
    rng = random.Random(3)
    for n in range(1, 5 if ternary else 8):
        for _ in range(3):
            net = O.general_position_layer(n, 2, rng, ternary)
            assert O.polygon_count_2d(net, vertex_box(net)) == O.arrangement_count(n, 2)


def test_general_position_check() -> None:
    gp = O.in_general_position
    assert gp([[Q(1), Q(0)], [Q(0), Q(1)], [Q(1), Q(1)]], [Q(0), Q(0), Q(1)])
    assert not gp([[Q(1), Q(0)], [Q(0), Q(1)], [Q(1), Q(1)]], [Q(0), Q(0), Q(0)])  # concurrent
    assert not gp([[Q(1), Q(0)], [Q(2), Q(0)]], [Q(0), Q(1)])  # parallel
    assert not gp([[Q(1), Q(1), Q(0)], [Q(0), Q(1), Q(1)], [Q(1), Q(2), Q(1)]], [Q(1), Q(2), Q(3)])
    assert O.arrangement_count(4, 2) == 11 and O.arrangement_count(7, 3) == 64


def test_general_position_generator() -> None:
    rng = random.Random(5)
    for n0, n, ternary in [(1, 4, True), (2, 4, True), (3, 6, True), (4, 7, True), (3, 8, False)]:
        net = O.load(O.general_position_layer(n, n0, rng, ternary))
        layer = net.layers[0]
        assert O.in_general_position(layer.weights, layer.biases)
        if ternary:
            assert all(w in (-1, 0, 1) for row in layer.weights for w in row)
    net = O.general_position_layer(5, 1, rng, False)
    assert O.count_1d(net)[0] == O.arrangement_count(5, 1) == 6


def test_grid_patterns_are_polygon_cells() -> None:
    """Each grid point lies in the cell of its pattern and f agrees with the cell's map."""
    rng = random.Random(13)
    box = ((Q(-3), Q(-2)), (Q(2), Q(3)))
    for trial in range(25):
        net = random_net(rng, 2, rng.randint(1, 3), ternary=trial % 2 == 0)
        cells = {c.pattern: c for c in O.polygon_cells_2d(net, box)}
        points = O.rational_grid(box, 24)
        assert O.grid_patterns(net, points) <= set(cells)
        for x in points[::7]:
            got = O.point_pattern(net, x)
            if got is None:
                continue
            cell = cells[got[0]]
            assert cell.outputs[0] == got[1]
            poly = cell.polygon
            for p, q in zip(poly, poly[1:] + poly[:1]):  # inside the ccw polygon
                assert (q[0] - p[0]) * (x[1] - p[1]) - (q[1] - p[1]) * (x[0] - p[0]) >= 0
            assert O.evaluate(net, x)[0] == got[1][0] * x[0] + got[1][1] * x[1] + got[1][2]


def test_polygon_cells_tile_the_box() -> None:
    rng = random.Random(17)
    box = ((Q(-2), Q(-1)), (Q(1), Q(2)))
    for _ in range(20):
        net = random_net(rng, 2, rng.randint(1, 3), ternary=False)
        cells = O.polygon_cells_2d(net, box)
        assert sum(O._area2(list(c.polygon)) for c in cells) == 2 * 3 * 3


def test_separable_product_matches_polygon() -> None:
    """A block-diagonal n0 = 2 network: polygon count = product of the 1-D counts."""
    rng = random.Random(19)
    box = ((Q(-2), Q(-3, 2)), (Q(5, 2), Q(2)))
    for _ in range(10):
        depth = rng.randint(1, 3)
        a = O.load(random_net(rng, 1, depth, ternary=True, identity_rate=0))
        b = O.load(random_net(rng, 1, depth, ternary=False, identity_rate=0))
        layers = []
        for la, lb in zip(a.layers, b.layers):
            wa, wb = len(la.weights[0]), len(lb.weights[0])
            rows = [list(r) + [0] * wb for r in la.weights] + [[0] * wa + list(r) for r in lb.weights]
            layers.append((rows, list(la.biases + lb.biases), "relu"))
        net = net1(layers, [1] * len(layers[-1][1]), dim=2)
        expected = O.count_1d(a, box[0][0], box[1][0])[0] * O.count_1d(b, box[0][1], box[1][1])[0]
        assert O.count_separable(net, box) == expected == O.polygon_count_2d(net, box)
    assert O.separable_blocks(lines([[1, 1]], [0])) is None


def test_rational_grid() -> None:
    pts = O.rational_grid(((Q(0), Q(0)), (Q(1), Q(2))), [2, 3])
    assert len(pts) == 6
    assert all(0 < x < 1 and 0 < y < 2 for x, y in pts)


# ---------------------------------------------------------------- the manifest


def one_layer_count(net: O.Net) -> int | None:
    """Count of a one-layer network over R^n0 if, after removing constant rows and
    rows defining the same hyperplane, the hyperplanes are in general position."""
    if len(net.layers) != 1 or net.layers[0].activation != "relu":
        return None
    seen, rows, biases = set(), [], []
    for w, b in zip(net.layers[0].weights, net.layers[0].biases):
        if not any(w):
            continue
        lead = next(v for v in w if v)
        key = tuple(v / lead for v in w) + (b / lead,)
        if key not in seen:
            seen.add(key)
            rows.append(w)
            biases.append(b)
    if O.in_general_position(rows, biases):
        return O.arrangement_count(len(rows), net.input_dim)
    return None


@pytest.mark.parametrize("entry", MANIFEST, ids=[e["network"] for e in MANIFEST])
def test_manifest_reproduced_by_oracles(entry: dict[str, Any]) -> None:
    """Every expected count in instances/expected.json is recomputed by an oracle."""
    path = INSTANCES / entry["network"]
    data = json.loads(path.read_text(), parse_float=Q)
    assert data.get("format") == "tvmip-network/1"
    net = O.load(data)
    dom = entry["domain"]
    box = None if dom is None else ([Q(v) for v in dom["lo"]], [Q(v) for v in dom["hi"]])
    expected = entry["activation_regions"]
    checked = False
    if net.input_dim == 1:
        lo, hi = (None, None) if box is None else (box[0][0], box[1][0])
        assert O.count_1d(net, lo, hi) == (expected, entry["linear_regions"], entry["distinct_maps"])
        checked = True
    if net.input_dim == 2:
        if box is None:
            box2 = vertex_box(data)
        else:
            box2 = box
        cells = O.polygon_cells_2d(net, box2)
        assert len(cells) == expected
        lin = O.polygon_linear_count_2d(cells)
        assert lin == (entry["linear_regions"], entry["distinct_maps"])
        checked = True
    formula = one_layer_count(net) if box is None else None
    if formula is not None:
        assert formula == expected
        checked = True
    product = O.count_separable(net, box)
    if product is not None:
        assert product == expected
        checked = True
    assert checked, "no oracle applies to this instance"
