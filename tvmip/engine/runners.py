"""Exploring the subtrees of the split search tree: in this process, in a pool of
local processes, or on a dask.distributed cluster.

Every runner hands the records of the plan (:func:`tvmip.engine.split_top`) to the
stream in plan order, so the certificate is the same byte for byte whichever
runner produced it: a subtree's evidence depends only on its root, and each
subtree is explored from a reset LP.  Remote runners keep at most a few subtrees
per worker outstanding, so memory stays bounded by the subtrees in flight.

Stopping: a time limit or a signal sets an event that local workers poll, so they
return what they found with the rest of their subtree marked open; dask tasks
still running are abandoned (their subtrees become open).  A dead worker process
breaks the pool: the unfinished subtrees are resubmitted to a fresh pool, once;
a second failure ends the run with an error, never with a certificate that lacks
a subtree.
"""

from __future__ import annotations

import multiprocessing
import signal
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from ..checker.model import box_from_json, network_from_json
from ..errors import TvmipError
from ..model.network import Box, Network
from ..model.scaled import scale_network
from ..search.tree import Explorer, Frontier, Open, Record, Region, StopSearch
from .run import Run, Stream, peak_memory_mb

POLL_SECONDS = 0.1
OUTSTANDING_PER_WORKER = 4


class LocalRunner:
    """Explores the subtrees one after another in this process, streaming records."""

    def __init__(self, explorer: Explorer) -> None:
        self.explorer = explorer

    def execute(self, plan: list[Record], run: Run, stream: Stream,
                done: dict[str, list[Record]]) -> None:
        for item in plan:
            if not isinstance(item, Frontier):
                stream.feed(item)
            elif item.prefix in done and not stream.cut_made:
                for record in done[item.prefix]:
                    stream.feed(record)
            elif stream.cut_made or run.stop_reason is not None:
                stream.feed(Open(item.prefix))
            else:
                def feed(record: Record) -> None:
                    run.observe(record)
                    stream.feed(record)

                try:
                    self.explorer.explore(item, feed, tick=run.tick)
                    run.done += 1
                except StopSearch:
                    run.stop_reason = run.stop_reason or self.explorer.limit_hit


# -- local processes ----------------------------------------------------------------

_worker: dict[str, Any] = {}


def _initialise(network: Network, box: Box | None, stop: Any, max_memory: float | None) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _worker.update(explorer=Explorer(scale_network(network), box), stop=stop,
                   max_memory=max_memory)


def _explore_in_worker(root: Frontier) -> tuple[list[Record], dict[str, int], str | None]:
    """One subtree; returns its records, the work counters and why it stopped early."""
    explorer: Explorer = _worker["explorer"]
    stop, max_memory = _worker["stop"], _worker["max_memory"]
    records: list[Record] = []
    counter = [0]
    reason: list[str] = []

    def tick() -> None:
        counter[0] += 1
        if counter[0] % 64:
            return
        if max_memory is not None and peak_memory_mb() > max_memory:
            reason.append("max-memory")
            stop.set()
        if stop.is_set():
            raise StopSearch

    before = dict(vars(explorer.stats))
    try:
        explorer.explore(root, records.append, tick=tick)
    except StopSearch:
        if explorer.limit_hit:
            reason.append(explorer.limit_hit)
            stop.set()
    stats = {k: v - before[k] for k, v in vars(explorer.stats).items()}
    return records, stats, reason[0] if reason else None


class PoolRunner:
    """Farms the subtrees out to ``workers`` local processes (fork where available)."""

    def __init__(self, network: Network, box: Box | None, workers: int,
                 stats: Callable[[dict[str, int]], None]) -> None:
        self.network = network
        self.box = box
        self.workers = workers
        self.add_stats = stats
        methods = multiprocessing.get_all_start_methods()
        self.context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")

    def execute(self, plan: list[Record], run: Run, stream: Stream,
                done: dict[str, list[Record]]) -> None:
        stop = self.context.Event()
        results: dict[str, list[Record]] = dict(done)
        for attempt in (1, 2):
            try:
                self._collect(plan, results, run, stop)
                break
            except BrokenProcessPool:
                if attempt == 2:
                    raise TvmipError("a worker process died twice; no certificate was "
                                     "written (rerun, or use fewer workers)") from None
        for item in plan:
            if not isinstance(item, Frontier):
                stream.feed(item)
            else:
                for record in results.get(item.prefix, [Open(item.prefix)]):
                    stream.feed(record)

    def _collect(self, plan: list[Record], results: dict[str, list[Record]], run: Run,
                 stop: Any) -> None:
        """Run every subtree without a result yet, in plan order, a few per worker at a
        time; stop submitting once a stop is asked for or the region limit is covered."""
        todo = iter([item for item in plan if isinstance(item, Frontier)
                     and item.prefix not in results])
        limit = self.workers * OUTSTANDING_PER_WORKER
        with ProcessPoolExecutor(self.workers, mp_context=self.context, initializer=_initialise,
                                 initargs=(self.network, self.box, stop,
                                           run.limits.max_memory)) as pool:
            pending: dict[Future, Frontier] = {}
            while True:
                while run.stop_reason is None and len(pending) < limit \
                        and not _covered(plan, results, run.limits.max_regions):
                    root = next(todo, None)
                    if root is None:
                        break
                    pending[pool.submit(_explore_in_worker, root)] = root
                if not pending:
                    return
                done, _ = wait(pending, timeout=POLL_SECONDS, return_when=FIRST_COMPLETED)
                for future in done:
                    root = pending.pop(future)
                    records, stats, reason = future.result()
                    if reason is not None and run.stop_reason is None:
                        run.stop_reason = reason
                    results[root.prefix] = records
                    self.add_stats(stats)
                    run.done += 1
                    for record in records:
                        run.observe(record)
                if _should_stop(run):
                    stop.set()


def _covered(plan: list[Record], results: dict[str, list[Record]], limit: int | None) -> bool:
    """Whether the records available without a gap from the start of the plan already
    hold ``limit`` regions (then later subtrees cannot change the certificate)."""
    if limit is None:
        return False
    total = 0
    for item in plan:
        if isinstance(item, Frontier):
            records = results.get(item.prefix)
            if records is None:
                return False
            total += sum(isinstance(r, Region) for r in records)
        elif isinstance(item, Region):
            total += 1
        if total >= limit:
            return True
    return False


def _should_stop(run: Run) -> bool:
    """A signal or the time limit, checked by the parent while it waits."""
    try:
        run.check()
    except StopSearch:
        return True
    return run.stop_reason is not None


# -- dask.distributed -------------------------------------------------------------------

_dask_cache: dict[tuple[str, str], Explorer] = {}


def _explore_on_dask(network_json: dict[str, Any], box_json: Any, root: Frontier) -> list[Record]:
    key = (repr(network_json), repr(box_json))
    explorer = _dask_cache.get(key)
    if explorer is None:
        network = network_from_json(network_json)
        explorer = _dask_cache[key] = Explorer(scale_network(network),
                                               box_from_json(box_json, network.input_dim))
    records: list[Record] = []
    explorer.explore(root, records.append)
    return records


class DaskRunner:
    """Sends the subtrees to a dask.distributed cluster (``"local"`` starts one)."""

    def __init__(self, network: Network, box: Box | None, address: str, workers: int) -> None:
        self.network = network
        self.box = box
        self.address = address
        self.workers = max(workers, 1)

    def execute(self, plan: list[Record], run: Run, stream: Stream,
                done: dict[str, list[Record]]) -> None:
        try:
            from dask.distributed import Client, LocalCluster
        except ImportError:
            raise TvmipError("--dask needs dask.distributed: pip install 'tvmip[dask]'") from None
        cluster = None
        try:
            if self.address == "local":
                cluster = LocalCluster(n_workers=self.workers, threads_per_worker=1,
                                       processes=True, dashboard_address=None)
                client = Client(cluster)
            else:
                client = Client(self.address, timeout=10)
        except OSError as exc:
            raise TvmipError(f"cannot reach the dask scheduler at {self.address}: {exc}") from None
        try:
            self._run(client, plan, run, stream, done)
        finally:
            client.close()
            if cluster is not None:
                cluster.close()

    def _run(self, client: Any, plan: list[Record], run: Run, stream: Stream,
             done: dict[str, list[Record]]) -> None:
        from dask.distributed import wait as dask_wait

        network_json = client.scatter(self.network.to_json(), broadcast=True)
        box_json = None if self.box is None else self.box.to_json()
        futures = {item.prefix: client.submit(_explore_on_dask, network_json, box_json, item,
                                              pure=False, retries=1)
                   for item in plan if isinstance(item, Frontier) and item.prefix not in done}
        results: dict[str, list[Record]] = dict(done)
        pending = set(futures.values())
        while pending and not _should_stop(run) \
                and not _covered(plan, results, run.limits.max_regions):
            try:
                finished = dask_wait(pending, timeout=POLL_SECONDS,
                                     return_when="FIRST_COMPLETED").done
            except TimeoutError:  # nothing finished within the poll interval
                continue
            for prefix, future in futures.items():
                if future in finished:
                    if future.status == "error":
                        raise TvmipError(f"a dask task failed: {future.exception()}")
                    results[prefix] = future.result()
                    run.done += 1
                    for record in results[prefix]:
                        run.observe(record)
            pending -= finished
        client.cancel(list(pending))
        for item in plan:
            if not isinstance(item, Frontier):
                stream.feed(item)
                continue
            for record in results.get(item.prefix, [Open(item.prefix)]):
                stream.feed(record)
