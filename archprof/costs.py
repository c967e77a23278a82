"""Analytic counts: the cost of every layer of a configuration, from the spec alone (no torch).

The result is archprof's one result shape: a pandas DataFrame with one row per layer
per configuration (``LAYER_COLUMNS``); ``totals`` derives a configuration's totals from
it. Conventions (also printed with every output, see ``CONVENTIONS``):

- ``mult_adds``: multiply-accumulates of conv and FC layers only (the paper's convention).
- ``params``: every learnable parameter torch holds (weights, biases, BN γ/β);
  ``paper_params``: conv and FC weights only (the paper's Tables 2–9).
- ``weight_bytes``: params and buffers (BN running statistics in the dtype, plus BN's
  int64 ``num_batches_tracked``); ``activation_bytes``: the layer's output tensor;
  ``peak_activation_bytes``: the largest input + output pair while running the rows in
  order (each row's input is freed once it has run).
"""

from __future__ import annotations

import pandas as pd

from .registry import REGISTRY
from .shapes import resolve
from .spec import ModelSpec

DTYPE_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2, "float64": 8}
INT64_BYTES = 8

CONFIG_COLUMNS = ["model", "variant", "alpha", "resolution", "dtype", "batch"]
LAYER_COLUMNS = CONFIG_COLUMNS + [
    "index", "name", "kind", "group", "role", "filter", "stride", "line",
    "in_c", "in_h", "in_w", "out_c", "out_h", "out_w",
    "params", "paper_params", "mult_adds", "weight_bytes", "input_bytes", "activation_bytes",
    "latency_ms",
]
SUMMED = ["params", "paper_params", "mult_adds", "weight_bytes", "activation_bytes"]

CONVENTIONS = (
    "mult-adds: multiply-accumulates of conv and FC layers (bias, BN, ReLU, pooling, softmax not counted); "
    "params: all learnable parameters of the torch model; paper params: conv and FC weights only; "
    "weights: params + BN buffers in bytes; activations: each layer's output in bytes; "
    "peak: largest input + output of one layer, in bytes."
)


def count(spec: ModelSpec, dtype: str = "float32", batch: int = 1) -> pd.DataFrame:
    """One row per layer of ``spec`` with its exact counts; ``latency_ms`` is left empty (NaN)."""
    size = DTYPE_BYTES[dtype]
    rows = []
    for r in resolve(spec):
        kind = REGISTRY[r.layer.kind]
        cost = kind.cost(r.layer, r.in_shape, r.out_shape)
        c, h, w = r.in_shape
        oc, oh, ow = r.out_shape
        rows.append({
            "model": spec.key, "variant": spec.variant, "alpha": spec.alpha, "resolution": spec.resolution,
            "dtype": dtype, "batch": batch,
            "index": r.index, "name": r.name, "kind": kind.key, "group": kind.group(r.layer), "role": r.layer.role, "filter": kind.describe(r.layer, r.in_shape),
            "stride": r.layer.stride, "line": r.layer.line,
            "in_c": c, "in_h": h, "in_w": w, "out_c": oc, "out_h": oh, "out_w": ow,
            "params": cost.params, "paper_params": cost.paper_params, "mult_adds": cost.mult_adds,
            "weight_bytes": (cost.params + cost.float_buffers) * size + cost.int64_buffers * INT64_BYTES,
            "input_bytes": c * h * w * size * batch,
            "activation_bytes": oc * oh * ow * size * batch,
            "latency_ms": float("nan"),
        })
    return pd.DataFrame(rows, columns=LAYER_COLUMNS)


def totals(layers: pd.DataFrame) -> dict:
    """A configuration's totals: the layer columns summed, and the peak activation bytes."""
    out = {col: int(layers[col].sum()) for col in SUMMED}
    out["peak_activation_bytes"] = int((layers["input_bytes"] + layers["activation_bytes"]).max())
    lat = layers["latency_ms"]
    out["latency_ms"] = None if lat.isna().all() else float(lat.sum())
    return out
