"""Input points from a data file, exactly, and the box that fits them.

``--data FILE`` takes the inputs a network was trained or evaluated on, so counts
and pictures cover where the data lies instead of where the breakpoints do:

* CSV: one point per row, the first ``n0`` numeric columns (a header row of
  names is skipped); numbers are read as their decimal text, exactly;
* NPZ (numpy): the array ``x`` (or ``X``, or the only array), shape
  ``(points, >= n0)``; its floats are read as their exact binary values.

:func:`data_box` is the open box around the points, widened on every side by a
tenth of the points' spread (or by 1 where they all share a coordinate) and then
rounded outwards to multiples of a power of two about a hundredth of the spread,
so that its corners are short numbers.
"""

from __future__ import annotations

import csv
import io
import math
import zipfile
from fractions import Fraction
from pathlib import Path

from ..checker.errors import FormatError
from ..checker.floats import floor_log2
from ..checker.rationals import parse_rational
from ..errors import InputError
from ..files import read_input_file
from .network import Box

Point = tuple[Fraction, ...]
MARGIN = Fraction(1, 10)


def read_points(path: str | Path, dim: int) -> list[Point]:
    """The first ``dim`` coordinates of every point in a CSV or NPZ file."""
    path = Path(path)
    data = read_input_file(path)
    points = _npz(path, data, dim) if data[:2] == b"PK" else _csv(path, data, dim)
    if not points:
        raise InputError(f"{path}: no data points")
    return points


def _csv(path: Path, data: bytes, dim: int) -> list[Point]:
    try:
        rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"{path}: not a CSV file ({exc})") from None
    points: list[Point] = []
    header_seen = False
    for number, row in enumerate(rows, 1):
        cells = [cell.strip() for cell in row if cell.strip()]
        if not cells:
            continue
        if len(cells) < dim:
            raise InputError(f"{path}: line {number} has {len(cells)} values, expected at "
                             f"least {dim}")
        try:
            points.append(tuple(parse_rational(v, f"line {number}") for v in cells[:dim]))
        except FormatError as exc:
            if not points and not header_seen:
                header_seen = True
                continue  # a header row of column names, before any point
            raise InputError(f"{path}: {exc}") from None
    return points


def _npz(path: Path, data: bytes, dim: int) -> list[Point]:
    import numpy as np

    try:
        arrays = np.load(io.BytesIO(data), allow_pickle=False)
        names = list(arrays.keys())
        name = next((n for n in ("x", "X") if n in names), names[0] if len(names) == 1 else None)
        if name is None:
            raise InputError(f"{path}: several arrays ({', '.join(names)}) and none named x")
        array = np.asarray(arrays[name])
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise InputError(f"{path}: not a readable NPZ file ({exc})") from None
    if array.ndim == 1 and dim == 1:
        array = array[:, None]
    if array.ndim != 2 or array.shape[1] < dim or array.dtype.kind not in "fiu":
        raise InputError(f"{path}: array {name!r} of shape {list(array.shape)} and type "
                         f"{array.dtype}, expected numbers of shape (points, {dim})")
    values = array[:, :dim].tolist()
    if not all(math.isfinite(v) for row in values for v in row):
        raise InputError(f"{path}: array {name!r} holds NaN or infinite values")
    return [tuple(Fraction(v) for v in row) for row in values]


def data_box(points: list[Point]) -> Box:
    """The open box around ``points``, widened by a tenth of their spread per side and
    rounded outwards (see the module docstring)."""
    dim = len(points[0])
    lo, hi = [], []
    for i in range(dim):
        low, high = min(p[i] for p in points), max(p[i] for p in points)
        pad = (high - low) * MARGIN if high > low else Fraction(1)
        unit = Fraction(2) ** floor_log2(pad / 10)  # exact: any spread, however small
        lo.append(math.floor((low - pad) / unit) * unit)
        hi.append(math.ceil((high + pad) / unit) * unit)
    return Box(tuple(lo), tuple(hi))
