"""Training a small regression MLP whose weights end exactly ternary, scales folded.

The pipeline, for a method of :mod:`tvmip.train.methods`:

1. **train** the float network (Adam, full batch, ``epochs`` steps) on the
   standardized target ``(y - mean) / std``;
2. **discretize**: the method's real weights ``M_l`` and ternary pattern ``T_l``;
   the scale ``s_l = mean |M_l|`` over the support of ``T_l`` (1 if it is empty);
3. **calibrate**: with every ``T_l`` fixed, refit the output layer's scale and bias
   by least squares, then all log-scales and biases (``calibrate`` Adam steps,
   coarse gradients through step/sign).  Not part of
   either paper: rounding a WDR weight ``tanh(v) = 0.97`` to 1 in every layer
   compounds, and a few steps on ``L + 1`` numbers per network undo it;
4. **make exact** the trained network ``h``: weights ``S_l T_l`` and biases
   ``B_l`` with ``S_l``, ``B_l`` the calibrated values rounded to ``digits``
   significant decimal digits, the output layer's scale and bias first mapped back
   to the units of ``y`` (``std * s_out``, ``std * b_out + mean``);
5. **fold** the scales (:func:`tvmip.train.fold.fold_scales`): the written network
   ``g`` has the weights ``T_l`` and ``h = C g`` exactly, ``C > 0``.

Losses are mean squared errors on the training data in the units of ``y``:
*real* (the trained float network before discretization: WDR's ``s_l tanh(v)``,
RVSCGD's sparse ``u``), *rounded* (``s_l T_l`` before calibration) and
*discrete* (``h = C g``, evaluated from its exact parameters).  Everything is a
function of the data, the options and the seed: two runs write the same bytes.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import autograd.numpy as anp
import numpy as np
from autograd.misc import flatten

from ..checker.activation import ACTIVATIONS as EXACT_ACTIVATIONS
from ..checker.activation import Activation
from ..checker.rationals import format_rational
from ..files import atomic_write_text
from ..model.network import Layer, Network, decimal_text
from ..model.ternarize import Ternarization
from ..progress import Progress
from .autodiff import ACTIVATIONS, forward, minimize
from .data import Dataset
from .fold import fold_scales
from .methods import Method

MIN_SCALE = 1e-3
"""The least output scale calibration starts from (in units of the target's spread)."""


@dataclass(frozen=True, slots=True)
class TrainConfig:
    """What every method shares: the architecture and the optimization."""

    widths: tuple[int, ...] = (8, 8)
    activation: str = "relu"
    surrogate: str = "hardtanh"
    epochs: int = 1500
    lr: float = 0.01
    calibrate: int = 300
    seed: int = 0
    digits: int = 6

    def __post_init__(self) -> None:
        if not self.widths or min(self.widths) < 1:
            raise ValueError(f"hidden widths must be positive, got {list(self.widths)}")
        if (self.activation, self.surrogate) not in ACTIVATIONS:
            raise ValueError(f"unknown activation {self.activation!r} or surrogate "
                             f"{self.surrogate!r}")
        if self.epochs < 0 or self.calibrate < 0 or self.lr <= 0 or self.digits < 1:
            raise ValueError("epochs and calibrate must be >= 0, lr > 0, digits >= 1")


@dataclass(frozen=True)
class TrainResult:
    """A trained network: ``network`` is the ternary ``g`` that is written, and
    ``trained`` the exact trained network ``h = scale * g`` with weights ``s_l T_l``."""

    network: Network
    trained: Network
    folding: Ternarization = field(repr=False)
    method: Method
    config: TrainConfig
    data: str
    loss_real: float
    loss_rounded: float
    loss_discrete: float
    seconds: float = field(compare=False)

    @property
    def scale(self) -> Fraction:
        """``C > 0`` with ``trained = C * network``."""
        return self.folding.scale

    @property
    def zeros(self) -> tuple[tuple[str, int, int], ...]:
        """``(layer, zero weights, weights)`` per layer, output last."""
        layers = [(f"layers[{i}]", layer) for i, layer in enumerate(self.network.layers)]
        return tuple((name, sum(w == 0 for row in layer.weights for w in row),
                      sum(len(row) for row in layer.weights))
                     for name, layer in (*layers, ("output", self.network.output)))

    @property
    def sparsity(self) -> float:
        """The fraction of zero weights, over every layer, output included."""
        return sum(z for _, z, _ in self.zeros) / sum(n for _, _, n in self.zeros)

    def to_json(self) -> dict[str, Any]:
        """The training record written beside the network (no timings: reproducible)."""
        return {
            **self.method.describe(),
            "activation": self.config.activation,
            "surrogate": self.config.surrogate,
            "widths": list(self.config.widths),
            "epochs": self.config.epochs,
            "lr": self.config.lr,
            "calibrate": self.config.calibrate,
            "seed": self.config.seed,
            "data": self.data,
            "scale": format_rational(self.scale),
            "sparsity": round(self.sparsity, 6),
            "zeros": {name: [z, n] for name, z, n in self.zeros},
            "mse": {"real": _shown(self.loss_real), "rounded": _shown(self.loss_rounded),
                    "discrete": _shown(self.loss_discrete)},
            "note": "f = scale * (this network), with the trained network's exact "
                    "parameters; same activation and linear regions",
        }


def _shown(value: float) -> float:
    return float(f"{value:.6g}")


def _short(value: float, digits: int) -> Fraction:
    """``value`` rounded to ``digits`` significant decimal digits, exactly."""
    return Fraction(f"{value:.{digits - 1}e}")


def predict(network: Network, x: np.ndarray) -> np.ndarray:
    """The first output of an exact network on the rows of ``x``, in floats."""
    z = x
    for layer in network.layers:
        z = _activate(layer.activation, z @ _floats(layer.weights).T + _floats(layer.biases))
    return (z @ _floats(network.output.weights).T + _floats(network.output.biases))[:, 0]


def _floats(values: Any) -> np.ndarray:
    return np.array(values, dtype=float)


def _activate(activation: Activation, z: np.ndarray) -> np.ndarray:
    """Any exact piecewise-linear activation, vectorized: the piece holding each
    value, then the breakpoints' own values."""
    piece = np.searchsorted(_floats(activation.breakpoints), z, side="right")
    slopes, offsets = (_floats([p[k] for p in activation.pieces]) for k in (0, 1))
    out = slopes[piece] * z + offsets[piece]
    for t, value in zip(activation.breakpoints, activation.values):
        out = np.where(z == float(t), float(value), out)
    return out


def _mse(prediction: Any, target: np.ndarray) -> Any:
    return ((prediction - target) ** 2).mean()


def _support_scale(real: np.ndarray, pattern: np.ndarray) -> float:
    """The least-squares ``s`` of ``real ~ s * pattern``: mean ``|real|`` on the support."""
    kept = pattern != 0
    return float(np.abs(real[kept]).mean()) if kept.any() else 1.0


def train(data: Dataset, method: Method, config: TrainConfig = TrainConfig(),
          progress: bool = False) -> TrainResult:
    """Train, discretize, calibrate, make exact and fold (see the module docstring)."""
    start = time.perf_counter()
    x, y, act = data.x, data.y, config.activation
    mean, std = float(y.mean()), float(y.std()) or 1.0
    target = (y - mean) / std
    bar = Progress(progress)
    weight_params, biases = _fit(method, config, x, target, bar)
    real, patterns = method.discretize(weight_params)
    real = [np.asarray(m) for m in real]
    scales = [_support_scale(m, t) for m, t in zip(real, patterns)]
    loss_real = _mse(forward(real, biases, act, x), target) * std**2
    loss_rounded = _mse(forward(_scaled(scales, patterns), biases, act, x), target) * std**2
    scales, biases = _calibrate(patterns, scales, biases, config, x, target, bar)
    bar.close()
    scales[-1] *= std
    biases[-1] = biases[-1] * std + mean
    trained = _exact(data.input_dim, patterns, scales, biases, EXACT_ACTIVATIONS[act],
                     config.digits)
    network, folding = fold_scales(trained)
    loss_discrete = float(_mse(predict(trained, x), y))
    return TrainResult(network, trained, folding, method, config, data.name,
                       float(loss_real), float(loss_rounded), loss_discrete,
                       time.perf_counter() - start)


def _scaled(scales: list[Any], patterns: list[np.ndarray]) -> list[Any]:
    return [s * t for s, t in zip(scales, patterns)]


def _fit(method: Method, config: TrainConfig, x: np.ndarray, target: np.ndarray,
         bar: Progress) -> tuple[list[Any], list[np.ndarray]]:
    """Step 1: the method's weight parameters and the biases after training."""
    rng = np.random.default_rng(config.seed)
    sizes = (x.shape[1], *config.widths, 1)
    shapes = list(zip(sizes[1:], sizes[:-1]))
    flat, unflatten = flatten([method.init(shapes, rng), [np.zeros(n) for n, _ in shapes]])

    def objective(vector: np.ndarray, extra: Any) -> Any:
        weight_params, biases = unflatten(vector)
        prediction = forward(method.weights(weight_params), biases, config.activation, x,
                             config.surrogate)
        return _mse(prediction, target) + method.penalty(weight_params, extra)

    def prepare(vector: np.ndarray, t: int) -> Any:
        return method.prepare(unflatten(vector)[0], t / max(config.epochs, 1))

    bar.phase(f"training ({method.name})", config.epochs, " epochs")
    weight_params, biases = unflatten(minimize(objective, flat, config.epochs, config.lr,
                                               prepare, bar))
    return weight_params, [np.asarray(b) for b in biases]


def _calibrate(patterns: list[np.ndarray], scales: list[float], biases: list[np.ndarray],
               config: TrainConfig, x: np.ndarray, target: np.ndarray,
               bar: Progress) -> tuple[list[float], list[np.ndarray]]:
    """Step 3: the log-scales and biases refit with the patterns fixed, from the
    least-squares output layer."""
    scales = list(scales)
    scales[-1], biases[-1] = _fit_output(patterns, scales, biases, config.activation, x,
                                         target)
    flat, unflatten = flatten([[np.array(np.log(s)) for s in scales], biases])

    def loss(vector: np.ndarray, extra: Any) -> Any:
        logs, biases = unflatten(vector)
        weights = _scaled([anp.exp(r) for r in logs], patterns)
        return _mse(forward(weights, biases, config.activation, x, config.surrogate), target)

    bar.phase("calibrating scales and biases", config.calibrate, " steps")
    logs, biases = unflatten(minimize(loss, flat, config.calibrate, config.lr, progress=bar))
    return [float(np.exp(r)) for r in logs], [np.asarray(b, dtype=float) for b in biases]


def _fit_output(patterns: list[np.ndarray], scales: list[float],
                biases: list[Any], act: str, x: np.ndarray,
                target: np.ndarray) -> tuple[float, np.ndarray]:
    """The output scale ``a >= MIN_SCALE`` and bias that fit ``target`` best by
    least squares, the hidden layers rounded."""
    weights = [*_scaled(scales[:-1], patterns[:-1]), patterns[-1]]
    unit = forward(weights, [*biases[:-1], np.zeros(1)], act, x)
    spread = float(unit.var())
    slope = float(((unit - unit.mean()) * (target - target.mean())).mean()) / spread \
        if spread > 0 else 0.0
    scale = max(slope, MIN_SCALE)
    return scale, np.array([float((target - scale * unit).mean())])


def _exact(n0: int, patterns: list[np.ndarray], scales: list[float], biases: list[np.ndarray],
           activation: Activation, digits: int) -> Network:
    """The network with weights ``S_l T_l`` and biases ``B_l``, rounded exactly."""
    layers = []
    for pattern, scale, bias in zip(patterns, scales, biases):
        size = _short(scale, digits) if pattern.any() else Fraction(1)
        layers.append(Layer(tuple(tuple(size * int(t) for t in row) for row in pattern),
                            tuple(_short(b, digits) for b in bias), activation))
    *hidden, output = layers
    return Network(n0, tuple(hidden), Layer(output.weights, output.biases))


def write_network(result: TrainResult, path: str | Path) -> None:
    """Write ``g`` (canonical ``tvmip-network/1``) with the training record under
    the extra key ``training``, atomically."""
    value = {**result.network.to_json(),
             "name": f"{result.method.name} {result.config.activation} "
                     f"{list(result.config.widths)} on {result.data}",
             "training": result.to_json()}
    atomic_write_text(Path(path), json.dumps(value, indent=1) + "\n")


def summary(result: TrainResult) -> list[str]:
    """Human lines: what was trained, its sparsity, losses and scale."""
    config = result.config
    per_layer = ", ".join(f"{name} {z}/{n}" for name, z, n in result.zeros)
    total = sum(n for _, _, n in result.zeros)
    settings = ", ".join(f"{k} {v}" for k, v in result.method.describe().items()
                         if k != "method")
    return [
        (f"trained {result.method.name} ({settings}) on {result.data}: widths "
         f"{list(config.widths)}, {config.activation}, {config.epochs} epochs + "
         f"{config.calibrate} calibration steps, seed {config.seed} "
         f"({result.seconds:.1f} s)"),
        f"sparsity: {result.sparsity:.1%} of {total} weights are 0 ({per_layer})",
        (f"loss (MSE): {result.loss_real:.6g} before discretization, "
         f"{result.loss_rounded:.6g} rounded, {result.loss_discrete:.6g} after "
         "calibration (the exact network written, times C)"),
        (f"scale: f = C * g with C = {decimal_text(result.scale)} (exactly "
         f"{format_rational(result.scale)}); g has the weights in {{-1, 0, 1}}, the "
         "biases divided by the cumulative scales"),
    ]
