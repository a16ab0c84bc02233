"""Binary floating-point formats, exactly (standard library only).

A format with precision ``p`` (significand bits, the hidden bit included) and
exponent range ``emin..emax`` holds the numbers ``m 2^(e - p + 1)`` with integer
``|m| < 2^p`` and ``emin <= e <= emax`` (``e = emin`` with ``|m| < 2^(p-1)``: the
subnormals).  :func:`round_to` is IEEE 754 round-to-nearest, ties to even, on an
exact rational, and refuses what would overflow to infinity; :func:`spacing` is
the gap between neighbouring numbers of the format around a value (its ulp), the
resolution a float computation has there.  Both are what tvmip's float audit
and its checker use, so rounding is never delegated to a float library.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from .model import Layer, Network


@dataclass(frozen=True, slots=True)
class FloatFormat:
    """An IEEE 754 binary format: ``precision`` significand bits (hidden bit
    included) and normal exponents ``emin..emax``."""

    name: str
    precision: int
    emin: int
    emax: int

    @property
    def largest(self) -> Fraction:
        """The largest finite number, ``(2 - 2^(1-p)) 2^emax``."""
        return (2 - Fraction(1, 2 ** (self.precision - 1))) * Fraction(2) ** self.emax


FORMATS = {f.name: f for f in (
    FloatFormat("float64", 53, -1022, 1023),
    FloatFormat("float32", 24, -126, 127),
    FloatFormat("float16", 11, -14, 15),
    FloatFormat("bfloat16", 8, -126, 127),
)}


def floor_log2(value: Fraction) -> int:
    """``floor(log2 value)`` for ``value > 0``, exactly."""
    n, d = value.numerator, value.denominator
    e = n.bit_length() - d.bit_length()
    return e if (n << max(0, -e)) >= (d << max(0, e)) else e - 1


def binade(value: Fraction, fmt: FloatFormat) -> Fraction:
    """The least ``T = 2^e`` with the spacing of ``value`` (``2^emin`` below the normal
    range): every number of magnitude at least ``T`` has at least that spacing."""
    e = fmt.emin if value == 0 else max(floor_log2(abs(value)), fmt.emin)
    return Fraction(2) ** e


def spacing(value: Fraction, fmt: FloatFormat) -> Fraction:
    """The ulp of the format at ``value``: the gap between the format's numbers in the
    binade of ``|value|`` (the subnormal gap near 0); rounding moves a number by at
    most half of it.  It never decreases as ``|value|`` grows."""
    return binade(value, fmt) / 2 ** (fmt.precision - 1)


def round_to(value: Fraction, fmt: FloatFormat) -> Fraction:
    """The format's number nearest ``value``, ties to the even significand.  Raises
    :class:`OverflowError` where IEEE rounding gives an infinity."""
    q = spacing(value, fmt)
    rounded = round(value / q) * q  # round() on a Fraction: half to even
    # Rounding up to the next power of two keeps the even significand (2^p * q):
    # the value is exact there, only the overflow test remains.
    if abs(rounded) > fmt.largest:
        raise OverflowError(f"{value} overflows {fmt.name}")
    return rounded


def round_network(network: Network, fmt: FloatFormat) -> Network:
    """Every weight and bias rounded to the format (activations kept as they are):
    the network as stored in that format.  :class:`OverflowError` if one overflows."""
    def rounded(layer: Layer) -> Layer:
        return Layer(tuple(tuple(round_to(w, fmt) for w in row) for row in layer.weights),
                     tuple(round_to(b, fmt) for b in layer.biases), layer.activation)

    return Network(network.input_dim, tuple(map(rounded, network.layers)),
                   rounded(network.output))
