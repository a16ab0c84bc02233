"""Lines and planes through the input space, and the network restricted to them, exactly.

A researcher often looks at a trained network along a line through two data points,
or on a plane through three: ``x = p + s d1`` or ``x = p + s d1 + t d2``.  The
network restricted to it, ``(s, t) -> f(p + s d1 + t d2)``, is again a network
(only its first layer changes, exactly), whose regions are the traces of the
original's regions on the subspace: counting them is counting the original's
regions that the subspace meets, and their pieces there.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

from ..checker.errors import FormatError
from ..checker.rationals import parse_rational
from ..errors import InputError
from .network import Layer, Network

Vector = tuple[Fraction, ...]


@dataclass(frozen=True, slots=True)
class Subspace:
    """The affine subspace ``x = point + sum_i u_i directions[i]`` (one or two
    directions, linearly independent)."""

    point: Vector
    directions: tuple[Vector, ...]

    @property
    def dim(self) -> int:
        return len(self.directions)

    def at(self, *coordinates: Fraction) -> Vector:
        """The input at the given coordinates ``(s)`` or ``(s, t)``."""
        return tuple(p + sum((u * d[i] for u, d in zip(coordinates, self.directions)),
                             Fraction(0))
                     for i, p in enumerate(self.point))

    def restrict(self, network: Network) -> Network:
        """The network ``u -> f(point + sum u_i d_i)``, exactly: the first layer
        ``W z + b`` becomes ``[W d_1, .., W d_k] u + (W point + b)``."""
        if len(self.point) != network.input_dim:
            raise InputError(f"the subspace has {len(self.point)} coordinates but the "
                             f"network {network.input_dim} inputs")
        first = network.layers[0]
        weights = tuple(tuple(_dot(row, d) for d in self.directions) for row in first.weights)
        biases = tuple(_dot(row, self.point) + b for row, b in zip(first.weights, first.biases))
        return Network(self.dim, (Layer(weights, biases, first.activation),
                                  *network.layers[1:]), network.output)

    def __str__(self) -> str:
        names = ("s", "t")[: self.dim]
        terms = " + ".join(f"{name} d{i + 1}" for i, name in enumerate(names))
        vectors = ", ".join(f"d{i + 1} = {_text(d)}" for i, d in enumerate(self.directions))
        return f"x = p + {terms}, p = {_text(self.point)}, {vectors}"


def _dot(row: Sequence[Fraction], v: Sequence[Fraction]) -> Fraction:
    return sum((w * x for w, x in zip(row, v)), Fraction(0))


def _text(v: Vector) -> str:
    return "(" + ", ".join(map(str, v)) + ")"


def parse_subspace(text: str, dim: int, directions: int, option: str) -> Subspace:
    """Parse ``POINT;DIR1`` (a line) or ``POINT;DIR1;DIR2`` (a plane), each a
    comma-separated list of ``dim`` rationals, e.g. ``"0,0,1/2;1,0,0;0,1,-1"``."""
    parts = text.split(";")
    names = ("POINT", "DIR1", "DIR2")[: directions + 1]
    if len(parts) != len(names):
        raise InputError(f"{option}: expected {';'.join(names)}, got {len(parts)} parts")
    vectors = []
    for name, part in zip(names, parts):
        items = [v.strip() for v in part.split(",")]
        if len(items) != dim:
            raise InputError(f"{option}: {name} has {len(items)} coordinates, expected {dim}")
        try:
            vectors.append(tuple(parse_rational(v, f"{option} {name}") for v in items))
        except FormatError as exc:
            raise InputError(str(exc)) from None
    subspace = Subspace(vectors[0], tuple(vectors[1:]))
    if not any(subspace.directions[0]):
        raise InputError(f"{option}: DIR1 is the zero vector")
    if directions == 2:
        d1, d2 = subspace.directions
        if all(d1[i] * d2[j] == d1[j] * d2[i] for i in range(dim) for j in range(i + 1, dim)):
            raise InputError(f"{option}: the two directions are linearly dependent")
    return subspace


def coordinate_plane(dim: int) -> Subspace:
    """The plane through the origin spanned by the first two unit vectors."""
    zero = (Fraction(0),) * dim
    unit = tuple(tuple(Fraction(int(i == k)) for i in range(dim)) for k in range(2))
    return Subspace(zero, unit)
