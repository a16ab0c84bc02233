"""The two training methods: what they parametrize, penalize and discretize.

Both train the weights ``W_l`` of every layer, output included; the biases are
free and unpenalized (the trainer owns them).  Each method ends with real weights
``M_l`` and their ternary pattern ``T_l`` in {-1, 0, +1}; the trainer then takes
the per-layer scale ``s_l = mean |M_l|`` over the support of ``T_l`` (the least
squares fit of ``M_l`` by ``s T_l``, as in ternary weight networks) and
calibrates it.

**WDR** (Deng & Zhang, "Sparsity-control ternary weight networks",
arXiv:2011.00580, Neural Networks 145, 2022).  Every weight is ``s_l w`` with
``w = tanh(v)`` in (-1, 1) and a learned positive scale per layer
``s_l = exp(rho_l)``; the loss is the data loss plus the weight discretization
regularizer

    lambda * R(w),   R(w) = mean_i (alpha - w_i^2) w_i^2.

On [-1, 1], ``r(w) = (alpha - w^2) w^2`` has local minima at ``0`` and ``+-1``
(for ``0 < alpha < 2``) separated by maxima at ``|w| = sqrt(alpha / 2)``: the
controller ``alpha`` moves the barrier outwards, widening the basin of ``0``, so
the fraction of zero weights grows with ``alpha`` (the paper's claim; ``alpha >= 2``
leaves ``0`` the only minimum).  No gradient estimator is needed: the loss is
smooth in ``v`` and the scales.  At the end ``T = round(w)``.
What we could not retrieve from the paper itself and chose: the regularizer's form
is the one of a public re-implementation of SCA (``(alpha - tanh(v)^2) tanh(v)^2``
summed per layer, rounding at the end); we average it over all weights instead of
summing so that ``lambda`` does not depend on the widths, and raise ``lambda``
linearly from 0 over the first ``ramp`` fraction of the steps (so the data shape
the weights before the regularizer freezes them); the scale is per layer (a
per-channel scale would not fold into a ternary next layer).

**RVSCGD** (Dinh & Xin, "Convergence of a relaxed variable splitting coarse
gradient descent method for learning sparse weight binarized activation neural
networks", arXiv:1901.09731, Front. Appl. Math. Stat. 6, 2020).  The relaxed
splitting of ``min f(w) + lambda P(w)`` is

    L_beta(w, u) = f(w) + lambda P(u) + (beta / 2) ||w - u||^2

minimized alternately: ``u <- argmin_u L_beta(w, u)``, a thresholding of ``w``
with parameter ``t = lambda / beta`` (:data:`THRESHOLDS`), then a coarse gradient
step on ``w``: ``w <- w - eta (grad~ f(w) + beta (w - u))``, where ``grad~`` is the
straight-through gradient of :mod:`tvmip.train.autodiff`.  ``P`` is the sum over
the weights of ``|w|`` (l1), ``1_{w != 0}`` (l0), or ``(a + 1) |w| / (a + |w|)``
(transformed l1, ``a > 0``).  The sparse network is ``u``; its ternary pattern is
``sign(u)``.  Chosen: the paper's analysis is for a one-hidden-layer
no-overlap CNN with Gaussian inputs, where ``w`` is renormalized to the unit
sphere after each step; an MLP with biases has no such invariance, so we do not
renormalize; and the step direction is Adam's (on the same coarse gradient of
``L_beta``) rather than a plain gradient step, which needed no tuning per task.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import autograd.numpy as anp
import numpy as np

Shapes = list[tuple[int, int]]
E_TANH2 = 0.394  # E[tanh(v)^2] for v ~ N(0, 1): the initial spread of WDR's weights


def soft_threshold(w: np.ndarray, t: float) -> np.ndarray:
    """``argmin_u t |u| + (u - w)^2 / 2``: ``sign(w) max(|w| - t, 0)``."""
    return np.sign(w) * np.maximum(np.abs(w) - t, 0.0)


def hard_threshold(w: np.ndarray, t: float) -> np.ndarray:
    """``argmin_u t 1_{u != 0} + (u - w)^2 / 2``: ``w`` where ``|w| > sqrt(2 t)``, else 0."""
    return np.where(np.abs(w) > np.sqrt(2 * t), w, 0.0)


def tl1_threshold(w: np.ndarray, t: float, a: float = 1.0) -> np.ndarray:
    """``argmin_u t (a + 1) |u| / (a + |u|) + (u - w)^2 / 2`` (Zhang & Xin, Math.
    Programming 169, 2018, Theorem 3.1): 0 where ``|w| <= tau``, with
    ``tau = t (a + 1) / a`` if ``t <= a^2 / (2 (a + 1))`` else
    ``sqrt(2 t (a + 1)) - a / 2``; elsewhere
    ``sign(w) (2/3 (a + |w|) cos(phi / 3) - 2 a / 3 + |w| / 3)`` with
    ``phi = arccos(1 - 27 t a (a + 1) / (2 (a + |w|)^3))``."""
    tau = t * (a + 1) / a if t <= a * a / (2 * (a + 1)) else np.sqrt(2 * t * (a + 1)) - a / 2
    size = np.abs(w)
    phi = np.arccos(np.clip(1 - 27 * t * a * (a + 1) / (2 * (a + size) ** 3), -1.0, 1.0))
    value = 2 / 3 * (a + size) * np.cos(phi / 3) - 2 * a / 3 + size / 3
    return np.where(size > tau, np.sign(w) * value, 0.0)


THRESHOLDS: dict[str, Callable[[np.ndarray, float, float], np.ndarray]] = {
    "l1": lambda w, t, a: soft_threshold(w, t),
    "l0": lambda w, t, a: hard_threshold(w, t),
    "tl1": tl1_threshold,
}
"""The proximal map of ``t P`` for each RVSCGD penalty ``P``: ``(w, t, a) -> u``."""


@dataclass(frozen=True, slots=True)
class Wdr:
    """Sparsity-control ternary training with the weight discretization regularizer."""

    alpha: float = 0.5
    lam: float = 10.0
    ramp: float = 0.5
    name: ClassVar[str] = "wdr"

    def __post_init__(self) -> None:
        if not 0 < self.alpha < 2:
            raise ValueError(f"WDR needs 0 < alpha < 2 (0 and +-1 both minima of the "
                             f"regularizer), got {self.alpha}")
        if self.lam < 0 or not 0 <= self.ramp <= 1:
            raise ValueError("WDR needs lambda >= 0 and 0 <= ramp <= 1")

    def init(self, shapes: Shapes, rng: np.random.Generator) -> list[Any]:
        """``v ~ N(0, 1)``; ``s_l`` so that a pre-activation has about unit variance."""
        return [[rng.normal(0.0, 1.0, shape), np.array(-0.5 * np.log(E_TANH2 * shape[1]))]
                for shape in shapes]

    def weights(self, params: list[Any]) -> list[Any]:
        return [anp.exp(rho) * anp.tanh(v) for v, rho in params]

    def prepare(self, params: list[Any], done: float) -> float:
        """The regularizer's weight after the fraction ``done`` of the steps."""
        return self.lam * min(1.0, done / self.ramp) if self.ramp > 0 else self.lam

    def penalty(self, params: list[Any], lam: float) -> Any:
        w2 = anp.concatenate([anp.tanh(v).ravel() for v, _ in params]) ** 2
        return lam * anp.mean((self.alpha - w2) * w2)

    def discretize(self, params: list[Any]) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """The real weights ``s_l tanh(v)`` and their pattern ``round(tanh(v))``."""
        return self.weights(params), [np.rint(np.tanh(v)) for v, _ in params]

    def describe(self) -> dict[str, Any]:
        return {"method": self.name, "alpha": self.alpha, "lambda": self.lam,
                "ramp": self.ramp}


@dataclass(frozen=True, slots=True)
class Rvscgd:
    """Relaxed variable splitting with coarse gradients and a sparsifying penalty."""

    penalty_name: str = "l1"
    lam: float = 0.002
    beta: float = 1.0
    a: float = 1.0
    name: ClassVar[str] = "rvscgd"

    def __post_init__(self) -> None:
        if self.penalty_name not in THRESHOLDS:
            raise ValueError(f"unknown penalty {self.penalty_name!r} "
                             f"(known: {', '.join(THRESHOLDS)})")
        if self.beta <= 0 or self.a <= 0 or self.lam < 0:
            raise ValueError("RVSCGD needs beta > 0, a > 0 and lambda >= 0")

    def init(self, shapes: Shapes, rng: np.random.Generator) -> list[Any]:
        """``w ~ N(0, 1 / fan_in)``."""
        return [rng.normal(0.0, 1.0 / np.sqrt(shape[1]), shape) for shape in shapes]

    def weights(self, params: list[Any]) -> list[Any]:
        return list(params)

    def threshold(self, params: list[Any]) -> list[np.ndarray]:
        """``u = argmin_u lambda P(u) + beta/2 ||w - u||^2``, weight by weight."""
        rule = THRESHOLDS[self.penalty_name]
        return [rule(np.asarray(w), self.lam / self.beta, self.a) for w in params]

    def prepare(self, params: list[Any], done: float) -> list[np.ndarray]:
        return self.threshold(params)

    def penalty(self, params: list[Any], u: list[np.ndarray]) -> Any:
        """The part of ``L_beta`` that depends on ``w`` besides ``f``."""
        return self.beta / 2 * sum(anp.sum((w - v) ** 2) for w, v in zip(params, u))

    def discretize(self, params: list[Any]) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """The sparse weights ``u`` and their pattern ``sign(u)``."""
        u = self.threshold(params)
        return u, [np.sign(v) for v in u]

    def describe(self) -> dict[str, Any]:
        return {"method": self.name, "penalty": self.penalty_name, "lambda": self.lam,
                "beta": self.beta, "a": self.a}


Method = Wdr | Rvscgd
