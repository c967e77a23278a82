"""Summary statistics of raw timings (pure): median, IQR, p90, min, in milliseconds."""

from __future__ import annotations

import numpy as np


def summarize(times_ms) -> dict:
    t = np.asarray(times_ms, dtype=float)
    if t.size == 0:
        return {
            "median_ms": None,
            "iqr_ms": None,
            "q25_ms": None,
            "q75_ms": None,
            "p90_ms": None,
            "min_ms": None,
            "n": 0,
        }
    q25, q50, q75, q90 = np.percentile(t, [25, 50, 75, 90])
    return {
        "median_ms": float(q50),
        "iqr_ms": float(q75 - q25),
        "q25_ms": float(q25),
        "q75_ms": float(q75),
        "p90_ms": float(q90),
        "min_ms": float(t.min()),
        "n": int(t.size),
    }


def relative_spread(summary: dict) -> float:
    """IQR / median: the noise figure the warnings use."""
    return summary["iqr_ms"] / summary["median_ms"] if summary.get("median_ms") else float("nan")
