"""The Python API and the command line give identical results on instances/."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import tvmip
from tvmip.checker.model import box_from_json
from tvmip.cli import main

INSTANCES = Path(__file__).resolve().parent.parent / "instances"
EXPECTED = json.loads((INSTANCES / "expected.json").read_text())


def box_option(domain: dict | None) -> list[str]:
    if domain is None:
        return []
    return ["--box", ",".join(str(v) for v in [*domain["lo"], *domain["hi"]])]


@pytest.mark.parametrize("entry", EXPECTED, ids=lambda e: e["network"].split(".")[0])
def test_count_and_regions_agree(entry: dict) -> None:
    path = INSTANCES / entry["network"]
    network = tvmip.load_network(path)
    box = box_from_json(entry["domain"], network.input_dim)
    api = tvmip.count(network, box, linear=True)
    out = CliRunner().invoke(main, ["count", str(path), "--json", "--linear", "-q",
                                    *box_option(entry["domain"])])
    assert out.exit_code == 0, out.output
    cli = json.loads(out.output)
    assert (cli["activation_regions"], cli["linear_regions"], cli["distinct_maps"], cli["claim"]) \
        == (api.activation_regions, api.linear_regions, api.distinct_maps, api.claim)
    assert cli["network"]["sha256"] == network.sha256
    assert cli["domain"] == entry["domain"] or box is not None and cli["domain"] == box.to_json()
    listed = CliRunner().invoke(main, ["regions", str(path), *box_option(entry["domain"])])
    assert listed.exit_code == 0, listed.output
    assert [json.loads(line) for line in listed.output.splitlines()] == \
        [r.to_json() for r in tvmip.regions(network, box)]
