"""Independent counts taken from a built torch model, to hold the analytic counts against.

- ``torch_params``: ``sum(p.numel())`` per named child, and weight bytes from the tensors;
- ``fvcore_mult_adds``: fvcore's traced count restricted to conv and linear ops (fvcore
  counts one fused multiply-add as one flop, the paper's mult-add), per named child.
"""

from __future__ import annotations

import pandas as pd

from .build import build_model, example_input
from .spec import ModelSpec

FVCORE_MULT_ADD_OPS = ("conv", "linear")  # fvcore also counts batch_norm and pooling; the paper does not


def torch_params(model) -> pd.DataFrame:
    """Per child of ``model``: its learnable parameters and the bytes of its parameters and buffers."""
    rows = []
    for name, child in model.named_children():
        params = sum(p.numel() for p in child.parameters())
        nbytes = sum(t.numel() * t.element_size() for t in list(child.parameters()) + list(child.buffers()))
        rows.append({"name": name, "params": params, "weight_bytes": nbytes})
    return pd.DataFrame(rows, columns=["name", "params", "weight_bytes"])


def fvcore_mult_adds(model, x) -> dict[str, int]:
    """Per child of ``model``: fvcore's conv + linear count on input ``x``."""
    import warnings

    with warnings.catch_warnings():
        # fvcore's import scripts a helper with torch.jit.script, deprecated in recent torch.
        warnings.simplefilter("ignore", DeprecationWarning)
        from fvcore.nn import FlopCountAnalysis

    analysis = FlopCountAnalysis(model, x)
    analysis.unsupported_ops_warnings(False)
    analysis.uncalled_modules_warnings(False)
    by_module = analysis.by_module_and_operator()
    return {name: sum(by_module.get(name, {}).get(op, 0) for op in FVCORE_MULT_ADD_OPS)
            for name, _ in model.named_children()}


def crosscheck(spec: ModelSpec) -> pd.DataFrame:
    """Per layer: the torch parameter count, weight bytes and fvcore mult-adds of the built model."""
    import torch

    # Built on the meta device and given uninitialised storage: counting needs shapes,
    # not values, and skipping weight init saves seconds on VGG16.
    model = build_model(spec, device="meta").to_empty(device="cpu")
    with torch.inference_mode():
        mult_adds = fvcore_mult_adds(model, example_input(spec))
    out = torch_params(model)
    out["mult_adds"] = out["name"].map(mult_adds)
    return out
