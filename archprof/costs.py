"""Analytic counts: the cost of every row of a configuration, from the spec alone (no torch).

The result is archprof's one result shape: a pandas DataFrame with one row per leaf row
(a layer, or the merge of a block's branches) per configuration (``LAYER_COLUMNS``),
keyed by ``path``; ``totals`` derives a configuration's totals from it and
``block_rows`` the subtotal of every block, for the nested views. Conventions (also
printed with every output, see ``CONVENTIONS``):

- ``mult_adds``: multiply-accumulates of conv and FC layers only (the paper's convention).
- ``params``: every learnable parameter torch holds (weights, biases, BN γ/β);
  ``paper_params``: conv and FC weights only (the paper's Tables 2–9);
  ``non_trainable_params``: BN running mean and variance and frozen parameters (Keras's
  non-trainable params); ``frozen_params``: parameters that do not require grad.
- ``weight_bytes``: params and buffers (BN running statistics in the dtype, plus BN's
  int64 ``num_batches_tracked``); ``activation_bytes``: the row's output tensor;
  ``live_bytes``: every tensor alive while the row runs (see ``memory.py``);
  ``peak_activation_bytes``: the largest of those.
"""

from __future__ import annotations

import pandas as pd

from .memory import live_bytes
from .registry import REGISTRY
from .shapes import resolve_tree
from .spec import Block, ModelSpec, ModuleModel

DTYPE_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2, "float64": 8}
INT64_BYTES = 8

CONFIG_COLUMNS = ["model", "variant", "alpha", "resolution", "dtype", "batch"]
LAYER_COLUMNS = CONFIG_COLUMNS + [
    "index",
    "path",
    "name",
    "parent",
    "depth",
    "kind",
    "group",
    "role",
    "filter",
    "stride",
    "line",
    "kernel",
    "groups",
    "padding",
    "in_c",
    "in_h",
    "in_w",
    "out_c",
    "out_h",
    "out_w",
    "params",
    "paper_params",
    "non_trainable_params",
    "frozen_params",
    "mult_adds",
    "weight_bytes",
    "input_bytes",
    "activation_bytes",
    "live_bytes",
    "latency_ms",
]
SUMMED = [
    "params",
    "paper_params",
    "non_trainable_params",
    "frozen_params",
    "mult_adds",
    "weight_bytes",
    "activation_bytes",
]

CONVENTIONS = (
    "mult-adds: multiply-accumulates of conv and FC layers (bias, BN, ReLU, pooling, softmax, adds not counted); "
    "params: all learnable parameters of the torch model; paper params: conv and FC weights only; "
    "weights: params + BN buffers in bytes; activations: each layer's output in bytes; "
    "peak: the most bytes of tensors alive at once (a layer's input and output, skips and branches awaiting "
    "their merge)."
)


def _row_dict(spec: ModelSpec, r, dtype: str, batch: int) -> dict:
    size = DTYPE_BYTES[dtype]
    kind = REGISTRY[r.layer.kind]
    shapes_in = r.in_shapes or (r.in_shape,)
    cost = kind.cost(r.layer, r.in_shapes if kind.merge else r.in_shape, r.out_shape)
    c, h, w = r.in_shape
    oc, oh, ow = r.out_shape
    layer = r.layer
    return {
        "model": spec.key,
        "variant": spec.variant,
        "alpha": spec.alpha,
        "resolution": spec.resolution,
        "dtype": dtype,
        "batch": batch,
        "index": r.index,
        "path": r.path,
        "name": r.name,
        "parent": r.parent,
        "depth": r.depth,
        "kind": kind.key,
        "group": kind.group(layer),
        "role": layer.role,
        "filter": kind.describe(layer, r.in_shapes if kind.merge else r.in_shape),
        "stride": layer.stride,
        "line": layer.line,
        "kernel": list(layer.kernel) if layer.kernel else None,
        "groups": kind.groups(layer, r.in_shape),
        "padding": list(kind.pads(layer, r.in_shape)),
        "in_c": c,
        "in_h": h,
        "in_w": w,
        "out_c": oc,
        "out_h": oh,
        "out_w": ow,
        "params": cost.params,
        "paper_params": cost.paper_params,
        "non_trainable_params": cost.float_buffers,
        "frozen_params": 0,
        "mult_adds": cost.mult_adds,
        "weight_bytes": (cost.params + cost.float_buffers) * size + cost.int64_buffers * INT64_BYTES,
        "input_bytes": sum(x[0] * x[1] * x[2] for x in shapes_in) * size * batch,
        "activation_bytes": oc * oh * ow * size * batch,
        "latency_ms": float("nan"),
    }


def tree_rows(spec) -> tuple:
    """Every row and block of a configuration in execution order: the spec's tree, or a module's as traced."""
    return spec.tree if isinstance(spec, ModuleModel) else resolve_tree(spec)


def count(spec: ModelSpec | ModuleModel, dtype: str = "float32", batch: int = 1) -> pd.DataFrame:
    """One row per leaf row of ``spec`` with its exact counts; ``latency_ms`` is left empty (NaN)."""
    if isinstance(spec, ModuleModel):
        from .opcount import rows as module_rows

        return module_rows(spec.module, spec.trace, spec.key, spec.resolution, dtype, batch)[0]
    tree = resolve_tree(spec)
    rows = [_row_dict(spec, r, dtype, batch) for r in tree if not r.is_block]
    live = live_bytes(tree, spec.input_shape, DTYPE_BYTES[dtype] * batch)
    for row in rows:
        row["live_bytes"] = live[row["path"]]
    return exact(pd.DataFrame(rows, columns=LAYER_COLUMNS))


INT64_MAX = 2**63 - 1
COUNT_COLUMNS = SUMMED + ["input_bytes", "live_bytes"]


def exact(layers: pd.DataFrame) -> pd.DataFrame:
    """``layers`` with any count column too large for int64 held as Python ints (object dtype).

    pandas would store such a column as uint64 or float64, and numpy sums wrap or round;
    a 100,000-pixel VGG16 at batch 10⁶ has activations of 10²⁰ bytes. Every sum in
    archprof goes through ``total``, in Python ints, so nothing wraps either way.
    """
    for col in COUNT_COLUMNS:
        values = layers[col]
        if values.dtype != "int64" and values.notna().all() and any(int(v) > INT64_MAX for v in values):
            layers[col] = pd.Series([int(v) for v in values], index=layers.index, dtype=object)
    return layers


def total(values) -> int:
    """The exact sum of a count column, in Python ints."""
    return sum(int(v) for v in values)


def totals(layers: pd.DataFrame) -> dict:
    """A configuration's totals: the leaf columns summed, the peak activation bytes, Keras's three param lines."""
    sums = {col: total(layers[col]) for col in SUMMED}
    out: dict[str, int | float | None] = dict(sums)
    out["peak_activation_bytes"] = max((int(v) for v in layers["live_bytes"]), default=0)
    lat = layers["latency_ms"]
    out["latency_ms"] = None if lat.isna().all() else float(lat.sum())
    # Keras's model.summary(): BN's moving mean and variance, and frozen weights, are its non-trainable params.
    out["total_params"] = sums["params"] + sums["non_trainable_params"] - sums["frozen_params"]
    out["trainable_params"] = sums["params"] - sums["frozen_params"]
    return out


BLOCK_SUMMED = SUMMED + ["latency_ms"]


def block_rows(spec: ModelSpec, layers: pd.DataFrame) -> pd.DataFrame:
    """One row per block (and branch) of ``spec``: its subtotal over the leaf rows beneath it.

    Same columns as the leaf rows, plus ``is_block``; the configuration columns are those
    of ``layers``. Shapes are the block's input and output.
    """
    import numpy as np

    tree = tree_rows(spec)
    # every leaf row counts towards each of its ancestors: one pass over the rows, not one per block
    under: dict[str, list[int]] = {}
    for i, path in enumerate(layers["path"]):
        parts = path.split("/")
        for depth in range(1, len(parts)):
            under.setdefault("/".join(parts[:depth]), []).append(i)
    summed = {col: layers[col].to_numpy() for col in SUMMED + ["live_bytes"]}
    latency = layers["latency_ms"].to_numpy(dtype=float)
    first = layers.iloc[0] if len(layers) else None
    rows = []
    for r in tree:
        if not r.is_block:
            continue
        idx = np.asarray(under.get(r.path, []), dtype=int)
        c, h, w = r.in_shape
        oc, oh, ow = r.out_shape
        block: Block = r.layer
        lat = latency[idx]
        row = {col: first[col] for col in CONFIG_COLUMNS} if first is not None else {}
        row.update(
            {
                "index": r.index,
                "path": r.path,
                "name": r.name,
                "parent": r.parent,
                "depth": r.depth,
                "kind": block.kind,
                "group": "",
                "role": "",
                "filter": block.describe or _branch_label(block),
                "stride": None,
                "line": block.line,
                "kernel": None,
                "groups": None,
                "padding": None,
                "in_c": c,
                "in_h": h,
                "in_w": w,
                "out_c": oc,
                "out_h": oh,
                "out_w": ow,
                **{col: total(summed[col][idx]) for col in SUMMED},
                "input_bytes": None,
                "live_bytes": max((int(v) for v in summed["live_bytes"][idx]), default=0),
                "latency_ms": float(np.nansum(lat)) if len(idx) and not np.isnan(lat).all() else float("nan"),
            }
        )
        rows.append(row)
    return exact(pd.DataFrame(rows, columns=LAYER_COLUMNS))


def _branch_label(block: Block) -> str:
    if block.kind not in ("seq", "concat", "add"):  # a user's module or a block kind: its row says what it is
        return ""
    if block.merge == "seq":
        return "" if block.children else "identity"
    return f"{block.merge} of {len(block.branches)} branches"


def nested(spec: ModelSpec, layers: pd.DataFrame) -> pd.DataFrame:
    """Leaf rows and block rows in execution order (each block before its rows), with ``is_block``.

    Sums over the rows with ``is_block`` False equal the totals; a block's row is the
    subtotal of the rows under it.
    """
    blocks = block_rows(spec, layers)
    extra = [c for c in layers.columns if c not in blocks.columns]
    for c in extra:
        blocks[c] = float("nan")
    order = {r.path: i for i, r in enumerate(tree_rows(spec))}
    both = (
        pd.concat(
            [layers.assign(is_block=False), blocks[layers.columns].assign(is_block=True)], ignore_index=True
        )
        if len(blocks)
        else layers.assign(is_block=False)
    )
    both = both.iloc[both["path"].map(order).argsort(kind="stable")].reset_index(drop=True)
    return both
