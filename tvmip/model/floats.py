"""A network evaluated in a binary float format, and the activation pattern it gives.

The audit asks what a float runtime sees at a point.  Here numpy computes each
layer ``W z + b`` in the format (``bfloat16`` through ml_dtypes), then applies the
activation piece by piece: a neuron's state is the cell of its float
pre-activation, compared with the exact breakpoints (a float is an exact
rational, so the comparison is exact), and its output the piece's slope and
offset rounded to the format, times and plus the float value.  The patterns are
then compared with the exact ones by :mod:`tvmip.float_audit`.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

import numpy as np

from ..checker.activation import Activation
from ..errors import InputError
from .network import Layer, Network


def numpy_dtype(name: str) -> np.dtype:
    """The numpy dtype of a format name (bfloat16 needs the ml_dtypes package)."""
    if name == "bfloat16":
        try:
            import ml_dtypes
        except ImportError:  # pragma: no cover - a declared dependency
            raise InputError("bfloat16 needs the ml_dtypes package") from None
        return np.dtype(ml_dtypes.bfloat16)
    return np.dtype(name)


def _array(values: Sequence[Fraction] | Sequence[Sequence[Fraction]], dtype: np.dtype,
           ) -> np.ndarray:
    """Exact rationals to the format, through float64 (the values of a rounded network
    are numbers of the format, so this is exact for them)."""
    return np.array(np.array(values, dtype=float), dtype=dtype)


def cells(act: Activation, pre: np.ndarray) -> np.ndarray:
    """The cell of each float value (compared exactly with the breakpoints); a NaN
    gets the extra cell ``act.cells``, shown as ``?``."""
    values = pre.astype(float)
    if act.breakpoints == (0,):
        out = np.sign(np.nan_to_num(values)).astype(np.int64) + 1  # 0 '-', 1 '0', 2 '+'
    else:
        out = np.array([act.cell_of(Fraction(v)) if np.isfinite(v) else
                        (0 if v < 0 else act.cells - 1) for v in values.ravel()],
                       dtype=np.int64).reshape(pre.shape)
    out[np.isnan(values)] = act.cells
    return out


def _activate(act: Activation, pre: np.ndarray, cell: np.ndarray,
              dtype: np.dtype) -> np.ndarray:
    affine = [act.affine(c) for c in range(act.cells)]
    slopes = np.append(_array([a for a, _ in affine], dtype), np.nan).astype(dtype)
    offsets = np.append(_array([b for _, b in affine], dtype), np.nan).astype(dtype)
    with np.errstate(all="ignore"):
        return (slopes[cell] * pre + offsets[cell]).astype(dtype)


def float_pre_activations(network: Network, points: Sequence[Sequence[Fraction]],
                          dtype: np.dtype) -> list[np.ndarray]:
    """Each hidden layer's pre-activations at each point (rows), computed in ``dtype``."""
    z = _array(points, dtype)
    out = []
    for layer in network.layers:
        pre = _affine(layer, z, dtype)
        out.append(pre)
        act = layer.activation
        z = _activate(act, pre, cells(act, pre), dtype) if act.stateful else \
            _activate(act, pre, np.zeros(pre.shape, dtype=np.int64), dtype)
    return out


def _affine(layer: Layer, z: np.ndarray, dtype: np.dtype) -> np.ndarray:
    with np.errstate(all="ignore"):  # an overflow to inf is an observation too
        return (z @ _array(layer.weights, dtype).T + _array(layer.biases, dtype)).astype(dtype)


def patterns(network: Network, pre_activations: Sequence[np.ndarray]) -> list[str]:
    """The pattern of each point (row) given every hidden layer's pre-activations."""
    columns = []
    for layer, pre in zip(network.layers, pre_activations):
        act = layer.activation
        if act.stateful:
            symbols = np.array([*act.symbols, "?"])
            columns.append(symbols[cells(act, pre)])
    if not columns:
        return [""] * (len(pre_activations[0]) if pre_activations else 0)
    table = np.concatenate(columns, axis=1)
    return ["".join(row) for row in table]
