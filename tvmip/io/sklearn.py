"""scikit-learn multi-layer perceptrons as tvmip networks, exactly.

A fitted ``MLPRegressor`` or ``MLPClassifier`` keeps its parameters as float64
arrays: ``coefs_[l]`` of shape ``(n_in, n_out)`` and ``intercepts_[l]``.  Each is
read as its exact rational value (a float64 is a dyadic rational), so the network
is the model's function in exact arithmetic; scikit-learn itself computes it in
float64.  Hidden layers are ``relu`` or ``identity`` (scikit-learn's
``activation``); ``tanh`` and ``logistic`` are not piecewise linear and are
refused.  A regressor's output layer is affine already.  For a classifier the
network is the *logit network*: the last affine layer, before the output
activation (softmax, or the logistic of a binary or multilabel classifier) and
the arg-max, which are not piecewise linear; a binary classifier has one logit.

scikit-learn is imported only when this runs; the model is an object in memory
(tvmip loads no pickle).
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from ..checker.activation import Activation
from ..errors import InputError
from ..model.network import IDENTITY, RELU, Layer, Network

HIDDEN = {"relu": RELU, "identity": IDENTITY}


def _exact(array: Any, where: str) -> list[Fraction]:
    try:
        values = [Fraction(float(v)) for v in array.ravel().tolist()]
    except (OverflowError, ValueError):
        raise InputError(f"{where}: non-finite value") from None
    return values


def _layer(coefs: Any, intercepts: Any, activation: Activation, where: str) -> Layer:
    """One layer with weight rows = neurons (``coefs_`` has one column per neuron)."""
    if coefs.ndim != 2 or intercepts.shape != (coefs.shape[1],):
        raise InputError(f"{where}: coefs_ of shape {coefs.shape} and intercepts_ of "
                         f"shape {intercepts.shape} do not form a layer")
    weights = _exact(coefs.T, f"{where}.coefs_")
    n = coefs.shape[0]
    rows = tuple(tuple(weights[i:i + n]) for i in range(0, len(weights), n))
    return Layer(rows, tuple(_exact(intercepts, f"{where}.intercepts_")), activation)


def from_sklearn(model: Any) -> Network:
    """The exact tvmip network of a fitted ``MLPRegressor`` or ``MLPClassifier``
    (the logit network for a classifier; see the module docstring).

    Raises :class:`InputError` when scikit-learn is missing, the model is not a
    fitted MLP, or its hidden activation is not piecewise linear.
    """
    try:
        from sklearn.neural_network import MLPClassifier, MLPRegressor
    except ImportError:
        raise InputError("from_sklearn needs scikit-learn: pip install scikit-learn") \
            from None
    if not isinstance(model, (MLPRegressor, MLPClassifier)):
        raise InputError(f"from_sklearn expects an MLPRegressor or MLPClassifier, got "
                         f"{type(model).__name__}")
    name = type(model).__name__
    if not hasattr(model, "coefs_") or not hasattr(model, "intercepts_"):
        raise InputError(f"this {name} is not fitted: call fit() first")
    if model.activation not in HIDDEN:
        raise InputError(f"{name}(activation={model.activation!r}) is not piecewise "
                         "linear: tvmip reads 'relu' and 'identity' hidden layers")
    coefs, intercepts = list(model.coefs_), list(model.intercepts_)
    if len(coefs) < 2 or len(coefs) != len(intercepts):
        raise InputError(f"this {name} has no hidden layer: tvmip networks need one")
    layers = [_layer(c, b, HIDDEN[model.activation], f"layers[{i}]")
              for i, (c, b) in enumerate(zip(coefs[:-1], intercepts[:-1]))]
    output = _layer(coefs[-1], intercepts[-1], IDENTITY, "output")
    for i, (before, after) in enumerate(zip(layers, [*layers[1:], output])):
        if len(after.weights[0]) != before.width:
            raise InputError(f"layers[{i + 1}] takes {len(after.weights[0])} inputs, "
                             f"layers[{i}] has {before.width} neurons")
    return Network(len(layers[0].weights[0]), tuple(layers), Layer(output.weights,
                                                                   output.biases))
