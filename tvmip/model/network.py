"""Networks and domains: loading, validation and exact evaluation.

The records themselves (:class:`Network`, :class:`Layer`, :class:`Box`) and their
strict JSON reader live in :mod:`tvmip.checker.model`, shared with the trusted
checker so that producer and checker read a file identically.  This module adds
what only the producer needs: reading files with errors that name them, the
``--box`` option syntax, and exact evaluation.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from decimal import Decimal
from fractions import Fraction
from importlib import resources
from pathlib import Path
from typing import Any

from ..checker.activation import IDENTITY, RELU, Activation
from ..checker.errors import FormatError
from ..checker.model import Box, Layer, Network, box_from_json, network_from_json
from ..checker.rationals import loads, parse_rational
from ..errors import InputError
from ..files import atomic_write_text, read_input_file

__all__ = [
    "IDENTITY",
    "RELU",
    "Activation",
    "Box",
    "Layer",
    "Network",
    "default_network_path",
    "evaluate",
    "load_network",
    "network_from_dict",
    "parse_box",
    "pattern_at",
    "save_network",
]

def network_from_dict(value: Any, source: str = "network") -> Network:
    """Validate a parsed JSON value (e.g. built in Python) as a network."""
    try:
        # Round-trip through the strict reader so Python floats are read as
        # their shortest decimal text, exactly as a JSON file would be.
        return network_from_json(loads(json.dumps(value)))
    except FormatError as exc:
        raise InputError(f"{source}: {exc}") from None
    except (TypeError, ValueError) as exc:
        raise InputError(f"{source}: not JSON data ({exc})") from None


def load_network(path: str | Path) -> Network:
    """Read and validate a ``tvmip-network/1`` file; errors name the file and place."""
    path = Path(path)
    data = read_input_file(path)
    try:
        return network_from_json(loads(data))
    except FormatError as exc:
        raise InputError(f"{path}: {exc}") from None


def save_network(network: Network, path: str | Path) -> None:
    """Write the canonical network file atomically."""
    atomic_write_text(Path(path), json.dumps(network.to_json(), indent=1) + "\n")


def default_network_path() -> Path:
    """The small ternary network shipped with tvmip (the no-argument demo)."""
    return Path(str(resources.files("tvmip") / "data" / "demo.json"))


def parse_box(text: str, dim: int) -> Box:
    """Parse ``--box``: ``LO,HI`` for a cube, or ``LO1,..,LOn,HI1,..,HIn`` per coordinate."""
    parts = [p.strip() for p in text.split(",")]
    if len(parts) == 2:
        parts = [parts[0]] * dim + [parts[1]] * dim
    if len(parts) != 2 * dim:
        raise InputError(
            f"--box: expected LO,HI or {2 * dim} comma-separated corners, got {len(parts)} values"
        )
    try:
        box = box_from_json({"lo": parts[:dim], "hi": parts[dim:]}, dim, "--box")
    except FormatError as exc:
        raise InputError(str(exc)) from None
    assert box is not None
    return box


def _affine(layer: Layer, z: Sequence[Fraction]) -> list[Fraction]:
    return [sum((w * v for w, v in zip(row, z)), b) for row, b in zip(layer.weights, layer.biases)]


def evaluate(network: Network, x: Sequence[Fraction | int | str]) -> tuple[Fraction, ...]:
    """f(x) in exact rational arithmetic."""
    z = [parse_rational(v) if isinstance(v, str) else Fraction(v) for v in x]
    for layer in network.layers:
        pre = _affine(layer, z)
        z = [layer.activation(v) for v in pre]
    return tuple(_affine(network.output, z))


def pattern_at(network: Network, x: Sequence[Fraction]) -> str:
    """The cells of the neurons' exact pre-activations at the point ``x``: the pattern
    of the region holding ``x``, or a breakpoint's symbol for a neuron whose
    pre-activation is exactly at a breakpoint there (``x`` on a boundary, or a
    neuron with that constant map)."""
    z = list(x)
    states = []
    for layer in network.layers:
        pre = _affine(layer, z)
        act = layer.activation
        if act.stateful:
            states += [act.symbol(act.cell_of(v)) for v in pre]
        z = [act(v) for v in pre]
    return "".join(states)



def decimal_text(value: Fraction) -> str:
    """Six significant digits of an exact value, for human reports (never overflows)."""
    return f"{Decimal(value.numerator) / value.denominator:.6g}"
