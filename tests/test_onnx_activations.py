"""Every activation through ONNX and back, the operators tvmip reads, and their algebra.

* **Export then import** gives back the very network (``==``, which compares
  activations as functions, and the same sha256, so the same specs) for every
  activation kind, and the exported graph *is* the activation: the independent
  exact interpreter of tests/test_onnx_io.py evaluates it at points where every
  pre-activation sits exactly on a breakpoint, and at others, and matches
  ``tvmip.evaluate``.  onnxruntime agrees in float64 away from the breakpoints.
* **Import** of hand-built graphs with each operator (Clip, HardSigmoid, Sign,
  QuantizeLinear/DequantizeLinear on activations and weights, Where chains, Max,
  Min, Abs, ...) equals that interpreter exactly; refusals are one line naming the
  node.
* **The algebra** (tvmip/io/pwl.py): composition and pointwise combination agree
  with pointwise evaluation on random functions (hypothesis).
"""

from __future__ import annotations

import random
from fractions import Fraction
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper
from test_onnx_io import DOUBLE, const, gemm, make, onnx_eval, save

from tvmip.checker.activation import (
    HARDTANH,
    IDENTITY,
    RELU,
    Activation,
    leaky_relu,
    pwl,
    quantize,
)
from tvmip.errors import InputError
from tvmip.io import pwl as algebra
from tvmip.io.onnx_export import export_onnx
from tvmip.io.onnx_import import import_onnx
from tvmip.model.network import Layer, Network, evaluate, network_from_dict

F = Fraction
ZERO, ONE = F(0), F(1)
FLOAT64_TENTH = f"{F(0.1).numerator}/{F(0.1).denominator}"  # not a float32
ACTIVATIONS: dict[str, Any] = {
    "relu": "relu",
    "identity": "identity",
    "step": "step",
    "sign": "sign",
    "hardtanh": "hardtanh",
    "leaky-float32": {"leaky_relu": "0.125"},
    "leaky-float64": {"leaky_relu": FLOAT64_TENTH},
    "quantize": {"quantize": {"scale": "0.25", "zero_point": 3, "qmin": 0, "qmax": 15}},
    "quantize-int8": {"quantize": {"scale": "13421773/268435456", "zero_point": -3,
                                   "qmin": -128, "qmax": 127}},
    "pwl": {"pwl": {"breakpoints": ["-1", "0.5", "2"],
                    "pieces": [["1", "0"], ["0", "2"], ["-2", "0.25"], ["0.5", "-1"]],
                    "values": ["7", "2", "-3.75"]}},
    "pwl-left-values": {"pwl": {"breakpoints": ["-0.75", "1.5"],
                                "pieces": [["0", "-1"], ["3", "0"], ["-1", "2"]],
                                "values": ["-1", "4.5"]}},
    "hardsigmoid-float32": {"pwl": {"breakpoints": ["-33554432/11184811",
                                                    "33554432/11184811"],
                                    "pieces": [[0, 0], ["11184811/67108864", "1/2"],
                                               [0, 1]],
                                    "values": [0, 1]}},
}
"""The hardsigmoid's breakpoints are not float64 numbers: see the inexact tests."""
EXACT = [kind for kind in ACTIVATIONS if kind != "hardsigmoid-float32"]
OPS = {  # what each activation becomes in the file
    "relu": {"Relu"}, "identity": {"Identity"}, "hardtanh": {"Clip"},
    "leaky-float32": {"LeakyRelu"}, "leaky-float64": {"Where", "Less", "Mul"},
    "step": {"Where", "Less"}, "sign": {"Where", "Less"},
    "quantize": {"Div", "Clip", "Round", "Mul"}, "quantize-int8": {"Div", "Clip", "Round"},
    "pwl": {"Where", "Less", "LessOrEqual", "Equal", "Mul", "Add"},
    "pwl-left-values": {"Where", "LessOrEqual"},
}
W1, B1 = [[1], [-2], ["0.5"]], [0, "0.25", "-0.5"]


def network(activation: Any) -> Network:
    """n0 = 1: neuron i's pre-activation is w_i x + b_i, so x = (t - b_i) / w_i puts
    it exactly on the breakpoint t."""
    return network_from_dict({
        "input_dim": 1,
        "layers": [{"weights": W1, "biases": B1, "activation": activation}],
        "output": {"weights": [[1, "-0.5", 2]], "biases": ["0.125"]},
    })


def breakpoint_points(net: Network) -> list[list[Fraction]]:
    """Inputs that put some neuron exactly on each breakpoint of its activation."""
    layer = net.layers[0]
    return [[(t - b) / row[0]] for row, b in zip(layer.weights, layer.biases)
            for t in layer.activation.breakpoints]


def far_from_breakpoints(net: Network, x: list[Fraction], margin: Fraction) -> bool:
    layer = net.layers[0]
    return all(abs(row[0] * x[0] + b - t) > margin
               for row, b in zip(layer.weights, layer.biases)
               for t in layer.activation.breakpoints)


@pytest.mark.parametrize("kind", EXACT)
def test_export_import_round_trip_per_activation(kind: str, tmp_path: Path) -> None:
    net = network(ACTIVATIONS[kind])
    path = tmp_path / "net.onnx"
    result = export_onnx(net, path)
    assert result.rounded == 0
    model = onnx.load(str(path))
    onnx.checker.check_model(model, full_check=True)
    assert OPS[kind] <= {node.op_type for node in model.graph.node}
    if kind == "leaky-float64":  # a slope that float32 LeakyRelu would round
        assert "LeakyRelu" not in {node.op_type for node in model.graph.node}
    back = import_onnx(path).network
    assert back == net and back.sha256 == net.sha256
    rng = random.Random(kind)
    samples = breakpoint_points(net) + [[F(rng.randint(-80, 80), 16)] for _ in range(40)]
    for x in samples:
        assert onnx_eval(model, x) == list(evaluate(net, x)), x


@pytest.mark.parametrize("kind", EXACT)
def test_onnxruntime_agrees_away_from_breakpoints(kind: str, tmp_path: Path) -> None:
    net = network(ACTIVATIONS[kind])
    path = tmp_path / "net.onnx"
    export_onnx(net, path)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(7)
    xs = [x for x in rng.uniform(-6, 6, size=(300, 1))
          if far_from_breakpoints(net, [F(float(x[0]))], F(1, 10**6))]
    assert len(xs) > 250
    (got,) = session.run(None, {"x": np.array(xs)})
    for x, y in zip(xs, got):
        exact = float(evaluate(net, [F(float(x[0]))])[0])
        assert abs(y[0] - exact) <= 1e-12 * max(1.0, abs(exact)), (x, y, exact)


def test_inexact_activation_parameters_are_refused_or_rounded(tmp_path: Path) -> None:
    path = tmp_path / "net.onnx"
    third = network({"leaky_relu": "1/3"})
    with pytest.raises(InputError, match=r"layers\[0\]\.activation \(pwl\)\.pieces\[0\]"
                                         r"\.slope\[0\] = 1/3 is not a float64"):
        export_onnx(third, path)
    assert not path.exists()
    result = export_onnx(third, path, approximate=True)
    assert (result.rounded, result.max_error) == (1, abs(F(float(F(1, 3))) - F(1, 3)))
    back = import_onnx(path).network
    assert back.layers[0].activation == leaky_relu(F(float(F(1, 3))))
    hard = network(ACTIVATIONS["hardsigmoid-float32"])
    with pytest.raises(InputError, match=r"breakpoints\[1\]\[0\] = 33554432/11184811"):
        export_onnx(hard, path)
    result = export_onnx(hard, path, approximate=True)
    assert result.rounded == 2 and "rounded to the nearest float64" in result.report
    assert import_onnx(path).network.layers[0].activation.breakpoints == tuple(
        F(float(t)) for t in hard.layers[0].activation.breakpoints)


def test_an_affine_pwl_comes_back_folded_into_the_weights(tmp_path: Path) -> None:
    net = network({"pwl": {"breakpoints": [], "pieces": [[2, 1]], "values": []}})
    export_onnx(net, tmp_path / "net.onnx")
    back = import_onnx(tmp_path / "net.onnx").network
    assert back.layers[0] == Layer(((F(2),), (F(-4),), (ONE,)), (ONE, F(3, 2), ZERO), IDENTITY)
    for x in ([F(k, 3)] for k in range(-9, 10)):
        assert evaluate(back, x) == evaluate(net, x)


# ------------------------------------------------------ importing each operator


def scalar(name: str, value: Any, dtype: Any = np.float32) -> onnx.TensorProto:
    return const(name, value, dtype)


def one_layer(activation_nodes: list[onnx.NodeProto], inits: list[onnx.TensorProto],
              elem: int = TensorProto.FLOAT) -> onnx.ModelProto:
    """x -> Gemm (h) -> activation_nodes (h .. a) -> Gemm -> y, two neurons."""
    dtype = np.float32 if elem == TensorProto.FLOAT else np.float64
    return make(
        [gemm("x", "h", "W", "b"), *activation_nodes, gemm("a", "y", "V")],
        [const("W", [[1, 0], [0.5, -1]], dtype), const("b", [0, 0.25], dtype),
         const("V", [[1, -2]], dtype), *inits],
        elem=elem,
    )


def check_exact(model: onnx.ModelProto, tmp_path: Path,
                breakpoints: tuple[Fraction, ...] = ()) -> Network:
    """Import and compare with the interpreter at random points and at points that
    put the first neuron (pre-activation x_0) on each given breakpoint."""
    net = import_onnx(save(model, tmp_path)).network
    rng = random.Random(3)
    samples = [[F(rng.randint(-60, 60), 8), F(rng.randint(-60, 60), 8)] for _ in range(30)]
    samples += [[t, F(1, 3)] for t in (*breakpoints, *net.layers[0].activation.breakpoints)]
    for x in samples:
        assert list(evaluate(net, x)) == onnx_eval(model, x), x
    return net


def clip(lo: str | None, hi: str | None) -> tuple[list[onnx.NodeProto], list[Any]]:
    inits = [scalar(n, float(v)) for n, v in (("lo", lo), ("hi", hi)) if v is not None]
    node = helper.make_node("Clip", ["h", "lo" if lo else "", "hi" if hi else ""], ["a"])
    return [node], inits


CLIPS: dict[str, tuple[str | None, str | None, Activation]] = {
    "hardtanh": ("-1", "1", HARDTANH),
    "relu": ("0", None, RELU),
    "upper": (None, "6", pwl([F(6)], [(ONE, ZERO), (ZERO, F(6))], [F(6)])),
    "relu6": ("0", "6", pwl([ZERO, F(6)], [(ZERO, ZERO), (ONE, ZERO), (ZERO, F(6))],
                            [ZERO, F(6)])),
    "none": (None, None, IDENTITY),
}


@pytest.mark.parametrize("case", CLIPS)
def test_clip_bounds(case: str, tmp_path: Path) -> None:
    lo, hi, expected = CLIPS[case]
    net = check_exact(one_layer(*clip(lo, hi)), tmp_path)
    assert net.layers[0].activation == expected
    assert net.layers[0].activation.spec == expected.spec


def test_clip_with_crossed_bounds_is_the_constant_max(tmp_path: Path) -> None:
    net = check_exact(one_layer(*clip("2", "-1")), tmp_path)
    assert net.layers[0] == Layer(((ZERO, ZERO), (ZERO, ZERO)), (-ONE, -ONE), IDENTITY)


def test_clip_bounds_as_attributes_before_opset_11(tmp_path: Path) -> None:
    node = helper.make_node("Clip", ["h"], ["a"], min=-1.0, max=1.0)
    net = import_onnx(save(one_layer([node], []), tmp_path)).network
    assert net.layers[0].activation.spec == "hardtanh"


def test_hard_sigmoid_defaults_are_float32(tmp_path: Path) -> None:
    model = one_layer([helper.make_node("HardSigmoid", ["h"], ["a"])], [])
    alpha = F(float(np.float32(0.2)))
    net = check_exact(model, tmp_path, (-F(1, 2) / alpha, F(1, 2) / alpha))
    assert net.layers[0].activation.breakpoints == (-F(1, 2) / alpha, F(1, 2) / alpha)


def test_onnx_sign_is_zero_at_zero(tmp_path: Path) -> None:
    net = check_exact(one_layer([helper.make_node("Sign", ["h"], ["a"])], []), tmp_path)
    act = net.layers[0].activation
    assert act.spec == {"pwl": {"breakpoints": [0], "pieces": [[0, -1], [0, 1]],
                                "values": [0]}}
    assert act(ZERO) == 0


def qdq(scale: float, zero: int | None, dtype: Any, clip_to: tuple[int, int] | None = None,
        dq_scale: float | None = None, source: str = "h", out: str = "a"
        ) -> tuple[list[onnx.NodeProto], list[onnx.TensorProto]]:
    """QuantizeLinear [-> Clip of the integers] -> DequantizeLinear."""
    zp = [f"{out}_z"] if zero is not None else []
    inits = [scalar(f"{out}_s", scale), scalar(f"{out}_ds", dq_scale or scale)]
    inits += [const(f"{out}_z", zero, dtype)] if zero is not None else []
    nodes = [helper.make_node("QuantizeLinear", [source, f"{out}_s", *zp], [f"{out}_q"])]
    q = f"{out}_q"
    if clip_to is not None:
        inits += [const(f"{out}_lo", clip_to[0], dtype), const(f"{out}_hi", clip_to[1], dtype)]
        nodes.append(helper.make_node("Clip", [q, f"{out}_lo", f"{out}_hi"], [f"{out}_c"]))
        q = f"{out}_c"
    nodes.append(helper.make_node("DequantizeLinear", [q, f"{out}_ds", *zp], [out]))
    return nodes, inits


S = float(np.float32(0.1))
TIES = tuple(F(S) * (m + F(1, 2)) for m in range(-4, 4))


@pytest.mark.parametrize("case", ["int8", "uint8-clip", "default-uint8", "relu-then",
                                  "other-dq-scale"])
def test_quantize_dequantize_on_activations(case: str, tmp_path: Path) -> None:
    s = F(S)
    if case == "int8":
        nodes, inits = qdq(S, -2, np.int8)
        expected: Activation | None = quantize(s, -2, -128, 127)
    elif case == "uint8-clip":
        nodes, inits = qdq(S, 20, np.uint8, clip_to=(10, 40))
        expected = quantize(s, 20, 10, 40)
    elif case == "default-uint8":
        nodes, inits = qdq(S, None, np.uint8)
        expected = quantize(s, 0, 0, 255)
    elif case == "relu-then":
        nodes, inits = qdq(S, -5, np.int8, source="r")
        nodes = [helper.make_node("Relu", ["h"], ["r"]), *nodes]
        expected = quantize(s, -5, -5, 127)
    else:
        nodes, inits = qdq(S, 0, np.int8, clip_to=(-3, 3), dq_scale=0.5)
        expected = None
    net = check_exact(one_layer(nodes, inits), tmp_path, TIES)
    act = net.layers[0].activation
    if expected is None:  # levels 0.5 apart, steps S apart: a staircase, not a quantizer
        assert "pwl" in act.spec and len(act.breakpoints) == 6
    else:
        assert act == expected and act.spec == expected.spec


def test_per_channel_quantization_of_activations_is_refused(tmp_path: Path) -> None:
    nodes = [helper.make_node("QuantizeLinear", ["h", "s", "z"], ["q"], name="q", axis=1),
             helper.make_node("DequantizeLinear", ["q", "s", "z"], ["a"], axis=1)]
    model = one_layer(nodes, [const("s", [0.5, 0.25]), const("z", [0, 0], np.int8)])
    with pytest.raises(InputError, match=r"QuantizeLinear at node 'q': per-channel "
                                         "quantization of activations"):
        import_onnx(save(model, tmp_path))


def test_quantized_weights_fold_to_exact_values(tmp_path: Path) -> None:
    """Per-channel weight quantization: a .5 tie rounds to even, 300 saturates."""
    scales = [0.5, 0.25]
    weights = [[1.25, -0.75], [75.0, 0.375]]  # / scale: 2.5 -> 2, -1.5 -> -2; 300, 1.5
    model = make(
        [helper.make_node("QuantizeLinear", ["W0", "ws", "wz"], ["Wq"], axis=0),
         helper.make_node("DequantizeLinear", ["Wq", "ws", "wz"], ["W"], axis=0),
         gemm("x", "h", "W", "b"), helper.make_node("Relu", ["h"], ["a"]),
         gemm("a", "y", "V")],
        [const("W0", weights), const("ws", scales), const("wz", [0, 0], np.int8),
         const("b", [0, 0.25]), const("V", [[1, -2]])],
    )
    net = check_exact(model, tmp_path)
    assert net.layers[0].weights == ((F(1), F(-1)), (F(127, 4), F(1, 2)))
    assert "1 QuantizeLinear/DequantizeLinear weight tensors folded" in \
        import_onnx(tmp_path / "model.onnx").report


def test_quantized_input_and_output_layers(tmp_path: Path) -> None:
    """Q/DQ on the input: a first layer with identity weights; on the output: a last
    hidden layer and an identity output layer; counted exactly on a small quantizer."""
    from tvmip.engine.counting import count

    q_in, i_in = qdq(0.5, 0, np.uint8, clip_to=(0, 3), source="x", out="xq")
    q_out, i_out = qdq(0.25, 2, np.uint8, clip_to=(0, 4), source="p", out="y")
    model = make([*q_in, gemm("xq", "h", "W", "b"), helper.make_node("Relu", ["h"], ["a"]),
                  gemm("a", "p", "V"), *q_out],
                 [const("W", [[1, -1], [0.5, 1]]), const("b", [0, 0.25]),
                  const("V", [[1, -2]]), *i_in, *i_out])
    net = check_exact(model, tmp_path, (F(1, 4), F(3, 4), F(5, 4)))
    assert net.widths == (2, 2, 1) and net.output == Layer(((ONE,),), (ZERO,))
    assert net.layers[0].activation == quantize(F(1, 2), 0, 0, 3)
    assert net.layers[2].activation == quantize(F(1, 4), 2, 0, 4)
    result = count(net)  # linear regions: quantize jumps before later layers (refused)
    assert result.exact and result.activation_regions >= 16  # the 4 x 4 input cells


def test_where_chains_and_elementwise_operators(tmp_path: Path) -> None:
    """Max, Min, Abs, Neg, Sub of a constant, Div by one, comparisons, Not, Cast of a
    bool, Where and Round of a bounded value, all functions of one pre-activation."""
    nodes = [
        helper.make_node("Max", ["h", "c0"], ["m"]),              # relu
        helper.make_node("Min", ["m", "h", "c2"], ["n"]),         # min(relu h, h, 2)
        helper.make_node("Abs", ["h"], ["ab"]),
        helper.make_node("Neg", ["ab"], ["ng"]),
        helper.make_node("Sub", ["c2", "n"], ["sb"]),
        helper.make_node("Div", ["sb", "c4"], ["dv"]),
        helper.make_node("Greater", ["h", "c0"], ["gt"]),
        helper.make_node("GreaterOrEqual", ["h", "c2"], ["ge"]),
        helper.make_node("Not", ["ge"], ["nt"]),
        helper.make_node("Cast", ["gt"], ["gf"], to=TensorProto.FLOAT),
        helper.make_node("Equal", ["h", "c2"], ["eq"]),
        helper.make_node("Where", ["nt", "dv", "ng"], ["w1"]),
        helper.make_node("Where", ["eq", "c4", "w1"], ["w2"]),
        helper.make_node("Clip", ["h", "cm2", "c2"], ["cl"]),
        helper.make_node("Round", ["cl"], ["rd"]),
        helper.make_node("Add", ["w2", "gf"], ["s1"]),
        helper.make_node("Add", ["s1", "rd"], ["a"]),
    ]
    inits = [scalar("c0", 0.0), scalar("c2", 2.0), scalar("c4", 4.0), scalar("cm2", -2.0)]
    net = check_exact(one_layer(nodes, inits), tmp_path,
                      tuple(F(k, 2) for k in range(-6, 7)))
    assert len(net.layers[0].activation.breakpoints) >= 5


REFUSALS: dict[str, tuple[list[onnx.NodeProto], list[Any], str]] = {
    "product": ([helper.make_node("Relu", ["h"], ["r"]),
                 helper.make_node("Mul", ["r", "h"], ["a"], name="mul")], [],
                "Mul at node 'mul': the result is not piecewise linear"),
    "per-neuron-after-relu": ([helper.make_node("Relu", ["h"], ["r"]),
                               helper.make_node("Add", ["r", "v"], ["a"], name="add")],
                              [const("v", [1, 2])],
                              ("Add at node 'add': a different constant per neuron ('v') "
                               "after a nonlinear operator")),
    "unbounded-round": ([helper.make_node("Round", ["h"], ["a"], name="rd")], [],
                        "Round at node 'rd': Round of an unbounded value"),
    "cast-to-int": ([helper.make_node("Cast", ["h"], ["a"], name="ci", to=TensorProto.INT32)],
                    [], "Cast at node 'ci': a cast to INT32 on the data path"),
    "softmax": ([helper.make_node("Softmax", ["h"], ["a"], name="sm")], [],
                "unsupported ONNX operator 'Softmax' at node 'sm' (not piecewise linear)"),
    "divide-by-computed": ([helper.make_node("Div", ["one", "h"], ["a"], name="dv")],
                           [scalar("one", 1.0)],
                           "Div at node 'dv': division by a computed value"),
    "quantize-int32": ([helper.make_node("QuantizeLinear", ["h", "s", "z"], ["q"], name="q"),
                        helper.make_node("DequantizeLinear", ["q", "s", "z"], ["a"])],
                       [scalar("s", 0.5), const("z", 0, np.int32)],
                       "QuantizeLinear at node 'q': quantization to INT32 is not supported"),
}


@pytest.mark.parametrize("case", REFUSALS)
def test_refusals_are_one_line_naming_the_node(case: str, tmp_path: Path) -> None:
    nodes, inits, message = REFUSALS[case]
    path = save(one_layer(nodes, inits), tmp_path)
    with pytest.raises(InputError) as info:
        import_onnx(path)
    text = str(info.value)
    assert text.startswith(f"{path}: ") and "\n" not in text and message in text


def test_ternarize_needs_positively_homogeneous_activations(tmp_path: Path) -> None:
    path = save(one_layer(*clip("-1", "1")), tmp_path, "hardtanh.onnx")
    with pytest.raises(InputError, match=r"--ternarize .* layers\[0\] has hardtanh"):
        import_onnx(path, ternarize=True)
    leaky = one_layer([helper.make_node("LeakyRelu", ["h"], ["a"], alpha=0.25)], [])
    result = import_onnx(save(leaky, tmp_path, "leaky.onnx"), ternarize=True)
    assert result.network.ternary and result.ternarization is not None


def test_double_graphs_and_constant_nodes_for_bounds(tmp_path: Path) -> None:
    nodes = [helper.make_node("Constant", [], ["lo"], value_float=-0.5),
             helper.make_node("Identity", ["lo"], ["lo2"]),
             helper.make_node("Clip", ["h", "lo2", ""], ["a"])]
    net = check_exact(one_layer(nodes, [], elem=DOUBLE), tmp_path)
    assert net.layers[0].activation.breakpoints == (F(-1, 2),)


# ---------------------------------------------------------------- the algebra

RATIONALS = st.fractions(min_value=-8, max_value=8, max_denominator=6)


@st.composite
def functions(draw: Any) -> Activation:
    points = sorted(set(draw(st.lists(RATIONALS, max_size=4))))
    pieces = [(draw(RATIONALS), draw(RATIONALS)) for _ in range(len(points) + 1)]
    values = [draw(RATIONALS) for _ in points]
    return algebra.minimal(points, pieces, values)


def probe(*fs: Activation) -> list[Fraction]:
    """Every breakpoint, points beside them, and a few others."""
    cuts = sorted({t for f in fs for t in f.breakpoints} | {F(0), F(-9), F(9)})
    between = [(a + b) / 2 for a, b in pairwise(cuts)]
    return [*cuts, *between, *(t + F(1, 1000) for t in cuts), *(t - F(1, 1000) for t in cuts)]


@settings(max_examples=60, deadline=None)
@given(functions(), functions())
def test_composition_is_pointwise(f: Activation, g: Activation) -> None:
    h = algebra.compose(f, g)
    for z in probe(g, h):
        assert h(z) == f(g(z))
    assert algebra.compose(IDENTITY, f) == f == algebra.compose(f, IDENTITY)


@settings(max_examples=60, deadline=None)
@given(functions(), functions())
def test_sums_maxima_and_selection_are_pointwise(f: Activation, g: Activation) -> None:
    total = algebra.combine(lambda a, b: a + b, f, g)
    condition = algebra.compose(algebra.GREATER, f)
    chosen = algebra.combine(lambda c, a, b: a if c else b, condition, f, g)
    for z in probe(f, g, total, chosen):
        assert total(z) == f(z) + g(z)
        assert chosen(z) == (f(z) if f(z) > 0 else g(z))
    assert algebra.named(f) == f  # naming never changes the function
