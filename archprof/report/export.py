"""Machine-readable output: the JSON object of DESIGN.md's output contract, and CSV.

Both are built from the results DataFrame and returned as strings; writing them is the
caller's job (``outputs.write_atomic``).
"""

from __future__ import annotations

import io
import json
import math

import pandas as pd

from ..costs import CONVENTIONS, totals
from ..spec import ModelSpec

LAYER_FIELDS = ["name", "kind", "output_shape", "params", "paper_params", "mult_adds",
                "weight_bytes", "activation_bytes", "latency_ms"]


def _latency(x):
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else float(x)


def _num(x):
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else float(x)


def profile_dict(spec: ModelSpec, layers: pd.DataFrame, extras: dict | None = None) -> dict:
    """One configuration as the output contract's object; every layer column sums to its total.

    Beyond the contract: per layer the measured columns (``latency_iqr_ms``,
    ``latency_isolated_ms``, ``measured_output_bytes``, ``arithmetic_intensity``,
    ``achieved_gflops``, ``roofline_fraction``), and ``extras`` (latency statistics,
    environment, memory, roofline, ``by_kind``, warnings) at the top level.
    """
    measured_cols = [c for c in ("latency_iqr_ms", "latency_isolated_ms", "measured_output_bytes",
                                 "arithmetic_intensity", "achieved_gflops", "roofline_fraction")
                     if c in layers.columns]
    return {
        "model": spec.ref,
        "name": spec.name,
        "variant": spec.variant,
        "alpha": float(spec.alpha),
        "resolution": int(spec.resolution),
        "dtype": str(layers["dtype"].iloc[0]),
        "batch": int(layers["batch"].iloc[0]),
        "conventions": CONVENTIONS,
        "totals": totals(layers),
        "layers": [
            {"name": r.name, "kind": r.kind, "output_shape": [int(r.out_c), int(r.out_h), int(r.out_w)],
             "params": int(r.params), "paper_params": int(r.paper_params), "mult_adds": int(r.mult_adds),
             "weight_bytes": int(r.weight_bytes), "activation_bytes": int(r.activation_bytes),
             "latency_ms": _latency(r.latency_ms),
             **{c: _num(getattr(r, c)) for c in measured_cols},
             **({"measured_output_bytes": None if getattr(r, "measured_output_bytes") != getattr(r, "measured_output_bytes")
                 else int(getattr(r, "measured_output_bytes"))} if "measured_output_bytes" in measured_cols else {})}
            for r in layers.itertuples()
        ],
        **(extras or {}),
    }


def to_json(obj) -> str:
    return json.dumps(obj, indent=2) + "\n"


def to_csv(layers: pd.DataFrame) -> str:
    buf = io.StringIO()
    layers.to_csv(buf, index=False)
    return buf.getvalue()


def validation_dict(checks) -> dict:
    counts: dict[str, int] = {}
    for c in checks:
        counts[c.verdict] = counts.get(c.verdict, 0) + 1
    return {"passed": counts.get("FAIL", 0) == 0, "counts": counts, "checks": [c.as_dict() for c in checks]}
