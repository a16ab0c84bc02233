"""tvmip against the regression instances (instances/expected.json) and against the
independent oracles of tests/oracles.py on random small networks.

Counts are compared exactly; every instance's certificate is re-checked by the
trusted checker."""

from __future__ import annotations

import json
import random
from fractions import Fraction as Q
from pathlib import Path
from typing import Any

import oracles as O
import pytest

from tvmip.checker.model import Box
from tvmip.checker.verify import check_file
from tvmip.engine.counting import count
from tvmip.model.network import load_network, network_from_dict
from tvmip.search.tree import Region

INSTANCES = Path(__file__).resolve().parent.parent / "instances"
MANIFEST = json.loads((INSTANCES / "expected.json").read_text())


def make_box(lo: Any, hi: Any) -> Box:
    return Box(tuple(Q(v) for v in lo), tuple(Q(v) for v in hi))


def tvmip_patterns(net: Any, box: Box | None, certificate: Path | None = None) -> tuple[Any, set[str]]:
    """tvmip's count result and the patterns of the regions it reported."""
    patterns: list[str] = []

    def collect(record: Any) -> None:
        if isinstance(record, Region):
            patterns.append(record.pattern)

    result = count(net, box, certificate=certificate, on_record=collect)
    assert len(patterns) == len(set(patterns)) == result.activation_regions
    return result, set(patterns)


@pytest.mark.parametrize("entry", MANIFEST, ids=[e["network"] for e in MANIFEST])
def test_instance(entry: dict[str, Any], tmp_path: Path) -> None:
    net = load_network(INSTANCES / entry["network"])
    dom = entry["domain"]
    box = None if dom is None else make_box(dom["lo"], dom["hi"])
    cert = tmp_path / "cert.json.gz"
    result, patterns = tvmip_patterns(net, box, cert)
    expected = entry["activation_regions"]
    assert result.exact
    assert result.activation_regions == expected
    verdict = check_file(cert)
    assert verdict.valid, verdict.line
    assert verdict.activation_regions == expected
    # the oracles' patterns, where available, are exactly tvmip's
    data = json.loads((INSTANCES / entry["network"]).read_text(), parse_float=Q)
    if data["input_dim"] == 1:
        lo, hi = (None, None) if dom is None else (Q(dom["lo"][0]), Q(dom["hi"][0]))
        assert {p.pattern for p in O.breakpoints_1d(data, lo, hi)} == patterns
    elif data["input_dim"] == 2 and dom is not None:
        assert {c.pattern for c in O.polygon_cells_2d(data, (dom["lo"], dom["hi"]))} == patterns


def random_net(rng: random.Random, dim: int) -> dict[str, Any]:
    """A small random network (ternary or general, depth 1-3, width 2-5) with
    deliberately duplicated rows and zero rows, sometimes an identity layer."""
    ternary = rng.random() < 0.5
    depth = rng.randint(1, 3)

    def weight() -> Any:
        if ternary:
            return rng.choice((-1, 0, 1))
        return O.fmt(Q(rng.randint(-5, 5), rng.randint(1, 3)))

    layers, fan_in = [], dim
    for _ in range(depth):
        width = rng.randint(2, 5)
        w = [[weight() for _ in range(fan_in)] for _ in range(width)]
        b = [O.fmt(Q(rng.randint(-6, 6), rng.choice((1, 2, 3, 4)))) for _ in range(width)]
        if width >= 3 and rng.random() < 0.7:
            i, j = rng.sample(range(width), 2)
            w[j], b[j] = list(w[i]), b[i]
        if rng.random() < 0.4:
            k = rng.randrange(width)
            w[k] = [0] * fan_in
            b[k] = rng.choice((0, 0, -1, 1))
        act = "identity" if rng.random() < 0.15 else "relu"
        layers.append({"weights": w, "biases": b, "activation": act})
        fan_in = width
    return {"format": "tvmip-network/1", "input_dim": dim, "layers": layers,
            "output": {"weights": [[weight() for _ in range(fan_in)]], "biases": [0]}}


def random_cases(n: int = 40, seed: int = 2024) -> list[tuple[str, dict[str, Any], Any]]:
    rng = random.Random(seed)
    cases = []
    for i in range(n):
        dim = 1 if i % 2 == 0 else 2
        net = random_net(rng, dim)
        if dim == 1:
            box = None if i % 4 == 0 else ((Q(rng.randint(-8, -1), 3),), (Q(rng.randint(1, 8), 2),))
        else:
            box = ((Q(-3), Q(-5, 2)), (Q(5, 2), Q(3)))
        cases.append((f"case{i}-n0={dim}", net, box))
    return cases


CASES = random_cases()


@pytest.mark.parametrize("name,data,box", CASES, ids=[c[0] for c in CASES])
def test_oracle_vs_tvmip_random(name: str, data: dict[str, Any], box: Any) -> None:
    net = network_from_dict(data)
    tbox = None if box is None else make_box(*box)
    result, patterns = tvmip_patterns(net, tbox)
    assert result.exact
    if data["input_dim"] == 1:
        lo, hi = (None, None) if box is None else (box[0][0], box[1][0])
        oracle = {p.pattern for p in O.breakpoints_1d(data, lo, hi)}
        grid_box = ([Q(-20)], [Q(20)]) if box is None else box
        points = O.rational_grid(grid_box, 400)
    else:
        oracle = {c.pattern for c in O.polygon_cells_2d(data, box)}
        points = O.rational_grid(box, 30)
    assert result.activation_regions == len(oracle)
    assert patterns == oracle
    assert O.grid_patterns(data, points) <= patterns
