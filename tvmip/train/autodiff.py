"""Float machinery for training, on autograd: forward passes, coarse gradients, Adam.

The hidden activations are tvmip's (:mod:`tvmip.checker.activation`): ``relu``,
``step(z) = 1 if z >= 0 else 0`` and ``sign(z) = 1 if z >= 0 else -1``, so the
trained float network and the exact one written agree everywhere, including on
the breakpoints.  ``step`` and ``sign`` have derivative 0 wherever it exists, so
their backward pass uses a *coarse gradient* (a straight-through estimator): the
derivative of a surrogate ``mu`` in place of the true one (:data:`SURROGATES`),
scaled to the jump of the unit (1 for step, 2 for sign):

* ``relu``: ``mu'(z) = 1_{z > 0}``, the coarse gradient of Yin et al. (ICLR 2019)
  that Dinh & Xin analyse for RVSCGD with the 0/1 step;
* ``hardtanh`` (the default): ``mu'(z) = 1_{|z| <= 1}`` halved, i.e. the derivative
  of ``(1 + hardtanh) / 2`` for step and of hardtanh for sign, the estimator of
  binarized neural networks (Hubara et al., NeurIPS 2016).  Chosen as the default
  because it also moves units that are off: on the bundled tasks the relu
  surrogate leaves most step units stuck and the trained network near a constant;
* ``clipped``: ``mu'(z) = 1_{0 < z < 1}``, the clipped relu of Yin et al.

The optimizer is Adam (Kingma & Ba 2015, ``beta1 = 0.9``, ``beta2 = 0.999``,
``eps = 1e-8``) on a flat parameter vector, full batch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..errors import TvmipError
from ..progress import Progress

try:
    import autograd.numpy as anp
    from autograd import grad
    from autograd.extend import defvjp, primitive
except ImportError:  # pragma: no cover - the extra is part of the test install
    raise TvmipError("training needs autograd: pip install 'tvmip[train]'") from None

SURROGATES: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "hardtanh": lambda z: np.abs(z) <= 1,
    "relu": lambda z: z > 0,
    "clipped": lambda z: (z > 0) & (z < 1),
}
"""Coarse derivatives ``mu'(z)``: of hardtanh, of relu, of the clipped relu ``min(relu, 1)``."""
LEVELS = {"step": (0.0, 1.0), "sign": (-1.0, 1.0)}


def _binarized(low: float, high: float, surrogate: str) -> Callable[[Any], Any]:
    """``high`` where ``z >= 0``, else ``low``; backward ``(high - low) / 2`` (for
    hardtanh, whose range has length 2) or ``high - low`` times ``mu'(z)``."""
    derivative = SURROGATES[surrogate]
    factor = (high - low) / 2 if surrogate == "hardtanh" else high - low

    @primitive
    def unit(z: np.ndarray) -> np.ndarray:
        return np.where(z >= 0, high, low)

    defvjp(unit, lambda ans, z: lambda g: g * factor * derivative(z))
    return unit


def relu(z: Any) -> Any:
    return anp.maximum(z, 0.0)


ACTIVATIONS: dict[tuple[str, str], Callable[[Any], Any]] = {
    **{("relu", surrogate): relu for surrogate in SURROGATES},
    **{(name, surrogate): _binarized(low, high, surrogate)
       for name, (low, high) in LEVELS.items() for surrogate in SURROGATES},
}
"""The hidden activations training supports, by tvmip name and coarse derivative
(relu has a true one and ignores it)."""


def forward(weights: Sequence[Any], biases: Sequence[Any], activation: str, x: Any,
            surrogate: str = "hardtanh") -> Any:
    """The network's output on the rows of ``x``: hidden layers
    ``z_l = sigma(z_{l-1} W_l^T + b_l)``, then the affine output (one target)."""
    sigma = ACTIVATIONS[activation, surrogate]
    z = x
    for w, b in zip(weights[:-1], biases[:-1]):
        z = sigma(anp.dot(z, w.T) + b)
    return (anp.dot(z, weights[-1].T) + biases[-1])[:, 0]


def minimize(objective: Callable[[np.ndarray, Any], Any], start: np.ndarray, steps: int,
             lr: float, prepare: Callable[[np.ndarray, int], Any] | None = None,
             progress: Progress | None = None) -> np.ndarray:
    """``steps`` Adam steps on ``objective(x, extra)`` from ``start``, where
    ``extra = prepare(x, t)`` is recomputed before step ``t = 1..steps`` and held
    fixed while differentiating (RVSCGD's thresholded copy, WDR's ramp)."""
    gradient = grad(objective)
    x = np.array(start, dtype=float)
    m, v = np.zeros_like(x), np.zeros_like(x)
    b1, b2, eps = 0.9, 0.999, 1e-8
    for t in range(1, steps + 1):
        g = gradient(x, prepare(x, t) if prepare is not None else None)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        x = x - lr * (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + eps)
        if progress is not None:
            progress.update(t)
    return x
