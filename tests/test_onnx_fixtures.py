"""Files written by real exporters (tests/fixtures/onnx, see its README) import exactly.

Each fixture has a sidecar with the exporter's graph read independently: the affine
layers' exact weights and biases (``"p/q"`` strings), each layer's activation and
its float32 parameters, quantization parameters, and five sample inputs with the
graph's output (or, for a classifier, its logits) evaluated in rational arithmetic.
Here every piecewise-linear fixture must import to exactly that network:

* every affine layer's weights and biases equal the sidecar's, and each activation
  equals the function its operator and parameters define (built here from the
  sidecar's numbers, not by tvmip's reader);
* ``tvmip.evaluate`` at the samples equals the sidecar's ``exact_function_output``
  exactly (classifiers: the logits, before Softmax/Sigmoid);
* the Tanh regressor is refused in one line naming the operator;
* ``tvmip import`` writes each network (exit 0) and refuses the Tanh file (exit 2,
  one line); ``tvmip count`` on an ``.onnx`` file says to convert it first.
"""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from cli_runner import run_tvmip

from tvmip.checker.activation import (
    HARDTANH,
    IDENTITY,
    RELU,
    Activation,
    leaky_relu,
    pwl,
    quantize,
)
from tvmip.engine.counting import count
from tvmip.errors import InputError
from tvmip.io.onnx_import import import_onnx
from tvmip.model.network import Layer, Network, evaluate, load_network

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "onnx"
SIDECARS = {
    path.stem: json.loads(path.read_text())
    for path in sorted(FIXTURES.glob("*.json"))
    if path.stem != "export_failures"
}
REFUSED = {"skl_mlpreg_tanh_f32": "unsupported ONNX operator 'Tanh' at node 'Tanh'"}
IMPORTED = [name for name in SIDECARS if name not in REFUSED]
QUANTIZED = [name for name in IMPORTED if "QuantizeLinear" in SIDECARS[name]["operators"]]
CLASSIFIERS = {  # fixture: (logits, the operator the head starts with)
    "skl_mlpclf_relu_3class_f32": (3, "Softmax"),
    "skl_mlpclf_relu_3class_zipmap_f32": (3, "Softmax"),
    "skl_mlpclf_relu_2class_f32": (1, "Sigmoid"),
}
ZERO, ONE = Fraction(0), Fraction(1)


def matrix(rows: list[list[str]]) -> tuple[tuple[Fraction, ...], ...]:
    return tuple(tuple(Fraction(v) for v in row) for row in rows)


def vector(values: list[str]) -> tuple[Fraction, ...]:
    return tuple(Fraction(v) for v in values)


def identity(width: int) -> tuple[tuple[Fraction, ...], ...]:
    return tuple(tuple(Fraction(int(i == j)) for j in range(width)) for i in range(width))


def activation(layer: dict[str, Any]) -> Activation:
    """The function of the operator the sidecar names, from its exact parameters."""
    params = {k: Fraction(v["exact"]) for k, v in layer["activation_params"].items()}
    op = layer["activation"]
    if op == "Relu":
        return RELU
    if op in ("identity", "Softmax", "Sigmoid"):
        return IDENTITY
    if op == "LeakyRelu":
        return leaky_relu(params["alpha"])
    if op == "Clip":
        assert (params["min"], params["max"]) == (-1, 1)
        return HARDTANH
    if op == "HardSigmoid":  # clip(alpha z + beta, 0, 1); beta's default is 0.5
        a, b = params["alpha"], params.get("beta", Fraction(1, 2))
        return pwl([-b / a, (1 - b) / a], [(ZERO, ZERO), (a, b), (ZERO, ONE)], [ZERO, ONE])
    if op == "Sign":  # ONNX Sign is 0 at 0
        return pwl([ZERO], [(ZERO, -ONE), (ZERO, ONE)], [ZERO])
    raise AssertionError(f"no expectation for {op}")


def scale_and_zero(quantization: dict[str, Any]) -> tuple[Fraction, int]:
    scale, zero = quantization["scale"]["values"], quantization["zero_point"]["values"]
    scale = scale[0] if isinstance(scale, list) else scale
    zero = zero[0] if isinstance(zero, list) else zero
    return Fraction(scale), int(Fraction(zero))


def clip_maxima(sidecar: dict[str, Any]) -> set[Fraction]:
    """The upper bounds of the Clip nodes on quantized integers (Constant inputs)."""
    constants = {n["outputs"][0]: n["attributes"]["value"]["tensor"]["values"]
                 for n in sidecar["nodes"] if n["op_type"] == "Constant"}
    return {Fraction(constants[n["inputs"][2]]) for n in sidecar["nodes"]
            if n["op_type"] == "Clip"}


def expected_quantized(sidecar: dict[str, Any]) -> Network:
    """The quantized fixtures, layer by layer.

    A QuantizeLinear/DequantizeLinear pair is ``quantize(s, z0, qmin, qmax)`` with the
    integer type's range, narrowed by a Clip of the integers; composed with a Relu on
    either side it is the same staircase with its levels below 0 lifted to 0, i.e.
    ``qmin = z0``.  A pair on the input is a first layer with identity weights, one
    on the output a last hidden layer before an identity output layer."""
    first, second = sidecar["layers"]
    w1, b1 = matrix(first["weights"]), vector(first["biases"])
    w2, b2 = matrix(second["weights"]), vector(second["biases"])
    if sidecar["fixture"].startswith("torch_fakequant"):  # int8, zero points 0
        s_in, z_in = scale_and_zero(first["quantization"]["input"])
        s_hidden, z_hidden = scale_and_zero(second["quantization"]["input"])
        layers = (Layer(identity(2), (ZERO, ZERO), quantize(s_in, z_in, -128, 127)),
                  Layer(w1, b1, quantize(s_hidden, z_hidden, z_hidden, 127)))
        return Network(2, layers, Layer(w2, b2))
    assert clip_maxima(sidecar) == {127}  # uint8 activations with reduce_range
    s_in, z_in = scale_and_zero(first["quantization"]["input"])
    s_pre, z_pre = scale_and_zero(first["quantization"]["output"])
    s_out, z_out = scale_and_zero(second["quantization"]["output"])
    layers = (Layer(identity(2), (ZERO, ZERO), quantize(s_in, z_in, 0, 127)),
              Layer(w1, b1, quantize(s_pre, z_pre, z_pre, 127)),
              Layer(w2, b2, quantize(s_out, z_out, 0, 127)))
    return Network(2, layers, Layer(identity(1), (ZERO,)))


def expected(sidecar: dict[str, Any]) -> Network:
    if sidecar["fixture"] in QUANTIZED:
        return expected_quantized(sidecar)
    *hidden, last = sidecar["layers"]
    layers = tuple(Layer(matrix(layer["weights"]), vector(layer["biases"]),
                         activation(layer)) for layer in hidden)
    assert activation(last) == IDENTITY  # an affine output (or the logits)
    output = Layer(matrix(last["weights"]), vector(last["biases"]))
    return Network(len(layers[0].weights[0]), layers, output)


@pytest.mark.parametrize("name", IMPORTED)
def test_fixture_imports_to_its_sidecar_network(name: str) -> None:
    sidecar = SIDECARS[name]
    result = import_onnx(FIXTURES / f"{name}.onnx")
    net = result.network
    assert net == expected(sidecar)
    exact = sidecar["samples"]["exact_function_output"]
    assert exact["tensor"] == sidecar["function_output"]["tensor"]
    for x, y in zip(sidecar["samples"]["inputs"], exact["values"]):
        assert evaluate(net, [Fraction(v) for v in x]) == vector(y)
    assert result.to_json()["network_sha256"] == net.sha256


def test_fixtures_cover_every_exporter_and_operator() -> None:
    operators = {op for name in IMPORTED for op in SIDECARS[name]["operators"]}
    assert {"Cast", "MatMul", "Add", "Reshape", "Gemm", "Flatten", "Relu", "LeakyRelu",
            "Clip", "HardSigmoid", "Sign", "QuantizeLinear", "DequantizeLinear",
            "Identity", "Constant", "Softmax", "Sigmoid", "ai.onnx.ml.ZipMap"} <= operators
    assert len(IMPORTED) == 18 and len(SIDECARS) == 19


def test_activation_names_and_parameters_are_the_stored_floats() -> None:
    leaky = import_onnx(FIXTURES / "torch_seq_leaky_dynamo.onnx").network
    assert leaky.layers[1].activation.spec == {"leaky_relu": "13421773/134217728"}
    assert import_onnx(FIXTURES / "torch_hardtanh_legacy.onnx").network.layers[0] \
        .activation.spec == "hardtanh"
    hard = import_onnx(FIXTURES / "torch_hardsigmoid_legacy.onnx").network.layers[0]
    # float32(1/6) = 11184811/2^26: the breakpoints are -/+ 2^25/11184811, not -/+3
    assert hard.activation.breakpoints == (Fraction(-(2**25), 11184811),
                                           Fraction(2**25, 11184811))
    sign = import_onnx(FIXTURES / "torch_sign_dynamo.onnx").network.layers[0].activation
    assert (sign(ZERO), sign(Fraction(-1, 10**9)), sign(Fraction(1, 10**9))) == (0, -1, 1)


@pytest.mark.parametrize("name", QUANTIZED)
def test_quantized_fixtures_say_how_they_were_read(name: str) -> None:
    sidecar = SIDECARS[name]
    result = import_onnx(FIXTURES / f"{name}.onnx")
    assert "first hidden layer with identity weights" in result.report
    assert "the input is quantized" in result.report
    assert "exact dequantized values (q - zero_point) * scale; onnxruntime computes them " \
        "in float32" in result.report
    # the sidecar's own check: onnxruntime's float32 dequantized weights differ from
    # the exact ones, which are what tvmip uses
    checks = [layer["weight_quantization_check"] for layer in sidecar["layers"]
              if "weight_quantization_check" in layer]
    assert checks and not any(check["onnxruntime_equals_exact"] for check in checks)
    net = result.network
    weights = {layer.weights for layer in (*net.layers, net.output)}
    for check, layer in zip(checks, sidecar["layers"]):
        float32 = matrix(check["weights_onnxruntime_float32"])
        assert matrix(layer["weights"]) in weights and float32 not in weights


@pytest.mark.parametrize("name", list(CLASSIFIERS))
def test_classifiers_give_the_logit_network(name: str) -> None:
    logits, head = CLASSIFIERS[name]
    sidecar = SIDECARS[name]
    result = import_onnx(FIXTURES / f"{name}.onnx")
    net = result.network
    assert net.output.width == logits
    plural = "" if logits == 1 else "s"
    assert f"classifier: counting the logit network ({logits} logit{plural}, before {head})" \
        in result.report
    fields = json.loads(json.dumps(result.to_json()))["classifier"]
    assert fields["logits"] == sidecar["function_output"]["tensor"]
    assert (fields["width"], fields["before"]) == (logits, [head])
    samples = sidecar["samples"]
    for x, y in zip(samples["inputs"], samples["exact_function_output"]["values"]):
        assert evaluate(net, [Fraction(v) for v in x]) == vector(y)


@pytest.mark.parametrize("name", [n for n in IMPORTED if n not in QUANTIZED])
def test_imported_fixtures_count(name: str) -> None:
    """The engine takes every imported activation (quantized inputs make 2^16 cells:
    those are left to the activation tests' small quantizers)."""
    assert count(import_onnx(FIXTURES / f"{name}.onnx").network).exact


@pytest.mark.parametrize("name", list(REFUSED))
def test_non_piecewise_linear_fixture_is_refused_in_one_line(name: str) -> None:
    path = FIXTURES / f"{name}.onnx"
    with pytest.raises(InputError) as info:
        import_onnx(path)
    text = str(info.value)
    assert text.startswith(f"{path}: ") and "\n" not in text
    assert REFUSED[name] in text and "not piecewise linear" in text


# ----------------------------------------------------------------------- the CLI


@pytest.mark.parametrize("name", IMPORTED)
def test_cli_import_writes_each_fixture(name: str, tmp_path: Path) -> None:
    out = tmp_path / "net.json"
    outcome = run_tvmip(["import", str(FIXTURES / f"{name}.onnx"), "-o", str(out)])
    assert outcome.code == 0, outcome
    assert outcome.stdout.splitlines()[-1] == f"wrote {out}"
    assert load_network(out) == import_onnx(FIXTURES / f"{name}.onnx").network
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.json"]  # atomic


def test_cli_import_json_report(tmp_path: Path) -> None:
    out = tmp_path / "net.json"
    name = "skl_mlpclf_relu_2class_f32"
    outcome = run_tvmip(["import", str(FIXTURES / f"{name}.onnx"), "-o", str(out), "--json"])
    assert outcome.code == 0, outcome
    fields = json.loads(outcome.stdout)
    assert fields["classifier"]["before"] == ["Sigmoid"] and fields["output"] == str(out)
    assert fields["network_sha256"] == load_network(out).sha256


@pytest.mark.parametrize("data", [None, b"not a model", b""], ids=["tanh", "junk", "empty"])
def test_cli_import_refuses_bad_files_in_one_line(data: bytes | None, tmp_path: Path) -> None:
    if data is None:
        model = FIXTURES / "skl_mlpreg_tanh_f32.onnx"
    else:
        model = tmp_path / "bad.onnx"
        model.write_bytes(data)
    out = tmp_path / "net.json"
    outcome = run_tvmip(["import", str(model), "-o", str(out)])
    assert outcome.code == 2, outcome
    assert outcome.stderr.startswith(f"error: {model}: ") and outcome.stderr.count("\n") == 1
    assert not out.exists()
    if data is None:
        assert "'Tanh'" in outcome.stderr


def test_cli_count_on_an_onnx_file_says_to_import_it() -> None:
    model = str(FIXTURES / "torch_relu_stack_dynamo.onnx")
    outcome = run_tvmip(["count", model])
    assert outcome.code == 2, outcome
    assert outcome.stderr == (f"error: {model} is an ONNX model: convert it first with "
                              f"'tvmip import {model} -o net.json'\n")
