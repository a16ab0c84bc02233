"""Re-verification of a float-rounding audit (standard library only).

An audit (``tvmip-audit/1``) compares a network with the same network stored in a
binary float format (every weight and bias rounded to nearest, ties to even:
:mod:`tvmip.checker.floats`).  It is JSON Lines:

1. a header ``{"format", "tool", "dtype", "exact", "rounded"}``; ``exact`` and
   ``rounded`` are ``{"certificate": file name, "sha256": hex}``, two tree
   certificates in the audit's directory, named by the SHA-256 of their bytes;
2. ball records ``{"ball": "exact" | "rounded", "r": pattern, "x": point,
   "r2": rational}`` and optionally ``"thin": {"bound": T, "shrunk": [[row,
   multiplier], ...], "far": [[row, multiplier], ...]}``;
3. an end line ``{"end": {"claims": {"regions": {"exact": n, "rounded": m},
   "created": [...], "destroyed": [...], "thin": {"exact": [...], "rounded":
   [...]}}, "metadata": {...}}}``.

What is re-derived:

* both certificates are VALID with exact activation counts over the same domain,
  and the rounded certificate's network is exactly the exact one's, rounded;
* ``created`` is exactly the set of patterns of regions of the rounded network
  that the exact network does not have, ``destroyed`` the converse (regions are
  matched by pattern), and each of them has a ball record in its network;
* a ball record: ``x`` lies strictly inside the region of pattern ``r`` (a
  certified region of that network) and the open ball of radius ``sqrt(r2)``
  around it lies in the region: every strict inequality ``g . x + c > 0`` of the
  region (box faces included) has ``(g . x + c)^2 >= r2 |g|^2``.  So ``sqrt(r2)``
  is a lower bound on the region's inradius;
* a thin proof: ``T`` is a power of two (at least the format's least normal
  number) and ``rho`` the format's spacing at ``T``
  (:func:`~tvmip.checker.floats.spacing`; it never decreases with the magnitude).
  ``far`` holds Motzkin multipliers for the region's inequalities with the faces
  ``"near:lo<i>"`` (``x_i + T > 0``) and ``"near:hi<i>"`` (``T - x_i > 0``) of the
  cube ``(-T, T)^n0``: the region misses the cube, so every point of it has a
  coordinate of magnitude ``>= T``, where the spacing is ``>= rho`` (``far`` may
  be left out only when ``T`` is the least normal number: no spacing is finer).
  ``shrunk`` holds Motzkin multipliers for the *shrunk* inequalities
  ``g . x + c - rho l(g) > 0`` (each inequality in its primitive integer form),
  where ``l(g) <= |g|`` is :func:`norm_lower`.  A ball of radius ``r > rho`` in the
  region would have its centre satisfy them all (``g . x + c >= r |g| > rho
  l(g)``), so the region's inradius is at most ``rho``.  So no ball wider than
  the format's resolution *anywhere in the region* fits in it (an unbounded strip
  cannot be called thin from a point far out).  ``thin`` lists exactly the
  patterns with such a proof; it is a lower bound on the thin regions, not their
  list.

The float evaluations the audit also reports (numpy, onnxruntime) are
observations of particular runtimes, not claims, and are not in this file.
"""

from __future__ import annotations

import functools
import hashlib
import math
import re
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from .errors import FormatError, Rejected
from .floats import FORMATS, FloatFormat, binade, round_network, spacing
from .limits import Budget, shown
from .maps import PatternMaps, homogeneous
from .model import Box, Network, read_point
from .motzkin import (
    Inequality,
    RowId,
    box_inequality,
    combination,
    is_contradiction,
    read_multipliers,
)
from .rationals import loads, parse_rational

AUDIT_FORMAT = "tvmip-audit/1"
HEADER_KEYS = {"format", "tool", "dtype", "exact", "rounded"}
NETS = ("exact", "rounded")
NORM_BITS = 32  # l(g) is |g| rounded down to a multiple of 2^-NORM_BITS
PLAIN_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.+-]{0,200}")
"""The certificate names an audit may give: files in its own directory."""
_SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True, slots=True)
class Certified:
    """What a VALID tree certificate establishes, as the audit needs it."""

    network: Network
    box: Box | None
    regions: int
    exact: bool
    patterns: frozenset[str]


Verify = Callable[[Path, bytes], Certified]
"""Verifies a certificate's bytes (a :class:`Rejected` or :class:`FormatError` if not
VALID): supplied by :mod:`tvmip.checker.verify`, which knows the certificate kinds."""


def norm_lower(gradient: tuple[int, ...]) -> Fraction:
    """A rational lower bound on the Euclidean norm of an integer vector: its exact
    value rounded down to a multiple of ``2^-NORM_BITS``."""
    squares = sum(g * g for g in gradient)
    return Fraction(math.isqrt(squares << (2 * NORM_BITS)), 1 << NORM_BITS)


def primitive(row: tuple[int, ...]) -> tuple[int, ...]:
    """An integer row divided by the gcd of its entries (the unique primitive form of
    its half-space ``row . (x, 1) > 0``)."""
    g = math.gcd(*row)
    return row if g <= 1 else tuple(v // g for v in row)


def check_audit(header: dict[str, Any], lines: Iterator[tuple[int, bytes]], budget: Budget,
                directory: Path, verify: Verify) -> tuple[str, Certified, Certified]:
    """Verify an audit whose header line is ``header`` (the rest of the file in
    ``lines``); returns the verdict's words and what the two certificates establish."""
    if set(header) != HEADER_KEYS:
        raise FormatError("line 1", f"an audit header has exactly the keys {sorted(HEADER_KEYS)}")
    fmt = FORMATS.get(header["dtype"]) if isinstance(header["dtype"], str) else None
    if fmt is None:
        raise FormatError("line 1.dtype", f"expected one of {', '.join(FORMATS)}")
    certified = {net: _certificate(header[net], f"line 1.{net}", directory, verify)
                 for net in NETS}
    exact, rounded = certified["exact"], certified["rounded"]
    if not (exact.exact and rounded.exact):
        raise Rejected("an audit needs exact counts from both certificates")
    if exact.box != rounded.box:
        raise Rejected("the two certificates are about different domains")
    try:
        expected = round_network(exact.network, fmt)
    except OverflowError:
        raise Rejected(f"the network has a parameter that overflows {fmt.name}") from None
    if expected.sha256 != rounded.network.sha256:
        raise Rejected(f"the rounded certificate's network is not the network rounded to "
                       f"{fmt.name}")
    balls = _Balls(certified, fmt, budget)
    end = None
    for number, line in lines:
        where = f"line {number}"
        if end is not None:
            raise FormatError(where, "data after the end record")
        record = loads(line)
        if isinstance(record, dict) and "end" in record:
            end = _end(record, where)
        else:
            balls.feed(record, where)
    if end is None:
        raise FormatError("", "truncated: the end record with the claims is missing")
    return _claims(end, certified, balls, fmt), exact, rounded


def _certificate(value: Any, where: str, directory: Path, verify: Verify) -> Certified:
    if not isinstance(value, dict) or set(value) != {"certificate", "sha256"} \
            or not isinstance(value["certificate"], str) \
            or not isinstance(value["sha256"], str):
        raise FormatError(where, 'expected {"certificate": file name, "sha256": hex}')
    name, digest = value["certificate"], value["sha256"]
    if not PLAIN_NAME.fullmatch(name):
        raise FormatError(f"{where}.certificate", "expected a plain file name in the audit's "
                          "directory")
    if not _SHA256.fullmatch(digest):
        raise FormatError(f"{where}.sha256", "expected 64 lowercase hexadecimal digits")
    path = directory / name
    try:
        if not stat.S_ISREG(path.stat().st_mode):  # a FIFO or device would block or never end
            raise FormatError(where, f"{name} is not a regular file")
        data = path.read_bytes()
    except OSError as exc:
        raise FormatError(where, f"cannot read {name} ({exc.strerror or exc})") from None
    if hashlib.sha256(data).hexdigest() != digest:
        raise Rejected(f"{name} is not the certificate the audit names (SHA-256 differs)")
    try:
        return verify(path, data)
    except (Rejected, FormatError) as exc:
        raise Rejected(f"{name}: {exc}") from None


class _Balls:
    """Checks ball records and collects the patterns they cover."""

    def __init__(self, certified: dict[str, Certified], fmt: FloatFormat,
                 budget: Budget) -> None:
        self.certified = certified
        self.fmt = fmt
        self.budget = budget
        self.maps = {net: PatternMaps(c.network, budget) for net, c in certified.items()}
        self.seen: dict[str, set[str]] = {net: set() for net in NETS}
        self.thin: dict[str, set[str]] = {net: set() for net in NETS}

    def feed(self, record: Any, where: str) -> None:
        if not isinstance(record, dict) or not {"ball", "r", "x", "r2"} <= set(record) \
                or not set(record) <= {"ball", "r", "x", "r2", "thin"}:
            raise FormatError(where, 'expected {"ball", "r", "x", "r2"} and optionally "thin"')
        net, pattern = record["ball"], record["r"]
        if net not in NETS or not isinstance(pattern, str):
            raise FormatError(where, 'expected "ball": "exact" | "rounded" and a pattern "r"')
        if pattern not in self.certified[net].patterns:
            raise Rejected(f"{where}: {shown(pattern)!r} is not a region of the {net} network")
        if pattern in self.seen[net]:
            raise Rejected(f"{where}: a second ball for region {shown(pattern)!r}")
        self.seen[net].add(pattern)
        c = self.certified[net]
        point = read_point(record["x"], c.network.input_dim, c.box, f"{where}.x")
        r2 = parse_rational(record["r2"], f"{where}.r2")
        if r2 < 0:
            raise Rejected(f"{where}: a negative squared radius")
        inequalities = self._inequalities(net, pattern)
        x = homogeneous(point, f"{where}.x")
        self.budget.spend(len(inequalities) * (len(x) + 2))
        for row in inequalities.values():
            value = sum(a * b for a, b in zip(row, x))  # q (g . x + c), q > 0
            if value <= 0:
                raise Rejected(f"{where}: the centre is not inside region {shown(pattern)!r}")
            if value * value * r2.denominator < \
                    r2.numerator * x[-1] ** 2 * sum(g * g for g in row[:-1]):
                raise Rejected(f"{where}: the ball of squared radius {shown(r2)} leaves "
                               f"region {shown(pattern)!r}")
        if "thin" in record:
            self._thin(record["thin"], inequalities, point, f"{where}.thin")
            self.thin[net].add(pattern)

    def _inequalities(self, net: str, pattern: str) -> dict[RowId, tuple[int, ...]]:
        """The region's strict inequalities ``row . (x, 1) > 0`` in primitive integer
        form, by row id (as in the tree certificates: ``p``, ``"p:j"``, box faces)."""
        maps, c = self.maps[net], self.certified[net]
        out: dict[RowId, tuple[int, ...]] = {}
        for position, j, sign, row, _ in maps.pattern_bounds(pattern):
            single = len(maps.activation(position).breakpoints) == 1
            out[position if single else f"{position}:{j}"] = \
                primitive(row if sign > 0 else tuple(-v for v in row))
        for i in range(c.network.input_dim):
            for side in ("lo", "hi"):
                face = box_inequality(c.box, f"{side}{i}", c.network.input_dim)
                if face is not None:  # None: no box
                    out[f"{side}{i}"] = primitive(face[0])
        return out

    def _thin(self, value: Any, inequalities: dict[RowId, tuple[int, ...]],
              point: list[Fraction], where: str) -> None:
        """The shrunk and the far proof (see the module doc)."""
        if not isinstance(value, dict) or not {"bound", "shrunk"} <= set(value) \
                or not set(value) <= {"bound", "shrunk", "far"}:
            raise FormatError(where, 'expected {"bound": T, "shrunk": multipliers, '
                              '"far": multipliers}')
        bound = parse_rational(value["bound"], f"{where}.bound")
        if bound <= 0 or binade(bound, self.fmt) != bound:
            raise Rejected(f"{where}.bound: not a power of two in {self.fmt.name}'s range")
        rho = spacing(bound, self.fmt)
        if "far" not in value and bound != binade(Fraction(0), self.fmt):
            raise Rejected(f"{where}: no far proof, and {shown(bound)} is not where "
                           f"{self.fmt.name}'s spacing is the finest")
        dim = len(point)
        near = Box((-bound,) * dim, (bound,) * dim)

        def inequality(row_id: RowId, at: str, shrink: bool) -> Inequality:
            if shrink or not isinstance(row_id, str) or not row_id.startswith("near:"):
                row = inequalities.get(row_id) if isinstance(row_id, (int, str)) else None
            else:
                face = box_inequality(near, row_id.removeprefix("near:"), dim)
                if face is not None:
                    return face
                row = None
            if row is None:
                raise Rejected(f"{at}: {shown(row_id)!r} is not an inequality of the region")
            if not shrink:
                return row, 1
            cut = rho * norm_lower(row[:-1])
            return (*(v * cut.denominator for v in row[:-1]),
                    row[-1] * cut.denominator - cut.numerator), cut.denominator

        for part, shrink in (("shrunk", True), ("far", False)):
            if part in value:
                terms = read_multipliers(value[part], f"{where}.{part}", dim,
                                         functools.partial(inequality, shrink=shrink))
                if not is_contradiction(combination(terms, dim, self.budget, where)):
                    raise Rejected(f"{where}.{part}: the multipliers do not combine the "
                                   f"{'shrunk ' * shrink}inequalities into a constant <= 0")


def _end(record: dict[str, Any], where: str) -> dict[str, Any]:
    end = record["end"]
    if set(record) != {"end"} or not isinstance(end, dict) \
            or set(end) != {"claims", "metadata"} or not isinstance(end["claims"], dict):
        raise FormatError(where, 'expected {"end": {"claims": {...}, "metadata": {...}}}')
    claims = end["claims"]
    if set(claims) != {"regions", "created", "destroyed", "thin"}:
        raise FormatError(f"{where}.end.claims",
                          "expected the keys regions, created, destroyed, thin")
    return claims


def _claims(claims: dict[str, Any], certified: dict[str, Certified], balls: _Balls,
            fmt: FloatFormat) -> str:
    """Compare the claims with what was verified; the verdict's words, with a
    ``{domain}`` field for the caller."""
    exact, rounded = certified["exact"], certified["rounded"]
    if claims["regions"] != {"exact": exact.regions, "rounded": rounded.regions}:
        raise Rejected(f"the audit claims the region counts {shown(claims['regions'])}, but "
                       f"the certificates establish {exact.regions} and {rounded.regions}")
    computed = {"created": sorted(rounded.patterns - exact.patterns),
                "destroyed": sorted(exact.patterns - rounded.patterns)}
    for name, net in (("created", "rounded"), ("destroyed", "exact")):
        if claims[name] != computed[name]:
            raise Rejected(f"the audit's list of {name} regions is not the one the "
                           f"certificates give ({len(computed[name])} regions)")
        missing = set(computed[name]) - balls.seen[net]
        if missing:
            raise Rejected(f"{name} region {shown(min(missing))!r} has no ball record")
    thin = {net: sorted(balls.thin[net]) for net in NETS}
    if claims["thin"] != thin:
        raise Rejected("the audit's thin regions are not those its proofs establish")
    words = (f"{exact.regions} activation regions exact, {rounded.regions} after rounding; "
             f"{len(computed['created'])} created, {len(computed['destroyed'])} destroyed")
    proved = [f"{len(thin[net])} region{'s' * (len(thin[net]) != 1)} of the {net} network"
              for net in NETS if thin[net]]
    if proved:
        words += f"; proved thinner than {fmt.name} resolution: {', '.join(proved)}"
    return f"{fmt.name} audit over {{domain}}: {words}"
