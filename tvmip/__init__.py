"""tvmip: exact, certified activation- and linear-region counts of small networks
(ReLU, binarized, quantized, any piecewise-linear activation).

The Python API mirrors the command line::

    import tvmip
    net = tvmip.load_network("net.json")            # or tvmip.network_from_dict({...})
    result = tvmip.count(net, linear=True, certificate="net.cert.json.gz")
    print(result.activation_regions, result.linear_regions, result.claim)
    for region in tvmip.regions(net):               # frozen RegionInfo records
        print(region.pattern, region.witness, region.gradient, region.linear_region)
    print(tvmip.check("net.cert.json.gz").line)     # the independent checker
    print(tvmip.audit(net, "float32", "net.audit.json").report)  # float rounding

Names are loaded on first use, so ``python -m tvmip.checker`` (the trusted
checker) never imports the solver stack through this package.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

_API = {
    "Box": "tvmip.model.network",
    "Network": "tvmip.model.network",
    "Layer": "tvmip.model.network",
    "load_network": "tvmip.model.network",
    "network_from_dict": "tvmip.model.network",
    "save_network": "tvmip.model.network",
    "evaluate": "tvmip.model.network",
    "parse_box": "tvmip.model.network",
    "count": "tvmip.engine.counting",
    "Limits": "tvmip.engine.run",
    "CountResult": "tvmip.engine.counting",
    "regions": "tvmip.engine.listing",
    "RegionInfo": "tvmip.engine.listing",
    "check": "tvmip.checker.verify",
    "Verdict": "tvmip.checker.verify",
    "TvmipError": "tvmip.errors",
    "InputError": "tvmip.errors",
    "from_sklearn": "tvmip.io.sklearn",
    "audit": "tvmip.float_audit",
    "AuditResult": "tvmip.float_audit",
    "import_onnx": "tvmip.io.onnx_import",
    "export_onnx": "tvmip.io.onnx_export",
}
_RENAMED = {"check": "check_file"}

__all__ = [
    "AuditResult",
    "Box",
    "CountResult",
    "InputError",
    "Layer",
    "Limits",
    "Network",
    "RegionInfo",
    "TvmipError",
    "Verdict",
    "audit",
    "check",
    "count",
    "evaluate",
    "export_onnx",
    "from_sklearn",
    "import_onnx",
    "load_network",
    "network_from_dict",
    "parse_box",
    "regions",
    "save_network",
]


def __getattr__(name: str) -> Any:
    if name not in _API:
        raise AttributeError(f"module 'tvmip' has no attribute {name!r}")
    value = getattr(import_module(_API[name]), _RENAMED.get(name, name))
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_API])
