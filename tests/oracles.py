"""Independent exact oracles for counting activation and linear regions.

This module deliberately imports nothing from :mod:`tvmip`: it reads the
``tvmip-network/1`` JSON format itself and does all arithmetic in
:class:`fractions.Fraction`, so that it can catch bugs in tvmip's own reader,
search and checker.  Definitions follow ``shared/DESIGN.md`` sections 1-2,
generalised to piecewise-linear activations:

* an activation sigma is piecewise linear: breakpoints t_1 < .. < t_k, an affine
  map (slope, offset) on each of the k + 1 open pieces (-inf, t_1), .., (t_k, inf),
  and a value v_j exactly at t_j (:class:`Pwl`; ReLU is k = 1, t_1 = 0, pieces
  (0, 0) and (1, 0), value 0).  The *cells* of the line are numbered 0 .. 2k:
  cell 2i is open piece i, cell 2j - 1 the single point t_j;
* a neuron's *state* on a region is the cell holding its pre-activation: the cell
  of its value when the pre-activation is constant on the region (a breakpoint's
  cell only then), else the open piece it stays in.  Neurons whose activation has
  no breakpoint (identity) carry no state;
* a pattern has one symbol per stateful neuron, in layer order: ``-``, ``0``,
  ``+`` for the three cells of a one-breakpoint activation (ReLU's ``-``/``0``/``+``),
  else the cell index as one base-62 digit ``0-9A-Za-z`` (code points from U+0100
  on beyond 61);
* the activation region of a pattern is the open set of domain points where every
  pre-activation, computed along the pattern (each earlier neuron replaced by its
  cell's affine map), lies in its cell; non-constant ones therefore strictly inside
  open pieces.  Along a fixed pattern every pre-activation is affine in x, so a
  region is an intersection of open half-spaces: convex, one per realised pattern;
* linear regions are the classes of activation regions glued across shared
  facets ((n0 - 1)-dimensional) with equal affine maps of f.  For n0 = 1 the facet
  is the common end point of two adjacent intervals: equal maps glue them even when
  f's value *at* that point differs (e.g. step(x) + step(-x) is 1 on both sides and
  2 at 0: one linear region), because a region is an open set and a one-point
  boundary cannot separate two pieces with the same map.  With equal maps on both
  sides f has no jump there (the one-sided limits agree), only possibly a different
  value at the point itself.

Oracles:

* :func:`evaluate` -- f(x) exactly, each activation by its own formula
  (ONNX round-half-to-even for quantize), not through :class:`Pwl`;
* :func:`breakpoints_1d` / :func:`count_1d` / :func:`linear_components_1d` --
  exact breakpoint propagation (n0 = 1);
* :func:`polygon_cells_2d` / :func:`polygon_count_2d` / :func:`polygon_linear_count_2d`
  / :func:`polygon_components_2d` -- exact polygon splitting (n0 = 2);
* :func:`grid_patterns` / :func:`point_pattern` -- patterns realised at given
  rational points (any n0), a lower bound on the regions;
* :func:`general_position_layer` / :func:`arrangement_count` -- one-layer networks
  whose hyperplanes are in general position, with the closed-form count.
"""

from __future__ import annotations

import itertools
import json
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from math import comb
from pathlib import Path
from typing import Any

__all__ = [
    "Activation",
    "Cell",
    "Layer",
    "LeakyRelu",
    "Net",
    "Piece",
    "Pwl",
    "Quantize",
    "activation_json",
    "activation_value",
    "arrangement_count",
    "breakpoints_1d",
    "count_1d",
    "count_separable",
    "evaluate",
    "fmt",
    "general_position_layer",
    "grid_patterns",
    "in_general_position",
    "linear_components_1d",
    "load",
    "parse_activation",
    "point_pattern",
    "polygon_cells_2d",
    "polygon_components_2d",
    "polygon_count_2d",
    "polygon_linear_count_2d",
    "pwl_table",
    "rational_grid",
    "round_half_even",
    "separable_blocks",
    "symbol",
    "to_json",
]

RELU = "relu"
IDENTITY = "identity"
STEP = "step"
SIGN = "sign"
HARDTANH = "hardtanh"
WORDS = (RELU, IDENTITY, STEP, SIGN, HARDTANH)
"""Activations a network file names by a word."""

Q = Fraction
# An affine map of the input x in R^n0: (g_1, ..., g_n0, c) meaning g.x + c.
Affine = tuple[Fraction, ...]


# ---------------------------------------------------------------------- activations

DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def symbol(cell: int, breakpoints: int) -> str:
    """The pattern symbol of ``cell`` for an activation with ``breakpoints`` breakpoints:
    ``-0+`` when there is exactly one, else the cell index as one base-62 digit
    (``chr(0x100 + cell - 62)`` beyond 61)."""
    if breakpoints == 1:
        return "-0+"[cell]
    return DIGITS[cell] if cell < len(DIGITS) else chr(0x100 + cell - len(DIGITS))


@dataclass(frozen=True)
class Pwl:
    """A piecewise-linear map of the line: breakpoints t_1 < .. < t_k, the
    ``(slope, offset)`` of each open piece (k + 1 of them, left to right) and the
    value at each breakpoint.  Both the table of every activation (:func:`pwl_table`)
    and the ``{"pwl": ...}`` activation itself."""

    breakpoints: tuple[Fraction, ...]
    pieces: tuple[tuple[Fraction, Fraction], ...]
    values: tuple[Fraction, ...]

    def __post_init__(self) -> None:
        if any(b <= a for a, b in itertools.pairwise(self.breakpoints)):
            raise ValueError("breakpoints must increase strictly")
        if len(self.pieces) != len(self.breakpoints) + 1 or len(self.values) != len(self.breakpoints):
            raise ValueError("k breakpoints need k + 1 pieces and k values")

    def cell_of(self, z: Fraction) -> int:
        """The cell holding z: 2j - 1 if z = t_j, else 2i for the open piece i around z."""
        for j, t in enumerate(self.breakpoints, start=1):
            if z == t:
                return 2 * j - 1
        return 2 * sum(t < z for t in self.breakpoints)

    def affine(self, cell: int) -> tuple[Fraction, Fraction]:
        """(slope, offset) of the map on a cell; a breakpoint's cell is the constant v_j."""
        return (Q(0), self.values[cell // 2]) if cell % 2 else self.pieces[cell // 2]

    def symbol(self, cell: int) -> str:
        return symbol(cell, len(self.breakpoints))

    def piece_bounds(self, cell: int) -> tuple[Fraction | None, Fraction | None]:
        """The breakpoints below and above an open piece's cell (None: unbounded)."""
        i, k = cell // 2, len(self.breakpoints)
        return (self.breakpoints[i - 1] if i > 0 else None, self.breakpoints[i] if i < k else None)

    def piece_cells(self) -> list[int]:
        """The cells of the open pieces, in the code-point order of their symbols (for
        ReLU ``+`` before ``-``, the order tvmip's search tree uses)."""
        return sorted(range(0, 2 * len(self.breakpoints) + 1, 2), key=self.symbol)

    def __call__(self, z: Fraction) -> Fraction:
        slope, offset = self.affine(self.cell_of(z))
        return slope * z + offset


@dataclass(frozen=True)
class LeakyRelu:
    """``alpha * z`` for z < 0, ``z`` for z >= 0."""

    alpha: Fraction


@dataclass(frozen=True)
class Quantize:
    """ONNX QuantizeLinear then DequantizeLinear:
    ``q = clamp(round_half_even(z / scale) + zero_point, qmin, qmax)``, value
    ``(q - zero_point) * scale``."""

    scale: Fraction
    zero_point: int
    qmin: int
    qmax: int

    def __post_init__(self) -> None:
        if not self.scale > 0:
            raise ValueError("quantize: the scale must be positive")
        if not self.qmin <= self.zero_point <= self.qmax:
            raise ValueError("quantize: the zero point must lie in [qmin, qmax]")


Activation = str | LeakyRelu | Quantize | Pwl
"""A word from :data:`WORDS`, or a family's exact parameters."""


def round_half_even(z: Fraction) -> int:
    """The integer nearest z; halves go to the even neighbour (banker's rounding)."""
    low = z.numerator // z.denominator  # floor
    rest = z - low
    if rest != Q(1, 2):
        return low + (rest > Q(1, 2))
    return low if low % 2 == 0 else low + 1


def activation_value(act: Activation, z: Fraction) -> Fraction:
    """sigma(z) straight from the activation's definition (not from its table)."""
    match act:
        case "identity":
            return z
        case "relu":
            return max(z, Q(0))
        case "step":
            return Q(1) if z >= 0 else Q(0)
        case "sign":
            return Q(1) if z >= 0 else Q(-1)
        case "hardtanh":
            return min(max(z, Q(-1)), Q(1))
        case LeakyRelu(alpha):
            return z if z >= 0 else alpha * z
        case Quantize(scale, zero_point, qmin, qmax):
            q = min(max(round_half_even(z / scale) + zero_point, qmin), qmax)
            return (q - zero_point) * scale
        case Pwl():
            return act(z)
    raise ValueError(f"unknown activation {act!r}")


def pwl_table(act: Activation) -> Pwl:
    """The activation as breakpoints, pieces and breakpoint values, derived by hand
    from each definition.  Quantize: round_half_even(z / s) is the constant m on
    s (m - 1/2, m + 1/2); clamping to [qmin - z0, qmax - z0] merges the outer levels,
    so the breakpoints are s (m + 1/2) for m = qmin - z0 .. qmax - z0 - 1, the pieces
    the levels s m for m = qmin - z0 .. qmax - z0, and the value at s (m + 1/2) is
    s times the even one of m and m + 1 (both inside the clamp range)."""
    zero, one = Q(0), Q(1)
    match act:
        case "identity":
            return Pwl((), ((one, zero),), ())
        case "relu":
            return Pwl((zero,), ((zero, zero), (one, zero)), (zero,))
        case "step":
            return Pwl((zero,), ((zero, zero), (zero, one)), (one,))
        case "sign":
            return Pwl((zero,), ((zero, -one), (zero, one)), (one,))
        case "hardtanh":
            return Pwl((-one, one), ((zero, -one), (one, zero), (zero, one)), (-one, one))
        case LeakyRelu(alpha):
            return Pwl((zero,), ((alpha, zero), (one, zero)), (zero,))
        case Quantize(scale, zero_point, qmin, qmax):
            lo, hi = qmin - zero_point, qmax - zero_point
            return Pwl(
                tuple(scale * (m + Q(1, 2)) for m in range(lo, hi)),
                tuple((zero, scale * m) for m in range(lo, hi + 1)),
                tuple(scale * (m if m % 2 == 0 else m + 1) for m in range(lo, hi)),
            )
        case Pwl():
            return act
    raise ValueError(f"unknown activation {act!r}")


def _integer(value: Any) -> int:
    number = _number(value)
    if number.denominator != 1:
        raise ValueError(f"not an integer: {value!r}")
    return number.numerator


def parse_activation(value: Any) -> Activation:
    """An activation as a network file names it: a word from :data:`WORDS`, or
    ``{"leaky_relu": a}``, ``{"quantize": {"scale", "zero_point", "qmin", "qmax"}}``,
    ``{"pwl": {"breakpoints", "pieces", "values"}}``."""
    if isinstance(value, str) and value in WORDS:
        return value
    if isinstance(value, dict) and len(value) == 1:
        ((name, params),) = value.items()
        if name == "leaky_relu":
            return LeakyRelu(_number(params))
        if name == "quantize" and isinstance(params, dict):
            if set(params) != {"scale", "zero_point", "qmin", "qmax"}:
                raise ValueError("quantize needs scale, zero_point, qmin, qmax")
            return Quantize(_number(params["scale"]),
                            *(_integer(params[k]) for k in ("zero_point", "qmin", "qmax")))
        if name == "pwl" and isinstance(params, dict):
            if set(params) != {"breakpoints", "pieces", "values"}:
                raise ValueError("pwl needs breakpoints, pieces, values")
            return Pwl(tuple(_number(t) for t in params["breakpoints"]),
                       tuple((_number(a), _number(b)) for a, b in params["pieces"]),
                       tuple(_number(v) for v in params["values"]))
    raise ValueError(f"unknown activation {value!r}")


def activation_json(act: Activation) -> Any:
    """The activation as a network file writes it (rationals as ints or "p/q")."""
    match act:
        case str():
            return act
        case LeakyRelu(alpha):
            return {"leaky_relu": fmt(alpha)}
        case Quantize(scale, zero_point, qmin, qmax):
            return {"quantize": {"scale": fmt(scale), "zero_point": zero_point,
                                 "qmin": qmin, "qmax": qmax}}
        case Pwl(breakpoints, pieces, values):
            return {"pwl": {"breakpoints": [fmt(t) for t in breakpoints],
                            "pieces": [[fmt(a), fmt(b)] for a, b in pieces],
                            "values": [fmt(v) for v in values]}}
    raise ValueError(f"unknown activation {act!r}")


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class Layer:
    """``W z + b`` followed by ``activation`` (a word such as 'relu' or 'identity',
    or a :class:`LeakyRelu`, :class:`Quantize` or :class:`Pwl`)."""

    weights: tuple[tuple[Fraction, ...], ...]
    biases: tuple[Fraction, ...]
    activation: Activation = IDENTITY

    @property
    def width(self) -> int:
        return len(self.biases)

    @property
    def table(self) -> Pwl:
        """The activation's :class:`Pwl` table."""
        return pwl_table(self.activation)

    @property
    def stateful(self) -> bool:
        """Whether its neurons carry a state (the activation has a breakpoint)."""
        return bool(self.table.breakpoints)


@dataclass(frozen=True)
class Net:
    """A feed-forward network with exact rational parameters."""

    input_dim: int
    layers: tuple[Layer, ...]
    output: Layer

    @property
    def relu_count(self) -> int:
        return sum(layer.width for layer in self.layers if layer.activation == RELU)

    @property
    def state_count(self) -> int:
        """Number of neurons that carry a state: the length of a pattern."""
        return sum(layer.width for layer in self.layers if layer.stateful)


def _number(value: Any) -> Fraction:
    """A JSON number or rational string, read exactly (floats by their decimal text)."""
    if isinstance(value, bool):
        raise ValueError(f"not a number: {value!r}")  # noqa: TRY004 -- callers catch ValueError
    if isinstance(value, (int, Fraction)):
        return Fraction(value)
    if isinstance(value, float):  # a dict built in Python: use the shortest decimal text
        return Fraction(repr(value))
    if isinstance(value, str):
        return Fraction(value.strip())
    raise ValueError(f"not a number: {value!r}")


def _layer(data: dict[str, Any], fan_in: int, activation: Any) -> Layer:
    weights = tuple(tuple(_number(w) for w in row) for row in data["weights"])
    biases = tuple(_number(b) for b in data["biases"])
    if len(weights) != len(biases):
        raise ValueError("weights and biases disagree on the layer width")
    if any(len(row) != fan_in for row in weights):
        raise ValueError(f"a weight row does not have {fan_in} entries")
    return Layer(weights, biases, parse_activation(activation))


def load(source: str | Path | dict[str, Any] | Net) -> Net:
    """Read a network from a file path, a JSON dict, or return a :class:`Net` unchanged."""
    if isinstance(source, Net):
        return source
    if isinstance(source, (str, Path)):
        data = json.loads(Path(source).read_text(), parse_float=Fraction)
    else:
        data = source
    fmt_ = data.get("format", "tvmip-network/1")
    if fmt_ != "tvmip-network/1":
        raise ValueError(f"unknown format {fmt_!r}")
    dim = int(data["input_dim"])
    layers = []
    fan_in = dim
    for item in data["layers"]:
        layer = _layer(item, fan_in, item.get("activation", RELU))
        layers.append(layer)
        fan_in = layer.width
    output = _layer(data["output"], fan_in, IDENTITY)
    return Net(dim, tuple(layers), output)


def fmt(q: int | Fraction) -> int | str:
    """A rational as a JSON value: an int, or a "p/q" string."""
    q = Fraction(q)
    return q.numerator if q.denominator == 1 else f"{q.numerator}/{q.denominator}"


def to_json(net: Net, **extra: Any) -> dict[str, Any]:
    """The network as a ``tvmip-network/1`` dict (extra keys such as name first)."""

    def layer(lay: Layer, act: bool) -> dict[str, Any]:
        out: dict[str, Any] = {
            "weights": [[fmt(w) for w in row] for row in lay.weights],
            "biases": [fmt(b) for b in lay.biases],
        }
        if act:
            out["activation"] = activation_json(lay.activation)
        return out

    return {
        "format": "tvmip-network/1",
        **extra,
        "input_dim": net.input_dim,
        "layers": [layer(lay, True) for lay in net.layers],
        "output": layer(net.output, False),
    }


def evaluate(net: Net | dict[str, Any], x: Sequence[Fraction]) -> tuple[Fraction, ...]:
    """f(x) exactly, every activation by :func:`activation_value` (its definition)."""
    net = load(net)
    z = [Fraction(v) for v in x]
    for lay in net.layers:
        pre = [sum((w * v for w, v in zip(row, z)), b) for row, b in zip(lay.weights, lay.biases)]
        z = [activation_value(lay.activation, v) for v in pre]
    return tuple(sum((w * v for w, v in zip(row, z)), b) for row, b in zip(net.output.weights, net.output.biases))


# ------------------------------------------------------------------ affine helpers


def _compose(lay: Layer, maps: Sequence[Affine], dim: int) -> list[Affine]:
    """Pre-activation maps W z + b of a layer whose inputs z are affine maps of x."""
    out = []
    for row, b in zip(lay.weights, lay.biases):
        acc = [Q(0)] * (dim + 1)
        for w, m in zip(row, maps):
            if w:
                for k in range(dim + 1):
                    acc[k] += w * m[k]
        acc[dim] += b
        out.append(tuple(acc))
    return out


def _apply(m: Affine, x: Sequence[Fraction]) -> Fraction:
    return sum((g * v for g, v in zip(m, x)), m[-1])


def _is_zero(m: Affine) -> bool:
    return not any(m)


def _is_constant(m: Affine) -> bool:
    """The map does not depend on x."""
    return not any(m[:-1])


def _identity_maps(dim: int) -> list[Affine]:
    return [tuple(Q(int(i == k)) for k in range(dim)) + (Q(0),) for i in range(dim)]


def _cell_map(table: Pwl, cell: int, m: Affine) -> Affine:
    """sigma(m(x)) as an affine map of x when m(x) stays in ``cell``: slope * m + offset
    (the constant v_j on a breakpoint's cell)."""
    slope, offset = table.affine(cell)
    return (*(slope * g for g in m[:-1]), slope * m[-1] + offset)


def _layer_at(lay: Layer, pre: Sequence[Affine], x: Sequence[Fraction]) -> tuple[str, list[Affine]] | None:
    """The symbols and post-activation maps of one layer whose pre-activation maps
    (along the earlier layers' states) are ``pre``, on the activation region holding
    the point x; None if x is on a boundary: some non-constant pre-activation equals
    a breakpoint at x.  A constant pre-activation is in the cell of its value (a
    breakpoint's cell included) and never makes x a boundary point."""
    table = lay.table
    symbols, post = [], []
    for m in pre:
        cell = table.cell_of(m[-1] if _is_constant(m) else _apply(m, x))
        if cell % 2 and not _is_constant(m):
            return None
        if table.breakpoints:
            symbols.append(table.symbol(cell))
        post.append(_cell_map(table, cell, m))
    return "".join(symbols), post


# ------------------------------------------------------------- general position


def arrangement_count(n: int, n0: int) -> int:
    """Regions of n hyperplanes in general position in R^n0: sum_{j<=n0} C(n, j)."""
    return sum(comb(n, j) for j in range(n0 + 1))


def _det(rows: Sequence[Sequence[Fraction]]) -> Fraction:
    """Exact determinant by Gaussian elimination."""
    a = [list(map(Fraction, r)) for r in rows]
    n = len(a)
    det = Q(1)
    for col in range(n):
        piv = next((r for r in range(col, n) if a[r][col] != 0), None)
        if piv is None:
            return Q(0)
        if piv != col:
            a[col], a[piv] = a[piv], a[col]
            det = -det
        det *= a[col][col]
        for r in range(col + 1, n):
            f = a[r][col] / a[col][col]
            if f:
                for c in range(col, n):
                    a[r][c] -= f * a[col][c]
    return det


def _rank(rows: Sequence[Sequence[Fraction]]) -> int:
    a = [list(map(Fraction, r)) for r in rows]
    rank, ncols = 0, len(a[0]) if a else 0
    for col in range(ncols):
        piv = next((r for r in range(rank, len(a)) if a[r][col] != 0), None)
        if piv is None:
            continue
        a[rank], a[piv] = a[piv], a[rank]
        for r in range(len(a)):
            if r != rank and a[r][col]:
                f = a[r][col] / a[rank][col]
                a[r] = [x - f * y for x, y in zip(a[r], a[rank])]
        rank += 1
    return rank


def in_general_position(weights: Sequence[Sequence[Fraction]], biases: Sequence[Fraction]) -> bool:
    """Hyperplanes w_i.x + b_i = 0 are in general position: every subset of at most
    n0 normals is linearly independent and no n0 + 1 of them share a point."""
    n, n0 = len(weights), len(weights[0])
    k = min(n, n0)
    # independence of every k-subset implies independence of all smaller subsets
    for sub in itertools.combinations(range(n), k):
        if _rank([weights[i] for i in sub]) < k:
            return False
    # given independent normals, n0 + 1 hyperplanes meet iff det [W_S | b_S] == 0
    for sub in itertools.combinations(range(n), n0 + 1):
        if _det([list(weights[i]) + [biases[i]] for i in sub]) == 0:
            return False
    return True


def general_position_layer(
    n: int, n0: int, rng: random.Random, ternary: bool, max_tries: int = 10_000
) -> dict[str, Any]:
    """A one-hidden-layer ReLU network (JSON dict) with n hyperplanes in general
    position in R^n0; its activation-region count over R^n0 is arrangement_count(n, n0).

    Ternary networks use weights in {-1, 0, 1} (so n <= (3^n0 - 1) / 2) and random
    rational biases; general ones use small random rationals.  Rejects and retries
    until the exact general-position check passes."""
    for _ in range(max_tries):
        if ternary:
            weights = [[Q(rng.choice((-1, 0, 1))) for _ in range(n0)] for _ in range(n)]
            biases = [Q(rng.randint(-15, 15), rng.choice((1, 2, 3, 5, 7))) for _ in range(n)]
            out = [Q(rng.choice((-1, 1))) for _ in range(n)]
        else:
            weights = [[Q(rng.randint(-9, 9), rng.randint(1, 4)) for _ in range(n0)] for _ in range(n)]
            biases = [Q(rng.randint(-20, 20), rng.randint(1, 5)) for _ in range(n)]
            out = [Q(rng.randint(-5, 5), rng.randint(1, 3)) for _ in range(n)]
        if in_general_position(weights, biases):
            return {
                "format": "tvmip-network/1",
                "input_dim": n0,
                "layers": [
                    {
                        "weights": [[fmt(w) for w in row] for row in weights],
                        "biases": [fmt(b) for b in biases],
                        "activation": RELU,
                    }
                ],
                "output": {"weights": [[fmt(w) for w in out]], "biases": [0]},
            }
    raise ValueError(f"no general-position layer found for n={n}, n0={n0}, ternary={ternary}")


# ----------------------------------------------------------------------- n0 = 1


@dataclass(frozen=True)
class Piece:
    """An open interval (lo, hi) (None: unbounded) with a constant pattern on it and
    the output map f(x) = slope * x + offset there (one entry per output)."""

    lo: Fraction | None
    hi: Fraction | None
    pattern: str
    slope: tuple[Fraction, ...]
    offset: tuple[Fraction, ...]

    @property
    def output_map(self) -> tuple[tuple[Fraction, Fraction], ...]:
        return tuple(zip(self.slope, self.offset))


def _inside(t: Fraction, lo: Fraction | None, hi: Fraction | None) -> bool:
    return (lo is None or t > lo) and (hi is None or t < hi)


def _interior_point(lo: Fraction | None, hi: Fraction | None) -> Fraction:
    if lo is None and hi is None:
        return Q(0)
    if lo is None:
        return hi - 1
    if hi is None:
        return lo + 1
    return (lo + hi) / 2


def breakpoints_1d(
    net: Net | dict[str, Any] | str | Path,
    lo: Fraction | None = None,
    hi: Fraction | None = None,
) -> list[Piece]:
    """Exact breakpoint propagation for input_dim 1 over the open interval (lo, hi)
    (None: unbounded on that side), for any piecewise-linear activations.

    Layer by layer, every interval of the current partition carries one affine map
    per layer input.  A neuron's pre-activation a x + c is then affine on the
    interval: if a != 0 it crosses breakpoint t of its activation at x = (t - c) / a
    (a cut when inside the interval); if a = 0 it is the constant c, sits in the cell
    of c (possibly a breakpoint's cell, whose value v_j then propagates) and never
    cuts.  Between consecutive cuts every neuron stays in one cell, read off at an
    interior point (:func:`_layer_at`).

    Returns the pieces left to right: the maximal open intervals between consecutive
    cuts.  Every piece carries one pattern, and adjacent pieces always differ (at a
    cut some non-constant neuron passes from one open piece to the next), so pieces
    = activation regions (asserted: regions are convex, so no pattern repeats).
    """
    net = load(net)
    if net.input_dim != 1:
        raise ValueError("breakpoints_1d needs input_dim 1")
    lo = None if lo is None else Q(lo)
    hi = None if hi is None else Q(hi)
    if lo is not None and hi is not None and not lo < hi:
        raise ValueError("empty interval")
    # each state: (lo, hi, pattern, maps of the current layer's outputs as (a, c))
    pieces: list[tuple[Fraction | None, Fraction | None, str, list[Affine]]] = [
        (lo, hi, "", _identity_maps(1))
    ]
    for lay in net.layers:
        breakpoints = lay.table.breakpoints
        new = []
        for plo, phi, pat, maps in pieces:
            pre = _compose(lay, maps, 1)
            cuts = {(t - c) / a for a, c in pre if a != 0 for t in breakpoints}
            bounds = [plo, *sorted(x for x in cuts if _inside(x, plo, phi)), phi]
            for slo, shi in itertools.pairwise(bounds):
                got = _layer_at(lay, pre, (_interior_point(slo, shi),))
                assert got is not None  # no cut strictly inside (slo, shi)
                states, post = got
                new.append((slo, shi, pat + states, post))
        pieces = new
    result = []
    for plo, phi, pat, maps in pieces:
        out = _compose(net.output, maps, 1)
        result.append(Piece(plo, phi, pat, tuple(m[0] for m in out), tuple(m[1] for m in out)))
    for left, right in itertools.pairwise(result):
        assert left.pattern != right.pattern, (left, right)
    assert len({p.pattern for p in result}) == len(result)
    return result


def linear_components_1d(pieces: Sequence[Piece]) -> list[int]:
    """The linear region (0, 1, ..) of each piece of :func:`breakpoints_1d`: adjacent
    pieces share their end point, an (n0 - 1 = 0)-dimensional facet, and are glued
    when their output maps are equal, whatever f's value at that point (see the
    module docstring); so linear regions are the maximal runs of equal maps."""
    ids, current = [], 0
    for i, piece in enumerate(pieces):
        if i and piece.output_map != pieces[i - 1].output_map:
            current += 1
        ids.append(current)
    return ids


def count_1d(
    net: Net | dict[str, Any] | str | Path,
    lo: Fraction | None = None,
    hi: Fraction | None = None,
) -> tuple[int, int, int]:
    """(activation_regions, linear_regions, distinct_maps) over (lo, hi) for n0 = 1.

    Linear regions merge adjacent pieces whose output maps are equal (for continuous
    f that is exactly "f is affine across their common end point"; for step-like
    activations the point itself may carry another value, which does not split an
    open region: :func:`linear_components_1d`); distinct_maps counts the distinct
    (slope, offset) maps, a lower bound on linear regions."""
    pieces = breakpoints_1d(net, lo, hi)
    linear = len(set(linear_components_1d(pieces)))
    return len(pieces), linear, len({p.output_map for p in pieces})


# ------------------------------------------------------------------ point patterns


def point_pattern(net: Net | dict[str, Any], x: Sequence[Fraction]) -> tuple[str, Affine] | None:
    """The pattern of the activation region containing x, and the output map there
    (first output), or None if x lies on a boundary: some pre-activation that is not
    constant along the pattern equals a breakpoint of its activation at x.

    Correctness: if every non-constant pre-activation lies strictly inside an open
    piece at x, by continuity it stays there on a neighbourhood of x, on which the
    maps along the pattern are therefore the ones computed here (induction over the
    layers): the neighbourhood lies in the pattern's region."""
    net = load(net)
    dim = net.input_dim
    x = [Q(v) for v in x]
    maps = _identity_maps(dim)
    states = []
    for lay in net.layers:
        got = _layer_at(lay, _compose(lay, maps, dim), x)
        if got is None:
            return None
        states.append(got[0])
        maps = got[1]
    out = _compose(net.output, maps, dim)
    return "".join(states), out[0]


def grid_patterns(net: Net | dict[str, Any], points: Iterable[Sequence[Fraction]]) -> set[str]:
    """Patterns realised at the given rational points (boundary points skipped): a
    lower bound on the set of activation regions, for any n0."""
    net = load(net)
    found = set()
    for x in points:
        got = point_pattern(net, x)
        if got is not None:
            found.add(got[0])
    return found


def rational_grid(
    box: tuple[Sequence[Fraction], Sequence[Fraction]], steps: int | Sequence[int]
) -> list[tuple[Fraction, ...]]:
    """Grid points lo + (i + 1/2 + e_k) h inside the box, one cell per step and
    coordinate; e_k is a tiny rational with a large prime denominator, different per
    coordinate, so points rarely fall on hyperplanes with small rational data."""
    los, his = [Q(v) for v in box[0]], [Q(v) for v in box[1]]
    dim = len(los)
    if isinstance(steps, int):
        steps = [steps] * dim
    axes = []
    for k in range(dim):
        h = (his[k] - los[k]) / steps[k]
        e = Q(k + 1, 1_000_003 * (k + 2))
        axes.append([los[k] + (i + Q(1, 2) + e) * h for i in range(steps[k])])
    return list(itertools.product(*axes))


# ----------------------------------------------------------------------- n0 = 2

Point = tuple[Fraction, Fraction]


@dataclass(frozen=True)
class Cell:
    """A convex polygon (counter-clockwise vertices, positive area) that is the
    closure of one activation region inside the box, with its pattern and the
    affine maps (g1, g2, c) of the outputs on it."""

    polygon: tuple[Point, ...]
    pattern: str
    outputs: tuple[Affine, ...]


def _area2(poly: Sequence[Point]) -> Fraction:
    """Twice the signed area (shoelace)."""
    return sum((p[0] * q[1] - q[0] * p[1] for p, q in zip(poly, poly[1:] + poly[:1])), Q(0))


def _clip(poly: list[Point], m: Affine, sign: int) -> list[Point]:
    """The part of a convex polygon where sign * m(x) >= 0 (Sutherland-Hodgman)."""
    out: list[Point] = []
    vals = [sign * _apply(m, p) for p in poly]
    for i, p in enumerate(poly):
        j = (i + 1) % len(poly)
        q, vp, vq = poly[j], vals[i], vals[j]
        if vp >= 0:
            out.append(p)
        if (vp > 0 > vq) or (vp < 0 < vq):
            t = vp / (vp - vq)
            out.append((p[0] + t * (q[0] - p[0]), p[1] + t * (q[1] - p[1])))
    return out


def _clip_piece(poly: list[Point], m: Affine, table: Pwl, cell: int) -> list[Point] | None:
    """The closure of the part of a convex polygon where m(x) lies in the open piece
    ``cell`` (t_i < m < t_{i+1}), or None if that part has zero area."""
    below, above = table.piece_bounds(cell)
    for t, sign in ((below, 1), (above, -1)):
        if t is not None:
            poly = _clip(poly, (*m[:-1], m[-1] - t), sign)
            if len(poly) < 3 or _area2(poly) <= 0:
                return None
    return poly


def polygon_cells_2d(
    net: Net | dict[str, Any] | str | Path,
    box: tuple[Sequence[Fraction], Sequence[Fraction]],
) -> list[Cell]:
    """Exact activation regions of an n0 = 2 network inside the open box (lo, hi),
    for any piecewise-linear activations.

    The box polygon is split neuron by neuron, layer by layer.  On a current cell a
    neuron's pre-activation m (computed along the cell's states) is affine: if m is
    constant the neuron takes the cell of its value (a breakpoint's cell included)
    and does not split; otherwise the polygon is cut by the parallel lines m = t_j
    into the bands t_i < m < t_{i+1} of the open pieces, keeping bands of positive
    area, each with post-activation map slope_i * m + offset_i.  Stateless neurons
    (no breakpoint) only map.  One cell per activation region (asserted)."""
    net = load(net)
    if net.input_dim != 2:
        raise ValueError("polygon_cells_2d needs input_dim 2")
    (x0, y0), (x1, y1) = [Q(v) for v in box[0]], [Q(v) for v in box[1]]
    if not (x0 < x1 and y0 < y1):
        raise ValueError("empty box")
    square = [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
    cells: list[tuple[list[Point], str, list[Affine]]] = [(square, "", _identity_maps(2))]
    for lay in net.layers:
        table = lay.table
        # (polygon, pattern, this layer's pre-activation maps, post-activation maps)
        work = [(poly, pat, _compose(lay, maps, 2), []) for poly, pat, maps in cells]
        for j in range(lay.width):
            nxt = []
            for poly, pat, pre, post in work:
                m = pre[j]
                if not table.breakpoints or _is_constant(m):  # one cell: no split
                    cell = table.cell_of(m[-1])
                    state = table.symbol(cell) if table.breakpoints else ""
                    nxt.append((poly, pat + state, pre, [*post, _cell_map(table, cell, m)]))
                    continue
                for cell in table.piece_cells():
                    part = _clip_piece(poly, m, table, cell)
                    if part is not None:
                        nxt.append((part, pat + table.symbol(cell), pre, [*post, _cell_map(table, cell, m)]))
            work = nxt
        cells = [(poly, pat, post) for poly, pat, _, post in work]
    result = [Cell(tuple(poly), pat, tuple(_compose(net.output, maps, 2))) for poly, pat, maps in cells]
    # regions are convex, so each pattern is realised by exactly one cell
    assert len({c.pattern for c in result}) == len(result)
    return result


def polygon_count_2d(
    net: Net | dict[str, Any] | str | Path,
    box: tuple[Sequence[Fraction], Sequence[Fraction]],
) -> int:
    """Number of activation regions of an n0 = 2 network inside the open box."""
    return len(polygon_cells_2d(net, box))


def _line_key(p: Point, q: Point) -> tuple[Fraction, Fraction, Fraction]:
    """The line through p != q as (a, b, c) with a x + b y = c, normalised."""
    a, b = q[1] - p[1], p[0] - q[0]
    c = a * p[0] + b * p[1]
    s = a if a != 0 else b
    return a / s, b / s, c / s


def polygon_components_2d(cells: Sequence[Cell]) -> list[int]:
    """The linear region of each cell of :func:`polygon_cells_2d`, as the index of a
    representative cell: cells whose boundaries share a segment of positive length
    (a facet; two disjoint convex cells can only share one from opposite sides) and
    whose output maps are equal are glued (union-find)."""
    parent = list(range(len(cells)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    edges: dict[tuple[Fraction, Fraction, Fraction], list[tuple[Fraction, Fraction, int]]] = {}
    for idx, cell in enumerate(cells):
        poly = cell.polygon
        for p, q in zip(poly, poly[1:] + poly[:1]):
            if p == q:
                continue
            key = _line_key(p, q)
            # parameter along the line: x unless the line is vertical
            t0, t1 = (p[0], q[0]) if key[1] != 0 else (p[1], q[1])
            edges.setdefault(key, []).append((min(t0, t1), max(t0, t1), idx))
    for segs in edges.values():
        for (a0, a1, i), (b0, b1, j) in itertools.combinations(segs, 2):
            if i != j and min(a1, b1) > max(a0, b0) and cells[i].outputs == cells[j].outputs:
                parent[find(i)] = find(j)
    return [find(i) for i in range(len(cells))]


def polygon_linear_count_2d(cells: Sequence[Cell]) -> tuple[int, int]:
    """(linear_regions, distinct_maps) from the cells of :func:`polygon_cells_2d`:
    cells sharing a boundary segment of positive length with equal output maps are
    glued; linear regions are the connected components."""
    return len(set(polygon_components_2d(cells))), len({c.outputs for c in cells})


# ------------------------------------------------------------- separable networks


def separable_blocks(net: Net | dict[str, Any] | str | Path) -> list[Net] | None:
    """Split a network whose every neuron depends on at most one input coordinate into
    one 1-D network per coordinate (neurons depending on no coordinate, i.e. constants,
    are copied into every block); None if some neuron reads two coordinates.

    Regions of such a network are products of intervals, so its activation-region
    count over R^n0 or a box is the product of the blocks' 1-D counts."""
    net = load(net)
    deps: list[frozenset[int]] = [frozenset({k}) for k in range(net.input_dim)]
    layer_deps = []
    for lay in net.layers:
        new = []
        for row in lay.weights:
            dep = frozenset().union(*(deps[c] for c, w in enumerate(row) if w))
            if len(dep) > 1:
                return None
            new.append(dep)
        layer_deps.append(new)
        deps = new
    blocks = []
    for k in range(net.input_dim):
        keep_prev = [k]
        layers = []
        for lay, dl in zip(net.layers, layer_deps):
            keep = [i for i, dep in enumerate(dl) if dep <= {k}]
            layers.append(Layer(
                tuple(tuple(lay.weights[i][c] for c in keep_prev) for i in keep),
                tuple(lay.biases[i] for i in keep),
                lay.activation,
            ))
            keep_prev = keep
        out = Layer(tuple(tuple(row[c] for c in keep_prev) for row in net.output.weights),
                    tuple(Q(0) for _ in net.output.biases))
        blocks.append(Net(1, tuple(layers), out))
    return blocks


def count_separable(
    net: Net | dict[str, Any] | str | Path,
    box: tuple[Sequence[Fraction], Sequence[Fraction]] | None = None,
) -> int | None:
    """Activation regions of a separable network (product of 1-D counts), else None."""
    blocks = separable_blocks(net)
    if blocks is None:
        return None
    total = 1
    for k, block in enumerate(blocks):
        lo, hi = (None, None) if box is None else (Q(box[0][k]), Q(box[1][k]))
        total *= count_1d(block, lo, hi)[0]
    return total
