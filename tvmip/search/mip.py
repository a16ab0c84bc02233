"""A mixed-integer baseline for counting activation regions, and a cross-check.

The model is the big-M formulation of Serra, Tjandraatmadja and Ramalingam (2018),
"Bounding and counting linear regions of deep neural networks", over a box.  For a
ReLU neuron with pre-activation ``h = w . z + b`` (``z`` the previous layer's
output) and exact interval bounds ``L <= h <= U`` over the box (``L <= 0 <= U``,
else the neuron's state is fixed and it needs no binary):

    y >= 0,  y >= h,  y <= h - L (1 - a),  y <= U a           (y = relu(h), a binary)
    h >= eps - (1 - L) (1 - a)                                  (a = 1: state '+')
    h <= -eps + (U + 1) (a + zeta)                              (a = zeta = 0: '-')
    lo + eps <= x <= hi - eps,   MIN_MARGIN <= eps <= 1.

Identity layers are affine expressions of the previous layer.  Activation regions
are open, so a pattern is realised iff its strict system is feasible: the margin
``eps`` makes every sign strict, and the enumeration ends when the model (with all
no-good cuts) is infeasible, i.e. no pattern is left with a margin of at least
``MIN_MARGIN``.  Each solve is a pure feasibility problem: maximising ``eps``
made every solve about 5x slower (the solver must prove a bound), and the exact
verification below finds a well-centred witness anyway.

State ``'0'`` (pre-activation identically zero on the region) is a property of the
affine map ``x -> h(x)``, not of one value.  For neurons that may vanish (every
gradient interval contains 0 and the offset can be 0, see :func:`_plan`) a binary
``zeta`` forces ``h(x) = 0`` and the gradient of ``h`` along the pattern to 0, with
``a + zeta <= 1``.  Gradients are tracked as expressions and, past a layer of
binaries, as variables for the products (binary times bounded continuous,
linearised with big-M from exact interval bounds).  Binary assignments and tvmip
patterns are then in one-to-one correspondence ('+' : a = 1; '0' : zeta = 1;
'-' : neither), so the no-good cut of an assignment cuts exactly one pattern.

Trust: the MILP is solved in floating point by HiGHS.  Every pattern it reports is
re-verified exactly: its strict system, built in integers by :mod:`tvmip.affine`,
is decided by :func:`tvmip.exact.solve_system` (a rounded LP point checked exactly,
else the exact simplex); refuted candidates are cut and counted as ``spurious``.
But *completeness* -- the final infeasible solve -- rests on the float solver and
on ``MIN_MARGIN`` (absolute, in pre-activation units): a region whose every
interior point has a smaller margin would be missed.  The MILP count is an
independent baseline and cross-check, not a proof; tvmip's certificate is.

HiGHS is used directly through highspy's modelling API rather than through PuLP:
the model is built once, each no-good cut is one added row, and nothing is
re-translated per solve (PuLP rebuilds and re-passes the whole model each time).
HiGHS has no solution pool and highspy no lazy-constraint rows, so patterns are
enumerated one solve at a time.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from itertools import combinations

import flint
import highspy
import numpy as np

from ..errors import InputError, ResourceLimit
from ..evidence.exact import Row, Witness, solve_system
from ..evidence.lp import MaxSlackLP, silent_highs
from ..model.network import IDENTITY, RELU, Box, Network
from ..model.scaled import (
    ScaledNetwork,
    input_map,
    layer_output,
    piece_bounds,
    pre_activations,
)
from ..search.tree import Region

MIN_MARGIN = 1e-6  # the smallest margin eps the MILP looks for (see the module doc)
TOLERANCE = 1e-9  # HiGHS feasibility tolerances, well below MIN_MARGIN
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


def _supported(network: ScaledNetwork) -> Network:
    """The network's exact records, if this formulation covers its activations (the
    ReLU and the identity); an :class:`InputError` otherwise."""
    for index, layer in enumerate(network.layers):
        if layer.activation not in (RELU, IDENTITY):
            raise InputError(f"the MILP baseline handles ReLU and identity layers; layers[{index}] "
                             f"has the activation {layer.activation.spec!r}")
    return network.network


@dataclass(frozen=True, slots=True)
class Domain:
    """The box the MILP works in, and why it stands for the counted domain."""

    box: Box
    reason: str


def milp_box(network: ScaledNetwork, box: Box | None) -> Domain:
    """The box the MILP works in: ``box`` itself, or for R^n0 a box that meets every
    activation region, so that the regions of R^n0 and of the box correspond one to
    one (each region's trace on the box is convex and non-empty).

    With a single layer of neurons with a state (a hyperplane arrangement) the box
    is tight: the closure of each region contains a minimal face of the
    arrangement, the flat where some ``rank`` independent hyperplanes meet; the open
    box contains one point of each such flat (coordinates off the pivot columns set
    to 0), hence a point of every region near it.  For deeper networks the same
    argument runs on each region's own inequalities, with a bound instead of an
    enumeration (:func:`_cramer_bound`)."""
    _supported(network)
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
        rows: list[list[int]] = []
        m, d = input_map(dim)
        for layer in network.layers:
            p, s = pre_activations(layer, m, d)
            if layer.stateful:
                rows = [r for r in p.tolist() if any(r[:-1])]
                break
            m, d = layer_output(p, s, layer, None)
        bound = _vertex_bound(rows, dim)
        reason = ("it holds a point of every minimal face of the hyperplane arrangement "
                  "(exact enumeration): the box meets every region")
    return Domain(Box((Fraction(-bound),) * dim, (Fraction(bound),) * dim), reason)


def _largest_row_entry(network: ScaledNetwork) -> int:
    """``M``, above every integer of every region's inequalities, whatever the pattern.

    Along any pattern a region is ``{x : a_i . x < c_i}`` with integer rows (a
    pre-activation minus a breakpoint, over its layer's denominator); bounding every
    layer's integers for all patterns at once bounds them all.  The closure's minimal
    face contains a point that solves ``r <= n0`` of the rows as equations with the
    other coordinates 0; by Cramer's rule each coordinate is a ratio of integer
    determinants, the denominator at least 1, the numerator at most
    ``(sqrt(r) M)^r`` (Hadamard), which :func:`milp_box` takes as its box."""
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


def _vertex_bound(rows: list[list[int]], dim: int) -> int:
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


def _gcd(a: Fraction, b: Fraction) -> Fraction:
    """The non-negative generator of the additive group ``a Z + b Z`` of rationals."""
    return Fraction(math.gcd(a.numerator * b.denominator, b.numerator * a.denominator),
                    a.denominator * b.denominator)


@dataclass(frozen=True, slots=True)
class _Neuron:
    """Exact bounds of one neuron over the box, over all patterns: its value ``pre``
    and its gradient ``grad`` in x.  ``state`` is '+', '-' or '0' when fixed on the
    whole box, '?' when it needs a binary, '' for identity neurons; ``can_vanish``
    marks the '?' neurons that may be '0' somewhere."""

    pre: Interval
    grad: tuple[Interval, ...]
    state: str
    can_vanish: bool


def _plan(network: Network, box: Box) -> list[list[_Neuron]]:
    """Classify every neuron by exact interval arithmetic over the box.

    A neuron can be '0' only if every gradient interval contains 0 and its offset
    (the map's value at x = 0) can be 0.  Offsets along any pattern lie in
    ``b + step Z``, where ``step`` generates the group holding every offset of the
    previous layer (times the weights): when ``b`` is not in ``step Z`` the neuron
    never vanishes (e.g. the fold constructions, whose biases have ever finer
    denominators)."""
    dim = network.input_dim
    values: list[Interval] = list(zip(box.lo, box.hi))
    one = (Fraction(1), Fraction(1))
    grads = [[one if c == k else _ZERO for c in range(dim)] for k in range(dim)]
    zero = Fraction(0)
    offsets = zero  # the current layer's output offsets lie in offsets * Z
    plan = []
    for layer in network.layers:
        neurons, out_values, out_grads, out_offsets = [], [], [], zero
        for w, b in zip(layer.weights, layer.biases):
            pre = _bounds(w, values, b)
            grad = tuple(_bounds(w, [g[c] for g in grads], zero) for c in range(dim))
            step = zero
            for v in w:
                step = _gcd(step, v * offsets)
            out_offsets = _gcd(_gcd(out_offsets, step), b)
            vanish = False
            if not layer.activation.stateful:
                state, out, out_grad = "", pre, list(grad)
            elif pre == _ZERO:
                state, out, out_grad = "0", _ZERO, [_ZERO] * dim
            elif pre[0] > 0:
                state, out, out_grad = "+", pre, list(grad)
            elif pre[1] < 0:
                state, out, out_grad = "-", _ZERO, [_ZERO] * dim
            else:
                state, out = "?", (zero, pre[1])
                out_grad = [(min(lo, zero), max(hi, zero)) for lo, hi in grad]
                vanish = all(lo <= 0 <= hi for lo, hi in grad) and (
                    b == 0 if step == 0 else (b / step).denominator == 1)
            neurons.append(_Neuron(pre, grad, state, vanish))
            out_values.append(out)
            out_grads.append(out_grad)
        plan.append(neurons)
        values, grads, offsets = out_values, out_grads, out_offsets
    return plan


# -- the model ---------------------------------------------------------------------


class _Stopped(Exception):
    """A solve gave no answer: time limit, solver trouble or a violated cut."""


Var = highspy.highs.highs_var
Expr = highspy.highs.highs_linear_expression | Var | float


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
        # Gradients are tracked only up to the last layer with a neuron that may vanish.
        track = max((i for i, layer in enumerate(plan)
                     if any(n.can_vanish for n in layer)), default=-1)
        self.states: list[str] = []  # fixed state or '?' per ReLU neuron
        self.binaries: list[tuple[Var, Var | None]] = []  # (a, zeta) per '?' neuron
        z: list[Expr] = list(self.x)
        grads: list[list[Expr]] = [[1.0 if c == k else 0.0 for c in range(dim)]
                                   for k in range(dim)]
        zero = Fraction(0)
        for index, (layer, neurons) in enumerate(zip(network.layers, plan)):
            out_z, out_grads = [], []
            for w, b, neuron in zip(layer.weights, layer.biases, neurons):
                pre = _combine(w, z, b)
                grad = [_combine(w, [g[c] for g in grads], zero) for c in range(dim)] \
                    if index <= track else []
                if layer.activation.stateful:
                    self.states.append(neuron.state)
                if neuron.state in ("", "+"):
                    out_z.append(pre)
                    out_grads.append(grad)
                elif neuron.state in ("-", "0"):
                    out_z.append(0.0)
                    out_grads.append([0.0] * len(grad))
                else:
                    a, y = self._relu(neuron, pre, grad)
                    out_z.append(y)
                    out_grads.append([self._product(a, e, bounds)
                                      for e, bounds in zip(grad, neuron.grad)]
                                     if index < track else [])
            z, grads = out_z, out_grads
        self.cut: set[str] = set()
        self.exhausted = False  # a cut without binaries: the only pattern is cut

    def _relu(self, neuron: _Neuron, pre: Expr, grad: list[Expr]) -> tuple[Var, Var]:
        """Binaries, output and margin rows of a '?' neuron; returns ``(a, y)``."""
        h, eps = self.highs, self.eps
        lo, hi = float(neuron.pre[0]), float(neuron.pre[1])
        a = h.addBinary()
        y = h.addVariable(0.0, hi)
        h.addConstr(y - pre >= 0)
        h.addConstr(y - pre - lo * a <= -lo)
        h.addConstr(y - hi * a <= 0)
        h.addConstr(pre - eps - (1 - lo) * a >= lo - 1)
        zeta = None
        if neuron.can_vanish:
            # zeta = 1: h(x) = 0 (h <= 0 follows from y = 0 >= h) and its gradient is 0.
            zeta = h.addBinary()
            h.addConstr(a + zeta <= 1)
            h.addConstr(pre + eps - (hi + 1) * (a + zeta) <= 0)
            h.addConstr(pre + lo * zeta >= lo)
            for e, (c_lo, c_hi) in zip(grad, neuron.grad):
                if (c_lo, c_hi) != _ZERO:
                    h.addConstr(e + float(c_hi) * zeta <= float(c_hi))
                    h.addConstr(e + float(c_lo) * zeta >= float(c_lo))
        else:
            h.addConstr(pre + eps - (hi + 1) * a <= 0)
        self.binaries.append((a, zeta))
        return a, y

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
        ones: list[Var] = []
        zeros: list[Var] = []
        free = iter(self.binaries)
        for fixed, state in zip(self.states, pattern):
            if fixed != "?":
                if fixed != state:
                    return
                continue
            a, zeta = next(free)
            if state == "0" and zeta is None:
                return
            (ones if state == "+" else zeros).append(a)
            if zeta is not None:
                (ones if state == "0" else zeros).append(zeta)
        if zeros or ones:
            total = self.highs.qsum(zeros) - self.highs.qsum(ones)
            self.highs.addConstr(total >= 1 - len(ones))
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
        values = np.asarray(h.getSolution().col_value, dtype=float)
        states, free = [], iter(self.binaries)
        for fixed in self.states:
            if fixed != "?":
                states.append(fixed)
                continue
            a, zeta = next(free)
            if values[a.index] > 0.5:
                states.append("+")
            else:
                vanished = zeta is not None and values[zeta.index] > 0.5
                states.append("0" if vanished else "-")
        return "".join(states)


def _combine(weights: Sequence[Fraction], inputs: Sequence[Expr],
             bias: Fraction) -> Expr:
    """``w . inputs + b`` as an expression (a float when every input is)."""
    total: Expr = float(bias)
    for w, e in zip(weights, inputs):
        if w and not (isinstance(e, float) and e == 0.0):
            total = total + float(w) * e
    return total


# -- exact verification ------------------------------------------------------------


class _Verifier:
    """Decides exactly whether a pattern's region meets the domain."""

    def __init__(self, network: ScaledNetwork, box: Box | None) -> None:
        self.dim = network.dim
        self.layers = network.layers
        self.box = box
        self.lp = MaxSlackLP(self.dim)

    def system(self, pattern: str) -> list[Row] | None:
        """The pattern's strict rows ``a . x < c`` (box faces included), or None when
        a neuron at a breakpoint does not have that constant map (then no region has
        the pattern)."""
        rows: list[Row] = []
        m, d = input_map(self.dim)
        for layer in self.layers:
            p, s = pre_activations(layer, m, d)
            cells = None
            if layer.stateful:
                act = layer.activation
                cells = [act.cell(state) for state in pattern[layer.first:layer.first + layer.width]]
                for j, (cell, (*a, c)) in enumerate(zip(cells, p.tolist())):
                    if cell % 2:
                        if any(a) or Fraction(c, s) != act.breakpoints[cell // 2]:
                            return None
                        continue
                    rows.extend(tuple(v * b.scale[1] for v in b.row)
                                for b in piece_bounds(layer, layer.first + j, a, c, s, cell))
            m, d = layer_output(p, s, layer, cells)
        if self.box is not None:
            for i, (lo, hi) in enumerate(zip(self.box.lo, self.box.hi)):
                for sign, bound in ((-1, lo), (1, hi)):
                    a = [0] * self.dim
                    a[i] = sign * bound.denominator
                    rows.append((*a, sign * bound.numerator))
        return rows

    def witness(self, pattern: str) -> tuple[Fraction, ...] | None:
        """An exact interior point of the pattern's region, or None if it is empty.
        The MILP's own point is not used: it sits at the margin ``MIN_MARGIN`` from
        the boundary, while the max-slack LP's centred point rounds to small
        denominators (:func:`tvmip.exact.solve_system`, exact simplex as fallback)."""
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
    bad = next((p for p in known_patterns
                if len(p) != network.pattern_length or set(p) - set("+-0")), None)
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
