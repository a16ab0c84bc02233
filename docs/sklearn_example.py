"""README's scikit-learn walk-through, end to end: train, export, import, count,
certify, check and draw.  Regenerates docs/sklearn_mlp.onnx, docs/sklearn_data.csv
and docs/sklearn.png (needs the test extras: scikit-learn, skl2onnx).

    python docs/sklearn_example.py
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from skl2onnx import to_onnx
from sklearn.neural_network import MLPRegressor

import tvmip

HERE = Path(__file__).resolve().parent


def tvmip_cli(*args: str) -> None:
    print("$ tvmip", " ".join(args))
    subprocess.run([sys.executable, "-m", "tvmip.cli", *args], check=True)


def main() -> None:
    rng = np.random.default_rng(0)
    x = rng.uniform(-2, 2, size=(300, 2))
    y = np.sin(1.5 * x[:, 0]) * np.cos(x[:, 1])
    model = MLPRegressor(hidden_layer_sizes=(8, 8), max_iter=3000, random_state=0).fit(x, y)
    print(f"trained: R^2 = {model.score(x, y):.3f} on the training data")

    onnx_path, data_path = HERE / "sklearn_mlp.onnx", HERE / "sklearn_data.csv"
    onnx_path.write_bytes(to_onnx(model, x[:1]).SerializeToString())  # float64: exact
    np.savetxt(data_path, x, delimiter=",", header="x1,x2", comments="", fmt="%.17g")

    with tempfile.TemporaryDirectory() as tmp:
        net, cert = Path(tmp) / "mlp.json", Path(tmp) / "mlp.cert.json.gz"
        tvmip_cli("import", str(onnx_path), "-o", str(net))
        assert tvmip.load_network(net).sha256 == tvmip.from_sklearn(model).sha256
        tvmip_cli("count", str(net), "--data", str(data_path), "--linear", "-c", str(cert))
        tvmip_cli("check", str(cert))
        tvmip_cli("plot", str(net), "--data", str(data_path), "-o", str(HERE / "sklearn.png"),
                  "-q")


if __name__ == "__main__":
    main()
