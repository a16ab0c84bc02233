"""The checker's resource bounds: explicit caps, and a work budget tied to the file's size.

Every cap is checked before the work it bounds is done, so a hostile certificate
ends with a one-line error (exit 2) instead of a hang or an exhausted machine:

* **numbers**: at most :data:`MAX_DIGITS` decimal digits in the text of an integer,
  and the *value* read (after a decimal exponent, say) has a numerator and a
  denominator of at most :data:`MAX_NUMBER_BITS` bits each; exponents are checked
  for length before they are converted.  Every number the checker reads can
  therefore be printed (Python refuses ``str`` of integers past 4,300 digits).
* **common denominators**: a point or a list of multipliers is brought to one
  denominator only while that denominator stays within :data:`MAX_NUMBER_BITS`
  (points) or :data:`MAX_MAP_BITS` (combinations); the producer always writes a
  point over one denominator, so an honest record never comes close.
* **shapes**: input dimension, neurons, layers and the size of the pre-activation
  maps (``neurons * (n0 + 1)`` integers) are capped; a Motzkin proof lists at most
  ``n0 + 1`` rows (Caratheodory: a basic solution of the dual of the max-slack LP
  has at most as many non-zeros as the LP has variables, ``n0 + 1``).
* **map integers**: the integers of the pre-activation maps are reduced by their
  common gcd layer by layer and may not pass :data:`MAX_MAP_BITS` bits.
* **bytes**: a header line of at most :data:`MAX_HEADER_LINE` bytes, every other
  line at most :data:`MAX_RECORD_LINE`, and a gzip stream may expand at most
  :data:`MAX_EXPANSION` times its size (plus :data:`EXPANSION_ALLOWANCE`).  Parsed
  JSON takes at most about 25 bytes of memory per byte of text, one line at a time.
* **work**: the arithmetic on pre-activation maps (the checker's dominant cost) is
  counted in :class:`Budget` units and may not exceed :data:`WORK_PER_BYTE` units
  per byte of the file as stored plus :data:`WORK_ALLOWANCE`.  A unit is one
  multiply-add of map integers, weighted by their size in 64-bit words.

Together: time and memory linear in the size of the file on disk.  The constants
leave honest certificates a wide margin (the largest ratio of work to bytes
measured on tvmip's own certificates is in README.md's Guarantees).
"""

from __future__ import annotations

from .errors import FormatError

MAX_DIGITS = 4000
MAX_NUMBER_BITS = 13_288  # 4,000 decimal digits
MAX_EXPONENT = 1000
MAX_EXPONENT_CHARS = 6
MAX_EVIDENCE_BITS = 12_000
"""Largest integer (in bits, about 3,600 digits) the producer lets into evidence;
beyond it a run stops with a resource limit (exit 3) naming the region."""
MAX_MAP_BITS = 4 * MAX_EVIDENCE_BITS
MAX_INPUT_DIM = 1000
MAX_BREAKPOINTS = 4096  # of one activation (a 12-bit quantizer has 4,095)
MAX_NEURONS = 100_000
MAX_LAYERS = 1000
MAX_MAP_ENTRIES = 1 << 22
MAX_HEADER_LINE = 8 << 20
MAX_RECORD_LINE = 1 << 20
MAX_EXPANSION = 64
EXPANSION_ALLOWANCE = 1 << 20
WORK_PER_BYTE = 2_000
WORK_ALLOWANCE = 20_000_000


class Budget:
    """Decompressed bytes and map arithmetic, charged against limits set by the
    size of the file as stored (``stored`` bytes; ``gzipped`` enables the byte cap)."""

    def __init__(self, stored: int, gzipped: bool) -> None:
        self.byte_limit = MAX_EXPANSION * stored + EXPANSION_ALLOWANCE if gzipped else None
        self.work_limit = WORK_PER_BYTE * stored + WORK_ALLOWANCE
        self.bytes = 0
        self.work = 0

    def read(self, amount: int) -> None:
        self.bytes += amount
        if self.byte_limit is not None and self.bytes > self.byte_limit:
            raise FormatError("", f"gzip stream expands beyond {self.byte_limit} bytes "
                              f"({MAX_EXPANSION} times its size; a gzip bomb?)")

    def spend(self, units: int) -> None:
        self.work += units
        if self.work > self.work_limit:
            raise FormatError("", f"checking needs more than {self.work_limit} units of "
                              f"arithmetic, over {WORK_PER_BYTE} per byte of the file "
                              "(a resource bound; see README.md, Guarantees)")


def check_bits(value: int, limit: int, where: str, what: str) -> None:
    """A :class:`FormatError` when ``|value|`` has more than ``limit`` bits."""
    if value.bit_length() > limit:
        raise FormatError(where, f"{what} has more than {limit} bits")


def shown(value: object, width: int = 40) -> str:
    """A value as text for a message, shortened to about ``width`` characters; never
    fails (integers are measured before they are converted)."""
    numerator = getattr(value, "numerator", None)
    denominator = getattr(value, "denominator", None)
    if isinstance(numerator, int) and isinstance(denominator, int) and \
            max(numerator.bit_length(), denominator.bit_length()) > 4 * width:
        return f"<a number of about {max(numerator.bit_length(), denominator.bit_length()) * 3 // 10} digits>"
    text = str(value)
    return text if len(text) <= width else text[: width - 3] + "..."
