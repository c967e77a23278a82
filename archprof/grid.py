"""Grids of configurations: which (spec, variant, α, resolution) to run, and their results as one table.

``configurations`` expands the specs named on the command line over their default grids
(or the α / resolution lists given); ``layer_frame`` and ``config_frame`` are the
results: one row per layer per configuration, and one row of totals per configuration.
Pure, but for ``measure_grid`` being passed in by the caller.
"""

from __future__ import annotations

import pandas as pd

from . import costs
from .catalog import load, split_ref
from .errors import ConfigError
from .profiling import attach, latency_summary
from .spec import ModelSpec
from .transforms import configure, rho_to_resolution
from .units import missing


def parse_list(text: str, kind: type, what: str) -> tuple:
    """'1, 0.75,0.5' → (1.0, 0.75, 0.5); a clear ConfigError for anything else."""
    items = [t.strip() for t in text.split(",")]
    try:
        values = tuple(kind(t) for t in items)
    except ValueError:
        numbers = "whole numbers" if kind is int else "numbers"
        raise ConfigError(f"{what} must be a comma-separated list of {numbers}, got {text!r}") from None
    if not values:
        raise ConfigError(f"{what} is empty")
    return values


def configurations(
    refs: list[str], alphas=None, resolutions=None, rhos=None, input_shape=None
) -> list[ModelSpec]:
    """Every configuration to compare, in order: spec by spec, α descending as given, then resolution.

    A model file (``FILE.py:NAME``) is one configuration at ``input_shape`` (or at each resolution given).
    """
    from .modelfile import is_model_ref

    out = []
    seen = set()
    for ref in refs:
        if is_model_ref(ref):
            from .api import configuration

            for r in resolutions or (None,):
                out.append(configuration(ref, resolution=r, input_shape=input_shape))
            continue
        name, variant = split_ref(ref)
        spec = load(name)
        a_list = alphas or spec.alphas
        if rhos:
            r_list = tuple(rho_to_resolution(spec, rho) for rho in rhos)
        else:
            r_list = resolutions or spec.resolutions
        for a in a_list:
            for r in r_list:
                config = configure(spec, variant, a, r)
                key = (config.ref, config.alpha, config.resolution)
                if key not in seen:
                    seen.add(key)
                    out.append(config)
    if not out:
        raise ConfigError("nothing to compare")
    return out


def counts(specs: list[ModelSpec], dtype: str = "float32", batch: int = 1) -> list[pd.DataFrame]:
    """The analytic rows of every configuration (no torch)."""
    return [costs.count(spec, dtype, batch) for spec in specs]


def layer_frame(
    specs: list[ModelSpec], counted: list[pd.DataFrame], measured=None, roof=None
) -> pd.DataFrame:
    """One row per layer per configuration, with the measured columns where measured."""
    frames = []
    for i, (spec, layers) in enumerate(zip(specs, counted)):
        layers = attach(layers, measured[i] if measured else None, roof)
        layers.insert(0, "config", i)
        layers.insert(2, "ref", spec.ref)
        frames.append(layers)
    return pd.concat(frames, ignore_index=True)


TOTALS_COLUMNS = [
    "config",
    "model",
    "ref",
    "name",
    "variant",
    "alpha",
    "resolution",
    "dtype",
    "batch",
    "label",
    "params",
    "paper_params",
    "mult_adds",
    "weight_bytes",
    "activation_bytes",
    "peak_activation_bytes",
    "latency_ms",
    "latency_iqr_ms",
    "latency_q25_ms",
    "latency_q75_ms",
    "latency_p90_ms",
    "latency_min_ms",
    "latency_samples",
    "per_layer_sum_ms",
    "reported_top1",
    "citation",
    "pareto",
    "pareto_latency",
]


def pareto_front(cost, accuracy) -> list[bool]:
    """Which points no other point beats: as cheap or cheaper and as accurate or more, and not the same point.

    Points without an accuracy (NaN or None) are never on the front.
    """
    points = list(zip(cost, accuracy))
    known = [(c, a) for c, a in points if not (missing(a) or missing(c))]
    return [
        not (missing(a) or missing(c))
        and not any(oc <= c and oa >= a and (oc, oa) != (c, a) for oc, oa in known)
        for c, a in points
    ]


def config_frame(specs: list[ModelSpec], layers: pd.DataFrame, measured=None) -> pd.DataFrame:
    """One row of totals per configuration; ``latency_ms`` is the end-to-end median when measured."""
    rows = []
    for i, spec in enumerate(specs):
        mine = layers[layers["config"] == i]
        t = costs.totals(mine)
        row = {
            "config": i,
            "model": spec.key,
            "ref": spec.ref,
            "name": spec.name,
            "variant": spec.variant,
            "alpha": spec.alpha,
            "resolution": spec.resolution,
            "dtype": mine["dtype"].iloc[0],
            "batch": int(mine["batch"].iloc[0]),
            "label": spec.label,
            **{
                k: t[k]
                for k in (
                    "params",
                    "paper_params",
                    "mult_adds",
                    "weight_bytes",
                    "activation_bytes",
                    "peak_activation_bytes",
                )
            },
            "latency_ms": None,
            "latency_iqr_ms": None,
            "latency_q25_ms": None,
            "latency_q75_ms": None,
            "latency_p90_ms": None,
            "latency_min_ms": None,
            "latency_samples": None,
            "per_layer_sum_ms": None,
            "reported_top1": spec.reported(),
            "citation": spec.citation,
        }
        if measured:
            s = latency_summary(mine, measured[i])
            e = s["end_to_end"]
            row.update(
                latency_ms=e["median_ms"],
                latency_iqr_ms=e["iqr_ms"],
                latency_q25_ms=e["q25_ms"],
                latency_q75_ms=e["q75_ms"],
                latency_p90_ms=e["p90_ms"],
                latency_min_ms=e["min_ms"],
                latency_samples=e["n"],
                per_layer_sum_ms=s["per_layer_sum_ms"],
            )
        rows.append(row)
    frame = pd.DataFrame(rows, columns=TOTALS_COLUMNS)
    # the accuracy/cost trade-off: reported top-1 against mult-adds, and against latency when measured
    frame["pareto"] = pareto_front(frame["mult_adds"], frame["reported_top1"])
    frame["pareto_latency"] = pareto_front(frame["latency_ms"], frame["reported_top1"]) if measured else False
    first = frame.iloc[0]
    for col in ("mult_adds", "params", "peak_activation_bytes", "latency_ms"):
        base = first[col]
        # a first configuration without any (a network of pools alone) has no ratio to give
        frame[f"{col}_ratio"] = frame[col] / base if base else float("nan")
    return frame


def side_by_side(configs: pd.DataFrame, layers: pd.DataFrame, backend: str, measured: list) -> None:
    """Add a second backend's latencies beside the first's: ``latency_ms_<backend>`` (end-to-end median),
    ``latency_iqr_ms_<backend>`` and ``latency_ratio_<backend>`` (to the first backend's) per configuration,
    and ``latency_ms_<backend>`` per layer (its median inside the full pass; NaN where it has no row of its own)."""
    from .stats import summarize

    e2e = [summarize(m.end_to_end_ms) for m in measured]
    configs[f"latency_ms_{backend}"] = [s["median_ms"] for s in e2e]
    configs[f"latency_iqr_ms_{backend}"] = [s["iqr_ms"] for s in e2e]
    configs[f"latency_ratio_{backend}"] = configs[f"latency_ms_{backend}"] / configs["latency_ms"]
    per = {
        (i, path): summarize(times)["median_ms"]
        for i, m in enumerate(measured)
        for path, times in m.layer_ms.items()
    }
    layers[f"latency_ms_{backend}"] = [
        per.get((c, p), float("nan")) for c, p in zip(layers["config"], layers["path"])
    ]
