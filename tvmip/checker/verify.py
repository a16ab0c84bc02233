"""Reading a certificate file and reaching one verdict (standard library only).

A certificate (``tvmip-certificate/1``) is UTF-8 JSON Lines, gzip-compressed or
not (recognised by its magic bytes, not its name):

1. a header ``{"format", "tool", "kind", "network", "network_sha256", "domain",
   "claims"}``: ``kind`` says how the evidence is organised (``tree``: the search
   tree, :mod:`tvmip.checker.tree`; ``breakpoints``: the intervals of a one-input
   network, :mod:`tvmip.checker.breakpoints`), ``claims`` which counts it is
   meant to establish;
2. the records of its kind;
3. an end line ``{"end": {"claims": {name: {"kind": "exact" | "at_least",
   "value": n}}, "metadata": {...}}}``.

Everything is re-derived: the network's hash from its canonical form, every
record's evidence, and the claimed counts from the records.  ``metadata``
(timings, host) is not part of any claim and is not read.

Reading is bounded: lines of at most :data:`MAX_LINE` bytes, and a gzip stream
may expand at most :data:`MAX_EXPANSION` times its size (plus 16 MiB), so a
hostile file costs time and memory proportional to its size.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Protocol

from .bounds import THEOREMS
from .breakpoints import BreakpointChecker
from .errors import FormatError, Rejected
from .model import Box, Network, box_from_json, network_from_json
from .rationals import loads
from .tree import TreeChecker
from .witnesses import WitnessChecker

CERTIFICATE_FORMAT = "tvmip-certificate/1"
HEADER_KEYS = {"format", "tool", "kind", "network", "network_sha256", "domain", "claims"}
class RecordChecker(Protocol):
    """What a certificate kind's checker does with its records."""

    def __init__(self, network: Network, box: Box | None, claims: list[str]) -> None: ...

    def feed(self, record: Any, where: str) -> None: ...

    def finish(self) -> None: ...

    def verified(self) -> dict[str, tuple[int, bool]]: ...


COUNTS = ("activation_regions", "linear_regions", "distinct_maps")
CLAIMS = (*COUNTS, "theorem")
KINDS: dict[str, type[RecordChecker]] = {
    "tree": TreeChecker, "breakpoints": BreakpointChecker, "witnesses": WitnessChecker}
THEOREM_KEYS = {"name", "n0", "width", "depth", "bound", "ternary"}
CLAIM_WORDS = {"activation_regions": "activation regions", "linear_regions": "linear regions",
               "distinct_maps": "distinct affine maps"}
MAX_LINE = 64 * 2**20
MAX_EXPANSION = 200
EXIT_VALID, EXIT_INVALID, EXIT_INPUT = 0, 1, 2


@dataclass(frozen=True, slots=True)
class Verdict:
    """The outcome: one line to print and the exit code that goes with it."""

    line: str
    exit_code: int
    counts: tuple[tuple[str, int, bool], ...] = ()  # (claim, value, exact)

    def count(self, claim: str) -> int | None:
        return next((value for name, value, _ in self.counts if name == claim), None)

    @property
    def activation_regions(self) -> int | None:
        return self.count("activation_regions")

    @property
    def exact(self) -> bool:
        return any(name == "activation_regions" and exact for name, _, exact in self.counts)

    @property
    def valid(self) -> bool:
        return self.exit_code == EXIT_VALID


class _Budget:
    """Counts decompressed bytes against a limit proportional to the file's size."""

    def __init__(self, compressed_size: int) -> None:
        self.limit = MAX_EXPANSION * compressed_size + 16 * 2**20
        self.used = 0

    def spend(self, amount: int) -> None:
        self.used += amount
        if self.used > self.limit:
            raise FormatError("", f"gzip stream expands beyond {self.limit} bytes (a gzip bomb?)")


def _lines(handle: IO[bytes] | gzip.GzipFile,
           budget: _Budget | None) -> Iterator[tuple[int, bytes]]:
    number = 0
    while True:
        line = handle.readline(MAX_LINE + 1)
        if not line:
            return
        number += 1
        if budget is not None:
            budget.spend(len(line))
        if len(line) > MAX_LINE:
            raise FormatError(f"line {number}", f"longer than {MAX_LINE} bytes")
        if not line.strip():
            raise FormatError(f"line {number}", "blank line (certificates have none)")
        yield number, line


def check_file(path: str | Path, expected_sha256: str | None = None) -> Verdict:
    """Verify the certificate at ``path``; never raises on bad content."""
    path = Path(path)
    try:
        with open(path, "rb") as raw:
            size = path.stat().st_size
            gzipped = raw.read(2) == b"\x1f\x8b"
            raw.seek(0)
            if gzipped:
                with gzip.GzipFile(fileobj=raw) as handle:
                    return _check_stream(_lines(handle, _Budget(size)), expected_sha256)
            return _check_stream(_lines(raw, None), expected_sha256)
    except Rejected as exc:
        return Verdict(f"INVALID: {exc}", EXIT_INVALID)
    except FormatError as exc:
        return Verdict(f"error: {path}: {exc}", EXIT_INPUT)
    except (OSError, EOFError, zlib.error) as exc:
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        return Verdict(f"error: {path}: cannot read ({reason})", EXIT_INPUT)
    except MemoryError:
        return Verdict(f"error: {path}: too large to check in memory", EXIT_INPUT)


def _expect_object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise FormatError(where, "expected a JSON object")
    return value


def _check_stream(lines: Iterator[tuple[int, bytes]], expected_sha256: str | None) -> Verdict:
    first = next(lines, None)
    if first is None:
        raise FormatError("", "empty file")
    header = _expect_object(loads(first[1]), "line 1")
    if header.get("format") != CERTIFICATE_FORMAT:
        raise FormatError("line 1.format", f"not a {CERTIFICATE_FORMAT} certificate")
    if set(header) != HEADER_KEYS:
        raise FormatError("line 1", f"header keys must be {sorted(HEADER_KEYS)}")
    kind = header["kind"]
    if not isinstance(kind, str) or kind not in KINDS:
        raise FormatError("line 1.kind", f"unknown certificate kind {kind!r}")
    declared = header["claims"]
    if not isinstance(declared, list) or not all(isinstance(c, str) for c in declared) \
            or "activation_regions" not in declared \
            or not set(declared) <= set(CLAIMS) or len(set(declared)) != len(declared):
        raise FormatError("line 1.claims", f"expected a list of claims among {list(CLAIMS)}, "
                          "including 'activation_regions'")
    network = network_from_json(header["network"])
    if header["network_sha256"] != network.sha256:
        raise Rejected("network_sha256 does not match the embedded network")
    if expected_sha256 is not None and network.sha256 != expected_sha256:
        raise Rejected("the certificate is about a different network than the one given")
    box = box_from_json(header["domain"], network.input_dim)
    checker = KINDS[kind](network, box, declared)
    end = None
    for number, line in lines:
        where = f"line {number}"
        if end is not None:
            raise FormatError(where, "data after the end record")
        record = _expect_object(loads(line), where)
        if "end" in record:
            end = _end_record(record, where, declared)
            continue
        checker.feed(record, where)
    if end is None:
        raise FormatError("", "truncated: the end record with the claims is missing")
    checker.finish()
    return _verdict(end, checker.verified(), network)


def _end_record(record: dict[str, Any], where: str, declared: list[str]) -> dict[str, Any]:
    if set(record) != {"end"}:
        raise FormatError(where, "the end record has exactly the key 'end'")
    end = _expect_object(record["end"], f"{where}.end")
    if set(end) != {"claims", "metadata"}:
        raise FormatError(f"{where}.end", "expected exactly the keys 'claims' and 'metadata'")
    _expect_object(end["metadata"], f"{where}.end.metadata")
    claims = _expect_object(end["claims"], f"{where}.end.claims")
    if "activation_regions" not in claims or not set(claims) <= set(declared):
        raise FormatError(f"{where}.end.claims",
                          "expected 'activation_regions' and only claims the header declares")
    for name, claim in claims.items():
        at = f"{where}.end.claims.{name}"
        _expect_object(claim, at)
        if name == "theorem":
            if set(claim) != THEOREM_KEYS or not isinstance(claim["ternary"], bool) \
                    or not isinstance(claim["name"], str) or not all(
                    isinstance(claim[k], int) and not isinstance(claim[k], bool)
                    for k in ("n0", "width", "depth", "bound")):
                raise FormatError(at, "expected {name, n0, width, depth, bound (integers), "
                                  "ternary (boolean)}")
        elif set(claim) != {"kind", "value"} or claim["kind"] not in ("exact", "at_least") \
                or not isinstance(claim["value"], int) or isinstance(claim["value"], bool):
            raise FormatError(at, 'expected {"kind": "exact" | "at_least", "value": <integer>}')
    return claims


def _verdict(claims: dict[str, Any], verified: dict[str, tuple[int, bool]],
             network: Network) -> Verdict:
    """Every claim must be what the evidence establishes; "exact" needs exact evidence."""
    counts = []
    for name in COUNTS:
        if name not in claims:
            continue
        claim = claims[name]
        if name not in verified:
            raise Rejected(f"the certificate claims {name} but carries no evidence for it")
        value, exact = verified[name]
        if claim["value"] != value:
            raise Rejected(f"the certificate claims {claim['value']} {CLAIM_WORDS[name]} "
                           f"but its evidence establishes {value}")
        if claim["kind"] == "exact" and not exact:
            raise Rejected(f"claims an exact number of {CLAIM_WORDS[name]} but its evidence "
                           "only gives a lower bound")
        counts.append((name, value, claim["kind"] == "exact"))
    words = ", ".join(f"{'' if exact else 'at least '}{value} {CLAIM_WORDS[name]}"
                      for name, value, exact in counts)
    lower = "" if all(exact for _, _, exact in counts) else " (lower bound)"
    if "theorem" in claims:
        words += "; " + _theorem(claims["theorem"], verified, network)
    return Verdict(f"VALID: {words}{lower}", EXIT_VALID, tuple(counts))


def _theorem(claim: dict[str, Any], verified: dict[str, tuple[int, bool]], network: Network) -> str:
    """Recompute the theorem's bound for the reference architecture and compare it
    with the linear regions the evidence establishes."""
    name, n0, width, depth = claim["name"], claim["n0"], claim["width"], claim["depth"]
    if name not in THEOREMS:
        raise Rejected(f"unknown theorem {name!r} (known: {', '.join(THEOREMS)})")
    if n0 != network.input_dim:
        raise Rejected(f"the theorem is stated for n0 = {n0} but the network has "
                       f"{network.input_dim} inputs")
    if not 1 <= depth <= 64 or not 1 <= width <= 10**6:
        raise Rejected("the reference architecture is out of range")
    try:
        bound = THEOREMS[name](n0, (width,) * depth)
    except ValueError as exc:
        raise Rejected(f"theorem {name!r} does not apply: {exc}") from None
    if bound.value != claim["bound"]:
        raise Rejected(f"{bound.name} for n0 = {n0}, width {width}, depth {depth} is "
                       f"{bound.value}, not {claim['bound']}")
    if claim["ternary"] and not network.ternary:
        raise Rejected("the certificate says the network is ternary but it has other weights")
    if "linear_regions" not in verified:
        raise Rejected("a theorem claim needs evidence about linear regions")
    regions = verified["linear_regions"][0]
    if regions < bound.value:
        raise Rejected(f"{regions} linear regions do not reach {bound.name} = {bound.value}")
    network_kind = "ternary network" if claim["ternary"] else "network"
    return (f"this {network_kind} meets {bound.name} = {bound.value} "
            f"(n0 = {n0}, width {width}, depth {depth}; {bound.formula})")
