"""Tampering with certificates: genuine ones are accepted, every mutation is rejected.

Pins the promises of ``tvmip check CERT`` for the ``tvmip-certificate/1`` format
(JSON Lines, optionally gzip: a header, the records of its kind, an end line with
the claims).  Two kinds are covered: ``tree`` (regions with witnesses, empty
branches with Motzkin multipliers, open subtrees, in depth-first order with ``+``
before ``-``) and ``breakpoints`` (the intervals of a one-input network):

* a genuine certificate: exit 0 and one line ``VALID: <n> activation regions...``;
* a well-formed certificate whose claims do not hold (a witness outside its region,
  a missing, duplicated or misordered subtree or interval, multipliers that prove
  nothing, a wrong count, a tampered network or domain): exit 1, one ``INVALID:``
  line;
* a structurally broken file (truncated, corrupt gzip, bad JSON, unknown keys or
  format, data after the end line): exit 2 and one line ``error: ...``;
* never a traceback, always exactly one line.

The mutations are written from the format's specification, not from the checker's
code.  Where it is not obvious that a mutation makes a claim false, the small exact
oracle in this file (plain :class:`~fractions.Fraction` arithmetic, nothing from
tvmip) confirms it before the checker is asked.  The certificates come from small
networks whose region counts are known by construction (plus the bundled demo).
"""

from __future__ import annotations

import ast
import copy
import gzip
import hashlib
import itertools
import json
import random
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from cli_runner import Outcome, run_tvmip

import tvmip
from tvmip.engine import counting as engine
from tvmip.model.network import default_network_path

PACKAGE_DIR = Path(tvmip.__file__).parent
CHECKER_DIR = PACKAGE_DIR / "checker"
SUBPROCESS_TIMEOUT = 60

# --------------------------------------------------------------------------------------
# Networks (counts known by construction, except the demo's 37)
# --------------------------------------------------------------------------------------

OUT1 = {"weights": [[1]], "biases": [0]}

# n0 = 1: breakpoints 0, 1, 2, 1/4 -> 5 intervals.  Layer 2 never switches: neuron 4
# is z0 + z1 + z3 + 5 > 0 and neuron 5 is -z0 - z2 - z3 - 1 < 0 everywhere, so its
# '-' / '+' branches are empty branches whose proofs use layer-2 rows.
NET_1D = {
    "input_dim": 1,
    "layers": [
        {
            "activation": "relu",
            "weights": [[1], [-1], [1], [2]],
            "biases": [0, 1, -2, "-1/2"],
        },
        {
            "activation": "relu",
            "weights": [[1, 1, 0, 1], [-1, 0, -1, -1]],
            "biases": [5, -1],
        },
    ],
    "output": {"weights": [[1, -1]], "biases": [0]},
}

# n0 = 3: the planes x = 0, y = 0, z = 0, x + y + z = 1 are in general position:
# C(4,0) + C(4,1) + C(4,2) + C(4,3) = 15 regions.
NET_3D = {
    "input_dim": 3,
    "layers": [
        {
            "activation": "relu",
            "weights": [[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 1]],
            "biases": [0, 0, 0, -1],
        },
    ],
    "output": {"weights": [[1, 1, 1, 1]], "biases": [0]},
}

# n0 = 2 over the open box (-1, 2)^2: lines x = 0, y = 0, x + y = 1 give 7 regions
# there (2 + 2 + 2 + 1 per quadrant); the line x = 3 misses the box (10 over R^2).
NET_BOX = {
    "input_dim": 2,
    "layers": [
        {
            "activation": "relu",
            "weights": [[1, 0], [0, 1], [1, 1], [1, 0]],
            "biases": [0, 0, -1, -3],
        },
    ],
    "output": {"weights": [[1, 1, 1, 1]], "biases": [0]},
}

# Ternary, n0 = 2: x = 0 twice (a duplicated neuron), y = 0, an all-zero neuron
# (state '0'), x - y + 1/2 = 0: three lines in general position, 7 regions.
# Layer 2: z0 - z1 vanishes identically ('0' by cancellation), relu(z2) is '0' where
# y < 0 (input switched off), and z3 is identically zero.
NET_TERNARY = {
    "input_dim": 2,
    "layers": [
        {
            "activation": "relu",
            "weights": [[1, 0], [1, 0], [0, 1], [0, 0], [1, -1]],
            "biases": [0, 0, 0, 0, "1/2"],
        },
        {
            "activation": "relu",
            "weights": [[1, -1, 0, 0, 0], [0, 0, 1, 0, 0], [0, 0, 0, 1, 0]],
            "biases": [0, 0, 0],
        },
    ],
    "output": {"weights": [[1, 1, -1]], "biases": [0]},
}

# n0 = 1 with an identity layer: u = x, v = -x; then relu(u - 1/2), relu(v - 1/3),
# relu(u + v) = relu(0) (state '0'), relu(u + v + 1) = relu(1) (always '+');
# then relu(a + b), which is '0' on the middle interval: 3 regions.
NET_IDENTITY = {
    "input_dim": 1,
    "layers": [
        {"activation": "identity", "weights": [[1], [-1]], "biases": [0, 0]},
        {
            "activation": "relu",
            "weights": [[1, 0], [0, 1], [1, 1], [1, 1]],
            "biases": ["-1/2", "-1/3", 0, 1],
        },
        {"activation": "relu", "weights": [[1, 1, 0, 0]], "biases": [0]},
    ],
    "output": OUT1,
}


@dataclass(frozen=True)
class Base:
    """A network to certify, how, and the counts its certificate must verify."""

    network: dict[str, Any] | None  # None: the bundled demo network
    count: int  # activation regions
    box: tuple[int | str, int | str] | None = None  # the cube (lo, hi)^n0
    via_cli: bool = False  # `tvmip count` (engine "auto") instead of engine.count
    gzip: bool = False
    engine: str = "tree"  # for engine.count; "breakpoints" needs n0 = 1
    maps: tuple[int, int] | None = None  # (linear regions, distinct maps): breakpoints

    @property
    def line(self) -> str:
        """The verdict line `tvmip check` must print: the counts and their domain."""
        line = f"VALID: {self.count} activation regions"
        if self.maps is not None:
            line += (
                f", {self.maps[0]} linear regions, {self.maps[1]} distinct affine maps"
            )
        n0 = 2 if self.network is None else self.network["input_dim"]
        if self.box is None:
            return f"{line} over R^{n0}"
        side = f"({self.box[0]}, {self.box[1]})"
        return f"{line} over the box {side}^{n0}" if n0 > 1 else f"{line} over the box {side}"


BASES: dict[str, Base] = {
    "demo": Base(None, 37, via_cli=True),
    "demo_gz": Base(None, 37, gzip=True),
    "n1": Base(NET_1D, 5),
    "n3": Base(NET_3D, 15),
    "box": Base(NET_BOX, 7, box=(-1, 2), via_cli=True),
    "ternary": Base(NET_TERNARY, 7),
    "identity": Base(NET_IDENTITY, 3),
    # One-input networks through `tvmip count` get a breakpoint certificate.  NET_1D's
    # maps: -x + 6, 6, 2x + 11/2, then 3x + 9/2 on both sides of x = 2 (neuron 2
    # feeds only neuron 5, which is off): 4 linear regions, 4 distinct maps.
    "n1_bp": Base(NET_1D, 5, via_cli=True, maps=(4, 4)),
    "identity_bp": Base(NET_IDENTITY, 3, engine="breakpoints", maps=(3, 3)),
    # Over (-1/2, 1/2) only the breakpoints 0 and 1/4 remain: 3 intervals, 3 maps.
    "n1_bp_box": Base(NET_1D, 3, box=("-1/2", "1/2"), via_cli=True, maps=(3, 3)),
}
TREE_BASES = ("demo", "n1", "n3", "box", "ternary", "identity")
BREAKPOINT_BASES = ("n1_bp", "identity_bp", "n1_bp_box")


# --------------------------------------------------------------------------------------
# Reading, writing and running
# --------------------------------------------------------------------------------------


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def network_sha256(network_json: dict[str, Any]) -> str:
    return hashlib.sha256(canonical(network_json).encode()).hexdigest()


def fmt(value: Fraction) -> int | str:
    value = Fraction(value)
    return (
        value.numerator
        if value.denominator == 1
        else f"{value.numerator}/{value.denominator}"
    )


@dataclass
class Cert:
    """A parsed certificate: header, tree records, end line (each a JSON object)."""

    header: dict[str, Any]
    records: list[dict[str, Any]]
    end: dict[str, Any]
    gzip: bool = False

    @classmethod
    def read(cls, path: Path) -> Cert:
        data = path.read_bytes()
        gz = data[:2] == b"\x1f\x8b"
        if gz:
            data = gzip.decompress(data)
        lines = [
            json.loads(line) for line in data.decode().splitlines() if line.strip()
        ]
        return cls(lines[0], lines[1:-1], lines[-1], gz)

    def to_bytes(self) -> bytes:
        text = "".join(
            canonical(obj) + "\n" for obj in (self.header, *self.records, self.end)
        )
        data = text.encode()
        return gzip.compress(data, mtime=0) if self.gzip else data

    @property
    def network(self) -> dict[str, Any]:
        return self.header["network"]

    @property
    def claim(self) -> dict[str, Any]:
        return self.end["end"]["claims"]["activation_regions"]

    def indices(self, kind: str) -> list[int]:
        return [i for i, rec in enumerate(self.records) if kind in rec]

    def middle(self, kind: str) -> int:
        found = self.indices(kind)
        assert found, f"the base certificate has no {kind!r} record"
        return found[len(found) // 2]


def key(record: dict[str, Any]) -> str:
    """The pattern or prefix a record stands for."""
    return next(record[k] for k in ("r", "e", "o") if k in record)


def run_cli(args: list[str], real_process: bool = True) -> Outcome:
    """Run ``tvmip ARGS`` in a fresh interpreter (default) or in-process via click."""
    return run_tvmip(args, real_process=real_process, timeout=SUBPROCESS_TIMEOUT)


def run_check(path: Path, real_process: bool = True, *extra: str) -> Outcome:
    return run_cli(["check", str(path), *extra], real_process)


EXPECTED = {"VALID": (0, "stdout"), "INVALID": (1, "stdout"), "error": (2, "stderr")}
REJECTED = "INVALID or error"  # for the rare mutation where either verdict is right


def assert_verdict(outcome: Outcome, verdict: str) -> str:
    """Exactly one line, on the right stream, starting with ``verdict:``; returns it."""
    shown = (
        f"[{outcome.via}] exit {outcome.code}\n"
        f"stdout: {outcome.stdout!r}\nstderr: {outcome.stderr!r}"
    )
    assert "Traceback" not in outcome.stdout + outcome.stderr, shown
    if verdict == REJECTED:
        assert outcome.code in (1, 2), shown
        verdict = "INVALID" if outcome.code == 1 else "error"
    code, stream = EXPECTED[verdict]
    assert outcome.code == code, shown
    text = outcome.stdout if stream == "stdout" else outcome.stderr
    other = outcome.stderr if stream == "stdout" else outcome.stdout
    assert other == "", shown
    lines = text.splitlines()
    assert len(lines) == 1, shown
    assert lines[0].startswith(f"{verdict}:"), shown
    return lines[0]


def valid_line(count: int) -> str:
    """The verdict line of a certificate of the demo network (over R^2)."""
    return f"VALID: {count} activation regions over R^2"


# --------------------------------------------------------------------------------------
# An independent exact oracle (plain Fractions; nothing from tvmip)
# --------------------------------------------------------------------------------------


def relu_preactivations(network: dict[str, Any], x: list[Fraction]) -> list[Fraction]:
    """Pre-activations of every ReLU neuron at ``x``, in pattern order."""
    z = [Fraction(v) for v in x]
    out: list[Fraction] = []
    for layer in network["layers"]:
        pre = [
            sum((Fraction(w) * v for w, v in zip(row, z)), Fraction(b))
            for row, b in zip(layer["weights"], layer["biases"])
        ]
        if layer["activation"] == "relu":
            out.extend(pre)
            z = [max(p, Fraction(0)) for p in pre]
        else:
            z = pre
    return out


def evaluate(network: dict[str, Any], x: list[Fraction]) -> list[Fraction]:
    """f(x), exactly."""
    z = [Fraction(v) for v in x]
    for layer in network["layers"]:
        pre = [
            sum((Fraction(w) * v for w, v in zip(row, z)), Fraction(b))
            for row, b in zip(layer["weights"], layer["biases"])
        ]
        z = [max(p, Fraction(0)) for p in pre] if layer["activation"] == "relu" else pre
    out = network["output"]
    return [
        sum((Fraction(w) * v for w, v in zip(row, z)), Fraction(b))
        for row, b in zip(out["weights"], out["biases"])
    ]


def pattern_at(network: dict[str, Any], x: list[Any]) -> str:
    point = [Fraction(v) for v in x]
    return "".join(
        "+" if p > 0 else "-" if p < 0 else "0"
        for p in relu_preactivations(network, point)
    )


Affine = tuple[tuple[Fraction, ...], Fraction]  # (gradient, constant)


def prefix_rows(network: dict[str, Any], prefix: str) -> list[Affine]:
    """Affine pre-activation maps of the ReLU neurons at positions 0..len(prefix)
    (as far as they exist) on the region of ``prefix``."""
    n = network["input_dim"]
    zero: Affine = (tuple(Fraction(0) for _ in range(n)), Fraction(0))
    z: list[Affine] = [
        (tuple(Fraction(int(i == k)) for i in range(n)), Fraction(0)) for k in range(n)
    ]
    rows: list[Affine] = []
    for layer in network["layers"]:
        pre = []
        for wrow, b in zip(layer["weights"], layer["biases"]):
            grad = tuple(
                sum((Fraction(w) * zk[0][i] for w, zk in zip(wrow, z)), Fraction(0))
                for i in range(n)
            )
            const = sum((Fraction(w) * zk[1] for w, zk in zip(wrow, z)), Fraction(b))
            pre.append((grad, const))
        if layer["activation"] != "relu":
            z = pre
            continue
        z = []
        for row in pre:
            position = len(rows)
            rows.append(row)
            if position >= len(prefix):
                return rows
            z.append(row if prefix[position] == "+" else zero)
    return rows


def inequality(cert: Cert, prefix: str, row_id: int | str) -> Affine:
    """The strict inequality ``g(x) > 0`` that a multiplier's row names."""
    if isinstance(row_id, int):
        grad, const = prefix_rows(cert.network, prefix)[row_id]
        sign = {"+": 1, "-": -1}[prefix[row_id]]
        return tuple(sign * g for g in grad), sign * const
    box = cert.header["domain"]
    i = int(row_id[2:])
    n = cert.network["input_dim"]
    unit = tuple(Fraction(int(k == i)) for k in range(n))
    if row_id.startswith("lo"):
        return unit, -Fraction(box["lo"][i])
    return tuple(-u for u in unit), Fraction(box["hi"][i])


def combination(cert: Cert, record: dict[str, Any]) -> Affine:
    """sum_k y_k g_k for an empty-branch record."""
    n = cert.network["input_dim"]
    grad = [Fraction(0)] * n
    const = Fraction(0)
    for row_id, y in record["y"]:
        g, c = inequality(cert, record["e"], row_id)
        grad = [a + Fraction(y) * b for a, b in zip(grad, g)]
        const += Fraction(y) * c
    return tuple(grad), const


def witnesses_broken(cert: Cert) -> list[str]:
    """Region records whose witness does not realise the record's pattern."""
    return [
        rec["r"]
        for rec in cert.records
        if "r" in rec and pattern_at(cert.network, rec["x"]) != rec["r"]
    ]


Interval = tuple[dict[str, Any], Fraction | None, Fraction | None]  # record, ends


def intervals(cert: Cert) -> list[Interval]:
    """The interval records of a breakpoint certificate with their open ends."""
    box = cert.header["domain"]
    ends: list[Fraction | None] = [None if box is None else Fraction(box["lo"][0])]
    ends += [Fraction(rec["b"]) for rec in cert.records if "b" in rec]
    ends.append(None if box is None else Fraction(box["hi"][0]))
    records = [rec for rec in cert.records if "s" in rec]
    assert len(records) == len(ends) - 1
    return [(rec, ends[k], ends[k + 1]) for k, rec in enumerate(records)]


def two_points_inside(left: Fraction | None, right: Fraction | None) -> list[Fraction]:
    if left is None and right is None:
        return [Fraction(0), Fraction(1)]
    if left is None:
        assert right is not None
        return [right - 2, right - 1]
    if right is None:
        return [left + 1, left + 2]
    return [(2 * left + right) / 3, (left + 2 * right) / 3]


def inside_box(cert: Cert, x: list[Any]) -> bool:
    box = cert.header["domain"]
    return box is None or all(
        Fraction(lo) < Fraction(v) < Fraction(hi)
        for v, lo, hi in zip(x, box["lo"], box["hi"])
    )


# --------------------------------------------------------------------------------------
# The genuine certificates
# --------------------------------------------------------------------------------------


@dataclass
class Certs:
    directory: Path
    paths: dict[str, Path] = field(default_factory=dict)


def _generate(directory: Path, name: str, base: Base) -> Path:
    suffix = ".cert.json.gz" if base.gzip else ".cert.json"
    path = directory / f"{name}{suffix}"
    if base.network is None:
        net_path = default_network_path()
    else:
        net_path = directory / f"{name}.json"
        net_path.write_text(json.dumps(base.network))
    if base.via_cli:
        args = ["count", str(net_path), "--certificate", str(path), "--quiet"]
        if base.box is not None:
            args += ["--box", f"{base.box[0]},{base.box[1]}"]
        outcome = run_cli(args)
        assert outcome.code == 0, outcome
        assert f": {base.count} activation regions" in outcome.stdout, outcome
    else:
        from tvmip.model.network import load_network, parse_box

        net = load_network(net_path)
        box = (
            None
            if base.box is None
            else parse_box(f"{base.box[0]},{base.box[1]}", net.input_dim)
        )
        result = engine.count(net, box, certificate=path, engine=base.engine)
        assert result.exact and result.activation_regions == base.count
    return path


def subtrees(cert: Cert) -> list[tuple[str, list[int]]]:
    """Proper subtrees covered by at least two records: (root prefix, record indices).
    The records of a subtree are those whose pattern starts with its root's prefix."""
    keys = [key(rec) for rec in cert.records]
    found = []
    for length in range(1, max(map(len, keys)) + 1):
        for prefix, group in itertools.groupby(
            range(len(keys)), key=lambda i: keys[i][:length]
        ):
            members = list(group)
            if (
                len(prefix) == length
                and "*" not in prefix  # look-ahead wildcards are not tree nodes
                and 2 <= len(members) < len(keys)
            ):
                found.append((prefix, members))
    return found


def weaken_to_lower_bound(cert: Cert) -> Cert:
    """Replace the largest proper subtree by one open record: an "at least" claim."""
    prefix, members = max(subtrees(cert), key=lambda item: len(item[1]))
    dropped = sum("r" in cert.records[i] for i in members)
    assert dropped > 0
    cert.records[members[0] : members[-1] + 1] = [{"o": prefix}]
    cert.claim.update(kind="at_least", value=cert.claim["value"] - dropped)
    return cert


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    """Every genuine certificate of this module, generated once."""
    directory = tmp_path_factory.mktemp("certs")
    out = Certs(directory)
    for name, base in BASES.items():
        out.paths[name] = _generate(directory, name, base)
    # A lower-bound certificate: `--max-regions 3` stops the demo early (exit 3).
    at_least = directory / "at_least.cert.json"
    outcome = run_cli(
        ["count", "--max-regions", "3", "--certificate", str(at_least), "--quiet"]
    )
    assert outcome.code == 3, outcome
    out.paths["at_least"] = at_least
    return out


def read(certs: Certs, base: str) -> Cert:
    return Cert.read(certs.paths[base])


# --------------------------------------------------------------------------------------
# Genuine certificates are accepted
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("base", list(BASES))
def test_genuine_certificate_is_valid_with_the_constructed_count(
    certs: Certs, base: str
) -> None:
    line = assert_verdict(run_check(certs.paths[base]), "VALID")
    assert line == BASES[base].line
    cert = read(certs, base)
    assert cert.claim == {"kind": "exact", "value": BASES[base].count}
    assert cert.header["kind"] == (
        "tree" if BASES[base].maps is None else "breakpoints"
    )


def test_lower_bound_certificate_is_valid_as_at_least(certs: Certs) -> None:
    cert = read(certs, "at_least")
    assert cert.claim["kind"] == "at_least" and cert.indices("o")
    assert 3 <= cert.claim["value"] == len(cert.indices("r")) < 37
    line = assert_verdict(run_check(certs.paths["at_least"]), "VALID")
    assert line.startswith(f"VALID: at least {cert.claim['value']} activation regions")


# 24 ternary lines in 4 directions, 6 per direction, no three through a point:
# 1 + 24 + 6 * 6^2 = 241 regions, enough for the search to split into subtrees.
NET_GRID = {
    "input_dim": 2,
    "layers": [
        {
            "activation": "relu",
            "weights": [d for d in ([1, 0], [0, 1], [1, 1], [1, -1]) for _ in range(6)],
            "biases": [f"{2 * k - 5}/{t + 2}" for t in range(4) for k in range(6)],
        }
    ],
    "output": {"weights": [[1] * 24], "biases": [0]},
}


def _max_regions_run(
    tmp_path: Path, network: dict[str, Any] | None
) -> tuple[Outcome, Path]:
    cert = tmp_path / "stopped.cert.json"
    args = ["count", "--max-regions", "3", "--certificate", str(cert), "--quiet"]
    if network is not None:
        (tmp_path / "net.json").write_text(json.dumps(network))
        args.insert(1, str(tmp_path / "net.json"))
    return run_cli(args), cert


def test_max_regions_stop_inside_a_subtree_writes_a_valid_lower_bound(
    tmp_path: Path,
) -> None:
    """Regression: the unexplored siblings inside the interrupted subtree must be
    written as open records, or the checker rejects the producer's own certificate."""
    outcome, path = _max_regions_run(tmp_path, NET_GRID)
    assert outcome.code == 3, outcome
    cert = Cert.read(path)
    assert cert.claim["kind"] == "at_least" and cert.indices("o")
    line = assert_verdict(run_check(path), "VALID")
    assert line.startswith(f"VALID: at least {cert.claim['value']} activation regions")


def test_max_regions_is_honoured_while_the_tree_is_split(tmp_path: Path) -> None:
    """Regression: the demo's tree is small enough to be finished by the breadth-first
    split, which must respect the limit too (exit 3, a lower bound)."""
    outcome, path = _max_regions_run(tmp_path, None)
    assert outcome.code == 3, outcome
    assert Cert.read(path).claim["kind"] == "at_least"


def test_every_generated_certificate_checks_valid(certs: Certs) -> None:
    """Everything the suite generated in valid form, found on disk, says VALID."""
    files = sorted(p for p in certs.directory.iterdir() if ".cert.json" in p.name)
    assert len(files) == len(BASES) + 1
    for path in files:
        line = assert_verdict(run_check(path), "VALID")
        base = BASES.get(path.name.split(".")[0])
        if base is None:  # the --max-regions run
            assert line.startswith("VALID: at least 3 activation regions"), path
        else:
            assert line == base.line, path


@pytest.mark.parametrize("base", TREE_BASES)
def test_witnesses_realise_their_patterns_under_an_independent_oracle(
    certs: Certs, base: str
) -> None:
    cert = read(certs, base)
    assert witnesses_broken(cert) == []
    assert all(inside_box(cert, rec["x"]) for rec in cert.records if "r" in rec)
    assert len({rec["r"] for rec in cert.records if "r" in rec}) == BASES[base].count


@pytest.mark.parametrize("base", TREE_BASES)
def test_empty_branch_multipliers_prove_emptiness_under_an_independent_oracle(
    certs: Certs, base: str
) -> None:
    cert = read(certs, base)
    for i in cert.indices("e"):
        record = cert.records[i]
        assert all(Fraction(y) >= 0 for _, y in record["y"]) and any(
            Fraction(y) for _, y in record["y"]
        )
        grad, const = combination(cert, record)
        assert all(g == 0 for g in grad) and const <= 0, record


@pytest.mark.parametrize("base", TREE_BASES)
def test_random_points_fall_in_certified_regions(certs: Certs, base: str) -> None:
    """Completeness smoke test: generic random points realise certified patterns."""
    cert = read(certs, base)
    regions = {rec["r"] for rec in cert.records if "r" in rec}
    rng = random.Random(20240601)
    box = cert.header["domain"]
    n = cert.network["input_dim"]
    big = 1_000_003
    for _ in range(400):
        if box is None:
            x = [Fraction(rng.randint(-10 * big, 10 * big), big) for _ in range(n)]
        else:
            x = [
                Fraction(lo)
                + (Fraction(hi) - Fraction(lo)) * Fraction(rng.randint(1, big - 1), big)
                for lo, hi in zip(box["lo"], box["hi"])
            ]
        assert pattern_at(cert.network, x) in regions, x


@pytest.mark.parametrize("base", BREAKPOINT_BASES)
def test_breakpoint_intervals_and_maps_match_an_independent_evaluation(
    certs: Certs, base: str
) -> None:
    """Each interval realises its pattern and carries f's exact map; consecutive
    patterns differ; runs of equal maps and distinct maps give the claimed counts."""
    cert = read(certs, base)
    maps = []
    for rec, left, right in intervals(cert):
        a, b = two_points_inside(left, right)
        assert (
            pattern_at(cert.network, [a]) == pattern_at(cert.network, [b]) == rec["s"]
        )
        (fa,), (fb,) = evaluate(cert.network, [a]), evaluate(cert.network, [b])
        slope = (fb - fa) / (b - a)
        assert [[Fraction(v) for v in pair] for pair in rec["f"]] == [
            [slope, fa - slope * a]
        ]
        maps.append((slope, fa - slope * a))
    patterns = [rec["s"] for rec, _, _ in intervals(cert)]
    assert all(p != q for p, q in itertools.pairwise(patterns))
    claims = cert.end["end"]["claims"]
    assert claims["activation_regions"]["value"] == len(maps) == BASES[base].count
    runs = 1 + sum(m != n for m, n in itertools.pairwise(maps))
    assert (runs, len(set(maps))) == BASES[base].maps
    assert claims["linear_regions"]["value"] == runs
    assert claims["distinct_maps"]["value"] == len(set(maps))


@pytest.mark.parametrize(
    "base", [*TREE_BASES, *BREAKPOINT_BASES, "demo_gz", "at_least"]
)
def test_mutation_harness_round_trip_keeps_the_certificate_valid(
    certs: Certs, tmp_path: Path, base: str
) -> None:
    """Control: an unchanged certificate, rewritten by the harness (canonical JSON
    lines), is line-for-line the same JSON and still valid, so a rejection below is
    caused by the mutation, not by the harness."""
    original = certs.paths[base].read_bytes()
    if original[:2] == b"\x1f\x8b":
        original = gzip.decompress(original)
    cert = read(certs, base)
    assert [json.loads(line) for line in original.splitlines()] == [
        cert.header,
        *cert.records,
        cert.end,
    ]
    path = write(tmp_path, "rewritten", cert)
    expected = assert_verdict(run_check(certs.paths[base], False), "VALID")
    assert assert_verdict(run_check(path, False), "VALID") == expected


def test_weakening_an_exact_certificate_to_a_lower_bound_is_accepted(
    certs: Certs, tmp_path: Path
) -> None:
    """The demo's largest proper subtree replaced by one open record, the count
    lowered by its regions: a valid "at least" certificate."""
    cert = weaken_to_lower_bound(read(certs, "demo"))
    assert cert.claim["value"] < 37
    path = write(tmp_path, "weakened", cert)
    line = assert_verdict(run_check(path, False), "VALID")
    assert line.startswith(f"VALID: at least {cert.claim['value']} activation regions")


def test_relayout_of_the_embedded_network_keeps_it_valid(
    certs: Certs, tmp_path: Path
) -> None:
    """The network's hash is of its canonical form: -1/2 written as "-0.5" is the
    same network, so the certificate (with its original sha) stays valid."""
    cert = read(certs, "demo")
    biases = cert.network["layers"][0]["biases"]
    assert biases[0] == "-1/2"
    biases[0] = "-0.5"
    path = write(tmp_path, "relayout", cert)
    assert assert_verdict(run_check(path, False), "VALID") == valid_line(37)


def test_check_against_the_network_file_it_is_about(
    certs: Certs, tmp_path: Path
) -> None:
    same = assert_verdict(
        run_check(certs.paths["demo"], True, "--network", str(default_network_path())),
        "VALID",
    )
    assert same == valid_line(37)
    other = tmp_path / "other.json"
    other.write_text(json.dumps(NET_TERNARY))
    assert_verdict(
        run_check(certs.paths["demo"], True, "--network", str(other)), "INVALID"
    )


# --------------------------------------------------------------------------------------
# Mutations
# --------------------------------------------------------------------------------------


def write(directory: Path, name: str, mutated: Cert | bytes) -> Path:
    data = mutated if isinstance(mutated, bytes) else mutated.to_bytes()
    path = directory / f"{name}.cert.json"
    path.write_bytes(data)
    return path


Apply = Callable[[Cert], "bytes | None"]


@dataclass(frozen=True)
class Mutation:
    """A change to a genuine certificate and the verdict it must get.

    ``apply`` edits the parsed certificate in place, or returns the file's new bytes."""

    name: str
    apply: Apply
    verdict: str  # "INVALID" (a false claim) or "error" (a malformed file)
    why: str
    bases: tuple[str, ...] = ("demo",)


MUTATIONS: list[Mutation] = []


def mutation(
    verdict: str, why: str, bases: tuple[str, ...] = ("demo",)
) -> Callable[[Apply], Apply]:
    """Register the decorated function as a mutation of each of ``bases``."""

    def register(function: Apply) -> Apply:
        MUTATIONS.append(Mutation(function.__name__, function, verdict, why, bases))
        return function

    return register


# -- witnesses -------------------------------------------------------------------------


@mutation(
    "INVALID",
    "another region's witness has the opposite strict sign where the "
    "two patterns first differ",
    TREE_BASES,
)
def witness_taken_from_another_region(cert: Cert) -> None:
    i = cert.middle("r")
    j = next(k for k in cert.indices("r") if k != i)
    cert.records[i]["x"] = cert.records[j]["x"]
    assert pattern_at(cert.network, cert.records[i]["x"]) != cert.records[i]["r"]


@mutation(
    "INVALID",
    "the point x = 1/2 lies on neuron 0's hyperplane: the strict "
    "inequality x - 1/2 > 0 fails",
)
def witness_moved_onto_a_hyperplane(cert: Cert) -> None:
    i = next(i for i in cert.indices("r") if cert.records[i]["r"][0] == "+")
    cert.records[i]["x"][0] = "1/2"
    assert pattern_at(cert.network, cert.records[i]["x"])[0] == "0"


@mutation(
    "INVALID",
    "x0 = 2 is on the face of the open box (-1, 2)^2 (the pattern "
    "itself still holds there, so only the domain is violated)",
    ("box",),
)
def witness_moved_onto_the_box_face(cert: Cert) -> None:
    for i in cert.indices("r"):
        moved = [2, *cert.records[i]["x"][1:]]
        if pattern_at(cert.network, moved) == cert.records[i]["r"]:
            cert.records[i]["x"] = moved
            assert not inside_box(cert, moved)
            return
    raise AssertionError("no region whose pattern holds on the face x0 = 2")


@mutation("error", "a witness must have input_dim coordinates (a malformed record)")
def witness_with_a_missing_coordinate(cert: Cert) -> None:
    cert.records[cert.middle("r")]["x"].pop()


@mutation("error", "NaN is not a rational number")
def witness_coordinate_nan(cert: Cert) -> bytes:
    cert.records[cert.middle("r")]["x"][0] = "__NAN__"
    return cert.to_bytes().replace(b'"__NAN__"', b"NaN")


# -- records dropped, duplicated, reordered --------------------------------------------


@mutation(
    "INVALID", "the region's leaf of the search tree is no longer covered", TREE_BASES
)
def region_record_dropped(cert: Cert) -> None:
    del cert.records[cert.middle("r")]


@mutation("INVALID", "an empty branch (a subtree) is no longer covered", TREE_BASES)
def empty_branch_record_dropped(cert: Cert) -> None:
    del cert.records[cert.middle("e")]


@mutation(
    "INVALID", "a whole subtree of several records is no longer covered", TREE_BASES
)
def subtree_of_several_records_dropped(cert: Cert) -> None:
    _, members = min(subtrees(cert), key=lambda item: len(item[1]))
    del cert.records[members[0] : members[-1] + 1]


@mutation(
    "INVALID",
    "depth-first order with '+' before '-' is part of the format: "
    "swapped neighbours leave the first expected leaf uncovered",
    TREE_BASES,
)
def two_adjacent_records_swapped(cert: Cert) -> None:
    i = cert.middle("r")
    j = i + 1 if i + 1 < len(cert.records) else i - 1
    cert.records[i], cert.records[j] = cert.records[j], cert.records[i]


@mutation(
    "INVALID",
    "a region counted twice (the record after it is out of place)",
    TREE_BASES,
)
def region_record_duplicated(cert: Cert) -> None:
    i = cert.middle("r")
    cert.records.insert(i + 1, copy.deepcopy(cert.records[i]))


@mutation("INVALID", "the claim is exact but a subtree is only marked unexplored")
def empty_branch_replaced_by_an_open_subtree(cert: Cert) -> None:
    i = cert.middle("e")
    cert.records[i] = {"o": cert.records[i]["e"]}


# -- patterns --------------------------------------------------------------------------


def _last_strict_position(pattern: str) -> int:
    return max(p for p, s in enumerate(pattern) if s in "+-")


@mutation(
    "INVALID",
    "the flipped pattern's witness has the other strict sign there",
    TREE_BASES,
)
def region_state_flipped(cert: Cert) -> None:
    rec = cert.records[cert.middle("r")]
    p = _last_strict_position(rec["r"])
    rec["r"] = rec["r"][:p] + {"+": "-", "-": "+"}[rec["r"][p]] + rec["r"][p + 1 :]
    assert pattern_at(cert.network, rec["x"]) != rec["r"]


@mutation(
    "INVALID",
    "'0' claims the neuron's map vanishes identically, but its map "
    "on this region is not zero (it has a strict sign at the witness)",
    TREE_BASES,
)
def nonzero_neuron_marked_zero(cert: Cert) -> None:
    rec = cert.records[cert.middle("r")]
    p = _last_strict_position(rec["r"])
    rec["r"] = rec["r"][:p] + "0" + rec["r"][p + 1 :]
    assert relu_preactivations(cert.network, [Fraction(v) for v in rec["x"]])[p] != 0


@mutation(
    "INVALID",
    "a neuron that vanishes identically has no '+' side",
    ("demo", "ternary", "identity"),
)
def zero_neuron_marked_plus(cert: Cert) -> None:
    rec = next(rec for rec in cert.records if "r" in rec and "0" in rec["r"])
    p = rec["r"].index("0")
    rec["r"] = rec["r"][:p] + "+" + rec["r"][p + 1 :]


@mutation(
    "INVALID",
    "a pattern needs one state per ReLU neuron (well-formed, but not "
    "about this network)",
)
def region_pattern_one_state_too_long(cert: Cert) -> None:
    cert.records[cert.middle("r")]["r"] += "+"


@mutation("error", "'x' is not a state: a malformed record")
def region_pattern_with_an_unknown_state(cert: Cert) -> None:
    rec = cert.records[cert.middle("r")]
    rec["r"] = "x" + rec["r"][1:]


# -- multipliers -----------------------------------------------------------------------


def _term_with_a_gradient(cert: Cert) -> tuple[dict[str, Any], int]:
    for i in cert.indices("e"):
        rec = cert.records[i]
        for t, (row_id, y) in enumerate(rec["y"]):
            if Fraction(y) > 0 and any(inequality(cert, rec["e"], row_id)[0]):
                return rec, t
    raise AssertionError("no multiplier on a non-constant inequality")


@mutation(
    "INVALID",
    "one multiplier doubled: the gradients no longer cancel (confirmed by the oracle)",
    TREE_BASES,
)
def multiplier_doubled(cert: Cert) -> None:
    rec, t = _term_with_a_gradient(cert)
    rec["y"][t][1] = fmt(2 * Fraction(rec["y"][t][1]))
    assert any(combination(cert, rec)[0])


@mutation("INVALID", "Motzkin multipliers must be >= 0", TREE_BASES)
def multiplier_negated(cert: Cert) -> None:
    rec, t = _term_with_a_gradient(cert)
    rec["y"][t][1] = fmt(-Fraction(rec["y"][t][1]))


@mutation(
    "INVALID",
    "all-zero multipliers prove nothing (0 <= 0 is no contradiction)",
    TREE_BASES,
)
def multipliers_all_zero(cert: Cert) -> None:
    rec = cert.records[cert.middle("e")]
    rec["y"] = [[row_id, 0] for row_id, _ in rec["y"]]


@mutation(
    "INVALID",
    "x0 - lo0 > 0 plus hi0 - x0 > 0 cancels the gradient but sums to "
    "hi0 - lo0 = 3 > 0: no contradiction",
    ("box",),
)
def multipliers_replaced_by_opposite_box_faces(cert: Cert) -> None:
    rec = cert.records[cert.middle("e")]
    rec["y"] = [["lo0", 1], ["hi0", 1]]
    grad, const = combination(cert, rec)
    assert not any(grad) and const > 0


@mutation(
    "INVALID",
    "two opposite inequalities of the prefix (found by the oracle) "
    "cancel the gradient but sum to a positive constant",
    ("n1", "demo"),
)
def multipliers_replaced_by_a_positive_constant_combination(cert: Cert) -> None:
    for i in cert.indices("e"):
        rec = cert.records[i]
        strict = [p for p, s in enumerate(rec["e"]) if s in "+-"]
        for a, b in itertools.combinations(strict, 2):
            (ga, ca), (gb, cb) = (inequality(cert, rec["e"], r) for r in (a, b))
            k = next((k for k, v in enumerate(gb) if v), None)
            if k is None or not any(ga):
                continue
            ratio = -ga[k] / gb[k]  # ga + ratio * gb == 0 ?
            if (
                ratio > 0
                and all(u + ratio * v == 0 for u, v in zip(ga, gb))
                and ca + ratio * cb > 0
            ):
                rec["y"] = [[a, 1], [b, fmt(ratio)]]
                grad, const = combination(cert, rec)
                assert not any(grad) and const > 0
                return
    raise AssertionError("no pair of opposite inequalities with a positive sum")


@mutation("INVALID", "row 10000 does not exist", TREE_BASES)
def multiplier_row_that_does_not_exist(cert: Cert) -> None:
    cert.records[cert.middle("e")]["y"][0][0] = 10_000


@mutation(
    "INVALID",
    "a neuron after the prefix gives no inequality of the branch "
    "(n3's empty branches all have full-length prefixes)",
    tuple(b for b in TREE_BASES if b != "n3"),
)
def multiplier_row_not_in_the_prefix(cert: Cert) -> None:
    length = len(cert.records[cert.middle("r")]["r"])
    rec = next(
        cert.records[i] for i in cert.indices("e") if len(cert.records[i]["e"]) < length
    )
    rec["y"][0][0] = len(rec["e"])


@mutation("INVALID", "a '0' neuron gives no strict inequality to combine")
def multiplier_row_of_a_zero_state(cert: Cert) -> None:
    rec = next(
        cert.records[i] for i in cert.indices("e") if "0" in cert.records[i]["e"]
    )
    rec["y"][0][0] = rec["e"].index("0")


@mutation(
    "INVALID",
    "a look-ahead wildcard '*' position carries no inequality to combine",
    ("demo", "n1", "ternary"),
)
def multiplier_row_at_a_lookahead_wildcard(cert: Cert) -> None:
    rec = next(
        (cert.records[i] for i in cert.indices("e") if "*" in cert.records[i]["e"]),
        None,
    )
    if rec is None:
        pytest.skip("this producer writes no look-ahead records")
    rec["y"][0][0] = rec["e"].index("*")


@mutation("INVALID", "a certificate over R^n has no box faces to combine")
def multiplier_row_box_face_without_a_box(cert: Cert) -> None:
    cert.records[cert.middle("e")]["y"][0][0] = "lo0"


@mutation("INVALID", "a row listed twice is not a valid sparse multiplier vector")
def multiplier_row_listed_twice(cert: Cert) -> None:
    rec = cert.records[cert.middle("e")]
    rec["y"].append(list(rec["y"][0]))


# -- claims ----------------------------------------------------------------------------


@mutation("INVALID", "the records verify one region fewer than claimed", TREE_BASES)
def claimed_count_plus_one(cert: Cert) -> None:
    cert.claim["value"] += 1


@mutation("INVALID", "the records verify one region more than claimed", TREE_BASES)
def claimed_count_minus_one(cert: Cert) -> None:
    cert.claim["value"] -= 1


@mutation("INVALID", "an exact claim with open subtrees", ("at_least",))
def lower_bound_claimed_exact(cert: Cert) -> None:
    cert.claim["kind"] = "exact"


@mutation("INVALID", "the lower bound must equal the verified regions", ("at_least",))
def lower_bound_value_plus_one(cert: Cert) -> None:
    cert.claim["value"] += 1


@mutation(
    "INVALID", "dropping an open record leaves its subtree uncovered", ("at_least",)
)
def open_record_dropped(cert: Cert) -> None:
    del cert.records[cert.indices("o")[0]]


# -- the network and the domain --------------------------------------------------------


def _tamper_hidden(
    cert: Cert, change: Callable[[dict[str, Any]], None], resign: bool
) -> None:
    change(cert.network["layers"][0])
    if resign:
        cert.header["network_sha256"] = network_sha256(cert.network)
        assert witnesses_broken(cert), "the tampered network must break some witness"


def _negate_first_weight(layer: dict[str, Any]) -> None:
    row = layer["weights"][0]
    k = next(k for k, w in enumerate(row) if Fraction(w) != 0)
    row[k] = fmt(-Fraction(row[k]))


def _shift_first_bias(layer: dict[str, Any]) -> None:
    layer["biases"][0] = fmt(Fraction(layer["biases"][0]) + 1000)


@mutation(
    "INVALID",
    "a weight of the embedded network changed and network_sha256 "
    "recomputed: the evidence no longer fits (the oracle finds a broken witness)",
    TREE_BASES,
)
def network_weight_changed_with_sha_updated(cert: Cert) -> None:
    _tamper_hidden(cert, _negate_first_weight, resign=True)


@mutation(
    "INVALID",
    "a bias of the embedded network changed by 1000 and "
    "network_sha256 recomputed (the oracle finds a broken witness)",
    TREE_BASES,
)
def network_bias_changed_with_sha_updated(cert: Cert) -> None:
    _tamper_hidden(cert, _shift_first_bias, resign=True)


@mutation("INVALID", "network_sha256 no longer matches the embedded network")
def network_weight_changed_with_stale_sha(cert: Cert) -> None:
    _tamper_hidden(cert, _negate_first_weight, resign=False)


@mutation("INVALID", "network_sha256 no longer matches the embedded network")
def network_bias_changed_with_stale_sha(cert: Cert) -> None:
    _tamper_hidden(cert, _shift_first_bias, resign=False)


@mutation("INVALID", "network_sha256 is not the hash of the embedded network")
def network_sha256_replaced(cert: Cert) -> None:
    cert.header["network_sha256"] = "0" * 64


@mutation("error", "the embedded network itself is malformed ('abc' is no rational)")
def network_weight_not_a_number(cert: Cert) -> None:
    cert.network["layers"][0]["weights"][0][0] = "abc"


@mutation("INVALID", "witnesses leave the smaller box (-1/2, 1/2)^2")
def domain_added_that_excludes_witnesses(cert: Cert) -> None:
    cert.header["domain"] = {"lo": ["-1/2", "-1/2"], "hi": ["1/2", "1/2"]}
    assert not all(inside_box(cert, rec["x"]) for rec in cert.records if "r" in rec)


@mutation(
    "INVALID",
    "over (-10, 20)^2 the line x = 3 adds 3 regions: the proofs "
    "using the face x < 2 no longer hold",
    ("box",),
)
def domain_widened(cert: Cert) -> None:
    cert.header["domain"] = {"lo": [-10, -10], "hi": [20, 20]}


@mutation(
    "INVALID", "over R^2 there are 10 regions; the box-face rows do not exist", ("box",)
)
def domain_removed(cert: Cert) -> None:
    cert.header["domain"] = None


@mutation(
    "INVALID",
    "a tree certificate declaring and claiming linear regions carries no "
    "gluing evidence for them",
)
def tree_claims_linear_regions_without_evidence(cert: Cert) -> None:
    cert.header["claims"] = ["activation_regions", "linear_regions"]
    cert.end["end"]["claims"]["linear_regions"] = {"kind": "exact", "value": 37}


# -- breakpoint certificates (one input) -----------------------------------------------


def _interval(cert: Cert, which: int) -> dict[str, Any]:
    return intervals(cert)[which][0]


def _breakpoint_indices(cert: Cert) -> list[int]:
    return cert.indices("b")


@mutation(
    "INVALID",
    "an interior interval and its right breakpoint dropped: the merged interval "
    "does not keep one pattern",
    BREAKPOINT_BASES,
)
def bp_interval_dropped(cert: Cert) -> None:
    i = cert.records.index(_interval(cert, 1))
    del cert.records[i : i + 2]
    cert.claim["value"] -= 1


@mutation(
    "INVALID",
    "the last interval dropped: the records no longer cover the domain",
    BREAKPOINT_BASES,
)
def bp_last_interval_dropped(cert: Cert) -> None:
    del cert.records[-1]
    cert.claim["value"] -= 1


@mutation(
    "INVALID",
    "a breakpoint moved right: the left interval's pattern fails on the extension "
    "(confirmed by the oracle)",
    BREAKPOINT_BASES,
)
def bp_breakpoint_moved(cert: Cert) -> None:
    rec, _, right = intervals(cert)[1]
    assert right is not None
    nxt = intervals(cert)[2][2]
    moved = (right + nxt) / 2 if nxt is not None else right + 1
    cert.records[cert.records.index(rec) + 1]["b"] = fmt(moved)
    assert pattern_at(cert.network, [(right + moved) / 2]) != rec["s"]


@mutation("INVALID", "breakpoints must increase", BREAKPOINT_BASES)
def bp_breakpoints_swapped(cert: Cert) -> None:
    i, j = _breakpoint_indices(cert)[:2]
    cert.records[i], cert.records[j] = cert.records[j], cert.records[i]


@mutation(
    "INVALID",
    "an interval split at an interior point into two with the same pattern, the "
    "count raised by one: one region counted twice",
    BREAKPOINT_BASES,
)
def bp_interval_split_in_two(cert: Cert) -> None:
    rec, left, right = intervals(cert)[0]
    cut = two_points_inside(left, right)[0]
    assert pattern_at(cert.network, [cut]) == rec["s"]
    i = cert.records.index(rec)
    cert.records[i + 1 : i + 1] = [{"b": fmt(cut)}, copy.deepcopy(rec)]
    cert.claim["value"] += 1


@mutation(
    "INVALID", "a state flipped: the neuron has the other sign there", BREAKPOINT_BASES
)
def bp_state_flipped(cert: Cert) -> None:
    rec = _interval(cert, 1)
    p = _last_strict_position(rec["s"])
    rec["s"] = rec["s"][:p] + {"+": "-", "-": "+"}[rec["s"][p]] + rec["s"][p + 1 :]


@mutation(
    "INVALID", "'0' on a neuron whose map is not identically zero", BREAKPOINT_BASES
)
def bp_nonzero_neuron_marked_zero(cert: Cert) -> None:
    rec = _interval(cert, 1)
    p = _last_strict_position(rec["s"])
    rec["s"] = rec["s"][:p] + "0" + rec["s"][p + 1 :]


@mutation("INVALID", "a neuron that vanishes identically is not '+'", ("identity_bp",))
def bp_zero_neuron_marked_plus(cert: Cert) -> None:
    rec = next(r for r, _, _ in intervals(cert) if "0" in r["s"])
    p = rec["s"].index("0")
    rec["s"] = rec["s"][:p] + "+" + rec["s"][p + 1 :]


@mutation("INVALID", "the output map's slope is not f's slope there", BREAKPOINT_BASES)
def bp_output_slope_changed(cert: Cert) -> None:
    rec = _interval(cert, 1)
    rec["f"][0][0] = fmt(Fraction(rec["f"][0][0]) + 1)


@mutation("INVALID", "one activation region more than verified", BREAKPOINT_BASES)
def bp_activation_count_plus_one(cert: Cert) -> None:
    cert.claim["value"] += 1


@mutation("INVALID", "one linear region more than verified", BREAKPOINT_BASES)
def bp_linear_count_plus_one(cert: Cert) -> None:
    cert.end["end"]["claims"]["linear_regions"]["value"] += 1


@mutation("INVALID", "one distinct map fewer than verified", BREAKPOINT_BASES)
def bp_distinct_maps_minus_one(cert: Cert) -> None:
    cert.end["end"]["claims"]["distinct_maps"]["value"] -= 1


@mutation(
    "INVALID",
    "a bias changed by 1000, network_sha256 recomputed: the intervals' patterns no "
    "longer hold (the oracle finds one)",
    BREAKPOINT_BASES,
)
def bp_network_bias_changed_with_sha_updated(cert: Cert) -> None:
    _shift_first_bias(cert.network["layers"][0])
    cert.header["network_sha256"] = network_sha256(cert.network)
    assert any(
        pattern_at(cert.network, [two_points_inside(lo, hi)[0]]) != rec["s"]
        for rec, lo, hi in intervals(cert)
    )


@mutation(
    "INVALID",
    "over (-1, 3) the breakpoints 1 and 2 fall inside the last interval",
    ("n1_bp_box",),
)
def bp_domain_widened(cert: Cert) -> None:
    cert.header["domain"] = {"lo": [-1], "hi": [3]}


@mutation(
    "INVALID",
    "over R the last interval (1/4, +inf) crosses the breakpoints 1 and 2",
    ("n1_bp_box",),
)
def bp_domain_removed(cert: Cert) -> None:
    cert.header["domain"] = None


@mutation(
    "INVALID",
    "a breakpoint on the box face hi = 1/2 lies outside the open box",
    ("n1_bp_box",),
)
def bp_breakpoint_on_the_box_face(cert: Cert) -> None:
    cert.records[_breakpoint_indices(cert)[-1]]["b"] = "1/2"


@mutation(
    "INVALID",
    "a pattern needs one state per ReLU neuron (well-formed, but not about this "
    "network: INVALID as for tree records)",
    BREAKPOINT_BASES,
)
def bp_pattern_one_state_too_long(cert: Cert) -> None:
    _interval(cert, 1)["s"] += "+"


@mutation(
    REJECTED,
    "interval records {s, f} under kind 'tree': malformed, or read as tree evidence "
    "out of place, depending on how the kinds' record shapes overlap",
    BREAKPOINT_BASES,
)
def bp_kind_switched_to_tree(cert: Cert) -> None:
    cert.header["kind"] = "tree"


@mutation("error", "an interval record has exactly the keys s and f", BREAKPOINT_BASES)
def bp_unknown_key_in_an_interval(cert: Cert) -> None:
    _interval(cert, 0)["x"] = [0]


@mutation("error", "a breakpoint is a rational", BREAKPOINT_BASES)
def bp_breakpoint_not_a_number(cert: Cert) -> None:
    cert.records[_breakpoint_indices(cert)[0]]["b"] = "abc"


@mutation(
    "error",
    "the end line claims linear regions the header does not declare",
    BREAKPOINT_BASES,
)
def bp_claim_not_declared_in_the_header(cert: Cert) -> None:
    cert.header["claims"].remove("linear_regions")


# -- structure (exit code 2) -----------------------------------------------------------


@mutation("error", "nothing may follow the end line")
def record_appended_after_the_end_line(cert: Cert) -> bytes:
    return cert.to_bytes() + (canonical(cert.records[0]) + "\n").encode()


@mutation("error", "nothing may follow the end line")
def garbage_appended_after_the_end_line(cert: Cert) -> bytes:
    return cert.to_bytes() + b"trailing garbage\n"


@mutation("error", "the end line with the claims is missing (truncated file)")
def truncated_before_the_end_line(cert: Cert) -> bytes:
    return cert.to_bytes().rsplit(b"\n", 2)[0] + b"\n"


@mutation("error", "cut in the middle of a record: its JSON is incomplete")
def truncated_in_the_middle_of_a_record(cert: Cert) -> bytes:
    data = cert.to_bytes()
    lines = data.split(b"\n")
    cut = sum(len(line) + 1 for line in lines[: len(lines) // 2]) + 5
    return data[:cut]


@mutation("error", "a header alone has no records and no end line")
def truncated_to_the_header(cert: Cert) -> bytes:
    return cert.to_bytes().split(b"\n", 1)[0] + b"\n"


@mutation("error", "an empty file is no certificate")
def truncated_to_nothing(cert: Cert) -> bytes:
    return b""


@mutation("error", "a record line that is not JSON")
def invalid_json_line(cert: Cert) -> bytes:
    lines = cert.to_bytes().split(b"\n")
    lines[len(lines) // 2] = b'{"r": "++", "x": [1, '
    return b"\n".join(lines)


@mutation("error", "strict JSON: a duplicated key in a record")
def duplicate_key_in_a_record(cert: Cert) -> bytes:
    rec = cert.records[cert.middle("r")]
    line = canonical(rec).encode()
    return cert.to_bytes().replace(
        line, line[:-1] + b',"x":' + canonical(rec["x"]).encode() + b"}", 1
    )


@mutation("error", "a region record has exactly the keys r and x")
def unknown_key_in_a_region_record(cert: Cert) -> None:
    cert.records[cert.middle("r")]["note"] = "hello"


@mutation("error", "an empty-branch record has exactly the keys e and y")
def unknown_key_in_an_empty_branch_record(cert: Cert) -> None:
    cert.records[cert.middle("e")]["z"] = 0


@mutation("error", "a record of an unknown kind")
def record_of_an_unknown_kind(cert: Cert) -> None:
    cert.records.insert(1, {"q": "+"})


@mutation("error", "the header has a fixed set of keys")
def unknown_key_in_the_header(cert: Cert) -> None:
    cert.header["comment"] = "tampered"


@mutation("error", "the header has a fixed set of keys")
def header_key_missing(cert: Cert) -> None:
    del cert.header["domain"]


@mutation("error", "only tvmip-certificate/1 is understood")
def unknown_format_version(cert: Cert) -> None:
    cert.header["format"] = "tvmip-certificate/2"


@mutation("error", "only 'tree' certificates are understood")
def unknown_certificate_kind(cert: Cert) -> None:
    cert.header["kind"] = "graph"


@mutation("error", "the end record carries only the known claims")
def unknown_claim_in_the_end_line(cert: Cert) -> None:
    cert.end["end"]["claims"]["linear_regions"] = {"kind": "exact", "value": 1}


@mutation("error", "a count is an integer, not a string")
def claimed_count_as_a_string(cert: Cert) -> None:
    cert.claim["value"] = str(cert.claim["value"])


@mutation("error", "a multiplier is a rational, '1/0' has a zero denominator")
def multiplier_with_zero_denominator(cert: Cert) -> None:
    cert.records[cert.middle("e")]["y"][0][1] = "1/0"


@mutation("error", "a row is an int or 'lo<i>'/'hi<i>', not a boolean")
def multiplier_row_as_a_boolean(cert: Cert) -> None:
    cert.records[cert.middle("e")]["y"][0][0] = True


# -- gzip (exit code 2) ----------------------------------------------------------------


@mutation(
    "error",
    "a gzip stream cut in half ends before its end-of-stream marker",
    ("demo_gz",),
)
def gzip_truncated(cert: Cert) -> bytes:
    data = cert.to_bytes()
    return data[: len(data) // 2]


@mutation("error", "a gzip stream missing only its 8-byte trailer", ("demo_gz",))
def gzip_trailer_removed(cert: Cert) -> bytes:
    return cert.to_bytes()[:-8]


@mutation(
    "error",
    "the CRC-32 in the gzip trailer does not match the data "
    "(every line decompresses fine: only the integrity check fails)",
    ("demo_gz",),
)
def gzip_crc_corrupted(cert: Cert) -> bytes:
    data = bytearray(cert.to_bytes())
    data[-8] ^= 0xFF
    return bytes(data)


@mutation(
    "error",
    "16 bytes of 0xFF in the middle of the deflate stream break its "
    "block structure (the file's bytes are deterministic, so is the failure)",
    ("demo_gz",),
)
def gzip_deflate_bytes_corrupted(cert: Cert) -> bytes:
    data = bytearray(cert.to_bytes())
    middle = len(data) // 2
    data[middle : middle + 16] = b"\xff" * 16
    return bytes(data)


@mutation(
    "error", "bytes after the gzip member are not another gzip member", ("demo_gz",)
)
def gzip_trailing_garbage(cert: Cert) -> bytes:
    return cert.to_bytes() + b"this is not gzip"


@mutation(
    "error",
    "a second gzip member decompresses to data after the end line",
    ("demo_gz",),
)
def gzip_second_member_appended(cert: Cert) -> bytes:
    return cert.to_bytes() + gzip.compress(b'{"r":"+","x":[0,0]}\n', mtime=0)


@mutation(
    "error", "a gzip file whose header bytes were damaged (magic kept)", ("demo_gz",)
)
def gzip_header_corrupted(cert: Cert) -> bytes:
    data = bytearray(cert.to_bytes())
    data[2] = 0x07  # compression method: only 8 (deflate) exists
    return bytes(data)


# Which mutations run in a fresh interpreter: the structural ones (where an uncaught
# exception would surface as a traceback) and every demo mutation; the cross-product
# over the other bases runs in-process through click's runner to keep the suite fast.
def _real_process(base: str, m: Mutation) -> bool:
    return m.verdict == "error" or base.startswith("demo")


def _params() -> list[Any]:
    params = []
    for m in MUTATIONS:
        for base in m.bases:
            params.append(pytest.param(base, m, id=f"{base}:{m.name}"))
    return params


@pytest.mark.parametrize(("base", "m"), _params())
def test_mutated_certificate_is_rejected(
    certs: Certs, tmp_path: Path, base: str, m: Mutation
) -> None:
    cert = read(certs, base)
    result = m.apply(cert)
    mutated = result if isinstance(result, bytes) else cert
    path = write(tmp_path, f"{base}-{m.name}", mutated)
    unchanged = read(certs, base).to_bytes()
    assert path.read_bytes() != unchanged, "the mutation changed nothing"
    assert_verdict(run_check(path, _real_process(base, m)), m.verdict)


def test_mutation_names_are_unique_and_their_bases_exist() -> None:
    names = [m.name for m in MUTATIONS]
    assert len(names) == len(set(names))
    assert all(
        base in BASES or base == "at_least" for m in MUTATIONS for base in m.bases
    )


def test_missing_certificate_file_is_an_input_error(tmp_path: Path) -> None:
    assert_verdict(run_check(tmp_path / "does-not-exist.cert.json"), "error")


def test_directory_as_certificate_is_a_one_line_input_error(tmp_path: Path) -> None:
    assert_verdict(run_check(tmp_path), "error")


# --------------------------------------------------------------------------------------
# The checker stands alone
# --------------------------------------------------------------------------------------


def test_checker_package_imports_only_the_standard_library() -> None:
    files = sorted(CHECKER_DIR.glob("*.py"))
    assert files
    offenders = []
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level == 1:
                    continue  # from .x import y: within the checker package
                if node.level > 1:
                    offenders.append(
                        f"{path.name}:{node.lineno}: relative import out of "
                        "the checker package"
                    )
                    continue
                names = [node.module or ""]
            else:
                continue
            for name in names:
                if name.split(".")[0] not in sys.stdlib_module_names:
                    offenders.append(f"{path.name}:{node.lineno}: import {name}")
    assert offenders == []


def test_checker_verifies_with_heavy_dependencies_blocked(certs: Certs) -> None:
    """The checker runs when numpy, solvers and the rest of tvmip cannot be imported."""
    script = (
        "import sys\n"
        "class Block:\n"
        "    banned = ('numpy', 'highspy', 'sympy', 'flint', 'pulp', 'networkx',\n"
        "              'click',\n"
        "              'tqdm', 'scipy')\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        top = name.split('.')[0]\n"
        "        if top in self.banned or (name.startswith('tvmip.') and\n"
        "                not name.startswith('tvmip.checker')):\n"
        "            raise ImportError('blocked: ' + name)\n"
        "        return None\n"
        "sys.meta_path.insert(0, Block())\n"
        "from tvmip.checker.verify import check_file\n"
        "print(check_file(sys.argv[1]).line)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script, str(certs.paths["demo_gz"])],
        check=False,
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_TIMEOUT,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == valid_line(37)


def test_python_m_tvmip_checker_gives_the_same_verdicts(
    certs: Certs, tmp_path: Path
) -> None:
    def run(path: Path) -> Outcome:
        proc = subprocess.run(
            [sys.executable, "-m", "tvmip.checker", str(path)],
            check=False,
            capture_output=True,
            text=True,
            timeout=SUBPROCESS_TIMEOUT,
        )
        return Outcome(
            proc.returncode, proc.stdout, proc.stderr, "python -m tvmip.checker"
        )

    assert assert_verdict(run(certs.paths["demo"]), "VALID") == valid_line(37)
    assert assert_verdict(run(certs.paths["demo_gz"]), "VALID") == valid_line(37)
    cert = read(certs, "demo")
    cert.claim["value"] += 1
    assert_verdict(run(write(tmp_path, "plus-one", cert)), "INVALID")
    assert_verdict(run(write(tmp_path, "empty", b"")), "error")
