"""Convert relucent's bundled trained test networks to exact tvmip network files.

relucent (github.com/bl-ake/relucent) ships small trained ReLU networks as torch
checkpoints: the integration-test witnesses ``tests/integration/fixtures/*.pt``
(listed with their expected region counts in ``manifest.json``) and the torus
classifier ``tests/data/torus_boundary_model_seed2.pt``.  relucent's tests build
``fc0, ReLU, fc1, ReLU, ..., fcL, ReLU``: the final ReLU (``add_last_relu``) makes
the decision boundary a bent hyperplane, so the output neuron is part of the
arrangement it counts.  The tvmip file therefore has one ReLU layer per ``fc``
(the last one of width 1) and the exact identity output ``[[1]], [0]``: the same
function, and the same neurons, as relucent's test model.

Every float (float64, or float32 for the torus net) is written as the exact
rational it is (``fractions.Fraction(x)`` as "p/q", int when q == 1): nothing is
rounded.  Usage (needs torch: the relucent environment of bench/RELUCENT.md)::

    python bench/relucent_fixtures/convert.py --repo RELUCENT_GIT_DIR [--commit C] [--verify]

``--repo`` is a clone or bare git directory of relucent (files are read with
``git show``).  ``--verify`` only checks the existing JSON files against the
checkpoints (exact weights, forward passes and sign patterns on random inputs).
"""

from __future__ import annotations

import argparse
import io
import json
import subprocess
from collections import OrderedDict
from fractions import Fraction
from pathlib import Path
from typing import Any

import torch
from torch import nn

HERE = Path(__file__).resolve().parent
REPOSITORY = "https://github.com/bl-ake/relucent"
MANIFEST = "tests/integration/fixtures/manifest.json"
TORUS = "tests/data/torus_boundary_model_seed2.pt"


def git_show(repo: str, commit: str, path: str) -> bytes:
    return subprocess.run(["git", "-C", repo, "show", f"{commit}:{path}"], check=True,
                          capture_output=True).stdout


def exact(x: float) -> int | str:
    """The float as the exact rational it is: an int, or "p/q"."""
    q = Fraction(x)
    return q.numerator if q.denominator == 1 else f"{q.numerator}/{q.denominator}"


def sources(repo: str, commit: str) -> list[dict[str, Any]]:
    """(name, path, state_dict, manifest entry) of every bundled trained network."""
    manifest = json.loads(git_show(repo, commit, MANIFEST))
    out = []
    for w in manifest["witnesses"]:
        path = f"tests/integration/fixtures/{w['file']}"
        bundle = torch.load(io.BytesIO(git_show(repo, commit, path)), map_location="cpu",
                            weights_only=True)
        assert w["add_last_relu"], w["id"]
        out.append({"name": Path(w["file"]).stem, "path": path, "state": bundle["state_dict"],
                    "manifest_id": w["id"],
                    "expected_regions": w["expected"].get("n_regions")})
    # tests/test_betti_torus.py: mlp([3, 15, 15, 1]) + the final ReLU (_model_with_db_relu)
    state = torch.load(io.BytesIO(git_show(repo, commit, TORUS)), map_location="cpu",
                       weights_only=True)
    out.append({"name": Path(TORUS).stem, "path": TORUS, "state": state,
                "manifest_id": None, "expected_regions": None})
    return out


def fc_layers(state: dict[str, torch.Tensor]) -> list[tuple[torch.Tensor, torch.Tensor]]:
    n = len([k for k in state if k.endswith(".weight")])
    assert sorted(state) == sorted(f"fc{i}.{p}" for i in range(n) for p in ("weight", "bias"))
    return [(state[f"fc{i}.weight"], state[f"fc{i}.bias"]) for i in range(n)]


def to_tvmip(src: dict[str, Any], commit: str) -> dict[str, Any]:
    fcs = fc_layers(src["state"])
    n_out = len(fcs[-1][1])  # the identity after the last ReLU layer
    layers = [{"activation": "relu",
               "weights": [[exact(float(v)) for v in row] for row in w.tolist()],
               "biases": [exact(float(v)) for v in b.tolist()]} for w, b in fcs]
    return {"format": "tvmip-network/1", "name": src["name"],
            "source": {"repository": REPOSITORY, "path": src["path"], "commit": commit,
                       "dtype": str(fcs[0][0].dtype).removeprefix("torch."),
                       "relucent_manifest_id": src["manifest_id"],
                       "relucent_expected_regions": src["expected_regions"]},
            "input_dim": int(fcs[0][0].shape[1]), "layers": layers,
            "output": {"weights": [[int(i == j) for j in range(n_out)] for i in range(n_out)],
                       "biases": [0] * n_out}}


def torch_model(state: dict[str, torch.Tensor]) -> nn.Sequential:
    """relucent's test model (tests/integration/helpers.py), in float64."""
    mods: OrderedDict[str, nn.Module] = OrderedDict()
    for i, (w, _) in enumerate(fc_layers(state)):
        mods[f"fc{i}"] = nn.Linear(w.shape[1], w.shape[0], dtype=torch.float64)
        mods[f"relu{i}"] = nn.ReLU()
    model = nn.Sequential(mods)
    model.load_state_dict({k: v.to(torch.float64) for k, v in state.items()})
    return model.eval()


def verify(src: dict[str, Any], path: Path, n_points: int = 5, seed: int = 0) -> dict[str, Any]:
    """Exact weights; every neuron's pre-activation by torch, relucent and tvmip (float64
    and exact) on random inputs; tvmip's pattern against relucent's sign sequence."""
    import numpy as np
    import relucent
    from relucent.model.model import LinearLayer

    import tvmip
    from tvmip.model.network import pattern_at

    net = tvmip.load_network(str(path))
    fcs = fc_layers(src["state"])
    weights_exact = all(
        [list(map(Fraction, row)) for row in w.tolist()] == [list(r) for r in layer.weights]
        and list(map(Fraction, b.tolist())) == list(layer.biases)
        for (w, b), layer in zip(fcs, net.layers, strict=True))
    model = torch_model(src["state"])
    rel = relucent.convert(model)
    cx = relucent.Complex(rel)
    xs = 2 * torch.randn((n_points, net.input_dim), dtype=torch.float64,
                         generator=torch.Generator().manual_seed(seed))
    diff = {"relucent": 0.0, "tvmip_float": 0.0, "tvmip_exact": 0.0}
    patterns_equal, scale = True, 0.0
    for x in xs:
        with torch.no_grad():  # torch: the output of every fc (the last one is f before its ReLU)
            ref, z = [], x[None]
            for name, mod in model.named_children():
                z = mod(z)
                ref += z[0].tolist() if name.startswith("fc") else []
        outs = rel.all_layer_outputs(x[None].numpy())
        pre = {"relucent": [v for k, a in outs.items()
                            if isinstance(rel.layers[k], LinearLayer)
                            for v in np.asarray(a).ravel().tolist()],
               "tvmip_float": [], "tvmip_exact": []}
        zf, ze = x.tolist(), [Fraction(v) for v in x.tolist()]
        for layer in net.layers:  # the float64 rounding of tvmip's exact weights, then exact
            pf = [sum((float(w) * v for w, v in zip(row, zf)), float(b))
                  for row, b in zip(layer.weights, layer.biases)]
            pe = [sum((w * v for w, v in zip(row, ze)), b)
                  for row, b in zip(layer.weights, layer.biases)]
            pre["tvmip_float"] += pf
            pre["tvmip_exact"] += [float(v) for v in pe]
            zf, ze = [max(v, 0.0) for v in pf], [max(v, Fraction(0)) for v in pe]
        scale = max([scale] + [abs(v) for v in ref])
        for key, vals in pre.items():
            assert len(vals) == len(ref), key
            diff[key] = max([diff[key]] + [abs(a - b) for a, b in zip(vals, ref)])
        ss = np.asarray(cx.point2ss(x[None].numpy())).ravel()
        patterns_equal &= pattern_at(net, [Fraction(v) for v in x.tolist()]) == "".join(
            {1: "+", -1: "-", 0: "0"}[int(s)] for s in ss)
    return {"name": src["name"], "n0": net.input_dim, "widths": [layer.width for layer in net.layers],
            "weights_exact": weights_exact, "patterns_equal_relucent": patterns_equal,
            "max_abs_preactivation": scale, "max_abs_preactivation_diff_vs_torch": diff}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repo", required=True, help="git directory of a relucent clone")
    ap.add_argument("--commit", default="HEAD")
    ap.add_argument("--verify", action="store_true", help="check the JSON files, write nothing")
    args = ap.parse_args()
    commit = subprocess.run(["git", "-C", args.repo, "rev-parse", args.commit], check=True,
                            capture_output=True, text=True).stdout.strip()
    for src in sources(args.repo, commit):
        path = HERE / f"{src['name']}.json"
        if args.verify:
            print(json.dumps(verify(src, path)))
        else:
            path.write_text(json.dumps(to_tvmip(src, commit), indent=1) + "\n")
            print(path)


if __name__ == "__main__":
    main()
