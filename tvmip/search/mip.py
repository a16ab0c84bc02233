"""A mixed-integer baseline for counting activation regions, and a cross-check.

The model generalises the big-M formulation of Serra, Tjandraatmadja and
Ramalingam (2018), "Bounding and counting linear regions of deep neural
networks", from ReLU to every piecewise-linear activation of the network format
(:mod:`tvmip.checker.activation`), over a box.  A neuron with pre-activation
``h = w . z + b`` (``z`` the previous layer's output) and exact interval bounds
``L <= h <= U`` over the box may lie in the open pieces ``(t_i, t_i+1)`` that meet
``[L, U]`` and, where :func:`_plan` cannot rule it out, in the cell of a breakpoint
``t_j`` in ``[L, U]`` (``h`` identically ``t_j`` on the region).  With one such cell
(``L = U``, or ``[L, U]`` inside one piece) its state is fixed and its output is
that cell's affine map.  Otherwise it has a binary ``d_c`` per cell and

    sum_c d_c = 1
    h - eps >= sum_c l_c d_c,   h + eps <= sum_c u_c d_c        (strictly in the piece)
    y = r h + sum_c (s_c - r) [d_c h] + sum_c o_c d_c            (y = sigma(h))
    lo + eps <= x <= hi - eps,   MIN_MARGIN <= eps <= 1.

On a piece ``c`` with slope ``s_c`` and offset ``o_c``, ``l_c`` is its lower
breakpoint if that is ``>= L`` and ``u_c`` its upper one if ``<= U``, otherwise
``L - 1`` and ``U + 1`` (``eps <= 1`` keeps such a row slack); on a breakpoint's
cell ``l_c, u_c = t_j -+ 1``.  ``r`` is the slope most of the neuron's pieces share,
so only the other pieces need a product ``[d_c h]`` (binary times a bounded
continuous, linearised with big-M from ``L`` and ``U``): ReLU needs one, step,
sign and quantize none.  On a breakpoint's cell, where ``h = t_j``, the map is
written ``r h + sigma(t_j) - r t_j``, so it needs no product either.  Identity
layers (no breakpoint) are affine expressions of the previous layer.  Activation
regions are open, so a pattern is realised iff its strict system is feasible: the
margin ``eps`` makes every inequality strict, and the enumeration ends when the
model (with all no-good cuts) is infeasible, i.e. no pattern is left with a margin
of at least ``MIN_MARGIN``.  Each solve is a pure feasibility problem: maximising
``eps`` made every solve about 5x slower (the solver must prove a bound), and the
exact verification below finds a well-centred witness anyway.

A breakpoint's state (ReLU's ``'0'``) is a property of the affine map ``x -> h(x)``
along the pattern, not of one value: its binary forces ``h(x) = t_j``
(``h - L >= sum_j (t_j - L) d_j`` and ``h - U <= sum_j (t_j - U) d_j``) and the
gradient of ``h`` to 0 (each component within ``[G_lo, G_hi] (1 - sum_j d_j)``).
Only neurons that may stop at a breakpoint get such a binary: every gradient
interval contains 0 and ``t_j`` is a possible offset of ``h`` (see :func:`_plan`).
Gradients are tracked as expressions and, past a layer of binaries, through the
same products ``[d_c g]``.  Binary assignments and tvmip patterns are then in
one-to-one correspondence (the state of a neuron is the cell whose binary is 1,
written with its activation's symbol), so the no-good cut of an assignment cuts
exactly one pattern.

Trust: the MILP is solved in floating point by HiGHS.  Every pattern it reports is
re-verified exactly: its strict system, built in integers by
:mod:`tvmip.model.scaled`, is decided by :func:`tvmip.evidence.exact.solve_system`
(a rounded LP point checked exactly, else the exact simplex); refuted candidates
are cut and counted as ``spurious``.  But *completeness* -- the final infeasible
solve -- rests on the float solver and on ``MIN_MARGIN`` (absolute, in
pre-activation units): a region whose every interior point has a smaller margin
would be missed.  The MILP count is an independent baseline and cross-check, not a
proof; tvmip's certificate is.

HiGHS is used directly through highspy's modelling API rather than through PuLP:
the model is built once, each no-good cut is one added row, and nothing is
re-translated per solve (PuLP rebuilds and re-passes the whole model each time).
HiGHS has no solution pool and highspy no lazy-constraint rows, so patterns are
enumerated one solve at a time.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from itertools import combinations

import flint
import highspy

from ..checker.activation import Activation
from ..errors import InputError, ResourceLimit
from ..evidence.exact import Row, Witness, solve_system
from ..evidence.lp import MaxSlackLP, silent_highs
from ..model.network import Box, Network
from ..model.scaled import (
    ScaledNetwork,
    input_map,
    layer_output,
    pre_activations,
    region_rows,
)
from ..search.tree import Region

MAX_DERIVED_BOX = 10**6  # wider, and margins of MIN_MARGIN drown in float round-off
MIN_MARGIN = 1e-6  # the smallest margin eps the MILP looks for (see the module doc)
# HiGHS feasibility tolerances, below MIN_MARGIN.  At 1e-9 HiGHS 1.16 declared some
# feasible models (margin > 0.1) infeasible, depending on its random seed.
TOLERANCE = 1e-8
MAX_FLATS = 50_000  # vertex subsystems tried when deriving a box for R^n0

Interval = tuple[Fraction, Fraction]
_ZERO: Interval = (Fraction(0), Fraction(0))


@dataclass(frozen=True, slots=True)
class MilpResult:
    """What a MILP enumeration found.  ``solves`` includes the final infeasible one;
    ``complete`` means that solve was reached (per the float solver), otherwise
    ``stop_reason`` says why not; ``spurious`` counts solver candidates that exact
    arithmetic refuted; ``box`` is the bounded domain the model used."""

    regions: int
    solves: int
    seconds: float
    complete: bool
    spurious: int
    box: Box
    stop_reason: str | None = None


# -- the bounded domain ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Domain:
    """The box the MILP works in, and why it stands for the counted domain."""

    box: Box
    reason: str


def milp_box(network: ScaledNetwork, box: Box | None) -> Domain:
    """The box the MILP works in: ``box`` itself, or for R^n0 a box that meets every
    activation region, so that the regions of R^n0 and of the box correspond one to
    one (each region's trace on the box is convex and non-empty).

    With a single layer of neurons with a state, the regions are the cells of the
    arrangement of the hyperplanes ``pre = t_j`` (every non-constant neuron, every
    breakpoint of its activation), and the box is tight: the closure of each cell
    contains a minimal face of the arrangement, the flat where some ``rank``
    independent hyperplanes meet; the open box contains one point of each such flat
    (coordinates off the pivot columns set to 0), hence a point of every region near
    it.  For deeper networks the same argument runs on each region's own
    inequalities, with a bound instead of an enumeration (:func:`_largest_row_entry`)."""
    if box is not None:
        return Domain(box, "the given box")
    dim = network.dim
    if sum(layer.stateful for layer in network.layers) > 1:
        largest = _largest_row_entry(network)
        bound = (math.isqrt(dim) + 1) ** dim * largest ** dim + 1
        reason = (f"each region's closure has a point solving at most n0 of its own "
                  f"inequalities as equations, integers of at most {largest.bit_length()} "
                  "bits, so by Cramer's rule and Hadamard's bound its coordinates lie inside: "
                  "the box meets every region")
    else:
        rows: set[tuple[int, ...]] = set()
        m, d = input_map(dim)
        for layer in network.layers:
            p, s = pre_activations(layer, m, d)
            if layer.stateful:
                rows = {_hyperplane(r, s, t) for r in p.tolist() if any(r[:-1])
                        for t in layer.activation.breakpoints}
                break
            m, d = layer_output(p, s, layer, None)
        bound = _vertex_bound(sorted(rows), dim)
        reason = ("it holds a point of every minimal face of the hyperplane arrangement "
                  "(exact enumeration): the box meets every region")
    return Domain(Box((Fraction(-bound),) * dim, (Fraction(bound),) * dim), reason)


def _hyperplane(row: list[int], s: int, t: Fraction) -> tuple[int, ...]:
    """The primitive integer row ``(a, c)`` of the hyperplane ``a . x + c = 0`` where
    the pre-activation ``(row[:-1] . x + row[-1]) / s`` equals ``t`` (sign fixed, so
    that duplicated neurons give one row)."""
    raw = [t.denominator * v for v in row[:-1]] + [t.denominator * row[-1] - t.numerator * s]
    g = math.gcd(*raw) if next(v for v in raw if v) > 0 else -math.gcd(*raw)
    return tuple(v // g for v in raw)


def _largest_row_entry(network: ScaledNetwork) -> int:
    """``M``, above every integer of every region's inequalities, whatever the pattern.

    Along any pattern a region is ``{x : a_i . x < c_i}`` with integer rows (a
    pre-activation minus one of its activation's breakpoints ``t_j = u / v``, times
    ``v`` and its layer's denominator); bounding every layer's integers for all
    patterns at once bounds them all (a breakpoint's state, a constant
    pre-activation, adds no row).  The closure's minimal face contains a point that
    solves ``r <= n0`` of the rows as equations with the other coordinates 0; by
    Cramer's rule each coordinate is a ratio of integer determinants, the
    denominator at least 1, the numerator at most ``(sqrt(r) M)^r`` (Hadamard),
    which :func:`milp_box` takes as its box."""
    m, d, largest = 1, 1, 1  # bounds on the input map's integers and its denominator
    for layer in network.layers:
        pre = layer.weight_bound * m + layer.bias_bound * d
        s = d * layer.scale
        for t in layer.activation.breakpoints:
            largest = max(largest, t.denominator * pre + abs(t.numerator) * s)
        m = max(abs(k) for k, _ in layer.cell_maps) * pre + \
            max(abs(c) for _, c in layer.cell_maps) * s
        d = s * layer.unit
    return largest


def _vertex_bound(rows: Sequence[Sequence[int]], dim: int) -> int:
    """An integer above every coordinate of the chosen point of each minimal flat
    of the hyperplanes ``a . x + c = 0`` (rows ``(a, c)``)."""
    if not rows:
        return 1
    gradients = flint.fmpq_mat(len(rows), dim, [v for r in rows for v in r[:-1]])
    reduced, rank = gradients.rref()
    pivots = [next(j for j in range(dim) if reduced[i, j] != 0) for i in range(rank)]
    if math.comb(len(rows), rank) > MAX_FLATS:
        raise InputError("the MILP over R^n0: too many hyperplanes to bound the arrangement "
                         "(give --box)")
    largest = Fraction(0)
    for subset in combinations(rows, rank):
        square = flint.fmpq_mat(rank, rank, [r[j] for r in subset for j in pivots])
        if square.det() == 0:
            continue
        point = square.solve(flint.fmpq_mat(rank, 1, [-r[-1] for r in subset]))
        for v in point.entries():
            largest = max(largest, abs(Fraction(int(v.p), int(v.q))))
    return math.floor(largest) + 1


# -- exact interval bounds ---------------------------------------------------------


def _bounds(weights: Sequence[Fraction], inputs: Sequence[Interval],
            bias: Fraction) -> Interval:
    """Interval arithmetic for ``w . z + b`` with ``z`` in the boxes ``inputs``."""
    lo = hi = bias
    for w, (a, b) in zip(weights, inputs):
        if w > 0:
            lo, hi = lo + w * a, hi + w * b
        elif w < 0:
            lo, hi = lo + w * b, hi + w * a
    return lo, hi


def _hull(values: Sequence[Fraction]) -> Interval:
    """The smallest interval holding ``values``."""
    return min(values), max(values)


def _gcd(a: Fraction, b: Fraction) -> Fraction:
    """The non-negative generator of the additive group ``a Z + b Z`` of rationals."""
    return Fraction(math.gcd(a.numerator * b.denominator, b.numerator * a.denominator),
                    a.denominator * b.denominator)


def _ends(act: Activation, cell: int) -> tuple[Fraction | None, Fraction | None]:
    """The breakpoints around a cell: ``t_j`` twice for a breakpoint's, and None
    where an open piece is unbounded."""
    if cell % 2:
        t = act.breakpoints[cell // 2]
        return t, t
    below, above = act.bounds(cell)
    return (None if below is None else act.breakpoints[below - 1],
            None if above is None else act.breakpoints[above - 1])


def _span(act: Activation, cell: int, pre: Interval) -> Interval:
    """The closed range of a pre-activation within ``pre`` on a cell that meets it."""
    lo, hi = _ends(act, cell)
    return (pre[0] if lo is None else max(lo, pre[0]),
            pre[1] if hi is None else min(hi, pre[1]))


def _margins(act: Activation, cell: int, pre: Interval) -> Interval:
    """``(l, u)`` with ``l + eps <= h <= u - eps`` on a cell: an open piece's
    breakpoints within ``pre``, else 1 beyond it (``eps <= 1``: no constraint); on a
    breakpoint's cell 1 either side (:meth:`_Model._branch` pins ``h`` there)."""
    if cell % 2:
        t = act.breakpoints[cell // 2]
        return t - 1, t + 1
    lo, hi = _ends(act, cell)
    return (lo if lo is not None and lo >= pre[0] else pre[0] - 1,
            hi if hi is not None and hi <= pre[1] else pre[1] + 1)


def _cells(act: Activation, pre: Interval, grad: Sequence[Interval], bias: Fraction,
           step: Fraction) -> tuple[int, ...]:
    """The cells a neuron may be in on a region of the box, in cell order.

    A constant pre-activation has its value's cell.  Otherwise: the open pieces that
    meet ``pre``, and the breakpoints ``t_j`` in it where ``h`` may be constant, i.e.
    every gradient interval contains 0 and ``t_j`` is a possible offset (value at
    x = 0) of ``h``.  Offsets along any pattern lie in ``bias + step Z``, where
    ``step`` generates the group holding every offset of the previous layer (times
    the weights): when ``t_j - bias`` is not in ``step Z`` the neuron never stops at
    ``t_j`` (e.g. the fold constructions, whose biases have ever finer
    denominators)."""
    lo, hi = pre
    if lo == hi:
        return (act.cell_of(lo),)
    flat = all(g_lo <= 0 <= g_hi for g_lo, g_hi in grad)
    cells = [2 * j + 1 for j, t in enumerate(act.breakpoints)
             if flat and lo <= t <= hi
             and (t == bias if step == 0 else ((t - bias) / step).denominator == 1)]
    for cell in range(0, act.cells, 2):
        below, above = _ends(act, cell)
        if (below is None or below < hi) and (above is None or above > lo):
            cells.append(cell)
    return tuple(sorted(cells))


@dataclass(frozen=True, slots=True)
class _Neuron:
    """Exact bounds of one neuron over the box, over all patterns: its pre-activation
    ``pre``, the gradient ``grad`` of the pre-activation in x, and the ``cells`` it
    may be in (a single cell: fixed on the whole box)."""

    pre: Interval
    grad: tuple[Interval, ...]
    cells: tuple[int, ...]

    @property
    def may_stop(self) -> bool:
        """Whether the neuron branches and one branch is a breakpoint's (constant ``h``)."""
        return len(self.cells) > 1 and any(cell % 2 for cell in self.cells)


def _plan(network: Network, box: Box) -> list[list[_Neuron]]:
    """Classify every neuron by exact interval arithmetic over the box, carrying per
    layer output the value and gradient intervals over its cells (a piece's map on
    its range, a breakpoint's value with gradient 0) and the group of the offsets
    (see :func:`_cells`)."""
    dim = network.input_dim
    values: list[Interval] = list(zip(box.lo, box.hi))
    one = (Fraction(1), Fraction(1))
    grads = [[one if c == k else _ZERO for c in range(dim)] for k in range(dim)]
    zero = Fraction(0)
    offsets = zero  # the current layer's output offsets lie in offsets * Z
    plan = []
    for layer in network.layers:
        act = layer.activation
        neurons, out_values, out_grads, out_offsets = [], [], [], zero
        for w, b in zip(layer.weights, layer.biases):
            pre = _bounds(w, values, b)
            grad = tuple(_bounds(w, [g[c] for g in grads], zero) for c in range(dim))
            step = zero
            for v in w:
                step = _gcd(step, v * offsets)
            neuron = _Neuron(pre, grad, _cells(act, pre, grad, b, step))
            neurons.append(neuron)
            maps = [act.affine(cell) for cell in neuron.cells]
            out_values.append(_hull([slope * v + offset
                                     for cell, (slope, offset) in zip(neuron.cells, maps)
                                     for v in _span(act, cell, pre)]))
            out_grads.append([_hull([slope * v for slope, _ in maps for v in g]) for g in grad])
            for slope, offset in maps:
                out_offsets = _gcd(_gcd(out_offsets, slope * _gcd(step, b)), offset)
        plan.append(neurons)
        values, grads, offsets = out_values, out_grads, out_offsets
    return plan


# -- the model ---------------------------------------------------------------------


class _Stopped(Exception):
    """A solve gave no answer: time limit, solver trouble or a violated cut."""


Var = highspy.highs.highs_var
Expr = highspy.highs.highs_linear_expression | Var | float


@dataclass(frozen=True, slots=True)
class _Position:
    """A pattern position: its activation and the cells the model may choose there,
    each with its binary (None for the single cell of a fixed neuron)."""

    activation: Activation
    cells: Mapping[int, Var | None]

    def symbol(self, values: Sequence[float]) -> str:
        """The state of a solution's column ``values``: the cell whose binary is 1."""
        return self.activation.symbol(max(self.cells, key=lambda cell: self._value(cell, values)))

    def _value(self, cell: int, values: Sequence[float]) -> float:
        binary = self.cells[cell]
        return 1.0 if binary is None else values[binary.index]


class _Model:
    """The big-M MILP of one network over one box, with its no-good cuts."""

    def __init__(self, network: Network, box: Box) -> None:
        plan = _plan(network, box)
        h = silent_highs()
        for option, value in (("presolve", "on"),
                              ("mip_feasibility_tolerance", TOLERANCE),
                              ("primal_feasibility_tolerance", TOLERANCE)):
            h.setOptionValue(option, value)
        self.highs = h
        dim = network.input_dim
        self.x = [h.addVariable(float(lo), float(hi)) for lo, hi in zip(box.lo, box.hi)]
        self.eps = h.addVariable(MIN_MARGIN, 1.0)
        for v, lo, hi in zip(self.x, box.lo, box.hi):
            h.addConstr(v - self.eps >= float(lo))
            h.addConstr(v + self.eps <= float(hi))
        # Gradients are tracked only up to the last layer with a neuron that may stop
        # at a breakpoint.
        track = max((i for i, layer in enumerate(plan) if any(n.may_stop for n in layer)),
                    default=-1)
        self.positions: list[_Position] = []
        z: list[Expr] = list(self.x)
        grads: list[list[Expr]] = [[1.0 if c == k else 0.0 for c in range(dim)]
                                   for k in range(dim)]
        zero = Fraction(0)
        for index, (layer, neurons) in enumerate(zip(network.layers, plan)):
            act = layer.activation
            out_z, out_grads = [], []
            for w, b, neuron in zip(layer.weights, layer.biases, neurons):
                pre = _combine(w, z, b)
                grad = [_combine(w, [g[c] for g in grads], zero) for c in range(dim)] \
                    if index <= track else []
                if len(neuron.cells) == 1:
                    slope, offset = act.affine(neuron.cells[0])
                    cells: Mapping[int, Var | None] = {neuron.cells[0]: None}
                    y, y_grad = _affine(slope, pre, offset), [_affine(slope, e) for e in grad]
                else:
                    cells, y, y_grad = self._branch(act, neuron, pre, grad, index < track)
                if act.stateful:
                    self.positions.append(_Position(act, cells))
                out_z.append(y)
                out_grads.append(y_grad if index < track else [])
            z, grads = out_z, out_grads
        self.cut: set[str] = set()
        self.exhausted = False  # a cut without binaries: the only pattern is cut

    def _branch(self, act: Activation, neuron: _Neuron, pre: Expr, grad: list[Expr],
                with_grad: bool) -> tuple[dict[int, Var], Expr, list[Expr]]:
        """Binaries and rows of a neuron with several cells; returns the binaries, the
        output and (``with_grad``) its gradient."""
        h, eps = self.highs, self.eps
        lo, hi = neuron.pre
        cells = {cell: h.addBinary() for cell in neuron.cells}
        binaries = list(cells.items())
        h.addConstr(h.qsum([d for _, d in binaries]) == 1)
        margins = [(_margins(act, cell, neuron.pre), d) for cell, d in binaries]
        h.addConstr(pre - eps - h.qsum([float(low) * d for (low, _), d in margins]) >= 0)
        h.addConstr(pre + eps - h.qsum([float(up) * d for (_, up), d in margins]) <= 0)
        stops = [(act.breakpoints[cell // 2], d) for cell, d in binaries if cell % 2]
        if stops:
            # a breakpoint's binary: h(x) = t_j and its gradient is 0
            h.addConstr(pre - h.qsum([float(t - lo) * d for t, d in stops]) >= float(lo))
            h.addConstr(pre - h.qsum([float(t - hi) * d for t, d in stops]) <= float(hi))
            stopped = h.qsum([d for _, d in stops])
            for e, (g_lo, g_hi) in zip(grad, neuron.grad):
                if (g_lo, g_hi) != _ZERO:
                    h.addConstr(e + float(g_hi) * stopped <= float(g_hi))
                    h.addConstr(e + float(g_lo) * stopped >= float(g_lo))
        slopes = Counter(act.affine(cell)[0] for cell in neuron.cells if cell % 2 == 0)
        r = slopes.most_common(1)[0][0]
        y = _affine(r, pre)
        y_grad = [_affine(r, e) for e in grad] if with_grad else []
        for cell, d in binaries:
            slope, offset = act.affine(cell) if cell % 2 == 0 else \
                (r, act.values[cell // 2] - r * act.breakpoints[cell // 2])
            if offset:
                y = y + float(offset) * d
            if slope != r:
                y = y + float(slope - r) * self._product(d, pre, neuron.pre)
                y_grad = [g + float(slope - r) * self._product(d, e, bounds)
                          for g, e, bounds in zip(y_grad, grad, neuron.grad)]
        return cells, y, y_grad

    def _product(self, a: Var, e: Expr, bounds: Interval) -> Expr:
        """``a * e`` for a binary ``a`` and an expression ``e`` within ``bounds``."""
        lo, hi = bounds
        if lo == hi:
            return float(lo) * a
        lo_f, hi_f = float(min(lo, Fraction(0))), float(max(hi, Fraction(0)))
        h = self.highs
        o = h.addVariable(lo_f, hi_f)
        h.addConstr(o - hi_f * a <= 0)
        h.addConstr(o - lo_f * a >= 0)
        h.addConstr(o - e - lo_f * a <= -lo_f)
        h.addConstr(o - e - hi_f * a >= -hi_f)
        return o

    def add_cut(self, pattern: str) -> None:
        """Cut off the assignment of ``pattern`` (a no-op for patterns the model
        cannot produce, e.g. a fixed neuron in another state)."""
        self.cut.add(pattern)
        chosen: list[Var] = []
        for position, state in zip(self.positions, pattern):
            cell = position.activation.cell(state)
            if cell not in position.cells:
                return
            binary = position.cells[cell]
            if binary is not None:
                chosen.append(binary)
        if chosen:
            self.highs.addConstr(self.highs.qsum(chosen) <= len(chosen) - 1)
        else:
            self.exhausted = True

    def solve(self, time_limit: float) -> str | None:
        """One solve: the pattern of a feasible assignment, or None if infeasible (no
        pattern left with margin >= MIN_MARGIN); :class:`_Stopped` if no answer."""
        if self.exhausted:
            return None
        h = self.highs
        h.setOptionValue("time_limit", max(time_limit, 1e-3))
        h.run()
        status = h.getModelStatus()
        if status in (highspy.HighsModelStatus.kInfeasible,
                      highspy.HighsModelStatus.kUnboundedOrInfeasible):  # all bounded
            return None
        if status == highspy.HighsModelStatus.kTimeLimit:
            raise _Stopped("time-limit")
        if status != highspy.HighsModelStatus.kOptimal:
            raise _Stopped(f"solver status {h.modelStatusToString(status)}")
        values = list(h.getSolution().col_value)
        return "".join(position.symbol(values) for position in self.positions)


def _combine(weights: Sequence[Fraction], inputs: Sequence[Expr],
             bias: Fraction) -> Expr:
    """``w . inputs + b`` as an expression (a float when every input is)."""
    total: Expr = float(bias)
    for w, e in zip(weights, inputs):
        if w and not (isinstance(e, float) and e == 0.0):
            total = total + float(w) * e
    return total


def _affine(slope: Fraction, e: Expr, offset: Fraction = Fraction(0)) -> Expr:
    """``slope * e + offset`` as an expression (a float when ``slope`` is 0)."""
    return float(offset) if slope == 0 else float(slope) * e + float(offset)


# -- exact verification ------------------------------------------------------------


class _Verifier:
    """Decides exactly whether a pattern's region meets the domain."""

    def __init__(self, network: ScaledNetwork, box: Box | None) -> None:
        self.network = network
        self.box = box
        self.lp = MaxSlackLP(network.dim)

    def system(self, pattern: str) -> list[Row] | None:
        """The pattern's strict rows ``a . x < c`` (box faces included), or None when
        a neuron's state is impossible whatever x (then no region has the pattern);
        a constant pre-activation gives a row without gradient, true or false."""
        rows = region_rows(self.network, pattern, self.box)
        return None if rows is None else [row for _, row in rows]

    def witness(self, pattern: str) -> tuple[Fraction, ...] | None:
        """An exact interior point of the pattern's region, or None if it is empty.
        The MILP's own point is not used: it sits at the margin ``MIN_MARGIN`` from
        the boundary, while the max-slack LP's centred point rounds to small
        denominators (:func:`tvmip.evidence.exact.solve_system`, exact simplex as
        fallback)."""
        rows = self.system(pattern)
        if rows is None:
            return None
        evidence = solve_system(rows, self.lp)
        return evidence.coordinates() if isinstance(evidence, Witness) else None


# -- enumeration -------------------------------------------------------------------


class _Search:
    """Solve, verify exactly, cut, repeat."""

    def __init__(self, network: ScaledNetwork, box: Box | None) -> None:
        self.box = milp_box(network, box).box
        wide = max(self.box.hi)
        if box is None and wide > MAX_DERIVED_BOX:
            raise InputError(f"over R^{network.dim} the MILP needs a box that meets every "
                             f"region, and the one tvmip can prove is (+-{float(wide):.3g})"
                             f"^{network.dim}, too wide for a float MILP: give --box")
        self.model = _Model(network.network, self.box)
        self.verifier = _Verifier(network, box)
        self.solves = 0
        self.spurious = 0
        self.stop_reason: str | None = None

    def next_region(self, deadline: float) -> Region | None:
        """The next exactly verified region not cut yet, or None when the model is
        infeasible or the search stopped (then ``stop_reason`` says why)."""
        try:
            while True:
                remaining = deadline - time.perf_counter()
                if remaining <= 0:
                    raise _Stopped("time-limit")
                self.solves += 1
                pattern = self.model.solve(remaining)
                if pattern is None:
                    return None
                if pattern in self.model.cut:
                    raise _Stopped("solver returned a cut-off pattern")
                self.model.add_cut(pattern)
                witness = self.verifier.witness(pattern)
                if witness is not None:
                    return Region(pattern, witness)
                self.spurious += 1
        except _Stopped as stop:
            self.stop_reason = str(stop)
            return None


def milp_count(network: ScaledNetwork, box: Box | None, *,
               emit: Callable[[Region], None] | None = None,
               time_limit: float | None = None) -> MilpResult:
    """Enumerate the activation regions over ``box`` (R^n0 when None, see
    :func:`milp_box`) one MILP solve at a time with no-good cuts, calling ``emit``
    with each region and an exactly verified rational witness.  Every reported
    region is exact; that none is missing rests on the float MILP solver (``complete``
    is its claim, not a proof): a baseline and cross-check for tvmip's search."""
    start = time.perf_counter()
    deadline = math.inf if time_limit is None else start + time_limit
    search = _Search(network, box)
    found = 0
    while (region := search.next_region(deadline)) is not None:
        found += 1
        if emit is not None:
            emit(region)
    return MilpResult(found, search.solves, time.perf_counter() - start,
                      search.stop_reason is None, search.spurious, search.box,
                      search.stop_reason)


def find_missing(network: ScaledNetwork, box: Box | None, known_patterns: set[str], *,
                 time_limit: float | None = None,
                 ) -> tuple[str, tuple[Fraction, ...]] | None:
    """A region whose pattern is not in ``known_patterns``: its pattern and an exactly
    verified rational point in it, or None when the MILP with a no-good cut on every
    known pattern is infeasible.  An independent floating-point check of an
    enumeration (None is the float solver's word, not a proof); raises
    :class:`ResourceLimit` when the solver gives no answer in ``time_limit`` seconds."""
    acts = [layer.activation for layer in network.layers if layer.stateful
            for _ in range(layer.width)]
    bad = next((p for p in known_patterns if len(p) != len(acts)
                or any(act.cell(state) is None for act, state in zip(acts, p))), None)
    if bad is not None:
        raise InputError(f"not a pattern of this network: {bad!r}")
    deadline = math.inf if time_limit is None else time.perf_counter() + time_limit
    search = _Search(network, box)
    for pattern in known_patterns:
        search.model.add_cut(pattern)
    region = search.next_region(deadline)
    if search.stop_reason is not None:
        raise ResourceLimit(f"MILP cross-check undecided: {search.stop_reason}")
    return None if region is None else (region.pattern, region.witness)
