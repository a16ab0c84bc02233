"""Folding positive per-layer scales into the biases exactly, through relu and step/sign.

A trained network ``h`` has in every layer ``l`` (output included) weights
``s_l T_l`` with ``T_l`` ternary and ``s_l > 0``.  A positive factor ``a`` passes
through two kinds of activation:

* positively homogeneous ones (relu, identity, leaky relu): ``sigma(a z) = a sigma(z)``,
  so the factor reaches the layer's output;
* scale-invariant ones (step, sign): ``sigma(a z) = sigma(z)``, i.e.
  ``step(a z + b) = step(z + b / a)``, so the factor stops there.

With ``c_{l-1}`` the factor carried by the input of layer ``l`` (``c_0 = 1``: the
input ``x`` itself), ``z_{l-1} = c_{l-1} u_{l-1}`` and ``p_l = c_{l-1} s_l``::

    s_l T_l z_{l-1} + b_l = p_l (T_l u_{l-1} + b_l / p_l),

and ``c_l = p_l`` for a homogeneous layer, ``c_l = 1`` for a scale-invariant one.
The folded network ``g`` has the weights ``T_l`` and the biases ``b_l / p_l``
(output: ``b_out / C`` with ``C = p_out``), and ``h = C g``.  Every pre-activation
of ``g`` is ``h``'s divided by ``p_l > 0``: the same patterns, activation regions
and linear regions.

This is the algebra of :mod:`tvmip.model.ternarize`, which divides the biases by
the running product of the layer scales, ``p_l`` for homogeneous layers, and is
reused as it is.  Each scale-invariant layer is first rescaled by ``1 / p_l``
(weights and bias; ``h``'s function is unchanged because ``sigma(a z) = sigma(z)``),
so that ternarization sees the scale ``1 / c_{l-1}`` there, its running product
drops back to 1, and the bias it writes is ``b_l / p_l``.  Ternarization computes
on weights and biases only and refuses activations that do not carry a scale
across, so the rescaled layers go through it as identity layers (the scale they
carry on is 1, which any activation carries) and get their activation back.
"""

from __future__ import annotations

from fractions import Fraction

from ..checker.activation import IDENTITY, Activation
from ..model.network import Layer, Network
from ..model.ternarize import Ternarization, ternarize_network


def scale_invariant(activation: Activation) -> bool:
    """``sigma(a z) = sigma(z)`` for ``a > 0``: breakpoints 0 and constant pieces."""
    return (all(t == 0 for t in activation.breakpoints)
            and all(slope == 0 for slope, _ in activation.pieces))


def layer_scale(layer: Layer, name: str) -> Fraction:
    """The ``s > 0`` with every weight in ``{-s, 0, s}`` (1 for an all-zero layer)."""
    sizes = {abs(w) for row in layer.weights for w in row} - {Fraction(0)}
    if len(sizes) > 1:
        raise ValueError(f"{name}: the weights are not s * (ternary) for one scale s")
    return sizes.pop() if sizes else Fraction(1)


def fold_scales(network: Network) -> tuple[Network, Ternarization]:
    """The ternary network ``g`` with ``h = C g`` (``C`` is the record's ``scale``)
    for a network ``h`` whose layers have weights ``s_l T_l`` (module docstring)."""
    carried = Fraction(1)
    layers = []
    for i, layer in enumerate(network.layers):
        factor = carried * layer_scale(layer, f"layers[{i}]")
        if layer.activation.positively_homogeneous:
            carried = factor
        elif scale_invariant(layer.activation):
            layer = Layer(tuple(tuple(w / factor for w in row) for row in layer.weights),
                          tuple(b / factor for b in layer.biases), IDENTITY)
            carried = Fraction(1)
        else:
            raise ValueError(f"layers[{i}]: a positive scale does not pass through the "
                             f"activation {layer.activation.text}")
        layers.append(layer)
    layer_scale(network.output, "output")
    folded, record = ternarize_network(Network(network.input_dim, tuple(layers),
                                               network.output))
    restored = tuple(Layer(new.weights, new.biases, old.activation)
                     for new, old in zip(folded.layers, network.layers))
    return Network(folded.input_dim, restored, folded.output), record
