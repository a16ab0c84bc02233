"""Race tvmip's exact activation-region count against relucent's BFS enumeration.

relucent (PyPI, "Explore the polyhedral complexes of ReLU neural networks") is an
optional benchmark competitor, never a dependency of tvmip.  Set-up::

    pip install relucent torch==2.13.0

Usage::

    python bench/relucent_race.py NET.json [--box LO,HI] [--time-limit S]
    python bench/relucent_race.py A.json B.json ... --markdown   # one table row each
    python bench/relucent_race.py --suite DIR --markdown   # the RELUCENT.md table
    python bench/relucent_race.py --write-suite DIR   # just write the suite's networks

What is compared.  tvmip counts the non-empty activation regions (sign patterns
with state ``0`` for neurons identically zero on the region) of R^n0 or of an open
box.  relucent's ``Complex.bfs()`` walks the top-dimensional cells of the
polyhedral complex (one cell per all-nonzero sign sequence reached by crossing one
certified facet = flipping one sign); ``len(complex)`` is that number of cells.
For a network whose bent-hyperplane arrangement is *simple* (no two neurons share
a facet, no neuron identically zero) the two numbers are the same thing.  On the
degenerate networks tvmip is built for, relucent stops with
``NonGenericArrangementError`` (coincident hyperplanes, e.g. duplicated neurons),
``ValueError`` (start point on a hyperplane: a neuron identically zero) or
``AmbiguousGeometryError`` (float64 cannot decide): these are reported as the
outcome, never turned into a number.

The conversion is exact in rationals, rounded once to float64: identity layers
are multiplied into the next affine map (``merge_identity``), a box ``lo < x < hi``
becomes the cube ``(-1, 1)^n0`` by the change of variables ``x = c + h * y``
folded into the first layer, and relucent gets its own float64 ``ReLUNetwork``
(not a float32 ``torch.nn.Sequential``).  relucent runs in a subprocess (its own
process group, killed on timeout) so that a hang, a crash or a Gurobi licence
error is contained.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path
from typing import Any

Affine = tuple[list[list[Fraction]], list[Fraction]]


# --------------------------------------------------------------------------- exact conversion


def _matmul(a: list[list[Fraction]], b: list[list[Fraction]]) -> list[list[Fraction]]:
    return [[sum((row[k] * b[k][j] for k in range(len(b))), Fraction(0))
             for j in range(len(b[0]))] for row in a]


def _matvec(a: list[list[Fraction]], v: list[Fraction]) -> list[Fraction]:
    return [sum((x * y for x, y in zip(row, v)), Fraction(0)) for row in a]


def relucent_layers(network: Any, box: Any = None, merge_identity: bool = True) -> dict[str, Any]:
    """The network as relucent sees it: exact rational affine maps and their kinds.

    Returns ``{"layers": [(W, b, kind)], "output": (W, b), "relu_widths": [...],
    "center": c, "half": h}`` where ``kind`` is ``"relu"`` or ``"identity"`` (the
    latter only with ``merge_identity`` False) and the input is ``y`` with
    ``x = c + h * y`` (``c = 0, h = 1`` without a box).
    """
    n0 = network.input_dim
    if box is None:
        center = [Fraction(0)] * n0
        half = [Fraction(1)] * n0
    else:
        center = [(lo + hi) / 2 for lo, hi in zip(box.lo, box.hi)]
        half = [(hi - lo) / 2 for lo, hi in zip(box.lo, box.hi)]
    # pending affine map y -> A y + a that the next layer must absorb
    pend_a: list[list[Fraction]] = [[half[i] if i == j else Fraction(0) for j in range(n0)]
                                    for i in range(n0)]
    pend_v: list[Fraction] = list(center)
    out: list[tuple[list[list[Fraction]], list[Fraction], str]] = []
    for layer in network.layers:
        w = [list(row) for row in layer.weights]
        b = list(layer.biases)
        if pend_a is not None:
            b = [x + y for x, y in zip(_matvec(w, pend_v), b)]
            w = _matmul(w, pend_a)
            pend_a, pend_v = None, None  # type: ignore[assignment]
        if not layer.activation.stateful and merge_identity:
            pend_a, pend_v = w, b
            continue
        out.append((w, b, layer.activation.spec))
    w = [list(row) for row in network.output.weights]
    b = list(network.output.biases)
    if pend_a is not None:
        b = [x + y for x, y in zip(_matvec(w, pend_v), b)]
        w = _matmul(w, pend_a)
    return {
        "layers": out,
        "output": (w, b),
        "relu_widths": [len(bb) for _, bb, kind in out if kind == "relu"],
        "center": center,
        "half": half,
    }


def _preactivations(conv: dict[str, Any], y: list[Fraction]) -> list[Fraction]:
    """Exact ReLU pre-activations (sign-sequence order) of the converted net at ``y``."""
    z = list(y)
    pre: list[Fraction] = []
    for w, b, kind in conv["layers"]:
        z = [x + c for x, c in zip(_matvec(w, z), b)]
        if kind == "relu":
            pre.extend(z)
            z = [max(x, Fraction(0)) for x in z]
    return pre


def generic_start(conv: dict[str, Any], n0: int, seed: int = 1,
                  tries: int = 64) -> tuple[list[float], int]:
    """A float start point in (-1, 1)^n0 (the box, or near the origin of R^n0) with no
    pre-activation zero, chosen to maximise the smallest |pre-activation| (checked
    exactly at the float point).  Returns the point and how many pre-activations are
    zero there (0 unless some neuron is identically zero around every candidate)."""
    rng = random.Random(seed)
    best: tuple[tuple[int, Fraction], list[float]] | None = None
    for _ in range(tries):
        y = [float(Fraction(rng.randint(-900, 900), 1009)) for _ in range(n0)]
        pre = _preactivations(conv, [Fraction(v) for v in y])
        zeros = sum(1 for p in pre if p == 0)
        margin = min((abs(p) for p in pre if p != 0), default=Fraction(0))
        key = (-zeros, margin)
        if best is None or key > best[0]:
            best = (key, y)
    assert best is not None
    return best[1], -best[0][0]


def _floats(conv: dict[str, Any]) -> tuple[list[dict[str, Any]], int]:
    """JSON-able float64 layers for the child, and how many numbers were rounded."""
    inexact = 0

    def f(q: Fraction) -> float:
        nonlocal inexact
        x = float(q)
        inexact += Fraction(x) != q
        return x

    layers = [{"W": [[f(q) for q in row] for row in w], "b": [f(q) for q in b], "kind": kind}
              for w, b, kind in conv["layers"]]
    w, b = conv["output"]
    layers.append({"W": [[f(q) for q in row] for row in w], "b": [f(q) for q in b],
                   "kind": "output"})
    return layers, inexact


# --------------------------------------------------------------------------- relucent child


def _child(job_path: str, out_path: str) -> None:
    """Runs in a fresh interpreter: build the relucent network, BFS, write JSON."""
    job = json.loads(Path(job_path).read_text())
    result: dict[str, Any] = {}
    t_import = time.perf_counter()
    try:
        import numpy as np
        import relucent
        from relucent.model.model import LinearLayer, ReLULayer, ReLUNetwork

        relucent.update_settings(VERBOSE=0)
        result["relucent_version"] = relucent.__version__
        layers: list[Any] = []
        for spec in job["layers"]:
            w = np.asarray(spec["W"], dtype=np.float64)
            b = np.asarray(spec["b"], dtype=np.float64).reshape(1, -1)
            layers.append(LinearLayer(weight=w, bias=b))
            if spec["kind"] == "relu":
                layers.append(ReLULayer())
        net = ReLUNetwork(layers, input_shape=(job["n0"],))
        cx = relucent.Complex(net)
        result["import_seconds"] = time.perf_counter() - t_import
        kwargs: dict[str, Any] = {"nworkers": job["nworkers"], "verify": job["verify"]}
        if job["box"]:
            kwargs.update(cube_radius=1.0, cube_mode="intersect")
        t0 = time.perf_counter()
        try:
            if job.get("start_ss") is not None:
                # a start cell given by its sign sequence (zero pre-activations relabelled)
                start: Any = cx.ss2poly(np.asarray(job["start_ss"], dtype=np.int8))
            else:
                start = np.asarray(job["start"], dtype=np.float64)
            res = cx.bfs(start=start, **kwargs)
            result["relucent_seconds"] = time.perf_counter() - t0
            result["relucent_regions"] = len(cx)
            result["complete"] = bool(res.complete)
            result["verified"] = res.verified
            result["bad_shi_computations"] = len(res.bad_shi_computations)
            dims = sorted({int(p.dim) for p in cx})
            result["cell_dims"] = dims
            if job["patterns"]:
                sym = {1: "+", -1: "-", 0: "0"}
                result["patterns"] = ["".join(sym[int(s)] for s in p.ss_np.ravel()) for p in cx]
            result["error"] = None
        except Exception as exc:  # noqa: BLE001 - relucent's refusal is the outcome
            result["relucent_seconds"] = time.perf_counter() - t0
            result["relucent_regions"] = None
            result["partial_regions"] = len(cx)
            result["error"] = f"{type(exc).__name__}: {exc}"
    except Exception as exc:  # noqa: BLE001 - import, licence, construction failures
        result["relucent_regions"] = None
        result["error"] = f"{type(exc).__name__}: {exc}"
    Path(out_path).write_text(json.dumps(result))


def run_relucent(conv: dict[str, Any], n0: int, box: bool, time_limit: float, *,
                 nworkers: int = 1, verify: bool = True, patterns: bool = False,
                 seed: int = 1, fix_start: bool = False) -> dict[str, Any]:
    """relucent's BFS count of the converted network in a subprocess with a timeout.

    ``fix_start``: when some pre-activation is exactly zero at the start point (a
    neuron identically zero there, which relucent reads as "the start point lies on
    a hyperplane"), start relucent from the cell whose sign sequence labels those
    neurons ``-1`` instead: their rows are then the constant ``0 <= 0``, which
    relucent drops.  Without it, such networks end with relucent's ``ValueError``.
    """
    layers, inexact = _floats(conv)
    start, start_zeros = generic_start(conv, n0, seed=seed)
    start_ss = None
    if fix_start and start_zeros:
        pre = _preactivations(conv, [Fraction(v) for v in start])
        start_ss = [1 if p > 0 else -1 for p in pre]
    job = {"layers": layers, "n0": n0, "box": box, "start": start, "start_ss": start_ss,
           "nworkers": nworkers, "verify": verify, "patterns": patterns}
    with tempfile.TemporaryDirectory(prefix="relucent-race-") as tmp:
        job_path, out_path = os.path.join(tmp, "job.json"), os.path.join(tmp, "out.json")
        Path(job_path).write_text(json.dumps(job))
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--_child", job_path, out_path],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
        )
        try:
            _, stderr = proc.communicate(timeout=time_limit)
            timed_out = False
        except subprocess.TimeoutExpired:
            timed_out = True
            os.killpg(proc.pid, signal.SIGKILL)  # the child and relucent's workers only
            _, stderr = proc.communicate()
        wall = time.perf_counter() - t0
        if timed_out:
            out: dict[str, Any] = {"relucent_regions": None, "relucent_seconds": wall,
                                   "error": f"timeout after {time_limit:g} s"}
        elif os.path.exists(out_path):
            out = json.loads(Path(out_path).read_text())
        else:
            tail = (stderr or "").strip().splitlines()[-3:]
            out = {"relucent_regions": None,
                   "error": f"relucent process died (exit {proc.returncode}): {' | '.join(tail)}"}
    out["relucent_wall_seconds"] = wall
    out["float_rounded_numbers"] = inexact
    out["start_zero_preactivations"] = start_zeros
    return out


# --------------------------------------------------------------------------- test networks


def random_ternary(n0: int, widths: list[int], seed: int, *, biases: str = "rational",
                   duplicates: int = 0) -> dict[str, Any]:
    """A random ternary network (tvmip JSON), reproducible from ``seed``.

    ``biases``: ``"rational"`` draws p/q with 2 <= q <= 13 (rarely coincident
    hyperplanes), ``"small"`` draws from {-2, -3/2, ..., 2} (many coincidences and
    zero biases).  ``duplicates``: in every layer, that many neurons are replaced by a
    copy (or the negation, weights and bias) of another neuron of the same layer.
    """
    rng = random.Random(seed)

    def bias() -> str:
        if biases == "small":
            return str(Fraction(rng.randint(-4, 4), 2))
        q = rng.randint(2, 13)
        return str(Fraction(rng.choice([-1, 1]) * rng.randint(1, 3 * q), q))

    layers = []
    fan_in = n0
    for width in widths:
        w = [[rng.choice([-1, 0, 1]) for _ in range(fan_in)] for _ in range(width)]
        b = [bias() for _ in range(width)]
        for k in rng.sample(range(1, width), min(duplicates, width - 1)):
            src = rng.randrange(k)
            sign = rng.choice([1, -1])
            w[k] = [sign * x for x in w[src]]
            b[k] = str(sign * Fraction(b[src]))
        layers.append({"weights": w, "biases": b, "activation": "relu"})
        fan_in = width
    out = {"weights": [[rng.choice([-1, 0, 1]) for _ in range(fan_in)]], "biases": [0]}
    name = f"rand_n{n0}_{'-'.join(map(str, widths))}_{biases}_dup{duplicates}_s{seed}"
    return {"format": "tvmip-network/1", "name": name, "input_dim": n0, "layers": layers,
            "output": out}


def thin_triangle(eps: str, at: int = 0) -> dict[str, Any]:
    """Three ReLUs on R^2 whose lines x = at, y = at, x + y = 2 at + eps bound a
    triangle of side ``eps`` (7 regions; 6 once 2 at + eps rounds to 2 at)."""
    e = Fraction(eps)
    return {"format": "tvmip-network/1", "name": f"thin_triangle_{eps}_at{at}", "input_dim": 2,
            "layers": [{"weights": [[1, 0], [0, 1], [-1, -1]],
                        "biases": [-at, -at, str(2 * at + e)], "activation": "relu"}],
            "output": {"weights": [[1, 1, 1]], "biases": [0]}}


def thin_strip(eps: str, at: int = 0) -> dict[str, Any]:
    """The parallel lines x = at and x = at + eps, crossed by y = 0 (6 regions; 4 once
    at + eps rounds to at)."""
    e = Fraction(eps)
    return {"format": "tvmip-network/1", "name": f"thin_strip_{eps}_at{at}", "input_dim": 2,
            "layers": [{"weights": [[1, 0], [-1, 0], [0, 1]],
                        "biases": [-at, str(at + e), 0], "activation": "relu"}],
            "output": {"weights": [[1, 1, 1]], "biases": [0]}}


RANDOM_SUITE = [  # (n0, widths, seed, biases, duplicates)
    (2, [8, 8], 1, "rational", 0),
    (2, [12, 8], 2, "rational", 0),
    (2, [16, 12], 3, "rational", 0),
    (2, [8, 8, 8], 4, "rational", 0),
    (2, [12, 12, 8], 5, "rational", 0),
    (3, [8, 8], 6, "rational", 0),
    (3, [12, 8], 7, "rational", 0),
    (3, [8, 8, 8], 8, "rational", 0),
    (2, [12, 8], 9, "rational", 2),
    (3, [12, 8], 10, "rational", 2),
    (2, [8, 8], 11, "small", 0),
    (3, [12, 8], 12, "small", 0),
]


def write_suite(directory: str | os.PathLike[str]) -> list[Path]:
    """Write the fixed-seed random and thin-region networks to ``directory``."""
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    nets = [random_ternary(n0, w, seed, biases=b, duplicates=dup)
            for n0, w, seed, b, dup in RANDOM_SUITE]
    tiny = ("1/1000000", "1/1000000000000", "1/1000000000000000", "1/100000000000000000")
    nets += [thin_triangle(e, at) for at in (0, 1) for e in tiny]
    nets += [thin_strip(e, at) for at in (0, 1) for e in tiny]
    paths = []
    for net in nets:
        path = d / f"{net['name'].replace('/', '_')}.json"
        path.write_text(json.dumps(net, indent=1))
        paths.append(path)
    return paths


CONSTRUCTIONS = [  # (kind, n0, width, depth) rebuilt with `tvmip construct`
    ("ternary-relu", 2, 4, 2),
    ("ternary-relu", 2, 4, 3),
    ("ternary-relu", 2, 6, 2),
    ("ternary-relu", 3, 6, 2),
    ("ternary-alternating", 2, 6, 2),
    ("ternary-wide", 2, 6, 2),
    ("general", 2, 4, 2),
    ("general", 2, 6, 2),
    ("general", 2, 6, 3),
]


def suite_jobs(directory: str | os.PathLike[str]) -> list[tuple[str, str | None]]:
    """(network, box) for the RELUCENT.md table: instances/ with the domains of
    instances/expected.json, the constructions above, then :func:`write_suite`."""
    root = Path(__file__).resolve().parent.parent
    jobs: list[tuple[str, str | None]] = []
    for entry in json.loads((root / "instances" / "expected.json").read_text()):
        d = entry["domain"]
        box = ",".join(str(v) for v in d["lo"] + d["hi"]) if d else None
        jobs.append((str(root / "instances" / entry["network"]), box))
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    for kind, n0, width, depth in CONSTRUCTIONS:
        path = d / f"{kind}_n{n0}_w{width}_d{depth}.json"
        subprocess.run([sys.executable, "-c", "from tvmip.cli import main; main()", "construct",
                        kind, "--n0", str(n0), "--width", str(width), "--depth", str(depth),
                        "-o", str(path)], check=True, stdout=subprocess.DEVNULL)
        jobs.append((str(path), None))
    jobs += [(str(p), None) for p in write_suite(d)]
    return jobs


# --------------------------------------------------------------------------- the race


def race(network_path: str | os.PathLike[str], box: str | None = None, time_limit: float = 600.0,
         *, nworkers: int = 1, verify: bool = True, merge_identity: bool = True,
         fix_start: bool = False, diff_limit: int = 20000) -> dict[str, Any]:
    """Count ``network_path`` with tvmip (exact) and relucent (float BFS) and compare.

    ``box`` is tvmip's ``--box`` text ("LO,HI" or per coordinate).  Returns
    ``relucent_regions``, ``relucent_seconds`` (its ``bfs()`` call, certification
    included with ``verify``), ``tvmip_regions``, ``tvmip_seconds``, ``agree`` and
    ``error`` (relucent's failure, or tvmip's), plus diagnostics; when the counts
    ``agree`` also requires the same set of sign patterns when tvmip's count is at
    most ``diff_limit`` (``patterns_match``; the patterns only one side found are
    ``only_relucent`` / ``only_tvmip``, at most 10 each).
    """
    import tvmip
    from tvmip.engine.run import Limits

    network = tvmip.load_network(str(network_path))
    domain = tvmip.parse_box(box, network.input_dim) if box else None
    conv = relucent_layers(network, domain, merge_identity=merge_identity)

    load_before = os.getloadavg()[0]
    t0 = time.perf_counter()
    tv = tvmip.count(network, domain, limits=Limits(time_limit=time_limit))
    tv_wall = time.perf_counter() - t0
    out: dict[str, Any] = {
        "network": str(network_path),
        "box": box,
        "n0": network.input_dim,
        "widths": [
            str(layer.width) if layer.activation.stateful else f"i{layer.width}"
            for layer in network.layers
        ],
        "ternary": network.ternary,
        "tvmip_regions": tv.activation_regions,
        "tvmip_exact": tv.exact,
        "tvmip_seconds": tv.seconds,
        "tvmip_wall_seconds": tv_wall,
    }
    rel = run_relucent(conv, network.input_dim, domain is not None, time_limit,
                       nworkers=nworkers, verify=verify,
                       patterns=tv.activation_regions <= diff_limit,
                       fix_start=fix_start)
    patterns = rel.pop("patterns", None)
    out.update(rel)
    out.setdefault("relucent_seconds", None)
    if not tv.exact:
        out["tvmip_stop_reason"] = tv.stop_reason  # its count is then a lower bound
    if out.get("error") is None and not tv.exact:
        out["error"] = f"tvmip stopped early ({tv.stop_reason}): its count is a lower bound"
    if out.get("error") is None and not out.get("complete", True):
        out["error"] = "relucent search incomplete"
    out["agree"] = bool(out["error"] is None and out["relucent_regions"] == tv.activation_regions)
    if patterns is not None and out["relucent_regions"] is not None and tv.exact:
        # compare the sign patterns themselves (relucent's cells are all-nonzero patterns)
        mine = {r.pattern for r in tvmip.regions(network, domain, glue=False)}
        theirs = set(patterns)
        out["relucent_duplicate_patterns"] = len(patterns) - len(theirs)
        out["only_relucent"] = sorted(theirs - mine)[:10]
        out["only_tvmip"] = sorted(mine - theirs)[:10]
        out["n_only_relucent"] = len(theirs - mine)
        out["n_only_tvmip"] = len(mine - theirs)
        out["patterns_match"] = mine == theirs and len(patterns) == len(theirs)
        out["agree"] = out["agree"] and out["patterns_match"]
    out["load_1min"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
    if out["relucent_seconds"] and out["tvmip_seconds"] and out["relucent_regions"] is not None:
        out["ratio"] = out["relucent_seconds"] / max(out["tvmip_seconds"], 1e-9)
    return out


def _short(error: str | None, width: int = 70) -> str:
    """A table-sized summary of relucent's outcome."""
    if error is None:
        return ""
    m = re.match(r"NonGenericArrangementError: halfspaces (\[[\d, ]+\])", error)
    if m:
        return f"NonGenericArrangementError: rows {m.group(1)} one hyperplane"
    if "Start point must not be on a hyperplane" in error:
        return "ValueError: start point on a hyperplane (a neuron is 0 there)"
    m = re.match(r"AmbiguousGeometryError: Chebyshev LP radius (\S+)", error)
    if m:
        return f"AmbiguousGeometryError: Chebyshev radius {m.group(1)}"
    error = error.replace("|", "/").replace("\n", " ")
    return error if len(error) <= width else error[: width - 1] + "…"


def markdown_row(r: dict[str, Any]) -> str:
    name = Path(r["network"]).name + (f" box {r['box']}" if r["box"] else "")
    rel = r["relucent_regions"] if r["relucent_regions"] is not None else "—"
    tv = ("" if r["tvmip_exact"] else ">= ") + str(r["tvmip_regions"])
    rel_t = f"{r['relucent_seconds']:.2f}" if r.get("relucent_seconds") is not None else "—"
    ratio = f"{r['ratio']:.1f}" if r.get("ratio") is not None else "—"
    agree = "yes" if r["agree"] else ("**no**" if r["relucent_regions"] is not None else "—")
    return (f"| {name} | {r['n0']} | {','.join(r['widths'])} | {tv} | "
            f"{r['tvmip_seconds']:.2f} | {rel} | {rel_t} | {ratio} | {agree} | "
            f"{_short(r.get('error'))} |")


MARKDOWN_HEADER = (
    "| network | n0 | widths | tvmip regions | tvmip s | relucent regions | relucent s | "
    "ratio | agree | relucent outcome |\n|---|---|---|---|---|---|---|---|---|---|"
)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--_child"]:
        _child(argv[1], argv[2])
        return 0
    if argv[:1] == ["--write-suite"]:
        for path, _ in suite_jobs(argv[1]):
            print(path)
        return 0
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("networks", nargs="*", help="tvmip network JSON file(s)")
    ap.add_argument("--suite", metavar="DIR",
                    help="race the RELUCENT.md suite (instances/ with their boxes, constructions, "
                         "random and thin networks written to DIR)")
    ap.add_argument("--box", help="open box LO,HI (or LO1,..,LOn,HI1,..,HIn), as for tvmip count")
    ap.add_argument("--time-limit", type=float, default=600.0, help="seconds, for each tool")
    ap.add_argument("--nworkers", type=int, default=1, help="relucent worker processes (default 1)")
    ap.add_argument("--no-verify", action="store_true", help="skip relucent's final certification")
    ap.add_argument("--keep-identity", action="store_true",
                    help="give relucent identity layers as consecutive Linear layers instead of "
                         "multiplying them out")
    ap.add_argument("--fix-start", action="store_true",
                    help="if a neuron is identically zero at the start point, start relucent from "
                         "a sign sequence labelling it -1 (see run_relucent)")
    ap.add_argument("--repeat", type=int, default=1,
                    help="race each network N times and keep each tool's best time (counts must "
                         "not change between runs)")
    ap.add_argument("--markdown", action="store_true",
                    help="print a markdown table row per network")
    ap.add_argument("--json", action="store_true", help="print the full result dict as JSON")
    args = ap.parse_args(argv)
    jobs = [(path, args.box) for path in args.networks]
    if args.suite:
        jobs += suite_jobs(args.suite)
    if not jobs:
        ap.error("give network files or --suite DIR")
    if args.markdown:
        print(MARKDOWN_HEADER)
    for path, box in jobs:
        r = race(path, box, args.time_limit, nworkers=args.nworkers,
                 verify=not args.no_verify, merge_identity=not args.keep_identity,
                 fix_start=args.fix_start)
        for _ in range(args.repeat - 1):
            again = race(path, box, args.time_limit, nworkers=args.nworkers,
                         verify=not args.no_verify, merge_identity=not args.keep_identity,
                         fix_start=args.fix_start)
            if (again["tvmip_regions"], again["relucent_regions"]) != (
                    r["tvmip_regions"], r["relucent_regions"]):
                r["error"] = (r.get("error") or "") + " [counts changed between repeats]"
                r["agree"] = False
            for key in ("tvmip_seconds", "relucent_seconds"):
                if again.get(key) is not None and r.get(key) is not None:
                    r[key] = min(r[key], again[key])
            r["load_1min"] += again["load_1min"]
        if r.get("relucent_regions") is not None and r.get("relucent_seconds"):
            r["ratio"] = r["relucent_seconds"] / max(r["tvmip_seconds"], 1e-9)
        if args.json:
            print(json.dumps(r))
        elif args.markdown:
            print(markdown_row(r), flush=True)
        else:
            rel_t = r.get("relucent_seconds")
            at_least = "" if r["tvmip_exact"] else ">= "
            print(f"{Path(path).name}: tvmip {at_least}{r['tvmip_regions']} in "
                  f"{r['tvmip_seconds']:.2f} s; "
                  f"relucent {r['relucent_regions']}"
                  + (f" in {rel_t:.2f} s" if rel_t is not None else "")
                  + (f" (x{r['ratio']:.1f})" if r.get("ratio") else "")
                  + f"; agree={r['agree']}"
                  + (f"; {r['error']}" if r.get("error") else ""), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
