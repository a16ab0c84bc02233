"""The float-rounding audit (``tvmip audit``, ``tvmip-audit/1``) against independent oracles.

1. Rounding: :func:`tvmip.checker.floats.round_to` / :func:`spacing` against numpy
   and ml_dtypes conversions (a float64 converted to a smaller format by numpy is
   one correct rounding), ties to even built by hand, subnormals, and the overflow
   threshold (largest + half an ulp).
2. The producer against exact polygon splitting (:mod:`oracles`, imports nothing
   from tvmip) of the network and of the network rounded by numpy: created and
   destroyed regions, every ball inside its region and no larger than the distance
   to its edges, every thin region thinner than the format's spacing (inradius by
   :mod:`audit_oracles`), and every region thinner than that listed.
3. Forged audits, each changed in one place from a valid one, never VALID.
4. The command line.
5. The float observations (:class:`tvmip.float_audit.Mismatch`).
6. Step and quantize networks.
"""

from __future__ import annotations

import gzip
import hashlib
import itertools
import json
import math
import os
import random
import subprocess
import sys
from fractions import Fraction
from pathlib import Path
from typing import Any

import audit_oracles as A
import ml_dtypes
import numpy as np
import oracles
import pytest
from cli_runner import run_tvmip
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tvmip
from tvmip import audit
from tvmip.checker.floats import FORMATS, round_network, round_to, spacing
from tvmip.checker.verify import check_file
from tvmip.model.network import network_from_dict, parse_box

NAMES = tuple(A.DTYPES)

EXAMPLE = {
    "format": "tvmip-network/1", "input_dim": 2,
    "layers": [
        {"weights": [[1, 1], [0, 1], [1, -1], [0, 0]], "biases": ["0", "2/3", "-1", "0"],
         "activation": "relu"},
        {"weights": [[0, 1, -1, 0], [-1, 1, 0, 0], [1, -1, 0, 1], [1, 1, 1, 0]],
         "biases": ["-2/3", "2/3", "1", "0"], "activation": "relu"},
        {"weights": [[-1, -1, 1, 0], [0, 0, 1, -1]], "biases": ["2/3", "-2/3"],
         "activation": "relu"}],
    "output": {"weights": [[1, 1]], "biases": [0]}}

# x > -1/3, y > -2/3, x + y < -1 + 2^-14: a triangle of leg 2^-14 that float16
# rounding (1/3 and 2/3 round down) turns inside out: one region destroyed, one created.
_TRIANGLE_LAYER = {"weights": [[1, 0], [0, 1], [-1, -1]],
                   "biases": ["1/3", "2/3", "-16383/16384"]}
TRIANGLE = {"format": "tvmip-network/1", "input_dim": 2,
            "layers": [{**_TRIANGLE_LAYER, "activation": "relu"}],
            "output": {"weights": [[1, 1, 1]], "biases": [0]}}
STEP = {"format": "tvmip-network/1", "input_dim": 2,
        "layers": [{**_TRIANGLE_LAYER, "activation": "step"},
                   {"weights": [[1, -1, 1], [1, 1, -1], [0, 1, 1]],
                    "biases": ["-1/3", "-2/3", "-5/3"], "activation": "relu"}],
        "output": {"weights": [[1, 1, 1]], "biases": [0]}}
QUANTIZE = {"format": "tvmip-network/1", "input_dim": 2,
            "layers": [{"weights": [[1, 0], [0, 1], [-1, -1]],
                        "biases": ["7/12", "37/36", "-507895/589824"],
                        "activation": {"quantize": {"scale": "1/2", "zero_point": 0,
                                                    "qmin": -2, "qmax": 2}}},
                       {"weights": [[1, 1, -1], [1, -1, 1]], "biases": ["1/3", "-1/5"],
                        "activation": "relu"}],
            "output": {"weights": [[1, 1]], "biases": [0]}}
# breakpoints 1/3 and 1/3 + 2^-16 merge in float16: the interval between is destroyed
LINE = {"format": "tvmip-network/1", "input_dim": 1,
        "layers": [{"weights": [[1], [1], [-1]],
                    "biases": ["-1/3", str(-(Fraction(1, 3) + Fraction(1, 2**16))), "1/5"],
                    "activation": "relu"}],
        "output": {"weights": [[1, 1, 1]], "biases": [0]}}
NETWORKS = {"example": EXAMPLE, "triangle": TRIANGLE, "step": STEP, "quantize": QUANTIZE,
            "line": LINE}

BIG = ((-1000, -1000), (1000, 1000))  # holds every vertex of these arrangements
BOXES = {None: None, "-2,2": ((-2, -2), (2, 2)), "-1,1": ((-1, -1), (1, 1))}
EXPECTED_R2_64 = ("VALID: float64 audit over R^2: 22 activation regions exact, 25 after "
                  "rounding; 3 created, 0 destroyed; proved thinner than float64 resolution: "
                  "3 regions of the rounded network")


def _net(name: str) -> tvmip.Network:
    return network_from_dict(NETWORKS[name])


class Audits:
    """Audits made once per module (each test that tampers copies the files)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.done: dict[tuple[str, str, str | None], tuple[Path, Any]] = {}

    def get(self, name: str, dtype: str, box: str | None = None) -> tuple[Path, Any]:
        key = (name, dtype, box)
        if key not in self.done:
            directory = self.root / f"{name}-{dtype}-{box or 'R'}".replace(",", "_")
            directory.mkdir()
            net = _net(name)
            result = audit(net, dtype, directory / f"{name}.audit.json",
                           parse_box(box, net.input_dim) if box else None,
                           onnxruntime=(name, dtype) == ("example", "float16"))
            self.done[key] = (directory / f"{name}.audit.json", result)
        return self.done[key]


@pytest.fixture(scope="module")
def audits(tmp_path_factory: pytest.TempPathFactory) -> Audits:
    return Audits(tmp_path_factory.mktemp("audits"))


def rejected(path: Path, *words: str, **kwargs: Any) -> str:
    verdict = check_file(path, **kwargs)
    assert not verdict.valid, verdict.line
    assert verdict.exit_code in (1, 2), verdict
    assert verdict.line.startswith("INVALID: " if verdict.exit_code == 1 else "error: ")
    assert "\n" not in verdict.line and "the checker failed" not in verdict.line, verdict.line
    for word in words:
        assert word in verdict.line, verdict.line
    return verdict.line


def valid(path: Path) -> str:
    verdict = check_file(path)
    assert verdict.valid and verdict.exit_code == 0, verdict.line
    return verdict.line


# =========================================================================== 1. rounding


def test_formats_are_numpys() -> None:
    for name in NAMES:
        info = ml_dtypes.finfo(A.DTYPES[name])
        fmt = FORMATS[name]
        assert (fmt.precision, fmt.emin, fmt.emax) == (info.nmant + 1, info.minexp,
                                                       info.maxexp - 1)
        assert fmt.largest == A.largest(name)


finite64 = st.floats(allow_nan=False, allow_infinity=False, allow_subnormal=True)


@settings(max_examples=400, deadline=None)
@given(finite64, st.sampled_from(NAMES))
def test_round_to_is_numpys_conversion(x: float, name: str) -> None:
    with np.errstate(all="ignore"):
        converted = float(np.array(x).astype(A.DTYPES[name]))
    if np.isinf(converted):
        with pytest.raises(OverflowError):
            round_to(Fraction(x), FORMATS[name])
    else:
        assert round_to(Fraction(x), FORMATS[name]) == Fraction(converted)


@st.composite
def rationals(draw: st.DrawFn) -> Fraction:
    q = Fraction(draw(st.integers(-(2**80), 2**80)), draw(st.integers(1, 2**80)))
    return q * Fraction(2) ** draw(st.integers(-1160, 1040))


@settings(max_examples=300, deadline=None)
@given(rationals(), st.sampled_from(NAMES))
def test_round_to_rationals_against_bracketing(q: Fraction, name: str) -> None:
    try:
        expected = A.round_exact(q, name)
    except OverflowError:
        with pytest.raises(OverflowError):
            round_to(q, FORMATS[name])
        return
    assert round_to(q, FORMATS[name]) == expected
    assert spacing(q, FORMATS[name]) == A.spacing_exact(q, name)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(finite64, st.sampled_from(NAMES))
def test_ties_between_neighbours_go_to_even(x: float, name: str) -> None:
    dtype = A.DTYPES[name]
    with np.errstate(all="ignore"):
        a = np.array(x).astype(dtype)
        b = np.nextafter(a, np.array(np.inf, dtype=dtype))
    if not (np.isfinite(float(a)) and np.isfinite(float(b))):
        return
    lo, hi = Fraction(float(a)), Fraction(float(b))
    mid = (lo + hi) / 2
    uint = {2: np.uint16, 4: np.uint32, 8: np.uint64}[dtype.itemsize]
    a_even, b_even = (int(v.view(uint)) % 2 == 0 for v in (a, b))
    assert a_even != b_even  # neighbours alternate (the sign bit is not bit 0)
    fmt = FORMATS[name]
    assert round_to(mid, fmt) == (lo if a_even else hi)
    tiny = (hi - lo) / 2**70
    assert round_to(mid - tiny, fmt) == lo and round_to(mid + tiny, fmt) == hi


P = Fraction(2)


@pytest.mark.parametrize("name, value, expected", [
    ("float32", 1 + P**-24, 1),                      # tie: 1 is even
    ("float32", 1 + 3 * P**-24, 1 + P**-22),         # tie: 1 + 2^-23 is odd
    ("float32", 1 + P**-24 + P**-80, 1 + P**-23),    # just above the tie
    ("float64", 1 + P**-53, 1),
    ("float64", 1 + 3 * P**-53, 1 + P**-51),
    ("float16", 2049, 2048), ("float16", 2051, 2052), ("float16", -2051, -2052),
    ("bfloat16", 1 + P**-8, 1), ("bfloat16", 1 + 3 * P**-8, 1 + P**-6),
    # subnormals: halfway between 0 and the least one goes to 0, 1.5 and 2.5 units to 2
    ("float16", P**-25, 0), ("float16", 3 * P**-25, P**-23), ("float16", 5 * P**-25, P**-23),
    ("float16", P**-25 + P**-60, P**-24), ("float16", -(P**-25), 0),
    ("float32", P**-150, 0), ("float32", 3 * P**-150, P**-148),
    ("float64", P**-1075, 0), ("float64", 3 * P**-1075, P**-1073),
    ("float64", P**-1075 + P**-1200, P**-1074),
    ("bfloat16", 3 * P**-134, P**-132),
    # the largest subnormal rounds up into the normal range
    ("float16", P**-14 - P**-26, P**-14),
    ("float32", Fraction(1, 3), Fraction(11184811, 2**25)),
    ("float16", Fraction(1, 3), Fraction(1365, 4096)),
])
def test_ties_and_subnormals_by_hand(name: str, value: Fraction, expected: Fraction) -> None:
    assert round_to(Fraction(value), FORMATS[name]) == expected
    assert A.round_exact(Fraction(value), name) == expected  # the oracle agrees


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("sign", [1, -1])
def test_overflow_exactly_at_the_ieee_threshold(name: str, sign: int) -> None:
    fmt = FORMATS[name]
    top, half = A.largest(name), A.half_ulp_of_largest(name)
    for value in (top + half, top + 2 * half, 2 * (top + half), P ** (fmt.emax + 1)):
        with pytest.raises(OverflowError):
            round_to(sign * value, fmt)
    for value in (top + half - P**-1100, top + half / 2, top, top - half / 2):
        assert round_to(sign * value, fmt) == sign * top
    # halfway below the largest (whose significand is odd) goes down to the even one
    assert round_to(sign * (top - half), fmt) == sign * (top - 2 * half)
    if name == "float64":  # Python's float() agrees on both sides of the threshold
        with pytest.raises(OverflowError):
            float(top + half)
        assert float(top + half - P**-1100) == float(top)
        return
    with np.errstate(all="ignore"):  # numpy agrees on both sides of the threshold
        assert np.isinf(np.array(float(top + half)).astype(A.DTYPES[name]))
        below = float(top + half - half / 2**10)
        assert float(np.array(below).astype(A.DTYPES[name])) == float(top)


positive_floats = st.floats(min_value=0, exclude_min=True, allow_infinity=False,
                            allow_subnormal=True)


@settings(max_examples=300, deadline=None)
@given(positive_floats, st.sampled_from(NAMES))
def test_spacing_is_np_spacing(x: float, name: str) -> None:
    dtype = A.DTYPES[name]
    with np.errstate(all="ignore"):
        v = np.array(x).astype(dtype)
        gap = np.spacing(v)
    if not (np.isfinite(float(v)) and np.isfinite(float(gap))) or float(v) == 0:
        return
    assert spacing(Fraction(float(v)), FORMATS[name]) == Fraction(float(gap))


def test_spacing_at_zero_and_the_ends() -> None:
    for name in NAMES:
        info = ml_dtypes.finfo(A.DTYPES[name])
        tiny = Fraction(float(info.smallest_subnormal))
        fmt = FORMATS[name]
        assert spacing(Fraction(0), fmt) == tiny == spacing(tiny, fmt)
        assert spacing(Fraction(float(info.smallest_normal)), fmt) == tiny
        assert spacing(A.largest(name), fmt) == 2 * A.half_ulp_of_largest(name)
        assert spacing(-Fraction(3), fmt) == spacing(Fraction(3), fmt)


@pytest.mark.parametrize("name", NAMES)
def test_round_network_is_the_numpy_rounding(name: str) -> None:
    for data in (EXAMPLE, QUANTIZE, LINE):
        rounded = round_network(network_from_dict(data), FORMATS[name])
        assert rounded.sha256 == network_from_dict(A.rounded_json(data, name)).sha256
        assert rounded.layers[-1].activation == network_from_dict(data).layers[-1].activation


def test_round_network_overflow() -> None:
    data = json.loads(json.dumps(TRIANGLE))
    for weight, overflows in ((65519, False), (65520, True), (-65520, True), (10**6, True)):
        data["layers"][0]["weights"][0][0] = weight
        if overflows:
            with pytest.raises(OverflowError):
                round_network(network_from_dict(data), FORMATS["float16"])
        else:
            rounded = round_network(network_from_dict(data), FORMATS["float16"])
            assert rounded.layers[0].weights[0][0] == 65504


# ============================================================ 2. producer against oracles

CASES = [("example", "float64", None), ("example", "float32", None),
         ("example", "float16", "-2,2"), ("example", "bfloat16", "-2,2"),
         ("example", "float64", "-2,2"), ("triangle", "float16", None),
         ("triangle", "float16", "-1,1"), ("step", "float16", None),
         ("quantize", "float16", None)]


def _claims(path: Path) -> dict[str, Any]:
    return A.read_lines(path)[-1]["end"]["claims"]


def _balls(path: Path) -> list[dict[str, Any]]:
    return A.read_lines(path)[1:-1]


def _point(values: list[Any]) -> tuple[Fraction, ...]:
    return tuple(Fraction(v) for v in values)


@pytest.mark.parametrize("name, dtype, box", CASES)
def test_producer_against_polygon_oracle(audits: Audits, name: str, dtype: str,
                                         box: str | None) -> None:
    path, result = audits.get(name, dtype, box)
    check_against_oracle(path, result, NETWORKS[name], dtype, box)


def check_against_oracle(path: Path, result: Any, data: dict[str, Any], dtype: str,
                         box: str | None) -> None:
    """Everything the audit at ``path`` (and ``result``) says, against the polygons."""
    valid(path)
    nets = {"exact": data, "rounded": A.rounded_json(data, dtype)}
    domain = BOXES[box] if box else BIG
    cells = {net: A.regions(d, domain) for net, d in nets.items()}
    exact, rounded = set(cells["exact"]), set(cells["rounded"])
    claims = _claims(path)

    # counts, created, destroyed
    assert result.regions == (len(exact), len(rounded))
    assert claims["regions"] == {"exact": len(exact), "rounded": len(rounded)}
    assert [r.pattern for r in result.created] == claims["created"] == sorted(rounded - exact)
    assert [r.pattern for r in result.destroyed] == claims["destroyed"] == \
        sorted(exact - rounded)

    # the rounded certificate is about the network rounded by numpy
    header = A.read_lines(path)[0]
    cert = json.loads(gzip.decompress((path.parent / header["rounded"]["certificate"])
                                      .read_bytes()).splitlines()[0])
    assert network_from_dict(cert["network"]).sha256 == \
        network_from_dict(nets["rounded"]).sha256
    changed = sum(1 for layer in (*data["layers"], data["output"])
                  for v in [w for row in layer["weights"] for w in row] + layer["biases"]
                  if A.round_exact(oracles._number(v), dtype) != oracles._number(v))
    assert result.changed == changed

    # balls: centre strictly inside, radius within the distance to every edge
    balls = _balls(path)
    seen = {(b["ball"], b["r"]) for b in balls}
    assert len(seen) == len(balls)
    assert {("rounded", p) for p in claims["created"]} | \
        {("exact", p) for p in claims["destroyed"]} <= seen
    skip = None if box else BIG
    for b in balls:
        x, r2 = _point(b["x"]), Fraction(b["r2"])
        assert A.interior_pattern(nets[b["ball"]], x) == b["r"]
        if box:
            assert all(lo < v < hi for v, lo, hi in zip(x, *domain))
        polygon = cells[b["ball"]][b["r"]]
        assert 0 < r2 <= A.max_ball_r2(polygon, x, skip)

    # thin regions are thinner than the spacing at their ball's centre ...
    listed = {(net, p) for net in ("exact", "rounded") for p in claims["thin"][net]}
    assert listed == {(b["ball"], b["r"]) for b in balls if "thin" in b}
    assert listed == {(r.network, r.pattern) for r in result.thin}
    by_key = {(b["ball"], b["r"]): b for b in balls}
    for key in listed:
        r = A.inradius(cells[key[0]][key[1]], skip)
        x = _point(by_key[key]["x"])
        rho = A.spacing_exact(max(map(abs, x)), dtype)
        assert r is not None and r <= rho * (1 + Fraction(1, 10**40)), key
    for r in result.thin:  # the spacing everywhere in the region: at its cube's corner
        bound = Fraction(by_key[r.network, r.pattern]["thin"]["bound"])
        assert r.spacing == A.spacing_exact(bound, dtype)
        assert r.spacing <= A.spacing_exact(max(map(abs, r.ball.centre)), dtype)
    for r in (*result.created, *result.destroyed, *result.thin):  # the report = the file
        record = by_key[r.network, r.pattern]
        assert (r.ball.centre, r.ball.r2) == (_point(record["x"]), Fraction(record["r2"]))
        assert r.thin == ("thin" in record)

    # ... and every region clearly thinner than the format's spacing is listed
    for net in ("exact", "rounded"):
        for pattern, polygon in cells[net].items():
            if not box and A.touches_box(polygon, BIG):
                continue
            rho = A.spacing_exact(A.min_abs_coordinate_bound(polygon), dtype)
            centroid = tuple(sum(p[i] for p in polygon) / len(polygon) for i in range(2))
            if A.max_ball_r2(polygon, centroid) >= rho * rho:
                continue
            if A.inradius(polygon) < rho * (1 - Fraction(1, 2**20)):
                assert (net, pattern) in listed, (net, pattern, float(A.inradius(polygon)))


def test_producer_against_breakpoints_oracle_1d(audits: Audits) -> None:
    path, result = audits.get("line", "float16")
    assert valid(path) == ("VALID: float16 audit over R^1: 4 activation regions exact, 3 after "
                           "rounding; 0 created, 1 destroyed; proved thinner than float16 "
                           "resolution: 1 region of the exact network")
    nets = {"exact": LINE, "rounded": A.rounded_json(LINE, "float16")}
    pieces = {net: {p.pattern: p for p in oracles.breakpoints_1d(d)} for net, d in nets.items()}
    claims = _claims(path)
    assert claims["created"] == sorted(pieces["rounded"].keys() - pieces["exact"].keys())
    assert claims["destroyed"] == sorted(pieces["exact"].keys() - pieces["rounded"].keys())
    assert claims["destroyed"] and result.regions == (4, 3)
    for b in _balls(path):
        piece = pieces[b["ball"]][b["r"]]
        (x,), r2 = _point(b["x"]), Fraction(b["r2"])
        assert piece.lo is not None and piece.hi is not None  # thin or destroyed: bounded
        assert piece.lo < x < piece.hi and r2 <= min(x - piece.lo, piece.hi - x) ** 2
        if "thin" in b:
            assert (piece.hi - piece.lo) / 2 <= A.spacing_exact(abs(x), "float16")


def _random_network(rng: random.Random, dtype: str) -> dict[str, Any]:
    """A small 2-D network, ternary weights, biases k/q nudged by about an ulp of the
    format, so that rounding moves hyperplanes across each other."""
    bits = FORMATS[dtype].precision
    dims = [2] + [rng.randint(2, 4) for _ in range(rng.randint(1, 2))]
    layers = [{"weights": [[rng.choice([-1, 0, 1]) for _ in range(a)] for _ in range(b)],
               "biases": [oracles.fmt(Fraction(rng.randint(-3, 3), rng.choice([1, 3, 5, 7]))
                                      + rng.choice([0, Fraction(rng.choice([-1, 1]),
                                                                2 ** (bits + rng.randint(0, 3)))]))
                          for _ in range(b)],
               "activation": rng.choice(["relu", "relu", "step", "hardtanh", "sign"])}
              for a, b in itertools.pairwise(dims)]
    return {"format": "tvmip-network/1", "input_dim": 2, "layers": layers,
            "output": {"weights": [[1] * dims[-1]], "biases": [0]}}


def test_random_networks_against_oracle(tmp_path: Path) -> None:
    rng = random.Random(20240601)
    moved = 0
    for k in range(60):
        dtype = rng.choice(NAMES)
        data = _random_network(rng, dtype)
        box = rng.choice([None, "-2,2"])
        path = tmp_path / f"n{k}.audit.json"
        result = audit(network_from_dict(data), dtype, path,
                       parse_box(box, 2) if box else None, onnxruntime=False)
        check_against_oracle(path, result, data, dtype, box)
        moved += bool(result.created or result.destroyed or result.thin)
    assert moved >= 4  # the sample does exercise the audit


@pytest.mark.parametrize("dtype, counts, line", [
    ("float64", (22, 25), EXPECTED_R2_64),
    ("float32", (22, 23), ("VALID: float32 audit over R^2: 22 activation regions exact, "
                           "23 after rounding; 1 created, 0 destroyed; proved thinner than "
                           "float32 resolution: 1 region")),
])
def test_example_over_r2(audits: Audits, dtype: str, counts: tuple[int, int],
                         line: str) -> None:
    path, result = audits.get("example", dtype)
    assert result.regions == counts and result.domain == "R^2"
    assert len(result.created) == counts[1] - counts[0] and not result.destroyed
    assert all(r.thin and r.network == "rounded" for r in result.created)
    verdict = check_file(path)
    assert verdict.valid and verdict.line.startswith(line), verdict.line
    assert verdict.network_sha256 == _net("example").sha256 and verdict.domain is None
    out = run_tvmip(["check", str(path)])
    assert out.code == 0 and out.stdout.strip() == verdict.line, out
    assert check_file(path, expected_sha256=_net("triangle").sha256).exit_code == 1
    assert check_file(path, expected_box=parse_box("-2,2", 2)).exit_code == 1


# ======================================================================= 3. forgeries


def forged(src: Path, tmp_path: Path) -> tuple[Path, list[dict[str, Any]]]:
    path = A.copy_audit(src, tmp_path)
    return path, A.read_lines(path)


def rehash(records: list[dict[str, Any]], directory: Path) -> None:
    for net in ("exact", "rounded"):
        name = records[0][net]["certificate"]
        records[0][net]["sha256"] = hashlib.sha256((directory / name).read_bytes()).hexdigest()


@pytest.fixture
def base(audits: Audits) -> Path:
    """Example, float64, R^2: three created regions, all thin (rounded network)."""
    return audits.get("example", "float64")[0]


@pytest.fixture
def tri(audits: Audits) -> Path:
    """Triangle, float16, R^2: one created and one destroyed region, both thin."""
    return audits.get("triangle", "float16")[0]


def test_untouched_copy_is_valid(base: Path, tri: Path, tmp_path: Path) -> None:
    for src, sub in ((base, "a"), (tri, "b")):
        (tmp_path / sub).mkdir()
        path, records = forged(src, tmp_path / sub)
        A.write_lines(path, records)  # rewritten as this file writes every forgery
        valid(path)


def test_created_removed(base: Path, tmp_path: Path) -> None:
    path, records = forged(base, tmp_path)
    del records[-1]["end"]["claims"]["created"][0]
    A.write_lines(path, records)
    rejected(path, "created")


@pytest.mark.parametrize("which", ["common", "nowhere"])
def test_created_added(base: Path, tmp_path: Path, which: str) -> None:
    path, records = forged(base, tmp_path)
    claims = records[-1]["end"]["claims"]
    exact = set(A.regions(EXAMPLE, BIG))
    extra = min(exact) if which == "common" else "-" * 10
    assert (extra in exact) == (which == "common")
    if which == "nowhere":
        assert extra not in A.regions(A.rounded_json(EXAMPLE, "float64"), BIG)
    claims["created"] = sorted([*claims["created"], extra])
    A.write_lines(path, records)
    rejected(path)


def test_created_and_destroyed_swapped(tri: Path, tmp_path: Path) -> None:
    path, records = forged(tri, tmp_path)
    claims = records[-1]["end"]["claims"]
    assert claims["created"] and claims["destroyed"]
    claims["created"], claims["destroyed"] = claims["destroyed"], claims["created"]
    for b in records[1:-1]:  # the balls follow, so only the lists are wrong
        b["ball"] = {"exact": "rounded", "rounded": "exact"}[b["ball"]]
    claims["thin"] = {"exact": claims["thin"]["rounded"], "rounded": claims["thin"]["exact"]}
    A.write_lines(path, records)
    rejected(path)


@pytest.mark.parametrize("change", [(1, 0), (0, -1), (0, 1), (-22, -25), "swap"])
def test_region_counts_changed(base: Path, tmp_path: Path, change: Any) -> None:
    path, records = forged(base, tmp_path)
    regions = records[-1]["end"]["claims"]["regions"]
    if change == "swap":
        regions["exact"], regions["rounded"] = regions["rounded"], regions["exact"]
    else:
        regions["exact"] += change[0]
        regions["rounded"] += change[1]
    A.write_lines(path, records)
    rejected(path, "region counts")


def _true_bound(record: dict[str, Any], data: dict[str, Any], dtype: str) -> Fraction:
    net = data if record["ball"] == "exact" else A.rounded_json(data, dtype)
    polygon = A.regions(net, BIG)[record["r"]]
    return A.max_ball_r2(polygon, _point(record["x"]), BIG)


@pytest.mark.parametrize("which", ["base", "tri"])
def test_ball_radius_just_past_the_true_bound(base: Path, tri: Path, tmp_path: Path,
                                              which: str) -> None:
    src, data, dtype = (base, EXAMPLE, "float64") if which == "base" else \
        (tri, TRIANGLE, "float16")
    path, records = forged(src, tmp_path)
    for i in range(1, len(records) - 1):
        bound = _true_bound(records[i], data, dtype)
        original = records[i]["r2"]
        records[i]["r2"] = oracles.fmt(bound)  # exactly the distance: still inside
        A.write_lines(path, records)
        valid(path)
        records[i]["r2"] = oracles.fmt(bound * (1 + Fraction(1, 2**60)))
        A.write_lines(path, records)
        rejected(path, "leaves region")
        records[i]["r2"] = original


@pytest.mark.parametrize("where", ["other region", "vertex", "far"])
def test_ball_centre_outside_its_region(base: Path, tmp_path: Path, where: str) -> None:
    path, records = forged(base, tmp_path)
    record = records[1]
    rounded = A.rounded_json(EXAMPLE, "float64")
    cells = A.regions(rounded, BIG)
    if where == "other region":
        other = next(p for p in cells if p != record["r"] and not A.touches_box(cells[p], BIG))
        x = tuple(sum(v[i] for v in cells[other]) / len(cells[other]) for i in range(2))
    elif where == "vertex":
        x = cells[record["r"]][0]
    else:
        x = (Fraction(7), Fraction(-5))
    assert A.interior_pattern(rounded, x) != record["r"]
    record["x"], record["r2"] = [oracles.fmt(v) for v in x], "0"
    A.write_lines(path, records)
    rejected(path, "not inside")


@pytest.mark.parametrize("kind", ["no region", "other network"])
def test_ball_for_a_pattern_that_is_not_a_region(base: Path, tmp_path: Path,
                                                 kind: str) -> None:
    path, records = forged(base, tmp_path)
    if kind == "no region":
        record = {"ball": "rounded", "r": "-" * 10, "x": ["1/7", "1/9"], "r2": "0"}
        assert "-" * 10 not in A.regions(A.rounded_json(EXAMPLE, "float64"), BIG)
    else:  # a created region of the rounded network, claimed for the exact one
        record = dict(records[1], ball="exact")
        del record["thin"]
    records.insert(1, record)
    A.write_lines(path, records)
    rejected(path, "not a region")


def test_duplicated_ball(base: Path, tmp_path: Path) -> None:
    path, records = forged(base, tmp_path)
    records.insert(2, dict(records[1]))
    A.write_lines(path, records)
    rejected(path, "second ball")


@pytest.mark.parametrize("which", ["created", "destroyed"])
def test_missing_ball(tri: Path, tmp_path: Path, which: str) -> None:
    path, records = forged(tri, tmp_path)
    claims = records[-1]["end"]["claims"]
    net = "rounded" if which == "created" else "exact"
    pattern = claims[which][0]
    records = [r for r in records if not (r.get("ball") == net and r.get("r") == pattern)]
    claims["thin"][net].remove(pattern)  # the thin list follows: only the ball is missing
    A.write_lines(path, records)
    rejected(path, "no ball record")


def _thin_records(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = [r for r in records[1:-1] if "thin" in r]
    assert out
    return out


@pytest.mark.parametrize("src_name", ["base", "tri"])
@pytest.mark.parametrize("change", ["plus one", "halved", "zeroed", "negated"])
def test_thin_one_multiplier_changed(base: Path, tri: Path, tmp_path: Path,
                                     src_name: str, change: str) -> None:
    path, records = forged(base if src_name == "base" else tri, tmp_path)
    proof = _thin_records(records)[0]["thin"]["shrunk"]
    y = proof[0][1]
    proof[0][1] = {"plus one": y + 1, "halved": oracles.fmt(Fraction(y, 2)), "zeroed": 0,
                   "negated": -y}[change]
    A.write_lines(path, records)
    rejected(path)


def test_thin_multipliers_all_scaled_stay_valid(base: Path, tmp_path: Path) -> None:
    path, records = forged(base, tmp_path)
    for r in _thin_records(records):
        r["thin"] = {part: proof if part == "bound" else [[row, 3 * y] for row, y in proof]
                      for part, proof in r["thin"].items()}
    A.write_lines(path, records)
    valid(path)


@pytest.mark.parametrize("new_id", ["other neuron", "constant neuron", "lo0", "9:0", "99"])
def test_thin_row_id_changed(base: Path, tmp_path: Path, new_id: str) -> None:
    path, records = forged(base, tmp_path)
    record = _thin_records(records)[0]
    used = {row for row, _ in record["thin"]["shrunk"]}
    if new_id == "other neuron":  # a real inequality of the region, not in the proof
        new = next(i for i, s in enumerate(record["r"]) if s != "0" and i not in used)
    elif new_id == "constant neuron":
        new = record["r"].index("0")
    else:
        new = int(new_id) if new_id.isdigit() else new_id
    record["thin"]["shrunk"][0][0] = new
    A.write_lines(path, records)
    rejected(path)


def test_thin_claimed_without_proof(base: Path, tmp_path: Path) -> None:
    path, records = forged(base, tmp_path)
    del _thin_records(records)[0]["thin"]
    A.write_lines(path, records)
    rejected(path, "thin")


def test_thin_proof_not_claimed(tri: Path, tmp_path: Path) -> None:
    path, records = forged(tri, tmp_path)
    records[-1]["end"]["claims"]["thin"]["exact"] = []
    A.write_lines(path, records)
    rejected(path, "thin")


@pytest.mark.parametrize("src_name", ["base", "tri"])
def test_thin_proof_copied_to_a_wide_region(base: Path, tri: Path, tmp_path: Path,
                                            src_name: str) -> None:
    src, data = (base, EXAMPLE) if src_name == "base" else (tri, TRIANGLE)
    path, records = forged(src, tmp_path)
    donor = _thin_records(records)[0]
    cells = A.regions(data, BIG)
    claims = records[-1]["end"]["claims"]
    added = 0
    for pattern, polygon in sorted(cells.items()):
        if pattern in claims["thin"]["exact"]:
            continue
        x = tuple(sum(v[i] for v in polygon) / len(polygon) for i in range(2))
        assert A.max_ball_r2(polygon, x, BIG) > Fraction(1, 10**4)  # far wider than rho
        records.insert(1, {"ball": "exact", "r": pattern, "x": [oracles.fmt(v) for v in x],
                           "r2": "0", "thin": donor["thin"]})
        claims["thin"]["exact"] = sorted([*claims["thin"]["exact"], pattern])
        A.write_lines(path, records)
        rejected(path)
        # without the thin claim and proof the same ball is a fine extra record
        del records[1]["thin"]
        claims["thin"]["exact"].remove(pattern)
        A.write_lines(path, records)
        valid(path)
        del records[1]
        added += 1
        if added == 3:
            break
    assert added


def _primitive(affine: tuple[Fraction, ...]) -> tuple[int, ...]:
    scale = math.lcm(*(v.denominator for v in affine))
    row = [int(v * scale) for v in affine]
    g = math.gcd(*row)
    return tuple(v // g for v in row)


@pytest.mark.parametrize("ratio, is_thin", [(Fraction(95, 100), True),
                                            (Fraction(105, 100), False)])
def test_thin_threshold_is_the_spacing(tmp_path: Path, ratio: Fraction, is_thin: bool) -> None:
    """The triangle x > -1/3, y > -2/3, x + y < -1 + d has inradius d / (2 + sqrt 2);
    d is set so that it is ``ratio`` times float16's spacing 2^-11 there.  The dual
    multipliers (1/s_i on the primitive rows s_i (g_i, c_i)) prove it thin exactly
    when the inradius is at most the spacing: a forged proof 5% too wide is refused."""
    rho = Fraction(1, 2**11)
    d = Fraction(int(ratio * rho * (2 + Fraction(14142135623730951, 10**16)) * 2**40), 2**40)
    data = json.loads(json.dumps(TRIANGLE))
    data["layers"][0]["biases"][2] = oracles.fmt(d - 1)
    path = tmp_path / "t.audit.json"
    result = audit(network_from_dict(data), "float16", path, onnxruntime=False)
    assert not result.created and not result.destroyed
    inradius = A.inradius(A.regions(data, BIG)["+++"], BIG)
    assert (inradius <= rho) == is_thin and abs(inradius / rho - ratio) < Fraction(1, 100)
    assert ("exact", "+++") in {(r.network, r.pattern) for r in result.thin} or not is_thin
    affine = [(Fraction(1), Fraction(0), Fraction(1, 3)), (Fraction(0), Fraction(1),
              Fraction(2, 3)), (Fraction(-1), Fraction(-1), d - 1)]
    proof = [[i, oracles.fmt(Fraction(a[0] if a[0] else a[1]) / row[0 if a[0] else 1])]
             for i, (a, row) in enumerate((a, _primitive(a)) for a in affine)]
    x = [oracles.fmt(v) for v in (d / 3 - Fraction(1, 3), d / 3 - Fraction(2, 3))]
    records = [r for r in A.read_lines(path) if not (r.get("ball") == "exact" and
                                                      r.get("r") == "+++")]
    # the far proof: (x + 1/3) + (-x - y - 1 + d) + (y + 1/2) = d - 1/6 < 0, so the
    # triangle misses the cube (-1/2, 1/2)^2 where float16 is finer than rho
    far = [proof[0], proof[2], ["near:lo1", 1]]
    records.insert(1, {"ball": "exact", "r": "+++", "x": x, "r2": "0",
                       "thin": {"bound": "1/2", "shrunk": proof, "far": far}})
    records[-1]["end"]["claims"]["thin"]["exact"] = ["+++"]
    A.write_lines(path, records)
    if is_thin:
        valid(path)
    else:
        rejected(path, "multipliers")


@pytest.mark.parametrize("src_name, dtype", [
    ("base", "float32"), ("base", "float16"), ("base", "bfloat16"),
    ("tri", "float64"), ("tri", "float32"), ("tri", "bfloat16")])
def test_dtype_changed(base: Path, tri: Path, tmp_path: Path, src_name: str,
                       dtype: str) -> None:
    path, records = forged(base if src_name == "base" else tri, tmp_path)
    records[0]["dtype"] = dtype
    A.write_lines(path, records)
    rejected(path, f"not the network rounded to {dtype}")


@pytest.mark.parametrize("dtype", ["float8", "FLOAT64", "", 64, None, ["float64"]])
def test_dtype_not_a_format(base: Path, tmp_path: Path, dtype: Any) -> None:
    path, records = forged(base, tmp_path)
    records[0]["dtype"] = dtype
    A.write_lines(path, records)
    rejected(path, "dtype")


def test_certificate_names_swapped(base: Path, tmp_path: Path) -> None:
    path, records = forged(base, tmp_path)
    records[0]["exact"], records[0]["rounded"] = records[0]["rounded"], records[0]["exact"]
    A.write_lines(path, records)
    rejected(path)


@pytest.mark.parametrize("net", ["exact", "rounded"])
def test_certificate_bytes_changed(base: Path, tri: Path, tmp_path: Path, net: str) -> None:
    path, records = forged(base, tmp_path)
    cert = tmp_path / records[0][net]["certificate"]
    lines = gzip.decompress(cert.read_bytes()).splitlines(keepends=True)
    end = json.loads(lines[-1])
    end["end"]["metadata"]["note"] = "changed"  # still a valid certificate
    cert.write_bytes(gzip.compress(b"".join(lines[:-1]) + json.dumps(end).encode() + b"\n"))
    rejected(path, "SHA-256")
    # a valid certificate of another network, with its hash in the header
    other = A.read_lines(tri)[0][net]["certificate"]
    cert.write_bytes((tri.parent / other).read_bytes())
    rehash(records, tmp_path)
    A.write_lines(path, records)
    rejected(path)


def test_certificate_of_a_network_with_the_same_rounding(base: Path, tmp_path: Path) -> None:
    """A network that rounds to the same float64 network is another network: its
    certificate does not fit the audit's claims, and a true audit of it is bound to it."""
    data = json.loads(json.dumps(EXAMPLE))
    data["layers"][0]["biases"][1] = oracles.fmt(Fraction(2, 3) + Fraction(1, 2**80))
    assert A.rounded_json(data, "float64") == A.rounded_json(EXAMPLE, "float64")
    other = network_from_dict(data)
    exact = set(A.regions(data, BIG))
    assert exact != set(A.regions(EXAMPLE, BIG))  # the perturbation splits a region
    path, records = forged(base, tmp_path)
    cert = tmp_path / records[0]["exact"]["certificate"]
    tvmip.count(other, certificate=cert, engine="tree")
    rehash(records, tmp_path)
    A.write_lines(path, records)
    rejected(path, f"{len(exact)} and 25")
    # the honest audit of the other network: VALID, but about the other network
    (tmp_path / "honest").mkdir()
    honest = tmp_path / "honest" / "other.audit.json"
    audit(other, "float64", honest, onnxruntime=False)
    verdict = check_file(honest)
    assert verdict.valid and verdict.network_sha256 == other.sha256, verdict.line
    rounded = [json.loads(gzip.decompress((d / n).read_bytes()).splitlines()[0])
               ["network_sha256"] for d, n in (
                   (honest.parent, A.read_lines(honest)[0]["rounded"]["certificate"]),
                   (tmp_path, records[0]["rounded"]["certificate"]))]
    assert rounded[0] == rounded[1]  # the same rounded network
    rejected(honest, "different network", expected_sha256=_net("example").sha256)


@pytest.mark.parametrize("name", ["../x.cert.json.gz", "/etc/passwd", "sub/x.cert.json.gz",
                                  "..", ".", "", ".hidden.cert.json.gz", "a\\b", "x" * 300])
def test_certificate_name_with_a_path(base: Path, tmp_path: Path, name: str) -> None:
    directory = tmp_path / "d"
    (directory / "sub").mkdir(parents=True)
    path, records = forged(base, directory)
    data = (directory / records[0]["exact"]["certificate"]).read_bytes()
    target = Path(name) if name.startswith("/") else directory / name
    if name and name not in (".", "..") and not name.startswith("/") and len(name) < 255:
        target.write_bytes(data)  # the certificate is really there
    there = len(name) < 255 and target.is_file()
    digest = hashlib.sha256(target.read_bytes() if there else data).hexdigest()
    records[0]["exact"] = {"certificate": name, "sha256": digest}
    A.write_lines(path, records)
    rejected(path, "certificate")


def test_certificate_missing(base: Path, tmp_path: Path) -> None:
    path, records = forged(base, tmp_path)
    (tmp_path / records[0]["rounded"]["certificate"]).unlink()
    rejected(path, "cannot read")


def test_audit_named_as_certificate(base: Path, tri: Path, tmp_path: Path) -> None:
    path, records = forged(base, tmp_path)
    (tmp_path / "other").mkdir()
    other = A.copy_audit(tri, tmp_path / "other")
    for net in ("exact", "rounded"):
        (tmp_path / f"{net}.audit.json").write_bytes(other.read_bytes())
        records[0][net] = {"certificate": f"{net}.audit.json", "sha256": hashlib.sha256(
            other.read_bytes()).hexdigest()}
        A.write_lines(path, records)
        rejected(path)
        records = A.read_lines(base)
    # the audit itself as its own certificate (with the hash of its current bytes)
    records[0]["exact"] = {"certificate": path.name,
                           "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}
    A.write_lines(path, records)
    rejected(path)


def test_rounded_certificate_of_another_format(base: Path, tmp_path: Path) -> None:
    path, records = forged(base, tmp_path)
    for dtype in ("float32", "float16"):
        cert = tmp_path / records[0]["rounded"]["certificate"]
        rounded = network_from_dict(A.rounded_json(EXAMPLE, dtype))
        assert tvmip.count(rounded, certificate=cert, engine="tree").exact
        rehash(records, tmp_path)
        A.write_lines(path, records)
        rejected(path, "not the network rounded to float64")


def test_exact_certificate_a_lower_bound(base: Path, tmp_path: Path) -> None:
    path, records = forged(base, tmp_path)
    cert = tmp_path / records[0]["exact"]["certificate"]
    result = tvmip.count(_net("example"), limits=tvmip.Limits(max_regions=5),
                         certificate=cert, engine="tree")
    assert not result.exact and check_file(cert).valid
    rehash(records, tmp_path)
    A.write_lines(path, records)
    rejected(path, "exact counts")


def test_certificate_over_another_domain(base: Path, tmp_path: Path) -> None:
    path, records = forged(base, tmp_path)
    for net in ("exact", "rounded"):
        cert = tmp_path / records[0][net]["certificate"]
        network = _net("example") if net == "exact" else \
            network_from_dict(A.rounded_json(EXAMPLE, "float64"))
        tvmip.count(network, parse_box("-2,2", 2), certificate=cert, engine="tree")
        rehash(records, tmp_path)
        A.write_lines(path, records)
        rejected(path)  # one box, one R^2; then both boxes: the balls no longer match


def test_breakpoints_certificate(audits: Audits, tmp_path: Path) -> None:
    src, _ = audits.get("line", "float16")
    path, records = forged(src, tmp_path)
    for net in ("exact", "rounded"):
        cert = tmp_path / records[0][net]["certificate"]
        network = _net("line") if net == "exact" else \
            network_from_dict(A.rounded_json(LINE, "float16"))
        result = tvmip.count(network, certificate=cert, engine="breakpoints")
        assert result.exact and check_file(cert).valid
        header = json.loads(gzip.decompress(cert.read_bytes()).splitlines()[0])
        assert header["kind"] == "breakpoints"
        rehash(records, tmp_path)
        A.write_lines(path, records)
        rejected(path, "tree")
        records = A.read_lines(src)


@pytest.mark.parametrize("change", ["no end", "only header", "data after end",
                                    "two ends", "ball after end", "blank line",
                                    "unknown header key", "missing header key",
                                    "other format", "end with extra key",
                                    "claims with extra key", "not json"])
def test_structure(base: Path, tmp_path: Path, change: str) -> None:
    path, records = forged(base, tmp_path)
    text = None
    if change == "no end":
        records = records[:-1]
    elif change == "only header":
        records = records[:1]
    elif change == "data after end":
        records.append({"note": 1})
    elif change == "two ends":
        records.append(records[-1])
    elif change == "ball after end":
        records.append(records.pop(1))
    elif change == "unknown header key":
        records[0]["comment"] = "hello"
    elif change == "missing header key":
        del records[0]["tool"]
    elif change == "other format":
        records[0]["format"] = "tvmip-audit/2"
    elif change == "end with extra key":
        records[-1]["end"]["extra"] = {}
    elif change == "claims with extra key":
        records[-1]["end"]["claims"]["linear"] = 3
    A.write_lines(path, records)
    if change == "blank line":
        text = path.read_text().replace("\n", "\n\n", 1)
    elif change == "not json":
        text = path.read_text() + "{not json\n"
    if text is not None:
        path.write_text(text)
    rejected(path)


def test_truncated_anywhere(base: Path, tmp_path: Path) -> None:
    path, _ = forged(base, tmp_path)
    data = path.read_bytes()
    for cut in sorted({1, 50, len(data) // 3, len(data) // 2, len(data) - 40, len(data) - 2}):
        path.write_bytes(data[:cut])
        rejected(path)


def test_gzipped_audit_is_checked_the_same(base: Path, tmp_path: Path) -> None:
    path, _ = forged(base, tmp_path)
    packed = tmp_path / "packed.audit.json.gz"
    packed.write_bytes(gzip.compress(path.read_bytes()))
    assert check_file(packed).line == EXPECTED_R2_64


# ============================================================================ 4. CLI


@pytest.fixture
def net_file(tmp_path: Path) -> Path:
    path = tmp_path / "net.json"
    path.write_text(json.dumps(EXAMPLE))
    return path


def test_cli_audit_float16(net_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.audit.json"
    got = run_tvmip(["audit", str(net_file), "--dtype", "float16", "-o", str(out), "-q"])
    assert got.code == 0, got
    header = A.read_lines(out)[0]
    assert header["dtype"] == "float16"
    for net in ("exact", "rounded"):
        cert = tmp_path / f"out.{net}.cert.json.gz"
        assert header[net] == {"certificate": cert.name,
                               "sha256": hashlib.sha256(cert.read_bytes()).hexdigest()}
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["net.json", "out.audit.json", "out.exact.cert.json.gz", "out.rounded.cert.json.gz"])
    assert "activation regions over R^2: 22 exact, 25 rounded (3 created, 0 destroyed)" \
        in got.stdout
    assert f"audit: {out}" in got.stdout
    assert valid(out).startswith("VALID: float16 audit over R^2: 22 activation regions "
                                 "exact, 25 after rounding; 3 created, 0 destroyed")
    checked = run_tvmip(["check", str(out)], real_process=True)
    assert checked.code == 0 and checked.stdout.startswith("VALID: float16 audit"), checked


def test_cli_audit_json_and_default_name(net_file: Path, tmp_path: Path) -> None:
    got = run_tvmip(["audit", str(net_file), "--dtype", "float32", "--json", "-q",
                     "--no-onnxruntime", "--box", "-2,2"])
    assert got.code == 0, got
    report = json.loads(got.stdout)
    default = tmp_path / "net.float32.audit.json"
    assert report["audit"] == str(default) and default.is_file()
    assert report["dtype"] == "float32" and report["runtimes"] == ["numpy"]
    assert report["domain"] == "the box (-2, 2)^2"
    data = EXAMPLE
    cells = {net: set(A.regions(d, BOXES["-2,2"])) for net, d in
             (("exact", data), ("rounded", A.rounded_json(data, "float32")))}
    assert report["activation_regions"] == {k: len(v) for k, v in cells.items()}
    assert [r["pattern"] for r in report["created"]] == sorted(cells["rounded"] - cells["exact"])
    for r in report["created"]:
        assert Fraction(r["radius_squared"]) > 0 and r["thin"] is True
    valid(default)


@pytest.mark.parametrize("args", [["--dtype", "float8"], ["--dtype", "float64", "--box", "1"],
                                  ["--dtype", "float16", "--time-limit", "-1"]])
def test_cli_bad_options(net_file: Path, tmp_path: Path, args: list[str]) -> None:
    out = tmp_path / "out.audit.json"
    got = run_tvmip(["audit", str(net_file), *args, "-o", str(out), "-q"], real_process=True)
    assert got.code == 2, got
    lines = got.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), got
    assert "Traceback" not in got.stderr and not out.exists()


def test_cli_missing_network(tmp_path: Path) -> None:
    got = run_tvmip(["audit", str(tmp_path / "missing.json"), "--dtype", "float16",
                     "-o", str(tmp_path / "o.audit.json"), "-q"])
    assert got.code == 2 and "Traceback" not in got.stderr, got
    lines = got.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and "missing.json" in lines[0]
    assert list(tmp_path.iterdir()) == []


def test_cli_overflow_leaves_existing_output(tmp_path: Path) -> None:
    data = json.loads(json.dumps(EXAMPLE))
    data["layers"][1]["weights"][0][1] = 10**6
    net = tmp_path / "big.json"
    net.write_text(json.dumps(data))
    out = tmp_path / "out.audit.json"
    out.write_text("sentinel\n")
    before = sorted(p.name for p in tmp_path.iterdir())
    got = run_tvmip(["audit", str(net), "--dtype", "float16", "-o", str(out), "-q"])
    assert got.code == 2, got
    lines = got.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and "float16" in lines[0]
    assert out.read_text() == "sentinel\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    # float32 holds 10^6 exactly: the same network audits fine there, replacing OUT
    got = run_tvmip(["audit", str(net), "--dtype", "float32", "-o", str(out), "-q"])
    assert got.code == 0, got
    valid(out)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [*before, "out.exact.cert.json.gz", "out.rounded.cert.json.gz"])


def test_failed_audit_keeps_the_previous_audit_valid(tmp_path: Path) -> None:
    out = tmp_path / "out.audit.json"
    audit(_net("example"), "float32", out, onnxruntime=False)
    valid(out)
    with pytest.raises(tvmip.TvmipError):
        audit(_net("example"), "float32", out, limits=tvmip.Limits(max_regions=5),
              onnxruntime=False)
    valid(out)


def test_failed_audit_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(tvmip.TvmipError):
        audit(_net("example"), "float32", tmp_path / "out.audit.json",
              limits=tvmip.Limits(max_regions=5), onnxruntime=False)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("name", ["my audit.json", ".hidden.audit.json",
                                  "r\u00e9seau.audit.json"])
def test_every_audit_written_is_checkable(net_file: Path, tmp_path: Path, name: str) -> None:
    out = tmp_path / name
    got = run_tvmip(["audit", str(net_file), "--dtype", "float16", "-o", str(out), "-q",
                     "--no-onnxruntime"])
    if got.code == 2:  # refusing the name is fine too
        assert got.stderr.startswith("error:") and not out.exists()
        return
    assert got.code == 0, got
    valid(out)


STRIP = {"format": "tvmip-network/1", "input_dim": 2,
         "layers": [{"weights": [[1, 0], [1, 0]], "biases": [0, -1], "activation": "relu"}],
         "output": {"weights": [[1, 1]], "biases": [0]}}


def test_a_wide_strip_is_not_thin(tmp_path: Path) -> None:
    """The region 0 < x < 1 of R^2 (inradius 1/2) holds float64 points a tiny fraction
    of its width apart near the origin.  A shrunk proof placed at y = 2^60 (ulp 256)
    is right there, but the strip meets the cube around the origin where float64 is
    finer, so no far proof exists and the claim is refused."""
    path = tmp_path / "strip.audit.json"
    audit(network_from_dict(STRIP), "float64", path, onnxruntime=False)
    records = A.read_lines(path)
    assert A.inradius(A.regions(STRIP, BIG)["+-"], BIG) == Fraction(1, 2)
    records.insert(1, {"ball": "exact", "r": "+-", "x": ["1/2", str(2**60)], "r2": "1/4",
                       "thin": {"bound": str(2**60), "shrunk": [[0, 1], [1, 1]],
                                "far": [[0, 1], [1, 1], ["near:lo1", 1]]}})
    records[-1]["end"]["claims"]["thin"]["exact"] = ["+-"]
    A.write_lines(path, records)
    rejected(path)


def _check_in_subprocess(path: Path, timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tvmip.checker", str(path)], text=True,
                          capture_output=True, timeout=timeout, check=False)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_certificate_that_is_a_fifo(tri: Path, tmp_path: Path) -> None:
    path, records = forged(tri, tmp_path)
    os.mkfifo(tmp_path / "fifo.cert.json.gz")
    records[0]["exact"] = {"certificate": "fifo.cert.json.gz", "sha256": "0" * 64}
    A.write_lines(path, records)
    done = _check_in_subprocess(path, timeout=3)
    assert done.returncode == 2 and done.stderr.startswith("error:"), done


# ================================================================ 5. float observations


@pytest.mark.parametrize("name, dtype, box", [
    ("example", "float64", None), ("example", "float32", None),
    ("example", "float16", None), ("example", "bfloat16", "-2,2"),
    ("quantize", "float16", None), ("step", "float16", None)])
def test_mismatches_against_exact_evaluation(audits: Audits, name: str, dtype: str,
                                             box: str | None) -> None:
    path, result = audits.get(name, dtype, box)
    assert result.mismatches and "numpy" in result.runtimes
    header = A.read_lines(path)[0]
    witnesses = A.certificate_regions(path.parent / header["rounded"]["certificate"])
    rounded = A.rounded_json(NETWORKS[name], dtype)
    for m in result.mismatches:
        assert m.runtime in result.runtimes and m.pattern in witnesses
        assert m.point == tuple(A.round_exact(v, dtype) for v in witnesses[m.pattern])
        assert all(A.is_number_of(v, dtype) and round_to(v, FORMATS[dtype]) == v
                   for v in m.point)
        assert m.exact == A.cells_pattern_at(rounded, m.point)
        assert m.seen != m.pattern
    keys = [(m.runtime, m.pattern) for m in result.mismatches]
    assert len(keys) == len(set(keys))
    left = sum(1 for m in result.mismatches if m.runtime == "numpy" and m.exact != m.pattern)
    numpy_count = sum(1 for m in result.mismatches if m.runtime == "numpy")
    assert (f"numpy: {numpy_count} of the regions give another pattern at their rounded "
            f"witness ({left} because the rounded point leaves the region)") in result.report


def test_onnxruntime_observed_where_it_runs(audits: Audits) -> None:
    _, result = audits.get("example", "float16")
    pytest.importorskip("onnxruntime")
    assert result.runtimes == ("numpy", "onnxruntime")
    assert {m.pattern for m in result.mismatches if m.runtime == "onnxruntime"}


# ========================================================== 6. step and quantize networks


@pytest.mark.parametrize("name", ["step", "quantize"])
def test_step_and_quantize_float16(audits: Audits, name: str) -> None:
    path, result = audits.get(name, "float16")
    line = valid(path)
    assert result.created and result.destroyed  # the thin triangles turn inside out
    exact, rounded = result.regions
    assert line.startswith(f"VALID: float16 audit over R^2: {exact} activation regions "
                           f"exact, {rounded} after rounding; {len(result.created)} created, "
                           f"{len(result.destroyed)} destroyed")
    # the rounded certificate keeps the activation's exact parameters
    header = A.read_lines(path)[0]
    cert = json.loads(gzip.decompress((path.parent / header["rounded"]["certificate"])
                                      .read_bytes()).splitlines()[0])
    assert cert["network"]["layers"][0]["activation"] == \
        network_from_dict(NETWORKS[name]).to_json()["layers"][0]["activation"]


def test_audit_bound_to_its_box(audits: Audits) -> None:
    path, _ = audits.get("triangle", "float16", "-1,1")
    assert check_file(path, expected_box=parse_box("-1,1", 2)).valid
    rejected(path, "domain", expected_box=None)
    rejected(path, "domain", expected_box=parse_box("-2,2", 2))


def test_api_refuses_a_bad_dtype_and_writes_nothing(tmp_path: Path) -> None:
    with pytest.raises(tvmip.InputError):
        audit(_net("example"), "float8", tmp_path / "x.audit.json")
    with pytest.raises(tvmip.InputError):
        data = json.loads(json.dumps(EXAMPLE))
        data["output"]["biases"] = [10**6]  # past float16's 65504
        audit(network_from_dict(data), "float16", tmp_path / "x.audit.json")
    assert os.listdir(tmp_path) == []
