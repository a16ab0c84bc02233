"""Bounds on the number of linear regions of ReLU networks, as exact integers.

A network has ``n0`` inputs and hidden ReLU layers of widths ``n_1, ..., n_L``; the
bounds speak about the *maximal* number of linear regions over all choices of
weights and biases.  Each function validates its parameters against the theorem's
hypotheses and returns a :class:`Bound` that carries its formula and source, so a
certificate can state exactly which statement a count is compared with.

The last group of functions states what tvmip's constructions
(:mod:`tvmip.theory.constructions`) achieve: lower bounds for ternary networks of a given
architecture, each compared with the reference bound of the general network
(``n0`` inputs, width ``n``, depth ``L``) it emulates.
"""

from __future__ import annotations

from collections.abc import Sequence
from math import comb, prod

from ..checker.bounds import (
    MONTUFAR_2014,
    MONTUFAR_2017,
    NAKAHARA_2025,
    SERRA_2018,
    THEOREMS,
    Bound,
    montufar_lower_bound,
    one_dimensional_maximum,
    reference_bound,
    serra_lower_bound,
    validate_widths,
    zaslavsky,
)

__all__ = [  # the lower bounds live in the trusted checker; re-exported here
    "KINDS", "MONTUFAR_2014", "MONTUFAR_2017", "NAKAHARA_2025", "SERRA_2018", "THEOREMS",
    "Bound", "balanced", "construction_bound", "fold_pieces", "grid_split",
    "montufar_lower_bound", "montufar_upper_bound", "one_dimensional_maximum",
    "reference_bound", "serra_lower_bound", "serra_upper_bound", "zaslavsky",
]

TVMIP = "tvmip.constructions (certified by exact counting)"

KINDS = ("general", "ternary-relu", "ternary-alternating", "ternary-wide")


def montufar_upper_bound(n0: int, widths: Sequence[int]) -> Bound:
    """Montúfar (2017): at most ``prod_l sum_{j<=d_l} C(n_l, j)`` linear regions, where
    ``d_l = min(n0, n_1, ..., n_l)``."""
    widths = validate_widths(n0, widths, min_ratio=0)
    value = prod(zaslavsky(n, min(n0, *widths[: l + 1])) for l, n in enumerate(widths))
    return Bound(
        name="Montufar 2017 upper bound",
        formula="prod_{l=1}^{L} sum_{j=0}^{min(n0, n_1, ..., n_l)} C(n_l, j)",
        source=MONTUFAR_2017,
        value=value,
        conditions=f"n0 = {n0}, widths = {widths}; any widths",
    )


def serra_upper_bound(n0: int, widths: Sequence[int]) -> Bound:
    """Serra et al. (2018, Theorem 1): at most ``sum_{j in J} prod_l C(n_l, j_l)``
    linear regions, where ``J`` holds the ``j in Z^L`` with
    ``0 <= j_l <= min(n0, n_1 - j_1, ..., n_{l-1} - j_{l-1}, n_l)``.

    Computed by dynamic programming over the running cap
    ``c_l = min(n0, n_1 - j_1, ..., n_l - j_l)``, since ``j_l <= min(c_{l-1}, n_l)``."""
    widths = validate_widths(n0, widths, min_ratio=0)
    ways = {n0: 1}  # cap c_l -> sum of prod_{k<=l} C(n_k, j_k) over admissible prefixes
    for n in widths:
        step: dict[int, int] = {}
        for cap, total in ways.items():
            for j in range(min(cap, n) + 1):
                key = min(cap, n - j)
                step[key] = step.get(key, 0) + total * comb(n, j)
        ways = step
    return Bound(
        name="Serra et al. 2018 upper bound",
        formula=(
            "sum_{(j_1..j_L) in J} prod_l C(n_l, j_l), J: 0 <= j_l <= "
            "min(n0, n_1 - j_1, ..., n_{l-1} - j_{l-1}, n_l)"
        ),
        source=SERRA_2018,
        value=sum(ways.values()),
        conditions=f"n0 = {n0}, widths = {widths}; any widths; exact for L = 1",
    )


# -- what tvmip's constructions achieve ------------------------------------------


def balanced(total: int, parts: int) -> tuple[int, ...]:
    """``total`` split into ``parts`` near-equal integers (larger first)."""
    q, r = divmod(total, parts)
    return tuple(q + (k < r) for k in range(parts))


def fold_pieces(budget: int, ternary: bool) -> int:
    """Pieces of the best zig-zag of one coordinate on ``budget`` neurons (each piece
    maps onto the same interval): ``p + 1`` from ``2p`` ternary neurons; with integer
    weights ``p + 1`` from ``p >= 3`` neurons, ``p`` from ``p <= 2``."""
    if ternary:
        return budget // 2 + 1
    return budget + 1 if budget >= 3 else budget


def grid_split(n0: int, width: int, depth: int) -> tuple[int, ...]:
    """Hyperplanes per axis of the ternary last layer (an axis-parallel grid, whose
    ``prod_k (m_k + 1)`` cells all meet the cube): the fewest hyperplanes, balanced
    over the axes, with at least ``sum_{j<=n0} C(width, j)`` cells, and at least two
    per axis when ``depth >= 2`` (so the output slope never vanishes on a fold face)."""
    validate_widths(n0, (width,) * depth)
    target = zaslavsky(width, n0)
    m = 1
    while True:
        split = balanced(m, n0)
        if prod(k + 1 for k in split) >= target and (depth == 1 or min(split) >= 2):
            return split
        m += 1


def construction_bound(kind: str, n0: int, width: int, depth: int) -> Bound:
    """Linear regions of tvmip's construction of ``kind`` emulating the general network
    (``n0`` inputs, ``depth`` layers of ``width``); a lower bound on the maximal
    number of linear regions of networks of the construction's architecture.

    With ``p_k`` the balanced split of ``width`` over the ``n0`` coordinates, every
    fold layer multiplies the regions by ``F = prod_k fold_pieces(p_k)`` and the last
    layer contributes ``C`` cells: the value is ``F^(L-1) * C``.  ``general`` and
    ``ternary-wide`` use integer folds and ``width`` hyperplanes in general position
    (``C = sum_{j<=n0} C(width, j)``); ``ternary-relu`` uses ternary folds on ``2 p_k``
    neurons and ``ternary-alternating`` integer folds realised by identity layers;
    both end with the ternary grid of :func:`grid_split`.  ``ternary-wide`` at depth 1
    with ``n0 >= 2`` has no layer whose neurons could be copied and uses the grid too.
    """
    if kind not in KINDS:
        raise ValueError(
            f"unknown construction kind {kind!r} (known: {', '.join(KINDS)})"
        )
    validate_widths(n0, (width,) * depth)
    budgets = balanced(width, n0)
    ternary_folds = kind == "ternary-relu"
    folds = prod(
        fold_pieces(2 * p if ternary_folds else p, ternary_folds) for p in budgets
    )
    grid = kind in ("ternary-relu", "ternary-alternating") or (
        kind == "ternary-wide" and depth == 1 and n0 >= 2
    )
    if grid:
        split = grid_split(n0, width, depth)
        cells = prod(m + 1 for m in split)
        last = (
            f"prod_k (m_k + 1), m = {split} (ternary axis grid, {sum(split)} neurons)"
        )
    else:
        cells = zaslavsky(width, n0)
        last = f"sum_{{j<=n0}} C({width}, j) (hyperplanes in general position)"
    fold_text = (
        "prod_k (p_k + 1) from 2 p_k ternary neurons"
        if ternary_folds
        else "prod_k q(p_k), q(p) = p + 1 if p >= 3 else p"
    )
    reference = reference_bound(n0, width, depth)
    return Bound(
        name=f"tvmip {kind} construction",
        formula=f"F^(L-1) * C, F = {fold_text}, p = {budgets}; C = {last}",
        source=f"{TVMIP}; routes of {NAKAHARA_2025}" if kind != "general" else TVMIP,
        value=folds ** (depth - 1) * cells,
        conditions=(
            f"compared with the general network n0 = {n0}, width {width}, "
            f"depth {depth}: "
            f"{reference.name} = {reference.value}"
        ),
    )
