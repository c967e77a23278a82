"""Wall time of `archprof validate` on every built-in (and its standard variant), without latency.

Target (issue: validate): ≤ 30 s on 2 cores. Runs the real command in a subprocess, 3 times.

    python benchmarks/validate_time.py
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time


def main() -> None:
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "archprof", "validate", "--format", "json"],
            capture_output=True,
            text=True,
            check=False,
        )
        times.append(time.perf_counter() - t0)
        if done.returncode != 0:
            print(f"validate exited {done.returncode}: {done.stderr.strip()[:300]}")
    print(
        f"archprof validate (all built-ins, fvcore cross-check of every default-grid configuration): "
        f"median {statistics.median(times):.1f} s, runs {', '.join(f'{t:.1f}' for t in times)} s "
        f"(target ≤ 30 s)"
    )


if __name__ == "__main__":
    main()
