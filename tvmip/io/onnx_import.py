"""Reading ONNX feed-forward networks exactly.

**What is read.** One graph input of shape ``[N]``, ``[1, N]`` or ``[batch, N]``
and the graph between it and one *target* tensor: the graph's single output, or,
for a classifier, its logits (below).  Every node must be on the way from the
input to the target, or feed only constants into it (``Constant`` nodes, and the
``Identity``, ``QuantizeLinear`` and ``DequantizeLinear`` nodes that compute
weights, scales, zero points or clip bounds, which are folded exactly).

**Exactly.** Every stored number is read as its exact rational value: a finite
binary float is a dyadic rational, ``Fraction(float(x))`` is its value (float16
and float32 widen to float64 without rounding), and float attributes are float32.
Every operator is then read in exact arithmetic, as a function of real numbers:
nothing is ever rounded, so the network tvmip counts is the one the graph
describes, not the one a float32 runtime approximates.

**Layers.** Each ``Gemm`` (``transA = 0``; ``transB``, ``alpha`` and ``beta``
multiplied in exactly) or ``MatMul`` (the layer input first, constant weights)
starts a layer.  Between two of them the graph may do anything *elementwise and
piecewise linear* to the pre-activation ``z``, and tvmip computes that function
``sigma`` exactly (:mod:`tvmip.io.pwl`) and names it (``relu``, ``leaky_relu``,
``hardtanh``, ``quantize``, ... or the general ``pwl``).  A layer with the
identity there is kept as an ``identity`` hidden layer, not folded into the next
one (folding multiplies the matrices, and a product of ternary matrices is not
ternary).  The last affine operator is the output layer; if something nonlinear
follows it (a quantized output), that becomes a last hidden layer followed by an
identity output layer; if something nonlinear comes before the first affine
operator (a quantized input), it becomes a first hidden layer with identity
weights.  Both are the graph's function exactly.

**Operators** on the data path, with ``f``, ``g`` computed and ``c`` constant:

* ``Add``/``Sub`` of a constant right after an affine operator: the bias (any
  shape broadcastable to ``[batch, width]``, such as skl2onnx's ``[1, n]``);
  ``Mul``/``Div`` by a per-neuron constant there scale the rows;
* ``Relu``; ``LeakyRelu`` (``alpha``, default 0.01, as the float32 stored);
  ``Clip`` with ``min``/``max`` as constant inputs (initializers or ``Constant``
  nodes; an empty name is unbounded) or, before opset 11, attributes: ``hardtanh``
  for (-1, 1), ``relu`` for (0, none), else a ``pwl`` with one or two breakpoints;
  ``HardSigmoid`` (``alpha`` 0.2, ``beta`` 0.5 by default, float32): the ``pwl``
  ``clip(alpha z + beta, 0, 1)`` with breakpoints ``-beta/alpha`` and
  ``(1 - beta)/alpha`` computed exactly; ``Sign``: ONNX's sign is 0 at 0, so it is
  the ``pwl`` with pieces -1, +1 and value 0 at 0 (tvmip's ``sign`` is +1 at 0);
  ``Abs``, ``Neg``, ``Round`` (half to even, of a bounded value);
* ``QuantizeLinear`` then ``DequantizeLinear`` with static per-tensor scales and
  zero points (int4/uint4/int8/uint8/int16/uint16, scalar or ``[1]``), with an
  optional ``Clip`` of the integers in between (which narrows qmin/qmax): the
  staircase ``(clamp(round_half_even(z / s) + z0, qmin, qmax) - z0) s``, named
  ``quantize`` (composed with a neighbouring ``Relu`` it is still one);
* ``Add``, ``Sub``, ``Mul``, ``Div`` (by a constant), ``Max``, ``Min``, ``Sum``,
  ``Greater``, ``GreaterOrEqual``, ``Less``, ``LessOrEqual``, ``Equal``, ``Not``,
  ``Where`` between functions of the same pre-activation ``z`` and scalar
  constants: how :mod:`tvmip.io.onnx_export` writes a general ``pwl`` (a product of
  two non-constant pieces is not piecewise linear and is refused);
* ``Identity``, ``Cast`` to a float type (or from a comparison's bool), ``Flatten``
  (axis 1) and ``Reshape`` to ``[batch, width]``: no change of value.  A ``Cast``
  between float types rounds in a runtime just as a float32 ``Gemm`` does; tvmip
  reads both exactly.

**Quantized weights.** ``QuantizeLinear`` then ``DequantizeLinear`` on constant
weights (per-tensor, or per-channel along ``axis``) are folded into the exact
values ``(q - z0) * scale``, where ``q`` comes from the exact quotient
``w / scale`` rounded half to even and saturated.  onnxruntime divides and
multiplies in float32, which can differ in the last bits (the report says so).

**Classifiers.** A graph whose outputs are all computed by a *head* that starts
at ``Softmax``, ``LogSoftmax``, ``Sigmoid`` or ``ArgMax`` and continues only with
``Sub``, ``Concat``, ``ArgMax``, ``Identity``, ``Reshape``, ``Flatten``, ``Cast``,
``ai.onnx.ml.ArrayFeatureExtractor`` and ``ai.onnx.ml.ZipMap`` (what skl2onnx writes
for ``MLPClassifier``) is read up to the head's input: tvmip counts the
*logit network*, the pre-softmax scores, one logit for a binary ``Sigmoid`` head.
The report says so.

**Refused**, each with one line naming the node: any other operator (``Tanh``,
``Sigmoid`` inside the network, ``Conv``, ...), operators from other domains,
per-neuron constants after a nonlinear operator (a tvmip layer applies one
activation to every neuron, so per-channel quantization of activations too),
skip connections, several inputs or outputs, external tensor data, and
non-finite weights.

**Names.** A file written by :mod:`tvmip.io.onnx_export` carries each layer's
activation spec in the metadata ``tvmip.activations``; it is used only for a layer
whose imported function it equals exactly, so that the export-import round trip
gives back the very network (spec and sha256 included).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from ..checker.activation import (
    RELU,
    STEP,
    Activation,
    activation_from_json,
    leaky_relu,
)
from ..checker.model import Matrix, Vector
from ..errors import InputError
from ..files import read_input_file
from ..model.network import IDENTITY, Layer, Network
from ..model.ternarize import Ternarization, ternarize_network
from . import pwl
from .pwl import NotPiecewiseLinear

try:
    import onnx
    from google.protobuf.message import DecodeError  # type: ignore[import-untyped]
    from onnx import TensorProto, helper, numpy_helper
    from onnx.external_data_helper import uses_external_data
except ImportError as exc:  # pragma: no cover - depends on the installation
    raise InputError("ONNX support needs the onnx package: pip install 'tvmip[onnx]'") from exc

DEFAULT_DOMAINS = ("", "ai.onnx")
ML_DOMAIN = "ai.onnx.ml"
AFFINE_OPS = ("Gemm", "MatMul")
ARITY = {  # the operators read on the data path, and how many inputs each may have
    "Gemm": (2, 3), "MatMul": (2, 2),
    "Identity": (1, 1), "Flatten": (1, 1), "Reshape": (2, 2), "Cast": (1, 1),
    "Relu": (1, 1), "LeakyRelu": (1, 1), "HardSigmoid": (1, 1), "Sign": (1, 1),
    "Abs": (1, 1), "Neg": (1, 1), "Not": (1, 1), "Round": (1, 1), "Clip": (1, 3),
    "QuantizeLinear": (2, 3), "DequantizeLinear": (2, 3),
    "Add": (2, 2), "Sub": (2, 2), "Mul": (2, 2), "Div": (2, 2),
    "Max": (1, 2**31), "Min": (1, 2**31), "Sum": (1, 2**31),
    "Greater": (2, 2), "GreaterOrEqual": (2, 2), "Less": (2, 2), "LessOrEqual": (2, 2),
    "Equal": (2, 2), "Where": (3, 3),
}
CONSTANT_OPERANDS = {  # operand positions that must be constants
    "Gemm": (1, 2), "MatMul": (1,), "Reshape": (1,), "Clip": (1, 2),
    "QuantizeLinear": (1, 2), "DequantizeLinear": (1, 2),
}
FOLDABLE = ("Identity", "QuantizeLinear", "DequantizeLinear")
"""Operators computed exactly when all their inputs are constants."""
HEAD_ROOTS = ("Softmax", "LogSoftmax", "Sigmoid", "ArgMax")
HEAD_OPS = {("", op) for op in (*HEAD_ROOTS, "Sub", "Concat", "Identity", "Reshape",
                                "Flatten", "Cast")} | {
    (ML_DOMAIN, "ArrayFeatureExtractor"), (ML_DOMAIN, "ZipMap")}
SMOOTH = ("Tanh", "Sigmoid", "Softmax", "LogSoftmax", "Exp", "Log", "Elu", "Selu",
          "Gelu", "Softplus", "Softsign", "Erf", "Mish", "HardSwish", "Sqrt", "Pow")
FLOAT_TYPES = (TensorProto.FLOAT, TensorProto.DOUBLE, TensorProto.FLOAT16,
               TensorProto.BFLOAT16)
INTEGER_RANGES = {
    TensorProto.INT8: (-128, 127), TensorProto.UINT8: (0, 255),
    TensorProto.INT16: (-(2**15), 2**15 - 1), TensorProto.UINT16: (0, 2**16 - 1),
    TensorProto.INT4: (-8, 7), TensorProto.UINT4: (0, 15),
}
"""Quantized types and their (qmin, qmax)."""
ACTIVATIONS_KEY = "tvmip.activations"


# ------------------------------------------------------------------------- results


@dataclass(frozen=True, slots=True)
class Head:
    """The classifier head left out: tvmip reads the graph up to ``logits``."""

    logits: str
    before: tuple[str, ...]
    operators: tuple[str, ...]

    def line(self, width: int) -> str:
        plural = "" if width == 1 else "s"
        return (f"classifier: counting the logit network ({width} logit{plural}, before "
                f"{' / '.join(self.before)}); the head ({', '.join(self.operators)}) "
                "is not piecewise linear and is left out")

    def to_json(self, width: int) -> dict[str, Any]:
        return {"logits": self.logits, "width": width, "before": list(self.before),
                "head_operators": list(self.operators)}


@dataclass(frozen=True, slots=True)
class ImportResult:
    """An imported network and how it was obtained (``report``, ``to_json``)."""

    network: Network
    source: str
    producer: str
    opset: int | None
    operators: tuple[str, ...]
    ternarization: Ternarization | None = None
    head: Head | None = None
    notes: tuple[str, ...] = ()

    @property
    def report(self) -> str:
        net = self.network
        hidden = ", ".join(f"{layer.width} {layer.activation.text}"
                           for layer in net.layers)
        lines = [
            (
                f"imported {self.source} (producer {self.producer or 'unknown'}, "
                f"opset {self.opset if self.opset is not None else 'unknown'})"
            ),
            f"operators: {' -> '.join(self.operators)}",
            (
                f"network: input_dim {net.input_dim}, hidden layers [{hidden}], "
                f"output width {net.output.width}"
            ),
            "weights and biases: the exact values of their binary floats (no rounding)",
        ]
        if self.head is not None:
            lines.append(self.head.line(net.output.width))
        lines += self.notes
        if self.ternarization is not None:
            lines.append(self.ternarization.report)
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        net = self.network
        return {
            "source": self.source,
            "producer": self.producer,
            "opset": self.opset,
            "operators": list(self.operators),
            "input_dim": net.input_dim,
            "widths": list(net.widths),
            "activations": [layer.activation.spec for layer in net.layers],
            "outputs": net.output.width,
            "network_sha256": net.sha256,
            "classifier": None if self.head is None else self.head.to_json(net.output.width),
            "notes": list(self.notes),
            "ternarization": None
            if self.ternarization is None
            else self.ternarization.to_json(),
        }


def import_onnx(path: str | Path, *, ternarize: bool = False) -> ImportResult:
    """Read an ONNX feed-forward piecewise-linear network exactly (see the module
    docstring).

    Every problem (unreadable, not ONNX, unsupported operator or structure) raises
    one :class:`InputError` whose one-line message starts with the file name.
    """
    path = Path(path)
    data = read_input_file(path)
    try:
        model = onnx.load_model_from_string(data)
    except DecodeError:
        raise InputError(
            f"{path}: not an ONNX model (corrupt or truncated protobuf data)"
        ) from None
    if not model.HasField("graph") or model.ir_version < 1:
        raise InputError(f"{path}: not an ONNX model (no IR version or no graph)")
    opset = next(
        (o.version for o in model.opset_import if o.domain in DEFAULT_DOMAINS), None
    )
    try:
        converted = _Reader(model.graph, opset).convert()
    except InputError as exc:
        raise InputError(f"{path}: {exc}") from None
    network = _with_named_activations(converted.network, model)
    table = None
    if ternarize:
        try:
            network, table = ternarize_network(network)
        except InputError as exc:
            raise InputError(f"{path}: --ternarize {exc}") from None
    producer = f"{model.producer_name} {model.producer_version}".strip()
    return ImportResult(network, str(path), producer, opset, converted.operators, table,
                        converted.head, converted.notes)


def _with_named_activations(network: Network, model: onnx.ModelProto) -> Network:
    """Each layer under the spec of ``tvmip.activations`` when it is the same function."""
    text = next((p.value for p in model.metadata_props if p.key == ACTIVATIONS_KEY), None)
    try:
        specs = json.loads(text) if text is not None else None
        if not isinstance(specs, list) or len(specs) != len(network.layers):
            return network
        named = [activation_from_json(spec, ACTIVATIONS_KEY) for spec in specs]
    except ValueError:  # FormatError and JSON errors: only names, so ignored
        return network
    layers = tuple(replace(layer, activation=name) if name == layer.activation else layer
                   for layer, name in zip(network.layers, named))
    return replace(network, layers=layers)


# ------------------------------------------------------------------ reading tensors


@dataclass(frozen=True, slots=True)
class Tensor:
    """A constant: numbers (numpy, or exact Fractions in an object array) and the
    ONNX element type."""

    array: np.ndarray
    elem: int


def _label(node: onnx.NodeProto, index: int) -> str:
    return node.name or f"#{index}"


def _where(node: onnx.NodeProto, index: int) -> str:
    return f"{node.op_type} at node {_label(node, index)!r}"


def _tensor(tensor: onnx.TensorProto, where: str) -> Tensor:
    if uses_external_data(tensor):
        raise InputError(f"{where}: tensor data in an external file is not supported")
    try:
        return Tensor(numpy_helper.to_array(tensor), tensor.data_type)
    except (ValueError, KeyError, TypeError) as exc:
        raise InputError(f"{where}: malformed tensor ({exc})") from None


def _exact(array: np.ndarray, where: str) -> list[Fraction]:
    """The exact rational value of every entry, in C order."""
    if array.dtype == object:
        return [Fraction(v) for v in array.ravel()]
    if array.dtype.kind not in "fiub":
        raise InputError(f"{where}: unsupported element type {array.dtype}")
    values = array.ravel().tolist()  # float16/32 widen to Python floats exactly
    for value in values:
        if not math.isfinite(value):
            raise InputError(f"{where}: non-finite value {value}")
    return [Fraction(value) for value in values]


def _exact_array(array: np.ndarray, where: str) -> np.ndarray:
    values = np.empty(array.size, dtype=object)
    values[:] = _exact(array, where)
    return values.reshape(array.shape)


def _float32_attribute(attrs: dict[str, Any], name: str, default: float) -> Fraction:
    """A float attribute's exact value; ONNX stores them (and their defaults) as float32."""
    return Fraction(float(np.float32(attrs.get(name, default))))


_CONSTANT_ATTRIBUTES = {
    "value": None, "value_float": np.float32, "value_floats": np.float32,
    "value_int": np.int64, "value_ints": np.int64,
}
_ELEM = {np.float32: TensorProto.FLOAT, np.int64: TensorProto.INT64}


def _constants(graph: onnx.GraphProto) -> dict[str, Tensor]:
    """Initializers and ``Constant`` node outputs by name (each defined once)."""
    constants = {t.name: _tensor(t, f"initializer {t.name!r}") for t in graph.initializer}
    for index, node in enumerate(graph.node):
        if node.op_type != "Constant" or node.domain not in DEFAULT_DOMAINS:
            continue
        where = f"Constant at node {_label(node, index)!r}"
        names = [a.name for a in node.attribute]
        if len(names) != 1 or names[0] not in _CONSTANT_ATTRIBUTES or len(node.output) != 1:
            raise InputError(f"{where}: only a single value, value_float(s) or "
                             "value_int(s) attribute is supported")
        if node.output[0] in constants:
            raise InputError(f"{where}: value {node.output[0]!r} is defined twice")
        kind = _CONSTANT_ATTRIBUTES[names[0]]
        if kind is None:
            constants[node.output[0]] = _tensor(node.attribute[0].t, where)
        else:
            value = helper.get_attribute_value(node.attribute[0])
            constants[node.output[0]] = Tensor(np.array(value, dtype=kind), _ELEM[kind])
    return constants


def _quantized_range(elem: int, where: str) -> tuple[int, int]:
    if elem not in INTEGER_RANGES:
        name = TensorProto.DataType.Name(elem) if elem in TensorProto.DataType.values() \
            else str(elem)
        raise InputError(f"{where}: quantization to {name} is not supported "
                         "(int4, uint4, int8, uint8, int16, uint16)")
    return INTEGER_RANGES[elem]


@dataclass(frozen=True, slots=True)
class Quantization:
    """The exact scales and zero points of a QuantizeLinear/DequantizeLinear node (one
    each, or one per channel along ``axis``) and the integer type's range."""

    scales: tuple[Fraction, ...]
    zero_points: tuple[int, ...]
    qmin: int
    qmax: int
    axis: int

    @staticmethod
    def read(node: onnx.NodeProto, attrs: dict[str, Any], constants: dict[str, Tensor],
             where: str) -> Quantization:
        if attrs.get("block_size", 0):
            raise InputError(f"{where}: blocked quantization is not supported")
        scale = constants[node.input[1]]
        if scale.elem not in FLOAT_TYPES or scale.array.ndim > 1:
            raise InputError(f"{where}: the scale must be a float scalar or vector")
        scales = tuple(_exact(scale.array, where))
        if any(s <= 0 for s in scales):
            raise InputError(f"{where}: the scale must be positive")
        if len(node.input) > 2 and node.input[2]:
            zero = constants[node.input[2]]
            elem, zeros = zero.elem, tuple(int(z) for z in _exact(zero.array, where))
        else:
            elem, zeros = attrs.get("output_dtype", 0) or TensorProto.UINT8, (0,)
        if node.op_type == "DequantizeLinear" and elem == TensorProto.INT32:
            qmin, qmax = -(2**31), 2**31 - 1
        else:
            qmin, qmax = _quantized_range(elem, where)
        if len(zeros) not in (1, len(scales)):
            raise InputError(f"{where}: {len(scales)} scales but {len(zeros)} zero points")
        return Quantization(scales, zeros * (len(scales) // len(zeros)), qmin, qmax,
                            attrs.get("axis", 1))

    def broadcast(self, shape: tuple[int, ...], where: str) -> tuple[np.ndarray, np.ndarray]:
        """Scales and zero points as arrays that act on a tensor of ``shape``."""
        dims = [1] * len(shape)
        if len(self.scales) > 1:
            axis = self.axis + len(shape) if self.axis < 0 else self.axis
            if not 0 <= axis < len(shape) or shape[axis] != len(self.scales):
                raise InputError(f"{where}: {len(self.scales)} scales do not fit axis "
                                 f"{self.axis} of a tensor of shape {list(shape)}")
            dims[axis] = len(self.scales)
        return (np.array(self.scales, dtype=object).reshape(dims),
                np.array(self.zero_points, dtype=object).reshape(dims))

    def scalar(self, where: str) -> tuple[Fraction, int]:
        """The one scale and zero point of a per-tensor quantization."""
        if len(set(self.scales)) != 1 or len(set(self.zero_points)) != 1:
            raise InputError(
                f"{where}: per-channel quantization of activations: a tvmip layer "
                "applies one activation to every neuron")
        return self.scales[0], self.zero_points[0]


_ROUND = np.frompyfunc(round, 1, 1)  # Fraction.__round__: half to even


def _fold(node: onnx.NodeProto, constants: dict[str, Tensor], where: str) -> Tensor:
    """The exact value of a foldable node whose inputs are all constants."""
    attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    if node.op_type == "Identity":
        return constants[node.input[0]]
    q = Quantization.read(node, attrs, constants, where)
    x = constants[node.input[0]]
    scale, zero = q.broadcast(x.array.shape, where)
    values = _exact_array(x.array, where)
    if node.op_type == "QuantizeLinear":
        ints = np.clip(_ROUND(values / scale) + zero, q.qmin, q.qmax)
        elem = constants[node.input[2]].elem if len(node.input) > 2 and node.input[2] \
            else attrs.get("output_dtype", 0) or TensorProto.UINT8
        return Tensor(ints, elem)
    return Tensor((values - zero) * scale, TensorProto.DOUBLE)


# --------------------------------------------------------------- the symbolic value


@dataclass(frozen=True, slots=True)
class Value:
    """A computed tensor: ``fn(W h + b)`` neuron by neuron, where ``h`` is the output
    of ``layers`` (the network input if none) and ``W``, ``b`` the pending affine map
    of the last affine operator.  ``weights`` is None for the network input itself.

    ``base`` names the pending affine map: two values combine only when they share
    it (then they are functions of the same pre-activation).  ``ops`` are the
    operators applied since it, ``zero_points`` those of the quantizers among them;
    ``on_input`` says that no affine operator has been applied yet.
    """

    layers: tuple[Layer, ...]
    weights: Matrix | None
    biases: Vector
    fn: Activation
    width: int | None
    base: int
    ops: tuple[str, ...] = ()
    zero_points: tuple[int, ...] = ()
    on_input: bool = False


def _identity(width: int) -> Matrix:
    return tuple(tuple(Fraction(int(i == j)) for j in range(width)) for i in range(width))


def _push(value: Value) -> tuple[Matrix, Vector, Activation]:
    """``(W, b, fn)`` with an affine ``fn`` moved into ``W`` and ``b``."""
    assert value.weights is not None
    if value.fn.breakpoints:
        return value.weights, value.biases, value.fn
    slope, offset = value.fn.pieces[0]
    return (tuple(tuple(slope * w for w in row) for row in value.weights),
            tuple(slope * b + offset for b in value.biases), IDENTITY)


@dataclass(frozen=True, slots=True)
class Converted:
    network: Network
    operators: tuple[str, ...]
    head: Head | None
    notes: tuple[str, ...]


@dataclass
class _Reader:
    """One graph's conversion (see the module docstring)."""

    graph: onnx.GraphProto
    opset: int | None
    constants: dict[str, Tensor] = field(default_factory=dict)
    producers: dict[str, int] = field(default_factory=dict)
    folded_weights: int = 0
    bases: int = 0
    notes: list[str] = field(default_factory=list)

    # --------------------------------------------------------------- structure

    def convert(self) -> Converted:
        graph = self.graph
        self.constants = _constants(graph)
        source = self._source()
        self._index(source)
        self._fold_constants()
        head = self._head()
        head_nodes = set() if head is None else head[1]
        self._check_operators(head_nodes)
        if head is None:
            if len(graph.output) != 1:
                names = ", ".join(repr(v.name) for v in graph.output)
                raise InputError(f"the graph has {len(graph.output)} outputs ({names}); "
                                 "expected exactly one")
            target = graph.output[0].name
        else:
            target = head[0].logits
        order = self._path(source.name, target)
        self._check_dead(order, head_nodes, source.name, target)
        values: dict[str, Value] = {
            source.name: Value((), None, (), IDENTITY, _input_width(source), 0,
                               on_input=True)}
        for index in order:
            node = graph.node[index]
            values[node.output[0]] = self._evaluate(node, _where(node, index), values)
        network = self._network(values[target])
        if self.folded_weights:
            self.notes.append(
                f"quantized weights: {self.folded_weights} QuantizeLinear/DequantizeLinear "
                "weight tensors folded into their exact dequantized values (q - zero_point) "
                "* scale; onnxruntime computes them in float32, which can differ in the "
                "last bits (tvmip uses the exact values)")
        operators = tuple(graph.node[i].op_type for i in order)
        return Converted(network, operators, None if head is None else head[0],
                         tuple(self.notes))

    def _source(self) -> onnx.ValueInfoProto:
        inputs = [v for v in self.graph.input if v.name not in self.constants]
        if len(inputs) != 1:
            names = ", ".join(repr(v.name) for v in inputs)
            raise InputError(
                f"the graph has {len(inputs)} inputs ({names}); expected exactly one")
        return inputs[0]

    def _index(self, source: onnx.ValueInfoProto) -> None:
        for index, node in enumerate(self.graph.node):
            if node.op_type == "Constant" and node.domain in DEFAULT_DOMAINS:
                continue
            for name in node.output:
                if name in self.producers or name in self.constants or name == source.name:
                    raise InputError(f"value {name!r} is defined twice")
                self.producers[name] = index

    def _fold_constants(self) -> None:
        """Compute every node whose inputs are all constants (weights, scales...)."""
        pending = [i for i, n in enumerate(self.graph.node)
                   if not (n.op_type == "Constant" and n.domain in DEFAULT_DOMAINS)]
        changed = True
        while changed:
            changed = False
            for index in list(pending):
                node = self.graph.node[index]
                if not all(not name or name in self.constants for name in node.input):
                    continue
                pending.remove(index)
                changed = True
                where = _where(node, index)
                if node.domain not in DEFAULT_DOMAINS or node.op_type not in FOLDABLE:
                    raise InputError(f"unsupported ONNX operator {_op(node)!r} at node "
                                     f"{_label(node, index)!r} (on constant values)")
                if len(node.output) != 1:
                    raise InputError(f"{where}: expected one output")
                self.constants[node.output[0]] = _fold(node, self.constants, where)
                if node.op_type == "DequantizeLinear":
                    self.folded_weights += 1

    def _consumers(self) -> dict[str, list[int]]:
        consumers: dict[str, list[int]] = {}
        for index, node in enumerate(self.graph.node):
            if node.output and node.output[0] in self.constants:
                continue
            for name in node.input:
                if name and name not in self.constants:
                    consumers.setdefault(name, []).append(index)
        return consumers

    def _head(self) -> tuple[Head, set[int]] | None:
        """The classifier head, if the graph has one (see the module docstring)."""
        nodes = self.graph.node
        consumers = self._consumers()
        roots = [i for i, n in enumerate(nodes) if n.domain in DEFAULT_DOMAINS
                 and n.op_type in HEAD_ROOTS and n.input and n.output
                 and n.output[0] not in self.constants]
        if not roots:
            return None
        below: set[int] = set()
        stack = list(roots)
        while stack:
            index = stack.pop()
            for name in nodes[index].output:
                for user in consumers.get(name, []):
                    if user not in below:
                        below.add(user)
                        stack.append(user)
        top = [i for i in roots if i not in below]
        head = below | set(top)
        logits = {nodes[i].input[0] for i in top}
        produced = {name for i in head for name in nodes[i].output}
        if (len(logits) != 1
                or any((_domain(nodes[i]), nodes[i].op_type) not in HEAD_OPS for i in head)
                or any(v.name not in produced | logits for v in self.graph.output)
                or any(name and name not in self.constants.keys() | produced | logits
                       for i in head for name in nodes[i].input)):
            return None
        ordered = sorted(head)
        return (Head(logits.pop(), tuple(dict.fromkeys(nodes[i].op_type for i in sorted(top))),
                     tuple(_op(nodes[i]) for i in ordered)), head)

    def _check_operators(self, head: set[int]) -> None:
        for index, node in enumerate(self.graph.node):
            if index in head or (node.output and node.output[0] in self.constants):
                continue
            if node.domain not in DEFAULT_DOMAINS or node.op_type not in ARITY:
                why = " (not piecewise linear)" if node.op_type in SMOOTH else ""
                raise InputError(f"unsupported ONNX operator {_op(node)!r} at node "
                                 f"{_label(node, index)!r}{why}")
            low, high = ARITY[node.op_type]
            if not low <= len(node.input) <= high or len(node.output) != 1:
                raise InputError(
                    f"{_where(node, index)}: {len(node.input)} inputs and "
                    f"{len(node.output)} outputs (expected {low} to {high} inputs and one "
                    "output)")

    def _data_inputs(self, index: int) -> list[str]:
        """The computed operands of a node; checks that the constant ones are."""
        node = self.graph.node[index]
        where = _where(node, index)
        must = CONSTANT_OPERANDS.get(node.op_type, ())
        if node.op_type in AFFINE_OPS and node.input[0] in self.constants:
            raise InputError(f"{where}: first operand {node.input[0]!r} is a constant, "
                             "not the layer input")
        for position, name in enumerate(node.input):
            if position in must and name and name not in self.constants:
                raise InputError(
                    f"{where}: operand {name!r} is not a constant (weights, biases, "
                    "scales, bounds and shapes must be initializers or Constant nodes)")
        return [name for position, name in enumerate(node.input)
                if name and position not in must and name not in self.constants]

    def _path(self, source: str, target: str) -> list[int]:
        """The nodes the target depends on, inputs first; checks they reach the input."""
        order: list[int] = []
        state: dict[int, bool] = {}  # False: on the current path, True: done
        reached = False

        def visit(value: str) -> None:
            nonlocal reached
            if value == source:
                reached = True
                return
            if value not in self.producers:
                what = "a constant" if value in self.constants else "never computed"
                raise InputError(
                    f"value {value!r} on the way to the output is {what}, not the input")
            index = self.producers[value]
            if state.get(index) is False:
                node = self.graph.node[index]
                raise InputError(f"cycle through node {_label(node, index)!r}")
            if state.get(index):
                return
            state[index] = False
            for name in self._data_inputs(index):
                visit(name)
            state[index] = True
            order.append(index)

        visit(target)
        if not reached:
            raise InputError(f"the output {target!r} does not depend on the input {source!r}")
        return order

    def _check_dead(self, order: list[int], head: set[int], source: str, target: str) -> None:
        used = set(order) | head
        for index, node in enumerate(self.graph.node):
            if index in used or node.op_type == "Constant" or \
                    (node.output and node.output[0] in self.constants):
                continue
            raise InputError(
                f"node {_label(node, index)!r} ({node.op_type}) is not on the path "
                f"from input {source!r} to output {target!r}: not a feed-forward chain")

    # --------------------------------------------------------------- evaluation

    def _fresh(self) -> int:
        self.bases += 1
        return self.bases

    def _evaluate(self, node: onnx.NodeProto, where: str, values: dict[str, Value]) -> Value:
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        op = node.op_type
        data = [values[name] for name in self._operands(node)]
        try:
            if op in AFFINE_OPS:
                return self._affine(node, attrs, data[0], where)
            if op in ("Identity", "Flatten", "Reshape", "Cast"):
                self._check_noop(node, attrs, data[0], where)
                return data[0]
            if op in UNARY:
                return self._compose(data[0], UNARY[op](attrs, self, node, where), op, where)
            if op in ("QuantizeLinear", "DequantizeLinear"):
                return self._quantize(node, attrs, data[0], where)
            return self._elementwise(node, where, values)
        except NotPiecewiseLinear as exc:
            raise InputError(f"{where}: {exc}") from None

    def _operands(self, node: onnx.NodeProto) -> list[str]:
        must = CONSTANT_OPERANDS.get(node.op_type, ())
        return [name for position, name in enumerate(node.input)
                if name and position not in must and name not in self.constants]

    def _materialize(self, value: Value, where: str) -> Value:
        """The network input as the identity map (an explicit first layer)."""
        if value.weights is not None:
            return value
        if value.width is None:
            raise InputError(f"{where}: the input's width is unknown (give the graph "
                             "input a shape [batch, N])")
        return replace(value, weights=_identity(value.width),
                       biases=(Fraction(0),) * value.width)

    def _compose(self, value: Value, outer: Activation, op: str, where: str,
                 zero_point: int | None = None) -> Value:
        value = self._materialize(value, where)
        zeros = value.zero_points if zero_point is None else (*value.zero_points, zero_point)
        return replace(value, fn=pwl.compose(outer, value.fn), ops=(*value.ops, op),
                       zero_points=zeros)

    def _finish(self, value: Value) -> tuple[Layer, ...]:
        """The layers that compute ``value``: its prefix and its pending layer."""
        if value.weights is None:
            return value.layers
        weights, biases, fn = _push(value)
        if value.on_input:
            self.notes.append(
                f"before the first affine operator the input goes through "
                f"{', '.join(value.ops) or 'a per-input scale or shift'}: imported as a "
                "first hidden layer with identity weights (times any per-input scale and "
                "shift there) and that activation (exact"
                + ("; the input is quantized, so f is constant on each quantization cell)"
                   if "QuantizeLinear" in value.ops else ")"))
        return (*value.layers, Layer(weights, biases, pwl.named(fn, value.zero_points)))

    def _affine(self, node: onnx.NodeProto, attrs: dict[str, Any], value: Value,
                where: str) -> Value:
        weights, biases = _affine(node, attrs, self.constants, where)
        if value.width is not None and len(weights[0]) != value.width:
            raise InputError(
                f"{where}: weights take {len(weights[0])} inputs, got {value.width}")
        return Value(self._finish(value), weights, biases, IDENTITY, len(weights),
                     self._fresh())

    def _check_noop(self, node: onnx.NodeProto, attrs: dict[str, Any], value: Value,
                    where: str) -> None:
        """Flatten, Reshape and Cast must leave the per-sample values unchanged."""
        width = value.width
        if node.op_type == "Flatten" and attrs.get("axis", 1) not in (1, -1):
            raise InputError(
                f"{where}: only axis 1 keeps the [batch, N] vector (got {attrs['axis']})")
        if node.op_type == "Reshape":
            shape = self.constants[node.input[1]].array.ravel().tolist()
            if not (1 <= len(shape) <= 2 and all(d in (-1, 0, 1) for d in shape[:-1])
                    and shape[-1] in (-1, width)):
                raise InputError(
                    f"{where}: reshape to {shape} changes the [batch, {width}] vector")
        if node.op_type == "Cast" and attrs.get("to") not in FLOAT_TYPES:
            name = TensorProto.DataType.Name(attrs["to"]) \
                if attrs.get("to") in TensorProto.DataType.values() else attrs.get("to")
            raise InputError(f"{where}: a cast to {name} on the data path (only casts to "
                             "float types, which tvmip reads exactly, are supported)")

    def _constant(self, name: str, width: int | None, where: str) -> list[Fraction]:
        """A constant operand broadcast against ``[batch, width]``: one value or one
        per neuron."""
        array = self.constants[name].array
        if array.ndim > 2 or any(d != 1 for d in array.shape[:-1]) or \
                array.size not in (1, width):
            raise InputError(f"{where}: constant of shape {list(array.shape)} does not "
                             f"fit width {width}")
        return _exact(array, where)

    def _elementwise(self, node: onnx.NodeProto, where: str,
                     values: dict[str, Value]) -> Value:
        """Operators of several operands (computed values and constants)."""
        op = node.op_type
        data = [values[name] for name in node.input if name in values]
        width = data[0].width
        consts = {name: self._constant(name, width, where)
                  for name in node.input if name and name not in values}
        vector = [name for name, c in consts.items() if len(c) > 1 and len(set(c)) > 1]
        if op in ("Add", "Sub", "Mul", "Div") and len(data) == 1:
            folded = self._fold_affine(node, data[0], consts, bool(vector), where)
            if folded is not None:
                return folded
        if vector:
            raise InputError(
                f"{where}: a different constant per neuron ({vector[0]!r}) after a "
                "nonlinear operator: a tvmip layer applies one activation to every neuron")
        data = [self._materialize(v, where) for v in data]
        if len({v.base for v in data}) != 1:
            raise InputError(f"{where}: its operands come from different layers (a skip "
                             "connection): not a feed-forward chain")
        first = data[0]
        fns = [values[name].fn if name in values else pwl.constant(consts[name][0])
               for name in node.input if name]
        fn = BINARY[op](fns, where)
        zeros = tuple(dict.fromkeys(z for v in data for z in v.zero_points))
        return replace(first, fn=fn, ops=(*first.ops, op), zero_points=zeros)

    def _fold_affine(self, node: onnx.NodeProto, value: Value,
                     consts: dict[str, list[Fraction]], vector: bool,
                     where: str) -> Value | None:
        """A bias (Add/Sub of a constant right after the affine operator) or a
        per-neuron scale, folded into ``W`` and ``b``; None when it is not one."""
        op = node.op_type
        data_first = node.input[0] not in consts
        bias = op in ("Add", "Sub") and not value.ops and (data_first or op == "Add")
        if not (bias or (vector and not value.fn.breakpoints)):
            return None
        if op == "Div" and not data_first:
            return None
        value = self._materialize(value, where)
        weights, biases, _ = _push(value)
        (c,) = consts.values()
        c = c * value.width if len(c) == 1 else c  # type: ignore[operator]
        if op == "Add":
            biases = tuple(b + x for b, x in zip(biases, c))
        elif op == "Sub" and data_first:
            biases = tuple(b - x for b, x in zip(biases, c))
        elif op == "Sub":
            weights = tuple(tuple(-w for w in row) for row in weights)
            biases = tuple(x - b for b, x in zip(biases, c))
        else:
            if op == "Div" and any(x == 0 for x in c):
                raise InputError(f"{where}: division by zero")
            factors = [1 / x for x in c] if op == "Div" else c
            weights = tuple(tuple(f * w for w in row) for row, f in zip(weights, factors))
            biases = tuple(f * b for b, f in zip(biases, factors))
        return replace(value, weights=weights, biases=biases, fn=IDENTITY,
                       base=self._fresh())

    def _quantize(self, node: onnx.NodeProto, attrs: dict[str, Any], value: Value,
                  where: str) -> Value:
        """QuantizeLinear's integer staircase, or DequantizeLinear's ``(q - z0) s``."""
        q = Quantization.read(node, attrs, self.constants, where)
        scale, zero = q.scalar(where)
        outer = pwl.quantizer(scale, zero, q.qmin, q.qmax) \
            if node.op_type == "QuantizeLinear" else pwl.line(scale, -zero * scale)
        return self._compose(value, outer, node.op_type, where, zero)

    def _network(self, value: Value) -> Network:
        if value.weights is None:
            raise InputError(
                "the output is not computed by an affine operator (Gemm, MatMul)")
        weights, biases, fn = _push(value)
        if fn == IDENTITY:
            layers, output = value.layers, Layer(weights, biases)
            if not layers:
                raise InputError(
                    "a single affine map: tvmip networks need at least one hidden layer")
        else:
            layers = self._finish(value)
            width = len(weights)
            output = Layer(_identity(width), (Fraction(0),) * width)
            self.notes.append(
                f"after the last affine operator the output goes through "
                f"{', '.join(value.ops)}: imported as a last hidden layer followed by an "
                "identity output layer (exact)")
        return Network(len(layers[0].weights[0]), tuple(layers), output)


def _op(node: onnx.NodeProto) -> str:
    return node.op_type if node.domain in DEFAULT_DOMAINS else f"{node.domain}.{node.op_type}"


def _domain(node: onnx.NodeProto) -> str:
    return "" if node.domain in DEFAULT_DOMAINS else node.domain


def _input_width(value: onnx.ValueInfoProto) -> int | None:
    """The feature dimension N of the input, or None when the file does not say."""
    if not value.type.HasField("tensor_type"):
        raise InputError(f"input {value.name!r} is not a tensor")
    tensor = value.type.tensor_type
    if not tensor.HasField("shape"):
        return None
    dims = tensor.shape.dim
    if len(dims) not in (1, 2):
        raise InputError(
            f"input {value.name!r} has rank {len(dims)}; "
            "expected shape [N], [1, N] or [batch, N]"
        )
    return dims[-1].dim_value if dims[-1].dim_value > 0 else None


# ------------------------------------------------------------------ affine layers


def _rows(array: np.ndarray, transpose: bool, scale: Fraction, where: str) -> Matrix:
    """A weight matrix (rows = neurons after ``transpose``) exactly, times ``scale``."""
    if array.ndim != 2 or 0 in array.shape:
        raise InputError(
            f"{where}: weights of shape {list(array.shape)}, expected a matrix"
        )
    if transpose:
        array = array.T
    values = _exact(np.ascontiguousarray(array), where)
    k = array.shape[1]
    return tuple(
        tuple(scale * v for v in values[i : i + k]) for i in range(0, len(values), k)
    )


def _bias(array: np.ndarray, width: int, scale: Fraction, where: str) -> Vector:
    """A bias broadcastable to ``[batch, width]`` exactly, times ``scale``."""
    if (
        array.ndim > 2
        or any(d != 1 for d in array.shape[:-1])
        or array.size not in (1, width)
    ):
        raise InputError(
            f"{where}: bias of shape {list(array.shape)} does not fit width {width}"
        )
    values = [scale * v for v in _exact(array, where)]
    return tuple(values * width if len(values) == 1 else values)


def _affine(
    node: onnx.NodeProto,
    attrs: dict[str, Any],
    constants: dict[str, Tensor],
    where: str,
) -> tuple[Matrix, Vector]:
    """The exact ``(W, b)`` of a Gemm or MatMul node, rows of W = neurons."""
    weight = constants[node.input[1]].array
    if node.op_type == "MatMul":
        weights = _rows(weight, True, Fraction(1), where)
        return weights, (Fraction(0),) * len(weights)
    if attrs.get("transA", 0):
        raise InputError(f"{where}: transA = 1 is not supported")
    alpha = _float32_attribute(attrs, "alpha", 1.0)
    beta = _float32_attribute(attrs, "beta", 1.0)
    weights = _rows(weight, not attrs.get("transB", 0), alpha, where)
    if len(node.input) < 3 or not node.input[2]:
        return weights, (Fraction(0),) * len(weights)
    return weights, _bias(constants[node.input[2]].array, len(weights), beta, where)


# ------------------------------------------------------- elementwise operators


def _clip(attrs: dict[str, Any], reader: _Reader, node: onnx.NodeProto,
          where: str) -> Activation:
    """Clip's bounds: constant inputs (opset >= 11) or attributes (before)."""
    bounds: list[Fraction | None] = []
    for position, name in ((1, "min"), (2, "max")):
        operand = node.input[position] if len(node.input) > position else ""
        if operand:
            values = _exact(reader.constants[operand].array, where)
            if len(values) != 1:
                raise InputError(f"{where}: the {name} bound must be a scalar")
            bounds.append(values[0])
        elif name in attrs:
            bounds.append(Fraction(float(np.float32(attrs[name]))))
        else:
            bounds.append(None)
    return pwl.clip(bounds[0], bounds[1])


def _hard_sigmoid(attrs: dict[str, Any], *_: Any) -> Activation:
    alpha = _float32_attribute(attrs, "alpha", 0.2)
    beta = _float32_attribute(attrs, "beta", 0.5)
    return pwl.compose(pwl.clip(Fraction(0), Fraction(1)), pwl.line(alpha, beta))


def _fixed(function: Activation) -> Callable[..., Activation]:
    return lambda *_: function


UNARY: dict[str, Callable[..., Activation]] = {
    "Relu": _fixed(RELU),
    "LeakyRelu": lambda attrs, *_: leaky_relu(_float32_attribute(attrs, "alpha", 0.01)),
    "HardSigmoid": _hard_sigmoid,
    "Clip": _clip,
    "Sign": _fixed(pwl.SIGN_ONNX),
    "Abs": _fixed(pwl.ABS),
    "Neg": _fixed(pwl.line(Fraction(-1))),
}
"""Operators that apply one fixed function to their one computed operand."""


def _not(fns: Sequence[Activation], where: str) -> Activation:
    if not pwl.is_boolean(fns[0]):
        raise InputError(f"{where}: Not of a value that is not a comparison's result")
    return pwl.compose(pwl.line(Fraction(-1), Fraction(1)), fns[0])


def _where_op(fns: Sequence[Activation], where: str) -> Activation:
    if not pwl.is_boolean(fns[0]):
        raise InputError(f"{where}: the condition is not a comparison's result")
    return pwl.combine(lambda c, a, b: a if c else b, *fns)


def _divide(fns: Sequence[Activation], where: str) -> Activation:
    divisor = fns[1]
    if divisor.breakpoints or divisor.pieces[0][0] != 0:
        raise InputError(f"{where}: division by a computed value is not piecewise linear")
    if divisor.pieces[0][1] == 0:
        raise InputError(f"{where}: division by zero")
    return pwl.combine(lambda a, b: a / b, *fns)


def _difference(f: Activation, g: Activation) -> Activation:
    return pwl.combine(lambda a, b: a - b, f, g)


def _maximum(f: Activation, g: Activation) -> Activation:
    """max(f, g) = f + relu(g - f) (and min(f, g) = f - relu(f - g))."""
    return pwl.combine(lambda a, b: a + b, f, pwl.compose(RELU, _difference(g, f)))


def _minimum(f: Activation, g: Activation) -> Activation:
    return _difference(f, pwl.compose(RELU, _difference(f, g)))


def _reduce(pair: Callable[[Activation, Activation], Activation]) -> Callable[..., Activation]:
    def reduce(fns: Sequence[Activation], where: str) -> Activation:
        result = fns[0]
        for f in fns[1:]:
            result = pair(result, f)
        return result

    return reduce


def _compare(test: Activation, swap: bool = False) -> Callable[..., Activation]:
    """``test(f - g)`` (``test(g - f)`` with ``swap``): 1 where the comparison holds."""
    return lambda fns, where: pwl.compose(
        test, _difference(*(reversed(fns) if swap else fns)))


BINARY: dict[str, Callable[[Sequence[Activation], str], Activation]] = {
    "Add": _reduce(lambda f, g: pwl.combine(lambda a, b: a + b, f, g)),
    "Sum": _reduce(lambda f, g: pwl.combine(lambda a, b: a + b, f, g)),
    "Sub": lambda fns, where: _difference(*fns),
    "Mul": lambda fns, where: pwl.combine(lambda a, b: a * b, *fns),
    "Div": _divide,
    "Max": _reduce(_maximum),
    "Min": _reduce(_minimum),
    "Greater": _compare(pwl.GREATER),
    "GreaterOrEqual": _compare(STEP),
    "Less": _compare(pwl.GREATER, swap=True),
    "LessOrEqual": _compare(STEP, swap=True),
    "Equal": _compare(pwl.EQUAL),
    "Not": _not,
    "Round": lambda fns, where: pwl.round_half_even(fns[0]),
    "Where": _where_op,
}
"""Operators whose operands may all be computed: each is a function of the operands'
functions (constants are constant functions)."""
