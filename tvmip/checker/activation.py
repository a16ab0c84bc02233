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

A network file names an activation (:func:`activation_from_json`) as:

* ``"identity"``, ``"relu"``;
* ``"step"`` (1 if z >= 0 else 0) and ``"sign"`` (+1 if z >= 0 else -1), the units
  of binarized-activation networks;
* ``"hardtanh"``: clip(z, -1, 1);
* ``{"leaky_relu": a}``: a z for z < 0, z for z >= 0;
* ``{"quantize": {"scale": s, "zero_point": z0, "qmin": a, "qmax": b}}``: ONNX
  QuantizeLinear then DequantizeLinear, exactly: ``q = clamp(round_half_even(z / s)
  + z0, a, b)`` and ``(q - z0) s``, a staircase with a breakpoint at each
  ``s (m + 1/2)`` between levels, where the value is that of the even one of
  ``m`` and ``m + 1``;
* ``{"pwl": {"breakpoints": [t_1..t_k], "pieces": [[slope, offset] x (k + 1)],
  "values": [v_1..v_k]}}``: any piecewise-linear map (the value exactly at ``t_j``
  is ``v_j``).

All numbers are exact rationals; the canonical form (for the network's hash) uses
integers and ``"p/q"`` strings.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from fractions import Fraction
from itertools import pairwise
from typing import Any

from .errors import FormatError
from .limits import MAX_BREAKPOINTS, shown
from .rationals import format_rational, parse_rational

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
    def text(self) -> str:
        """The spec as written in a network file, on one line (``relu``, ``{"quantize":..}``)."""
        return self.spec if isinstance(self.spec, str) else \
            json.dumps(self.spec, separators=(",", ":"))

    @property
    def positively_homogeneous(self) -> bool:
        """``sigma(c z) = c sigma(z)`` for every ``c > 0``: the only breakpoint is 0, with
        value 0, and no piece has an offset (ReLU, leaky ReLU, the identity)."""
        return (all(t == 0 for t in self.breakpoints) and all(v == 0 for v in self.values)
                and all(b == 0 for _, b in self.pieces))

    @property
    def continuous(self) -> bool:
        """Whether both pieces meet the value at every breakpoint (no jump)."""
        return all(a * t + b == v == c * t + d for t, v, (a, b), (c, d)
                   in zip(self.breakpoints, self.values, self.pieces, self.pieces[1:]))

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


def _constant_pieces(levels: list[Fraction]) -> tuple[tuple[Fraction, Fraction], ...]:
    return tuple((Fraction(0), level) for level in levels)


ZERO, ONE = Fraction(0), Fraction(1)
RELU = Activation("relu", (ZERO,), ((ZERO, ZERO), (ONE, ZERO)), (ZERO,))
IDENTITY = Activation("identity", (), ((ONE, ZERO),), ())
STEP = Activation("step", (ZERO,), _constant_pieces([ZERO, ONE]), (ONE,))
SIGN = Activation("sign", (ZERO,), _constant_pieces([-ONE, ONE]), (ONE,))
HARDTANH = Activation("hardtanh", (-ONE, ONE), ((ZERO, -ONE), (ONE, ZERO), (ZERO, ONE)),
                      (-ONE, ONE))
ACTIVATIONS = {"relu": RELU, "identity": IDENTITY, "step": STEP, "sign": SIGN,
               "hardtanh": HARDTANH}
"""The activations a network file names by a word; :data:`FAMILIES` take parameters."""


def leaky_relu(slope: Fraction) -> Activation:
    """``slope * z`` below 0, ``z`` above."""
    return Activation({"leaky_relu": format_rational(slope)}, (ZERO,),
                      ((slope, ZERO), (ONE, ZERO)), (ZERO,))


def quantize(scale: Fraction, zero_point: int, qmin: int, qmax: int) -> Activation:
    """ONNX QuantizeLinear followed by DequantizeLinear (see the module docstring)."""
    if not scale > 0:
        raise ValueError("the scale must be positive")
    if not qmin <= zero_point <= qmax:
        raise ValueError("the zero point must lie between qmin and qmax")
    if qmax - qmin > MAX_BREAKPOINTS:
        raise ValueError(f"more than {MAX_BREAKPOINTS} quantization steps")
    spec = {"quantize": {"scale": format_rational(scale), "zero_point": zero_point,
                         "qmin": qmin, "qmax": qmax}}
    steps = range(qmin - zero_point, qmax - zero_point)  # m: between levels m and m + 1
    return Activation(spec, tuple(scale * (m + Fraction(1, 2)) for m in steps),
                      _constant_pieces([scale * q for q in range(qmin - zero_point,
                                                                 qmax - zero_point + 1)]),
                      tuple(scale * (m if m % 2 == 0 else m + 1) for m in steps))


def pwl(breakpoints: list[Fraction], pieces: list[tuple[Fraction, Fraction]],
        values: list[Fraction]) -> Activation:
    """A general piecewise-linear activation."""
    if len(breakpoints) > MAX_BREAKPOINTS:
        raise ValueError(f"more than {MAX_BREAKPOINTS} breakpoints")
    if any(b <= a for a, b in pairwise(breakpoints)):
        raise ValueError("the breakpoints must increase strictly")
    if len(pieces) != len(breakpoints) + 1 or len(values) != len(breakpoints):
        raise ValueError("k breakpoints need k + 1 pieces and k values")
    spec = {"pwl": {"breakpoints": [format_rational(t) for t in breakpoints],
                    "pieces": [[format_rational(a), format_rational(b)] for a, b in pieces],
                    "values": [format_rational(v) for v in values]}}
    return Activation(spec, tuple(breakpoints), tuple(pieces), tuple(values))


def _integer(value: Any, where: str) -> int:
    number = parse_rational(value, where)
    if number.denominator != 1:
        raise FormatError(where, f"expected an integer, got {shown(number)}")
    return number.numerator


def _list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise FormatError(where, "expected a list")
    if len(value) > 2 * MAX_BREAKPOINTS + 2:
        raise FormatError(where, f"more than {MAX_BREAKPOINTS} breakpoints")
    return value


def _family(name: str, value: Any, where: str) -> Activation:
    at = f"{where}.{name}"
    if name == "leaky_relu":
        return leaky_relu(parse_rational(value, at))
    if not isinstance(value, dict):
        raise FormatError(at, "expected an object")
    if name == "quantize":
        if set(value) != {"scale", "zero_point", "qmin", "qmax"}:
            raise FormatError(at, "expected the keys scale, zero_point, qmin, qmax")
        return quantize(parse_rational(value["scale"], f"{at}.scale"),
                        *(_integer(value[k], f"{at}.{k}") for k in ("zero_point", "qmin", "qmax")))
    if set(value) != {"breakpoints", "pieces", "values"}:
        raise FormatError(at, "expected the keys breakpoints, pieces, values")
    pieces = []
    for i, pair in enumerate(_list(value["pieces"], f"{at}.pieces")):
        if not isinstance(pair, list) or len(pair) != 2:
            raise FormatError(f"{at}.pieces[{i}]", "expected [slope, offset]")
        pieces.append((parse_rational(pair[0], f"{at}.pieces[{i}][0]"),
                       parse_rational(pair[1], f"{at}.pieces[{i}][1]")))
    return pwl([parse_rational(t, f"{at}.breakpoints[{i}]")
                for i, t in enumerate(_list(value["breakpoints"], f"{at}.breakpoints"))],
               pieces,
               [parse_rational(v, f"{at}.values[{i}]")
                for i, v in enumerate(_list(value["values"], f"{at}.values"))])


FAMILIES = ("leaky_relu", "quantize", "pwl")


def activation_from_json(value: Any, where: str) -> Activation:
    """The activation a network file names (see the module docstring)."""
    if isinstance(value, str) and value in ACTIVATIONS:
        return ACTIVATIONS[value]
    if isinstance(value, dict) and len(value) == 1 and next(iter(value)) in FAMILIES:
        name, params = next(iter(value.items()))
        try:
            return _family(name, params, where)
        except ValueError as exc:
            if isinstance(exc, FormatError):
                raise
            raise FormatError(f"{where}.{name}", str(exc)) from None
    raise FormatError(where, f"unknown activation {shown(value)!r} (known: "
                      f"{', '.join(ACTIVATIONS)}, and {{name: parameters}} for "
                      f"{', '.join(FAMILIES)})")
