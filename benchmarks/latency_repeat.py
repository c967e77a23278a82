"""Run-to-run spread of measured latency: 5 × `archprof profile mobilenet_v1` (1 thread).

Each run is a fresh process (as a user would run it); prints each run's end-to-end
median and the spread (max − min) / median of those medians. Target: ≤ 5 %.

    python benchmarks/latency_repeat.py [SPEC] [RUNS]
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys


def main() -> None:
    spec = sys.argv[1] if len(sys.argv) > 1 else "mobilenet_v1"
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    medians, minima = [], []
    for i in range(runs):
        done = subprocess.run(
            [sys.executable, "-m", "archprof", "profile", spec, "--threads", "1", "--format", "json"],
            capture_output=True,
            text=True,
            check=True,
        )
        data = json.loads(done.stdout)
        lat = data["latency"]
        medians.append(lat["end_to_end"]["median_ms"])
        minima.append(lat["end_to_end"]["min_ms"])
        print(
            f"run {i + 1}: end-to-end median {medians[-1]:.3f} ms (IQR {lat['end_to_end']['iqr_ms']:.3f} ms, "
            f"{lat['end_to_end']['n']} samples), per-layer sum {lat['per_layer_sum_ms']:.3f} ms, "
            f"{lat['page_faults_per_pass']:.0f} page faults per pass"
        )
    env = data["environment"]
    mid = statistics.median(medians)
    print(
        f"{spec}: medians {', '.join(f'{m:.3f}' for m in medians)} ms; spread (max − min) / median = "
        f"{(max(medians) - min(medians)) / mid:.1%} (target ≤ 5 %)"
    )
    print(
        f"for comparison, the minima: {', '.join(f'{m:.3f}' for m in minima)} ms; spread "
        f"{(max(minima) - min(minima)) / statistics.median(minima):.1%}"
    )
    print(
        f"settings: {env['threads']} thread, batch {env['batch']}, {env['dtype']}, {env['cpu']}, torch {env['torch']}, "
        f"GLIBC_TUNABLES {'set' if env['glibc_tunables'] else 'not set'}"
    )


if __name__ == "__main__":
    main()
