"""The network and domain records, read strictly from JSON (standard library only).

A network ``f: R^n0 -> R^m`` has hidden layers ``z_l = sigma_l(W_l z_{l-1} + b_l)``
with ``sigma_l`` an exact piecewise-linear :class:`~tvmip.checker.activation.Activation`
and an affine output ``W_out z_D + b_out``.
Every weight and bias is an exact :class:`~fractions.Fraction`.  The file format
(``tvmip-network/1``) is the interchange format of ``shared/DESIGN.md`` section 1;
these records are shared by the producer and the trusted checker so both read a
network the same way.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from .activation import IDENTITY, Activation, activation_from_json
from .errors import FormatError, Rejected
from .limits import MAX_INPUT_DIM, MAX_LAYERS, MAX_MAP_ENTRIES, MAX_NEURONS, shown
from .rationals import DecimalText, dumps, format_rational, parse_rational

NETWORK_FORMAT = "tvmip-network/1"
Matrix = tuple[tuple[Fraction, ...], ...]
Vector = tuple[Fraction, ...]


@dataclass(frozen=True, slots=True)
class Layer:
    """One affine map ``W z + b`` followed by ``activation`` (the identity for the output)."""

    weights: Matrix
    biases: Vector
    activation: Activation = IDENTITY

    @property
    def width(self) -> int:
        return len(self.biases)


@dataclass(frozen=True, slots=True)
class Network:
    """A feed-forward network with exact rational parameters."""

    input_dim: int
    layers: tuple[Layer, ...]
    output: Layer

    @property
    def widths(self) -> tuple[int, ...]:
        return tuple(layer.width for layer in self.layers)

    @property
    def pattern_length(self) -> int:
        """Number of neurons that carry a state (one pattern entry each)."""
        return sum(layer.width for layer in self.layers if layer.activation.stateful)

    @property
    def ternary(self) -> bool:
        """Every weight, output layer included, is in {-1, 0, +1} (biases are free)."""
        return all(
            w in (-1, 0, 1)
            for layer in (*self.layers, self.output)
            for row in layer.weights
            for w in row
        )

    def to_json(self) -> dict[str, Any]:
        """The canonical JSON value: known keys only, rationals as ints or "p/q"."""

        def layer_json(layer: Layer, with_activation: bool) -> dict[str, Any]:
            out: dict[str, Any] = {
                "weights": [[format_rational(w) for w in row] for row in layer.weights],
                "biases": [format_rational(b) for b in layer.biases],
            }
            if with_activation:
                out["activation"] = layer.activation.spec
            return out

        return {
            "format": NETWORK_FORMAT,
            "input_dim": self.input_dim,
            "layers": [layer_json(layer, True) for layer in self.layers],
            "output": layer_json(self.output, False),
        }

    @property
    def sha256(self) -> str:
        """SHA-256 of the canonical JSON text: independent of how the file was laid out."""
        return hashlib.sha256(dumps(self.to_json()).encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Box:
    """The open box ``lo < x < hi`` (coordinate-wise, ``lo_i < hi_i``)."""

    lo: Vector
    hi: Vector

    def to_json(self) -> dict[str, Any]:
        return {
            "lo": [format_rational(v) for v in self.lo],
            "hi": [format_rational(v) for v in self.hi],
        }


def json_type(value: Any) -> str:
    """The JSON name of a parsed value's type, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, DecimalText)):
        return f"the number {shown(value)}"
    names = {"str": "a string", "list": "a list", "dict": "an object"}
    return names.get(type(value).__name__, type(value).__name__)


def _expect(value: Any, kind: type, where: str, what: str) -> Any:
    if not isinstance(value, kind) or isinstance(value, bool):
        raise FormatError(where, f"expected {what}, got {json_type(value)}")
    return value


def _vector(value: Any, length: int | None, where: str) -> Vector:
    items = _expect(value, list, where, "a list of numbers")
    if length is not None and len(items) != length:
        raise FormatError(where, f"has {len(items)} entries, expected {length}")
    return tuple(parse_rational(v, f"{where}[{i}]") for i, v in enumerate(items))


def _layer(value: Any, fan_in: int, where: str, hidden: bool) -> Layer:
    obj = _expect(value, dict, where, "an object")
    for key in ("weights", "biases"):
        if key not in obj:
            raise FormatError(where, f"missing key {key!r}")
    rows = _expect(obj["weights"], list, f"{where}.weights", "a list of rows")
    if not rows:
        raise FormatError(f"{where}.weights", "a layer needs at least one neuron")
    weights = tuple(
        _vector(row, fan_in, f"{where}.weights[{i}]") for i, row in enumerate(rows)
    )
    biases = _vector(obj["biases"], len(rows), f"{where}.biases")
    if not hidden:
        return Layer(weights, biases)
    if "activation" not in obj:
        raise FormatError(where, "missing key 'activation'")
    return Layer(weights, biases, activation_from_json(obj["activation"], f"{where}.activation"))


def network_from_json(value: Any) -> Network:
    """Validate a parsed network file; one :class:`FormatError` names the first problem.

    Shapes are capped (:mod:`tvmip.checker.limits`) before any weight is read: the
    input dimension, the number of layers and of neurons, and the size of the
    pre-activation maps, ``neurons * (n0 + 1)`` integers."""
    obj = _expect(value, dict, "", "a JSON object (a tvmip network)")
    fmt = obj.get("format", NETWORK_FORMAT)
    if fmt != NETWORK_FORMAT:
        raise FormatError("format", f"unsupported format {shown(fmt)!r} "
                          f"(expected {NETWORK_FORMAT!r})")
    for key in ("input_dim", "layers", "output"):
        if key not in obj:
            raise FormatError("", f"missing key {key!r}")
    n0 = _expect(obj["input_dim"], int, "input_dim", "a positive integer")
    if not 1 <= n0 <= MAX_INPUT_DIM:
        raise FormatError("input_dim", f"input dimension must be between 1 and "
                          f"{MAX_INPUT_DIM}, got {shown(n0)}")
    raw_layers = _expect(obj["layers"], list, "layers", "a list of layers")
    if not raw_layers:
        raise FormatError("layers", "the network has no hidden layers")
    if len(raw_layers) > MAX_LAYERS:
        raise FormatError("layers", f"more than {MAX_LAYERS} hidden layers")
    neurons = sum(len(layer["weights"]) for layer in raw_layers
                  if isinstance(layer, dict) and isinstance(layer.get("weights"), list))
    if neurons > MAX_NEURONS or neurons * (n0 + 1) > MAX_MAP_ENTRIES:
        raise FormatError("layers", f"too large to check: {neurons} neurons with {n0} inputs "
                          f"(at most {MAX_NEURONS} neurons and {MAX_MAP_ENTRIES} map entries)")
    layers = []
    fan_in = n0
    for i, raw in enumerate(raw_layers):
        layer = _layer(raw, fan_in, f"layers[{i}]", True)
        layers.append(layer)
        fan_in = layer.width
    output = _layer(obj["output"], fan_in, "output", False)
    return Network(n0, tuple(layers), output)


def read_point(value: Any, dim: int, box: Box | None, where: str) -> list[Fraction]:
    """A point ``[x_1, .., x_dim]`` of rationals, strictly inside ``box`` if given
    (a point outside is a failed claim, :class:`Rejected`)."""
    if not isinstance(value, list) or len(value) != dim:
        raise FormatError(where, f"expected a list of {dim} rationals")
    point = [parse_rational(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if box is not None and not all(lo < v < hi for lo, v, hi in zip(box.lo, point, box.hi)):
        raise Rejected(f"{where}: the point lies outside the open box")
    return point


def box_from_json(value: Any, dim: int, where: str = "domain") -> Box | None:
    """``null`` is all of R^dim; otherwise ``{"lo": [...], "hi": [...]}`` with lo < hi."""
    if value is None:
        return None
    obj = _expect(value, dict, where, "null or an object with 'lo' and 'hi'")
    if set(obj) != {"lo", "hi"}:
        raise FormatError(where, "a box has exactly the keys 'lo' and 'hi'")
    lo = _vector(obj["lo"], dim, f"{where}.lo")
    hi = _vector(obj["hi"], dim, f"{where}.hi")
    for i, (a, b) in enumerate(zip(lo, hi)):
        if not a < b:
            raise FormatError(where, f"empty box: lo[{i}] = {a} is not below hi[{i}] = {b}")
    return Box(lo, hi)
