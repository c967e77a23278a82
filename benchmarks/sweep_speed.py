"""Configurations counted per second: the sweep's compiled plan against the per-configuration path.

Target (issue 13, item 5): analytic counting ≥ 100,000 configurations per second on one
core for MobileNetV1-sized specs, exact. Three grids per spec — the issue's example
(α 0.25:1.4:0.05 × resolution 96:256:16, 264 configurations), a fine one (18,711) and a
very fine one (185,311) — each counted by

- ``count_grid``: the compiled plan's counts, the plan compiled beforehand (its compile
  time is printed apart);
- ``run_sweep``: the same plus the DataFrame, the reported top-1 and the Pareto front
  (what ``archprof sweep`` computes before rendering; the plan comes from ``plan_for``,
  compiled beforehand too);
- the per-configuration path (``transforms.configure`` + ``costs.count`` + ``totals``,
  what ``compare --no-latency`` does), on 80 configurations of the grid, and its counting
  alone (``costs.count`` + ``totals`` of configurations already transformed).

``count_grid`` and ``run_sweep`` are timed twice:

- *cold*: the first call on a freshly compiled plan, whose memo (the per-α channel pass,
  the per-resolution size pass, the int64 bound, the liveness order) is still empty —
  what one ``archprof sweep`` process does once its plan is compiled;
- *warm*: a call on a plan that already swept the same grid, so every per-α and
  per-resolution pass is memoised and only the grid-wide work (the cost formulas on
  arrays, the liveness sweep, the frame and the front) is left. Nothing grid-wide is
  memoised: a warm call recounts every configuration.

Each figure is the best of several runs (the machine is shared: the best run is the one
least disturbed). The compile and process start-up are not in any figure. Single-threaded
numpy is what one core means here: run it with OMP_NUM_THREADS=1 (numpy's elementwise ops
are single-threaded anyway).

    python benchmarks/sweep_speed.py            # the four specs, three grids each
    python benchmarks/sweep_speed.py --quick    # mobilenet_v1 on the 264-configuration grid only
    python benchmarks/sweep_speed.py --wall     # wall-clock time instead of the process's CPU time
"""

from __future__ import annotations

import os
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

from archprof import costs
from archprof.catalog import load
from archprof.sweep import compile_plan, count_grid, parse_range, plan_for, run_sweep
from archprof.transforms import configure, with_resolution

GRIDS = [
    ("0.25:1.4:0.05", "96:256:16"),
    ("0.25:1.4:0.005", "96:256:2"),
    ("0.25:1.4:0.001", "96:256:1"),
]


# The clock: CPU time of this process (``--wall`` for wall-clock time). "On one core" is the
# CPU time the work takes; on this shared 2-core host, wall-clock time also holds the slices
# the scheduler gave other processes, which is what made its figures swing 2× between runs.
CLOCK = time.perf_counter if "--wall" in sys.argv else time.process_time


def best(f, repeat: int, setup=None) -> float:
    """The shortest of ``repeat`` timed calls of ``f`` (``setup`` runs untimed before each)."""
    times = []
    for _ in range(repeat):
        if setup is not None:
            setup()
        t0 = CLOCK()
        f()
        times.append(CLOCK() - t0)
    return min(times)


def main(quick: bool = False) -> None:
    print(
        f"{'spec':<14} {'grid':>9} {'count_grid cold':>16} {'warm':>12} {'run_sweep cold':>16} {'warm':>12} "
        f"{'per-config path':>16} {'(counting alone)':>17}"
    )
    for ref in ("mobilenet_v1",) if quick else ("mobilenet_v1", "mobilenet_v2", "resnet50", "googlenet"):
        spec = load(ref)
        t0 = time.perf_counter()
        compile_plan(with_resolution(spec, spec.resolution))
        compile_ms = (time.perf_counter() - t0) * 1e3
        for a_text, r_text in GRIDS[:1] if quick else GRIDS:
            alphas = parse_range(a_text, float, "--alpha")
            resolutions = parse_range(r_text, int, "--resolution")
            n = len(alphas) * len(resolutions)
            repeat = 200 if n < 1000 else 3
            fresh = []  # a new plan before each cold run (compiled untimed)

            def compile_fresh(fresh=fresh, ref=ref):
                fresh[:] = [plan_for.__wrapped__(ref)]

            def recompile(ref=ref):
                plan_for.cache_clear()
                plan_for(ref)

            def counted(a=alphas, r=resolutions, fresh=fresh):
                count_grid(fresh[0], a, r)

            def swept(a=alphas, r=resolutions, s=ref):
                run_sweep(s, a, r)

            fast_cold = n / best(counted, repeat, compile_fresh)
            fast_warm = n / best(counted, repeat)  # the last fresh plan, already swept
            swept_cold = n / best(swept, repeat, recompile)
            swept_warm = n / best(swept, repeat)
            sample = [(a, r) for a in alphas[:: max(1, len(alphas) // 8)][:8] for r in resolutions[:10]][:80]

            def old(sample=sample, spec=spec):
                for a, r in sample:
                    costs.totals(costs.count(configure(spec, "base", a, r)))

            slow = len(sample) / best(old, 2)
            configured = [configure(spec, "base", a, r) for a, r in sample]

            def counting(configured=configured):
                for c in configured:
                    costs.totals(costs.count(c))

            alone = len(sample) / best(counting, 2)
            print(
                f"{ref:<14} {n:>9,} {fast_cold:>14,.0f}/s {fast_warm:>10,.0f}/s {swept_cold:>14,.0f}/s "
                f"{swept_warm:>10,.0f}/s {slow:>14,.0f}/s {alone:>15,.0f}/s"
            )
        print(f"{'':<14} plan compiled in {compile_ms:.1f} ms (once per spec and process)")


if __name__ == "__main__":
    main(quick="--quick" in sys.argv[1:])
