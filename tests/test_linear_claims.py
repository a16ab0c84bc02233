"""Linear regions and theorem claims: hand-built networks with known answers, and
tampered certificates that the checker must reject.

The counts here are argued by hand in each case's docstring; the tampering edits
the facet / no-facet evidence and the theorem claim of genuine certificates.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tvmip
from tvmip.checker.verify import check_file

# Two inputs, hidden ReLU layer(s), output.  Each: (network, domain box or None,
# activation regions, linear regions, distinct maps).


def net(layers: list[tuple[list[list[int]], list[Any], str]], output: list[int]) -> dict:
    return {"input_dim": len(layers[0][0][0]),
            "layers": [{"weights": w, "biases": b, "activation": a} for w, b, a in layers],
            "output": {"weights": [output], "biases": [0]}}


CASES = {
    # |x1| + |x2| with every neuron duplicated: the coincident hyperplanes x1 = 0 and
    # x2 = 0 cut R^2 into 4 quadrants; f = |x1| + |x2| has a different map on each.
    "abs-sum-duplicated": (net([([[1, 0], [1, 0], [-1, 0], [0, 1], [0, -1], [0, -1]],
                                 [0] * 6, "relu")], [1, 0, 1, 1, 1, 0]), None, 4, 4, 4),
    # relu(x1 - 1) + relu(-x1 - 1): f = 0 on the strip |x1| < 1 and the two outer half
    # planes have slopes +1 and -1; then relu(x1) - relu(x1) adds a cut at x1 = 0 with
    # no change of map.  Activation regions: x1 < -1, -1 < x1 < 0, 0 < x1 < 1, x1 > 1;
    # the two middle ones glue into one linear region (map 0).
    "glue-across-cancelling-pair": (net([([[1, 0], [-1, 0], [1, 0], [1, 0]], [-1, -1, 0, 0], "relu")],
                                        [1, 1, 1, -1]), None, 4, 3, 3),
    # f = relu(x1 - 1) - relu(x1 - 2) - relu(x1 + 2) + relu(x1 + 1) is 0 for x1 < -2
    # and for x1 > 2 (two disjoint regions sharing the map 0), and non-zero between.
    "two-disjoint-zero-regions": (net([([[1, 0], [1, 0], [1, 0], [1, 0]], [-1, -2, 2, 1], "relu")],
                                      [1, -1, -1, 1]), None, 5, 5, 4),
    # Many activation regions, one linear region: four pairs relu(l) - relu(l) over the
    # lines x1 = 0, x2 = 0, x1 + x2 = 1, x1 - x2 = -1/2 (general position: no three meet)
    # cut R^2 into 1 + 4 + 6 = 11 regions on which f = 0 everywhere.
    "all-glue-into-one": (net([([[1, 0], [1, 0], [0, 1], [0, 1], [1, 1], [1, 1], [1, -1], [1, -1]],
                                [0, 0, 0, 0, -1, -1, "1/2", "1/2"], "relu")],
                              [1, -1, 1, -1, 1, -1, 1, -1]), None, 11, 1, 1),
    # An identity layer copying (x1, x2) before |x1| + |x2|: the same 4 regions.
    "identity-layer": (net([([[1, 0], [0, 1]], [0, 0], "identity"),
                            ([[1, 0], [-1, 0], [0, 1], [0, -1]], [0, 0, 0, 0], "relu")],
                           [1, 1, 1, 1]), None, 4, 4, 4),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_hand_built_counts_and_certificate(name: str, tmp_path: Path) -> None:
    data, box, activation, linear, maps = CASES[name]
    network = tvmip.network_from_dict(data)
    path = tmp_path / "c.cert.json"
    result = tvmip.count(network, box, linear=True, engine="tree", certificate=path)
    assert (result.activation_regions, result.linear_regions, result.distinct_maps) == \
        (activation, linear, maps)
    verdict = check_file(path)
    # f = 0 everywhere in "all-glue-into-one": the checker says it is constant.
    constant = "; f is piecewise constant with 1 output value" \
        if name == "all-glue-into-one" else ""
    assert result.output_values == (1 if constant else None)
    assert verdict.line == (f"VALID: {activation} activation regions, {linear} linear regions, "
                            f"{maps} distinct affine maps over R^2{constant}")
    ids = [r.linear_region for r in tvmip.regions(network, box)]
    assert len(set(ids)) == linear and len(ids) == activation


# -- tampering with linear-region and theorem evidence ---------------------------------


def read_lines(path: Path) -> list[dict]:
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt") as handle:
        return [json.loads(line) for line in handle]


def write_lines(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, separators=(",", ":")) + "\n" for r in records))
    return path


@pytest.fixture(scope="module")
def linear_certificate(tmp_path_factory: pytest.TempPathFactory) -> list[dict]:
    data, box, *_ = CASES["glue-across-cancelling-pair"]
    path = tmp_path_factory.mktemp("linear") / "c.cert.json"
    tvmip.count(tvmip.network_from_dict(data), box, linear=True, engine="tree", certificate=path)
    return read_lines(path)


@pytest.fixture(scope="module")
def theorem_certificate(tmp_path_factory: pytest.TempPathFactory) -> list[dict]:
    from tvmip.theory.proofs import certify

    path = tmp_path_factory.mktemp("theorem") / "t.cert.json.gz"
    certify("ternary-relu", 2, 4, 2, path)
    return read_lines(path)


def first(records: list[dict], key: str) -> dict:
    return next(r for r in records if key in r)


def move_facet_point(records: list[dict]) -> None:
    record = first(records, "f")
    record["x"] = [str(v) + "/1" if isinstance(v, int) else v for v in record["x"]]
    record["x"][0] = "1/7" if record["x"][0] != "1/7" else "2/7"


def drop_no_facet(records: list[dict]) -> None:
    records.remove(first(records, "nf"))


def drop_facet(records: list[dict]) -> None:
    records.remove(first(records, "f"))


def wrong_neighbour(records: list[dict]) -> None:
    record = first(records, "f")
    regions = sum("r" in r for r in records)
    record["n"] = next(k for k in range(regions) if k not in (record["n"], record["f"][0]))


def claim_more_linear_regions(records: list[dict]) -> None:
    records[-1]["end"]["claims"]["linear_regions"]["value"] += 1


def claim_fewer_linear_regions(records: list[dict]) -> None:
    records[-1]["end"]["claims"]["linear_regions"]["value"] -= 1


def claim_other_distinct_maps(records: list[dict]) -> None:
    records[-1]["end"]["claims"]["distinct_maps"]["value"] += 1


def scale_mu(records: list[dict]) -> None:
    record = first(records, "nf")
    record["mu"] = "-1000"


@pytest.mark.parametrize("tamper", [move_facet_point, drop_facet, wrong_neighbour,
                                    claim_more_linear_regions, claim_fewer_linear_regions,
                                    claim_other_distinct_maps],
                         ids=lambda f: f.__name__)
def test_tampered_linear_evidence_is_rejected(linear_certificate: list[dict], tmp_path: Path,
                                              tamper: Callable[[list[dict]], None]) -> None:
    records = json.loads(json.dumps(linear_certificate))
    tamper(records)
    verdict = check_file(write_lines(tmp_path / "t.cert.json", records))
    assert verdict.exit_code == 1 and verdict.line.startswith("INVALID: "), verdict.line


CORNER = {"input_dim": 2,
          "layers": [{"weights": [[1, 0], [0, 1], [1, 1]], "biases": [0, 0, 1],
                      "activation": "relu"}],
          "output": {"weights": [[0, 0, 0]], "biases": [0]}}
"""f = 0 on the 7 regions of three lines in general position: in the quadrant x > 0,
y > 0 the line x + y = -1 holds no facet, and no single parallel inequality shuts it
out (x > 0 and y > 0 together do), so its no-facet record is written and needed."""


@pytest.mark.parametrize("tamper", [drop_no_facet, scale_mu], ids=lambda f: f.__name__)
def test_tampered_no_facet_evidence_is_rejected(tmp_path: Path,
                                                tamper: Callable[[list[dict]], None]) -> None:
    path = tmp_path / "c.cert.json"
    tvmip.count(tvmip.network_from_dict(CORNER), linear=True, certificate=path)
    records = read_lines(path)
    assert tvmip.check(path).valid and any("nf" in r for r in records)
    tamper(records)
    verdict = check_file(write_lines(tmp_path / "t.cert.json", records))
    assert verdict.exit_code == 1 and verdict.line.startswith("INVALID: "), verdict.line


def glue_different_maps(records: list[dict]) -> None:
    """Turn a facet between regions of different maps into the claim that they are one
    linear region: the count of components must then disagree with the claim."""
    records[-1]["end"]["claims"]["linear_regions"]["value"] = 1


def test_claiming_one_linear_region_across_different_maps_is_rejected(
        linear_certificate: list[dict], tmp_path: Path) -> None:
    records = json.loads(json.dumps(linear_certificate))
    glue_different_maps(records)
    verdict = check_file(write_lines(tmp_path / "t.cert.json", records))
    assert verdict.exit_code == 1


@pytest.mark.parametrize("change", [
    ("width", 5), ("depth", 3), ("n0", 3), ("bound", 45), ("bound", 43),
    ("name", "serra-2018"), ("name", "no-such-theorem")])
def test_altered_theorem_parameters_are_rejected(theorem_certificate: list[dict], tmp_path: Path,
                                                 change: tuple[str, Any]) -> None:
    records = json.loads(json.dumps(theorem_certificate))
    key, value = change
    records[-1]["end"]["claims"]["theorem"][key] = value
    verdict = check_file(write_lines(tmp_path / "t.cert.json", records))
    assert verdict.exit_code == 1 and verdict.line.startswith("INVALID: "), verdict.line


def test_genuine_theorem_certificate_recomputes_the_bound(theorem_certificate: list[dict],
                                                          tmp_path: Path) -> None:
    verdict = check_file(write_lines(tmp_path / "t.cert.json", theorem_certificate))
    assert verdict.valid and "meets Montufar et al. 2014 lower bound = 44" in verdict.line


def test_a_bound_above_the_certified_count_is_rejected(theorem_certificate: list[dict],
                                                       tmp_path: Path) -> None:
    """Claiming Serra's exact n0 = 1 maximum for a two-input network, or a reference
    architecture whose bound exceeds the certified count, fails."""
    records = json.loads(json.dumps(theorem_certificate))
    records[-1]["end"]["claims"]["theorem"].update(width=8, depth=3, bound=None)
    from tvmip.checker.bounds import montufar_lower_bound

    records[-1]["end"]["claims"]["theorem"]["bound"] = montufar_lower_bound(2, (8, 8, 8)).value
    verdict = check_file(write_lines(tmp_path / "t.cert.json", records))
    assert verdict.exit_code == 1 and "do not reach" in verdict.line


def test_ternary_claim_on_a_general_network_is_rejected(tmp_path: Path) -> None:
    from tvmip.theory.proofs import certify

    path = tmp_path / "g.cert.json"
    certify("general", 2, 6, 2, path)
    records = read_lines(path)
    assert records[-1]["end"]["claims"]["theorem"]["ternary"] is False
    records[-1]["end"]["claims"]["theorem"]["ternary"] = True
    verdict = check_file(write_lines(tmp_path / "t.cert.json", records))
    assert verdict.exit_code == 1 and "ternary" in verdict.line


@given(st.lists(st.tuples(st.integers(-3, 3), st.integers(-3, 3), st.integers(-6, 6)),
                min_size=1, max_size=7))
@settings(max_examples=300, deadline=None)
def test_shut_out_is_exactly_exclusion_by_one_parallel_row(rows: list[tuple[int, int, int]]) -> None:
    """shut_out(rows) against the definition, with Fractions: the hyperplane of row r
    (``g . x + c = 0``) is shut out iff some row s on another hyperplane has a gradient
    that is a multiple of r's and is ``<= 0`` at a point of r's hyperplane (then at all
    of them, being parallel)."""
    from tvmip.checker.linear import hyperplane, shut_out

    def point_on(row: tuple[int, int, int]) -> tuple[Fraction, Fraction]:
        a, b, c = row
        return (Fraction(-c, a), Fraction(0)) if a else (Fraction(0), Fraction(-c, b))

    expected = set()
    for r in rows:
        if not any(r[:2]):
            continue
        x, y = point_on(r)
        for s in rows:
            parallel = any(s[:2]) and r[0] * s[1] == r[1] * s[0]
            if parallel and hyperplane(s) != hyperplane(r) and s[0] * x + s[1] * y + s[2] <= 0:
                expected.add(hyperplane(r))
    assert shut_out(rows) == expected


def test_checker_caches_do_not_change_the_verdict(theorem_certificate: list[dict], tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """The checker keeps layer rows per prefix and the inequalities of recent regions;
    with room for one entry each (every lookup of another prefix or region evicts) the
    certificate (108 regions, facet evidence on two hidden layers) gets the same
    verdict, and a forged count is still refused."""
    from tvmip.checker import linear, maps

    path = write_lines(tmp_path / "t.cert.json", theorem_certificate)
    roomy = check_file(path)
    monkeypatch.setattr(maps, "LAYER_CACHE", 1)
    monkeypatch.setattr(linear, "RECENT_REGIONS", 1)
    assert check_file(path) == roomy and roomy.valid
    records = json.loads(json.dumps(theorem_certificate))
    records[-1]["end"]["claims"]["linear_regions"]["value"] += 1
    assert not check_file(write_lines(tmp_path / "forged.cert.json", records)).valid
