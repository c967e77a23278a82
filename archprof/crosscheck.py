"""Independent counts taken from a built torch model, to hold the analytic counts against.

- ``torch_params``: ``sum(p.numel())`` per row module, and weight bytes from the tensors;
- ``fvcore_mult_adds``: fvcore's traced count restricted to conv and linear ops (fvcore
  counts one fused multiply-add as one flop, the paper's mult-add), per row module.

Rows are the leaf rows of the spec (layers and merges), joined by ``path``.
"""

from __future__ import annotations

import functools

import pandas as pd

from .build import build_model, example_input, row_modules
from .spec import ModelSpec

FVCORE_MULT_ADD_OPS = ("conv", "linear")  # fvcore also counts batch_norm and pooling; the paper does not


def torch_params(modules: dict) -> pd.DataFrame:
    """Per row module: its learnable parameters and the bytes of its parameters and buffers."""
    rows = []
    for path, module in modules.items():
        params = sum(p.numel() for p in module.parameters())
        nbytes = sum(t.numel() * t.element_size() for t in list(module.parameters()) + list(module.buffers()))
        rows.append({"path": path, "params": params, "weight_bytes": nbytes})
    return pd.DataFrame(rows, columns=["path", "params", "weight_bytes"])


def fvcore_mult_adds(model, x, paths: list[str]) -> dict[str, int]:
    """Per row ``path``: fvcore's conv + linear count on input ``x``."""
    import warnings

    with warnings.catch_warnings():
        # fvcore's import scripts a helper with torch.jit.script, deprecated in recent torch.
        warnings.simplefilter("ignore", DeprecationWarning)
        from fvcore.nn import FlopCountAnalysis

    analysis = FlopCountAnalysis(model, x)
    analysis.unsupported_ops_warnings(False)
    analysis.uncalled_modules_warnings(False)
    by_module = analysis.by_module_and_operator()
    return {
        path: sum(by_module.get(path.replace("/", "."), {}).get(op, 0) for op in FVCORE_MULT_ADD_OPS)
        for path in paths
    }


def crosscheck(spec: ModelSpec) -> pd.DataFrame:
    """Per leaf row: the torch parameter count, weight bytes and fvcore mult-adds of the built model.

    Remembered per configuration for the life of the process (specs are frozen and hashable, and
    building and tracing is most of the cost of ``validate`` and of the test suite); a copy is
    returned. ``crosscheck.cache_clear()`` forgets, for code that changes how models are built.
    """
    return _crosscheck(spec).copy()


@functools.lru_cache(maxsize=512)
def _crosscheck(spec: ModelSpec) -> pd.DataFrame:
    import torch

    # Built on the meta device and given uninitialised storage: counting needs shapes,
    # not values, and skipping weight init saves seconds on VGG16.
    model = build_model(spec, device="meta").to_empty(device="cpu")
    modules = row_modules(model, spec)
    with torch.inference_mode():
        mult_adds = fvcore_mult_adds(model, example_input(spec), list(modules))
    out = torch_params(modules)
    out["mult_adds"] = out["path"].map(mult_adds)
    return out


crosscheck.cache_clear = _crosscheck.cache_clear  # type: ignore[attr-defined]
