"""The lower bounds a certificate can claim, recomputed by the trusted checker.

Each theorem bounds the *maximal* number of linear regions of general ReLU
networks with ``n0`` inputs and hidden widths ``n_1..n_L``.  A certificate that
claims "this network has at least B linear regions, B the bound of theorem T for
the reference architecture (n0, width, depth)" is accepted only if the checker,
with these functions (exact integers, standard library only), obtains the same
B and the certificate's own evidence establishes at least B linear regions.
:mod:`tvmip.theory.theorems` re-exports them next to the upper bounds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

MONTUFAR_2014 = (
    "G. Montúfar, R. Pascanu, K. Cho, Y. Bengio, On the number of linear regions "
    "of deep neural networks, NeurIPS 2014"
)
MONTUFAR_2017 = (
    "G. Montúfar, Notes on the number of linear regions of deep neural networks, "
    "SampTA 2017"
)
SERRA_2018 = (
    "T. Serra, C. Tjandraatmadja, S. Ramalingam, Bounding and counting linear "
    "regions of deep neural networks, ICML 2018 (arXiv:1711.02114)"
)
NAKAHARA_2025 = (
    "Y. Nakahara, M. Kobayashi, T. Matsushima, A lower bound for the number of "
    "linear regions of ternary ReLU regression neural networks, arXiv:2507.16079"
)
@dataclass(frozen=True, slots=True)
class Bound:
    """A bound on a number of linear regions: its value and what it rests on."""

    name: str
    formula: str
    source: str
    value: int
    conditions: str
    key: str = ""  # the theorem's name in certificates (see THEOREMS)


class ExceedsLimit(ValueError):
    """The bound is larger than the ``limit`` it was computed against."""


def validate_widths(n0: int, widths: Sequence[int], min_ratio: int = 1) -> tuple[int, ...]:
    """Check ``n0 >= 1``, ``L >= 1``, ``n_l >= 1`` and ``n_l >= min_ratio * n0``."""
    widths = tuple(widths)
    if n0 < 1:
        raise ValueError(f"input dimension n0 must be at least 1, got {n0}")
    if not widths:
        raise ValueError("a network needs at least one hidden layer")
    if min(widths) < 1:
        raise ValueError(f"hidden widths must be positive, got {widths}")
    need = min_ratio * n0
    if min(widths) < need:
        raise ValueError(
            f"the theorem needs every width n_l >= {need} (n0 = {n0}), got {widths}"
        )
    return widths


def _capped(value: int, limit: int | None) -> int:
    if limit is not None and value > limit:
        raise ExceedsLimit(f"the bound exceeds {limit}")
    return value


def _power(base: int, exponent: int, limit: int | None) -> int:
    """``base ** exponent``, refusing (:class:`ExceedsLimit`) before computing a power
    beyond ``limit`` (a hostile exponent costs nothing)."""
    if limit is not None and base >= 2 and exponent > limit.bit_length():
        raise ExceedsLimit(f"the bound exceeds {limit}")
    return _capped(base**exponent, limit)


def zaslavsky(hyperplanes: int, dim: int, limit: int | None = None) -> int:
    """Regions of ``hyperplanes`` hyperplanes in general position in R^dim:
    ``sum_{j=0}^{dim} C(hyperplanes, j)`` (Zaslavsky 1975); with ``limit``, the sum is
    abandoned (:class:`ExceedsLimit`) as soon as it passes ``limit``."""
    total = term = 1
    for j in range(1, min(hyperplanes, dim) + 1):
        term = term * (hyperplanes - j + 1) // j
        total = _capped(total + term, limit)
    return total


def _product(factors: Sequence[tuple[int, int]], last: int, limit: int | None) -> int:
    """``prod base^exponent * last``, checked against ``limit`` at every step."""
    value = _capped(last, limit)
    for base, exponent in factors:
        value = _capped(value * _power(base, exponent, limit), limit)
    return value


def montufar_lower_bound(n0: int, widths: Sequence[int], limit: int | None = None) -> Bound:
    """Montúfar et al. (2014): for ``n_l >= n0``, the maximal number of linear regions
    is at least ``(prod_{l<L} floor(n_l/n0)^n0) * sum_{j<=n0} C(n_L, j)``.  With
    ``limit``, raises :class:`ExceedsLimit` instead of computing a larger value."""
    widths = validate_widths(n0, widths)
    value = _product([(n // n0, n0) for n in widths[:-1]], zaslavsky(widths[-1], n0, limit),
                     limit)
    return Bound(
        name="Montufar et al. 2014 lower bound",
        formula="(prod_{l=1}^{L-1} floor(n_l/n0)^n0) * sum_{j=0}^{n0} C(n_L, j)",
        source=MONTUFAR_2014,
        value=value,
        conditions=f"n0 = {n0}, widths = {widths}; requires n_l >= n0 for all l",
        key="montufar-2014",
    )


def serra_lower_bound(n0: int, widths: Sequence[int], limit: int | None = None) -> Bound:
    """Serra et al. (2018): for ``n_l >= 3 n0``, the maximal number of linear regions is
    at least ``(prod_{l<L} (floor(n_l/n0) + 1)^n0) * sum_{j<=n0} C(n_L, j)``.

    For ``n0 = 1`` this is ``prod_l (n_l + 1)``, the exact maximum
    (:func:`one_dimensional_maximum`)."""
    widths = validate_widths(n0, widths, min_ratio=3)
    value = _product([(n // n0 + 1, n0) for n in widths[:-1]],
                     zaslavsky(widths[-1], n0, limit), limit)
    return Bound(
        name="Serra et al. 2018 lower bound",
        formula="(prod_{l=1}^{L-1} (floor(n_l/n0) + 1)^n0) * sum_{j=0}^{n0} C(n_L, j)",
        source=SERRA_2018,
        value=value,
        conditions=(
            f"n0 = {n0}, widths = {widths}; requires n_l >= 3 n0 for all l "
            "(the paper's hypothesis; Montufar et al. only need n_l >= n0)"
        ),
        key="serra-2018",
    )


def one_dimensional_maximum(n0: int, widths: Sequence[int], limit: int | None = None) -> Bound:
    """Serra et al. (2018): with one input (``n0 = 1``) and ``n_l >= 3`` for all ``l``,
    the maximal number of linear regions is exactly ``prod_l (n_l + 1)``."""
    if n0 != 1:
        raise ValueError(f"the one-dimensional maximum is for n0 = 1, not n0 = {n0}")
    widths = validate_widths(1, widths, min_ratio=3)
    return Bound(
        name="Serra et al. 2018 exact maximum (n0 = 1)",
        formula="prod_{l=1}^{L} (n_l + 1)",
        source=SERRA_2018,
        value=_product([(n + 1, 1) for n in widths], 1, limit),
        conditions=(
            f"n0 = 1, widths = {widths}; exact when n_l >= 3 for all l "
            "(for narrower layers it is only an upper bound)"
        ),
        key="serra-2018-1d",
    )


def reference_bound(n0: int, width: int, depth: int) -> Bound:
    """The strongest proven lower bound on the maximal number of linear regions of a
    general ReLU network with ``n0`` inputs and ``depth`` layers of ``width``: the
    exact one-dimensional maximum or Serra et al. when ``width >= 3 n0``, otherwise
    Montúfar et al."""
    widths = (width,) * depth
    if n0 == 1 and width >= 3:
        return one_dimensional_maximum(1, widths)
    if n0 >= 1 and width >= 3 * n0:
        return serra_lower_bound(n0, widths)
    return montufar_lower_bound(n0, widths)


THEOREMS = {
    "montufar-2014": montufar_lower_bound,
    "serra-2018": serra_lower_bound,
    "serra-2018-1d": one_dimensional_maximum,
}
"""Certificate names of the lower bounds, each a function of ``(n0, widths, limit)``
that checks the theorem's hypotheses (:class:`ValueError`)."""
