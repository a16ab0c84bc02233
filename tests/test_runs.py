"""Runs of ``tvmip count`` as the user sees them: interrupts and resumption, limits,
determinism across processes, hash seeds and workers, and dead workers.

Pins the promises of tvmip/engine.py, tvmip/parallel.py and the exit codes of
tvmip/cli.py, each on a real ``tvmip count`` process:

* SIGINT or SIGTERM stops a count within 1 s with exit 130 and a certificate the
  checker accepts as a lower bound (``VALID: at least ...``); ``--resume`` then
  completes it into the certificate an uninterrupted run writes (byte for byte
  once decompressed, except the end record's ``metadata``), also after two
  interrupts in a row and with ``--workers 2``;
* ``--resume`` against a certificate about another network or domain is refused
  with one ``error:`` line, exit 2, and leaves that certificate untouched;
* the certificate does not depend on PYTHONHASHSEED or on ``--workers`` (nor on
  ``--dask local``), with or without
  ``--max-regions``;
* a worker process killed during ``--workers 2`` never yields an exact certificate
  with a different count: either the run completes with the normal certificate
  (the subtrees are re-run) or it fails with one ``error:`` line and writes no
  certificate;
* ``--time-limit 0.5`` and ``--max-regions 10`` exit 3 with a valid lower bound
  (exactly 10 regions for the latter).

The long network (:data:`LONG`, a fixed-seed ternary network, n0 = 3, widths
12, 12, 12: 5058 regions, about 6 s) is counted once without interruption as the
reference.  The whole module takes about a minute and a half.
"""

from __future__ import annotations

import gzip
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tvmip.checker.verify import check_file

TIMEOUT = 120  # seconds for any one tvmip process
SIGNAL_DELAY = 1.0  # seconds of counting before a signal
STOP_WITHIN = 1.0  # seconds from the signal to the exit


def random_ternary(seed: int, n0: int, widths: tuple[int, ...]) -> dict[str, Any]:
    """A ternary ReLU network with rational biases, fixed by ``seed``."""
    rng = random.Random(seed)
    layers, fan_in = [], n0
    for width in widths:
        layers.append({"activation": "relu",
                       "weights": [[rng.choice((-1, 0, 1)) for _ in range(fan_in)]
                                   for _ in range(width)],
                       "biases": [f"{rng.randint(-9, 9)}/{rng.choice((1, 2, 3, 5))}"
                                  for _ in range(width)]})
        fan_in = width
    return {"format": "tvmip-network/1", "input_dim": n0, "layers": layers,
            "output": {"weights": [[1] * fan_in], "biases": [0]}}


LONG = random_ternary(1, 3, (12, 12, 12))  # 5058 regions, several seconds
MID = random_ternary(1, 3, (10, 10))  # 727 regions, half a second; > 128 subtrees
LONG_REGIONS = 5058

# --------------------------------------------------------------------------------------
# Running tvmip
# --------------------------------------------------------------------------------------


def command(*args: str | Path) -> list[str]:
    return [sys.executable, "-m", "tvmip.cli", *map(str, args)]


def environment(hash_seed: int | None = None) -> dict[str, str]:
    env = dict(os.environ)
    if hash_seed is not None:
        env["PYTHONHASHSEED"] = str(hash_seed)
    return env


def tvmip(*args: str | Path, hash_seed: int | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command(*args), check=False, capture_output=True, text=True,
                          timeout=TIMEOUT, env=environment(hash_seed))


def start(*args: str | Path) -> subprocess.Popen[str]:
    return subprocess.Popen(command(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def partial_files(certificate: Path) -> list[Path]:
    """The temporary files a run writes its certificate to before renaming it."""
    return sorted(certificate.parent.glob(f".{certificate.name}.*.part"))


def wait_until_counting(proc: subprocess.Popen[str], certificate: Path) -> None:
    """Wait until the run has opened its certificate (imports done, signal handlers
    about to be installed), so a signal reaches the count and not the start-up."""
    deadline = time.monotonic() + TIMEOUT
    while not partial_files(certificate):
        assert proc.poll() is None, f"tvmip exited early: {proc.communicate()}"
        assert time.monotonic() < deadline, "the count never started"
        time.sleep(0.02)


def interrupt(proc: subprocess.Popen[str], certificate: Path, sig: int) -> tuple[int, float, str]:
    """Let the count run SIGNAL_DELAY seconds, send ``sig``; returns the exit code,
    the seconds from the signal to the exit, and stderr."""
    wait_until_counting(proc, certificate)
    time.sleep(SIGNAL_DELAY)
    assert proc.poll() is None, "the count finished before the signal: use a longer network"
    sent = time.monotonic()
    proc.send_signal(sig)
    _, stderr = proc.communicate(timeout=TIMEOUT)
    return proc.returncode, time.monotonic() - sent, stderr


def decompressed_lines(path: Path) -> list[bytes]:
    data = path.read_bytes()
    return (gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data).splitlines()


def assert_same_certificate(path: Path, reference: Path) -> None:
    """Identical records and claims; only the end record's metadata (timings) may
    differ."""
    ours, theirs = decompressed_lines(path), decompressed_lines(reference)
    assert len(ours) == len(theirs), (len(ours), len(theirs))
    first = next((i for i, (a, b) in enumerate(zip(ours[:-1], theirs[:-1])) if a != b), None)
    assert first is None, \
        f"line {first + 1} differs: {ours[first][:200]!r} vs {theirs[first][:200]!r}"
    claims = [json.loads(lines[-1])["end"]["claims"] for lines in (ours, theirs)]
    assert claims[0] == claims[1]


def check_line(path: Path) -> str:
    """``tvmip check PATH``: exit 0 and its one line."""
    proc = tvmip("check", path)
    assert proc.returncode == 0 and proc.stderr == "", proc
    lines = proc.stdout.splitlines()
    assert len(lines) == 1, proc.stdout
    return lines[0]


def assert_lower_bound(path: Path) -> int:
    """The checker accepts ``path`` as a lower bound; returns its region count."""
    line = check_line(path)
    assert line.startswith("VALID: at least ") and line.endswith("(lower bound)"), line
    verdict = check_file(path)
    assert not verdict.exact and verdict.activation_regions is not None
    return verdict.activation_regions


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("runs")


@pytest.fixture(scope="module")
def long_net(work: Path) -> Path:
    path = work / "long.json"
    path.write_text(json.dumps(LONG))
    return path


@pytest.fixture(scope="module")
def mid_net(work: Path) -> Path:
    path = work / "mid.json"
    path.write_text(json.dumps(MID))
    return path


@pytest.fixture(scope="module")
def reference(work: Path, long_net: Path) -> Path:
    """The uninterrupted certificate of the long network."""
    path = work / "reference.cert.json.gz"
    proc = tvmip("count", long_net, "--certificate", path, "-q")
    assert proc.returncode == 0, proc
    assert f": {LONG_REGIONS} activation regions" in proc.stdout
    assert check_line(path).startswith(f"VALID: {LONG_REGIONS} activation regions")
    return path


@pytest.fixture
def cert(tmp_path: Path) -> Iterator[Path]:
    """A certificate path; no temporary file may be left behind next to it."""
    path = tmp_path / "out.cert.json.gz"
    yield path
    assert partial_files(path) == []


# --------------------------------------------------------------------------------------
# Interrupt and resume
# --------------------------------------------------------------------------------------


def interrupted_count(network: Path, certificate: Path, sig: int, *options: str) -> int:
    """Start a count (possibly resuming), interrupt it; assert exit 130 within
    STOP_WITHIN and a valid lower bound; return its region count."""
    proc = start("count", network, "--certificate", certificate, "-q", *options)
    code, seconds, stderr = interrupt(proc, certificate, sig)
    assert code == 130, (code, stderr)
    assert seconds < STOP_WITHIN, f"exit {seconds:.2f} s after the signal"
    assert "stopped early (interrupted)" in stderr, stderr
    return assert_lower_bound(certificate)


def resume_to_the_end(network: Path, certificate: Path, *options: str) -> None:
    proc = tvmip("count", network, "--certificate", certificate, "-q", "--resume", *options)
    assert proc.returncode == 0, proc
    assert f": {LONG_REGIONS} activation regions" in proc.stdout, proc.stdout


@pytest.mark.parametrize(("sig", "options"), [
    (signal.SIGINT, ()),
    (signal.SIGTERM, ()),
    (signal.SIGINT, ("--workers", "2")),
], ids=["SIGINT", "SIGTERM", "SIGINT-workers-2"])
def test_interrupted_count_resumes_to_the_uninterrupted_certificate(
        long_net: Path, reference: Path, cert: Path, sig: int, options: tuple[str, ...]) -> None:
    """A signal after ~1 s: exit 130 within 1 s, a valid lower-bound certificate;
    ``--resume`` completes it into the uninterrupted run's certificate."""
    found = interrupted_count(long_net, cert, sig, *options)
    assert 0 < found < LONG_REGIONS
    resume_to_the_end(long_net, cert, *options)
    assert_same_certificate(cert, reference)


def test_twice_interrupted_count_resumes_to_the_uninterrupted_certificate(
        long_net: Path, reference: Path, cert: Path) -> None:
    """Interrupt, resume and interrupt again (a lower bound at least as large: the
    complete subtrees are kept), then resume to the end: the uninterrupted
    certificate."""
    first = interrupted_count(long_net, cert, signal.SIGINT)
    second = interrupted_count(long_net, cert, signal.SIGTERM, "--resume")
    assert first <= second < LONG_REGIONS
    resume_to_the_end(long_net, cert)
    assert_same_certificate(cert, reference)


@pytest.mark.parametrize("other", ["network", "domain"])
def test_resume_against_another_network_or_domain_is_refused(
        work: Path, long_net: Path, mid_net: Path, cert: Path, other: str) -> None:
    """``--resume`` with a lower-bound certificate of the long network, for another
    network (or the same network over a box): exit 2, one ``error:`` line, nothing
    on stdout, and the certificate unchanged."""
    proc = tvmip("count", long_net, "--certificate", cert, "-q", "--max-regions", "50")
    assert proc.returncode == 3, proc
    before = cert.read_bytes()
    args = (mid_net,) if other == "network" else (long_net, "--box", "-1,1")
    proc = tvmip("count", *args, "--certificate", cert, "-q", "--resume")
    assert proc.returncode == 2, proc
    assert proc.stdout == "" and len(proc.stderr.splitlines()) == 1, proc
    assert proc.stderr.startswith("error: ") and "cannot resume" in proc.stderr, proc.stderr
    assert f"another {other}" in proc.stderr, proc.stderr
    assert cert.read_bytes() == before


# --------------------------------------------------------------------------------------
# Determinism
# --------------------------------------------------------------------------------------


def counted(network: Path, certificate: Path, *options: str, hash_seed: int,
            expect: int = 0) -> Path:
    proc = tvmip("count", network, "--certificate", certificate, "-q", *options,
                 hash_seed=hash_seed)
    assert proc.returncode == expect, proc
    return certificate


@pytest.mark.parametrize(("limit", "expect"), [((), 0), (("--max-regions", "300"), 3)],
                         ids=["complete", "max-regions-300"])
def test_certificate_is_the_same_under_hash_seeds_and_workers(
        tmp_path: Path, mid_net: Path, limit: tuple[str, ...], expect: int) -> None:
    """The same network counted under PYTHONHASHSEED 0 and 1, with 1 and 2 workers:
    the same certificate (records and claims), complete or cut by --max-regions."""
    runs = [(0, ()), (1, ()), (0, ("--workers", "2")), (1, ("--workers", "2"))]
    paths = [counted(mid_net, tmp_path / f"run{i}.cert.json", *limit, *options,
                     hash_seed=seed, expect=expect)
             for i, (seed, options) in enumerate(runs)]
    for path in paths[1:]:
        assert_same_certificate(path, paths[0])
    if limit:
        assert check_file(paths[0]).line == \
            "VALID: at least 300 activation regions over R^3 (lower bound)"


def test_dask_local_gives_the_same_certificate(tmp_path: Path, mid_net: Path) -> None:
    """``--dask local --workers 2`` writes the certificate a single process writes."""
    single = counted(mid_net, tmp_path / "single.cert.json", hash_seed=0)
    proc = tvmip("count", mid_net, "--certificate", tmp_path / "dask.cert.json", "-q",
                 "--dask", "local", "--workers", "2", hash_seed=1)
    assert proc.returncode == 0, proc.stderr.splitlines()[-1:]
    assert_same_certificate(tmp_path / "dask.cert.json", single)


# --------------------------------------------------------------------------------------
# Dead workers
# --------------------------------------------------------------------------------------


def worker_processes(pid: int) -> list[int]:
    """Children of ``pid`` running the same command line (forked pool workers), read
    from /proc."""
    def read(path: str) -> bytes:
        try:
            with open(path, "rb") as handle:
                return handle.read()
        except OSError:
            return b""

    command_line = read(f"/proc/{pid}/cmdline")
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            stat = read(f"/proc/{entry}/stat")
            fields = stat[stat.rfind(b")") + 2:].split()  # after "pid (name) "
            if len(fields) > 1 and int(fields[1]) == pid \
                    and read(f"/proc/{entry}/cmdline") == command_line:
                found.append(int(entry))
    return found


def kill_workers(proc: subprocess.Popen[str], certificate: Path, every: bool) -> int:
    """Once the workers run, SIGKILL one (or, with ``every``, each worker that
    appears until the run ends); returns how many were killed."""
    wait_until_counting(proc, certificate)
    killed = 0
    while proc.poll() is None:
        workers = worker_processes(proc.pid)
        if workers:
            time.sleep(0.5)  # let it get into a subtree
            try:
                os.kill(workers[0], signal.SIGKILL)
                killed += 1
            except ProcessLookupError:
                pass
            if not every:
                break
        time.sleep(0.05)
    return killed


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
@pytest.mark.parametrize("every", [False, True], ids=["one-worker-killed", "every-worker-killed"])
def test_killed_worker_never_yields_a_short_exact_certificate(
        long_net: Path, reference: Path, cert: Path, every: bool) -> None:
    """SIGKILL to a pool worker during ``--workers 2``: the run either completes with
    the normal certificate (the lost subtrees re-run: expected after one death) or
    fails with one ``error:`` line (exit 2) and no certificate file -- never an exact
    certificate with another count."""
    proc = start("count", long_net, "--certificate", cert, "-q", "--workers", "2")
    killed = kill_workers(proc, cert, every)
    _, stderr = proc.communicate(timeout=TIMEOUT)
    assert killed >= 1, "no worker process was found"
    if proc.returncode == 0:
        assert_same_certificate(cert, reference)
    else:
        assert proc.returncode == 2, (proc.returncode, stderr)
        assert len(stderr.splitlines()) == 1 and stderr.startswith("error: "), stderr
        assert "died" in stderr and not cert.exists()
    if not every:
        assert proc.returncode == 0, "one dead worker should be survived (the pool is retried once)"


# --------------------------------------------------------------------------------------
# Limits
# --------------------------------------------------------------------------------------


def test_time_limit_exits_3_with_a_valid_lower_bound(long_net: Path, cert: Path) -> None:
    """``--time-limit 0.5`` on a count of several seconds: exit 3 promptly, a
    lower-bound certificate the checker accepts."""
    started = time.monotonic()
    proc = tvmip("count", long_net, "--certificate", cert, "-q", "--time-limit", "0.5")
    assert proc.returncode == 3, proc
    assert time.monotonic() - started < 10
    assert "stopped early (time-limit)" in proc.stderr
    assert 0 < assert_lower_bound(cert) < LONG_REGIONS


def test_max_regions_exits_3_with_exactly_that_many_regions(long_net: Path, cert: Path) -> None:
    """``--max-regions 10``: exit 3, and the certificate claims at least exactly 10."""
    proc = tvmip("count", long_net, "--certificate", cert, "-q", "--max-regions", "10")
    assert proc.returncode == 3, proc
    assert "at least 10 activation regions" in proc.stdout
    assert check_line(cert) == "VALID: at least 10 activation regions over R^3 (lower bound)"
    assert assert_lower_bound(cert) == 10
