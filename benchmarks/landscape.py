"""The whole Tables 8–9 landscape measured on one machine: every built-in spec.

For each built-in: the time to count every configuration of its default α × resolution
grid analytically (no torch), then — in a fresh `archprof profile` process, 1 thread,
fp32, batch 1, as a user runs it — the latency of its default configuration (α = 1, its
first resolution), next to its params, mult-adds and the top-1 its paper reports.

    python benchmarks/landscape.py            # ~2 minutes on 2 cores
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

from archprof import costs
from archprof.catalog import builtin_names, load
from archprof.transforms import configure


def count_grid(name: str) -> tuple[int, float]:
    spec = load(name)
    t0 = time.perf_counter()
    n = 0
    for a in spec.alphas:
        for r in spec.resolutions:
            costs.totals(costs.count(configure(spec, "base", a, r)))
            n += 1
    return n, time.perf_counter() - t0


def measure(name: str) -> dict:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "archprof",
            "profile",
            name,
            "--format",
            "json",
            "--no-isolated",
            "--threads",
            "1",
        ],
        capture_output=True,
        check=True,
        text=True,
    )
    return json.loads(out.stdout)


def main() -> None:
    print(
        f"{'spec':<22}{'grid':>6}{'count grid':>12}{'params':>14}{'mult-adds':>12}{'latency':>12}"
        f"{'IQR':>9}{'top-1':>8}"
    )
    for name in builtin_names():
        n, seconds = count_grid(name)
        data = measure(name)
        t = data["totals"]
        e2e = data["latency"]["end_to_end"]
        spec = load(name)
        top1 = spec.reported()
        print(
            f"{name:<22}{n:>6}{seconds * 1e3:>9.1f} ms{t['params']:>14,}{t['mult_adds'] / 1e6:>10,.1f} M"
            f"{e2e['median_ms']:>9.2f} ms{e2e['iqr_ms']:>6.2f} ms{(f'{top1:.1f} %' if top1 else '—'):>8}"
        )
    env = data["environment"]
    print(
        f"\n{env['cpu']}, {env['threads']} thread, torch {env['torch']}, {env['dtype']}, batch {env['batch']}"
    )


if __name__ == "__main__":
    main()
