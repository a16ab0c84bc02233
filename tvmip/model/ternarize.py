"""Ternarizing a network exactly, with the scales folded so the regions are unchanged.

The rule of ternary weight networks (Li & Liu 2016), per layer, output layer
included: with ``delta = 0.7 * mean |w|`` over the layer's weights, ``w`` becomes
``t = sign(w)`` when ``|w| > delta`` and ``0`` otherwise, with the scale
``alpha = mean |w|`` over the kept weights (``1`` for an all-zero layer, whose
scale does not matter).  The ternary-weight network ``h`` has the weights
``alpha_l T_l`` and the original biases.  ReLU and identity are positively
homogeneous, so with the cumulative scales ``c_0 = 1``, ``c_l = c_{l-1} alpha_l``
and ``z_l = c_l u_l``::

    sigma(alpha_l T_l z_{l-1} + b_l) = c_l sigma(T_l u_{l-1} + b_l / c_l)

and ``h(x) = C g(x)`` where ``g`` has the ternary weights ``T_l``, the biases
``b_l / c_l`` (output: ``b_out / C``) and ``C = c_out > 0`` is the product of all
scales.  The network written is ``g``: ternary, exact, and every pre-activation
of ``g`` is the one of ``h`` divided by a positive number, so ``g`` and ``h``
have the same activation patterns, activation regions and (a positive factor
keeps affine maps equal or distinct) linear regions.  No weight changes sign:
each becomes ``sign(w)`` or ``0``.  The report gives ``C`` and, per layer,
``delta``, ``alpha`` and how many weights were kept, zeroed and changed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from ..checker.model import Matrix
from ..checker.rationals import format_rational
from ..errors import InputError
from .network import Layer, Network, decimal_text

TWN_THRESHOLD = Fraction(7, 10)
TWN_RULE = (
    "per layer delta = 0.7 * mean|w|, w -> sign(w) if |w| > delta else 0, "
    "alpha = mean |w| over the kept weights"
)
TWN_SOURCE = "ternary weight networks (Li & Liu 2016)"


@dataclass(frozen=True, slots=True)
class LayerTernarization:
    """What the ternary-weight rule did to one layer ("layers[i]" or "output")."""

    layer: str
    weights: int
    kept: int
    zeroed: int
    changed: int
    delta: Fraction
    alpha: Fraction

    @property
    def line(self) -> str:
        return (
            f"{self.layer}: {self.weights} weights, {self.kept} kept as sign(w), "
            f"{self.zeroed} zeroed, {self.changed} changed; "
            f"delta = {decimal_text(self.delta)}, alpha = {decimal_text(self.alpha)}"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "layer": self.layer,
            "weights": self.weights,
            "kept": self.kept,
            "zeroed": self.zeroed,
            "changed": self.changed,
            "delta": format_rational(self.delta),
            "alpha": format_rational(self.alpha),
        }


@dataclass(frozen=True, slots=True)
class Ternarization:
    """The per-layer record of :func:`ternarize_network`, hidden layers then output."""

    layers: tuple[LayerTernarization, ...]

    @property
    def scale(self) -> Fraction:
        """``C``: the ternary-weight network equals ``C`` times the network written."""
        return math.prod((layer.alpha for layer in self.layers), start=Fraction(1))

    @property
    def report(self) -> str:
        changed = sum(layer.changed for layer in self.layers)
        total = sum(layer.weights for layer in self.layers)
        return "\n".join(
            [
                f"ternarized as in {TWN_SOURCE}",
                f"  rule: {TWN_RULE}",
                (
                    f"{changed} of {total} weights changed; no weight changes sign "
                    "(each becomes sign(w) or 0)"
                ),
                *(f"  {layer.line}" for layer in self.layers),
                (
                    "scales pushed to the output (ReLU is positively homogeneous): "
                    "biases divided by the cumulative scale alpha_1...alpha_l, "
                    "output scale dropped"
                ),
                (
                    "the ternary-weight network equals C * (this network), "
                    f"C = {decimal_text(self.scale)} > 0: same activation and linear regions"
                ),
            ]
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "rule": f"{TWN_SOURCE}: {TWN_RULE}",
            "scale": format_rational(self.scale),
            "layers": [layer.to_json() for layer in self.layers],
        }


def _sign(value: Fraction) -> Fraction:
    return Fraction((value > 0) - (value < 0))


def _ternarize_layer(layer: Layer, name: str) -> tuple[Matrix, LayerTernarization]:
    weights = [w for row in layer.weights for w in row]
    delta = TWN_THRESHOLD * sum(abs(w) for w in weights) / len(weights)
    kept = [abs(w) for w in weights if abs(w) > delta]
    ternary = tuple(
        tuple(_sign(w) if abs(w) > delta else Fraction(0) for w in row)
        for row in layer.weights
    )
    changed = sum(
        t != w for row, trow in zip(layer.weights, ternary) for w, t in zip(row, trow)
    )
    record = LayerTernarization(
        layer=name,
        weights=len(weights),
        kept=len(kept),
        zeroed=sum(1 for w in weights if w != 0 and abs(w) <= delta),
        changed=changed,
        delta=delta,
        alpha=sum(kept, Fraction(0)) / len(kept) if kept else Fraction(1),
    )
    return ternary, record


def ternarize_network(network: Network) -> tuple[Network, Ternarization]:
    """The ternary network ``g`` with ``h = C g`` for the ternary-weight network ``h``.

    See the module docstring for the rule and the algebra; the result has the
    activation and linear regions of ``h``.
    """
    named = [(f"layers[{i}]", layer) for i, layer in enumerate(network.layers)]
    for name, layer in named:
        if not layer.activation.positively_homogeneous:
            raise InputError(
                "pushes the weight scales through the layers, which needs positively "
                "homogeneous activations (relu, leaky_relu, identity); "
                f"{name} has {layer.activation.text}")
    named.append(("output", network.output))
    layers: list[Layer] = []
    records: list[LayerTernarization] = []
    scale = Fraction(1)
    for name, layer in named:
        ternary, record = _ternarize_layer(layer, name)
        scale *= record.alpha
        layers.append(
            Layer(ternary, tuple(b / scale for b in layer.biases), layer.activation)
        )
        records.append(record)
    result = Network(network.input_dim, tuple(layers[:-1]), layers[-1])
    return result, Ternarization(tuple(records))
