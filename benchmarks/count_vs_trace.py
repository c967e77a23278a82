"""Analytic counting vs fvcore tracing over the whole default grid.

Counts the 4 × 4 α × resolution grid of every built-in spec and its standard-conv
variant (where it has one) analytically, then traces the same grid with fvcore on the
built models, and prints both wall times, their ratio and whether every per-layer count
(params, weight bytes, mult-adds) agreed. Target: analytic ≥ 100× faster, 100 % agreement.

    python benchmarks/count_vs_trace.py
"""

from __future__ import annotations

import time

from archprof import costs
from archprof.catalog import builtin_names, load
from archprof.crosscheck import crosscheck
from archprof.errors import ConfigError
from archprof.transforms import configure

ALPHAS = (1.0, 0.75, 0.5, 0.25)
RESOLUTIONS = (224, 192, 160, 128)


def grid():
    for name in builtin_names():
        for variant in ("base", "standard"):
            try:
                configure(load(name), variant)
            except ConfigError:
                continue  # vgg16 has no depthwise convs, hence no standard variant
            for alpha in ALPHAS:
                for resolution in RESOLUTIONS:
                    yield configure(load(name), variant, alpha, resolution)


def main() -> None:
    specs = list(grid())
    t0 = time.perf_counter()
    analytic = [costs.count(s) for s in specs]
    t_analytic = time.perf_counter() - t0

    t0 = time.perf_counter()
    traced = [crosscheck(s) for s in specs]
    t_traced = time.perf_counter() - t0

    agree = sum(
        list(a["params"]) == list(t["params"])
        and list(a["mult_adds"]) == list(t["mult_adds"])
        and list(a["weight_bytes"]) == list(t["weight_bytes"])
        for a, t in zip(analytic, traced)
    )
    layers = sum(len(a) for a in analytic)
    print(
        f"configurations: {len(specs)} ({layers:,} layers) — "
        f"{', '.join(sorted({s.ref for s in specs}))} × α {ALPHAS} × resolution {RESOLUTIONS}"
    )
    print(
        f"analytic counts : {t_analytic * 1e3:9.1f} ms  ({t_analytic / len(specs) * 1e3:.2f} ms per configuration)"
    )
    print(
        f"fvcore tracing  : {t_traced * 1e3:9.1f} ms  ({t_traced / len(specs) * 1e3:.1f} ms per configuration, "
        f"model built on meta + uninitialised storage)"
    )
    print(f"speed-up        : {t_traced / t_analytic:9.0f} ×   (target ≥ 100 ×)")
    print(
        f"agreement       : {agree}/{len(specs)} configurations identical layer by layer "
        f"({agree / len(specs):.0%}; target 100 %)"
    )


if __name__ == "__main__":
    main()
