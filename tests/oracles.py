"""Independent exact oracles for counting activation and linear regions.

This module deliberately imports nothing from :mod:`tvmip`: it reads the
``tvmip-network/1`` JSON format itself and does all arithmetic in
:class:`fractions.Fraction`, so that it can catch bugs in tvmip's own reader,
search and checker.  Definitions follow ``shared/DESIGN.md`` sections 1-2:

* a pattern has one state per ReLU neuron, in layer order: ``+`` (pre-activation
  > 0), ``-`` (< 0) or ``0`` (pre-activation identically zero on the region);
  identity neurons carry no state;
* the activation region of a pattern is the open set of domain points where the
  pre-activations, computed along that pattern, have exactly its strict signs.
  Along a fixed pattern every pre-activation is affine in x, so a region is an
  intersection of open half-spaces: convex, and one region per realised pattern;
* linear regions are the classes of activation regions glued across shared
  facets with equal affine maps of f (for n0 = 1: maximal intervals where f is
  affine).

Oracles:

* :func:`breakpoints_1d` / :func:`count_1d` -- exact breakpoint propagation (n0 = 1);
* :func:`polygon_cells_2d` / :func:`polygon_count_2d` -- exact polygon splitting (n0 = 2);
* :func:`grid_patterns` -- patterns realised at given rational points (any n0);
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
    "Cell",
    "Layer",
    "Net",
    "Piece",
    "arrangement_count",
    "breakpoints_1d",
    "count_1d",
    "count_separable",
    "evaluate",
    "fmt",
    "general_position_layer",
    "grid_patterns",
    "in_general_position",
    "load",
    "point_pattern",
    "polygon_cells_2d",
    "polygon_count_2d",
    "polygon_linear_count_2d",
    "rational_grid",
    "separable_blocks",
    "to_json",
]

RELU = "relu"
IDENTITY = "identity"

Q = Fraction
# An affine map of the input x in R^n0: (g_1, ..., g_n0, c) meaning g.x + c.
Affine = tuple[Fraction, ...]


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class Layer:
    """``W z + b`` followed by ``activation`` ('relu' or 'identity')."""

    weights: tuple[tuple[Fraction, ...], ...]
    biases: tuple[Fraction, ...]
    activation: str = IDENTITY

    @property
    def width(self) -> int:
        return len(self.biases)


@dataclass(frozen=True)
class Net:
    """A feed-forward network with exact rational parameters."""

    input_dim: int
    layers: tuple[Layer, ...]
    output: Layer

    @property
    def relu_count(self) -> int:
        return sum(layer.width for layer in self.layers if layer.activation == RELU)


def _number(value: Any) -> Fraction:
    """A JSON number or rational string, read exactly (floats by their decimal text)."""
    if isinstance(value, bool):
        raise ValueError(f"not a number: {value!r}")
    if isinstance(value, (int, Fraction)):
        return Fraction(value)
    if isinstance(value, float):  # a dict built in Python: use the shortest decimal text
        return Fraction(repr(value))
    if isinstance(value, str):
        return Fraction(value.strip())
    raise ValueError(f"not a number: {value!r}")


def _layer(data: dict[str, Any], fan_in: int, activation: str) -> Layer:
    weights = tuple(tuple(_number(w) for w in row) for row in data["weights"])
    biases = tuple(_number(b) for b in data["biases"])
    if len(weights) != len(biases):
        raise ValueError("weights and biases disagree on the layer width")
    if any(len(row) != fan_in for row in weights):
        raise ValueError(f"a weight row does not have {fan_in} entries")
    if activation not in (RELU, IDENTITY):
        raise ValueError(f"unknown activation {activation!r}")
    return Layer(weights, biases, activation)


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
            out["activation"] = lay.activation
        return out

    return {
        "format": "tvmip-network/1",
        **extra,
        "input_dim": net.input_dim,
        "layers": [layer(lay, True) for lay in net.layers],
        "output": layer(net.output, False),
    }


def evaluate(net: Net | dict[str, Any], x: Sequence[Fraction]) -> tuple[Fraction, ...]:
    """f(x) exactly."""
    net = load(net)
    z = [Fraction(v) for v in x]
    for lay in net.layers:
        pre = [sum((w * v for w, v in zip(row, z)), b) for row, b in zip(lay.weights, lay.biases)]
        z = [max(v, Q(0)) for v in pre] if lay.activation == RELU else pre
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


def _identity_maps(dim: int) -> list[Affine]:
    return [tuple(Q(int(i == k)) for k in range(dim)) + (Q(0),) for i in range(dim)]


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
    (None: unbounded on that side).  Returns the pieces left to right: maximal open
    intervals between consecutive points where some pre-activation that is not
    identically zero nearby vanishes.  Every piece carries one pattern, and adjacent
    pieces always have different patterns (asserted), so pieces = activation regions.
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
        new = []
        for plo, phi, pat, maps in pieces:
            pre = _compose(lay, maps, 1)
            if lay.activation == IDENTITY:
                new.append((plo, phi, pat, pre))
                continue
            cuts = sorted({-c / a for a, c in pre if a != 0 and _inside(-c / a, plo, phi)})
            bounds = [plo, *cuts, phi]
            for slo, shi in itertools.pairwise(bounds):
                x = _interior_point(slo, shi)
                states, post = [], []
                for m in pre:
                    if _is_zero(m):
                        states.append("0")
                        post.append((Q(0), Q(0)))
                    elif _apply(m, (x,)) > 0:
                        states.append("+")
                        post.append(m)
                    else:
                        # no root strictly inside, so the sign at x is the sign on the piece
                        assert _apply(m, (x,)) < 0
                        states.append("-")
                        post.append((Q(0), Q(0)))
                new.append((slo, shi, pat + "".join(states), post))
        pieces = new
    result = []
    for plo, phi, pat, maps in pieces:
        out = _compose(net.output, maps, 1)
        result.append(Piece(plo, phi, pat, tuple(m[0] for m in out), tuple(m[1] for m in out)))
    # Along one pattern every pre-activation is one affine function; an affine function
    # that is not identically zero and vanishes at a point changes sign there.  So
    # neighbours differ, and since regions are convex (intervals), no pattern repeats.
    for left, right in itertools.pairwise(result):
        assert left.pattern != right.pattern, (left, right)
    assert len({p.pattern for p in result}) == len(result)
    return result


def count_1d(
    net: Net | dict[str, Any] | str | Path,
    lo: Fraction | None = None,
    hi: Fraction | None = None,
) -> tuple[int, int, int]:
    """(activation_regions, linear_regions, distinct_maps) over (lo, hi) for n0 = 1.

    Linear regions merge adjacent pieces whose output maps are equal (f is continuous,
    so it is affine across their common endpoint); distinct_maps counts the distinct
    (slope, offset) maps, a lower bound on linear regions."""
    pieces = breakpoints_1d(net, lo, hi)
    linear = 1 + sum(a.output_map != b.output_map for a, b in itertools.pairwise(pieces))
    return len(pieces), linear, len({p.output_map for p in pieces})


# ------------------------------------------------------------------ point patterns


def point_pattern(net: Net | dict[str, Any], x: Sequence[Fraction]) -> tuple[str, Affine] | None:
    """The pattern of the activation region containing x, and the output map there
    (first output), or None if x lies on a boundary: some pre-activation that is not
    identically zero along the pattern vanishes at x."""
    net = load(net)
    dim = net.input_dim
    x = [Q(v) for v in x]
    maps = _identity_maps(dim)
    states = []
    for lay in net.layers:
        pre = _compose(lay, maps, dim)
        if lay.activation == IDENTITY:
            maps = pre
            continue
        maps = []
        for m in pre:
            zero = (Q(0),) * (dim + 1)
            if _is_zero(m):
                states.append("0")
                maps.append(zero)
                continue
            v = _apply(m, x)
            if v == 0:
                return None
            states.append("+" if v > 0 else "-")
            maps.append(m if v > 0 else zero)
    out = _compose(net.output, maps, dim)
    return "".join(states), out[0]


def grid_patterns(net: Net | dict[str, Any], points: Iterable[Sequence[Fraction]]) -> set[str]:
    """Patterns realised at the given rational points (boundary points skipped)."""
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


def polygon_cells_2d(
    net: Net | dict[str, Any] | str | Path,
    box: tuple[Sequence[Fraction], Sequence[Fraction]],
) -> list[Cell]:
    """Exact activation regions of an n0 = 2 network inside the open box (lo, hi):
    the box polygon is split by each ReLU neuron in order, layer by layer, along the
    line where its pre-activation (affine on the current cell) vanishes; only pieces
    of positive area are kept.  One cell per activation region."""
    net = load(net)
    if net.input_dim != 2:
        raise ValueError("polygon_cells_2d needs input_dim 2")
    (x0, y0), (x1, y1) = [Q(v) for v in box[0]], [Q(v) for v in box[1]]
    if not (x0 < x1 and y0 < y1):
        raise ValueError("empty box")
    square = [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
    cells: list[tuple[list[Point], str, list[Affine]]] = [(square, "", _identity_maps(2))]
    zero = (Q(0),) * 3
    for lay in net.layers:
        if lay.activation == IDENTITY:
            cells = [(poly, pat, _compose(lay, maps, 2)) for poly, pat, maps in cells]
            continue
        # (polygon, pattern, this layer's pre-activation maps, post-activation maps)
        work = [(poly, pat, _compose(lay, maps, 2), []) for poly, pat, maps in cells]
        for j in range(lay.width):
            nxt = []
            for poly, pat, pre, post in work:
                m = pre[j]
                if _is_zero(m):
                    nxt.append((poly, pat + "0", pre, post + [zero]))
                    continue
                for sign, state in ((1, "+"), (-1, "-")):
                    part = _clip(poly, m, sign)
                    if len(part) >= 3 and _area2(part) > 0:
                        nxt.append((part, pat + state, pre, post + [m if sign > 0 else zero]))
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


def polygon_linear_count_2d(cells: Sequence[Cell]) -> tuple[int, int]:
    """(linear_regions, distinct_maps) from the cells of :func:`polygon_cells_2d`:
    cells sharing a boundary segment of positive length with equal output maps are
    glued; linear regions are the connected components."""
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
    linear = len({find(i) for i in range(len(cells))})
    return linear, len({c.outputs for c in cells})


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
