"""tvmip benchmarks: speed and scale, measured side by side in one run.

    python bench/run.py            # everything (about 10-20 minutes on 2 cores)
    python bench/run.py --quick    # smaller instances, one repetition

Prints a report and appends it to bench/RESULTS.md with the machine it ran on.
Each measurement runs in a fresh child process (so peak memory is its own) and
is repeated; the report quotes medians, and ratios of medians measured in this
run.  Timed figures depend on the machine's load, which the report records.

Instances are generated here, deterministically: tvmip's ternary constructions
(`tvmip construct`) and random ternary networks from fixed seeds.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
from fractions import Fraction
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "RESULTS.md"
PROOFS = HERE.parent / "proofs"
# exact linear-region certificates of proofs/ timed by the checker (full run, --quick)
LINEAR_PROOFS = (("n2-ternary-relu-w8-d3", "n3-ternary-relu-w6-d3", "n2-ternary-relu-w6-d4",
                  "n3-ternary-relu-w15-d2"),
                 ("n2-ternary-relu-w6-d3", "n3-ternary-relu-w6-d2"))

# The child: one count (or check) of one instance, reporting time, counts and memory.
CHILD = r"""
import json, resource, sys, time
import tvmip
from tvmip.engine.run import Limits
job = json.loads(sys.argv[1])
if job.get("what") == "check":
    start = time.perf_counter()
    verdict = tvmip.check(job["certificate"])
    out = {"seconds": time.perf_counter() - start, "regions": verdict.activation_regions,
           "valid": verdict.valid}
elif job.get("what") == "milp":
    from tvmip.model.scaled import scale_network
    from tvmip.search.mip import milp_count
    net = tvmip.load_network(job["network"])
    box = tvmip.parse_box(job["box"], net.input_dim) if job.get("box") else None
    start = time.perf_counter()
    result = milp_count(scale_network(net), box, time_limit=job.get("time_limit"))
    out = {"seconds": time.perf_counter() - start, "regions": result.regions,
           "complete": result.complete}
else:
    net = tvmip.load_network(job["network"])
    box = tvmip.parse_box(job["box"], net.input_dim) if job.get("box") else None
    start = time.perf_counter()
    result = tvmip.count(net, box, certificate=job.get("certificate"), workers=job.get("workers", 1),
                         linear=job.get("linear", False), progress=False,
                         engine=job.get("engine", "auto"))
    out = {"seconds": time.perf_counter() - start, "regions": result.activation_regions,
           "lps": result.stats.get("lps", 0)}
usage = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
out["peak_mb"] = max(usage, children) / 1024
print(json.dumps(out))
"""


def run_child(job: dict, repeat: int) -> dict:
    """Median seconds over ``repeat`` fresh processes (other fields from the last)."""
    results = []
    for _ in range(repeat):
        proc = subprocess.run([sys.executable, "-c", CHILD, json.dumps(job)], capture_output=True,
                              text=True, check=False)
        if proc.returncode != 0:
            raise RuntimeError(f"{job}: {proc.stderr.strip().splitlines()[-1:]}")
        results.append(json.loads(proc.stdout))
    summary = dict(results[-1])
    summary["seconds"] = statistics.median(r["seconds"] for r in results)
    summary["runs"] = repeat
    return summary


def lp_seconds(runs: int = 2000) -> float:
    """One HiGHS run, timed here: the median over ``runs`` solves of a small max-slack
    LP (n0 = 3, 24 rows) after one row is added, as the search does; the unit for
    cost per region on any machine."""
    import time

    from tvmip.evidence.lp import MaxSlackLP

    rng = random.Random(5)
    lp = MaxSlackLP(3)
    for _ in range(24):
        lp.push(tuple(rng.randint(-3, 3) for _ in range(3)) + (rng.randint(1, 9),))
    lp.solve()
    times = []
    for i in range(runs):  # as in the search: one row pushed, solved, popped
        lp.push((1, i % 3 - 1, 1, i % 5))
        start = time.perf_counter()
        lp.solve()
        times.append(time.perf_counter() - start)
        lp.pop()
    return statistics.median(times)


def random_ternary(n0: int, widths: list[int], seed: int,
                   activations: tuple[object, ...] = ("relu",)) -> dict:
    """A random ternary network: weights -1/0/1 (density 0.7), rational biases; the
    hidden layers take ``activations`` in turn."""
    rng = random.Random(seed)
    layers, fan_in = [], n0
    for width in widths:
        rows = []
        for _ in range(width):
            row = [rng.choice((-1, 1)) if rng.random() < 0.7 else 0 for _ in range(fan_in)]
            if not any(row):
                row[rng.randrange(fan_in)] = 1
            rows.append(row)
        biases = [str(Fraction(rng.randint(-20, 20), rng.choice((3, 4, 5, 7)))) for _ in range(width)]
        layers.append({"weights": rows, "biases": biases,
                       "activation": activations[len(layers) % len(activations)]})
        fan_in = width
    return {"input_dim": n0, "layers": layers,
            "output": {"weights": [[rng.choice((-1, 1)) for _ in range(fan_in)]], "biases": [0]}}


def instances(quick: bool) -> dict[str, dict]:
    """Name -> network JSON: tvmip's ternary-relu constructions (the growth family is
    n0 = 2) and random ternary networks from fixed seeds."""
    from tvmip.theory.constructions import build

    def construct(n0: int, width: int, depth: int) -> dict:
        return build("ternary-relu", n0, width, depth).to_json()

    nets = {
        "c2-w4-d3": construct(2, 4, 3),
        "c2-w6-d3": construct(2, 6, 3),
        "c3-w6-d2": construct(3, 6, 2),
        "r2-16x3": random_ternary(2, [16, 16, 16], 11),
        "r3-16x2": random_ternary(3, [16, 16], 13),
        "r4-12x2": random_ternary(4, [12, 12], 15),
        "step3-24x2": random_ternary(3, [24, 24], 21, ("step", "sign")),
        "q2-6x2": random_ternary(2, [6, 6], 23, (QUANTIZE,)),
    }
    if not quick:
        nets.update({
            "c2-w8-d3": construct(2, 8, 3),
            "c2-w6-d4": construct(2, 6, 4),
            "c3-w6-d3": construct(3, 6, 3),
            "c4-w8-d2": construct(4, 8, 2),
            "r3-24x2": random_ternary(3, [24, 24], 17),
        })
    return nets


QUANTIZE = {"quantize": {"scale": "1/2", "zero_point": 0, "qmin": -4, "qmax": 4}}
KINDS = {"c": "ternary-relu construction", "r": "random ternary (fixed seed)"}


def relucent_section(paths: dict[str, Path], tmp: str) -> str:
    """relucent (optional: `pip install relucent torch==2.13.0`) on the instances it
    accepts; see bench/RELUCENT.md for why it refuses the degenerate ones."""
    try:
        import relucent  # noqa: F401
    except ImportError:
        return "### relucent\n\nnot installed (`pip install relucent torch==2.13.0`): skipped.\n"
    sys.path.insert(0, str(HERE))
    from relucent_race import race

    from tvmip.theory.constructions import build

    general = Path(tmp) / "general-n2-w6-d3.json"
    general.write_text(json.dumps(build("general", 2, 6, 3).to_json()))
    rows = ["### relucent (float BFS over neighbouring regions; see bench/RELUCENT.md)", "",
            "| instance | tvmip regions | tvmip s | relucent regions | relucent s | tvmip faster by |",
            "|---|---:|---:|---:|---:|---:|"]
    for name, path in [("general-n2-w6-d3", general), *paths.items()]:
        result = race(path, time_limit=900)
        if result.get("error"):
            rows.append(f"| {name} | {result['tvmip_regions']} | {result['tvmip_seconds']:.2f} "
                        f"| refused: {str(result['error']).splitlines()[0][:60]} | | |")
        else:
            rows.append(f"| {name} | {result['tvmip_regions']} | {result['tvmip_seconds']:.2f} "
                        f"| {result['relucent_regions']} | {result['relucent_seconds']:.2f} "
                        f"| x{result['relucent_seconds'] / result['tvmip_seconds']:.1f} |")
    return "\n".join(rows) + "\n"


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor()) \
        if Path("/proc/cpuinfo").exists() else platform.processor()
    import numpy

    from tvmip.evidence.lp import silent_highs
    versions = (f"Python {platform.python_version()}, numpy {numpy.__version__}, "
                f"HiGHS {silent_highs().version()}")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return f"{cpu}, {os.cpu_count()} cores; {versions}; load average at start {load:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller instances, one repetition")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (median)")
    parser.add_argument("--no-record", action="store_true", help="do not append to RESULTS.md")
    parser.add_argument("--long", action="store_true",
                        help="also race the MILP on a random n0 = 3 network (about 30 minutes)")
    args = parser.parse_args()
    repeat = 1 if args.quick else args.repeat
    lines = [(f"## {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC"
             f"{' (quick)' if args.quick else ''}"), "", f"Machine: {machine()}.", ""]

    def say(text: str = "") -> None:
        print(text, flush=True)
        lines.append(text)

    lp = lp_seconds()
    say(f"One HiGHS run (a 24-row max-slack LP re-solved, median) on this machine: "
        f"{lp * 1e6:.0f} us; costs per region below are also given in these LP-times.")
    say("")
    with tempfile.TemporaryDirectory() as tmp:
        paths = {}
        for name, net in instances(args.quick).items():
            path = Path(tmp) / (name.split(" ")[0] + ".json")
            path.write_text(json.dumps(net))
            paths[name] = path
        say("### Search with full exact evidence (one process, certificate streamed to disk)")
        say("")
        say("Instances: `cN-wW-dL` = `tvmip construct ternary-relu --n0 N --width W --depth L`; "
            "`rN-WxL` = a random ternary network with n0 = N and L hidden layers of width W "
            "(`bench/run.py:random_ternary`, fixed seeds).")
        say("")
        say("| instance | activation regions | seconds | regions/s | LP-times/region | LPs/region "
            "| peak MB |")
        say("|---|---:|---:|---:|---:|---:|---:|")
        search = {}
        for name, path in paths.items():
            job = {"network": str(path), "certificate": str(Path(tmp) / f"{path.stem}.cert.json.gz")}
            r = run_child(job, repeat)
            search[name] = r
            say(f"| {name} | {r['regions']} | {r['seconds']:.2f} | {r['regions'] / r['seconds']:.0f} "
                f"| {r['seconds'] / r['regions'] / lp:.1f} | {r['lps'] / max(r['regions'], 1):.2f} "
                f"| {r['peak_mb']:.0f} |")
        say("")
        growth = [n for n in search if n.startswith("c2-")]
        small, large = min(growth, key=lambda n: search[n]["regions"]), \
            max(growth, key=lambda n: search[n]["regions"])

        def per_region(n: str) -> float:
            return search[n]["seconds"] / search[n]["regions"]

        say(f"Time per region from {search[small]['regions']} to {search[large]['regions']} regions "
            f"(the c2 family): x{per_region(large) / per_region(small):.2f}; peak memory "
            f"{search[small]['peak_mb']:.0f} MB -> {search[large]['peak_mb']:.0f} MB "
            "(certificates stream to disk).")
        say("")

        say("### Checker (standard library only)")
        say("")
        say("| certificate | regions | seconds | regions/s | LP-times/region |")
        say("|---|---:|---:|---:|---:|")
        for name in (large, "r3-16x2", "step3-24x2", "q2-6x2"):
            cert = Path(tmp) / f"{paths[name].stem}.cert.json.gz"
            r = run_child({"what": "check", "certificate": str(cert)}, repeat)
            say(f"| {name} | {r['regions']} | {r['seconds']:.2f} | {r['regions'] / r['seconds']:.0f} "
                f"| {r['seconds'] / r['regions'] / lp:.2f} |")
        say("")

        say("### Checker on exact linear-region certificates (proofs/)")
        say("")
        say("Facet and no-facet evidence on top of the search tree, as `tvmip prove` writes "
            "it; the regions are activation regions (here each is one linear region).")
        say("")
        say("| certificate | regions | seconds | regions/s | LP-times/region |")
        say("|---|---:|---:|---:|---:|")
        for name in LINEAR_PROOFS[1 if args.quick else 0]:
            r = run_child({"what": "check", "certificate": str(PROOFS / f"{name}.cert.json.gz")},
                          repeat)
            say(f"| {name} | {r['regions']} | {r['seconds']:.2f} | {r['regions'] / r['seconds']:.0f} "
                f"| {r['seconds'] / r['regions'] / lp:.2f} |")
        say("")

        say("### Workers (same certificate)")
        say("")
        target = "c3-w6-d3" if "c3-w6-d3" in paths else "c2-w6-d3"
        one = run_child({"network": str(paths[target]), "workers": 1}, repeat)
        two = run_child({"network": str(paths[target]), "workers": 2}, repeat)
        say(f"{target}: --workers 1 {one['seconds']:.2f} s, --workers 2 {two['seconds']:.2f} s, "
            f"speed-up x{one['seconds'] / two['seconds']:.2f}.")
        say("")

        say("### One input: breakpoint engine")
        say("")
        from tvmip.theory.constructions import build
        width, depth = (9, 5) if args.quick else (9, 6)
        path = Path(tmp) / "n1.json"
        path.write_text(json.dumps(build("ternary-relu", 1, width, depth).to_json()))
        plain = run_child({"network": str(path)}, repeat)
        cert = Path(tmp) / "n1.cert.json.gz"
        certified = run_child({"network": str(path), "certificate": str(cert)}, repeat)
        checked = run_child({"what": "check", "certificate": str(cert)}, 1)
        say(f"ternary-relu n0=1 width {width} depth {depth}: {plain['regions']} pieces counted in "
            f"{plain['seconds']:.2f} s, counted and certified in {certified['seconds']:.2f} s "
            f"(peak {certified['peak_mb']:.0f} MB); checked in {checked['seconds']:.1f} s "
            f"({checked['regions'] / checked['seconds']:.0f} regions/s).")
        say("")

        say("### MILP counting baseline (Serra et al. 2018) vs the search tree")
        say("")
        say("| instance | box | regions | MILP seconds | search seconds | search faster by |")
        say("|---|---|---:|---:|---:|---:|")
        milp_cases = [("c2-w4-d3", "-1,10")]
        if args.long:
            milp_cases.append(("r3-16x2", "-4,4"))  # about 30 minutes for the MILP
        for name, box in milp_cases:
            tree = run_child({"network": str(paths[name]), "box": box}, repeat)
            milp = run_child({"what": "milp", "network": str(paths[name]), "box": box,
                              "time_limit": 3600}, 1)
            assert milp["regions"] == tree["regions"] or not milp["complete"], (milp, tree)
            say(f"| {name} | ({box})^n0 | {tree['regions']} | {milp['seconds']:.1f} "
                f"| {tree['seconds']:.2f} | x{milp['seconds'] / tree['seconds']:.0f} |")
        say("")
        say(relucent_section(paths, tmp))

    if not args.no_record:
        with open(RESULTS, "a") as out:
            out.write("\n".join(lines) + "\n\n")
        print(f"appended to {RESULTS}")


if __name__ == "__main__":
    main()
