"""README's float example, end to end: a ternary network with biases in thirds has
58 activation regions; stored in float64 (ONNX export, read back exactly) it has
59, the new region thinner than 1e-33; a float-LP brute force sees 58 either way,
and the audit certifies all of it."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import tvmip
from tvmip.checker.floats import FORMATS, round_network
from tvmip.float_audit import audit
from tvmip.io.onnx_export import export_onnx
from tvmip.io.onnx_import import import_onnx
from tvmip.model.network import load_network

ROOT = Path(__file__).resolve().parent.parent
EXACT = ROOT / "instances" / "n2_float64_thin_exact.json"
ROUNDED = ROOT / "instances" / "n2_float64_thin_rounded.json"


def _brute_force() -> object:
    spec = importlib.util.spec_from_file_location("brute", ROOT / "bench" / "float_lp_brute_force.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_rounded_instance_is_the_float64_rounding_and_the_onnx_round_trip(
        tmp_path: Path) -> None:
    exact, rounded = load_network(EXACT), load_network(ROUNDED)
    assert round_network(exact, FORMATS["float64"]).sha256 == rounded.sha256
    export_onnx(exact, tmp_path / "thin.onnx", approximate=True)
    assert import_onnx(tmp_path / "thin.onnx").network.sha256 == rounded.sha256
    assert (tvmip.count(exact).activation_regions, tvmip.count(rounded).activation_regions) \
        == (58, 59)


def test_a_float_lp_brute_force_misses_the_new_region() -> None:
    brute = _brute_force()
    for path in (EXACT, ROUNDED):
        assert brute.count_regions(json.loads(path.read_text()), 0.0) == 58  # type: ignore[attr-defined]


def test_the_audit_certifies_one_created_region_below_float64_resolution(tmp_path: Path) -> None:
    result = audit(load_network(EXACT), "float64", tmp_path / "thin.audit.json")
    assert result.regions == (58, 59) and not result.destroyed
    (created,) = result.created
    assert created.thin and created.ball.r2 is not None and created.ball.r2 < 1e-66
    assert [r.pattern for r in result.thin] == [created.pattern]
    assert {m.pattern for m in result.mismatches} == {created.pattern}
    assert tvmip.check(tmp_path / "thin.audit.json").line == (
        "VALID: float64 audit over R^2: 58 activation regions exact, 59 after rounding; "
        "1 created, 0 destroyed; proved thinner than float64 resolution: 1 region of the "
        "rounded network")
