"""Machine-readable output: the JSON object of DESIGN.md's output contract, and CSV.

Both are built from the results DataFrame and returned as strings; writing them is the
caller's job (``outputs.write_atomic``).
"""

from __future__ import annotations

import io
import json

import pandas as pd

from .. import costs
from ..costs import CONVENTIONS
from ..spec import ModelSpec
from ..units import missing, or_none


def _int(x):
    return None if missing(x) else int(x)


def _num(x):
    return None if missing(x) else float(x)


def _layer_record(r, measured_cols: list[str], measured: bool) -> dict:
    block = bool(getattr(r, "is_block", False))
    return {
        "name": r.name,
        "kind": r.kind,
        "output_shape": [int(r.out_c), int(r.out_h), int(r.out_w)],
        "params": int(r.params),
        "paper_params": int(r.paper_params),
        "mult_adds": int(r.mult_adds),
        "weight_bytes": int(r.weight_bytes),
        "activation_bytes": int(r.activation_bytes),
        "latency_ms": _num(r.latency_ms),
        "path": r.path,
        "parent": r.parent,
        "depth": int(r.depth),
        "is_block": block,
        "input_shape": [int(r.in_c), int(r.in_h), int(r.in_w)],
        "kernel": None if block or r.kernel is None else [int(k) for k in r.kernel],
        "stride": None if block else int(r.stride),
        "groups": None if block else int(r.groups),
        "padding": None if block else [int(p) for p in r.padding],
        "non_trainable_params": int(r.non_trainable_params),
        **{c: _num(getattr(r, c)) for c in measured_cols},
        **({"measured_output_bytes": _int(r.measured_output_bytes)} if measured else {}),
        **({"latency_source": _source(r.latency_source)} if hasattr(r, "latency_source") else {}),
    }


def _source(value) -> str | None:
    return value if isinstance(value, str) else None  # a block's row: its rows say


def profile_dict(spec: ModelSpec, layers: pd.DataFrame, extras: dict | None = None) -> dict:
    """One configuration as the output contract's object; every leaf row's column sums to its total.

    ``layers`` holds the leaf rows (layers and merges); each block of the spec adds a row
    with ``"is_block": true`` carrying its subtotal, before the rows under it, so sums
    over the rows with ``"is_block": false`` equal the totals. Beyond the contract, when
    latency was measured: per row the measured columns (``latency_iqr_ms``,
    ``latency_isolated_ms``, ``measured_output_bytes``, ``arithmetic_intensity``,
    ``achieved_gflops``, ``roofline_fraction``), and ``extras`` (latency statistics,
    environment, memory, roofline, ``by_kind``, warnings) at the top level.
    """
    measured = "latency_isolated_ms" in layers.columns and not layers["latency_ms"].isna().all()
    measured_cols = (
        [
            "latency_iqr_ms",
            "latency_isolated_ms",
            "arithmetic_intensity",
            "achieved_gflops",
            "roofline_fraction",
        ]
        if measured
        else []
    )
    rows = costs.nested(spec, layers)
    return {
        "model": spec.ref,
        "name": spec.name,
        "variant": spec.variant,
        "alpha": float(spec.alpha),
        "resolution": int(spec.resolution),
        "classes": int(spec.classes),
        "dtype": str(layers["dtype"].iloc[0]),
        "batch": int(layers["batch"].iloc[0]),
        "conventions": CONVENTIONS,
        "totals": costs.totals(layers),
        "layers": [_layer_record(r, measured_cols, measured) for r in rows.itertuples()],
        **(extras or {}),
    }


def to_json(obj) -> str:
    return json.dumps(obj, indent=2) + "\n"


def to_csv(layers: pd.DataFrame) -> str:
    buf = io.StringIO()
    layers.to_csv(buf, index=False)
    return buf.getvalue()


def validation_dict(checks) -> dict:
    from ..validate import summary

    counts = summary(checks)
    return {"passed": counts.get("FAIL", 0) == 0, "counts": counts, "checks": [c.as_dict() for c in checks]}


def comparison_frames(configs: pd.DataFrame, layers: pd.DataFrame) -> pd.DataFrame:
    """One table for CSV: a row per layer per configuration, then a row of totals per configuration."""
    layer_rows = layers.drop(columns=["config"]).assign(row="layer")
    totals_rows = configs.drop(columns=["config"]).assign(row="total", index=None, kind="total")
    totals_rows["name"] = "total"
    totals_rows["model"] = configs["model"]
    ordered = ["row"] + [c for c in layer_rows.columns if c != "row"]
    extra = [c for c in totals_rows.columns if c not in ordered]
    both = pd.concat([layer_rows, totals_rows], ignore_index=True)[ordered + extra]
    # the concat leaves holes (a total has no shapes), which would turn counts into floats: 4816896.0
    for frame in (layer_rows, totals_rows):
        for col in frame.columns:
            if pd.api.types.is_integer_dtype(frame[col]) and not pd.api.types.is_bool_dtype(frame[col]):
                both[col] = both[col].astype("Int64")
    return both


def comparison_dict(configs: pd.DataFrame, layers: pd.DataFrame, extra: dict) -> dict:
    """JSON: the configurations (totals, ratios to the first) and every layer row."""

    def records(frame):
        return [{k: or_none(v) for k, v in row.items()} for row in frame.to_dict("records")]

    return {
        "conventions": CONVENTIONS,
        **extra,
        "configurations": records(configs),
        "layers": records(layers),
    }
