"""How long the hostile 1 MB specs of tests/test_limits.py take to parse or fail, and the memory it costs.

The budget (issue: linear-time parsing) is 2 s and 200 MB for any 1 MB spec. Each spec is parsed
in this process, one after another; the peak RSS growth covers them all.
"""

from __future__ import annotations

import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from test_limits import hostile_specs

from archprof.errors import SpecError
from archprof.parse import parse_spec


def main() -> None:
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    worst = 0.0
    print(f"{'spec':28} {'size':>9} {'time':>8}  outcome")
    for name, text in hostile_specs().items():
        start = time.perf_counter()
        try:
            parse_spec(text, "hostile.md", "hostile")
            outcome = "parsed"
        except SpecError as e:
            outcome = str(e).split(": ", 1)[-1][-70:]
        took = time.perf_counter() - start
        worst = max(worst, took)
        print(f"{name:28} {len(text.encode()) / 2**20:7.2f} MB {took:7.3f} s  {outcome}")
    growth = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) / 1024
    print(f"worst {worst:.3f} s (budget 2 s); peak RSS growth {growth:.1f} MiB (budget 200 MB)")


if __name__ == "__main__":
    main()
