"""Re-verification of linear-region claims on top of a complete search tree.

After the tree's records come, for regions whose output map another region
shares, one record per hyperplane of the region's inequalities (coincident
hyperplanes count once):

* facet ``{"f": [r, k], "x": point, "n": m}``: ``point`` is strictly inside the
  domain and lies on neuron ``k``'s hyperplane ``H`` (its pre-activation on ``r``
  vanishes there); for region ``r``, and for region ``m``, every neuron whose
  pre-activation vanishes at ``point`` has a gradient parallel to ``k``'s (so its
  zero set is ``H`` too), and every other inequality holds strictly.  Near
  ``point`` each region is then a half-ball bounded by ``H``; the checker requires
  opposite halves, so ``r`` and ``m`` share a facet on ``H`` through ``point``;
* no facet ``{"nf": [r, k], "y": [[row, multiplier], ...], "mu": rational}``:
  ``y >= 0`` on ``r``'s strict inequalities off neuron ``k``'s hyperplane (and box
  faces), not all zero, and ``sum y_i g_i + mu * pre_k`` is a constant <= 0, so
  no point of the hyperplane satisfies the others strictly: no facet there.

Every region of a shared map must have a record for each of its hyperplanes,
except those another inequality of the region with a parallel gradient shuts
out (:func:`shut_out`, which the checker computes itself: such a hyperplane
holds no facet, as a one-multiplier no-facet record would prove).  A facet
record of ``r`` with neighbour ``m`` also accounts for ``m``'s hyperplane: ``m``
has a facet on the same ``H`` through the same point, and the neighbour across
it is ``r`` (unique, as below).  The records come in region order (the region
``r`` of each record never decreases), and once they move past a region, all of
its evidence has been read (its own records, and those of earlier regions naming
it as neighbour), so its hyperplanes are checked then, while its inequalities are
still at hand; evidence for a region already passed is refused.  Then the
facets whose two sides carry equal maps are all the glue edges, and
linear regions are the connected components (union-find).  Maps are recomputed
from the patterns; distinct maps are counted directly.

Why no glue edge can be missing.  If regions ``r`` and ``m`` with equal maps
share an (n0-1)-dimensional piece of boundary, that piece lies on a hyperplane
``H`` of ``r`` and meets the relative interior ``F`` of ``r``'s facet on ``H``
(the points of ``H`` where every other inequality of ``r`` holds strictly):
``H`` has a facet, so its no-facet proof cannot exist and a facet record on
``H`` must be present.  Every pre-activation is continuous in ``x`` (see
:func:`unique_neighbours`: no activation jumps before a later layer's
breakpoints, or n0 = 1, where ``F`` is a point); at a point
of ``F`` the neurons that do not vanish keep their signs nearby, and those that
vanish are multiples of ``H``'s equation on both sides (layer by layer, the maps
on the far side differ from ``r``'s by multiples of it), so the pattern across
``F`` is one and the same all along ``F``: the neighbour across ``H`` is unique,
and the facet record names it (its point lies on ``H``, so in ``F``).  A facet
record on a different, parallel hyperplane would not vanish at its own
neuron's point and is rejected.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable, Iterable
from functools import lru_cache
from operator import neg
from typing import Any, NamedTuple

from .errors import FormatError, Rejected
from .limits import shown
from .maps import PatternMaps, RegionBound, homogeneous, neuron_row_id
from .model import Box, Network, read_point
from .motzkin import (
    Inequality,
    RowId,
    box_inequality,
    combination,
    is_contradiction,
    read_multipliers,
)
from .rationals import parse_rational

Map = tuple[tuple[tuple[int, ...], ...], int]  # integer rows (gradient, offset) / den, reduced
RECENT_REGIONS = 1024  # regions whose inequalities are kept (a neighbour is often near)


class RegionFacts(NamedTuple):
    """A region's strict inequalities, by ``(position, j)`` as in the records, and
    once each as signed rows (``row . (x, 1) > 0``) with the position of a neuron
    giving it."""

    bounds: dict[tuple[int, int], RegionBound]
    rows: list[tuple[int, ...]]
    positions: list[int]


def hyperplane(row: tuple[int, ...]) -> tuple[int, ...]:
    """A key shared exactly by the rows with the same zero set (scale and sign removed).
    Short rows (n0 <= 8) go through a small cache, as the same rows recur in region
    after region (at most 1,024 keys of at most 9 map integers each)."""
    return _cached_hyperplane(row) if len(row) <= 9 else _hyperplane(row)


def _hyperplane(row: tuple[int, ...]) -> tuple[int, ...]:
    g = math.gcd(*row)
    lead = next(v for v in row[:-1] if v)
    g = g if lead > 0 else -g
    return tuple(v // g for v in row)


_cached_hyperplane = lru_cache(maxsize=1024)(_hyperplane)


def shut_out(rows: Iterable[tuple[int, ...]]) -> set[tuple[int, ...]]:
    """The hyperplanes (keys of :func:`hyperplane`) of strict inequalities
    ``g . x + c > 0`` that another one of them with a parallel gradient excludes.

    Write each gradient as ``k d`` with ``d`` primitive (first entry positive) and
    ``k`` a non-zero integer: the inequality says ``t > h`` (``k > 0``) or ``t < h``
    (``k < 0``) for ``t = d . x`` and ``h = -c / k``, its hyperplane being ``t = h``.
    If another inequality of the same direction says ``t > h'`` with ``h' > h``, or
    ``t < h'`` with ``h' < h``, it is ``<= 0`` all over ``t = h``: no point of that
    hyperplane satisfies them all, so it holds no facet.  (This is what a no-facet
    record with one multiplier proves; the checker sees it without a record.)"""
    facts = [_threshold(row) for row in rows if any(row[:-1])]
    excluded = _excluder(facts)
    return {key for key, *threshold in facts if excluded(*threshold)}


Threshold = tuple[tuple[int, ...], tuple[int, ...], bool, int, int]


@lru_cache(maxsize=4096)
def _threshold(row: tuple[int, ...]) -> Threshold:
    """``(key, d, above, n, q)`` for the strict inequality ``row . (x, 1) > 0`` with a
    non-zero gradient ``k d`` (``d`` primitive, first entry positive): its hyperplane's
    key, and it says ``d . x > n / q`` when ``above`` (``k > 0``), ``d . x < n / q``
    otherwise (``q > 0``).  Cached: the same rows recur in region after region."""
    gradient = row[:-1]
    k = math.gcd(*gradient)
    if next(v for v in gradient if v) < 0:
        k = -k
    n, q = (-row[-1], k) if k > 0 else (row[-1], -k)
    return hyperplane(row), tuple(v // k for v in gradient), k > 0, n, q


def _excluder(facts: list[Threshold]) -> Callable[[tuple[int, ...], bool, int, int], bool]:
    """Whether the hyperplane ``d . x = n / q`` is excluded by one of ``facts`` (see
    :func:`shut_out`): some ``d . x > h`` with ``h > n / q``, or ``d . x < h`` with
    ``h < n / q``."""
    low: dict[tuple[int, ...], tuple[int, int]] = {}  # direction -> largest h of t > h
    high: dict[tuple[int, ...], tuple[int, int]] = {}  # direction -> smallest h of t < h
    for _, direction, above, n, q in facts:
        best = low if above else high
        h = best.get(direction)
        if h is None or (n * h[1] > h[0] * q if above else n * h[1] < h[0] * q):
            best[direction] = (n, q)

    def excluded(direction: tuple[int, ...], _: bool, n: int, q: int) -> bool:
        lo, hi = low.get(direction), high.get(direction)
        return lo is not None and n * lo[1] < lo[0] * q or hi is not None and n * hi[1] > hi[0] * q

    return excluded


def unique_neighbours(network: Network) -> bool:
    """Whether a region has one neighbour across each facet, as the argument above
    needs: one input (a facet is a point), or no activation with a jump (step, sign,
    quantize, ...) feeds a later layer with breakpoints.  Otherwise a later neuron's
    pre-activation jumps across the hyperplane, and the far side of one facet can be
    cut into several regions."""
    if network.input_dim == 1:
        return True
    jumped = False
    for layer in network.layers:
        if jumped and layer.activation.stateful:
            return False
        jumped = jumped or not layer.activation.continuous
    return True


NOT_GLUED = ("linear regions are certified only where each facet has one neighbour: "
             "one input, or no jumping activation (step, sign, quantize, ...) before "
             "a later layer with breakpoints")


class LinearChecker:
    """Collects region patterns, verifies facet evidence, and counts components."""

    def __init__(self, maps: PatternMaps, network: Network, box: Box | None) -> None:
        if not unique_neighbours(network):
            raise Rejected(f"{NOT_GLUED}; this network has one")
        self.maps = maps
        self.box = box
        self.dim = maps.dim
        self.patterns: list[str] = []
        # Set at the first facet record (the tree is complete by then): the region
        # maps, their groups, the union-find forest of glued regions, and the first
        # region whose hyperplanes are not yet checked (the records go in region order).
        self.affine: list[Map] = []
        self.members: dict[Map, list[int]] = {}
        self.parent: list[int] = []
        self.next_region = -1
        self.covered: dict[int, set[tuple[int, ...]]] = {}  # hyperplanes with evidence
        self.faces = [_threshold(face[0]) for face in (
            box_inequality(box, f"{side}{i}", self.dim) for i in range(self.dim)
            for side in ("lo", "hi")) if face is not None]
        self._recent: OrderedDict[int, RegionFacts] = OrderedDict()

    def _bounds(self, region: int) -> dict[tuple[int, int], RegionBound]:
        """The strict inequalities of a region by ``(position, j)``, each
        ``(position, j, sign, row, den)`` (see :meth:`PatternMaps.pattern_bounds`)."""
        return self._region(region).bounds

    def _region(self, region: int) -> RegionFacts:
        """A region's inequalities, kept for the most recent regions (a region's
        records come together, and its neighbours' soon after), so the maps are not
        recomputed per record."""
        facts = self._recent.get(region)
        if facts is None:
            bounds = self.maps.pattern_bounds(self.patterns[region])
            signed: dict[tuple[int, ...], int] = {}
            for position, _, sign, row, _ in bounds:
                signed.setdefault(row if sign > 0 else tuple(map(neg, row)), position)
            facts = RegionFacts({(b[0], b[1]): b for b in bounds}, list(signed),
                                list(signed.values()))
            self._recent[region] = facts
            if len(self._recent) > RECENT_REGIONS:
                self._recent.popitem(last=False)
        return facts

    def _bound(self, region: int, row_id: Any, where: str) -> RegionBound:
        """The region's inequality named by a neuron row id (``p`` or ``"p:j"``)."""
        neuron = neuron_row_id(row_id) if isinstance(row_id, (int, str)) \
            and not isinstance(row_id, bool) else None
        if neuron is None:
            raise FormatError(where, "expected a neuron's row: p or 'p:j'")
        j = self.maps.bound_spec(*neuron, self.patterns[region], where)[0]
        return self._bounds(region)[(neuron[0], j)]

    def feed(self, record: dict[str, Any], where: str) -> None:
        if "f" in record:
            if set(record) != {"f", "x", "n"}:
                raise FormatError(where, "a facet record has exactly the keys f, x, n")
            region, bound = self._target(record["f"], f"{where}.f")
            neighbour = self._index(record["n"], f"{where}.n")
            self._check_facet(region, bound, neighbour, record["x"], where)
            if self.affine[region] == self.affine[neighbour]:
                self.parent[self._root(region)] = self._root(neighbour)
            if neighbour > region:  # its facet too (earlier regions are checked already)
                self.covered.setdefault(neighbour, set()).add(hyperplane(bound[3]))
        elif "nf" in record:
            if set(record) != {"nf", "y", "mu"}:
                raise FormatError(where, "a no-facet record has exactly the keys nf, y, mu")
            region, bound = self._target(record["nf"], f"{where}.nf")
            self._check_no_facet(region, bound, record["y"], record["mu"], where)
        else:
            raise FormatError(where, f"unknown record with keys {shown(sorted(record)[:5])}")
        self.covered.setdefault(region, set()).add(hyperplane(bound[3]))

    def counts(self) -> tuple[int, int, bool]:
        """(linear regions, distinct maps, whether every map is constant), after
        checking every hyperplane of every region of a shared map is accounted for."""
        self._move_to(len(self.patterns), "the end of the facet evidence")
        return len({self._root(i) for i in range(len(self.patterns))}), len(self.members), \
            not any(v for rows, _ in self.members for row in rows for v in row[:-1])

    def _move_to(self, region: int, where: str) -> None:
        """Check the regions before ``region``: the records are in region order, so
        every hyperplane of theirs has its evidence by now (their own records, or an
        earlier region's facet record naming them as neighbour)."""
        if self.next_region < 0:
            self._start()
        if region < self.next_region:
            raise Rejected(f"{where}: facet evidence for region {region} after that of region "
                           f"{self.next_region} (the records go in region order)")
        for index in range(self.next_region, region):
            if len(self.members[self.affine[index]]) > 1:
                self._check_covered(index)
            self.covered.pop(index, None)
        self.next_region = region

    def _start(self) -> None:
        """The output map of every region (in stream order, which shares prefixes)."""
        for index, pattern in enumerate(self.patterns):
            rows, s = self.maps.output_rows(pattern)
            g = math.gcd(s, *(v for row in rows for v in row))
            affine = tuple(tuple(v // g for v in row) for row in rows), s // g
            group = self.members.setdefault(affine, [])
            group.append(index)
            self.affine.append(self.affine[group[0]] if len(group) > 1 else affine)  # one copy
        self.parent = list(range(len(self.patterns)))
        self.next_region = 0

    def _root(self, i: int) -> int:
        parent = self.parent
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    # -- reading ------------------------------------------------------------------

    def _index(self, value: Any, where: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise FormatError(where, "expected a region index")
        if not 0 <= value < len(self.patterns):
            raise Rejected(f"{where}: no region {shown(value)} (there are {len(self.patterns)})")
        return value

    def _target(self, value: Any, where: str) -> tuple[int, RegionBound]:
        """``[region, row]``: a region and one of its neuron bounds (a row id as in
        Motzkin multipliers) whose hyperplane is not constant."""
        if not isinstance(value, list) or len(value) != 2:
            raise FormatError(where, "expected [region, row]")
        region = self._index(value[0], f"{where}[0]")
        self._move_to(region, f"{where}[0]")
        bound = self._bound(region, value[1], f"{where}[1]")
        if not any(bound[3][:-1]):
            raise Rejected(f"{where}: neuron {bound[0]} defines no hyperplane in region {region}")
        return region, bound

    # -- evidence -------------------------------------------------------------------

    def _check_facet(self, region: int, bound: RegionBound, neighbour: int, value: Any,
                     where: str) -> None:
        if neighbour == region:
            raise Rejected(f"{where}: a region is not its own neighbour")
        point = homogeneous(read_point(value, self.dim, self.box, f"{where}.x"), f"{where}.x")
        phi = bound[3]
        if self.maps.values([phi], point)[0] != 0:
            raise Rejected(f"{where}: the facet point does not lie on the hyperplane of "
                           f"neuron {bound[0]} (its pre-activation on region {region} does "
                           "not reach the breakpoint there)")
        here = self._side(region, phi[:-1], point, where)
        there = self._side(neighbour, phi[:-1], point, where)
        if here is None or there is None or here == there:
            raise Rejected(f"{where}: regions {region} and {neighbour} do not lie on opposite "
                           "sides of the facet point")

    def _side(self, region: int, normal: tuple[int, ...], point: tuple[int, ...],
              where: str) -> int | None:
        """Which side of the hyperplane (+1 along ``normal``, -1 against) the region
        occupies near the point (homogeneous); rejects if the point is not on its
        boundary like a facet point (a vanishing inequality not parallel, or a
        violated one)."""
        facts = self._region(region)
        side = None
        for i, value in enumerate(self.maps.values(facts.rows, point)):
            if value > 0:
                continue
            if value < 0:
                raise Rejected(f"{where}: region {region} violates neuron "
                               f"{facts.positions[i]} at the facet point")
            this = _parallel(facts.rows[i][:-1], normal)
            if this == 0:
                raise Rejected(f"{where}: neuron {facts.positions[i]} of region {region} "
                               "vanishes at the facet point but not along the facet")
            if side is not None and side != this:
                raise Rejected(f"{where}: region {region} lies on both sides of the facet")
            side = this
        return side

    def _check_no_facet(self, region: int, bound: RegionBound, value: Any, mu_value: Any,
                        where: str) -> None:
        """``y >= 0`` on the region's other strict inequalities (box faces included, the
        ones on the hyperplane excluded) and ``mu`` on the hyperplane's equation
        ``pre - t_j`` combine into a constant <= 0: no point of the hyperplane
        satisfies the others."""
        _, _, _, phi, s = bound
        plane = hyperplane(phi)

        def inequality(row_id: RowId, at: str) -> Inequality:
            if neuron_row_id(row_id) is None:
                face = box_inequality(self.box, str(row_id), self.dim)
                if face is None:
                    raise Rejected(f"{at}: unknown row {shown(row_id)!r}")
                return face
            _, _, sign, row, den = self._bound(region, row_id, at)
            if any(row[:-1]) and hyperplane(row) == plane:
                raise Rejected(f"{at}: row {shown(row_id)} lies on the hyperplane itself")
            return (row if sign > 0 else tuple(-v for v in row)), den

        terms = read_multipliers(value, where, self.dim, inequality)
        mu = parse_rational(mu_value, f"{where}.mu")
        total = combination([*terms, ((phi, s), mu)] if mu else terms, self.dim,
                            self.maps.budget, where)
        if not is_contradiction(total):
            raise Rejected(f"{where}: the multipliers do not show that the hyperplane of "
                           f"neuron {bound[0]} misses the interior of a facet of region {region}")

    def _check_covered(self, region: int) -> None:
        region_facts = self._region(region)
        facts = [(_threshold(row), position)
                 for row, position in zip(region_facts.rows, region_facts.positions)
                 if any(row[:-1])]
        covered = self.covered.get(region, set())
        missing = [(fact, position) for fact, position in facts if fact[0] not in covered]
        if not missing:
            return
        excluded = _excluder([fact for fact, _ in facts] + self.faces)
        for (_, *threshold), position in missing:
            if not excluded(*threshold):
                raise Rejected(f"region {region} shares its map with another region but has no "
                               f"facet evidence for the hyperplane of neuron {position}")


def _parallel(gradient: tuple[int, ...], normal: tuple[int, ...]) -> int:
    """+1 or -1 if ``gradient`` is a positive or negative multiple of ``normal`` (not
    zero), else 0: with ``k`` the first non-zero entry of ``normal``, every
    ``gradient_i normal_k == normal_i gradient_k`` and ``gradient_k != 0``."""
    k = next(i for i, v in enumerate(normal) if v)
    g, n = gradient[k], normal[k]
    if g == 0 or any(a * n != b * g for a, b in zip(gradient, normal)):
        return 0
    return 1 if (g > 0) == (n > 0) else -1
