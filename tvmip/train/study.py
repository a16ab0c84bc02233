"""The sparsity study: exact region counts of WDR-trained ternary networks against
their sparsity and the bounds for their architecture.

For every controller ``alpha`` and seed, :func:`tvmip.train.trainer.train` trains a
ternary ReLU network with WDR; its activation regions, linear regions and distinct
affine maps are counted over all of R^n0 and over the data's box, each count
certified and the certificate re-checked by the independent checker
(:func:`tvmip.check`, bound to the network and the domain).

The bounds drawn beside them (:func:`architecture_bounds`), all about the
*maximal* number of linear regions of a ReLU network with ``n0`` inputs and these
hidden widths:

* the general upper bound of Serra et al. (2018, Theorem 1; at most Montufar's);
* the general lower bound: Serra et al. (2018) when every width is ``>= 3 n0``,
  else Montufar et al. (2014);
* the ternary lower bound: the largest :func:`~tvmip.theory.theorems.construction_bound`
  among tvmip's ternary constructions (the routes of Nakahara et al.,
  arXiv:2507.16079) whose own hidden widths fit inside these, layer by layer; a
  narrower ternary network embeds in a wider one (extra neurons with zero
  weights), so every trained architecture can reach it.
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from ..checker.verify import check_file
from ..errors import TvmipError
from ..files import atomic_path, atomic_write_text
from ..theory import theorems
from ..theory.constructions import construct
from .data import Dataset
from .methods import Wdr
from .regions import RegionCounts, count_regions
from .trainer import TrainConfig, train


@dataclass(frozen=True, slots=True)
class ReferenceBound:
    """A number of linear regions to draw beside the counts, and what it is."""

    kind: str  # "upper", "lower" or "ternary lower"
    name: str
    value: int


@dataclass(frozen=True, slots=True)
class StudyRow:
    """One trained network and its certified counts."""

    alpha: float
    seed: int
    sparsity: float
    mse_real: float
    mse_discrete: float
    scale: float
    space: RegionCounts
    box: RegionCounts


def architecture_bounds(n0: int, widths: Sequence[int]) -> list[ReferenceBound]:
    """The bounds of the module docstring that apply to ``n0`` and ``widths``."""
    widths = tuple(widths)
    found = [ReferenceBound("upper", (upper := theorems.serra_upper_bound(n0, widths)).name,
                            upper.value)]
    for lower in (theorems.serra_lower_bound, theorems.montufar_lower_bound):
        try:
            bound = lower(n0, widths)
        except ValueError:
            continue
        found.append(ReferenceBound("lower", bound.name, bound.value))
        break
    best: ReferenceBound | None = None
    for kind in (k for k in theorems.KINDS if k != "general"):
        for width in range(n0, max(widths) + 1):
            try:
                built = construct(kind, n0, width, len(widths))
            except ValueError:
                continue
            inside = len(built.network.widths) == len(widths) and all(
                a <= b for a, b in zip(built.network.widths, widths))
            if inside and (best is None or built.achieved.value > best.value):
                best = ReferenceBound("ternary lower",
                                      f"tvmip {kind} construction (widths "
                                      f"{list(built.network.widths)}, emulating width "
                                      f"{width})", built.achieved.value)
    return found + ([best] if best else [])


def sparsity_study(data: Dataset, alphas: Sequence[float], seeds: Sequence[int],
                   config: TrainConfig, method: Wdr, time_limit: float | None = None,
                   progress: bool = False) -> list[StudyRow]:
    """Train at every ``alpha`` and seed, count over R^n0 and the data's box, and
    check every certificate; a certificate that does not check is an error."""
    rows = []
    box = data.box
    with tempfile.TemporaryDirectory() as folder:
        for alpha in alphas:
            for seed in seeds:
                result = train(data, replace(method, alpha=alpha),
                               replace(config, seed=seed), progress)
                counts = []
                for domain in (None, box):
                    cert = Path(folder) / "study.cert.json.gz"
                    counted = count_regions(result.network, domain, cert, time_limit,
                                            progress)
                    verdict = check_file(cert, result.network.sha256, domain)
                    if not verdict.valid:
                        raise TvmipError(f"alpha {alpha}, seed {seed}: {verdict.line}")
                    counts.append(counted)
                rows.append(StudyRow(alpha, seed, result.sparsity, result.loss_real,
                                     result.loss_discrete, float(result.scale), *counts))
    return rows


COLUMNS = ("alpha", "seed", "sparsity", "mse_real", "mse_discrete", "scale_C",
           "space_activation_regions", "space_linear_regions", "space_distinct_maps",
           "space_exact", "box_activation_regions", "box_linear_regions",
           "box_distinct_maps", "box_exact")


def write_csv(rows: Sequence[StudyRow], bounds: Sequence[ReferenceBound], path: Path,
              about: str) -> None:
    """One line per trained network; the setting and the bounds as ``#`` lines first."""
    out = io.StringIO()
    out.write(f"# {' '.join(about.split())}\n")
    for bound in bounds:
        out.write(f"# {bound.kind} bound: {bound.name} = {bound.value}\n")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for r in rows:
        writer.writerow([r.alpha, r.seed, f"{r.sparsity:.4f}", f"{r.mse_real:.6g}",
                         f"{r.mse_discrete:.6g}", f"{r.scale:.6g}",
                         r.space.activation_regions, r.space.linear_regions,
                         r.space.distinct_maps, r.space.exact, r.box.activation_regions,
                         r.box.linear_regions, r.box.distinct_maps, r.box.exact])
    atomic_write_text(path, out.getvalue())


def plot_study(rows: Sequence[StudyRow], bounds: Sequence[ReferenceBound], path: Path,
               title: str) -> None:
    """Linear and activation regions against sparsity (log scale), the mean over the
    seeds joined per ``alpha``, with the bounds as horizontal lines."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(8, 5.5), layout="constrained")
    axes = figure.add_subplot()
    alphas = sorted({r.alpha for r in rows})
    series = [("linear regions over R^n0", lambda r: r.space.linear_regions, "o", "C0"),
              ("activation regions over R^n0", lambda r: r.space.activation_regions, "s",
               "C1"),
              ("linear regions over the data's box", lambda r: r.box.linear_regions, "x",
               "C2")]
    labelled = None
    for label, value, marker, colour in series:
        axes.scatter([r.sparsity for r in rows], [value(r) for r in rows], marker=marker,
                     color=colour, alpha=0.45, s=22)
        means = [[(r.sparsity, value(r)) for r in rows if r.alpha == a] for a in alphas]
        points = [(sum(p[0] for p in m) / len(m), sum(p[1] for p in m) / len(m))
                  for m in means if m]
        axes.plot(*zip(*points), marker=marker, color=colour, label=label)
        labelled = labelled or points
    for (x, y), alpha in zip(labelled or [], alphas):
        axes.annotate(f"α={alpha:g}", (x, y), textcoords="offset points", xytext=(4, 5),
                      fontsize=7, color="C0")
    styles = {"upper": ("k", "--"), "lower": ("0.35", "-."), "ternary lower": ("C3", ":")}
    for bound in bounds:
        colour, line = styles[bound.kind]
        axes.axhline(bound.value, color=colour, linestyle=line,
                     label=f"{bound.kind}: {bound.name} = {bound.value}")
    axes.set_yscale("log")
    axes.set_xlabel("sparsity (fraction of zero weights, output layer included)")
    axes.set_ylabel("number of regions (exact, certified)")
    axes.set_title(title, fontsize=10)
    axes.grid(True, which="both", alpha=0.25)
    axes.legend(fontsize=7, loc="lower left")
    with atomic_path(path) as temp:
        figure.savefig(temp, format="png", dpi=130)
