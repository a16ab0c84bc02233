"""The state of one counting run: limits, the stop decision, and the record stream.

:class:`Run` counts what is found, writes records to the certificate and decides
when to stop (signals, time and memory limits); :class:`Stream` applies the
deterministic region limit.  Both are shared by :mod:`tvmip.engine.counting` and
the runners of :mod:`tvmip.engine.runners`, which explore the subtrees.
"""

from __future__ import annotations

import resource
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

from ..certificate import record_line
from ..errors import InputError, InternalError
from ..files import AtomicFile
from ..progress import Progress
from ..search.tree import EmptyBranch, Frontier, Open, Record, Region, StopSearch


@dataclass(frozen=True, slots=True)
class Limits:
    """When to stop early (each ``None`` means no limit).  ``max_memory`` is in MB of
    peak resident memory, per process."""

    max_regions: int | None = None
    time_limit: float | None = None
    max_memory: float | None = None

    def __post_init__(self) -> None:
        if self.max_regions is not None and self.max_regions < 1:
            raise InputError(f"max_regions must be at least 1, not {self.max_regions}")
        for name in ("time_limit", "max_memory"):
            value = getattr(self, name)
            if value is not None and not value >= 0:
                raise InputError(f"{name} must not be negative, not {value}")


NO_LIMITS = Limits()


def peak_memory_mb() -> float:
    """Peak resident memory of this process, in MB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024


def record_key(record: Record) -> str:
    """The record's pattern string; sorting by it gives depth-first order."""
    return record.pattern if isinstance(record, Region) else record.prefix


class Run:
    """Counts what is found, writes records, and decides when to stop."""

    def __init__(self, limits: Limits, out: AtomicFile | None, progress: Progress,
                 on_record: Callable[[Record], None] | None) -> None:
        self.limits = limits
        self.out = out
        self.progress = progress
        self.on_record = on_record
        self.found = 0  # regions seen anywhere (progress display)
        self.regions = 0  # regions written, for the claim
        self.open = 0
        self.done = 0  # units of the current progress phase finished
        self.start = time.perf_counter()
        self.stop_reason: str | None = None
        self.interrupted = False
        self._since_check = 0

    def observe(self, record: Record) -> None:
        if isinstance(record, Region):
            self.found += 1

    def emit(self, record: Record) -> None:
        if isinstance(record, Frontier):
            record = Open(record.prefix)
        if isinstance(record, Region):
            self.regions += 1
        elif isinstance(record, Open):
            self.open += 1
        if self.out is not None:
            self.out.write(record_line(record))
        if self.on_record is not None:
            self.on_record(record)

    def check(self) -> None:
        """Raise :class:`StopSearch` after a signal, past the time limit or the memory
        limit.  (The region limit is applied when records are written: see
        :class:`_Stream`.)"""
        if self.interrupted:
            self.stop_reason = "interrupted"
            raise StopSearch
        self.progress.update(self.done, self.found)
        limits = self.limits
        if limits.time_limit is not None and time.perf_counter() - self.start > limits.time_limit:
            self.stop_reason = "time-limit"
            raise StopSearch
        if limits.max_memory is not None and peak_memory_mb() > limits.max_memory:
            self.stop_reason = "max-memory"
            raise StopSearch

    def tick(self) -> None:
        """:meth:`check`, cheaply: the clock is read every 256 records."""
        if self.interrupted:
            self.check()
        self._since_check += 1
        if self._since_check >= 256:
            self._since_check = 0
            self.check()

    def advance(self, done: int) -> None:
        """The current phase has ``done`` units finished; then :meth:`check`."""
        self.done = done
        self.check()


class Stream:
    """Writes the records in depth-first order, cutting deterministically after the
    ``limit``-th region: every later record lies in the subtree of a later sibling of
    a node on the cut region's path (a child whose symbol sorts after the path's);
    each such sibling becomes one open record, except a sibling that is a single
    proved-empty branch, which keeps its proof.  The output depends only on the
    records, never on timing, so every runner writes the same bytes."""

    def __init__(self, run: Run, limit: int | None) -> None:
        self.run = run
        self.limit = limit
        self.cut: str | None = None  # the pattern of the last region written
        self.first: dict[str, Record] = {}  # each sibling's first record after the cut

    @property
    def cut_made(self) -> bool:
        return self.cut is not None or self.limit is not None and self.run.regions >= self.limit

    def feed(self, record: Record) -> None:
        if self.cut is None:
            self.run.emit(record)
            if isinstance(record, Region) and self.cut_made:
                self.run.stop_reason = "max-regions"
                self.cut = record.pattern
            return
        key = record_key(record)
        i = next((i for i, (a, b) in enumerate(zip(key, self.cut)) if a != b), len(key))
        if i >= len(self.cut) or i >= len(key) or key[i] < self.cut[i]:
            raise InternalError(f"record {key!r} after the cut lies outside every open sibling")
        self.first.setdefault(key[:i + 1], record)

    def finish(self) -> None:
        """Emit the siblings after the cut; if none is left open, the cut region was
        the last one and the count is exact after all (no stop)."""
        opened = False
        for sibling in sorted(self.first):
            first = self.first[sibling]
            single_empty = isinstance(first, EmptyBranch) and first.prefix == sibling
            self.run.emit(first if single_empty else Open(sibling))
            opened = opened or not single_empty
        if self.cut is not None and not opened and self.run.stop_reason == "max-regions":
            self.run.stop_reason = None
