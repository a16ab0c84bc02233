"""Strict, exact reading and writing of rationals and JSON (standard library only).

This is the one number reader of tvmip: network files and certificates both go
through it, so the producer and the trusted checker cannot disagree on what a
number means.  Accepted forms of a rational:

* a JSON integer (booleans are not numbers);
* a JSON float literal such as ``0.1`` or ``1e-3``, read as its *decimal text*
  (1/10, 1/1000), never as the nearest binary double;
* a string ``"-3"``, ``"1/2"``, ``"-0.25"`` or ``"2.5e-3"``.

Sizes are bounded before anything is converted (:mod:`tvmip.checker.limits`): at
most :data:`MAX_DIGITS` digits per integer, exponents of at most
:data:`MAX_EXPONENT_CHARS` characters and value :data:`MAX_EXPONENT`, and a value
whose numerator and denominator have at most :data:`MAX_NUMBER_BITS` bits each, so a
hostile file cannot make the reader hang and every number read can be printed.
"""

from __future__ import annotations

import json
import re
from fractions import Fraction
from typing import Any

from .errors import FormatError
from .limits import MAX_DIGITS, MAX_EXPONENT, MAX_EXPONENT_CHARS, MAX_NUMBER_BITS, shown

_INTEGER = re.compile(r"-?[0-9]+")
_RATIO = re.compile(r"(-?[0-9]+)/([0-9]+)")
_DECIMAL = re.compile(r"(-?)([0-9]*)(?:\.([0-9]*))?(?:[eE]([+-]?[0-9]+))?")


class DecimalText(str):
    """The text of a JSON float literal, kept verbatim so it is read exactly."""


def _integer(text: str, where: str) -> int:
    if len(text.lstrip("-")) > MAX_DIGITS:
        raise FormatError(where, f"integer with more than {MAX_DIGITS} digits")
    return int(text)


def _decimal(text: str, where: str) -> Fraction | None:
    match = _DECIMAL.fullmatch(text)
    if match is None:
        return None
    sign, whole, frac, exponent = match.groups()
    frac = frac or ""
    if not whole and not frac:
        return None
    if exponent is not None and len(exponent.lstrip("+-")) > MAX_EXPONENT_CHARS:
        raise FormatError(where, f"decimal exponent beyond +-{MAX_EXPONENT}")
    exp = int(exponent) if exponent is not None else 0
    if abs(exp) > MAX_EXPONENT:
        raise FormatError(where, f"decimal exponent beyond +-{MAX_EXPONENT}")
    digits = (whole + frac).lstrip("0")
    shift = exp - len(frac)  # value = digits * 10^shift
    if len(digits) + max(shift, 0) > MAX_DIGITS or -shift > MAX_DIGITS:
        raise FormatError(where, f"a number whose value needs more than {MAX_DIGITS} digits")
    value = Fraction(int(digits or "0")) * Fraction(10) ** shift
    return -value if sign else value


def _bounded(value: Fraction, where: str) -> Fraction:
    """``value`` if its numerator and denominator fit in :data:`MAX_NUMBER_BITS` bits."""
    if max(value.numerator.bit_length(), value.denominator.bit_length()) > MAX_NUMBER_BITS:
        raise FormatError(where, f"a number whose value needs more than {MAX_DIGITS} digits")
    return value


def parse_rational(value: Any, where: str = "") -> Fraction:
    """Read one exact rational from a parsed JSON value, or raise :class:`FormatError`."""
    if isinstance(value, bool):
        raise FormatError(where, "expected a number, got a boolean")
    if isinstance(value, int):
        return _bounded(Fraction(value), where)
    if isinstance(value, str):
        text = value
        if _INTEGER.fullmatch(text):
            return Fraction(_integer(text, where))
        ratio = _RATIO.fullmatch(text)
        if ratio:
            num, den = _integer(ratio[1], where), _integer(ratio[2], where)
            if den == 0:
                raise FormatError(where, f"zero denominator in {shown(text)!r}")
            return Fraction(num, den)
        decimal = _decimal(text, where)
        if decimal is not None:
            return _bounded(decimal, where)
        raise FormatError(where, f"not a rational number: {shown(text)!r}")
    if value is None:
        raise FormatError(where, "expected a number, got null")
    raise FormatError(where, f"expected a number, got {type(value).__name__}")


def format_rational(value: Fraction) -> int | str:
    """Canonical JSON form: an integer as a JSON int, anything else as ``"p/q"``."""
    if value.denominator == 1:
        return value.numerator
    return f"{value.numerator}/{value.denominator}"


def _reject_constant(name: str) -> Any:
    raise FormatError("", f"{name} is not a number tvmip accepts (no NaN or infinity)")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, val in pairs:
        if key in result:
            raise FormatError("", f"duplicate key {key!r}")
        result[key] = val
    return result


def loads(text: str | bytes) -> Any:
    """Parse JSON strictly: float literals kept as decimal text, no NaN/Infinity,
    no duplicate keys, nesting beyond the interpreter's limit reported as an error."""
    try:
        return json.loads(
            text,
            parse_float=DecimalText,
            parse_constant=_reject_constant,
            object_pairs_hook=_unique_keys,
        )
    except FormatError:
        raise
    except RecursionError:
        raise FormatError("", "JSON nested too deeply") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise FormatError("", f"invalid JSON ({exc})") from None


def dumps(value: Any) -> str:
    """Canonical compact JSON text (sorted keys, no spaces) of plain JSON values."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
