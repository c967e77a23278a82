"""Joining measurements to the analytic results (pure): latency columns, roofline, per-kind shares.

Everything here is arithmetic on the results DataFrame, a ``Measured`` and a ``Roof``;
nothing is timed or printed. Units live in the names: ``latency_ms``,
``arithmetic_intensity`` (FLOP per byte, 2 FLOPs per mult-add), ``achieved_gflops``.
"""

from __future__ import annotations

from dataclasses import asdict

import numpy as np
import pandas as pd

from .stats import relative_spread, summarize
from .units import or_none

SPREAD_WARNING = 0.10  # IQR / median above this: the timing is noisy
FAULTS_PER_PASS_WARNING = 100  # minor page faults per forward pass during timing
MEASURED_COLUMNS = [
    "latency_iqr_ms",
    "latency_isolated_ms",
    "measured_output_bytes",
    "arithmetic_intensity",
    "achieved_gflops",
    "roofline_gflops",
    "roofline_fraction",
]


def attach(layers: pd.DataFrame, measured=None, roof=None) -> pd.DataFrame:
    """``layers`` with the measured columns (NaN where nothing was measured)."""
    out = layers.copy()
    batch = out["batch"]
    flops = 2.0 * out["mult_adds"] * batch
    moved = out["input_bytes"] + out["weight_bytes"] + out["activation_bytes"]
    out["arithmetic_intensity"] = flops / moved
    for col in MEASURED_COLUMNS:
        if col != "arithmetic_intensity":
            out[col] = np.nan
    if measured is None:
        return out
    # a row the backend could not time on its own (a module's own ops have no module to hook) stays NaN
    per = {name: summarize(times) for name, times in measured.layer_ms.items()}
    out["latency_ms"] = out["path"].map(lambda n: _or_nan(per.get(n, {}).get("median_ms")))
    out["latency_iqr_ms"] = out["path"].map(lambda n: _or_nan(per.get(n, {}).get("iqr_ms")))
    if measured.isolated_ms:
        out["latency_isolated_ms"] = out["path"].map(
            lambda n: (
                _or_nan(summarize(measured.isolated_ms[n])["median_ms"])
                if n in measured.isolated_ms
                else np.nan
            )
        )
    if measured.output_bytes:
        out["measured_output_bytes"] = out["path"].map(measured.output_bytes).astype(float)
    if measured.row_notes:
        # "fused: conv2 + add" on the row that carries the time, "fused into …" on the others
        out["latency_note"] = out["path"].map(measured.row_notes)
    out["achieved_gflops"] = flops / (out["latency_ms"] / 1e3) / 1e9
    if roof is not None:
        out["roofline_gflops"] = out["arithmetic_intensity"].map(roof.bound_gflops)
        has_work = out["mult_adds"] > 0
        out["roofline_fraction"] = (out["achieved_gflops"] / out["roofline_gflops"]).where(has_work)
    out.loc[out["mult_adds"] == 0, "achieved_gflops"] = np.nan
    return out


def attach_predicted(layers: pd.DataFrame, prediction) -> pd.DataFrame:
    """``layers`` with each row's predicted ``latency_ms`` and its ``latency_source`` (lookup / estimated)."""
    out = layers.copy()
    out["latency_ms"] = out["path"].map(prediction.per_row_ms).astype(float)
    out["latency_source"] = out["path"].map(prediction.per_row_source)
    return out


def predicted_summary(prediction, environment: dict) -> dict:
    """What ``extras["predicted"]`` holds: the end to end, how many rows were looked up, and the table's origin."""
    sources = list(prediction.per_row_source.values())
    return {
        "end_to_end_ms": prediction.total_ms,
        "per_layer_sum_ms": float(sum(prediction.per_row_ms.values())),
        "rows_looked_up": sources.count("lookup"),
        "rows_estimated": sources.count("estimated"),
        "source": prediction.source,
        "table_environment": environment,
    }


def _or_nan(x):
    return np.nan if x is None else x


def latency_summary(layers: pd.DataFrame, measured) -> dict:
    """End-to-end statistics, the per-layer sum next to them, and how far to trust them."""
    e2e = summarize(measured.end_to_end_ms)
    hooked = summarize(measured.hooked_end_to_end_ms)
    layer_sum = float(layers["latency_ms"].sum())
    isolated = layers["latency_isolated_ms"]
    return {
        "end_to_end": e2e,
        "per_layer_sum_ms": layer_sum,
        "per_layer_sum_ratio": layer_sum / e2e["median_ms"],
        "hooked_end_to_end": hooked,
        "hook_overhead": hooked["median_ms"] / e2e["median_ms"] - 1,
        "isolated_sum_ms": None if isolated.isna().all() else float(isolated.sum()),
        "passes": measured.passes,
        "page_faults_per_pass": measured.page_faults / max(measured.passes, 1),
        "relative_spread": relative_spread(e2e),
        "backend": measured.environment.get("backend", "torch"),
        # rows timed together (a fused node spanning rows) or not at all, as the backend reports them
        "row_notes": dict(measured.row_notes),
        "unattributed_ms": summarize(measured.unattributed_ms)["median_ms"]
        if measured.unattributed_ms
        else None,
    }


def warnings_for(summary: dict, environment: dict, more_time: str = "raise --min-run-time") -> list[str]:
    """What makes this measurement unreliable, and what to do about it."""
    out = []
    spread = summary["relative_spread"]
    if spread > SPREAD_WARNING:
        out.append(
            f"noisy timing: IQR is {spread:.0%} of the median (above {SPREAD_WARNING:.0%}); close other "
            f"programs, keep --threads at 1 or below the core count, and {more_time}"
        )
    faults = summary["page_faults_per_pass"]
    if faults > FAULTS_PER_PASS_WARNING:
        advice = (
            "run archprof as installed (it sets GLIBC_TUNABLES for its measuring process) or export "
            "GLIBC_TUNABLES=glibc.malloc.mmap_threshold=67108864:glibc.malloc.trim_threshold=1073741824"
            if not environment.get("glibc_tunables")
            else "memory is being returned to the system and faulted back in between passes"
        )
        out.append(f"{faults:,.0f} page faults per forward pass during timing: {advice}")
    return out


def by_kind(layers: pd.DataFrame) -> pd.DataFrame:
    """The paper's Table 2 extended with time: each layer type's share of mult-adds, params and latency (%)."""
    cols = ["mult_adds", "paper_params", "latency_ms"]
    g = layers.groupby("group", sort=False)[cols].sum(min_count=1)
    share = g / g.sum() * 100
    out = pd.DataFrame(
        {
            "group": g.index,
            "layers": layers.groupby("group", sort=False).size().values,
            "mult_adds": g["mult_adds"].astype("int64").values,
            "mult_adds_pct": share["mult_adds"].values,
            "paper_params": g["paper_params"].astype("int64").values,
            "paper_params_pct": share["paper_params"].values,
            "latency_ms": g["latency_ms"].values,
            "latency_pct": share["latency_ms"].values,
        }
    )
    return out.sort_values("mult_adds", ascending=False, kind="stable").reset_index(drop=True)


def extras(layers: pd.DataFrame, measured=None, roof=None) -> dict:
    """Everything a profile reports beyond the per-layer rows, ready for the renderers."""
    from .costs import totals

    t = totals(layers)
    out = {
        "latency": None,
        "environment": measured.environment if measured else None,
        "warnings": [],
        "memory": {
            "analytic_peak_activation_bytes": t["peak_activation_bytes"],
            "measured_peak_bytes": measured.peak_bytes if measured else None,
        },
        "roofline": None if roof is None else asdict(roof),
        "by_kind": [{k: or_none(v) for k, v in row.items()} for row in by_kind(layers).to_dict("records")],
    }
    if measured is not None:
        latency = latency_summary(layers, measured)
        out["latency"] = latency
        out["warnings"] = warnings_for(latency, measured.environment)
    return out
