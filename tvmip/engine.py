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
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Iterator

from .certificate import AtomicFile, end_line, header_line, record_line
from .network import Box, Network
from .progress import Progress
from .search import (
    EmptyBranch,
    Explorer,
    Frontier,
    Open,
    Record,
    Region,
    SearchStats,
    StopSearch,
)

SPLIT_TARGET = 128


@dataclass(frozen=True, slots=True)
class Limits:
    """When to stop early (each ``None`` means no limit)."""

    max_regions: int | None = None
    time_limit: float | None = None


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

    @property
    def claim(self) -> str:
        return "exact" if self.exact else "lower_bound"


def record_key(record: Record) -> str:
    """The record's pattern string; sorting by it gives depth-first order."""
    return record.pattern if isinstance(record, Region) else record.prefix


def split_top(explorer: Explorer, target: int = SPLIT_TARGET) -> list[Record]:
    """Expand the tree from the root until at least ``target`` frontier nodes remain
    (or the tree is finished); return the records and frontier in depth-first order.
    The expansion step doubles whenever a round fails to double the frontier, so
    deep, narrow trees are not replayed level by level."""
    done: list[Record] = []
    frontier = [explorer.root()]
    step = 1
    while frontier and len(frontier) < target:
        grown: list[Record] = []
        for node in frontier:
            explorer.explore(node, grown.append, cutoff=len(node.prefix) + step)
        new_frontier = [r for r in grown if isinstance(r, Frontier)]
        done.extend(r for r in grown if not isinstance(r, Frontier))
        if len(new_frontier) < 2 * len(frontier):
            step *= 2
        frontier = new_frontier
    return sorted(done + frontier, key=record_key)


class _Run:
    """Counts records, writes them, and decides when to stop."""

    def __init__(self, limits: Limits, out: AtomicFile | None, progress: Progress) -> None:
        self.limits = limits
        self.out = out
        self.progress = progress
        self.regions = 0
        self.open = 0
        self.start = time.perf_counter()
        self.stop_reason: str | None = None
        self.interrupted = False
        self._since_check = 0

    def emit(self, record: Record) -> None:
        if isinstance(record, Region):
            self.regions += 1
        elif isinstance(record, (Open, Frontier)):
            self.open += 1
        if self.out is not None:
            self.out.write(record_line(record))

    def tick(self) -> None:
        if self.interrupted:
            self.stop_reason = "interrupted"
            raise StopSearch
        limit = self.limits.max_regions
        if limit is not None and self.regions >= limit:
            self.stop_reason = "max-regions"
            raise StopSearch
        self._since_check += 1
        if self._since_check >= 256:
            self._since_check = 0
            self.progress.update(self.regions)
            limit_s = self.limits.time_limit
            if limit_s is not None and time.perf_counter() - self.start > limit_s:
                self.stop_reason = "time-limit"
                raise StopSearch


@contextmanager
def _stop_on_signals(run: _Run) -> Iterator[None]:
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
    network: Network,
    box: Box | None = None,
    *,
    certificate: str | Path | None = None,
    limits: Limits = Limits(),
    progress: bool = False,
    on_record: Callable[[Record], None] | None = None,
) -> CountResult:
    """Enumerate the activation regions of ``network`` over ``box`` (None: R^n0).

    With ``certificate`` a path, the certificate is streamed there (gzip when the
    name ends in ``.gz``) and renamed into place when complete.  A limit or an
    interrupt ends the search early with a lower bound (open subtrees recorded).
    """
    explorer = Explorer(network, box)
    out = AtomicFile(Path(certificate)) if certificate is not None else None
    bar = Progress(progress)
    run = _Run(limits, out, bar)
    emit = run.emit if on_record is None else _tee(run.emit, on_record)
    try:
        if out is not None:
            out.write(header_line(network, box))
        with _stop_on_signals(run):
            for item in split_top(explorer):
                if not isinstance(item, Frontier):
                    emit(item)
                elif run.stop_reason is not None:
                    emit(Open(item.prefix))
                else:
                    try:
                        explorer.explore(item, emit, tick=run.tick)
                    except StopSearch:
                        pass
        seconds = time.perf_counter() - run.start
        exact = run.open == 0
        if out is not None:
            claim = {"kind": "exact" if exact else "at_least", "value": run.regions}
            out.write(end_line({"activation_regions": claim}, {"seconds": round(seconds, 3)}))
            out.commit()
    except BaseException:
        if out is not None:
            out.abort()
        raise
    finally:
        bar.close(run.regions)
    return CountResult(
        activation_regions=run.regions,
        exact=exact,
        seconds=seconds,
        network_sha256=network.sha256,
        domain=box,
        open_subtrees=run.open,
        stop_reason=run.stop_reason,
        stats=asdict(explorer.stats),
    )


def _tee(first: Callable[[Record], None], second: Callable[[Record], None]) -> Callable[[Record], None]:
    def both(record: Record) -> None:
        first(record)
        second(record)

    return both


__all__ = ["CountResult", "EmptyBranch", "Limits", "SearchStats", "count", "split_top"]
