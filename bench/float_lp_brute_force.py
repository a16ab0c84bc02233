"""A float-LP brute force, the method tvmip replaces: every ReLU pattern, each region
decided by a floating-point LP.

    python bench/float_lp_brute_force.py NET.json [--tolerance 1e-9]

For each of the 2^N on/off patterns of the N ReLU neurons, the pre-activation maps
along the pattern are computed in float64 and HiGHS maximises the slack ``t`` of
the strict inequalities (rows scaled to unit norm, ``t <= 1``); the pattern counts
as a region when ``t > tolerance``.  This is how a float verifier sees a network:
regions thinner than the tolerance (or than float64 can resolve) are missed.  It
is not part of tvmip (bench/ only); README's float audit example compares it with
the exact count.
"""

from __future__ import annotations

import argparse
import itertools
import json
from fractions import Fraction

import highspy
import numpy as np

from tvmip.evidence.lp import silent_highs


def _floats(values: list) -> np.ndarray:
    return np.array([float(Fraction(str(v))) for v in values])


def count_regions(network: dict, tolerance: float = 1e-9) -> int:
    """The number of ReLU patterns whose float LP has slack above ``tolerance``."""
    n0 = network["input_dim"]
    layers = [(np.array([_floats(row) for row in layer["weights"]]), _floats(layer["biases"]))
              for layer in network["layers"]]
    if any(layer["activation"] != "relu" for layer in network["layers"]):
        raise SystemExit("the brute force handles ReLU networks only")
    widths = [len(b) for _, b in layers]
    highs = silent_highs()
    inf = highspy.kHighsInf
    columns = np.arange(n0 + 1, dtype=np.int32)
    found = 0
    for pattern in itertools.product((1, 0), repeat=sum(widths)):
        rows, rhs = [], []
        gradient, offset = np.eye(n0), np.zeros(n0)
        position = 0
        for weights, biases in layers:
            pre_gradient, pre_offset = weights @ gradient, weights @ offset + biases
            on = np.array(pattern[position:position + len(biases)], dtype=float)
            signs = 2 * on - 1  # sign * pre > 0
            rows += list(-signs[:, None] * pre_gradient)
            rhs += list(signs * pre_offset)
            gradient, offset = pre_gradient * on[:, None], pre_offset * on
            position += len(biases)
        highs.clearModel()
        highs.addVars(n0 + 1, np.full(n0 + 1, -inf), np.append(np.full(n0, inf), 1.0))
        highs.changeColsCost(1, np.array([n0], dtype=np.int32), np.array([-1.0]))
        feasible = True
        for a, c in zip(rows, rhs):
            norm = float(np.linalg.norm(a))
            if norm == 0.0:
                feasible = feasible and c > 0
                continue
            highs.addRow(-inf, c / norm, n0 + 1, columns, np.append(a / norm, 1.0))
        if not feasible:
            continue
        highs.run()
        optimal = highs.getModelStatus() == highspy.HighsModelStatus.kOptimal
        if optimal and -highs.getInfo().objective_function_value > tolerance:
            found += 1
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("network")
    parser.add_argument("--tolerance", type=float, default=1e-9)
    args = parser.parse_args()
    with open(args.network) as handle:
        network = json.load(handle)
    print(f"{args.network}: {count_regions(network, args.tolerance)} regions "
          f"(float LP, slack > {args.tolerance:g})")


if __name__ == "__main__":
    main()
