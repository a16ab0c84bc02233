"""Training sparse ternary and binarized networks (tvmip.train, ``tvmip train``,
``tvmip study sparsity``), with small widths and few epochs:

* WDR's controller alpha raises the fraction of zero weights on a fixed seed;
* the written network g is exactly ternary, output included, and the trained
  network h (weights s_l T_l, exact) equals C g with the same activation and
  linear regions and the same patterns (tvmip.regions), for relu (WDR) and for
  step/sign (RVSCGD) networks, and for a hand-built mix of relu and step layers;
* the certificates of trained networks are VALID, bound to the network and domain;
* the thresholding maps are the proximal maps of l1, l0 and transformed l1;
* bad data files give one-line errors (exit 2) through the CLI;
* two runs with the same seed write byte-identical network files.
"""

from __future__ import annotations

import csv
import zipfile
from fractions import Fraction
from pathlib import Path
from random import Random

import numpy as np
import pytest
from cli_runner import run_tvmip

import tvmip
from tvmip.checker.activation import RELU, STEP
from tvmip.checker.linear import unique_neighbours
from tvmip.train import (
    Rvscgd,
    TrainConfig,
    Wdr,
    fold_scales,
    load_data,
    synthetic,
    train,
)
from tvmip.train.methods import hard_threshold, soft_threshold, tl1_threshold
from tvmip.train.study import architecture_bounds

SMALL = TrainConfig(widths=(5, 5), epochs=300, calibrate=50)
FAST = ["--widths", "5,5", "--epochs", "200", "--calibrate", "30", "--samples", "96",
        "--quiet"]
ONE = {-1, 0, 1}


def weights(network: tvmip.Network) -> list[Fraction]:
    return [w for layer in (*network.layers, network.output)
            for row in layer.weights for w in row]


def assert_same_regions(h: tvmip.Network, g: tvmip.Network, box: tvmip.Box | None) -> None:
    """Equal counts and equal patterns with the same linear-region partition (where
    linear regions are certified: see tvmip.checker.linear.unique_neighbours)."""
    linear = unique_neighbours(g)
    assert linear == unique_neighbours(h)
    counts = [(c.activation_regions, c.linear_regions, c.distinct_maps)
              for c in (tvmip.count(net, box, linear=linear) for net in (h, g))]
    assert counts[0] == counts[1]
    listed = [tvmip.regions(net, box) for net in (h, g)]
    assert all(found.complete for found in listed)
    partitions = []
    for found in listed:
        groups: dict[int | None, set[str]] = {}
        for region in found:
            groups.setdefault(region.linear_region, set()).add(region.pattern)
        partitions.append({frozenset(group) for group in groups.values()})
    assert {r.pattern for r in listed[0]} == {r.pattern for r in listed[1]}
    assert partitions[0] == partitions[1]


def assert_scaled_copy(h: tvmip.Network, g: tvmip.Network, scale: Fraction,
                       seed: int = 0) -> None:
    """``h(x) = C g(x)`` exactly at random rational points."""
    rng = Random(seed)
    for _ in range(25):
        x = [Fraction(rng.randint(-300, 300), rng.randint(1, 97)) for _ in range(h.input_dim)]
        assert tvmip.evaluate(h, x) == tuple(scale * v for v in tvmip.evaluate(g, x))


# -- WDR ------------------------------------------------------------------------------


def test_sparsity_rises_with_alpha_on_a_fixed_seed() -> None:
    data = synthetic("abs-sum", 2, 128, seed=0)
    sparsity = [train(data, Wdr(alpha=alpha), SMALL).sparsity for alpha in (0.1, 0.8, 1.5)]
    assert sparsity[0] < sparsity[1] < sparsity[2], sparsity


def test_wdr_network_is_ternary_and_folding_keeps_the_regions() -> None:
    data = synthetic("peaks", 2, 128, seed=1)
    result = train(data, Wdr(alpha=0.6), SMALL)
    g, h = result.network, result.trained
    assert g.ternary and set(weights(g)) <= ONE and all(type(w) is Fraction for w in weights(g))
    for trained, ternary in zip((*h.layers, h.output), (*g.layers, g.output)):
        sizes = {abs(w) for row in trained.weights for w in row} - {0}
        assert len(sizes) <= 1  # h's weights are s_l * T_l, one scale per layer
        s = sizes.pop() if sizes else Fraction(1)
        assert trained.weights == tuple(tuple(s * t for t in row) for row in ternary.weights)
    assert result.scale > 0
    assert_scaled_copy(h, g, result.scale)
    assert_same_regions(h, g, data.box)
    assert_same_regions(h, g, None)
    assert 0 <= result.sparsity <= 1
    assert result.loss_discrete < 2 * float(np.var(data.y))


# -- RVSCGD ---------------------------------------------------------------------------


@pytest.mark.parametrize(("activation", "penalty"),
                         [("step", "l1"), ("step", "l0"), ("sign", "tl1"), ("sign", "l0")])
def test_rvscgd_binarized_networks_fold_and_certify(tmp_path: Path, activation: str,
                                                    penalty: str) -> None:
    data = synthetic("checker", 2, 128, seed=2)
    config = TrainConfig(widths=(5, 4), activation=activation, epochs=300, calibrate=50)
    result = train(data, Rvscgd(penalty, lam=0.003), config)
    g, h = result.network, result.trained
    assert set(weights(g)) <= ONE
    assert {layer.activation.text for layer in g.layers} == {activation}
    assert_scaled_copy(h, g, result.scale)
    assert_same_regions(h, g, data.box)
    cert = tmp_path / "c.json.gz"
    with pytest.raises(tvmip.InputError, match="one neighbour"):  # step feeds step: jumps
        tvmip.count(g, data.box, linear=True)
    counted = tvmip.count(g, data.box, certificate=cert)
    verdict = tvmip.check(cert, g.sha256, data.box)
    assert verdict.valid, verdict.line
    assert verdict.activation_regions == counted.activation_regions


def test_fold_through_relu_step_sign_and_relu_by_hand() -> None:
    """Scales 3/2, 5, 2/7, 4/3 and 9 through relu, step, sign and relu layers: step
    and sign absorb the scale reaching them, so h = C g with C = 4/3 * 9 only."""
    from tvmip.checker.activation import SIGN

    rng = Random(5)

    def layer(rows: int, cols: int, scale: Fraction, act: object) -> tvmip.Layer:
        w = tuple(tuple(scale * rng.choice((-1, 0, 1)) for _ in range(cols))
                  for _ in range(rows))
        b = tuple(Fraction(rng.randint(-9, 9), rng.randint(1, 5)) for _ in range(rows))
        return tvmip.Layer(w, b, act) if act else tvmip.Layer(w, b)

    h = tvmip.Network(2, (layer(4, 2, Fraction(3, 2), RELU), layer(4, 4, Fraction(5), STEP),
                          layer(3, 4, Fraction(2, 7), SIGN), layer(3, 3, Fraction(4, 3), RELU)),
                      layer(1, 3, Fraction(9), None))
    g, record = fold_scales(h)
    assert g.ternary
    assert record.scale == Fraction(4, 3) * 9
    assert_scaled_copy(h, g, record.scale, seed=6)
    assert_same_regions(h, g, tvmip.parse_box("-4,4", 2))


def test_fold_refuses_what_it_cannot_fold() -> None:
    from tvmip.checker.activation import HARDTANH

    net = tvmip.network_from_dict({"input_dim": 1, "layers": [
        {"weights": [[2], [-2]], "biases": [0, 1], "activation": "hardtanh"}],
        "output": {"weights": [[1, 1]], "biases": [0]}})
    assert net.layers[0].activation == HARDTANH
    with pytest.raises(ValueError, match="does not pass through"):
        fold_scales(net)
    mixed = tvmip.network_from_dict({"input_dim": 1, "layers": [
        {"weights": [[2], [-3]], "biases": [0, 1], "activation": "relu"}],
        "output": {"weights": [[1, 1]], "biases": [0]}})
    with pytest.raises(ValueError, match="one scale"):
        fold_scales(mixed)


@pytest.mark.parametrize("t", [0.05, 0.2, 0.6])
@pytest.mark.parametrize("a", [0.5, 1.0, 3.0])
def test_thresholds_are_the_proximal_maps(t: float, a: float) -> None:
    """Each map minimizes its penalty plus (u - w)^2 / 2, against a fine grid."""
    w = np.linspace(-3, 3, 121)
    grid = np.linspace(-4, 4, 16001)
    penalties = [(lambda u: t * np.abs(u), soft_threshold(w, t)),
                 (lambda u: t * (u != 0), hard_threshold(w, t)),
                 (lambda u: t * (a + 1) * np.abs(u) / (a + np.abs(u)), tl1_threshold(w, t, a))]
    for penalty, mapped in penalties:
        for wi, ui in zip(w, mapped):
            objective = penalty(grid) + (grid - wi) ** 2 / 2
            best = objective.min()
            value = penalty(np.array([ui]))[0] + (ui - wi) ** 2 / 2
            assert value <= best + 1e-6, (wi, ui, grid[objective.argmin()])


# -- the command line -----------------------------------------------------------------


def test_train_cli_writes_a_ternary_network_and_a_valid_certificate(tmp_path: Path) -> None:
    net, cert = tmp_path / "net.json", tmp_path / "net.cert.json.gz"
    out = run_tvmip(["train", "abs-sum", *FAST, "--alpha", "0.7", "-o", str(net),
                     "-c", str(cert)])
    assert out.code == 0, out
    for needle in ("sparsity:", "before discretization", "C = ",
                   "regions over the data's box", "regions over all of R^2"):
        assert needle in out.stdout, out
    g = tvmip.load_network(net)
    assert g.ternary and g.widths == (5, 5)
    box = load_data("abs-sum", 2, 96, 0).box
    verdict = tvmip.check(cert, g.sha256, box)
    assert verdict.valid, verdict.line
    assert f"{verdict.activation_regions} activation regions" in out.stdout


def test_train_cli_rvscgd_json_summary(tmp_path: Path) -> None:
    import json

    out = run_tvmip(["train", "checker", *FAST, "--method", "rvscgd", "--penalty", "tl1",
                     "--activation", "sign", "-o", str(tmp_path / "n.json"), "--json"])
    assert out.code == 0, out
    summary = json.loads(out.stdout)
    assert summary["method"] == "rvscgd" and summary["activation"] == "sign"
    assert summary["box"]["claim"] == "exact" and summary["space"]["claim"] == "exact"
    # sign feeds sign with two inputs: a facet can have several neighbours, so the
    # linear regions are not certified (tvmip.checker.linear.unique_neighbours)
    assert summary["space"]["linear_regions"] is None


def test_same_seed_gives_byte_identical_network_files(tmp_path: Path) -> None:
    files = []
    for name, seed in (("a", "3"), ("b", "3"), ("c", "4")):
        path = tmp_path / f"{name}.json"
        out = run_tvmip(["train", "sawtooth", *FAST, "--seed", seed, "--whole-space", "0",
                         "-o", str(path)])
        assert out.code == 0, out
        files.append(path.read_bytes())
    assert files[0] == files[1]
    assert files[0] != files[2]


def test_data_files_csv_with_header_and_npz(tmp_path: Path) -> None:
    rows = [(x / 10, 1 - x / 10, abs(x) / 10) for x in range(-10, 11)]
    with open(tmp_path / "d.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["x1", "x2", "y"])
        writer.writerows(rows)
    from_csv = load_data(str(tmp_path / "d.csv"))
    assert from_csv.input_dim == 2 and from_csv.size == 21
    np.savez(tmp_path / "d.npz", x=np.linspace(-1, 1, 30), y=np.linspace(0, 1, 30))
    from_npz = load_data(str(tmp_path / "d.npz"))
    assert from_npz.input_dim == 1 and from_npz.size == 30
    net = tmp_path / "n.json"
    out = run_tvmip(["train", str(tmp_path / "d.npz"), *FAST, "-o", str(net)])
    assert out.code == 0, out
    assert "R^1" in out.stdout


BAD_CSV = {
    "empty.csv": "",
    "words.csv": "x,y\n1,2\n3,four\n",
    "ragged.csv": "1,2,3\n4,5\n",
    "one-column.csv": "1\n2\n",
    "nan.csv": "1,nan\n2,3\n",
    "header-only.csv": "x1,x2,y\n",
    "binary.csv": b"\xff\xfe\x00garbage",
}


def _bad_npz(path: Path, name: str) -> None:
    if name == "no-y.npz":
        np.savez(path, x=np.zeros((4, 2)))
    elif name == "lengths.npz":
        np.savez(path, x=np.zeros((4, 2)), y=np.zeros(3))
    elif name == "strings.npz":
        np.savez(path, x=np.array([["a", "b"]]), y=np.array([1.0]))
    elif name == "inf.npz":
        np.savez(path, x=np.array([[np.inf, 0.0]]), y=np.array([1.0]))
    else:  # a zip archive that is not an NPZ of arrays
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("x.npy", b"not an array")


@pytest.mark.parametrize("name", [*BAD_CSV, "no-y.npz", "lengths.npz", "strings.npz",
                                  "inf.npz", "broken.npz", "missing.csv", "no-such-task"])
def test_bad_data_file_is_a_one_line_error(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    if name in BAD_CSV:
        content = BAD_CSV[name]
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    elif name.endswith(".npz"):
        _bad_npz(path, name)
    spec = str(path) if name != "no-such-task" else name
    out = run_tvmip(["train", spec, *FAST, "-o", str(tmp_path / "n.json")])
    assert out.code == 2, out
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), out
    assert "Traceback" not in out.stderr
    assert not (tmp_path / "n.json").exists()


@pytest.mark.parametrize("args", [["peaks", "--dim", "3"], ["abs-sum", "--widths", "4,x"],
                                  ["abs-sum", "--widths", "0"],
                                  ["abs-sum", "--method", "rvscgd", "--lam", "-1"],
                                  ["abs-sum", "--alpha", "2.5"]])
def test_bad_training_options_are_one_line_errors(tmp_path: Path, args: list[str]) -> None:
    out = run_tvmip(["train", *args, "--quiet", "-o", str(tmp_path / "n.json")])
    assert out.code == 2, out
    assert len(out.stderr.strip().splitlines()) == 1 and "Traceback" not in out.stderr


# -- the study ------------------------------------------------------------------------


def test_architecture_bounds_for_two_inputs_and_widths_8_8() -> None:
    found = {b.kind: b for b in architecture_bounds(2, (8, 8))}
    assert found["upper"].value == tvmip.theory.theorems.serra_upper_bound(2, (8, 8)).value
    assert found["lower"].value == tvmip.theory.theorems.serra_lower_bound(2, (8, 8)).value
    assert found["ternary lower"].value == 108  # ternary-relu emulating width 4: widths (8, 5)
    assert "[8, 5]" in found["ternary lower"].name


def test_study_cli_writes_picture_and_table(tmp_path: Path) -> None:
    picture = tmp_path / "s.png"
    out = run_tvmip(["study", "sparsity", "--data", "abs-sum", "--widths", "4,4",
                     "--alphas", "0.2,1.2", "--epochs", "150", "--calibrate", "20",
                     "--samples", "64", "--quiet", "-o", str(picture)])
    assert out.code == 0, out
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    lines = (tmp_path / "s.csv").read_text().splitlines()
    table = list(csv.DictReader(line for line in lines if not line.startswith("#")))
    assert [float(r["alpha"]) for r in table] == [0.2, 1.2]
    assert all(r["space_exact"] == "True" and r["box_exact"] == "True" for r in table)
    assert any(line.startswith("# upper bound") for line in lines)
    assert "every certificate checked VALID" in out.stdout
