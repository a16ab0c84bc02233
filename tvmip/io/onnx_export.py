"""Writing networks as ONNX models, exactly (or with reported rounding).

One ``Gemm`` (``transB = 1``) per layer, opset 17, input ``x`` of shape
``[batch, n0]``, output ``y``, everything in float64 (or, with ``dtype``, in
float32, float16 or bfloat16: then "exactly" means a number of that format and
onnxruntime computes in it, which is what the float audit runs).  Each hidden
layer's activation is written as ONNX operators whose exact reading is that very
function (so :mod:`tvmip.io.onnx_import` reads it back), and which onnxruntime
evaluates in float64 to within rounding away from the breakpoints:

* ``identity``: ``Identity``; ``relu``: ``Relu``; ``hardtanh``: ``Clip`` with the
  bounds -1 and 1 as inputs;
* ``leaky_relu`` with a slope that is a float32 number: ``LeakyRelu`` (ONNX float
  attributes are float32, so another slope would be rounded: it is written as a
  general ``pwl``, below);
* ``quantize``: ``s * Round(Clip(z / s, qmin - z0, qmax - z0))`` with ``Div``,
  ``Clip``, ``Round`` (half to even, as QuantizeLinear) and ``Mul``, in float64.
  This is the quantizer exactly (clamping the quotient to the integer range
  before rounding is the same as after), where a QuantizeLinear/DequantizeLinear
  pair would compute in float32 and round the output;
* ``step``, ``sign``, ``pwl`` and the rest: a chain of ``Where`` nodes, one per
  breakpoint ``t_j`` from the last: ``Where(Less(z, t_j), p_{j-1}(z), rest)``, with
  ``LessOrEqual`` when the value at ``t_j`` is the left piece's, and an extra
  ``Where(Equal(z, t_j), v_j, rest)`` when it is neither neighbour's.  A piece
  ``a z + c`` is ``Mul`` then ``Add`` (a constant piece is a scalar), so every
  number in the file is a parameter of the activation itself: no differences of
  slopes, no cancellation, nothing but the parameters to round.

A rational is written only when it is exactly a number of the format (for
float64: integers up to 2**53, dyadic rationals of at most 53 significant bits);
anything else (``1/3``, a breakpoint ``-3/11184811``...) is refused unless
``approximate=True``, which rounds it to the nearest (ties to even,
:func:`tvmip.checker.floats.round_to`) and reports how many values were rounded and the
largest error.  The metadata ``tvmip.activations`` records each layer's
activation spec, which the importer uses for a layer exactly when it is the
function it reads (a quantizer's zero point, for one, is not visible in its
function).  An affine ``pwl`` without breakpoints comes back folded into the
layer's weights: the same function.  The file is written atomically.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from .. import __version__
from ..checker.activation import HARDTANH, Activation
from ..checker.floats import FORMATS, FloatFormat, round_to
from ..checker.model import Vector
from ..checker.rationals import format_rational
from ..errors import InputError
from ..files import atomic_write_bytes
from ..model.floats import numpy_dtype
from ..model.network import IDENTITY, RELU, Network, decimal_text
from . import pwl

try:
    import onnx
    from onnx import helper, numpy_helper
except ImportError as exc:  # pragma: no cover - depends on the installation
    raise InputError("ONNX support needs the onnx package: pip install 'tvmip[onnx]'") from exc

OPSET = 17
IR_VERSION = 8  # the IR version released with opset 17: readable by older runtimes
ACTIVATIONS_KEY = "tvmip.activations"
ELEMENT_TYPES = {"float64": onnx.TensorProto.DOUBLE, "float32": onnx.TensorProto.FLOAT,
                 "float16": onnx.TensorProto.FLOAT16, "bfloat16": onnx.TensorProto.BFLOAT16}
OPERATORS = {RELU: "Relu", IDENTITY: "Identity"}
"""Activations that are one ONNX operator with no parameter."""


@dataclass(frozen=True, slots=True)
class ExportResult:
    """Where a network was written, how each activation was written, and what
    rounding (``approximate``) cost."""

    path: str
    values: int
    rounded: int
    max_error: Fraction
    activations: tuple[str, ...] = ()
    dtype: str = "float64"

    @property
    def report(self) -> str:
        kinds = ", ".join(dict.fromkeys(self.activations)) or "Relu/Identity"
        head = f"wrote {self.path} (ONNX opset {OPSET}, {self.dtype}, Gemm + {kinds})"
        if not self.rounded:
            return f"{head}: all {self.values} values exact"
        return (
            f"{head}: {self.rounded} of {self.values} values rounded to the nearest "
            f"{self.dtype}, largest error {decimal_text(self.max_error)} "
            f"(exactly {format_rational(self.max_error)})"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "values": self.values,
            "rounded": self.rounded,
            "max_error": format_rational(self.max_error),
            "activations": list(self.activations),
            "dtype": self.dtype,
        }


def _rounded(
    values: Vector, where: str, approximate: bool, fmt: FloatFormat
) -> tuple[list[float], list[Fraction]]:
    """Each value as the nearest number of the format (as a Python float, which holds
    it exactly) and its rounding error; inexact values are refused unless
    ``approximate``."""
    floats: list[float] = []
    errors: list[Fraction] = []
    for i, value in enumerate(values):
        try:
            nearest = round_to(value, fmt)
        except OverflowError:
            raise InputError(f"{where}[{i}] is too large for a {fmt.name}") from None
        error = abs(nearest - value)
        if error and not approximate:
            raise InputError(
                f"cannot export exactly: {where}[{i}] = {format_rational(value)} is "
                f"not a {fmt.name} number (approximate=True, or --approximate, rounds to "
                "the nearest)"
            )
        floats.append(float(nearest))
        errors.append(error)
    return floats, errors


def _float32_exact(value: Fraction) -> bool:
    return Fraction(float(np.float32(float(value)))) == value if abs(value) < 2**127 else False


@dataclass
class _Writer:
    """The nodes and initializers of the graph being written, and the rounding."""

    approximate: bool
    fmt: FloatFormat
    dtype: np.dtype
    nodes: list[onnx.NodeProto] = field(default_factory=list)
    initializers: list[onnx.TensorProto] = field(default_factory=list)
    errors: list[Fraction] = field(default_factory=list)

    def array(self, name: str, values: Any, where: str) -> str:
        """An initializer of the exact ``values`` (a vector or a matrix)."""
        rows = values if values and isinstance(values[0], tuple) else None
        if rows is None:
            floats, errors = _rounded(values, where, self.approximate, self.fmt)
            data = np.array(floats).astype(self.dtype)
        else:
            pairs = [_rounded(row, f"{where}[{r}]", self.approximate, self.fmt)
                     for r, row in enumerate(rows)]
            data = np.array([f for f, _ in pairs]).astype(self.dtype)
            errors = [e for _, row_errors in pairs for e in row_errors]
        self.errors += errors
        self.initializers.append(numpy_helper.from_array(data, name))
        return name

    def scalar(self, tag: str, value: Fraction, where: str) -> str:
        name = f"{tag}_c{len(self.initializers)}"
        floats, errors = _rounded((value,), where, self.approximate, self.fmt)
        self.errors += errors
        self.initializers.append(numpy_helper.from_array(np.array(floats[0]).astype(self.dtype),
                                                         name))
        return name

    def node(self, op: str, inputs: list[str], tag: str, **attrs: Any) -> str:
        out = f"{tag}_{op.lower()}{len(self.nodes)}"
        self.nodes.append(helper.make_node(op, inputs, [out], name=out, **attrs))
        return out

    # ------------------------------------------------------------- activations

    def activation(self, z: str, act: Activation, tag: str, where: str) -> tuple[str, str]:
        """The output tensor of ``act`` applied to ``z``, and how it was written."""
        if act in OPERATORS:
            return self.node(OPERATORS[act], [z], tag), OPERATORS[act]
        if act == HARDTANH:
            bounds = [self.scalar(tag, Fraction(b), where) for b in (-1, 1)]
            return self.node("Clip", [z, *bounds], tag), "Clip"
        name = pwl.named(act)
        if isinstance(name.spec, dict) and "leaky_relu" in name.spec and \
                _float32_exact(act.pieces[0][0]):
            alpha = float(act.pieces[0][0])
            return self.node("LeakyRelu", [z], tag, alpha=alpha), "LeakyRelu"
        levels = pwl.quantize_levels(act)
        if levels is not None:
            return self._quantize(z, *levels, tag, f"{where} (quantize)"), \
                "Div/Clip/Round/Mul"
        return self._where_chain(z, act, tag, f"{where} (pwl)"), "Where chain"

    def _quantize(self, z: str, scale: Fraction, low: int, high: int, tag: str,
                  where: str) -> str:
        s = self.scalar(tag, scale, f"{where}.scale")
        bounds = [self.scalar(tag, Fraction(b), where) for b in (low, high)]
        clipped = self.node("Clip", [self.node("Div", [z, s], tag), *bounds], tag)
        return self.node("Mul", [self.node("Round", [clipped], tag), s], tag)

    def _piece(self, z: str, piece: tuple[Fraction, Fraction], tag: str, where: str) -> str:
        """``a z + c``: a scalar if a = 0, else Mul (even by 1: a bare Add right after
        the Gemm would read back as the bias) then Add."""
        slope, offset = piece
        if slope == 0:
            return self.scalar(tag, offset, f"{where}.offset")
        if piece == (1, 0):
            return z
        out = self.node("Mul", [z, self.scalar(tag, slope, f"{where}.slope")], tag)
        if offset:
            out = self.node("Add", [out, self.scalar(tag, offset, f"{where}.offset")], tag)
        return out

    def _where_chain(self, z: str, act: Activation, tag: str, where: str) -> str:
        pieces = act.pieces
        result = self._piece(z, pieces[-1], tag, f"{where}.pieces[{len(pieces) - 1}]")
        for j in reversed(range(len(act.breakpoints))):
            t, value = act.breakpoints[j], act.values[j]
            at = f"{where}.breakpoints[{j}]"
            threshold = self.scalar(tag, t, at)
            (a, c), (b, d) = pieces[j], pieces[j + 1]
            compare = "LessOrEqual" if value == a * t + c and value != b * t + d else "Less"
            if value not in (a * t + c, b * t + d):
                equal = self.node("Equal", [z, threshold], tag)
                point = self.scalar(tag, value, f"{where}.values[{j}]")
                result = self.node("Where", [equal, point, result], tag)
            left = self._piece(z, pieces[j], tag, f"{where}.pieces[{j}]")
            result = self.node("Where", [self.node(compare, [z, threshold], tag), left,
                                         result], tag)
        if not act.breakpoints and pieces[0][0] == 0:  # a constant: give it z's shape
            zero = self.scalar(tag, Fraction(0), where)
            result = self.node("Add", [self.node("Mul", [z, zero], tag), result], tag)
        return result


def export_onnx(
    network: Network, path: str | Path, *, approximate: bool = False,
    dtype: str = "float64",
) -> ExportResult:
    """Write ``network`` as ONNX in ``dtype`` (see the module docstring), atomically.

    Raises :class:`InputError` naming the first value that is not exactly a number
    of the format unless ``approximate``, or when the file cannot be written.
    """
    path = Path(path)
    model, writer, kinds = _model(network, approximate, dtype, with_pre_activations=False)
    errors = writer.errors
    atomic_write_bytes(path, model.SerializeToString())
    return ExportResult(str(path), len(errors), sum(1 for e in errors if e),
                        max(errors, default=Fraction(0)), tuple(kinds), dtype)


def runtime_model(network: Network, dtype: str) -> bytes:
    """The model in ``dtype`` with every hidden layer's pre-activations as extra
    outputs ``layer<i>_pre`` (for the audit's onnxruntime run); the activations'
    own parameters are rounded to the format when they are not numbers of it."""
    model, _, _ = _model(network, True, dtype, with_pre_activations=True)
    return model.SerializeToString()


def _model(network: Network, approximate: bool, dtype: str,
           with_pre_activations: bool) -> tuple[onnx.ModelProto, _Writer, list[str]]:
    if dtype not in ELEMENT_TYPES:
        raise InputError(f"cannot export in {dtype!r}: expected one of "
                         f"{', '.join(ELEMENT_TYPES)}")
    writer = _Writer(approximate, FORMATS[dtype], numpy_dtype(dtype))
    element = ELEMENT_TYPES[dtype]
    named = [(f"layers[{i}]", f"layer{i}", layer) for i, layer in enumerate(network.layers)]
    named.append(("output", "output", network.output))
    kinds: list[str] = []
    outputs = [helper.make_tensor_value_info("y", element, ["batch", network.output.width])]
    current = "x"
    for where, tag, layer in named:
        weights = writer.array(f"{tag}_W", layer.weights, f"{where}.weights")
        biases = writer.array(f"{tag}_b", layer.biases, f"{where}.biases")
        is_output = tag == "output"
        pre = "y" if is_output else f"{tag}_pre"
        writer.nodes.append(helper.make_node(
            "Gemm", [current, weights, biases], [pre], name=f"{tag}_gemm", transB=1))
        if not is_output:
            current, kind = writer.activation(pre, layer.activation, tag,
                                              f"{where}.activation")
            kinds.append(kind)
            if with_pre_activations:
                outputs.append(helper.make_tensor_value_info(pre, element,
                                                             ["batch", layer.width]))
    graph = helper.make_graph(
        writer.nodes,
        "tvmip_network",
        [helper.make_tensor_value_info("x", element, ["batch", network.input_dim])],
        outputs,
        writer.initializers,
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        ir_version=IR_VERSION,
        producer_name="tvmip",
        producer_version=__version__,
    )
    helper.set_model_props(
        model,
        {
            "tvmip.network_sha256": network.sha256,
            "tvmip.exact": str(not any(writer.errors)).lower(),
            ACTIVATIONS_KEY: json.dumps([layer.activation.spec for layer in network.layers],
                                        separators=(",", ":")),
        },
    )
    return model, writer, kinds
