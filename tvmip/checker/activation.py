"""Activations as exact piecewise-linear maps, and the states of a neuron (standard library).

An activation ``sigma: R -> R`` is given by breakpoints ``t_1 < .. < t_k``, the
``(slope, offset)`` of each of its ``k + 1`` open pieces ``(-inf, t_1)``,
``(t_1, t_2)``, .., ``(t_k, inf)``, and its value ``sigma(t_j)`` at each
breakpoint.  ReLU is ``k = 1``, ``t_1 = 0``, pieces ``(0, 0)`` and ``(1, 0)``,
value 0; the identity has no breakpoint and the single piece ``(1, 0)``.

A neuron's *state* on a region is the *cell* of the line holding its
pre-activation there: cell ``2 i`` is the open piece ``i``; cell ``2 j - 1`` is
the breakpoint ``t_j``, the state of a neuron whose pre-activation is that
constant on the region (ReLU's state ``0``).  A neuron whose pre-activation is
not constant lies in an open piece on each region; a constant one lies in the
cell of its value and never branches.  Activations without breakpoints carry no
state and take no place in a pattern.

In a pattern string each state is one character, its *symbol*: ``-``, ``0``, ``+``
for the three cells of a one-breakpoint activation (ReLU's familiar states), and
otherwise the cell's index in base 62 (``0-9A-Za-z``, then the code points from
U+0100 on).  The children of a node are the open pieces in the code-point order of
their symbols, so the lexicographic order of pattern strings is depth-first order,
and the look-ahead wildcard ``*`` sorts before every symbol.

This record is shared by the producer and the trusted checker, so both read a
network's activations the same way; every stage of tvmip asks it, never a name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

BINARY_SYMBOLS = "-0+"
DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
WILDCARD = "*"


def _symbol(cell: int, breakpoints: int) -> str:
    if breakpoints == 1:
        return BINARY_SYMBOLS[cell]
    return DIGITS[cell] if cell < len(DIGITS) else chr(0x100 + cell - len(DIGITS))


@dataclass(frozen=True, slots=True)
class Activation:
    """An exact piecewise-linear activation (see the module docstring); ``spec`` is
    its canonical JSON form, which does not take part in comparisons: two
    activations are equal when they are the same function."""

    spec: Any = field(compare=False)
    breakpoints: tuple[Fraction, ...]
    pieces: tuple[tuple[Fraction, Fraction], ...]
    values: tuple[Fraction, ...]
    symbols: str = field(init=False, compare=False, repr=False)
    """The symbol of each cell, in cell order."""
    piece_symbols: str = field(init=False, compare=False, repr=False)
    """The symbols of the open pieces in child order (code-point order)."""
    _cells: dict[str, int] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        k = len(self.breakpoints)
        symbols = "".join(_symbol(cell, k) for cell in range(2 * k + 1))
        object.__setattr__(self, "symbols", symbols)
        object.__setattr__(self, "piece_symbols", "".join(sorted(symbols[::2])))
        object.__setattr__(self, "_cells", {c: cell for cell, c in enumerate(symbols)})

    @property
    def stateful(self) -> bool:
        """Whether neurons with this activation carry a state (it has a breakpoint)."""
        return bool(self.breakpoints)

    @property
    def cells(self) -> int:
        return len(self.symbols)

    def symbol(self, cell: int) -> str:
        return self.symbols[cell]

    def cell(self, symbol: str) -> int | None:
        """The cell a symbol stands for, or None if it is not one of this activation's."""
        return self._cells.get(symbol)

    def cell_of(self, value: Fraction) -> int:
        """The cell holding ``value``: a breakpoint's, or the open piece's around it."""
        below = 0
        for j, t in enumerate(self.breakpoints):
            if value == t:
                return 2 * j + 1
            if value > t:
                below = j + 1
        return 2 * below

    def affine(self, cell: int) -> tuple[Fraction, Fraction]:
        """``(slope, offset)`` of the activation on a cell (a breakpoint's is constant)."""
        if cell % 2:
            return Fraction(0), self.values[cell // 2]
        return self.pieces[cell // 2]

    def bounds(self, cell: int) -> tuple[int | None, int | None]:
        """The breakpoints (1-based indices) below and above an open piece's cell, None
        where the piece is unbounded."""
        piece = cell // 2
        return (piece if piece > 0 else None,
                piece + 1 if piece < len(self.breakpoints) else None)

    def __call__(self, value: Fraction) -> Fraction:
        slope, offset = self.affine(self.cell_of(value))
        return slope * value + offset


RELU = Activation("relu", (Fraction(0),), ((Fraction(0), Fraction(0)), (Fraction(1), Fraction(0))),
                  (Fraction(0),))
IDENTITY = Activation("identity", (), ((Fraction(1), Fraction(0)),), ())
ACTIVATIONS = {"relu": RELU, "identity": IDENTITY}
"""The activations a network file may name."""
