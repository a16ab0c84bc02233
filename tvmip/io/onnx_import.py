"""Reading ONNX feed-forward networks exactly.

A feed-forward graph is read: one input of shape ``[N]``, ``[1, N]`` or
``[batch, N]``, one output, and a single chain of these operators from the input
to the output:

* ``Gemm`` with ``transA = 0`` and ``transB`` 0 or 1 (``alpha`` and ``beta`` are
  multiplied in exactly), or ``MatMul`` with the layer input as first operand,
  either optionally followed by ``Add`` of a constant bias;
* ``Relu`` directly after an affine operator;
* ``Identity``, ``Flatten`` (axis 1) and ``Reshape`` to ``[batch, width]``, which
  leave the per-sample vector unchanged.

Weights and biases are initializers or outputs of ``Constant`` nodes, of any
float or integer type.  They are converted *exactly*: a finite binary float is a
dyadic rational and ``Fraction(float(x))`` is its exact value (a float32 or
float16 widens to float64 without rounding), so nothing is rounded.  Every
affine operator becomes one layer: followed by ``Relu``, a ``relu`` hidden layer;
followed by another affine operator, an ``identity`` hidden layer.  Such layers
are kept, not folded into their successor: folding multiplies the matrices
(a product of ternary matrices is not ternary in general), while the kept layer
is exact and is the alternating identity/ReLU architecture tvmip counts anyway.
The last affine operator is the output layer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from ..checker.model import Matrix, Vector
from ..errors import InputError
from ..files import read_input_file
from ..model.network import IDENTITY, RELU, Layer, Network
from ..model.ternarize import Ternarization, ternarize_network

try:
    import onnx
    from google.protobuf.message import DecodeError  # type: ignore[import-untyped]
    from onnx import helper, numpy_helper
    from onnx.external_data_helper import uses_external_data
except ImportError as exc:  # pragma: no cover - depends on the installation
    raise InputError("ONNX support needs the onnx package: pip install 'tvmip[onnx]'") from exc

AFFINE_OPS = ("Gemm", "MatMul")
# Accepted operators and the number of inputs each may have.
ARITY = {
    "Gemm": (2, 3),
    "MatMul": (2, 2),
    "Add": (2, 2),
    "Relu": (1, 1),
    "Identity": (1, 1),
    "Flatten": (1, 1),
    "Reshape": (2, 2),
    "Constant": (0, 0),
}
DEFAULT_DOMAINS = ("", "ai.onnx")


@dataclass(frozen=True, slots=True)
class ImportResult:
    """An imported network and how it was obtained (``report``, ``to_json``)."""

    network: Network
    source: str
    producer: str
    opset: int | None
    operators: tuple[str, ...]
    ternarization: Ternarization | None = None

    @property
    def report(self) -> str:
        net = self.network
        hidden = ", ".join(f"{layer.width} {layer.activation.spec}" for layer in net.layers)
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
            "ternarization": None
            if self.ternarization is None
            else self.ternarization.to_json(),
        }


def import_onnx(path: str | Path, *, ternarize: bool = False) -> ImportResult:
    """Read an ONNX feed-forward ReLU network exactly (see the module docstring).

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
    try:
        network, operators = _convert(model.graph)
    except InputError as exc:
        raise InputError(f"{path}: {exc}") from None
    table = None
    if ternarize:
        network, table = ternarize_network(network)
    opset = next(
        (o.version for o in model.opset_import if o.domain in DEFAULT_DOMAINS), None
    )
    producer = f"{model.producer_name} {model.producer_version}".strip()
    return ImportResult(network, str(path), producer, opset, operators, table)


def _label(node: onnx.NodeProto, index: int) -> str:
    return node.name or f"#{index}"


def _tensor(tensor: onnx.TensorProto, where: str) -> np.ndarray:
    if uses_external_data(tensor):
        raise InputError(f"{where}: tensor data in an external file is not supported")
    try:
        return numpy_helper.to_array(tensor)
    except (ValueError, KeyError, TypeError) as exc:
        raise InputError(f"{where}: malformed tensor ({exc})") from None


def _exact(array: np.ndarray, where: str) -> list[Fraction]:
    """The exact rational value of every entry, in C order."""
    if array.dtype.kind not in "fiu":
        raise InputError(f"{where}: unsupported element type {array.dtype}")
    values = array.ravel().tolist()  # float16/32 widen to Python floats exactly
    for value in values:
        if not math.isfinite(value):
            raise InputError(f"{where}: non-finite value {value}")
    return [Fraction(value) for value in values]


def _scalar(value: float, where: str) -> Fraction:
    return _exact(np.array(value, dtype=np.float64), where)[0]


def _constants(graph: onnx.GraphProto) -> dict[str, np.ndarray]:
    """Initializers and ``Constant`` node outputs by name (each defined once)."""
    constants = {
        t.name: _tensor(t, f"initializer {t.name!r}") for t in graph.initializer
    }
    for index, node in enumerate(graph.node):
        if node.op_type != "Constant":
            continue
        where = f"Constant at node {_label(node, index)!r}"
        if [a.name for a in node.attribute] != ["value"] or len(node.output) != 1:
            raise InputError(
                f"{where}: only a single 'value' tensor attribute is supported"
            )
        if node.output[0] in constants:
            raise InputError(f"{where}: value {node.output[0]!r} is defined twice")
        constants[node.output[0]] = _tensor(node.attribute[0].t, where)
    return constants


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


def _data_input(
    node: onnx.NodeProto, where: str, constants: dict[str, np.ndarray]
) -> str:
    """The one computed operand of ``node``; checks that the others are constant."""
    low, high = ARITY[node.op_type]
    inputs = list(node.input)
    if not low <= len(inputs) <= high or len(node.output) != 1:
        raise InputError(
            f"{where}: {len(inputs)} inputs and {len(node.output)} outputs "
            f"(expected {low} to {high} inputs and one output)"
        )
    if node.op_type == "Add":
        computed = [name for name in inputs if name not in constants]
        if len(computed) != 1:
            raise InputError(
                f"{where}: expected one computed operand and one constant bias, "
                f"got {len(computed)} computed"
            )
        return computed[0]
    if inputs[0] in constants:
        raise InputError(
            f"{where}: first operand {inputs[0]!r} is a constant, not the layer input"
        )
    for name in inputs[1:]:
        if name and name not in constants:
            raise InputError(
                f"{where}: operand {name!r} is not a constant (weights, biases and "
                "shapes must be initializers or Constant nodes)"
            )
    return inputs[0]


def _chain(
    graph: onnx.GraphProto, constants: dict[str, np.ndarray]
) -> tuple[list[int], int | None]:
    """The node indices from the input to the output, and the input width if known."""
    inputs = [value for value in graph.input if value.name not in constants]
    if len(inputs) != 1:
        names = ", ".join(repr(value.name) for value in inputs)
        raise InputError(
            f"the graph has {len(inputs)} inputs ({names}); expected exactly one"
        )
    if len(graph.output) != 1:
        names = ", ".join(repr(value.name) for value in graph.output)
        raise InputError(
            f"the graph has {len(graph.output)} outputs ({names}); expected exactly one"
        )
    source, target = inputs[0].name, graph.output[0].name
    producers: dict[str, int] = {}
    for index, node in enumerate(graph.node):
        if node.op_type == "Constant":
            continue
        for name in node.output:
            if name in producers or name in constants or name == source:
                raise InputError(f"value {name!r} is defined twice")
            producers[name] = index
    chain: list[int] = []
    value = target
    while value != source:
        if value not in producers:
            what = "a constant" if value in constants else "never computed"
            raise InputError(
                f"value {value!r} on the way to the output is {what}, not the input"
            )
        index = producers[value]
        node = graph.node[index]
        if index in chain:
            raise InputError(f"cycle through node {_label(node, index)!r}")
        chain.append(index)
        value = _data_input(
            node, f"{node.op_type} at node {_label(node, index)!r}", constants
        )
    chain.reverse()
    on_path = set(chain)
    for index, node in enumerate(graph.node):
        if node.op_type != "Constant" and index not in on_path:
            raise InputError(
                f"node {_label(node, index)!r} ({node.op_type}) is not on the path "
                f"from input {source!r} to output {target!r}: not a feed-forward chain"
            )
    return chain, _input_width(inputs[0])


def _rows(array: np.ndarray, transpose: bool, scale: Fraction, where: str) -> Matrix:
    """A weight matrix (rows = neurons after ``transpose``) exactly, times ``scale``."""
    if array.ndim != 2 or 0 in array.shape:
        raise InputError(
            f"{where}: weights of shape {list(array.shape)}, expected a matrix"
        )
    if transpose:
        array = array.T
    values = _exact(array, where)
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
    constants: dict[str, np.ndarray],
    where: str,
) -> tuple[Matrix, Vector]:
    """The exact ``(W, b)`` of a Gemm or MatMul node, rows of W = neurons."""
    weight = constants[node.input[1]]
    if node.op_type == "MatMul":
        weights = _rows(weight, True, Fraction(1), where)
        return weights, (Fraction(0),) * len(weights)
    if attrs.get("transA", 0):
        raise InputError(f"{where}: transA = 1 is not supported")
    alpha = _scalar(attrs.get("alpha", 1.0), f"{where}: alpha")
    beta = _scalar(attrs.get("beta", 1.0), f"{where}: beta")
    weights = _rows(weight, not attrs.get("transB", 0), alpha, where)
    if len(node.input) < 3 or not node.input[2]:
        return weights, (Fraction(0),) * len(weights)
    return weights, _bias(constants[node.input[2]], len(weights), beta, where)


def _check_noop(
    node: onnx.NodeProto,
    attrs: dict[str, Any],
    constants: dict[str, np.ndarray],
    width: int | None,
    where: str,
) -> None:
    """Flatten and Reshape must leave the per-sample vector of ``width`` unchanged."""
    if node.op_type == "Flatten" and attrs.get("axis", 1) not in (1, -1):
        raise InputError(
            f"{where}: only axis 1 keeps the [batch, N] vector (got {attrs['axis']})"
        )
    if node.op_type == "Reshape":
        shape = constants[node.input[1]].ravel().tolist()
        if not (
            1 <= len(shape) <= 2
            and all(d in (-1, 0, 1) for d in shape[:-1])
            and shape[-1] in (-1, width)
        ):
            raise InputError(
                f"{where}: reshape to {shape} changes the [batch, {width}] vector"
            )


def _convert(graph: onnx.GraphProto) -> tuple[Network, tuple[str, ...]]:
    """The network of a graph and its operators along the path (errors: no file)."""
    for index, node in enumerate(graph.node):
        if node.domain not in DEFAULT_DOMAINS or node.op_type not in ARITY:
            op = (
                node.op_type
                if node.domain in DEFAULT_DOMAINS
                else f"{node.domain}.{node.op_type}"
            )
            raise InputError(
                f"unsupported ONNX operator {op!r} at node {_label(node, index)!r}"
            )
    constants = _constants(graph)
    chain, width = _chain(graph, constants)
    layers: list[Layer] = []
    pending: tuple[Matrix, Vector] | None = None  # an affine map not yet activated
    for index in chain:
        node = graph.node[index]
        where = f"{node.op_type} at node {_label(node, index)!r}"
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        if node.op_type in AFFINE_OPS:
            weights, biases = _affine(node, attrs, constants, where)
            if width is not None and len(weights[0]) != width:
                raise InputError(
                    f"{where}: weights take {len(weights[0])} inputs, got {width}"
                )
            if pending is not None:
                layers.append(Layer(*pending, IDENTITY))
            pending, width = (weights, biases), len(weights)
        elif node.op_type == "Add":
            if pending is None:
                raise InputError(f"{where}: a bias must directly follow Gemm or MatMul")
            name = node.input[1] if node.input[1] in constants else node.input[0]
            bias = _bias(constants[name], len(pending[1]), Fraction(1), where)
            pending = (pending[0], tuple(b + c for b, c in zip(pending[1], bias)))
        elif node.op_type == "Relu":
            if pending is None:
                raise InputError(
                    f"{where}: Relu must directly follow Gemm, MatMul or Add"
                )
            layers.append(Layer(*pending, RELU))
            pending = None
        else:
            _check_noop(node, attrs, constants, width, where)
    if pending is None:
        raise InputError(
            "the output is not computed by an affine operator (Gemm, MatMul, Add)"
        )
    if not layers:
        raise InputError(
            "a single affine map: tvmip networks need at least one hidden layer"
        )
    network = Network(len(layers[0].weights[0]), tuple(layers), Layer(*pending))
    return network, tuple(graph.node[index].op_type for index in chain)
