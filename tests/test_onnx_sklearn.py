"""``tvmip.from_sklearn``: fitted scikit-learn MLPs as exact tvmip networks.

* With skl2onnx (in the test extra), a model trained here and exported with
  ``DoubleTensorType`` (float64 weights, as scikit-learn keeps them) imports to the
  very network ``from_sklearn`` gives: equality of exact rationals, regressors and
  classifiers alike (the classifier's graph is cut at its Softmax/Sigmoid head).
* Against scikit-learn itself: ``predict`` (regressors) and ``predict_proba``
  (classifiers, through the softmax or logistic of the exact logits) agree to
  1e-12.  Only there is a tolerance used, because scikit-learn computes in float64
  while tvmip evaluates the same float64 parameters exactly.
* Refusals: not an MLP, unfitted, tanh/logistic hidden layers, scikit-learn missing.
"""

from __future__ import annotations

import math
import sys
import warnings
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import tvmip
from tvmip.errors import InputError
from tvmip.io.onnx_import import import_onnx
from tvmip.model.network import IDENTITY, RELU, evaluate

sklearn = pytest.importorskip("sklearn")
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LinearRegression
from sklearn.neural_network import MLPClassifier, MLPRegressor

RNG = np.random.default_rng(0)
X = RNG.normal(size=(80, 3))
TARGET = X[:, 0] - 2 * np.abs(X[:, 1]) + X[:, 2] ** 2


def fitted(model: Any, y: np.ndarray) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(X, y)


MODELS = {
    "regressor-relu": lambda: fitted(MLPRegressor(hidden_layer_sizes=(6, 4), max_iter=60, random_state=1),
                                     TARGET),
    "regressor-identity": lambda: fitted(
        MLPRegressor(hidden_layer_sizes=(5,), activation="identity", max_iter=60, random_state=2), TARGET),
    "classifier-3": lambda: fitted(MLPClassifier(hidden_layer_sizes=(6,), max_iter=60, random_state=3),
                                   np.digitize(TARGET, [-1, 1])),
    "classifier-2": lambda: fitted(MLPClassifier(hidden_layer_sizes=(4, 3), max_iter=60, random_state=4),
                                   (TARGET > 0).astype(int)),
}


@pytest.fixture(scope="module", params=list(MODELS))
def model(request: pytest.FixtureRequest) -> Any:
    return MODELS[request.param]()


def test_network_structure(model: Any) -> None:
    net = tvmip.from_sklearn(model)
    sizes = [c.shape[1] for c in model.coefs_]
    assert net.input_dim == 3 and list(net.widths) == sizes[:-1]
    assert net.output.width == sizes[-1]  # one logit for a binary classifier
    expected = RELU if model.activation == "relu" else IDENTITY
    assert all(layer.activation == expected for layer in net.layers)
    first = model.coefs_[0]
    assert net.layers[0].weights[1][2] == Fraction(float(first[2, 1]))  # rows = neurons


def test_equals_the_skl2onnx_import_of_the_same_model(model: Any, tmp_path: Path) -> None:
    skl2onnx = pytest.importorskip("skl2onnx")
    from skl2onnx.common.data_types import DoubleTensorType

    options = {id(model): {"zipmap": False}} if isinstance(model, MLPClassifier) else None
    onx = skl2onnx.convert_sklearn(model, initial_types=[("X", DoubleTensorType([None, 3]))],
                                   options=options, target_opset=17)
    path = tmp_path / "model.onnx"
    path.write_bytes(onx.SerializeToString())
    result = import_onnx(path)
    assert result.network == tvmip.from_sklearn(model)
    assert (result.head is not None) == isinstance(model, MLPClassifier)


def _softmax(z: list[float]) -> list[float]:
    top = max(z)
    e = [math.exp(v - top) for v in z]
    return [v / sum(e) for v in e]


def test_agrees_with_scikit_learn_in_float64(model: Any) -> None:
    net = tvmip.from_sklearn(model)
    points = X[:20]
    exact = [[float(v) for v in evaluate(net, [Fraction(float(c)) for c in x])]
             for x in points]
    if isinstance(model, MLPRegressor):
        expected = model.predict(points)
        got = [y[0] for y in exact]
    else:  # the logits through the output activation give predict_proba
        expected = model.predict_proba(points).ravel()
        got = [p for z in exact for p in (
            _softmax(z) if len(z) > 1 else [1 - 1 / (1 + math.exp(-z[0])),
                                            1 / (1 + math.exp(-z[0]))])]
    assert np.allclose(got, expected, rtol=1e-12, atol=1e-12)


def test_refusals() -> None:
    with pytest.raises(InputError, match="expects an MLPRegressor or MLPClassifier, got "
                                         "LinearRegression"):
        tvmip.from_sklearn(LinearRegression().fit(X, TARGET))
    with pytest.raises(InputError, match="this MLPClassifier is not fitted"):
        tvmip.from_sklearn(MLPClassifier())
    for activation in ("tanh", "logistic"):
        model = fitted(MLPRegressor(hidden_layer_sizes=(3,), activation=activation, max_iter=5), TARGET)
        with pytest.raises(InputError, match=f"activation='{activation}'.*not piecewise"):
            tvmip.from_sklearn(model)


def test_scikit_learn_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "sklearn.neural_network", None)
    with pytest.raises(InputError, match="from_sklearn needs scikit-learn"):
        tvmip.from_sklearn(object())
