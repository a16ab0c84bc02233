"""Fuzzing the trusted checker: whatever the bytes, one verdict line, promptly.

Pins the robustness promise of ``tvmip check`` / ``python -m tvmip.checker``
(:mod:`tvmip.checker.verify`) under *random* damage to genuine certificates of
every kind tvmip writes.  tests/test_tampering.py holds the hand-written
mutations, one per claim; this module throws volume and randomness at the same
promise:

* every mutated file gets exactly one of the three verdicts (``VALID:`` exit 0,
  ``INVALID:`` exit 1, ``error:`` exit 2) as exactly one line, never an exception
  or a traceback, within :data:`CHECK_SECONDS`; in-process
  (:func:`~tvmip.checker.verify.check_file`) and, on a sample, in a fresh
  interpreter (``python -m tvmip.checker``) with the same verdict;
* mutations that make a claim false, computed with the exact oracle of this
  module, are *always* ``INVALID``: a changed count, a witness moved exactly onto
  or across one of its region's inequalities, a facet point moved off its
  hyperplane, one Motzkin multiplier scaled so that the combination no longer
  cancels;
* gzip bombs are refused quickly with exit 2.

Bases (:data:`BASES`): tree certificates with and without a box, with ``0`` states
and look-ahead proofs, with identity layers; breakpoint certificates (n0 = 1);
tree certificates with facet evidence (``linear=True``); ``tvmip certify``
certificates with a theorem claim (exact tree, breakpoints, and ``--evidence
witnesses``); a lower bound (``max_regions``).

Random mutations (:data:`MUTATIONS`): bytes (truncation, bit flips, gzip header,
body and trailer corruption), lines (insert, delete, duplicate, swap), JSON values
(a number replaced by another number, a 100,000-digit integer, ``"1/0"``, a float,
a string, null, a list, lists nested 10,000 deep...; keys dropped or added;
characters of strings changed; the compression toggled).  They run under
hypothesis (shrinkable) and in a seeded loop (volume).  The outcome tallies are
printed when the module ends (``pytest -s``).

Bugs the fuzzer found are pinned by regression tests at the end of the module.
"""

from __future__ import annotations

import functools
import gzip
import itertools
import json
import random
import re
import signal
import subprocess
import sys
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import oracles as O
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tvmip.checker.verify import Verdict, check_file
from tvmip.cli import main as cli_main
from tvmip.engine import counting as engine
from tvmip.errors import TvmipError
from tvmip.model.network import network_from_dict, parse_box

CHECK_SECONDS = 10.0  # every single check must end within this
HANG_SECONDS = 60  # a check still running then is aborted (and fails)
SUBPROCESS_TIMEOUT = 60
LOOP_SEED = 20240808
LOOP_CASES = 10_000
SAMPLE_CASES = 60  # mutated files also checked in a fresh interpreter
HUGE_DIGITS = 100_000
DEEP_NESTING = 10_000

PREFIXES = {0: "VALID: ", 1: "INVALID: ", 2: "error: "}
WORDS = {0: "VALID", 1: "INVALID", 2: "error"}
TALLY: Counter[tuple[str, str]] = Counter()  # (source, outcome) -> cases

Affine = tuple[Fraction, ...]  # gradient, then constant

# --------------------------------------------------------------------------------------
# Base certificates
# --------------------------------------------------------------------------------------

# n0 = 2 over R^2: a duplicated neuron, an all-zero neuron and a cancelling pair give
# '0' states; the second layer's stable neurons give look-ahead proofs.
NET_ZERO = {
    "input_dim": 2,
    "layers": [
        {"activation": "relu", "weights": [[1, 0], [1, 0], [0, 1], [0, 0], [1, -1], [1, 1]],
         "biases": [0, 0, 0, 0, "1/2", -1]},
        {"activation": "relu",
         "weights": [[1, -1, 0, 0, 0, 0], [0, 0, 1, 0, 0, 0], [0, 0, 0, 1, 0, 0],
                     [0, 0, 1, 0, 1, -1]],
         "biases": [0, 0, 0, "1/3"]},
    ],
    "output": {"weights": [[1, 1, -1, 1]], "biases": [0]},
}

# n0 = 3 over a box, with an identity layer between two ReLU layers: proofs use faces.
NET_BOX = {
    "input_dim": 3,
    "layers": [
        {"activation": "relu",
         "weights": [[1, 0, "1/2"], [0, 1, -1], [-1, 1, 1], [2, 0, -1], [0, 0, 1]],
         "biases": ["1/3", -1, 0, "-3/2", 2]},
        {"activation": "identity", "weights": [[1, 1, 0, 0, 0], [0, 1, -1, 1, 0]],
         "biases": [0, "1/2"]},
        {"activation": "relu", "weights": [[1, -1], [1, 1], [0, 2]], "biases": [0, -1, 1]},
    ],
    "output": {"weights": [[1, -1, 1]], "biases": [0]},
}

# n0 = 1: an identity layer, a neuron that is identically zero, two outputs.
NET_1D = {
    "input_dim": 1,
    "layers": [
        {"activation": "identity", "weights": [[1], [-1]], "biases": [0, 0]},
        {"activation": "relu", "weights": [[1, 0], [0, 1], [1, 1], [1, -1], [2, 0]],
         "biases": ["-1/2", "-1/3", 0, 1, "1/5"]},
        {"activation": "relu", "weights": [[1, 1, 0, -1, 1], [0, 0, 1, 0, 0], [0, 1, 0, 0, -1]],
         "biases": [0, 0, "1/7"]},
    ],
    "output": {"weights": [[1, -1, 1], [0, 1, 0]], "biases": [0, 1]},
}

# n0 = 2 with output weights 0 on some neurons: regions share maps, so --linear
# writes facet and no-facet evidence.
NET_LINEAR_BOX = {
    "input_dim": 2,
    "layers": [{"activation": "relu", "weights": [[1, 0], [0, 1], [1, 1], [1, -1]],
                "biases": [0, 0, -1, "1/2"]}],
    "output": {"weights": [[1, 0, 1, 0]], "biases": [0]},
}
NET_LINEAR = {
    "input_dim": 2,
    "layers": [
        {"activation": "relu", "weights": [[1, 0], [0, 1], [1, 1]], "biases": [0, 0, -1]},
        {"activation": "relu", "weights": [[1, 1, 0], [0, 1, -1]], "biases": [0, "-1/2"]},
    ],
    "output": {"weights": [[1, 0]], "biases": [0]},
}


@dataclass(frozen=True)
class Recipe:
    """How to produce one base certificate."""

    gz: bool
    network: dict[str, Any] | None = None  # engine.count on this network ...
    box: tuple[str, str] | None = None
    linear: bool = False
    max_regions: int | None = None
    certify: tuple[str, ...] = ()  # ... or `tvmip certify ARGS`


RECIPES: dict[str, Recipe] = {
    "tree_zero_states": Recipe(True, NET_ZERO),
    "tree_box": Recipe(False, NET_BOX, box=("-2", "3/2")),
    "breakpoints": Recipe(True, NET_1D),
    "breakpoints_box": Recipe(False, NET_1D, box=("-3", "5/2")),
    "tree_linear_box": Recipe(False, NET_LINEAR_BOX, box=("-2", "2"), linear=True),
    "tree_linear": Recipe(True, NET_LINEAR, linear=True),
    "lower_bound": Recipe(True, NET_BOX, box=("-2", "3/2"), max_regions=17),
    "theorem_tree": Recipe(False, certify=("ternary-alternating", "--n0", "2", "--width", "2",
                                           "--depth", "2")),
    "theorem_breakpoints": Recipe(True, certify=("ternary-relu", "--n0", "1", "--width", "3",
                                                 "--depth", "2")),
    "witnesses": Recipe(False, certify=("ternary-relu", "--n0", "2", "--width", "2",
                                        "--depth", "2", "--evidence", "witnesses")),
}
BASES = tuple(RECIPES)


class Base:
    """A genuine certificate: its file bytes, decompressed lines, and parsed objects.
    (A plain class: hypothesis prints the fixtures of a failing example by repr.)"""

    def __init__(self, name: str, raw: bytes, gz: bool, verdict: str) -> None:
        self.name = name
        self.raw = raw
        self.gz = gz
        self.verdict = verdict  # its (valid) verdict line

    def __repr__(self) -> str:
        return f"<base {self.name}>"

    @property
    def text(self) -> bytes:
        return gzip.decompress(self.raw) if self.gz else self.raw

    @property
    def lines(self) -> list[bytes]:
        return self.text.splitlines()

    @property
    def objects(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.lines]


def _produce(recipe: Recipe, path: Path) -> None:
    if recipe.certify:
        result = CliRunner().invoke(cli_main, ["certify", *recipe.certify, "--output", str(path)])
        assert result.exit_code == 0, result.output
        return
    net = network_from_dict(recipe.network)
    box = parse_box(",".join(recipe.box), net.input_dim) if recipe.box else None
    engine.count(net, box, certificate=path, linear=recipe.linear,
                 limits=engine.Limits(max_regions=recipe.max_regions))


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@pytest.fixture(scope="module")
def bases(work: Path) -> dict[str, Base]:
    """Every base certificate, generated once and checked VALID."""
    out = {}
    for name, recipe in RECIPES.items():
        path = work / f"{name}.cert.json{'.gz' if recipe.gz else ''}"
        _produce(recipe, path)
        verdict = check_file(path)
        assert verdict.valid, (name, verdict.line)
        raw = path.read_bytes()
        assert (raw[:2] == b"\x1f\x8b") == recipe.gz
        out[name] = Base(name, raw, recipe.gz, verdict.line)
    return out


@pytest.fixture(scope="module", autouse=True)
def report_tallies() -> Iterator[None]:
    """Print how many cases each source tried and their outcomes (visible with -s)."""
    yield
    sources = sorted({source for source, _ in TALLY})
    print("\n\nchecker fuzzing: cases per source and outcome")
    for source in sources:
        row = {outcome: n for (s, outcome), n in TALLY.items() if s == source}
        print(f"  {source:28s} {sum(row.values()):6d}  {dict(sorted(row.items()))}")
    print(f"  {'total':28s} {sum(TALLY.values()):6d}")


def test_bases_cover_every_record_kind(bases: dict[str, Base]) -> None:
    """The bases hold what the fuzzer is meant to damage: '0' states, look-aheads,
    box faces in proofs, open subtrees, facet and no-facet evidence, intervals and
    breakpoints, witnesses, theorem claims and lower bounds."""
    text = {name: base.text.decode() for name, base in bases.items()}
    assert re.search(r'"r":"[+-]*0', text["tree_zero_states"])
    assert '*' in text["tree_zero_states"] and '"lo' in text["tree_box"]
    assert '"o":' in text["lower_bound"] and "at least" in bases["lower_bound"].verdict
    assert '"f":' in text["tree_linear"] and '"nf":' in text["tree_linear_box"]
    assert '"b":' in text["breakpoints"] and '"kind":"breakpoints"' in text["breakpoints_box"]
    assert '"kind":"witnesses"' in text["witnesses"]
    assert all('"theorem"' in text[name] for name in ("theorem_tree", "theorem_breakpoints",
                                                      "witnesses"))


# --------------------------------------------------------------------------------------
# Random choices, from hypothesis or from a seeded generator
# --------------------------------------------------------------------------------------


class Pick:
    """Random choices: drawn from hypothesis data (so failures shrink) or from a
    seeded :class:`random.Random` (volume)."""

    def __init__(self, integer: Callable[[int, int], int]) -> None:
        self._integer = integer

    @classmethod
    def seeded(cls, rng: random.Random) -> Pick:
        return cls(rng.randint)

    @classmethod
    def drawing(cls, data: st.DataObject) -> Pick:
        return cls(lambda lo, hi: data.draw(st.integers(lo, hi)))

    def integer(self, lo: int, hi: int) -> int:
        return lo if hi <= lo else self._integer(lo, hi)

    def index(self, items: Sequence[Any]) -> int:
        assert items, "nothing to choose from"
        return self.integer(0, len(items) - 1)

    def choice(self, items: Sequence[Any]) -> Any:
        return items[self.index(items)]


# --------------------------------------------------------------------------------------
# Random mutations: each returns the mutated file's bytes and what it did
# --------------------------------------------------------------------------------------

Mutated = tuple[bytes, str]


def encode(lines: Sequence[bytes], gz: bool) -> bytes:
    data = b"".join(line + b"\n" for line in lines)
    return gzip.compress(data, mtime=0) if gz else data


def gzip_bytes(base: Base) -> bytes:
    return base.raw if base.gz else gzip.compress(base.raw, mtime=0)


def truncate(base: Base, pick: Pick) -> Mutated:
    cut = pick.integer(0, len(base.raw) - 1)
    return base.raw[:cut], f"truncated to {cut} of {len(base.raw)} bytes"


def flip_bits(base: Base, pick: Pick) -> Mutated:
    data = bytearray(base.raw)
    flips = [(pick.index(data), pick.integer(0, 7)) for _ in range(pick.integer(1, 8))]
    for at, bit in flips:
        data[at] ^= 1 << bit
    return bytes(data), f"bits flipped at {flips}"


GZIP_PARTS = ("header", "deflate body", "crc32", "size")


def damage_gzip(base: Base, pick: Pick) -> Mutated:
    """Overwrite bytes of one part of the gzip container (the base is compressed
    first if it is plain text)."""
    data = bytearray(gzip_bytes(base))
    part = pick.choice(GZIP_PARTS)
    # the body's last byte may end in padding bits that inflate ignores: left alone
    lo, hi = {"header": (0, 10), "deflate body": (10, len(data) - 9),
              "crc32": (len(data) - 8, len(data) - 4), "size": (len(data) - 4, len(data))}[part]
    changed = []
    for _ in range(pick.integer(1, 4)):
        at = pick.integer(lo, hi - 1)
        value = pick.integer(0, 255)
        data[at] = value if value != data[at] else value ^ 0xFF
        changed.append(at)
    return bytes(data), f"gzip {part} bytes {changed} overwritten"


def truncate_gzip(base: Base, pick: Pick) -> Mutated:
    data = gzip_bytes(base)
    cut = pick.integer(0, len(data) - 1)
    return data[:cut], f"gzip stream cut to {cut} of {len(data)} bytes"


JUNK_LINES = (b"", b"   ", b"garbage", b"\xff\xfe\x00", b"{}", b"[]", b"null", b"1",
              b'{"o":""}', b'{"r":"+","x":[0]}', b'{"e":"+","y":[[0,1]]}', b'{"x":[0,0]}',
              b'{"b":"1/2"}', b'{"end":{}}', b'{"a":1,"a":2}', b"\x00" * 16, b"\xe2\x80\xa8")


def insert_line(base: Base, pick: Pick) -> Mutated:
    lines = base.lines
    at = pick.integer(0, len(lines))
    line = pick.choice(JUNK_LINES) if pick.integer(0, 1) else pick.choice(lines)
    lines.insert(at, line)
    return encode(lines, base.gz), f"line {line[:40]!r} inserted before line {at + 1}"


def delete_line(base: Base, pick: Pick) -> Mutated:
    lines = base.lines
    at = pick.index(lines)
    del lines[at]
    return encode(lines, base.gz), f"line {at + 1} deleted"


def duplicate_line(base: Base, pick: Pick) -> Mutated:
    lines = base.lines
    at = pick.index(lines)
    lines.insert(at + pick.integer(0, 1), lines[at])
    return encode(lines, base.gz), f"line {at + 1} duplicated"


def swap_lines(base: Base, pick: Pick) -> Mutated:
    lines = base.lines
    i, j = pick.index(lines), pick.index(lines)
    lines[i], lines[j] = lines[j], lines[i]
    return encode(lines, base.gz), f"lines {i + 1} and {j + 1} swapped"


def toggle_compression(base: Base, pick: Pick) -> Mutated:
    """Not damage: the checker recognises gzip by its magic bytes (VALID expected)."""
    return (base.text if base.gz else gzip.compress(base.raw, mtime=0)), "compression toggled"


# -- JSON values ----------------------------------------------------------------------

Path_ = tuple[Any, ...]
RATIONAL_TEXT = re.compile(r"-?[0-9]+(/[0-9]+)?")
RAW = "\x01raw{}\x01"  # placeholder for JSON text json.dumps cannot produce


def replacements(pick: Pick) -> dict[str, str]:
    """JSON texts to put where a value was (some too large or deep for json.dumps)."""
    return {
        "another integer": str(pick.integer(-3, 1000)),
        "another rational": f'"{pick.integer(-50, 50)}/{pick.integer(1, 9)}"',
        "a 4,000-digit integer": "4" * 4000,
        f"a {HUGE_DIGITS:,}-digit integer": "1" + "0" * (HUGE_DIGITS - 1),
        f"a negative {HUGE_DIGITS:,}-digit integer": "-" + "7" * HUGE_DIGITS,
        f"a {HUGE_DIGITS:,}-digit string": '"' + "3" * HUGE_DIGITS + '"',
        "a zero denominator": '"1/0"',
        "a float": pick.choice(("1.5", "-0.0", "2.5e-3", "1e400", "1e999999999", "0.1")),
        "a string": pick.choice(('"abc"', '""', '"+"', '"lo0"', '"hi9"', '"1/2/3"', '"\\u2028"')),
        "null": "null",
        "a boolean": pick.choice(("true", "false")),
        "a list": pick.choice(("[]", "[1,2]", '["1/2"]', "[[0,1]]")),
        "an object": pick.choice(("{}", '{"a":1}')),
        f"lists nested {DEEP_NESTING:,} deep": "[" * DEEP_NESTING + "]" * DEEP_NESTING,
        f"objects nested {DEEP_NESTING:,} deep": '{"a":' * DEEP_NESTING + "1" + "}" * DEEP_NESTING,
    }


def slots(value: Any, path: Path_ = ()) -> Iterator[tuple[Path_, Any]]:
    """Every value nested in ``value`` (the root excluded), with its path."""
    children = value.items() if isinstance(value, dict) else \
        enumerate(value) if isinstance(value, list) else ()
    for key, child in children:
        yield (*path, key), child
        yield from slots(child, (*path, key))


def is_number(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) or \
        isinstance(value, str) and RATIONAL_TEXT.fullmatch(value) is not None


def parent(root: Any, path: Path_) -> Any:
    for key in path[:-1]:
        root = root[key]
    return root


def dump(obj: Any, raw: Sequence[str] = ()) -> bytes:
    text = json.dumps(obj, separators=(",", ":"))
    for n, fragment in enumerate(raw):
        text = text.replace(json.dumps(RAW.format(n)), fragment)
    return text.encode()


def _json_line(base: Base, pick: Pick) -> tuple[list[bytes], int, Any]:
    """A line to edit: the header or the end line a third of the time each (they hold
    the fewest, most consequential values), else any line."""
    lines = base.lines
    at = (0, len(lines) - 1, pick.index(lines))[pick.integer(0, 2)]
    return lines, at, json.loads(lines[at])


DEPTHS = (1, 2, 4, 1000)  # how deep the replaced value may lie (header keys, claims...)


def _replace(base: Base, pick: Pick, numbers_only: bool) -> Mutated:
    lines, at, obj = _json_line(base, pick)
    depth = pick.choice(DEPTHS)
    candidates = [(p, v) for p, v in slots(obj) if (not numbers_only or is_number(v))
                  and len(p) <= depth]
    if not candidates:
        candidates = list(slots(obj))
    path, old = pick.choice(candidates)
    texts = replacements(pick)
    what = pick.choice(sorted(texts))
    parent(obj, path)[path[-1]] = RAW.format(0)
    lines[at] = dump(obj, [texts[what]])
    return encode(lines, base.gz), f"line {at + 1}: {list(path)} = {str(old)[:30]!r} -> {what}"


def replace_number(base: Base, pick: Pick) -> Mutated:
    return _replace(base, pick, numbers_only=True)


def replace_value(base: Base, pick: Pick) -> Mutated:
    return _replace(base, pick, numbers_only=False)


def edit_string(base: Base, pick: Pick) -> Mutated:
    """Change, delete or add one character of a string (patterns, rationals, keys'
    values): a state flipped, a look-ahead star moved, a digit changed."""
    lines, at, obj = _json_line(base, pick)
    strings = [(p, v) for p, v in slots(obj) if isinstance(v, str)]
    if not strings:
        return replace_value(base, pick)
    path, old = pick.choice(strings)
    i = pick.integer(0, len(old))
    char = pick.choice("+-0*1/x ")
    new = pick.choice((old[:i] + char + old[i + 1:],  # changed
                       old[:i] + old[i + 1:],  # deleted
                       old[:i] + char + old[i:]))  # inserted
    parent(obj, path)[path[-1]] = new
    lines[at] = dump(obj)
    return encode(lines, base.gz), f"line {at + 1}: {list(path)} {old[:30]!r} -> {new[:30]!r}"


def _objects(obj: Any) -> list[tuple[Path_, dict[str, Any]]]:
    return [((), obj)] + [(p, v) for p, v in slots(obj) if isinstance(v, dict)]


def drop_key(base: Base, pick: Pick) -> Mutated:
    lines, at, obj = _json_line(base, pick)
    found = [(p, d) for p, d in _objects(obj) if d]
    path, target = pick.choice(found)
    key = pick.choice(sorted(target))
    del target[key]
    lines[at] = dump(obj)
    return encode(lines, base.gz), f"line {at + 1}: key {key!r} dropped at {list(path)}"


EXTRA_KEYS = ("zz", "x", "r", "e", "o", "y", "f", "n", "mu", "nf", "s", "b", "end", "claims")


def add_key(base: Base, pick: Pick) -> Mutated:
    lines, at, obj = _json_line(base, pick)
    path, target = pick.choice(_objects(obj))
    key = pick.choice(EXTRA_KEYS)
    target[key] = pick.choice((0, "", [], {}, "+", [0, 1]))
    lines[at] = dump(obj)
    return encode(lines, base.gz), f"line {at + 1}: key {key!r} added at {list(path)}"


MUTATIONS: dict[str, Callable[[Base, Pick], Mutated]] = {
    f.__name__: f for f in (truncate, flip_bits, damage_gzip, truncate_gzip, insert_line,
                            delete_line, duplicate_line, swap_lines, toggle_compression,
                            replace_number, replace_value, edit_string, drop_key, add_key)
}


# --------------------------------------------------------------------------------------
# Running the checker on a case
# --------------------------------------------------------------------------------------


class Hung(BaseException):
    """A check ran past HANG_SECONDS (a BaseException so the checker cannot catch it)."""


@contextmanager
def hang_guard(seconds: int = HANG_SECONDS) -> Iterator[None]:
    def alarm(signum: int, frame: Any) -> None:
        raise Hung(f"still checking after {seconds} s")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def assert_one_verdict(verdict: Verdict, context: str) -> str:
    """Exit 0/1/2 with its word, and exactly one line; returns the word."""
    assert verdict.exit_code in PREFIXES, f"{context}: exit {verdict.exit_code}"
    assert verdict.line.startswith(PREFIXES[verdict.exit_code]), f"{context}: {verdict.line!r}"
    assert len(verdict.line.splitlines()) == 1, f"{context}: {verdict.line[:500]!r}"
    assert "Traceback" not in verdict.line, f"{context}: {verdict.line[:500]!r}"
    return WORDS[verdict.exit_code]


@functools.cache
def true_counts(network_text: str, domain_text: str) -> dict[str, int] | None:
    """The exact counts of a network over a domain (both as canonical JSON): from the
    independent oracles where they apply (n0 = 1; n0 = 2 over a box), else from a
    complete tvmip count (None if that fails: see test_properties for the bug)."""
    data = json.loads(network_text)
    domain = json.loads(domain_text)
    box = None if domain is None else ([Fraction(v) for v in domain["lo"]],
                                       [Fraction(v) for v in domain["hi"]])
    if data["input_dim"] == 1:
        counts = O.count_1d(data, *((None, None) if box is None else (box[0][0], box[1][0])))
    elif data["input_dim"] == 2 and box is not None:
        cells = O.polygon_cells_2d(data, box)
        counts = (len(cells), *O.polygon_linear_count_2d(cells))
    else:
        net = network_from_dict(data)
        tbox = None if box is None else parse_box(
            ",".join(str(O.fmt(v)) for v in [*box[0], *box[1]]), net.input_dim)
        try:
            result = engine.count(net, tbox, linear=True)
        except (OverflowError, TvmipError):  # no reference (see test_properties)
            return None
        counts = (result.activation_regions, result.linear_regions, result.distinct_maps)
    return dict(zip(("activation_regions", "linear_regions", "distinct_maps"), counts))


def assert_sound(path: Path, verdict: Verdict, context: str) -> bool:
    """A VALID verdict on a mutated file may only state true counts: exact claims
    equal to the network's counts over the certificate's domain, "at least" claims
    no larger.  Returns whether a reference count was available."""
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    first = next(line for line in data.split(b"\n") if line.strip())  # as the checker reads
    header = json.loads(first, parse_float=str)
    truth = true_counts(json.dumps(header["network"], sort_keys=True),
                        json.dumps(header["domain"], sort_keys=True))
    if truth is None:
        return False
    for name, claimed, exact in verdict.counts:
        assert claimed == truth[name] if exact else claimed <= truth[name], \
            f"{context}: VALID but claims {claimed} {name} ({'exact' if exact else 'at least'}), " \
            f"the network has {truth[name]}: {verdict.line}"
    return True


_serial = itertools.count()


def write_case(directory: Path, data: bytes) -> Path:
    path = directory / f"case{next(_serial)}.cert"
    path.write_bytes(data)
    return path


def check_bytes(directory: Path, data: bytes, context: str, source: str) -> str:
    """Check ``data`` in-process; assert one verdict line in bounded time; tally it.
    Returns the verdict word."""
    path = write_case(directory, data)
    start = time.perf_counter()
    try:
        with hang_guard():
            verdict = check_file(path)
    except Exception as exc:  # anything escaping is a finding
        raise AssertionError(f"{context}: check_file raised {exc!r}") from exc
    else:
        elapsed = time.perf_counter() - start
        assert elapsed < CHECK_SECONDS, f"{context}: the check took {elapsed:.1f} s"
        outcome = assert_one_verdict(verdict, context)
        if verdict.valid and not assert_sound(path, verdict, context):
            outcome = "VALID (no reference count)"
    finally:
        path.unlink()
    TALLY[source, outcome] += 1
    return outcome


def random_case(bases: dict[str, Base], pick: Pick) -> tuple[bytes, str]:
    base = bases[pick.choice(BASES)]
    name = pick.choice(sorted(MUTATIONS))
    data, detail = MUTATIONS[name](base, pick)
    return data, f"{base.name} / {name}: {detail}"


# --------------------------------------------------------------------------------------
# Random mutations: one verdict line, bounded time
# --------------------------------------------------------------------------------------

FUZZ_SETTINGS = settings(max_examples=1000, deadline=None,
                         suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@FUZZ_SETTINGS
@given(data=st.data())
def test_random_mutation_gets_one_verdict_line(bases: dict[str, Base], work: Path,
                                               data: st.DataObject) -> None:
    """Any damage to any base certificate: exit 0, 1 or 2 with its one line, no
    exception, under CHECK_SECONDS (hypothesis: failures shrink to a small case)."""
    mutated, context = random_case(bases, Pick.drawing(data))
    check_bytes(work, mutated, context, "hypothesis")


@pytest.mark.slow
def test_seeded_random_mutations_get_one_verdict_line(bases: dict[str, Base],
                                                      work: Path) -> None:
    """The same promise over LOOP_CASES seeded cases (volume; the same cases each run,
    but for the timings in the bases' metadata, which shift gzip bytes); the loop
    must reach all three verdicts (a sanity check of the fuzzer)."""
    rng = random.Random(LOOP_SEED)
    seen: Counter[str] = Counter()
    for i in range(LOOP_CASES):
        mutated, context = random_case(bases, Pick.seeded(rng))
        context = f"case {i} (seed {LOOP_SEED}) {context}"
        seen[check_bytes(work, mutated, context, "seeded loop")] += 1
    assert {"VALID", "INVALID", "error"} <= set(seen), seen


@pytest.mark.parametrize("base_name", BASES)
@pytest.mark.parametrize("mutation", ["truncate_gzip", "damage_gzip"])
def test_broken_gzip_container_is_never_valid(bases: dict[str, Base], work: Path,
                                              base_name: str, mutation: str) -> None:
    """A gzip stream cut short, or with an overwritten header, body, CRC or size
    field, is never accepted (the CRC and size trailer protect the content)."""
    rng = random.Random(f"{LOOP_SEED}-{base_name}-{mutation}")
    for _ in range(40):
        mutated, context = MUTATIONS[mutation](bases[base_name], Pick.seeded(rng))
        if mutation == "damage_gzip" and "header" in context:
            continue  # flag/OS/mtime bytes of the header may legitimately be ignored
        outcome = check_bytes(work, mutated, f"{base_name}: {context}", "gzip damage")
        assert outcome != "VALID", context


def test_fresh_interpreter_agrees_on_a_sample(bases: dict[str, Base], work: Path) -> None:
    """``python -m tvmip.checker FILE`` on SAMPLE_CASES mutated files: exactly one line
    in all of stdout and stderr (VALID/INVALID on stdout, error on stderr), no
    traceback, and the in-process verdict line and exit code."""
    rng = random.Random(LOOP_SEED + 1)
    tried = 0
    while tried < SAMPLE_CASES:
        mutated, context = random_case(bases, Pick.seeded(rng))
        path = write_case(work, mutated)
        expected = check_file(path)
        proc = subprocess.run([sys.executable, "-m", "tvmip.checker", str(path)], check=False,
                              capture_output=True, text=True, timeout=SUBPROCESS_TIMEOUT)
        shown = f"{context}: exit {proc.returncode}, {proc.stdout[-300:]!r} {proc.stderr[-300:]!r}"
        assert "Traceback" not in proc.stdout + proc.stderr, shown
        assert proc.returncode == expected.exit_code, shown
        stream, other = (proc.stderr, proc.stdout) if proc.returncode == 2 else \
            (proc.stdout, proc.stderr)
        assert other == "" and stream.splitlines() == [expected.line], shown
        TALLY["fresh interpreter", WORDS[proc.returncode]] += 1
        tried += 1
        path.unlink()


# --------------------------------------------------------------------------------------
# An exact oracle for semantic mutations (Fractions; reads the network with oracles.py)
# --------------------------------------------------------------------------------------


@dataclass
class Parsed:
    """A base certificate as objects, with its network and domain read by oracles.py."""

    base: Base
    header: dict[str, Any]
    records: list[dict[str, Any]]
    end: dict[str, Any]

    @classmethod
    def of(cls, base: Base) -> Parsed:
        return _parsed(base)

    def copy_records(self) -> list[dict[str, Any]]:
        return json.loads(json.dumps(self.records))

    @functools.cached_property
    def net(self) -> O.Net:
        return O.load(self.header["network"])

    @property
    def box(self) -> tuple[list[Fraction], list[Fraction]] | None:
        domain = self.header["domain"]
        if domain is None:
            return None
        return [Fraction(v) for v in domain["lo"]], [Fraction(v) for v in domain["hi"]]

    @property
    def claims(self) -> dict[str, Any]:
        return self.end["end"]["claims"]

    @functools.cached_property
    def region_patterns(self) -> list[str]:
        return [r["r"] for r in self.records if "r" in r]

    def with_records(self, records: list[dict[str, Any]] | None = None,
                     end: dict[str, Any] | None = None) -> bytes:
        objects = [self.header, *(self.records if records is None else records),
                   self.end if end is None else end]
        return encode([dump(obj) for obj in objects], self.base.gz)


@functools.cache
def _parsed(base: Base) -> Parsed:
    objects = base.objects
    return Parsed(base, objects[0], objects[1:-1], objects[-1])


def affine_layer(weights: Any, biases: Any, inputs: Sequence[Affine], dim: int) -> list[Affine]:
    """``W z + b`` for inputs ``z`` given as affine maps of x."""
    out = []
    for row, bias in zip(weights, biases):
        acc = [Fraction(0)] * (dim + 1)
        for w, m in zip(row, inputs):
            if w:
                acc = [a + w * v for a, v in zip(acc, m)]
        acc[dim] += bias
        out.append(tuple(acc))
    return out


def neuron_maps(net: O.Net, pattern: str) -> list[Affine]:
    """The pre-activation map of every ReLU neuron on ``pattern``'s region.  States
    missing from a short pattern read as '+': a neuron's map depends only on the
    states of earlier layers."""
    dim = net.input_dim
    pattern = pattern.ljust(net.relu_count, "+")
    inputs = [tuple(Fraction(int(i == k)) for k in range(dim + 1)) for i in range(dim)]
    maps: list[Affine] = []
    zero = (Fraction(0),) * (dim + 1)
    for layer in net.layers:
        pre = affine_layer(layer.weights, layer.biases, inputs, dim)
        if layer.activation == O.IDENTITY:
            inputs = pre
            continue
        start = len(maps)
        maps.extend(pre)
        inputs = [m if pattern[start + j] == "+" else zero for j, m in enumerate(pre)]
    return maps


def value(m: Affine, x: Sequence[Fraction]) -> Fraction:
    return sum((g * v for g, v in zip(m, x)), m[-1])


def face(parsed: Parsed, row_id: str) -> Affine:
    """Box face ``lo<i>``: x_i - lo_i > 0; ``hi<i>``: hi_i - x_i > 0."""
    lo, hi = parsed.box  # type: ignore[misc]
    dim = len(lo)
    i = int(row_id[2:])
    unit = [Fraction(int(k == i)) for k in range(dim)]
    if row_id.startswith("lo"):
        return (*unit, -lo[i])
    return (*(-u for u in unit), hi[i])


def signed(m: Affine, state: str) -> Affine:
    return m if state == "+" else tuple(-v for v in m)


def combination(terms: Sequence[tuple[Affine, Fraction]]) -> Affine:
    total = [Fraction(0)] * len(terms[0][0])
    for row, y in terms:
        total = [t + y * v for t, v in zip(total, row)]
    return tuple(total)


def is_contradiction(total: Affine) -> bool:
    return not any(total[:-1]) and total[-1] <= 0


def proof_terms(parsed: Parsed, record: dict[str, Any]) -> list[tuple[Affine, Fraction]]:
    """The (inequality, multiplier) terms of an empty-branch or no-facet record (for
    no-facet, the last term is ``mu`` times the neuron's unsigned map)."""
    if "e" in record:
        text = record["e"]
        node = text.split("*")[0]
        maps = neuron_maps(parsed.net, node)
        lookahead = (len(text) - 1, text[-1]) if "*" in text else None
        states = {rid: node[rid] for rid in range(len(node))}
        if lookahead:
            states[lookahead[0]] = lookahead[1]
    else:
        region, _ = record["nf"]
        pattern = parsed.region_patterns[region]
        maps = neuron_maps(parsed.net, pattern)
        states = dict(enumerate(pattern))
    terms = [(face(parsed, rid) if isinstance(rid, str) else signed(maps[rid], states[rid]),
              Fraction(y)) for rid, y in record["y"]]
    if "nf" in record:
        terms.append((maps[record["nf"][1]], Fraction(record["mu"])))
    return terms


# --------------------------------------------------------------------------------------
# Semantic mutations: always INVALID
# --------------------------------------------------------------------------------------

SEMANTIC_SETTINGS = settings(max_examples=150, deadline=None,
                             suppress_health_check=[HealthCheck.too_slow])
COUNTS = ("activation_regions", "linear_regions", "distinct_maps")


def assert_invalid(work: Path, data: bytes, context: str) -> None:
    outcome = check_bytes(work, data, context, "semantic")
    assert outcome == "INVALID", f"{context}: {outcome}"


def is_point(record: dict[str, Any]) -> bool:
    """A region record (tree) or a witness record (witnesses kind)."""
    return "r" in record or set(record) == {"x"}


def is_facet(record: dict[str, Any]) -> bool:
    return set(record) == {"f", "n", "x"}


def is_proof(record: dict[str, Any]) -> bool:
    """An empty-branch or look-ahead proof, or a no-facet proof."""
    return "e" in record or "nf" in record


def pick_record(bases: dict[str, Base], pick: Pick,
                kind: Callable[[dict[str, Any]], bool]) -> tuple[Parsed, list[dict[str, Any]], int]:
    """A base holding records of ``kind``, a copy of its records, and the index of one."""
    names = [n for n in BASES if any(map(kind, Parsed.of(bases[n]).records))]
    parsed = Parsed.of(bases[pick.choice(names)])
    records = parsed.copy_records()
    return parsed, records, pick.choice([i for i, r in enumerate(records) if kind(r)])


@SEMANTIC_SETTINGS
@given(data=st.data())
def test_changed_claim_is_invalid(bases: dict[str, Base], work: Path,
                                  data: st.DataObject) -> None:
    """A claimed count changed by any nonzero amount (small, huge or to a negative
    value), a lower bound re-labelled exact, or a theorem's bound changed: INVALID."""
    pick = Pick.drawing(data)
    parsed = Parsed.of(bases[pick.choice(BASES)])
    end = json.loads(json.dumps(parsed.end))
    claims = end["end"]["claims"]
    operations = [f"{name} value" for name in COUNTS if name in claims]
    operations += [f"{name} kind" for name in COUNTS
                   if claims.get(name, {}).get("kind") == "at_least"]
    operations += ["theorem bound"] if "theorem" in claims else []
    operation = pick.choice(operations)
    name, field = operation.split()
    if field == "kind":
        claims[name]["kind"] = "exact"
    else:
        target = claims[name]["value" if field == "value" else "bound"]
        delta = pick.choice((1, -1, 2, -2, 10**20, -(target + 1)))
        claims[name]["value" if field == "value" else "bound"] = target + delta
    assert_invalid(work, parsed.with_records(end=end), f"{parsed.base.name}: {operation} changed")


@SEMANTIC_SETTINGS
@given(data=st.data())
def test_witness_moved_onto_or_across_an_inequality_is_invalid(
        bases: dict[str, Base], work: Path, data: st.DataObject) -> None:
    """A region witness (tree) moved along one coordinate exactly onto, or past, the
    hyperplane of one of its pattern's strict inequalities; a witness point
    (witnesses kind) moved exactly onto a first-layer hyperplane: INVALID."""
    pick = Pick.drawing(data)
    parsed, records, index = pick_record(bases, pick, is_point)
    record = records[index]
    point = [Fraction(v) for v in record["x"]]
    net = parsed.net
    if "r" in record:
        pattern = record["r"]
        positions = range(len(pattern))
        maps = neuron_maps(net, pattern)
    else:  # a witness: only the first ReLU layer's maps do not depend on the pattern
        maps = neuron_maps(net, "")
        first = next(layer for layer in net.layers if layer.activation == O.RELU)
        positions = range(first.width)
        pattern = O.point_pattern(net, point)[0]  # type: ignore[index]
    candidates = [(k, i) for k in positions if pattern[k] != "0"
                  for i in range(len(point)) if maps[k][i]]
    k, i = pick.choice(candidates)
    sign = 1 if pattern[k] == "+" else -1
    target = Fraction(0) if "x" in record and "r" not in record else \
        pick.choice((Fraction(0), Fraction(-sign, 3), Fraction(-sign), Fraction(-sign * 1000)))
    moved = list(point)
    moved[i] += (target - value(maps[k], point)) / maps[k][i]
    assert sign * value(maps[k], moved) <= 0  # the oracle agrees the inequality fails
    record["x"][i] = O.fmt(moved[i])
    assert_invalid(work, parsed.with_records(records),
                   f"{parsed.base.name}: record {index + 2} coordinate {i} moved to neuron "
                   f"{k}'s value {target}")


@SEMANTIC_SETTINGS
@given(data=st.data())
def test_facet_point_moved_off_its_hyperplane_is_invalid(
        bases: dict[str, Base], work: Path, data: st.DataObject) -> None:
    """A facet point moved off the hyperplane it certifies (to a point where no
    inequality of either region vanishes, checked exactly): INVALID."""
    pick = Pick.drawing(data)
    parsed, records, index = pick_record(bases, pick, is_facet)
    record = records[index]
    (region, position), neighbour = record["f"], record["n"]
    patterns = parsed.region_patterns
    normal = neuron_maps(parsed.net, patterns[region])[position][:-1]
    i = pick.choice([k for k, g in enumerate(normal) if g])
    point = [Fraction(v) for v in record["x"]]
    both = [(patterns[r], neuron_maps(parsed.net, patterns[r])) for r in (region, neighbour)]
    for step in (Fraction(1, 7), Fraction(-1, 11), Fraction(1, 1_000_003), Fraction(-3, 2)):
        moved = list(point)
        moved[i] += step * pick.choice((1, -1))
        if all(value(m, moved) != 0 for pattern, maps in both
               for state, m in zip(pattern, maps) if state != "0"):
            break
    else:
        pytest.fail("no move off every hyperplane found")  # cannot happen: finitely many
    record["x"][i] = O.fmt(moved[i])
    assert_invalid(work, parsed.with_records(records),
                   f"{parsed.base.name}: facet record {index + 2} moved along x{i}")


@SEMANTIC_SETTINGS
@given(data=st.data())
def test_scaled_multiplier_that_breaks_the_cancellation_is_invalid(
        bases: dict[str, Base], work: Path, data: st.DataObject) -> None:
    """One multiplier (or ``mu``) of an empty-branch, look-ahead or no-facet proof
    scaled by a factor != 1, on a term whose inequality has a nonzero gradient: the
    gradients no longer cancel (the oracle confirms it), so the proof is INVALID.
    The oracle also confirms the genuine proof is a contradiction."""
    pick = Pick.drawing(data)
    parsed, records, index = pick_record(bases, pick, is_proof)
    record = records[index]
    terms = proof_terms(parsed, record)
    assert is_contradiction(combination(terms)), record
    movable = [j for j, (row, y) in enumerate(terms) if y and any(row[:-1])]
    j = pick.choice(movable)
    factor = pick.choice((Fraction(2), Fraction(3), Fraction(1, 2), Fraction(5, 3)))
    scaled = [(row, y * factor if n == j else y) for n, (row, y) in enumerate(terms)]
    assert not is_contradiction(combination(scaled))
    if j < len(record["y"]):
        record["y"][j][1] = O.fmt(scaled[j][1])
    else:
        record["mu"] = O.fmt(scaled[j][1])
    assert_invalid(work, parsed.with_records(records),
                   f"{parsed.base.name}: record {index + 2} term {j} scaled by {factor}")


# --------------------------------------------------------------------------------------
# Gzip bombs
# --------------------------------------------------------------------------------------

GIB = 2**30


def write_gzip_bomb(path: Path, head: bytes, fill: bytes, total: int) -> None:
    """A gzip file of ``head`` then ``fill`` repeated up to ``total`` bytes, compressed
    as a stream (never held in memory)."""
    block = fill * (2**20 // len(fill))
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)  # wbits 31: gzip container
    with open(path, "wb") as out:
        out.write(compressor.compress(head))
        out.writelines(compressor.compress(block)
                       for _ in range((total - len(head)) // len(block)))
        out.write(compressor.flush())


@pytest.fixture(scope="module")
def header_line(bases: dict[str, Base]) -> bytes:
    return bases["tree_zero_states"].lines[0] + b"\n"


def _assert_bomb_refused(path: Path, source: str) -> None:
    start = time.perf_counter()
    with hang_guard():
        verdict = check_file(path)
    elapsed = time.perf_counter() - start
    assert verdict.exit_code == 2, verdict.line
    assert_one_verdict(verdict, path.name)
    assert elapsed < CHECK_SECONDS, f"{path.name}: {elapsed:.1f} s"
    TALLY[source, "error"] += 1


@pytest.mark.parametrize("with_header", [False, True], ids=["zeros", "header-then-zeros"])
def test_gzip_bomb_of_zero_bytes_is_refused_quickly(work: Path, header_line: bytes,
                                                    with_header: bool) -> None:
    """1 GiB of NUL bytes (about 1 MB compressed), alone or after a genuine header:
    exit 2 with one ``error:`` line in well under CHECK_SECONDS, in-process and in a
    fresh interpreter."""
    path = work / "bomb.gz"
    write_gzip_bomb(path, header_line if with_header else b"", b"\0", GIB)
    assert path.stat().st_size < 2 * 2**20
    _assert_bomb_refused(path, "gzip bomb")
    proc = subprocess.run([sys.executable, "-m", "tvmip.checker", str(path)], check=False,
                          capture_output=True, text=True, timeout=SUBPROCESS_TIMEOUT)
    assert proc.returncode == 2 and proc.stdout == "" and len(proc.stderr.splitlines()) == 1
    path.unlink()


def test_gzip_bomb_of_blank_lines_is_refused_quickly(work: Path, header_line: bytes) -> None:
    """A genuine header then 1 GiB of newlines (blank lines are skipped by the
    reader): must give exit 2 within CHECK_SECONDS like any other bomb (run in a
    subprocess killed after CHECK_SECONDS)."""
    path = work / "newline-bomb.gz"
    write_gzip_bomb(path, header_line, b"\n", GIB)
    try:
        proc = subprocess.run([sys.executable, "-m", "tvmip.checker", str(path)], check=False,
                              capture_output=True, text=True, timeout=CHECK_SECONDS)
    except subprocess.TimeoutExpired:
        pytest.fail(f"no verdict within {CHECK_SECONDS} s")
    finally:
        path.unlink()
    assert proc.returncode == 2 and len(proc.stderr.splitlines()) == 1


# --------------------------------------------------------------------------------------
# Regressions: bugs the fuzzer found
# --------------------------------------------------------------------------------------


def _header_changed(base: Base, key: str, new: Any) -> bytes:
    objects = base.objects
    objects[0][key] = new
    return encode([dump(obj) for obj in objects], base.gz)


def _theorem_name_changed(base: Base, new: Any) -> bytes:
    objects = base.objects
    objects[-1]["end"]["claims"]["theorem"]["name"] = new
    return encode([dump(obj) for obj in objects], base.gz)


KNOWN_BUG_CASES = {
    "header kind unhashable": ("tree_zero_states", lambda b: _header_changed(b, "kind", ["tree"])),
    "header claims unhashable": ("tree_box", lambda b: _header_changed(
        b, "claims", ["activation_regions", ["linear_regions"]])),
    "theorem name unhashable": ("witnesses", lambda b: _theorem_name_changed(b, {"n": 1})),
}


@pytest.mark.parametrize("bug", sorted(KNOWN_BUG_CASES))
def test_unhashable_value_in_the_header_or_theorem_is_one_error_line(
        bases: dict[str, Base], work: Path, bug: str) -> None:
    """A list or object where the checker expects a string in the header's ``kind``,
    in the header's ``claims`` list, or as the theorem claim's ``name``: one
    ``error:``/``INVALID:`` line (exit 2 or 1), in-process and from ``python -m
    tvmip.checker``, never an exception."""
    base_name, mutate = KNOWN_BUG_CASES[bug]
    path = write_case(work, mutate(bases[base_name]))
    verdict = check_file(path)
    assert verdict.exit_code in (1, 2)
    assert_one_verdict(verdict, bug)
    proc = subprocess.run([sys.executable, "-m", "tvmip.checker", str(path)], check=False,
                          capture_output=True, text=True, timeout=SUBPROCESS_TIMEOUT)
    assert "Traceback" not in proc.stderr and proc.returncode in (1, 2)


