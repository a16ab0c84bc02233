"""Float-rounding audits: what storing a network in a float format does to its regions.

``audit(network, "float32", "net.audit.json")``:

1. rounds every weight and bias to the format, exactly (nearest, ties to even:
   :func:`tvmip.checker.floats.round_network`); activations keep their exact
   parameters;
2. counts the network and the rounded network exactly, each with a tree
   certificate written beside the audit;
3. matches their regions by pattern: the regions the rounding *created* and
   *destroyed*, each with a certified inscribed ball (its size:
   :mod:`tvmip.evidence.balls`);
4. for every region of both networks whose certified ball is not wider than the
   format's spacing (ulp) at its centre, finds the spacing ``rho`` the format has
   at least everywhere in the region (the region keeps out of a cube around the
   origin) and tries to prove that no ball wider than ``rho`` fits: such a region
   is *thin*, below the format's resolution everywhere in it;
5. evaluates the rounded network in the format at every region's witness
   rounded to the format, with numpy (:mod:`tvmip.model.floats`) and, when it is
   installed, onnxruntime on the exported model, and lists the regions where the
   float pre-activations give another pattern than the certified one (also
   saying whether the rounded point itself left the region).

Steps 1-4 are claims, written as a ``tvmip-audit/1`` file that ``tvmip check``
re-verifies (:mod:`tvmip.checker.audit`); step 5 is an observation of particular
runtimes on this machine, reported and not certified.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from . import __version__
from .checker.audit import AUDIT_FORMAT, PLAIN_NAME
from .checker.floats import (
    FORMATS,
    FloatFormat,
    binade,
    round_network,
    round_to,
    spacing,
)
from .checker.rationals import format_rational
from .checker.verify import domain_text
from .engine.counting import count
from .engine.run import NO_LIMITS, Limits
from .errors import InputError, ResourceLimit
from .evidence.balls import Ball, far_proof, inscribed_ball, thin_proof
from .evidence.exact import Witness
from .evidence.lp import MaxSlackLP
from .files import AtomicFile, check_writable
from .model.floats import float_pre_activations, numpy_dtype, patterns
from .model.network import Box, Network, decimal_text, pattern_at
from .model.scaled import region_rows, scale_network
from .progress import Progress
from .search.tree import Record, Region

NETS = ("exact", "rounded")


@dataclass(frozen=True, slots=True)
class SizedRegion:
    """A region of one of the two networks with its certified ball, the format's
    spacing there (at the ball's centre, or everywhere in the region when thin), and
    whether it is proved thinner than that (``proof``: the audit's thin record)."""

    network: str
    pattern: str
    ball: Ball
    spacing: Fraction
    thin: bool
    proof: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"network": self.network, "pattern": self.pattern,
                "centre": [format_rational(v) for v in self.ball.centre],
                "radius_squared": None if self.ball.r2 is None else format_rational(self.ball.r2),
                "radius": self.ball.radius, "spacing": float(self.spacing), "thin": self.thin}


@dataclass(frozen=True, slots=True)
class Mismatch:
    """A region of the rounded network whose float evaluation at its rounded witness
    gives another pattern: ``exact`` is the pattern at that point in exact
    arithmetic (the region's own unless rounding the point left the region),
    ``seen`` the one the runtime's floats give."""

    runtime: str
    pattern: str
    point: tuple[Fraction, ...]
    exact: str
    seen: str

    def to_json(self) -> dict[str, Any]:
        return {"runtime": self.runtime, "pattern": self.pattern,
                "point": [format_rational(v) for v in self.point],
                "exact_pattern_at_point": self.exact, "float_pattern": self.seen}


@dataclass(frozen=True, slots=True)
class AuditResult:
    """What :func:`audit` found (claims certified in ``path``; ``mismatches`` and
    ``runtimes`` observed)."""

    dtype: str
    path: str
    domain: str
    changed: int
    parameters: int
    regions: tuple[int, int]
    created: tuple[SizedRegion, ...]
    destroyed: tuple[SizedRegion, ...]
    thin: tuple[SizedRegion, ...]
    mismatches: tuple[Mismatch, ...]
    runtimes: tuple[str, ...]
    notes: tuple[str, ...]

    @property
    def report(self) -> str:
        exact, rounded = self.regions
        lines = [(f"{self.dtype}: {self.changed} of {self.parameters} weights and biases "
                  "change when rounded"),
                 (f"activation regions over {self.domain}: {exact} exact, {rounded} rounded "
                  f"({len(self.created)} created, {len(self.destroyed)} destroyed)")]
        for label, items in (("created", self.created), ("destroyed", self.destroyed)):
            lines += [f"  {label} {r.pattern}: {_size(r)}" for r in items]
        thin = ", ".join(f"{r.pattern} ({r.network})" for r in self.thin) or "none"
        lines.append(f"regions proved thinner than {self.dtype} resolution: {thin}")
        for runtime in self.runtimes:
            seen = [m for m in self.mismatches if m.runtime == runtime]
            if not seen:
                lines.append(f"{runtime}: every rounded witness gives its region's pattern")
                continue
            left = sum(1 for m in seen if m.exact != m.pattern)
            lines.append(f"{runtime}: {len(seen)} of the regions give another pattern at their "
                         f"rounded witness ({left} because the rounded point leaves the region)")
            lines += [f"  {m.pattern} -> {m.seen}" for m in seen[:10]]
        lines += [f"{note}" for note in self.notes]
        lines.append(f"audit: {self.path} (check with: tvmip check {self.path})")
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        return {"dtype": self.dtype, "audit": self.path, "domain": self.domain,
                "parameters_changed": self.changed, "parameters": self.parameters,
                "activation_regions": dict(zip(NETS, self.regions)),
                "created": [r.to_json() for r in self.created],
                "destroyed": [r.to_json() for r in self.destroyed],
                "thin": [r.to_json() for r in self.thin],
                "runtimes": list(self.runtimes), "notes": list(self.notes),
                "mismatches": [m.to_json() for m in self.mismatches]}


def _size(region: SizedRegion) -> str:
    radius = "inf" if region.ball.r2 is None else f"{region.ball.radius:.3g}"
    thin = f", thinner than the ulp {decimal_text(region.spacing)}" if region.thin else ""
    return f"inscribed radius >= {radius}{thin}"


def audit(network: Network, dtype: str, path: str | Path, box: Box | None = None, *,
          limits: Limits = NO_LIMITS, progress: bool = False,
          onnxruntime: bool = True) -> AuditResult:
    """Audit ``network`` against its rounding to ``dtype`` (see the module doc),
    writing the audit to ``path`` and its two certificates beside it."""
    fmt = FORMATS.get(dtype)
    if fmt is None:
        raise InputError(f"unknown float format {dtype!r} (expected one of {', '.join(FORMATS)})")
    try:
        rounded = round_network(network, fmt)
    except OverflowError:
        raise InputError(f"a weight or bias of the network overflows {dtype}") from None
    path = Path(path)
    stem = path.name.removesuffix(".json").removesuffix(".audit")
    certificates = {net: path.with_name(f"{stem}.{net}.cert.json.gz") for net in NETS}
    for target in (path, *certificates.values()):
        if not PLAIN_NAME.fullmatch(target.name):
            raise InputError(f"{path}: the audit and its certificates need plain names "
                             "(letters, digits and _ . + -, not starting with a dot)")
        check_writable(target)
    networks = {"exact": network, "rounded": rounded}
    # The certificates are written aside and moved into place only with the audit:
    # a failed audit leaves nothing behind and keeps a previous audit valid.
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=".tvmip-audit-") as aside:
        drafts = {net: Path(aside) / c.name for net, c in certificates.items()}
        found = {net: _count(networks[net], box, drafts[net], limits, progress)
                 for net in NETS}
        shown = Progress(progress)
        try:
            sized = _sizes(networks, found, box, fmt, shown)
            observed, runtimes, notes = _observe(rounded, found["rounded"], fmt, onnxruntime)
        finally:
            shown.close()
        created = sorted(found["rounded"].keys() - found["exact"].keys())
        destroyed = sorted(found["exact"].keys() - found["rounded"].keys())
        listed = {("rounded", p) for p in created} | {("exact", p) for p in destroyed} | \
            {key for key, r in sized.items() if r.thin}
        _write(path, fmt, drafts, certificates, sized, listed, found, created, destroyed)
    parameters = [(a, b) for old, new in zip((*network.layers, network.output),
                                              (*rounded.layers, rounded.output))
                  for a, b in zip([w for row in old.weights for w in row] + list(old.biases),
                                  [w for row in new.weights for w in row] + list(new.biases))]
    return AuditResult(
        dtype, str(path), domain_text(box, network.input_dim),
        sum(1 for a, b in parameters if a != b), len(parameters),
        (len(found["exact"]), len(found["rounded"])),
        tuple(sized["rounded", p] for p in created), tuple(sized["exact", p] for p in destroyed),
        tuple(r for r in sized.values() if r.thin), tuple(observed), tuple(runtimes),
        tuple(notes))


def _count(network: Network, box: Box | None, certificate: Path, limits: Limits,
           progress: bool) -> dict[str, tuple[Fraction, ...]]:
    """Every region's witness, by pattern, from an exact tree count."""
    regions: dict[str, tuple[Fraction, ...]] = {}

    def keep(record: Record) -> None:
        if isinstance(record, Region):
            regions[record.pattern] = record.witness

    result = count(network, box, certificate=certificate, limits=limits, progress=progress,
                   on_record=keep, engine="tree")
    if not result.exact:
        raise ResourceLimit(f"the audit needs exact counts; the count stopped "
                            f"({result.stop_reason}) after {result.activation_regions} regions")
    return regions


def _sizes(networks: dict[str, Network], found: dict[str, dict[str, tuple[Fraction, ...]]],
           box: Box | None, fmt: FloatFormat, shown: Progress) -> dict[tuple[str, str], SizedRegion]:
    """A certified ball for every region of both networks, and a thinness proof for
    those whose ball is not wider than the format's spacing at its centre."""
    out: dict[tuple[str, str], SizedRegion] = {}
    total = sum(map(len, found.values()))
    shown.phase("sizing regions", total, "regions")
    for net in NETS:
        scaled = scale_network(networks[net])
        lp = MaxSlackLP(scaled.dim)
        for pattern, witness in found[net].items():
            rows = region_rows(scaled, pattern, box)
            if rows is None:  # pragma: no cover - the count certified the region
                raise AssertionError(f"region {pattern!r} has no system")
            plain = [row for _, row in rows]
            ball = inscribed_ball(plain, _point(witness), lp)
            rho = spacing(max(map(abs, ball.centre)), fmt)
            thin = _thin(rows, ball, fmt, lp) \
                if ball.r2 is not None and ball.r2 <= rho * rho else None
            rho, proof = thin if thin is not None else (rho, {})
            out[net, pattern] = SizedRegion(net, pattern, ball, rho, thin is not None, proof)
            shown.update(len(out))
    return out


def _thin(rows: list[tuple[int | str, tuple[int, ...]]], ball: Ball, fmt: FloatFormat,
          lp: MaxSlackLP) -> tuple[Fraction, dict[str, Any]] | None:
    """The format's spacing ``rho`` everywhere in the region and the audit's thin
    record, proving that no ball of radius ``> rho`` fits; None if that may fail.
    ``bound`` is the largest power of two, from the binade of the ball's centre down,
    such that the region misses the cube ``(-bound, bound)^n`` (proved by ``far``,
    needless at the finest spacing), so every point of it has a coordinate where
    the spacing is at least ``rho``.  The search down stops as soon as ``rho`` is
    below the certified ball's radius: the region is then not thin."""
    assert ball.r2 is not None
    finest = binade(Fraction(0), fmt)
    bound, far = binade(max(map(abs, ball.centre)), fmt), None
    while bound > finest and (far := far_proof(rows, bound, lp)) is None:
        bound /= 2
        if spacing(bound, fmt) ** 2 < ball.r2:
            return None
    rho = spacing(bound, fmt)
    shrunk = thin_proof(rows, rho, lp) if ball.r2 <= rho * rho else None
    if shrunk is None:
        return None
    proof: dict[str, Any] = {"bound": format_rational(bound), "shrunk": shrunk}
    return rho, proof if far is None else {**proof, "far": far}


def _point(coordinates: Sequence[Fraction]) -> Witness:
    q = math.lcm(*(v.denominator for v in coordinates))
    return Witness(tuple(int(v * q) for v in coordinates), q)


def _observe(rounded: Network, regions: dict[str, tuple[Fraction, ...]], fmt: FloatFormat,
             use_onnxruntime: bool) -> tuple[list[Mismatch], list[str], list[str]]:
    """Float evaluations of the rounded network at every rounded witness."""
    items = sorted(regions.items())
    points = [tuple(round_to(v, fmt) for v in witness) for _, witness in items]
    exact = [pattern_at(rounded, p) for p in points]
    runs = {"numpy": lambda: float_pre_activations(rounded, points, numpy_dtype(fmt.name))}
    runtimes, notes = [], []
    if use_onnxruntime:
        runs["onnxruntime"] = lambda: _onnxruntime(rounded, points, fmt)
    mismatches = []
    for name, run in runs.items():
        try:
            seen = patterns(rounded, run()) if points else []
        except _Skipped as why:
            notes.append(f"{name}: skipped ({why})")
            continue
        runtimes.append(name)
        mismatches += [Mismatch(name, pattern, point, at, s)
                       for (pattern, _), point, at, s in zip(items, points, exact, seen)
                       if s != pattern]
    return mismatches, runtimes, notes


class _Skipped(Exception):
    """A runtime that cannot run here (not installed, no kernel for the format)."""


def _onnxruntime(network: Network, points: list[tuple[Fraction, ...]], fmt: FloatFormat) -> list:
    try:
        import numpy as np
        import onnxruntime as ort

        from .io.onnx_export import runtime_model
    except ImportError:
        raise _Skipped("not installed") from None
    try:
        session = ort.InferenceSession(runtime_model(network, fmt.name),
                                       providers=["CPUExecutionProvider"])
        x = np.array(np.array(points, dtype=float), dtype=numpy_dtype(fmt.name))
        names = [f"layer{i}_pre" for i in range(len(network.layers))]
        return session.run(names, {"x": x})
    except Exception as exc:  # noqa: BLE001 - any runtime failure only skips the runtime
        first = str(exc).splitlines()[0][:80] if str(exc) else type(exc).__name__
        raise _Skipped(f"cannot run {fmt.name} here: {first}") from None


def _write(path: Path, fmt: FloatFormat, drafts: dict[str, Path], certificates: dict[str, Path],
           sized: dict[tuple[str, str], SizedRegion], listed: set[tuple[str, str]],
           found: dict[str, dict[str, tuple[Fraction, ...]]], created: list[str],
           destroyed: list[str]) -> None:
    """Write the audit, moving the certificates from their ``drafts`` into place just
    before the audit itself."""
    header = {"format": AUDIT_FORMAT, "tool": f"tvmip {__version__}", "dtype": fmt.name}
    for net in NETS:
        header[net] = {"certificate": certificates[net].name,
                       "sha256": hashlib.sha256(drafts[net].read_bytes()).hexdigest()}
    out = AtomicFile(path)
    try:
        out.write(_line(header))
        for key in sorted(listed):
            region = sized[key]
            record: dict[str, Any] = {
                "ball": region.network, "r": region.pattern,
                "x": [format_rational(v) for v in region.ball.centre],
                "r2": format_rational(region.ball.r2 or Fraction(0))}
            if region.thin:
                record["thin"] = region.proof
            out.write(_line(record))
        thin = {net: sorted(p for (n, p), r in sized.items() if n == net and r.thin)
                for net in NETS}
        out.write(_line({"end": {"claims": {
            "regions": {net: len(found[net]) for net in NETS},
            "created": created, "destroyed": destroyed, "thin": thin}, "metadata": {}}}))
        for net in NETS:
            os.replace(drafts[net], certificates[net])
        out.commit()
    except BaseException:
        out.abort()
        raise


def _line(value: Any) -> str:
    return json.dumps(value, separators=(",", ":")) + "\n"
