"""Bad input to ``tvmip count``: one ``error:`` line and exit code 2; good input read exactly.

Pins the input promises of ``tvmip count NETWORK`` (network format: shared/DESIGN.md
section 1; exit codes: tvmip/cli.py):

* every malformed network file in ``tests/corpus/bad_networks/`` (one problem per
  file) and a few too large to keep there (generated here) makes ``tvmip count FILE``
  exit with code 2, print exactly one ``error:`` line naming the file to stderr,
  nothing to stdout, and no traceback -- quickly, even for 100,000-digit numbers
  or an exponent of 999,999,999;
* bad command-line usage (an empty or malformed ``--box``, a missing file, a
  directory, a certificate path in a missing directory) is reported the same way;
* the accepted spellings of numbers (``tests/corpus/good_networks/``: integers,
  decimal strings, JSON float literals read as their decimal text, "p/q" strings)
  and extra keys such as ``name`` are read exactly.

Most cases run in-process through click's test runner (the same code path, without
0.3 s of interpreter start-up each); a sample runs in a fresh interpreter to pin
"no traceback" end to end.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import pytest
from cli_runner import Outcome
from cli_runner import run_tvmip as run

from tvmip.model.network import default_network_path, load_network

CORPUS = Path(__file__).parent / "corpus"
BAD = CORPUS / "bad_networks"
GOOD = CORPUS / "good_networks"
TIMEOUT = 30  # seconds; a reader that hangs on a huge number fails here

# Every file of the bad corpus and what is wrong with it.
BAD_CASES = {
    "row_too_short.json": "a weight row shorter than the fan-in",
    "too_many_biases.json": "more biases than neurons",
    "fan_in_mismatch.json": "layer 2 rows do not match layer 1's width",
    "output_fan_in_mismatch.json": "output rows do not match the last hidden width",
    "weight_abc.json": 'a weight "abc"',
    "weight_null.json": "a weight null",
    "weight_true.json": "a weight true (booleans are not numbers)",
    "weight_nested_list.json": "a weight that is a list",
    "activation_sigmoid.json": "an unknown activation",
    "missing_activation.json": "a hidden layer without activation",
    "literal_nan.json": "a NaN literal",
    "literal_infinity.json": "an Infinity literal",
    "literal_infinity_negative.json": "a -Infinity literal",
    "bias_zero_denominator.json": 'a bias "1/0"',
    "layers_empty.json": "no hidden layers",
    "layers_not_a_list.json": "layers is an object",
    "input_dim_zero.json": "input_dim 0",
    "input_dim_negative.json": "input_dim -1",
    "input_dim_string.json": 'input_dim "2"',
    "input_dim_boolean.json": "input_dim true",
    "input_dim_float.json": "input_dim 2.0",
    "missing_input_dim.json": "no input_dim",
    "missing_output.json": "no output layer",
    "missing_weights.json": "a layer without weights",
    "missing_biases.json": "a layer without biases",
    "weights_empty.json": "a layer with no neurons",
    "not_json.json": "not JSON at all",
    "truncated_json.json": "JSON cut off in the middle",
    "empty_file.json": "an empty file",
    "whitespace_only.json": "only whitespace",
    "not_utf8.json": "bytes that are not UTF-8",
    "json_array.json": "a JSON array instead of an object",
    "json_number.json": "a JSON number instead of an object",
    "duplicate_key.json": "input_dim given twice",
    "exponent_huge_string.json": 'a bias "1e999999999"',
    "exponent_huge_literal.json": "a bias 1e999999999 (a JSON number literal)",
    "format_version_wrong.json": 'format "tvmip-network/2"',
    "format_not_a_string.json": "format 1",
}

_BIG = "7" * 100_000


def network_with_bias(bias_text: str, **extra: object) -> str:
    """A one-layer network file whose first bias is the raw JSON text ``bias_text``."""
    net = {
        "input_dim": 2,
        "layers": [
            {"weights": [[1, 0], [0, 1]], "biases": ["@BIAS@", 0], "activation": "relu"}
        ],
        "output": {"weights": [[1, 1]], "biases": [0]},
        **extra,
    }
    return json.dumps(net).replace('"@BIAS@"', bias_text)


# Too large or too deep to keep in the corpus: written at test time.
GENERATED_BAD: dict[str, Callable[[], str]] = {
    "integer_100000_digits_string.json": lambda: network_with_bias(f'"{_BIG}"'),
    "integer_100000_digits_literal.json": lambda: network_with_bias(_BIG),
    "ratio_100000_digit_denominator.json": lambda: network_with_bias(f'"1/{_BIG}"'),
    "decimal_100000_digits.json": lambda: network_with_bias(f'"0.{_BIG}"'),
    "decimal_100000_digits_literal.json": lambda: network_with_bias(f"0.{_BIG}"),
    "nested_100000_deep.json": lambda: (
        '{"input_dim": 2, "layers": ' + "[" * 100_000 + "]" * 100_000 + "}"
    ),
}

# The sample of the corpus that also runs in a fresh interpreter.
END_TO_END = (
    "not_json.json",
    "empty_file.json",
    "literal_nan.json",
    "weight_null.json",
    "exponent_huge_literal.json",
    "fan_in_mismatch.json",
    "duplicate_key.json",
)


# --------------------------------------------------------------------------------------
# Running the command
# --------------------------------------------------------------------------------------


def run_tvmip(args: list[str], real_process: bool = False, cwd: Path | None = None) -> Outcome:
    """``tvmip ARGS``, in-process through click (default) or in a fresh interpreter."""
    return run(args, real_process=real_process, cwd=cwd, timeout=TIMEOUT)


def assert_input_error(outcome: Outcome, names: str | None = None) -> str:
    """Exit 2, nothing on stdout, one ``error:`` line on stderr (naming ``names``)."""
    assert "Traceback" not in outcome.stdout + outcome.stderr, outcome
    assert outcome.code == 2, outcome
    assert outcome.stdout == "", outcome
    lines = outcome.stderr.splitlines()
    assert len(lines) == 1, outcome
    assert lines[0].startswith("error:"), outcome
    if names is not None:
        assert names in lines[0], outcome
    return lines[0]


# --------------------------------------------------------------------------------------
# Bad network files
# --------------------------------------------------------------------------------------


def test_bad_corpus_holds_exactly_the_listed_cases() -> None:
    assert sorted(p.name for p in BAD.iterdir()) == sorted(BAD_CASES)


@pytest.mark.parametrize("name", sorted(BAD_CASES))
def test_bad_network_file_is_a_one_line_input_error(name: str) -> None:
    path = BAD / name
    assert_input_error(run_tvmip(["count", str(path)]), names=str(path))


@pytest.mark.parametrize("name", END_TO_END)
def test_bad_network_file_in_a_fresh_interpreter(name: str) -> None:
    path = BAD / name
    assert_input_error(
        run_tvmip(["count", str(path)], real_process=True), names=str(path)
    )


@pytest.mark.parametrize("name", sorted(GENERATED_BAD))
def test_huge_or_deep_network_file_is_rejected_quickly(
    tmp_path: Path, name: str
) -> None:
    """A fresh interpreter with a timeout: the reader must neither hang nor crash."""
    path = tmp_path / name
    path.write_text(GENERATED_BAD[name]())
    assert_input_error(
        run_tvmip(["count", str(path)], real_process=True), names=str(path)
    )


def test_bad_network_leaves_no_certificate_behind(tmp_path: Path) -> None:
    cert = tmp_path / "out.cert.json"
    path = BAD / "weight_abc.json"
    assert_input_error(
        run_tvmip(["count", str(path), "--certificate", str(cert)]), names=str(path)
    )
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------------------
# Bad command-line usage
# --------------------------------------------------------------------------------------

DEMO = str(default_network_path())  # input_dim 2

BAD_USAGE = {
    "empty_box": (["count", DEMO, "--box", "1,0"], "--box"),
    "box_not_numbers": (["count", DEMO, "--box", "a,b"], "--box"),
    "box_three_values_for_two_inputs": (["count", DEMO, "--box", "1,2,3"], "--box"),
    "box_huge_exponent": (["count", DEMO, "--box", "0,1e999999999"], "--box"),
    "box_zero_denominator": (["count", DEMO, "--box", "0,1/0"], "--box"),
}


@pytest.mark.parametrize("case", sorted(BAD_USAGE))
def test_bad_box_option_is_a_one_line_input_error(case: str) -> None:
    args, names = BAD_USAGE[case]
    assert_input_error(run_tvmip(args), names=names)


def test_nonexistent_network_file_is_a_one_line_input_error(tmp_path: Path) -> None:
    path = tmp_path / "missing.json"
    assert_input_error(
        run_tvmip(["count", str(path)], real_process=True), names=str(path)
    )


def test_directory_as_network_file_is_a_one_line_input_error(tmp_path: Path) -> None:
    assert_input_error(
        run_tvmip(["count", str(tmp_path)], real_process=True), names=str(tmp_path)
    )


def test_certificate_in_a_missing_directory_is_a_one_line_input_error(
    tmp_path: Path,
) -> None:
    cert = tmp_path / "no" / "such" / "dir" / "out.cert.json"
    assert_input_error(
        run_tvmip(["count", DEMO, "--certificate", str(cert)], real_process=True),
        names=str(cert),
    )
    assert not (tmp_path / "no").exists()


def test_certificate_path_that_is_a_directory_is_a_one_line_input_error(
    tmp_path: Path,
) -> None:
    assert_input_error(
        run_tvmip(["count", DEMO, "--certificate", str(tmp_path)]), names=str(tmp_path)
    )


def test_max_regions_zero_is_a_one_line_input_error() -> None:
    assert_input_error(run_tvmip(["count", DEMO, "--max-regions", "0"]))


# --------------------------------------------------------------------------------------
# Good network files: read exactly
# --------------------------------------------------------------------------------------

F = Fraction
GOOD_CASES = {
    # file: (first-layer weights, first-layer biases, output biases, regions)
    "decimal_strings.json": (
        [1, -1, F(1, 4)],
        [F(-1, 4), F(3, 4), F(1, 10)],
        [F(-1, 4)],
        4,
    ),
    "float_literals.json": (
        [1, -1, F(3, 10)],
        [F(1, 10), F(1, 1000), F(-3, 5)],
        [F(1, 10)],
        4,
    ),
    "ratio_strings.json": ([1, -1, -7], [F(-1, 3), F(1, 3), F(-14, 3)], [F(-1, 2)], 3),
    "extra_keys.json": ([1, 0, 0, 1], [0, 0], [0], 4),
}


def test_good_corpus_holds_exactly_the_listed_cases() -> None:
    assert sorted(p.name for p in GOOD.iterdir()) == sorted(GOOD_CASES)


@pytest.mark.parametrize("name", sorted(GOOD_CASES))
def test_good_network_file_is_read_exactly(name: str) -> None:
    weights, biases, out_biases, _ = GOOD_CASES[name]
    net = load_network(GOOD / name)
    first = net.layers[0]
    assert [w for row in first.weights for w in row] == weights
    assert list(first.biases) == biases
    assert list(net.output.biases) == out_biases
    assert all(type(v) is Fraction for row in first.weights for v in row)


def test_json_float_literal_is_its_decimal_text_not_the_nearest_double() -> None:
    net = load_network(GOOD / "float_literals.json")
    assert net.layers[0].biases[0] == Fraction(1, 10)
    assert net.layers[0].biases[0] != Fraction(0.1)


@pytest.mark.parametrize("name", sorted(GOOD_CASES))
def test_good_network_file_is_counted(name: str) -> None:
    outcome = run_tvmip(["count", str(GOOD / name), "--quiet"])
    assert outcome.code == 0, outcome
    assert "Traceback" not in outcome.stdout + outcome.stderr
    assert f": {GOOD_CASES[name][3]} activation regions over R^" in outcome.stdout, (
        outcome
    )


def test_spellings_of_one_network_share_its_identity(tmp_path: Path) -> None:
    """-1/4 as an int ratio, a decimal string, a float literal or with extra keys is
    the same network: the same exact values and the same canonical sha256."""
    spellings = ['"-1/4"', '"-0.25"', "-0.25", '"-2.5e-1"', '"-2/8"']
    shas = set()
    for i, bias in enumerate(spellings):
        path = tmp_path / f"spelling{i}.json"
        extra = {"name": f"spelling {i}"} if i % 2 else {}
        path.write_text(network_with_bias(bias, **extra))
        net = load_network(path)
        assert net.layers[0].biases == (Fraction(-1, 4), 0)
        shas.add(net.sha256)
    assert len(shas) == 1


def test_good_network_in_a_fresh_interpreter() -> None:
    path = GOOD / "extra_keys.json"
    outcome = run_tvmip(["count", str(path), "--quiet"], real_process=True)
    assert outcome.code == 0, outcome
    assert outcome.stdout.startswith(f"{path}: 4 activation regions over R^2"), outcome
    assert "Traceback" not in outcome.stderr
    assert json.loads(path.read_text())["name"]  # the extra key really is there
