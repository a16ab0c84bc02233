"""Counting activation regions: the search tree split into subtrees, streamed to a
certificate, with limits, interrupts and progress.

The tree is first expanded breadth-first from the root until it has at least
:data:`SPLIT_TARGET` frontier nodes (a rule that depends only on the network, so
every run splits the same way); each frontier node's subtree is then explored
from a fresh LP state.  The subtrees are the unit of work for parallel runs and
of resumption, and their evidence does not depend on which process computed them.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..certificate import end_line, evidence_line, header_line, read_records
from ..checker.linear import NOT_GLUED, unique_neighbours
from ..checker.verify import check_file
from ..errors import InputError
from ..files import AtomicFile
from ..model.network import Box, Network
from ..model.scaled import ScaledNetwork, scaled
from ..progress import Progress
from ..search import oned
from ..search.linear import Gluer, LinearStructure
from ..search.mip import milp_count
from ..search.tree import Explorer, Frontier, Open, Record, Region, StopSearch
from .run import NO_LIMITS, Limits, Run, Stream, record_key
from .runners import DaskRunner, LocalRunner, PoolRunner

SPLIT_TARGET = 128
ENGINES = ("auto", "tree", "breakpoints", "milp")


@dataclass(frozen=True, slots=True)
class CountResult:
    """What a count established; ``exact`` False means "at least" (a lower bound)."""

    activation_regions: int
    exact: bool
    seconds: float
    network_sha256: str
    domain: Box | None
    open_subtrees: int
    stop_reason: str | None
    stats: dict[str, int]
    linear_regions: int | None = None
    distinct_maps: int | None = None
    output_values: int | None = None
    """With the linear counts: how many values f takes when it is piecewise constant
    (step, sign, quantized networks...), else None."""
    structure: LinearStructure | None = field(default=None, repr=False, compare=False)
    """The gluing's maps, linear-region ids and evidence (tree engine with ``linear``)."""

    @property
    def claim(self) -> str:
        return "exact" if self.exact else "lower_bound"


def split_top(explorer: Explorer, run: Run, target: int = SPLIT_TARGET) -> list[Record]:
    """Expand the tree from the root until at least ``target`` frontier nodes remain
    (or the tree is finished); return its records and frontier in depth-first order.
    The expansion step doubles whenever a round fails to double the frontier, so
    deep, narrow trees are not replayed level by level.  A stop leaves the rest of
    the frontier as it is (to be emitted as open subtrees)."""
    done: list[Record] = []
    frontier = [explorer.root()]
    step = 1
    while frontier and len(frontier) < target and run.stop_reason is None:
        grown: list[Record] = []
        collect = _collector(run, grown)
        expanded = 0
        try:
            for node in frontier:
                explorer.explore(node, collect, cutoff=len(node.prefix) + step, tick=run.tick)
                expanded += 1
        except StopSearch:
            run.stop_reason = run.stop_reason or explorer.limit_hit
            grown.extend(frontier[expanded + 1:])
        new_frontier = [r for r in grown if isinstance(r, Frontier)]
        done.extend(r for r in grown if not isinstance(r, Frontier))
        if len(new_frontier) < 2 * len(frontier):
            step *= 2
        frontier = new_frontier
    return sorted([*done, *frontier], key=record_key)


def _collector(run: Run, into: list[Record]) -> Callable[[Record], None]:
    def collect(record: Record) -> None:
        run.observe(record)
        into.append(record)

    return collect


@contextmanager
def _stop_on_signals(run: Run) -> Iterator[None]:
    """SIGINT and SIGTERM ask the search to stop at the next record (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: object) -> None:
        run.interrupted = True

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def count(
    network: Network | ScaledNetwork,
    box: Box | None = None,
    *,
    certificate: str | Path | None = None,
    limits: Limits = NO_LIMITS,
    progress: bool = False,
    on_record: Callable[[Record], None] | None = None,
    engine: str = "auto",
    linear: bool = False,
    theorem: dict[str, Any] | None = None,
    workers: int = 1,
    dask: str | None = None,
    resume: bool = False,
) -> CountResult:
    """Enumerate the activation regions of ``network`` over ``box`` (None: R^n0).

    ``engine``: ``tree`` (the LP-guided search tree), ``breakpoints`` (exact
    breakpoint propagation, one-input networks only, which also counts linear
    regions and distinct maps), ``auto`` (breakpoints when n0 = 1), or ``milp``
    (the MILP counting baseline of :mod:`tvmip.search.mip`: no certificate, and a count
    that is exact only if the float solver is right, so claimed as a lower bound).  With
    ``certificate`` a path, the certificate is streamed there (gzip when the name
    ends in ``.gz``) and renamed into place when complete.  A limit or an
    interrupt ends a tree search early with a lower bound (open subtrees
    recorded).  ``on_record`` sees every record written (regions, proofs, open
    subtrees; for breakpoints, one region per interval).  ``linear`` also counts
    linear regions and distinct maps (the breakpoints engine always does; the tree
    engine then keeps the regions in memory and glues them, see
    :mod:`tvmip.search.linear`).  ``theorem`` is a theorem claim to add to the
    certificate (see :mod:`tvmip.theory.proofs`); it needs linear-region counts.
    ``workers`` local processes, or the dask.distributed scheduler at ``dask``
    (``"local"`` starts a local cluster), explore the subtrees; the certificate
    is the same whatever runs them (:mod:`tvmip.engine.runners`).  ``resume`` reuses
    the complete subtrees of the (lower-bound) certificate already at
    ``certificate`` and explores the rest: the result is the certificate an
    uninterrupted run writes.
    """
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r} (known: {', '.join(ENGINES)})")
    network = scaled(network)
    if engine == "breakpoints" or engine == "auto" and network.dim == 1:
        return _count_breakpoints(network, box, certificate, on_record, theorem)
    if engine == "milp":
        return _count_milp(network, box, certificate, limits, on_record)
    linear = linear or theorem is not None
    if linear and not unique_neighbours(network.network):
        raise InputError(f"{NOT_GLUED}; count the activation regions without --linear")
    return _count_tree(network, box, certificate, limits, progress, on_record, linear,
                       theorem, workers, dask, resume)


def _claims(counted: dict[str, int], exact: bool, theorem: dict[str, Any] | None,
            box: Box | None) -> dict[str, dict[str, Any]]:
    """The end record's claims: every count, and the theorem claim when its bound is
    reached by a lower bound on the linear regions over R^n0 (the linear regions over
    R^n0, the distinct maps over a box; a theorem that is not met is not claimed)."""
    kind = "exact" if exact else "at_least"
    claims: dict[str, dict[str, Any]] = {name: {"kind": kind, "value": value}
                                         for name, value in counted.items()}
    basis = "linear_regions" if box is None else "distinct_maps"
    if theorem is not None and counted.get(basis, -1) >= theorem["bound"]:
        claims["theorem"] = theorem
    return claims


def _count_breakpoints(network: ScaledNetwork, box: Box | None,
                       certificate: str | Path | None,
                       on_record: Callable[[Record], None] | None,
                       theorem: dict[str, Any] | None) -> CountResult:
    if network.dim != 1:
        raise InputError("the breakpoints engine needs a network with one input")
    start = time.perf_counter()
    partition = oned.propagate(network, box)
    counts = {"activation_regions": partition.activation_regions,
              "linear_regions": partition.linear_regions,
              "distinct_maps": partition.distinct_maps}
    if on_record is not None:
        for pattern, point in zip(partition.patterns(), oned.interior_points(partition)):
            on_record(Region(pattern, (point,)))
    if certificate is not None:
        out = AtomicFile(Path(certificate))
        try:
            claims = _claims(counts, True, theorem, box)
            out.write(header_line(network.network, box, "breakpoints", list(claims)))
            for line in oned.certificate_lines(partition):
                out.write(line)
            seconds = time.perf_counter() - start
            out.write(end_line(claims, {"seconds": round(seconds, 3)}))
            out.commit()
        except BaseException:
            out.abort()
            raise
    return CountResult(
        activation_regions=counts["activation_regions"],
        exact=True,
        seconds=time.perf_counter() - start,
        network_sha256=network.network.sha256,
        domain=box,
        open_subtrees=0,
        stop_reason=None,
        stats={"breakpoints": counts["activation_regions"] - 1},
        linear_regions=counts["linear_regions"],
        distinct_maps=counts["distinct_maps"],
        output_values=partition.output_values,
    )


def _count_milp(network: ScaledNetwork, box: Box | None, certificate: str | Path | None,
                limits: Limits, on_record: Callable[[Record], None] | None) -> CountResult:
    """The MILP baseline (:mod:`tvmip.search.mip`): every region it reports is verified
    exactly, so the count is a certified lower bound; that it is complete is only
    the float solver's word, hence no certificate and ``exact`` False."""
    if certificate is not None:
        raise InputError("the MILP engine writes no certificate (its completeness rests on "
                         "the float solver); use the tree engine for a proof")
    result = milp_count(network, box, emit=on_record, time_limit=limits.time_limit)
    return CountResult(
        activation_regions=result.regions,
        exact=False,
        seconds=result.seconds,
        network_sha256=network.network.sha256,
        domain=result.box,
        open_subtrees=0,
        stop_reason=result.stop_reason,
        stats={"milp_solves": result.solves, "milp_spurious": result.spurious,
               "milp_complete": int(result.complete)},
    )


def _count_tree(scaled_network: ScaledNetwork, box: Box | None,
                certificate: str | Path | None, limits: Limits, progress: bool,
                on_record: Callable[[Record], None] | None, linear: bool,
                theorem: dict[str, Any] | None, workers: int, dask: str | None,
                resume: bool) -> CountResult:
    network = scaled_network.network
    previous = _previous_records(network, box, certificate) if resume else []
    explorer = Explorer(scaled_network, box)
    out = AtomicFile(Path(certificate)) if certificate is not None else None
    bar = Progress(progress)
    regions: list[Record] = []
    keep = _tee(regions.append, on_record) if linear else on_record
    run = Run(limits, out, bar, keep)
    stream = Stream(run, limits.max_regions)
    if dask is not None:
        runner: Any = DaskRunner(network, box, dask, workers)
    elif workers > 1:
        runner = PoolRunner(network, box, workers, explorer.stats.add_counts)
    else:
        runner = LocalRunner(explorer)
    claims = ["activation_regions", "linear_regions", "distinct_maps"] if linear \
        else ["activation_regions"]
    if theorem is not None:
        claims.append("theorem")
    structure = None
    try:
        if out is not None:
            out.write(header_line(network, box, "tree", claims))
        with _stop_on_signals(run):
            bar.phase("splitting the search tree", None, " regions")
            plan = split_top(explorer, run)
            bar.phase("exploring subtrees", sum(isinstance(r, Frontier) for r in plan),
                      " subtrees")
            run.done = 0
            runner.execute(plan, run, stream, _complete_subtrees(plan, previous))
            stream.finish()
            exact = run.open == 0
            if linear and exact and run.stop_reason is None:
                structure = _glue(scaled_network, box, regions, run)
        counted = {"activation_regions": run.regions}
        if structure is not None:
            counted.update(linear_regions=structure.linear_regions,
                           distinct_maps=structure.distinct_maps)
        seconds = time.perf_counter() - run.start
        if out is not None:
            if structure is not None:
                for item in structure.evidence:
                    out.write(evidence_line(item))
            out.write(end_line(_claims(counted, exact, theorem, box), {"seconds": round(seconds, 3)}))
            out.commit()
    except BaseException:
        if out is not None:
            out.abort()
        raise
    finally:
        bar.close()
    return CountResult(
        activation_regions=run.regions,
        exact=exact,
        seconds=seconds,
        network_sha256=network.sha256,
        domain=box,
        open_subtrees=run.open,
        stop_reason=run.stop_reason,
        stats=asdict(explorer.stats),
        linear_regions=counted.get("linear_regions"),
        distinct_maps=counted.get("distinct_maps"),
        output_values=None if structure is None else structure.output_values,
        structure=structure,
    )


def _glue(network: ScaledNetwork, box: Box | None, records: list[Record],
          run: Run) -> LinearStructure | None:
    """The linear structure of the regions, under the run's limits and signals: None
    when they stop it (the activation count stays exact; ``run.stop_reason`` says why
    there are no linear counts)."""
    found = [r for r in records if isinstance(r, Region)]
    run.progress.phase("gluing linear regions", len(found), " regions")
    try:
        return Gluer(network, box).glue(found, tick=run.advance)
    except StopSearch:
        run.stop_reason = f"{run.stop_reason} while gluing"
        return None


def _previous_records(network: Network, box: Box | None,
                      certificate: str | Path | None) -> list[Record]:
    """The records of the certificate to resume from, after checking it is a valid
    tree certificate about this network and domain (none if there is no file)."""
    if certificate is None:
        raise InputError("--resume needs --certificate (the certificate to continue)")
    path = Path(certificate)
    if not path.exists():
        return []
    verdict = check_file(path)
    if not verdict.valid:
        raise InputError(f"{path}: cannot resume from it: {verdict.line}")
    header, records = read_records(path)
    if header["network_sha256"] != network.sha256:
        raise InputError(f"{path}: cannot resume: the certificate is about another network "
                         f"(sha256 {header['network_sha256'][:12]}..., this one "
                         f"{network.sha256[:12]}...)")
    if header["kind"] != "tree" or header["domain"] != (None if box is None else box.to_json()):
        raise InputError(f"{path}: cannot resume: the certificate is for another domain "
                         "or engine")
    return records


def _complete_subtrees(plan: list[Record], previous: list[Record]) -> dict[str, list[Record]]:
    """The records of every frontier subtree that ``previous`` covers with no open
    node inside or above it: those subtrees need no new search."""
    frontier = [item.prefix for item in plan if isinstance(item, Frontier)]
    found: dict[str, list[Record]] = {}
    opened = [r.prefix for r in previous if isinstance(r, Open)]
    for record in previous:
        key = record_key(record)
        root = next((p for p in frontier if key.startswith(p)), None)
        if root is not None:
            found.setdefault(root, []).append(record)
    return {root: records for root, records in found.items()
            if not any(o.startswith(root) or root.startswith(o) for o in opened)}


def _tee(first: Callable[[Record], None],
         second: Callable[[Record], None] | None) -> Callable[[Record], None]:
    if second is None:
        return first

    def both(record: Record) -> None:
        first(record)
        second(record)

    return both
