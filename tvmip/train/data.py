"""Training data: (x, y) pairs from a CSV or NPZ file, or a named synthetic task.

* CSV: one sample per row, the inputs ``x_1..x_n0`` then the target ``y`` (the
  last column); a first row of column names is skipped.  Every row has the same
  number of columns, at least two, and every value is a finite number.
* NPZ: the arrays ``x`` (shape ``(N, n0)``, or ``(N,)`` for ``n0 = 1``) and ``y``
  (shape ``(N,)`` or ``(N, 1)``), numbers, finite, with the same ``N``.
* A task name (:data:`TASKS`): ``N`` inputs drawn uniformly from ``[-1, 1]^dim``
  with a seeded generator, and the target below (``t`` the triangle wave of
  period 1 and height 1, ``t(s) = 2 |s - round(s)|``):

  - ``sawtooth``: ``y = sum_i t(2 x_i)``, four teeth along every axis;
  - ``abs-sum``: ``y = sum_i |x_i|``, a ternary ReLU network's home function;
  - ``peaks``: MATLAB's ``peaks`` on ``[-3, 3]^2`` (``dim`` must be 2);
  - ``checker``: ``y = prod_i sign(x_i)``, a piecewise-constant target for
    binarized (step/sign) activations.

A file name wins over a task name when both exist.  Every problem with a file is
an :class:`~tvmip.errors.InputError` of one line that names it.
"""

from __future__ import annotations

import csv
import io
import math
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..files import read_input_file
from ..model.data import data_box
from ..model.network import Box


@dataclass(frozen=True, eq=False)
class Dataset:
    """Training pairs: ``x`` of shape ``(N, n0)`` and ``y`` of shape ``(N,)`` (floats);
    ``name`` says where they came from."""

    name: str
    x: np.ndarray = field(repr=False)
    y: np.ndarray = field(repr=False)

    @property
    def input_dim(self) -> int:
        return int(self.x.shape[1])

    @property
    def size(self) -> int:
        return int(self.x.shape[0])

    @property
    def box(self) -> Box:
        """The open box around the inputs (:func:`tvmip.model.data.data_box`), from
        their exact binary values."""
        return data_box([tuple(Fraction(v) for v in row) for row in self.x.tolist()])


def _triangle(s: np.ndarray) -> np.ndarray:
    return 2 * np.abs(s - np.round(s))


def _peaks(x: np.ndarray) -> np.ndarray:
    u, v = 3 * x[:, 0], 3 * x[:, 1]
    return (3 * (1 - u) ** 2 * np.exp(-u**2 - (v + 1) ** 2)
            - 10 * (u / 5 - u**3 - v**5) * np.exp(-u**2 - v**2)
            - np.exp(-(u + 1) ** 2 - v**2) / 3)


TASKS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "sawtooth": lambda x: _triangle(2 * x).sum(axis=1),
    "abs-sum": lambda x: np.abs(x).sum(axis=1),
    "peaks": _peaks,
    "checker": lambda x: np.prod(np.where(x >= 0, 1.0, -1.0), axis=1),
}
"""The synthetic tasks: target functions of inputs in ``[-1, 1]^dim``."""
FIXED_DIM = {"peaks": 2}


def synthetic(task: str, dim: int = 2, samples: int = 256, seed: int = 0) -> Dataset:
    """``samples`` points of ``task`` (see the module docstring), drawn with ``seed``."""
    if task not in TASKS:
        raise InputError(f"unknown task {task!r} (known: {', '.join(TASKS)})")
    if FIXED_DIM.get(task, dim) != dim:
        raise InputError(f"task {task!r} has input dimension {FIXED_DIM[task]}, not {dim}")
    if dim < 1 or samples < 1:
        raise InputError("a task needs --dim >= 1 and --samples >= 1")
    x = np.random.default_rng(seed).uniform(-1.0, 1.0, size=(samples, dim))
    return Dataset(f"{task} (dim {dim}, {samples} samples, data seed {seed})", x,
                   TASKS[task](x))


def load_data(spec: str, dim: int = 2, samples: int = 256, seed: int = 0) -> Dataset:
    """A data file (CSV or NPZ) if ``spec`` names one, else the task ``spec``."""
    path = Path(spec)
    if path.exists() or spec not in TASKS:
        if not path.exists() and not path.suffix:
            raise InputError(f"{spec}: no such file, and not a task (known tasks: "
                             f"{', '.join(TASKS)})")
        return read_dataset(path)
    return synthetic(spec, dim, samples, seed)


def read_dataset(path: str | Path) -> Dataset:
    """The (x, y) pairs of a CSV or NPZ file (see the module docstring)."""
    path = Path(path)
    data = read_input_file(path)
    if not data.strip():
        raise InputError(f"{path}: empty file")
    x, y = _npz(path, data) if data[:2] == b"PK" else _csv(path, data)
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise InputError(f"{path}: NaN or infinite values")
    return Dataset(str(path), x, y)


def _number(cell: str) -> float | None:
    try:
        value = float(cell)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _csv(path: Path, data: bytes) -> tuple[np.ndarray, np.ndarray]:
    try:
        rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"{path}: not a CSV file ({exc})") from None
    values: list[list[float]] = []
    for number, row in enumerate(rows, 1):
        cells = [cell.strip() for cell in row]
        if not any(cells):
            continue
        parsed = [_number(cell) for cell in cells]
        bad = next((cell for cell, v in zip(cells, parsed) if v is None), None)
        if bad is not None:
            if not values and all(_number(c) is None for c in cells):
                continue  # a header row of column names
            raise InputError(f"{path}: line {number}: {bad[:40]!r} is not a finite number")
        if len(parsed) < 2:
            raise InputError(f"{path}: line {number} has {len(parsed)} value, expected "
                             "inputs and a target (at least 2 columns)")
        if values and len(parsed) != len(values[0]):
            raise InputError(f"{path}: line {number} has {len(parsed)} values, the first "
                             f"data line {len(values[0])}")
        values.append([float(cell) for cell in cells])
    if not values:
        raise InputError(f"{path}: no data rows")
    array = np.array(values, dtype=float)
    return array[:, :-1], array[:, -1]


def _npz(path: Path, data: bytes) -> tuple[np.ndarray, np.ndarray]:
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise InputError(f"{path}: not a readable NPZ file (not a zip archive)")
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
            missing = [name for name in ("x", "y") if name not in arrays.files]
            if missing:
                raise InputError(f"{path}: no array {' or '.join(map(repr, missing))} "
                                 f"(has: {', '.join(arrays.files) or 'none'})")
            x, y = np.asarray(arrays["x"]), np.asarray(arrays["y"])
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise InputError(f"{path}: not a readable NPZ file ({exc})") from None
    for name, array in (("x", x), ("y", y)):
        if array.dtype.kind not in "fiu" or array.size == 0:
            raise InputError(f"{path}: array {name!r} of type {array.dtype} and shape "
                             f"{list(array.shape)}, expected numbers")
    x = x[:, None] if x.ndim == 1 else x
    y = y[:, 0] if y.ndim == 2 and y.shape[1] == 1 else y
    if x.ndim != 2 or y.ndim != 1 or len(x) != len(y):
        raise InputError(f"{path}: x of shape {list(x.shape)} and y of shape "
                         f"{list(y.shape)}, expected (N, n0) and (N,)")
    return x.astype(float), y.astype(float)
