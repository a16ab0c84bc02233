"""The bound formulas of tvmip.theorems against values computed by hand."""

from __future__ import annotations

import dataclasses
import itertools

import pytest

from tvmip.theory.theorems import (
    KINDS,
    Bound,
    balanced,
    construction_bound,
    fold_pieces,
    grid_split,
    montufar_lower_bound,
    montufar_upper_bound,
    one_dimensional_maximum,
    reference_bound,
    serra_lower_bound,
    serra_upper_bound,
    zaslavsky,
)


def test_one_input_widths_3_4_5() -> None:
    # n0 = 1: every bound but Montufar's lower one is prod (n_l + 1) = 4 * 5 * 6.
    widths = (3, 4, 5)
    assert one_dimensional_maximum(1, widths).value == 120
    assert serra_lower_bound(1, widths).value == 120
    assert serra_upper_bound(1, widths).value == 120
    assert montufar_upper_bound(1, widths).value == 120
    # Montufar: floor(n_l / 1) for l < L, then 1 + n_L = 6: 3 * 4 * 6.
    assert montufar_lower_bound(1, widths).value == 72


def test_two_inputs_width_4_depth_3() -> None:
    # Montufar: (floor(4/2)^2)^2 = 16 boxes times 1 + 4 + 6 = 11 cells.
    assert montufar_lower_bound(2, (4, 4, 4)).value == 176
    # d_l = min(2, 4) = 2 in every layer: 11^3.
    assert montufar_upper_bound(2, (4, 4, 4)).value == 1331
    # Serra's caps never bind (4 - j_l >= 2), so the refined bound is also 11^3.
    assert serra_upper_bound(2, (4, 4, 4)).value == 1331
    with pytest.raises(ValueError, match="n_l >= 6"):
        serra_lower_bound(2, (4, 4, 4))


def test_two_inputs_width_6_depth_3() -> None:
    # Serra: ((6//2 + 1)^2)^2 = 256 boxes times 1 + 6 + 15 = 22 cells; Montufar 81 * 22.
    assert serra_lower_bound(2, (6, 6, 6)).value == 5632
    assert montufar_lower_bound(2, (6, 6, 6)).value == 1782


def test_serra_upper_bound_is_sharper_when_caps_bind() -> None:
    # n0 = 3, widths (3, 3): sum_j1 C(3, j1) * sum_{j2 <= 3 - j1} C(3, j2)
    #   = 1*8 + 3*7 + 3*4 + 1*1 = 42, against Montufar's 8 * 8.
    assert serra_upper_bound(3, (3, 3)).value == 42
    assert montufar_upper_bound(3, (3, 3)).value == 64
    # n0 = 2, widths (2, 2): 1*4 + 2*3 + 1*1 = 11 against 4 * 4.
    assert serra_upper_bound(2, (2, 2)).value == 11
    assert montufar_upper_bound(2, (2, 2)).value == 16


def test_montufar_upper_bound_bottleneck() -> None:
    # d = (min(3, 1), min(3, 1, 4)) = (1, 1): (1 + 1) * (1 + 4).
    assert montufar_upper_bound(3, (1, 4)).value == 10


def test_one_layer_bounds_are_zaslavsky() -> None:
    assert zaslavsky(5, 2) == 1 + 5 + 10
    assert serra_upper_bound(2, (5,)).value == 16
    assert montufar_lower_bound(2, (5,)).value == 16
    assert serra_lower_bound(2, (6,)).value == 22


@pytest.mark.parametrize(
    "n0, widths",
    [
        (n0, widths)
        for n0 in (1, 2, 3)
        for depth in (1, 2, 3)
        for widths in itertools.product(range(n0, 3 * n0 + 3), repeat=depth)
    ],
)
def test_bounds_are_ordered(n0: int, widths: tuple[int, ...]) -> None:
    low = montufar_lower_bound(n0, widths).value
    up = serra_upper_bound(n0, widths).value
    assert low <= up <= montufar_upper_bound(n0, widths).value
    if min(widths) >= 3 * n0:
        assert low <= serra_lower_bound(n0, widths).value <= up


@pytest.mark.parametrize(
    "call",
    [
        lambda: montufar_lower_bound(0, (3,)),
        lambda: montufar_lower_bound(2, ()),
        lambda: montufar_lower_bound(2, (3, 1)),
        lambda: montufar_upper_bound(1, (2, 0)),
        lambda: serra_lower_bound(2, (6, 5)),
        lambda: serra_upper_bound(-1, (3,)),
        lambda: one_dimensional_maximum(1, (3, 2)),
        lambda: one_dimensional_maximum(2, (6, 6)),
        lambda: reference_bound(2, 1, 2),
        lambda: reference_bound(1, 3, 0),
        lambda: construction_bound("binary", 1, 3, 2),
        lambda: construction_bound("general", 2, 1, 2),
        lambda: grid_split(0, 3, 1),
    ],
)
def test_invalid_parameters_raise(call) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError):
        call()


def test_reference_bound_picks_the_strongest_applicable_theorem() -> None:
    assert reference_bound(1, 3, 2).name == "Serra et al. 2018 exact maximum (n0 = 1)"
    assert reference_bound(1, 3, 2).value == 16
    assert reference_bound(1, 2, 2).name == "Montufar et al. 2014 lower bound"
    assert reference_bound(2, 6, 2).name == "Serra et al. 2018 lower bound"
    assert reference_bound(2, 5, 2).name == "Montufar et al. 2014 lower bound"


def test_bound_is_frozen_and_self_describing() -> None:
    bound = serra_lower_bound(2, (6, 6))
    assert isinstance(bound, Bound)
    assert "3 n0" in bound.conditions and "arXiv:1711.02114" in bound.source
    with pytest.raises(dataclasses.FrozenInstanceError):
        bound.value = 0  # type: ignore[misc]


def test_helpers() -> None:
    assert balanced(7, 3) == (3, 2, 2)
    assert balanced(2, 3) == (1, 1, 0)
    assert [fold_pieces(p, ternary=False) for p in range(1, 6)] == [1, 2, 4, 5, 6]
    assert [fold_pieces(b, ternary=True) for b in (2, 4, 6)] == [2, 3, 4]
    # n0 = 1: the grid is n hyperplanes (n + 1 cells), but two at least below a fold.
    assert grid_split(1, 5, 3) == (5,)
    assert grid_split(1, 1, 1) == (1,)
    assert grid_split(1, 1, 2) == (2,)
    # n0 = 2, width 4: 11 cells needed; (2, 2) gives 9, (3, 2) gives 12.
    assert grid_split(2, 4, 2) == (3, 2)


def test_construction_bounds_by_hand() -> None:
    # ternary-relu, n0 = 1, n = 3, L = 3: (3 + 1)^2 boxes times 4 cells (Serra's max).
    assert construction_bound("ternary-relu", 1, 3, 3).value == 64
    # ternary-relu, n0 = 2, n = 4, L = 2: p = (2, 2): 3 * 3 boxes; grid (3, 2): 4 * 3.
    assert construction_bound("ternary-relu", 2, 4, 2).value == 108
    # general, n0 = 2, n = 5, L = 2: p = (3, 2) gives 4 * 2 pieces, 1 + 5 + 10 cells.
    assert construction_bound("general", 2, 5, 2).value == 128
    # ternary-wide at depth 1 with n0 = 2 falls back to the grid: 1 + 3 + 3 = 7 cells
    # needed, (2, 1) gives 3 * 2, (2, 2) gives 3 * 3.
    assert construction_bound("ternary-wide", 2, 3, 1).value == 9


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    "n0, width, depth",
    [
        (n0, n, L)
        for n0 in (1, 2, 3)
        for n in range(n0, 3 * n0 + 3)
        for L in (1, 2, 3, 4)
    ],
)
def test_constructions_meet_the_reference_bound(
    kind: str, n0: int, width: int, depth: int
) -> None:
    achieved = construction_bound(kind, n0, width, depth)
    assert achieved.value >= reference_bound(n0, width, depth).value
    assert str(reference_bound(n0, width, depth).value) in achieved.conditions
