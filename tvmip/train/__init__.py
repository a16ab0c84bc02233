"""Training sparse ternary and binarized networks whose regions tvmip counts exactly.

The Python API behind ``tvmip train`` and ``tvmip study sparsity``::

    from tvmip.train import TrainConfig, Wdr, count_regions, load_data, train
    data = load_data("peaks")                       # or a CSV/NPZ file of x..., y
    result = train(data, Wdr(alpha=0.7), TrainConfig(widths=(8, 8), seed=0))
    result.network, result.trained, result.scale    # g (ternary), h = C g, C > 0
    count_regions(result.network, data.box)         # exact activation/linear regions

:mod:`.methods` states the update rules (WDR, RVSCGD) and their sources,
:mod:`.trainer` the pipeline, :mod:`.fold` the exact folding of the scales and
:mod:`.study` the sparsity study.
"""

from .data import Dataset, load_data, read_dataset, synthetic
from .fold import fold_scales
from .methods import Rvscgd, Wdr
from .regions import RegionCounts, count_regions
from .trainer import TrainConfig, TrainResult, train, write_network

__all__ = [
    "Dataset", "RegionCounts", "Rvscgd", "TrainConfig", "TrainResult", "Wdr",
    "count_regions", "fold_scales", "load_data", "read_dataset", "synthetic", "train",
    "write_network",
]
