"""Wall time of `archprof profile` with measuring, as a user runs it (a fresh process).

Targets: mobilenet_v1 measured in ≤ 10 s, vgg16 in ≤ 30 s on 2 cores. Also times the
count-only run (--no-latency) for comparison.

    python benchmarks/profile_wall_time.py
"""

from __future__ import annotations

import subprocess
import sys
import time

TARGETS = {"mobilenet_v1": 10.0, "vgg16": 30.0}


def wall(args: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "archprof", *args], capture_output=True, check=True)
    return time.perf_counter() - t0


def main() -> None:
    for spec, target in TARGETS.items():
        measured = wall(["profile", spec, "--format", "json"])
        counted = wall(["profile", spec, "--format", "json", "--no-latency"])
        print(
            f"archprof profile {spec}: {measured:.1f} s with latency (target ≤ {target:.0f} s), "
            f"{counted:.1f} s with --no-latency"
        )


if __name__ == "__main__":
    main()
