"""Wall time of `archprof compare mobilenet_v1 vgg16`, with and without latency, as a user runs it.

Targets (issue: compare): ≤ 90 s with latency, ≤ 5 s without, on 2 cores. Each run is a
fresh process writing its report into a temporary folder.

    python benchmarks/compare_time.py
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path


def wall(*extra: str) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "archprof",
                "compare",
                "mobilenet_v1",
                "vgg16",
                "--html",
                str(Path(tmp) / "r.html"),
                *extra,
            ],
            capture_output=True,
            check=True,
        )
        return time.perf_counter() - t0


def main() -> None:
    counted = [wall("--no-latency") for _ in range(3)]
    measured = wall()
    print(
        f"archprof compare mobilenet_v1 vgg16 --no-latency: {min(counted):.1f} s "
        f"(runs {', '.join(f'{t:.1f}' for t in counted)}; target ≤ 5 s)"
    )
    print(
        f"archprof compare mobilenet_v1 vgg16 (17 configurations measured): {measured:.1f} s (target ≤ 90 s)"
    )


if __name__ == "__main__":
    main()
