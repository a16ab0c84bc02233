"""Interrupts and limits never leave a partial result that looks complete.

A signal (SIGINT, here raised in-process at a chosen point of the run so the point is
exact) or a limit can stop a count while it searches or while it glues linear regions,
a listing, or a picture.  Whatever is then returned or written says "at least", or
states what is missing, and comes with a valid lower-bound certificate; the command
line exits 130 (interrupt) or 3 (limit) with a one-line notice.  The last test sends
a real SIGINT to `tvmip plot` without a box, which once ignored it for minutes.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cli_runner import run_tvmip

import tvmip
from tvmip.engine import run as run_module
from tvmip.model.network import network_from_dict
from tvmip.search.linear import Gluer
from tvmip.search.tree import Explorer
from tvmip.theory.constructions import construct

NETWORK = construct("ternary-relu", 2, 6, 2).network  # 400 regions, 224 maps: gluing work
REGIONS = 400
NETWORK_JSON = NETWORK.to_json()


@pytest.fixture
def network_file(tmp_path: Path) -> Path:
    path = tmp_path / "net.json"
    path.write_text(json.dumps(NETWORK_JSON))
    return path


def interrupt_after(calls: int) -> Callable[..., None]:
    """A hook that raises SIGINT in this process at its ``calls``-th call."""
    seen = [0]

    def hook(*_: Any) -> None:
        seen[0] += 1
        if seen[0] == calls:
            signal.raise_signal(signal.SIGINT)

    return hook


@pytest.fixture
def search_interrupted(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """SIGINT while the search records its 500th record."""
    original = Explorer._record
    hook = interrupt_after(500)

    def record(self: Explorer, *args: Any) -> Any:
        hook()
        return original(self, *args)

    monkeypatch.setattr(Explorer, "_record", record)
    yield


@pytest.fixture
def gluing_interrupted(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """SIGINT while the gluing computes the facets of its 3rd region."""
    original = Gluer._facets
    hook = interrupt_after(3)

    def facets(self: Gluer, *args: Any) -> Any:
        hook()
        return original(self, *args)

    monkeypatch.setattr(Gluer, "_facets", facets)
    yield


def verdict(path: Path) -> tvmip.Verdict:
    result = tvmip.check(path)
    assert result.valid, result.line
    return result


def test_count_interrupted_while_searching_is_a_valid_lower_bound(
        tmp_path: Path, search_interrupted: None) -> None:
    cert = tmp_path / "c.cert.json"
    result = tvmip.count(NETWORK, certificate=cert, linear=True)
    assert result.stop_reason == "interrupted" and not result.exact
    assert result.linear_regions is None and result.activation_regions < REGIONS
    line = verdict(cert).line
    assert line.startswith(f"VALID: at least {result.activation_regions} activation regions")
    assert "linear" not in line


def test_count_interrupted_while_gluing_keeps_the_exact_activation_certificate(
        tmp_path: Path, gluing_interrupted: None) -> None:
    cert = tmp_path / "c.cert.json"
    result = tvmip.count(NETWORK, certificate=cert, linear=True)
    assert result.stop_reason == "interrupted while gluing"
    assert result.exact and result.activation_regions == REGIONS
    assert result.linear_regions is None and result.distinct_maps is None
    assert verdict(cert).line == f"VALID: {REGIONS} activation regions over R^2"


def test_time_limit_covers_the_gluing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The clock jumps past the limit once gluing has started: exit reason
    'time-limit while gluing', the activation count exact, no linear claim."""
    real = time.perf_counter
    jump = [0.0]

    class Clock:
        @staticmethod
        def perf_counter() -> float:
            return real() + jump[0]

    original = Gluer._facets

    def facets(self: Gluer, *args: Any) -> Any:
        jump[0] = 3600.0
        return original(self, *args)

    monkeypatch.setattr(run_module, "time", Clock)
    monkeypatch.setattr(Gluer, "_facets", facets)
    cert = tmp_path / "c.cert.json"
    result = tvmip.count(NETWORK, certificate=cert, linear=True,
                         limits=tvmip.Limits(time_limit=60))
    assert result.stop_reason == "time-limit while gluing" and result.exact
    assert result.linear_regions is None
    assert verdict(cert).line == f"VALID: {REGIONS} activation regions over R^2"


def test_cli_count_says_the_linear_regions_were_not_counted(
        network_file: Path, tmp_path: Path, gluing_interrupted: None) -> None:
    cert = tmp_path / "c.cert.json"
    outcome = run_tvmip(["count", str(network_file), "--linear", "-c", str(cert), "-q"])
    assert outcome.code == 130, outcome
    assert f"{REGIONS} activation regions over R^2 (exact" in outcome.stdout
    assert "linear regions: not counted (interrupted while gluing)" in outcome.stderr
    assert verdict(cert).line == f"VALID: {REGIONS} activation regions over R^2"


def test_regions_api_says_an_interrupted_listing_is_incomplete() -> None:
    listing = tvmip.regions(NETWORK)
    assert listing.complete and len(listing) == REGIONS and listing.linear_regions == REGIONS
    partial = tvmip.regions(NETWORK, limits=tvmip.Limits(max_regions=30))
    assert not partial.complete and partial.stop_reason == "max-regions"
    assert len(partial) == 30 and partial.linear_regions is None
    assert [r.pattern for r in partial] == [r.pattern for r in listing][:30]


def test_regions_api_interrupted_while_gluing(gluing_interrupted: None) -> None:
    listing = tvmip.regions(NETWORK)
    assert not listing.complete and listing.stop_reason == "interrupted while gluing"
    assert len(listing) == REGIONS and all(r.linear_region is None for r in listing)


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_cli_regions_interrupted_ends_with_an_incomplete_line(
        network_file: Path, tmp_path: Path, fmt: str, search_interrupted: None) -> None:
    out, cert = tmp_path / f"r.{fmt}", tmp_path / "r.cert.json"
    outcome = run_tvmip(["regions", str(network_file), "--format", fmt, "-o", str(out),
                         "-c", str(cert), "-q"])
    assert outcome.code == 130, outcome
    assert outcome.stderr.count("\n") == 1 and "listing is incomplete" in outcome.stderr
    lines = out.read_text().splitlines()
    found = verdict(cert).activation_regions
    assert found is not None and 0 < found < REGIONS
    if fmt == "jsonl":
        assert len(lines) == found + 1
        assert json.loads(lines[-1]) == {
            "complete": False, "activation_regions": {"at_least": found},
            "linear_regions": None, "stop_reason": "interrupted", "certificate": str(cert)}
    else:
        assert len(lines) == found + 2  # header, rows, the closing comment
        assert lines[-1].startswith(f"# incomplete (interrupted): at least {found} ")


def test_cli_plot_interrupted_writes_no_picture(network_file: Path, tmp_path: Path,
                                                gluing_interrupted: None) -> None:
    picture = tmp_path / "map.png"
    outcome = run_tvmip(["plot", str(network_file), "--box", "-1,9", "-o", str(picture), "-q"])
    assert outcome.code == 130, outcome
    assert outcome.stderr.startswith("error: interrupted while gluing: no picture written")
    assert outcome.stderr.count("\n") == 1
    assert not picture.exists() and list(tmp_path.glob(".map.png*")) == []


def test_plot_with_a_time_limit_writes_no_picture(network_file: Path, tmp_path: Path) -> None:
    picture = tmp_path / "map.png"
    outcome = run_tvmip(["plot", str(network_file), "-o", str(picture), "-q",
                         "--time-limit", "0"])
    assert outcome.code == 3, outcome
    assert "no picture written" in outcome.stderr and not picture.exists()


def test_real_sigint_stops_plot_without_a_box(tmp_path: Path) -> None:
    """A network whose default view needs thousands of regions: SIGINT one second in
    ends the process promptly with 130 and no picture."""
    path = tmp_path / "big.json"
    path.write_text(json.dumps(construct("ternary-relu", 2, 8, 3).network.to_json()))
    picture = tmp_path / "big.png"
    proc = subprocess.Popen([sys.executable, "-m", "tvmip.cli", "plot", str(path), "-o",
                             str(picture), "-q"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    time.sleep(2.0)
    assert proc.poll() is None, "the plot finished before the signal"
    sent = time.monotonic()
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert time.monotonic() - sent < 5
    assert stderr.count("\n") == 1 and not picture.exists()


# -- cuts among many pieces ---------------------------------------------------------

def _staircase_network() -> tvmip.Network:
    """Two inputs through a 5-level quantizer, then a hard tanh of their sums: neurons
    with up to five open pieces, so a cut has several later siblings per node."""
    quantize = {"quantize": {"scale": "1/3", "zero_point": 0, "qmin": -2, "qmax": 2}}
    return network_from_dict({
        "format": "tvmip-network/1", "input_dim": 2,
        "layers": [{"weights": [[1, 0], [0, 1]], "biases": [0, 0], "activation": quantize},
                   {"weights": [[1, 1], [1, -1]], "biases": [0, "1/6"],
                    "activation": "hardtanh"}],
        "output": {"weights": [[1, 1]], "biases": [0]}})


def test_every_cut_of_a_many_piece_search_is_a_valid_lower_bound(tmp_path: Path) -> None:
    """Regression: the cut after the k-th region once assumed two pieces per neuron
    and stopped with an internal error on quantizers.  Every k gives a certificate
    for exactly 'at least k', with open records for the unexplored later pieces."""
    network = _staircase_network()
    total = tvmip.count(network).activation_regions
    assert total == 25  # 5 x 5 quantizer cells; the constant second layer adds none
    for k in range(1, total):
        cert = tmp_path / f"cut{k}.cert.json"
        result = tvmip.count(network, certificate=cert, limits=tvmip.Limits(max_regions=k))
        assert result.activation_regions == k and result.stop_reason == "max-regions"
        assert verdict(cert).line.startswith(f"VALID: at least {k} activation regions")
        assert result.open_subtrees > 0


def test_cuts_are_the_same_bytes_with_two_workers(tmp_path: Path) -> None:
    network = _staircase_network()
    one, two = tmp_path / "one.cert.json", tmp_path / "two.cert.json"
    tvmip.count(network, certificate=one, limits=tvmip.Limits(max_regions=7))
    tvmip.count(network, certificate=two, limits=tvmip.Limits(max_regions=7), workers=2)
    # Every line but the end record's timing metadata.
    ours, theirs = one.read_text().splitlines(), two.read_text().splitlines()
    assert ours[:-1] == theirs[:-1]
    assert json.loads(ours[-1])["end"]["claims"] == json.loads(theirs[-1])["end"]["claims"]


def test_a_layer_of_zeros_over_a_huge_denominator_is_exact() -> None:
    """Regression: a layer whose outputs are all 0 on a cell, over a common
    denominator beyond 64 bits, overflowed the integer division."""
    q = {"quantize": {"scale": "1/2199023255552", "zero_point": 0, "qmin": -1, "qmax": 1}}
    layer = {"weights": [["1/1099511627776"]], "biases": [0], "activation": q}
    network = network_from_dict({"format": "tvmip-network/1", "input_dim": 1,
                                 "layers": [layer, layer],
                                 "output": {"weights": [[1]], "biases": [0]}})
    # The first quantizer's levels +-2^-41 times 2^-40 fall inside the second's zero
    # cell (-2^-42, 2^-42): three activation regions, f identically 0.
    result = tvmip.count(network, linear=True)
    assert (result.activation_regions, result.linear_regions) == (3, 1)
