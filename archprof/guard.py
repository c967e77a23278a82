"""Resource guard: refuse a build or a measurement that would not fit in memory, before allocating.

The estimate is in Python ints (nothing wraps, whatever the resolution or batch): the
weights (params and buffers) plus twice the peak activations (as built, a conv's output
and its batch-norm output are alive together), plus what running a model costs beyond
its tensors (``RUNTIME_BYTES``: torch's kernels and workspaces, the profiler's records,
the timing buffers). ``--max-memory`` bounds the whole process, so the memory the
process already holds (its resident set: Python, torch, pandas; ~220 MiB with torch
loaded) counts against it; ``MemAvailable`` bounds only what is still to be allocated.

Measured on this machine (peak RSS − RSS before measuring, 1 thread, float32, batch 1):
VGG16 714 MiB for 576 MiB of weights + 2 × peak activations, AlexNet 368 for 236,
MobileNetV1 284 for 25: at most 259 MiB beyond the tensors, hence 320 MiB.
"""

from __future__ import annotations

import re
from fractions import Fraction

from . import units
from .errors import ConfigError

_SIZE = re.compile(r"^\s*([0-9]{1,16}(?:\.[0-9]{1,16})?)\s*([kmgtp]?i?b?)?\s*$", re.IGNORECASE)
MAX_SIZE = 2**50  # 1 PiB
_FACTORS = {
    "": 1,
    "b": 1,
    "k": 10**3,
    "kb": 10**3,
    "kib": 2**10,
    "m": 10**6,
    "mb": 10**6,
    "mib": 2**20,
    "g": 10**9,
    "gb": 10**9,
    "gib": 2**30,
    "t": 10**12,
    "tb": 10**12,
    "tib": 2**40,
    "p": 10**15,
    "pb": 10**15,
    "pib": 2**50,
}


class ResourceError(ConfigError):
    """A configuration too large to build or measure here."""


def parse_size(text: str) -> int:
    """'8GiB', '512 MiB', '2G', '1000000' → bytes."""
    m = _SIZE.match(text)
    unit = (m.group(2) or "").lower() if m else None
    if not m or unit not in _FACTORS:
        raise ConfigError(f"--max-memory must be a size like 8GiB, 512MiB or 2G, got {text!r}")
    value = int(Fraction(m.group(1)) * _FACTORS[unit])  # exact: no float for a 20-digit number to round
    if not 0 < value <= MAX_SIZE:
        raise ConfigError(f"--max-memory must be more than 0 and at most 1 PiB, got {text!r}")
    return value


def available_bytes() -> int | None:
    """Memory available to a new allocation now (Linux ``MemAvailable``), or None where unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


RUNTIME_BYTES = 320 * 2**20


def resident_bytes() -> int:
    """The resident set of this process now (Linux ``VmRSS``), or 0 where unknown."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def estimate(weight_bytes: int, peak_activation_bytes: int) -> int:
    """Bytes a build and run will allocate: weights, twice the peak activations, the runtime's own."""
    return int(weight_bytes) + 2 * int(peak_activation_bytes) + RUNTIME_BYTES


def check(
    what: str,
    weight_bytes: int,
    peak_activation_bytes: int,
    limit: int | None = None,
    available: int | None = None,
    baseline: int | None = None,
) -> int:
    """The estimated peak of the process in bytes, or a ResourceError that gives it and the limit it exceeds.

    ``baseline`` is what the process holds already (default: its resident set now).
    """
    work = estimate(weight_bytes, peak_activation_bytes)
    baseline = resident_bytes() if baseline is None else int(baseline)
    available = available_bytes() if available is None else available
    parts = (
        f"weights {units.nbytes(weight_bytes)} + 2 × peak activations {units.nbytes(peak_activation_bytes)} "
        f"+ {units.nbytes(RUNTIME_BYTES)} to run"
    )
    advice = "lower --batch or the resolution, or use --no-latency to count without building"
    if limit is not None and baseline + work > limit:
        raise ResourceError(
            f"{what} needs an estimated {units.nbytes(work)} ({parts}) on top of the "
            f"{units.nbytes(baseline)} this process holds: {units.nbytes(baseline + work)}, more than the "
            f"--max-memory limit ({units.nbytes(limit)}); {advice}"
        )
    if available is not None and work > available:
        raise ResourceError(
            f"{what} needs an estimated {units.nbytes(work)} ({parts}), more than available memory "
            f"({units.nbytes(available)}); {advice}"
        )
    return baseline + work
