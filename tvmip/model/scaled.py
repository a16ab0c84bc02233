"""Exact affine maps of the neurons along an activation pattern, in integers.

On the region of a pattern every layer input is an affine function of x.  We keep
it as an integer matrix ``M = [G | h]`` (one row per neuron, ``n0 + 1`` columns)
over a positive common denominator ``D``: ``z(x) = (G x + h) / D``.  A layer whose
weights and biases are ``W / L`` and ``b / L`` (integers over their common
denominator ``L``) then has pre-activations ``(W M + [0 | b D]) / (D L)``.

Arrays are numpy ``int64`` while a bound on their entries proves that no product
can overflow, and Python integers (``object`` arrays) otherwise: nothing is ever
rounded, trained networks with float weights simply take the big-integer path.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from ..checker.limits import MAX_EVIDENCE_BITS
from ..errors import ResourceLimit
from .network import RELU, Layer, Network

INT64_SAFE = 2**62
"""Integers below this in absolute value multiply and add in int64 without overflow
where the code proves a bound; beyond it arrays hold Python integers."""


@dataclass(frozen=True, slots=True)
class ScaledLayer:
    """A layer as integers: true weights are ``weights / scale``, biases ``biases / scale``."""

    weights: np.ndarray
    biases: np.ndarray
    scale: int
    relu: bool
    first: int
    weight_bound: int
    bias_bound: int

    @property
    def width(self) -> int:
        return len(self.biases)


def _common_denominator(values: list[Fraction]) -> int:
    return math.lcm(*(v.denominator for v in values)) if values else 1


def _int_array(values: list[int], shape: tuple[int, ...]) -> np.ndarray:
    big = any(abs(v) >= INT64_SAFE for v in values)
    return np.array(values, dtype=object if big else np.int64).reshape(shape)


def scale_layer(layer: Layer, first: int = 0) -> ScaledLayer:
    """Integer form of one layer; ``first`` is the pattern position of its first neuron."""
    entries = [w for row in layer.weights for w in row] + list(layer.biases)
    scale = _common_denominator(entries)
    fan_in = len(layer.weights[0])
    weights = [int(w * scale) for row in layer.weights for w in row]
    biases = [int(b * scale) for b in layer.biases]
    return ScaledLayer(
        weights=_int_array(weights, (layer.width, fan_in)),
        biases=_int_array(biases, (layer.width,)),
        scale=scale,
        relu=layer.activation == RELU,
        first=first,
        weight_bound=max(sum(abs(w) for w in weights[i * fan_in:(i + 1) * fan_in])
                         for i in range(layer.width)),
        bias_bound=max(abs(b) for b in biases),
    )


def scale_network(network: Network) -> tuple[ScaledLayer, ...]:
    """Integer form of every hidden layer, with pattern offsets for the ReLU layers."""
    layers = []
    first = 0
    for layer in network.layers:
        layers.append(scale_layer(layer, first))
        if layer.activation == RELU:
            first += layer.width
    return tuple(layers)


def input_map(dim: int) -> tuple[np.ndarray, int]:
    """The identity map x -> x as ``([I | 0], 1)``."""
    return np.hstack([np.eye(dim, dtype=np.int64), np.zeros((dim, 1), dtype=np.int64)]), 1


def max_abs(array: np.ndarray) -> int:
    """The largest absolute entry (0 for an empty array), as a Python int."""
    return int(np.max(np.abs(array))) if array.size else 0


def pre_activations(layer: ScaledLayer, m: np.ndarray, d: int) -> tuple[np.ndarray, int]:
    """Pre-activations of ``layer`` given its input map ``(m, d)``: ``(P, S)`` with
    ``pre_j(x) = (P[j, :n0] . x + P[j, n0]) / S`` exactly."""
    bound = layer.weight_bound * max_abs(m) + layer.bias_bound * d
    weights = layer.weights
    if bound >= INT64_SAFE or m.dtype == object or weights.dtype == object:
        weights, m = weights.astype(object), m.astype(object)
        bias = layer.biases.astype(object) * d
    else:
        bias = layer.biases * d
    if bound.bit_length() > MAX_EVIDENCE_BITS:
        raise ResourceLimit(f"rational blow-up: pre-activation maps need integers beyond "
                            f"{MAX_EVIDENCE_BITS} bits")
    p = weights @ m
    p[:, -1] += bias
    if p.dtype == object and max_abs(p) < INT64_SAFE:
        p = p.astype(np.int64)
    return p, d * layer.scale


def layer_output(p: np.ndarray, s: int, active: np.ndarray | None) -> tuple[np.ndarray, int]:
    """The layer's output map: rows of inactive neurons zeroed (``active`` None for
    identity layers), then divided by the common gcd to keep the integers small."""
    m = p if active is None else p * active[:, None]
    if s > 1:
        g = math.gcd(s, *(int(v) for v in np.unique(m)))
        if g > 1:
            return m // g, s // g
    return m, s
