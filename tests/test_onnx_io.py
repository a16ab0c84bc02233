"""ONNX import and export (tvmip/io/onnx_*.py), checked exactly without any ONNX runtime.

* Imported networks are compared with an independent exact interpreter of the ONNX
  graph written here (:func:`onnx_eval`: numpy object arrays of Fractions, ONNX
  broadcasting, every operator tvmip reads), at rational points, for Gemm/Relu,
  MatMul + Add, Identity, Flatten, Reshape and Constant graphs in float32 and
  float64, and graphs with an activation before the first or after the last
  affine operator.  (The other operators: tests/test_onnx_activations.py; real
  exporters' files: tests/test_onnx_fixtures.py.)
* Export then import gives back the same network (``==``) when every value is a
  float64; values such as 1/3 (instances/*.json) are refused unless
  ``approximate=True``, whose reported rounding is recomputed here.
* Malformed and unsupported files give one-line :class:`InputError` messages
  that name the file and the operator or problem.
* ``ternarize``: the report counts and scales are recomputed, the result is
  ternary, and the ternary-weight network is exactly ``C`` times it, with the
  same activation patterns.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from tvmip.engine.counting import count
from tvmip.errors import InputError
from tvmip.io.onnx_export import export_onnx
from tvmip.io.onnx_import import import_onnx
from tvmip.model.network import (
    IDENTITY,
    RELU,
    Layer,
    Network,
    evaluate,
    load_network,
    network_from_dict,
)
from tvmip.model.ternarize import ternarize_network

INSTANCES = Path(__file__).resolve().parent.parent / "instances"
FLOAT, DOUBLE = TensorProto.FLOAT, TensorProto.DOUBLE


# ----------------------------------------------------------------- building models


def const(name: str, values: Any, dtype: Any = np.float32) -> TensorProto:
    return numpy_helper.from_array(np.array(values, dtype=dtype), name)


def make(
    nodes: list[onnx.NodeProto],
    initializers: list[TensorProto],
    *,
    n: int = 2,
    m: int = 1,
    elem: int = FLOAT,
    inputs: Sequence[tuple[str, list[Any]]] | None = None,
    outputs: Sequence[str] = ("y",),
) -> onnx.ModelProto:
    """A model with input ``x`` of shape [batch, n] (or ``inputs``) and ``outputs``."""
    graph = helper.make_graph(
        nodes,
        "test",
        [
            helper.make_tensor_value_info(name, elem, shape)
            for name, shape in (inputs or [("x", ["batch", n])])
        ],
        [helper.make_tensor_value_info(name, elem, ["batch", m]) for name in outputs],
        initializers,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def save(model: onnx.ModelProto, directory: Path, name: str = "model.onnx") -> Path:
    path = directory / name
    path.write_bytes(model.SerializeToString())
    return path


def gemm_model(dtype: Any) -> onnx.ModelProto:
    """Gemm (transB=1), Relu, Gemm (transB=0, alpha, beta, scalar C), Relu, Gemm."""
    elem = FLOAT if dtype == np.float32 else DOUBLE
    return make(
        [
            helper.make_node("Gemm", ["x", "W1", "b1"], ["h1"], name="g1", transB=1),
            helper.make_node("Relu", ["h1"], ["a1"], name="r1"),
            helper.make_node(
                "Gemm", ["a1", "W2", "b2"], ["h2"], name="g2", alpha=0.5, beta=-2.0
            ),
            helper.make_node("Relu", ["h2"], ["a2"], name="r2"),
            helper.make_node("Gemm", ["a2", "W3"], ["y"], name="g3", transB=1),
        ],
        [
            const("W1", [[0.1, -0.7], [1 / 3, 0.25], [-1.0, 2.0]], dtype),
            const("b1", [0.2, -0.3, 1e-3], dtype),
            const("W2", [[1.5, -0.1], [0.3, 0.6], [-0.9, 0.05]], dtype),
            const("b2", 0.125, dtype),
            const("W3", [[2.0, -1 / 7]], dtype),
        ],
        elem=elem,
    )


def matmul_model() -> onnx.ModelProto:
    """Rank-1 input: MatMul, Add, Relu, MatMul, Add (constant first), Identity, ..."""
    return make(
        [
            helper.make_node("MatMul", ["x", "W1"], ["p1"], name="m1"),
            helper.make_node("Add", ["p1", "b1"], ["h1"], name="add1"),
            helper.make_node("Relu", ["h1"], ["a1"], name="r1"),
            helper.make_node("MatMul", ["a1", "W2"], ["p2"], name="m2"),
            helper.make_node("Add", ["b2", "p2"], ["h2"], name="add2"),
            helper.make_node("Identity", ["h2"], ["a2"], name="id"),
            helper.make_node("MatMul", ["a2", "W3"], ["p3"], name="m3"),
            helper.make_node("Add", ["p3", "b3"], ["y"], name="add3"),
        ],
        [
            const(
                "W1",
                [[0.5, -0.25, 1.1], [0.2, 0.9, -0.4], [-1.3, 0.0, 0.7]],
                np.float64,
            ),
            const("b1", [0.1, -0.2, 0.3], np.float64),
            const("W2", [[1.0, -1.0], [0.5, 0.5], [-0.3, 0.8]], np.float64),
            const("b2", -0.6, np.float64),
            const("W3", [[0.9, -0.4], [0.2, 1.7]], np.float64),
            const("b3", [[0.01, -0.02]], np.float64),
        ],
        elem=DOUBLE,
        inputs=[("x", [3])],
        m=2,
    )


def noop_model() -> onnx.ModelProto:
    """Flatten, Reshape to [-1, 2] and a Constant-node weight around Gemm layers."""
    shape = helper.make_tensor("s", TensorProto.INT64, [2], [-1, 2])
    weight = numpy_helper.from_array(
        np.array([[0.75, -1.5], [2.0, 0.5]], np.float32), "w"
    )
    return make(
        [
            helper.make_node("Flatten", ["x"], ["f"], name="flat"),
            helper.make_node("Constant", [], ["W1"], name="c1", value=weight),
            helper.make_node("Gemm", ["f", "W1", "b1"], ["h1"], name="g1"),
            helper.make_node("Relu", ["h1"], ["a1"], name="r1"),
            helper.make_node("Constant", [], ["shape"], name="c2", value=shape),
            helper.make_node("Reshape", ["a1", "shape"], ["a1r"], name="reshape"),
            helper.make_node("Gemm", ["a1r", "W2", "b2"], ["y"], name="g2", transB=1),
        ],
        [const("b1", [[-0.5, 0.25]]), const("W2", [[1.0, -3.0]]), const("b2", [0.5])],
        inputs=[("x", [1, 2])],
    )


# ------------------------------------------------- an independent exact interpreter


def fractions(array: np.ndarray) -> np.ndarray:
    values = [Fraction(v) for v in array.ravel().tolist()]
    return np.array(values, dtype=object).reshape(array.shape)


_ROUND = np.frompyfunc(round, 1, 1)  # Fraction.__round__ rounds half to even


def _unary(function: Callable[[Fraction], Fraction]) -> Callable[[np.ndarray], np.ndarray]:
    return np.frompyfunc(function, 1, 1)


def _float_attr(attrs: dict[str, Any], name: str, default: float) -> Fraction:
    return Fraction(float(np.float32(attrs.get(name, default))))  # attributes are float32


def _quantization(node: onnx.NodeProto, values: dict[str, np.ndarray],
                  dtypes: dict[str, Any], attrs: dict[str, Any],
                  shape: tuple[int, ...]) -> tuple[Any, Any, Any]:
    """(scale, zero point, integer dtype) broadcast along ``axis`` for a tensor of shape."""
    scale = values[node.input[1]]
    zero_name = node.input[2] if len(node.input) > 2 and node.input[2] else None
    zero = values[zero_name] if zero_name else np.zeros(scale.shape, dtype=object)
    dtype = dtypes.get(zero_name, np.uint8) if zero_name else np.uint8
    if scale.size > 1:
        dims = [1] * len(shape)
        dims[attrs.get("axis", 1)] = scale.size
        scale, zero = scale.reshape(dims), zero.reshape(dims)
    return scale.reshape(scale.shape), zero, dtype


def onnx_eval(model: onnx.ModelProto, x: Sequence[Fraction], output: str | None = None
              ) -> list[Fraction]:
    """The model's output (or tensor ``output``) at one sample, in exact arithmetic:
    every stored number exactly, every operator on rationals (ONNX semantics;
    QuantizeLinear rounds the exact quotient half to even and saturates)."""
    graph = model.graph
    values = {t.name: fractions(numpy_helper.to_array(t)) for t in graph.initializer}
    dtypes = {t.name: numpy_helper.to_array(t).dtype for t in graph.initializer}
    (source,) = [v for v in graph.input if v.name not in values]
    rank = len(source.type.tensor_type.shape.dim)
    values[source.name] = np.array(list(x), dtype=object).reshape(
        (1,) * (rank - 1) + (len(x),)
    )
    for node in graph.node:  # test graphs are topologically sorted
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        args = [values[name] if name else None for name in node.input]
        op = node.op_type
        if op == "Constant":
            ((kind, value),) = attrs.items()
            array = numpy_helper.to_array(value) if kind == "value" else \
                np.array(value, dtype=np.float32 if "float" in kind else np.int64)
            dtypes[node.output[0]] = array.dtype
            out = fractions(array)
        elif op == "Gemm":
            b = args[1].T if attrs.get("transB", 0) else args[1]
            out = _float_attr(attrs, "alpha", 1.0) * (args[0] @ b)
            if len(args) == 3:
                out = out + _float_attr(attrs, "beta", 1.0) * args[2]
        elif op == "MatMul":
            out = args[0] @ args[1]
        elif op in ("Add", "Sub", "Mul", "Div"):
            out = {"Add": np.add, "Sub": np.subtract, "Mul": np.multiply,
                   "Div": np.divide}[op](args[0], args[1])
        elif op in ("Less", "LessOrEqual", "Greater", "GreaterOrEqual", "Equal"):
            out = {"Less": np.less, "LessOrEqual": np.less_equal, "Greater": np.greater,
                   "GreaterOrEqual": np.greater_equal, "Equal": np.equal}[op](*args)
        elif op in ("Max", "Min"):
            out = args[0]
            for arg in args[1:]:
                out = (np.maximum if op == "Max" else np.minimum)(out, arg)
        elif op == "Not":
            out = np.logical_not(args[0].astype(bool))
        elif op == "Where":
            out = np.where(args[0].astype(bool), args[1], args[2])
        elif op == "Relu":
            out = _unary(lambda v: max(v, Fraction(0)))(args[0])
        elif op == "LeakyRelu":
            alpha = _float_attr(attrs, "alpha", 0.01)
            out = _unary(lambda v, a=alpha: v if v >= 0 else a * v)(args[0])
        elif op == "HardSigmoid":
            a, b = _float_attr(attrs, "alpha", 0.2), _float_attr(attrs, "beta", 0.5)
            out = _unary(lambda v, a=a, b=b: min(Fraction(1), max(Fraction(0), a * v + b)))(
                args[0])
        elif op == "Clip":
            lo = args[1] if len(args) > 1 and args[1] is not None else None
            hi = args[2] if len(args) > 2 and args[2] is not None else None
            out = args[0]
            if lo is not None:
                out = np.maximum(out, lo.reshape(()))
            if hi is not None:
                out = np.minimum(out, hi.reshape(()))
        elif op == "Sign":
            out = _unary(lambda v: Fraction((v > 0) - (v < 0)))(args[0])
        elif op == "Abs":
            out = _unary(abs)(args[0])
        elif op == "Neg":
            out = -args[0]
        elif op == "Round":
            out = _ROUND(args[0])
        elif op == "QuantizeLinear":
            scale, zero, dtype = _quantization(node, values, dtypes, attrs, args[0].shape)
            info = np.iinfo(dtype)
            out = np.clip(_ROUND(args[0] / scale) + zero, info.min, info.max)
            dtypes[node.output[0]] = dtype
        elif op == "DequantizeLinear":
            scale, zero, _ = _quantization(node, values, dtypes, attrs, args[0].shape)
            out = (args[0] - zero) * scale
        elif op == "Cast":
            out = _unary(Fraction)(args[0].astype(object))
        elif op == "Identity":
            out = args[0]
            if node.input[0] in dtypes:
                dtypes[node.output[0]] = dtypes[node.input[0]]
        elif op == "Flatten":
            out = args[0].reshape(args[0].shape[0], -1)
        elif op == "Reshape":
            dims = [int(d) for d in args[1].ravel()]
            out = args[0].reshape(
                [args[0].shape[i] if d == 0 else d for i, d in enumerate(dims)]
            )
        else:
            raise AssertionError(f"the test interpreter has no {op}")
        values[node.output[0]] = out
    return [Fraction(v) for v in values[output or graph.output[0].name].ravel()]


def points(dim: int, k: int = 12, seed: int = 1) -> list[list[Fraction]]:
    rng = random.Random(seed)
    return [
        [Fraction(rng.randint(-40, 40), rng.randint(1, 9)) for _ in range(dim)]
        for _ in range(k)
    ]


# ------------------------------------------------------------------------- import


@pytest.mark.parametrize(
    "build",
    [
        lambda: gemm_model(np.float32),
        lambda: gemm_model(np.float64),
        matmul_model,
        noop_model,
    ],
    ids=["gemm-float32", "gemm-float64", "matmul-add", "noops"],
)
def test_import_equals_exact_onnx_semantics(
    build: Callable[[], onnx.ModelProto], tmp_path: Path
) -> None:
    model = build()
    net = import_onnx(save(model, tmp_path)).network
    for x in points(net.input_dim):
        assert list(evaluate(net, x)) == onnx_eval(model, x)


def test_float_weights_are_read_exactly_never_rounded(tmp_path: Path) -> None:
    net32 = import_onnx(save(gemm_model(np.float32), tmp_path, "a.onnx")).network
    net64 = import_onnx(save(gemm_model(np.float64), tmp_path, "b.onnx")).network
    w32, w64 = net32.layers[0].weights[0][0], net64.layers[0].weights[0][0]
    assert w32 == Fraction(float(np.float32(0.1))) == Fraction(13421773, 2**27)
    assert w64 == Fraction(0.1) != Fraction(1, 10) != w32
    # alpha = 0.5 scales the weights, beta = -2 the broadcast scalar bias, exactly
    assert net64.layers[1].weights[0] == tuple(
        Fraction(w) / 2 for w in (1.5, 0.3, -0.9)
    )
    assert net64.layers[1].biases == (Fraction(-1, 4),) * 2


def test_layer_structure_and_report(tmp_path: Path) -> None:
    path = save(matmul_model(), tmp_path)
    result = import_onnx(path)
    net = result.network
    assert (net.input_dim, net.widths, net.output.width) == (3, (3, 2), 2)
    # the affine map before Identity is kept as an identity hidden layer, not folded
    assert [layer.activation for layer in net.layers] == [RELU, IDENTITY]
    assert net.layers[1].biases == (Fraction(-0.6),) * 2  # Add with the constant first
    assert result.operators == (
        "MatMul",
        "Add",
        "Relu",
        "MatMul",
        "Add",
        "Identity",
        "MatMul",
        "Add",
    )
    assert result.opset == 17 and result.ternarization is None
    lines = result.report.splitlines()
    assert lines[0].startswith(f"imported {path}")
    assert "MatMul -> Add -> Relu" in lines[1]
    assert "hidden layers [3 relu, 2 identity]" in lines[2]
    fields = json.loads(json.dumps(result.to_json()))
    assert fields["widths"] == [3, 2] and fields["activations"] == ["relu", "identity"]
    assert fields["network_sha256"] == net.sha256


def test_count_of_imported_net_equals_count_of_json_net(tmp_path: Path) -> None:
    w1 = [["0.75", "-1.25"], ["0.5", "0.5"], ["-1", "0.25"], ["2", "-0.5"]]
    b1 = ["0.125", "-0.5", "1", "0"]
    w2 = [["1", "-0.5", "0.25", "1.5"]]
    model = make(
        [
            helper.make_node("MatMul", ["x", "W1"], ["p"]),
            helper.make_node("Add", ["p", "b1"], ["h"]),
            helper.make_node("Relu", ["h"], ["a"]),
            helper.make_node("MatMul", ["a", "W2"], ["y"]),
        ],
        [
            const("W1", np.array(w1, dtype=float).T),
            const("b1", np.array(b1, dtype=float)),
            const("W2", np.array(w2, dtype=float).T),
        ],
    )
    imported = import_onnx(save(model, tmp_path)).network
    reference = network_from_dict(
        {
            "input_dim": 2,
            "layers": [{"weights": w1, "biases": b1, "activation": "relu"}],
            "output": {"weights": w2, "biases": [0]},
        }
    )
    assert imported == reference
    # four lines in the plane, two of them parallel: 10 regions
    assert (
        count(imported).activation_regions == count(reference).activation_regions == 10
    )


# ------------------------------------------------------------------------- export


def dyadic_network() -> Network:
    """Identity and ReLU layers, integers beyond 2**32 and small dyadic rationals."""
    return network_from_dict(
        {
            "input_dim": 2,
            "layers": [
                {
                    "weights": [[1, -1], [0, 1], [2**60, "-3/8"]],
                    "biases": ["1/1024", -5, 0],
                    "activation": "identity",
                },
                {
                    "weights": [[1, 0, 1], [-1, 1, "0.5"]],
                    "biases": ["-0.75", "3/2"],
                    "activation": "relu",
                },
            ],
            "output": {"weights": [[1, -1]], "biases": [f"1/{2**70}"]},
        }
    )


def float64_exact(value: Fraction) -> bool:
    return Fraction(float(value)) == value


def all_values(net: Network) -> list[tuple[str, Fraction]]:
    """Every weight and bias with its location, in export order."""
    out = []
    named = [(f"layers[{i}]", layer) for i, layer in enumerate(net.layers)]
    for where, layer in [*named, ("output", net.output)]:
        for r, row in enumerate(layer.weights):
            out += [(f"{where}.weights[{r}][{c}]", w) for c, w in enumerate(row)]
        out += [(f"{where}.biases[{i}]", b) for i, b in enumerate(layer.biases)]
    return out


INSTANCE_NETS = {p.stem: load_network(p) for p in sorted(INSTANCES.glob("n*.json"))}
DYADIC = [
    name
    for name, net in INSTANCE_NETS.items()
    if all(float64_exact(v) for _, v in all_values(net))
]
NON_DYADIC = [name for name in INSTANCE_NETS if name not in DYADIC]


def test_instances_cover_both_cases() -> None:
    assert len(DYADIC) >= 3 and len(NON_DYADIC) >= 10


@pytest.mark.parametrize("name", ["handmade", *DYADIC])
def test_export_import_round_trip_is_exact(name: str, tmp_path: Path) -> None:
    net = dyadic_network() if name == "handmade" else INSTANCE_NETS[name]
    path = tmp_path / "net.onnx"
    result = export_onnx(net, path)
    assert (result.rounded, result.max_error, result.values) == (
        0,
        0,
        len(all_values(net)),
    )
    model = onnx.load(str(path))
    onnx.checker.check_model(model, full_check=True)
    props = {p.key: p.value for p in model.metadata_props}
    specs = json.dumps([layer.activation.spec for layer in net.layers], separators=(",", ":"))
    assert props == {"tvmip.network_sha256": net.sha256, "tvmip.exact": "true",
                     "tvmip.activations": specs}
    assert import_onnx(path).network == net
    for x in points(net.input_dim, k=5):
        assert onnx_eval(model, x) == list(evaluate(net, x))
    # written atomically: no temporary file is left behind
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.onnx"]


@pytest.mark.parametrize("name", NON_DYADIC)
def test_export_refuses_values_that_are_not_float64(name: str, tmp_path: Path) -> None:
    net = INSTANCE_NETS[name]
    where, value = next((w, v) for w, v in all_values(net) if not float64_exact(v))
    path = tmp_path / "net.onnx"
    path.write_bytes(b"previous")
    with pytest.raises(InputError) as info:
        export_onnx(net, path)
    assert f"{where} = {value.numerator}/{value.denominator} is not a float64" in str(
        info.value
    )
    assert path.read_bytes() == b"previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.onnx"]


@pytest.mark.parametrize("name", NON_DYADIC[:4])
def test_approximate_export_reports_its_rounding(name: str, tmp_path: Path) -> None:
    net = INSTANCE_NETS[name]
    path = tmp_path / "net.onnx"
    result = export_onnx(net, path, approximate=True)
    errors = [abs(Fraction(float(v)) - v) for _, v in all_values(net)]
    assert result.rounded == sum(1 for e in errors if e) > 0
    assert result.max_error == max(errors)
    assert "rounded to the nearest float64" in result.report
    model = onnx.load(str(path))
    onnx.checker.check_model(model, full_check=True)
    assert {p.key: p.value for p in model.metadata_props}["tvmip.exact"] == "false"
    back = import_onnx(path).network
    assert [v for _, v in all_values(back)] == [
        Fraction(float(v)) for _, v in all_values(net)
    ]


def test_export_to_a_missing_directory_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot write"):
        export_onnx(dyadic_network(), tmp_path / "missing" / "net.onnx")


# -------------------------------------------------------------- bad and unsupported


def gemm(
    src: str, dst: str, w: str, b: str | None = None, **attrs: Any
) -> onnx.NodeProto:
    """Gemm with weight rows = neurons (transB = 1) unless ``attrs`` say otherwise."""
    return helper.make_node(
        "Gemm", [src, w] + ([b] if b else []), [dst], name=dst, **{"transB": 1, **attrs}
    )


W22, B2, W12 = (
    const("W", [[1, 2], [3, 4]]),
    const("b", [0.5, -1]),
    const("V", [[1, -1]]),
)


def bad(
    nodes: list[onnx.NodeProto], inits: list[TensorProto] | None = None, **kwargs: Any
) -> onnx.ModelProto:
    return make(nodes, [W22, B2, W12] if inits is None else inits, **kwargs)


def layer_then(op_node: onnx.NodeProto) -> onnx.ModelProto:
    """x -> Gemm -> op_node (h -> a) -> Gemm -> y."""
    return bad([gemm("x", "h", "W", "b"), op_node, gemm("a", "y", "V")])


BAD_MODELS: dict[str, tuple[Callable[[], onnx.ModelProto], str]] = {
    "conv": (
        lambda: layer_then(helper.make_node("Conv", ["h", "W"], ["a"], name="conv1")),
        "unsupported ONNX operator 'Conv' at node 'conv1'",
    ),
    "sigmoid": (
        lambda: layer_then(helper.make_node("Sigmoid", ["h"], ["a"], name="act")),
        "unsupported ONNX operator 'Sigmoid' at node 'act'",
    ),
    "custom-domain": (
        lambda: layer_then(helper.make_node("Relu", ["h"], ["a"], domain="my.ops")),
        "unsupported ONNX operator 'my.ops.Relu' at node '#1'",
    ),
    "two-inputs": (
        lambda: bad([gemm("x", "y", "W")], inputs=[("x", [1, 2]), ("x2", [1, 2])]),
        "2 inputs ('x', 'x2'); expected exactly one",
    ),
    "two-outputs": (
        lambda: bad(
            [
                gemm("x", "h", "W"),
                helper.make_node("Relu", ["h"], ["y"]),
                gemm("y", "z", "V"),
            ],
            outputs=("y", "z"),
        ),
        "2 outputs ('y', 'z'); expected exactly one",
    ),
    "computed-weight": (
        lambda: bad(
            [
                gemm("x", "h", "W"),
                helper.make_node("Relu", ["h"], ["a"]),
                helper.make_node("MatMul", ["a", "a"], ["y"], name="mm"),
            ]
        ),
        "MatMul at node 'mm': operand 'a' is not a constant",
    ),
    "cycle": (
        lambda: bad(
            [
                gemm("q", "h", "W"),
                helper.make_node("Relu", ["h"], ["a"], name="r"),
                helper.make_node("Identity", ["a"], ["q"]),
                gemm("a", "y", "V"),
            ]
        ),
        "cycle through node 'r'",
    ),
    "residual-add": (
        lambda: bad(
            [
                gemm("x", "h", "W"),
                helper.make_node("Relu", ["h"], ["a"]),
                helper.make_node("Add", ["a", "x"], ["s"], name="skip"),
                gemm("s", "y", "V"),
            ]
        ),
        ("Add at node 'skip': its operands come from different layers (a skip "
         "connection)"),
    ),
    "dead-branch": (
        lambda: bad(
            [
                gemm("x", "h", "W"),
                helper.make_node("Relu", ["h"], ["a"]),
                helper.make_node("Relu", ["x"], ["unused"], name="dead"),
                gemm("a", "y", "V"),
            ]
        ),
        "node 'dead' (Relu) is not on the path from input 'x' to output 'y'",
    ),
    "no-hidden-layer": (
        lambda: bad([gemm("x", "y", "V")]),
        "at least one hidden layer",
    ),
    "transA": (
        lambda: layer_then(gemm("h", "a", "W", transA=1)),
        "transA = 1 is not supported",
    ),
    "fan-in": (
        lambda: bad(
            [
                gemm("x", "h", "W"),
                helper.make_node("Relu", ["h"], ["a"]),
                gemm("a", "y", "V"),
            ],
            n=3,
        ),
        "Gemm at node 'h': weights take 2 inputs, got 3",
    ),
    "nan-weight": (
        lambda: bad(
            [
                gemm("x", "h", "W"),
                helper.make_node("Relu", ["h"], ["a"]),
                gemm("a", "y", "V"),
            ],
            [const("W", [[1, np.nan], [0, 1]]), W12],
        ),
        "Gemm at node 'h': non-finite value nan",
    ),
    "bias-shape": (
        lambda: bad(
            [
                gemm("x", "h", "W", "b3"),
                helper.make_node("Relu", ["h"], ["a"]),
                gemm("a", "y", "V"),
            ],
            [W22, W12, const("b3", [1, 2, 3])],
        ),
        "bias of shape [3] does not fit width 2",
    ),
    "input-rank": (
        lambda: bad([gemm("x", "y", "V")], inputs=[("x", [1, 1, 2])]),
        "input 'x' has rank 3",
    ),
    "reshape": (
        lambda: layer_then(helper.make_node("Reshape", ["h", "S"], ["a"], name="rs")),
        "Reshape at node 'rs': operand 'S' is not a constant",
    ),
}


@pytest.mark.parametrize("case", BAD_MODELS)
def test_unsupported_graphs_are_input_errors(case: str, tmp_path: Path) -> None:
    build, message = BAD_MODELS[case]
    path = save(build(), tmp_path)
    with pytest.raises(InputError) as info:
        import_onnx(path)
    text = str(info.value)
    assert text.startswith(f"{path}: ") and "\n" not in text
    assert message in text


def test_reshape_that_changes_the_vector_is_refused(tmp_path: Path) -> None:
    model = bad(
        [
            gemm("x", "h", "W"),
            helper.make_node("Relu", ["h"], ["a"]),
            helper.make_node("Reshape", ["a", "S"], ["r"], name="rs"),
            gemm("r", "y", "V"),
        ],
        [W22, W12, const("S", [2, 1], np.int64)],
    )
    with pytest.raises(
        InputError, match=r"Reshape at node 'rs': reshape to \[2, 1\] changes"
    ):
        import_onnx(save(model, tmp_path))


def test_activations_before_the_first_and_after_the_last_affine_operator(
    tmp_path: Path,
) -> None:
    """A Relu on the input is a first hidden layer with identity weights; one after the
    last Gemm is a last hidden layer and an identity output layer: exactly the graph's
    function (both were refused before tvmip read quantized inputs and outputs)."""
    model = bad(
        [
            helper.make_node("Relu", ["x"], ["r"], name="r0"),
            gemm("r", "h", "W", "b"),
            helper.make_node("Relu", ["h"], ["a"]),
            gemm("a", "p", "V"),
            helper.make_node("Relu", ["p"], ["y"], name="last"),
        ]
    )
    result = import_onnx(save(model, tmp_path))
    net = result.network
    one, zero = Fraction(1), Fraction(0)
    assert net.widths == (2, 2, 1) and all(layer.activation == RELU for layer in net.layers)
    assert net.layers[0] == Layer(((one, zero), (zero, one)), (zero, zero), RELU)
    assert net.output == Layer(((one,),), (zero,))
    for x in points(2):
        assert list(evaluate(net, x)) == onnx_eval(model, x)
    assert "input goes through Relu: imported as a first hidden layer" in result.report
    assert "output goes through Relu: imported as a last hidden layer" in result.report


BAD_FILES: dict[str, tuple[Callable[[Path], Path], str]] = {
    "truncated": (
        lambda d: _write(d, gemm_model_bytes()[:100]),
        "not an ONNX model (corrupt",
    ),
    "text": (
        lambda d: _write(d, b"this is not a model\n"),
        "not an ONNX model (corrupt",
    ),
    "json": (
        lambda d: _write(d, json.dumps(dyadic_network().to_json()).encode()),
        "not an ONNX model",
    ),
    "empty": (
        lambda d: _write(d, b""),
        "not an ONNX model (no IR version or no graph)",
    ),
    "missing": (lambda d: d / "absent.onnx", "cannot read"),
    "directory": (lambda d: d, "cannot read"),
}


def gemm_model_bytes() -> bytes:
    return gemm_model(np.float32).SerializeToString()


def _write(directory: Path, data: bytes) -> Path:
    path = directory / "file.onnx"
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("case", BAD_FILES)
def test_malformed_files_are_input_errors(case: str, tmp_path: Path) -> None:
    make_file, message = BAD_FILES[case]
    path = make_file(tmp_path)
    with pytest.raises(InputError) as info:
        import_onnx(path)
    assert str(info.value).startswith(f"{path}: ") and message in str(info.value)


def test_every_truncation_is_an_input_error_or_the_same_network(tmp_path: Path) -> None:
    """A cut after the graph field drops only opset and metadata: still the network."""
    net = dyadic_network()
    export_onnx(net, tmp_path / "net.onnx")
    data = (tmp_path / "net.onnx").read_bytes()
    path = tmp_path / "cut.onnx"
    for end in range(len(data)):
        path.write_bytes(data[:end])
        try:
            assert import_onnx(path).network == net
        except InputError as exc:
            assert str(exc).startswith(f"{path}: ") and "\n" not in str(exc)


# --------------------------------------------------------------------- ternarize


def twn_model() -> onnx.ModelProto:
    """Dyadic float32 weights, so the expected delta and alpha are easy to write."""
    return make(
        [
            gemm("x", "h1", "W1", "b1"),
            helper.make_node("Relu", ["h1"], ["a1"]),
            gemm("a1", "h2", "W2", "b2"),
            helper.make_node("Relu", ["h2"], ["a2"]),
            gemm("a2", "y", "W3", "b3"),
        ],
        [
            const("W1", [[0.75, -0.125], [0.5, -1.5], [0.0, 0.25]]),
            const("b1", [0.5, -1, 0.25]),
            const("W2", [[0.0, 0.0, 0.0], [1.0, -2.0, 0.5]]),
            const("b2", [1, -0.75]),
            const("W3", [[-0.5, 0.25]]),
            const("b3", [3]),
        ],
    )


def preactivations(net: Network, x: Sequence[Fraction]) -> list[list[Fraction]]:
    """Every hidden layer's pre-activations at x (exact)."""
    out, z = [], list(x)
    for layer in net.layers:
        pre = [
            sum((w * v for w, v in zip(row, z)), b)
            for row, b in zip(layer.weights, layer.biases)
        ]
        out.append(pre)
        z = [max(v, Fraction(0)) for v in pre] if layer.activation == RELU else pre
    return out


def scaled(alpha: Fraction, weights: tuple[tuple[Fraction, ...], ...]) -> Any:
    return tuple(tuple(alpha * w for w in row) for row in weights)


def test_ternarize_counts_scales_and_exact_equivalence(tmp_path: Path) -> None:
    path = save(twn_model(), tmp_path)
    original = import_onnx(path).network
    result = import_onnx(path, ternarize=True)
    g, table = result.network, result.ternarization
    assert g.ternary and table is not None
    first, second, out = table.layers
    # layer 1: mean|w| = 3.125/6, delta = 0.7 * that = 35/96; 0.75, 0.5, -1.5 kept
    assert first.delta == Fraction(7, 10) * Fraction(3125, 6000) == Fraction(35, 96)
    assert (first.weights, first.kept, first.zeroed, first.changed) == (6, 3, 2, 5)
    assert first.alpha == Fraction(11, 12)  # (0.75 + 0.5 + 1.5) / 3
    assert g.layers[0].weights == ((1, 0), (1, -1), (0, 0))
    assert (second.kept, second.zeroed, second.changed, second.alpha) == (
        3,
        0,
        2,
        Fraction(7, 6),
    )
    assert (out.kept, out.zeroed, out.alpha) == (1, 1, Fraction(1, 2))
    assert g.output.weights == ((-1, 0),)
    assert table.scale == Fraction(11, 12) * Fraction(7, 6) / 2 == Fraction(77, 144)
    # biases divided by the cumulative scale
    assert g.layers[0].biases == tuple(
        b / first.alpha for b in original.layers[0].biases
    )
    assert g.output.biases == (Fraction(3) / table.scale,)
    # the ternary-weight network h (weights alpha * T, original biases) equals C * g,
    # with the same activation pattern everywhere
    h = Network(
        original.input_dim,
        tuple(
            Layer(scaled(r.alpha, tl.weights), ol.biases, ol.activation)
            for r, tl, ol in zip(table.layers, g.layers, original.layers)
        ),
        Layer(scaled(out.alpha, g.output.weights), original.output.biases),
    )
    for x in points(2, k=40):
        assert evaluate(h, x) == tuple(table.scale * v for v in evaluate(g, x))
        signs = [[(v > 0) - (v < 0) for v in pre] for pre in preactivations(h, x)]
        assert signs == [
            [(v > 0) - (v < 0) for v in pre] for pre in preactivations(g, x)
        ]
    text = result.report
    assert "layers[0]: 6 weights, 3 kept as sign(w), 2 zeroed, 5 changed" in text
    assert "9 of 14 weights changed; no weight changes sign" in text
    assert "delta = 0.364583, alpha = 0.916667" in text
    assert "C = 0.534722 > 0" in text
    fields = json.loads(json.dumps(result.to_json()))["ternarization"]
    assert fields["scale"] == "77/144" and fields["layers"][0]["delta"] == "35/96"
    assert count(g).exact


def test_ternarize_all_zero_layer_keeps_scale_one() -> None:
    net = network_from_dict(
        {
            "input_dim": 1,
            "layers": [
                {"weights": [[2], [-2]], "biases": [1, 3], "activation": "relu"},
                {"weights": [[0, 0]], "biases": [5], "activation": "relu"},
            ],
            "output": {"weights": [[3]], "biases": [6]},
        }
    )
    g, table = ternarize_network(net)
    assert [layer.alpha for layer in table.layers] == [2, 1, 3]
    zero, one = Fraction(0), Fraction(1)
    assert g.layers[1] == Layer(((zero, zero),), (Fraction(5, 2),), RELU)
    assert g.output == Layer(((one,),), (one,))


def test_ternarize_leaves_a_ternary_network_unchanged() -> None:
    net = INSTANCE_NETS["n2_random_ternary_d3"]
    assert net.ternary
    same, table = ternarize_network(net)
    assert same == net and table.scale == 1
    assert all(layer.changed == layer.zeroed == 0 for layer in table.layers)


@pytest.mark.parametrize("activation", ["hardtanh", "step", {"leaky_relu": 0}])
def test_ternarize_refuses_activations_that_are_not_positively_homogeneous(
        activation: Any) -> None:
    """Pushing a scale through hardtanh or step changes the function (leaky ReLU with
    slope 0 is ReLU and passes): refused in the model, for every caller."""
    net = network_from_dict({"input_dim": 1,
                             "layers": [{"weights": [[2]], "biases": [1],
                                         "activation": activation}],
                             "output": {"weights": [[3]], "biases": [0]}})
    if activation == {"leaky_relu": 0}:
        assert ternarize_network(net)[1].scale == 6
    else:
        with pytest.raises(InputError, match=rf"layers\[0\] has {activation}$"):
            ternarize_network(net)
