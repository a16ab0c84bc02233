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

Claims are bound to their domain: the verdict line ends its counts with
``over R^n0`` or ``over the box ...``, and the caller may require a network
(``expected_sha256``) and a domain (``expected_box``).  A theorem's bound is
compared with a certified lower bound on the linear regions over all of R^n0:
the linear regions themselves for a certificate over R^n0, the distinct affine
maps for one over a box (a box can cut one linear region into several, but every
map seen in the box is the map of at least one linear region of R^n0).

Reading is bounded (:mod:`tvmip.checker.limits`): the time and memory a file can
cost are linear in its size, whatever it holds.
"""

from __future__ import annotations

import enum
import gzip
import io
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol

from .audit import AUDIT_FORMAT, Certified, check_audit
from .bounds import THEOREMS, ExceedsLimit
from .breakpoints import BreakpointChecker
from .errors import FormatError, Rejected
from .limits import MAX_HEADER_LINE, MAX_RECORD_LINE, Budget, shown
from .model import Box, Network, box_from_json, network_from_json
from .rationals import loads
from .tree import TreeChecker
from .witnesses import WitnessChecker

CERTIFICATE_FORMAT = "tvmip-certificate/1"
HEADER_KEYS = {"format", "tool", "kind", "network", "network_sha256", "domain", "claims"}


class RecordChecker(Protocol):
    """What a certificate kind's checker does with its records."""

    def __init__(self, network: Network, box: Box | None, claims: list[str],
                 budget: Budget) -> None: ...

    def feed(self, record: Any, where: str) -> None: ...

    def finish(self) -> None: ...

    def verified(self, needed: set[str]) -> dict[str, tuple[int, bool]]: ...


COUNTS = ("activation_regions", "linear_regions", "distinct_maps")
CLAIMS = (*COUNTS, "theorem")
KINDS: dict[str, type[RecordChecker]] = {
    "tree": TreeChecker, "breakpoints": BreakpointChecker, "witnesses": WitnessChecker}
THEOREM_KEYS = {"name", "n0", "width", "depth", "bound", "ternary"}
CLAIM_WORDS = {"activation_regions": "activation regions", "linear_regions": "linear regions",
               "distinct_maps": "distinct affine maps"}
MAX_DEPTH, MAX_WIDTH = 64, 10**6  # the reference architecture of a theorem claim
EXIT_VALID, EXIT_INVALID, EXIT_INPUT = 0, 1, 2
_UNPRINTABLE = re.compile(r"[^\x20-\x7e]")


class Unbound(enum.Enum):
    """No requirement on the certificate's domain (the default of :func:`check_file`)."""

    ANY = "any"


@dataclass(frozen=True, slots=True)
class Verdict:
    """The outcome: one line to print and the exit code that goes with it.  A VALID
    verdict also carries its counts, the domain they are about (None: all of
    R^input_dim) and the network's SHA-256."""

    line: str
    exit_code: int
    counts: tuple[tuple[str, int, bool], ...] = ()  # (claim, value, exact)
    domain: Box | None = None
    input_dim: int = 0
    network_sha256: str = ""

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


def _lines(handle: IO[bytes] | gzip.GzipFile, budget: Budget) -> Iterator[tuple[int, bytes]]:
    number = 0
    while True:
        limit = MAX_HEADER_LINE if number == 0 else MAX_RECORD_LINE
        line = handle.readline(limit + 1)
        if not line:
            return
        number += 1
        budget.read(len(line))
        if len(line) > limit:
            raise FormatError(f"line {number}", f"longer than {limit} bytes")
        if not line.strip():
            raise FormatError(f"line {number}", "blank line (certificates have none)")
        yield number, line


def domain_text(box: Box | None, dim: int) -> str:
    """``R^n`` or ``the box (lo, hi)^n`` / ``the box (lo1, hi1) x (lo2, hi2)``."""
    if box is None:
        return f"R^{dim}"
    sides = [f"({shown(lo)}, {shown(hi)})" for lo, hi in zip(box.lo, box.hi)]
    if len(set(sides)) == 1 and len(sides) > 1:
        return f"the box {sides[0]}^{len(sides)}"
    return "the box " + " x ".join(sides)


def _one_line(text: str) -> str:
    """Printable ASCII only: a verdict is one line on any terminal."""
    return _UNPRINTABLE.sub(lambda m: ascii(m[0])[1:-1], text)


def check_file(path: str | Path, expected_sha256: str | None = None,
               expected_box: Box | None | Unbound = Unbound.ANY) -> Verdict:
    """Verify the certificate (or audit) at ``path``; never raises, whatever the file
    holds.  ``expected_sha256`` requires it to be about that network and
    ``expected_box`` about that domain (None: all of R^n0)."""
    path = Path(path)
    try:
        with open(path, "rb") as raw:
            verdict = _check_handle(raw, path.stat().st_size, path, expected_sha256,
                                    expected_box)
    except Rejected as exc:
        verdict = Verdict(f"INVALID: {exc}", EXIT_INVALID)
    except FormatError as exc:
        verdict = Verdict(f"error: {path}: {exc}", EXIT_INPUT)
    except (OSError, EOFError, zlib.error) as exc:
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        verdict = Verdict(f"error: {path}: cannot read ({reason})", EXIT_INPUT)
    except (MemoryError, RecursionError):
        verdict = Verdict(f"error: {path}: too large or too deep to check", EXIT_INPUT)
    except Exception as exc:  # noqa: BLE001 - a checker bug: never VALID, never a traceback
        verdict = Verdict(f"error: {path}: the checker failed on this file "
                          f"({type(exc).__name__}: {shown(exc, 200)})", EXIT_INPUT)
    return Verdict(_one_line(verdict.line), verdict.exit_code, verdict.counts, verdict.domain,
                   verdict.input_dim, verdict.network_sha256)


@dataclass(slots=True)
class _Collected:
    """A tree certificate's network and region patterns, gathered for an audit."""

    network: Network | None = None
    patterns: set[str] = field(default_factory=set)


def _check_handle(raw: IO[bytes], size: int, path: Path, expected_sha256: str | None,
                  expected_box: Box | None | Unbound,
                  collected: _Collected | None = None) -> Verdict:
    """Verify the file open as ``raw`` (``size`` bytes as stored, gzip or not)."""
    budget = Budget(size, raw.read(2) == b"\x1f\x8b")
    raw.seek(0)
    if budget.byte_limit is None:
        return _check_stream(_lines(raw, budget), budget, expected_sha256, expected_box, path,
                             collected)
    with gzip.GzipFile(fileobj=raw) as handle:
        return _check_stream(_lines(handle, budget), budget, expected_sha256, expected_box,
                             path, collected)


def _certified(path: Path, data: bytes) -> Certified:
    """What the tree certificate ``data`` (read from ``path``) establishes, for an
    audit; :class:`Rejected` unless it is VALID."""
    collected = _Collected()
    verdict = _check_handle(io.BytesIO(data), len(data), path, None, Unbound.ANY, collected)
    regions = verdict.activation_regions
    if collected.network is None or regions is None:
        raise Rejected("not a tree certificate")
    return Certified(collected.network, verdict.domain, regions, verdict.exact,
                     frozenset(collected.patterns))


def _expect_object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise FormatError(where, "expected a JSON object")
    return value


def _check_stream(lines: Iterator[tuple[int, bytes]], budget: Budget,
                  expected_sha256: str | None, expected_box: Box | None | Unbound,
                  path: Path, collected: _Collected | None) -> Verdict:
    first = next(lines, None)
    if first is None:
        raise FormatError("", "empty file")
    header = _expect_object(loads(first[1]), "line 1")
    if header.get("format") == AUDIT_FORMAT and collected is None:
        return _audit(header, lines, budget, expected_sha256, expected_box, path)
    if header.get("format") != CERTIFICATE_FORMAT:
        raise FormatError("line 1.format", f"not a {CERTIFICATE_FORMAT} certificate")
    if set(header) != HEADER_KEYS:
        raise FormatError("line 1", f"header keys must be {sorted(HEADER_KEYS)}")
    kind = header["kind"]
    if not isinstance(kind, str) or kind not in KINDS:
        raise FormatError("line 1.kind", f"unknown certificate kind {shown(kind)!r}")
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
    if expected_box is not Unbound.ANY and box != expected_box:
        raise Rejected(f"the certificate is about the domain {domain_text(box, network.input_dim)}"
                       f", not {domain_text(expected_box, network.input_dim)} as required")
    if collected is not None:
        if kind != "tree":
            raise Rejected(f"an audit needs tree certificates, not {kind!r} ones")
        collected.network = network
    checker = KINDS[kind](network, box, declared, budget)
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
        if collected is not None and "r" in record:
            collected.patterns.add(record["r"])
    if end is None:
        raise FormatError("", "truncated: the end record with the claims is missing")
    checker.finish()
    needed = set(end) - {"theorem"}
    if "theorem" in end:
        needed.add("linear_regions" if box is None else "distinct_maps")
    return _verdict(end, checker.verified(needed), network, box)


def _audit(header: dict[str, Any], lines: Iterator[tuple[int, bytes]], budget: Budget,
           expected_sha256: str | None, expected_box: Box | None | Unbound,
           path: Path) -> Verdict:
    """An audit's verdict (:mod:`tvmip.checker.audit`), bound to the exact network and
    the domain like a certificate's."""
    words, exact, rounded = check_audit(header, lines, budget, path.parent, _certified)
    if expected_sha256 is not None and exact.network.sha256 != expected_sha256:
        raise Rejected("the audit is about a different network than the one given")
    if expected_box is not Unbound.ANY and exact.box != expected_box:
        raise Rejected(f"the audit is about the domain "
                       f"{domain_text(exact.box, exact.network.input_dim)}, not "
                       f"{domain_text(expected_box, exact.network.input_dim)} as required")
    dim = exact.network.input_dim
    counts = (("exact_regions", exact.regions, True), ("rounded_regions", rounded.regions, True))
    return Verdict("VALID: " + words.format(domain=domain_text(exact.box, dim)), EXIT_VALID,
                   counts, exact.box, dim, exact.network.sha256)


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
             network: Network, box: Box | None) -> Verdict:
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
            raise Rejected(f"the certificate claims {shown(claim['value'])} {CLAIM_WORDS[name]} "
                           f"but its evidence establishes {value}")
        if claim["kind"] == "exact" and not exact:
            raise Rejected(f"claims an exact number of {CLAIM_WORDS[name]} but its evidence "
                           "only gives a lower bound")
        counts.append((name, value, claim["kind"] == "exact"))
    words = ", ".join(f"{'' if exact else 'at least '}{value} {CLAIM_WORDS[name]}"
                      for name, value, exact in counts)
    words += f" over {domain_text(box, network.input_dim)}"
    if not all(exact for _, _, exact in counts):
        words += " (lower bound)"
    if "output_values" in verified and {"linear_regions", "distinct_maps"} & set(claims):
        values = verified["output_values"][0]
        words += f"; f is piecewise constant with {values} output value{'s' * (values != 1)}"
    if "theorem" in claims:
        words += "; " + _theorem(claims["theorem"], verified, network, box)
    return Verdict(f"VALID: {words}", EXIT_VALID, tuple(counts), box,
                   network.input_dim, network.sha256)


def _theorem(claim: dict[str, Any], verified: dict[str, tuple[int, bool]], network: Network,
             box: Box | None) -> str:
    """Recompute the theorem's bound for the reference architecture (its hypotheses
    included) and compare it with a certified lower bound on the network's linear
    regions over all of R^n0: the linear regions over R^n0, or the distinct affine
    maps when the domain is a box."""
    name, n0, width, depth = claim["name"], claim["n0"], claim["width"], claim["depth"]
    if name not in THEOREMS:
        raise Rejected(f"unknown theorem {shown(name)!r} (known: {', '.join(THEOREMS)})")
    if n0 != network.input_dim:
        raise Rejected(f"the theorem is stated for n0 = {shown(n0)} but the network has "
                       f"{network.input_dim} inputs")
    if not 1 <= depth <= MAX_DEPTH or not 1 <= width <= MAX_WIDTH:
        raise Rejected("the reference architecture is out of range "
                       f"(depth 1..{MAX_DEPTH}, width 1..{MAX_WIDTH})")
    if claim["ternary"] and not network.ternary:
        raise Rejected("the certificate says the network is ternary but it has other weights")
    evidence = "linear_regions" if box is None else "distinct_maps"
    if evidence not in verified:
        raise Rejected(f"a theorem claim needs evidence about {CLAIM_WORDS[evidence]}")
    regions = verified[evidence][0]
    try:
        bound = THEOREMS[name](n0, (width,) * depth, limit=regions)
    except ExceedsLimit:
        raise Rejected(f"{regions} {CLAIM_WORDS[evidence]} do not reach the bound of "
                       f"{name!r} for n0 = {n0}, width {width}, depth {depth}") from None
    except ValueError as exc:
        raise Rejected(f"theorem {name!r} does not apply: {exc}") from None
    if bound.value != claim["bound"]:
        raise Rejected(f"{bound.name} for n0 = {n0}, width {width}, depth {depth} is "
                       f"{bound.value}, not {shown(claim['bound'])}")
    network_kind = "ternary network" if claim["ternary"] else "network"
    widths = list(network.widths)
    basis = "" if box is None else \
        f" (its {regions} distinct affine maps in the box are a lower bound)"
    return (f"this {network_kind} (hidden widths {widths}) meets {bound.name} = "
            f"{bound.value} (n0 = {n0}, width {width}, depth {depth}; {bound.formula}): "
            f"it has at least {bound.value} linear regions over R^{n0}{basis}")
