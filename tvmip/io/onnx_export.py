"""Writing networks as ONNX models, exactly (or with reported rounding).

One ``Gemm`` (``transB = 1``, DOUBLE initializers) per layer, followed by
``Relu`` or ``Identity`` for a hidden layer; opset 17; input ``x`` of shape
``[batch, n0]``, output ``y``.  A rational is written only when it is exactly a
float64 (integers up to 2**53, dyadic rationals of at most 53 significant bits);
anything else (``1/3``) is refused unless ``approximate=True``, which rounds it
to the nearest float64 and reports how many values were rounded and the largest
error.  The file is written atomically.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from .. import __version__
from ..checker.model import Vector
from ..checker.rationals import format_rational
from ..errors import InputError
from ..files import atomic_write_bytes
from ..model.network import IDENTITY, RELU, Network, decimal_text

try:
    import onnx
    from onnx import helper, numpy_helper
except ImportError as exc:  # pragma: no cover - depends on the installation
    raise InputError("ONNX support needs the onnx package: pip install 'tvmip[onnx]'") from exc

OPSET = 17
IR_VERSION = 8  # the IR version released with opset 17: readable by older runtimes
OPERATORS = {RELU: "Relu", IDENTITY: "Identity"}
"""The ONNX operator that computes each activation exactly."""


@dataclass(frozen=True, slots=True)
class ExportResult:
    """Where a network was written and what rounding (``approximate``) cost."""

    path: str
    values: int
    rounded: int
    max_error: Fraction

    @property
    def report(self) -> str:
        head = f"wrote {self.path} (ONNX opset {OPSET}, Gemm + Relu/Identity, float64)"
        if not self.rounded:
            return f"{head}: all {self.values} weights and biases exact"
        return (
            f"{head}: {self.rounded} of {self.values} values rounded to the nearest "
            f"float64, largest error {decimal_text(self.max_error)} "
            f"(exactly {format_rational(self.max_error)})"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "values": self.values,
            "rounded": self.rounded,
            "max_error": format_rational(self.max_error),
        }


def _float64(
    values: Vector, where: str, approximate: bool
) -> tuple[list[float], list[Fraction]]:
    """Each value as the nearest float64 and its rounding error; inexact values are
    refused unless ``approximate``."""
    floats: list[float] = []
    errors: list[Fraction] = []
    for i, value in enumerate(values):
        try:
            nearest = float(value)  # correctly rounded: integer true division
        except OverflowError:
            raise InputError(f"{where}[{i}] is too large for a float64") from None
        error = abs(Fraction(nearest) - value)
        if error and not approximate:
            raise InputError(
                f"cannot export exactly: {where}[{i}] = {format_rational(value)} is "
                "not a float64 number (approximate=True, or --approximate, rounds to "
                "the nearest)"
            )
        floats.append(nearest)
        errors.append(error)
    return floats, errors


def export_onnx(
    network: Network, path: str | Path, *, approximate: bool = False
) -> ExportResult:
    """Write ``network`` as ONNX (see the module docstring), atomically.

    Raises :class:`InputError` naming the first value that is not exactly a
    float64 unless ``approximate``, or when the file cannot be written.
    """
    path = Path(path)
    named = [
        (f"layers[{i}]", f"layer{i}", layer) for i, layer in enumerate(network.layers)
    ]
    named.append(("output", "output", network.output))
    nodes: list[onnx.NodeProto] = []
    initializers: list[onnx.TensorProto] = []
    errors: list[Fraction] = []
    current = "x"
    for where, tag, layer in named:
        rows = [
            _float64(row, f"{where}.weights[{r}]", approximate)
            for r, row in enumerate(layer.weights)
        ]
        biases, bias_errors = _float64(layer.biases, f"{where}.biases", approximate)
        errors += [e for _, row_errors in rows for e in row_errors] + bias_errors
        initializers.append(
            numpy_helper.from_array(
                np.array([r for r, _ in rows], dtype=np.float64), f"{tag}_W"
            )
        )
        initializers.append(
            numpy_helper.from_array(np.array(biases, dtype=np.float64), f"{tag}_b")
        )
        is_output = tag == "output"
        pre = "y" if is_output else f"{tag}_pre"
        nodes.append(
            helper.make_node(
                "Gemm",
                [current, f"{tag}_W", f"{tag}_b"],
                [pre],
                name=f"{tag}_gemm",
                transB=1,
            )
        )
        if not is_output:
            op = OPERATORS.get(layer.activation)
            if op is None:
                raise InputError(f"cannot export {where}: activation {layer.activation.spec!r} "
                                 "has no ONNX operator here")
            current = f"{tag}_out"
            nodes.append(
                helper.make_node(op, [pre], [current], name=f"{tag}_{op.lower()}")
            )
    graph = helper.make_graph(
        nodes,
        "tvmip_network",
        [
            helper.make_tensor_value_info(
                "x", onnx.TensorProto.DOUBLE, ["batch", network.input_dim]
            )
        ],
        [
            helper.make_tensor_value_info(
                "y", onnx.TensorProto.DOUBLE, ["batch", network.output.width]
            )
        ],
        initializers,
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        ir_version=IR_VERSION,
        producer_name="tvmip",
        producer_version=__version__,
    )
    rounded = sum(1 for e in errors if e)
    helper.set_model_props(
        model,
        {
            "tvmip.network_sha256": network.sha256,
            "tvmip.exact": str(not rounded).lower(),
        },
    )
    atomic_write_bytes(path, model.SerializeToString())
    return ExportResult(
        str(path), len(errors), rounded, max(errors, default=Fraction(0))
    )
