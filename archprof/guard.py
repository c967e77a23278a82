"""Resource guard: refuse a build or a measurement that would not fit in memory, before allocating.

The estimate comes from the analytic counts: the weights (params and buffers) plus twice
the peak activations (as built, a conv's output and its batch-norm output are alive
together), times the batch already folded into the activation bytes. It is compared
with the memory available now (``MemAvailable``) and with ``--max-memory``.
"""

from __future__ import annotations

import re

from . import units
from .errors import ConfigError

_SIZE = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([kmgt]?i?b?)?\s*$", re.IGNORECASE)
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
}


class ResourceError(ConfigError):
    """A configuration too large to build or measure here."""


def parse_size(text: str) -> int:
    """'8GiB', '512 MiB', '2G', '1000000' → bytes."""
    m = _SIZE.match(text)
    unit = (m.group(2) or "").lower() if m else None
    if not m or unit not in _FACTORS:
        raise ConfigError(f"--max-memory must be a size like 8GiB, 512MiB or 2G, got {text!r}")
    value = int(float(m.group(1)) * _FACTORS[unit])
    if value <= 0:
        raise ConfigError(f"--max-memory must be greater than 0, got {text!r}")
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


def estimate(weight_bytes: int, peak_activation_bytes: int) -> int:
    return weight_bytes + 2 * peak_activation_bytes


def check(
    what: str,
    weight_bytes: int,
    peak_activation_bytes: int,
    limit: int | None = None,
    available: int | None = None,
) -> int:
    """The estimate in bytes, or a ResourceError that gives it and the limit it exceeds."""
    need = estimate(weight_bytes, peak_activation_bytes)
    available = available_bytes() if available is None else available
    bounds = [
        (b, name)
        for b, name in ((limit, "the --max-memory limit"), (available, "available memory"))
        if b is not None
    ]
    for bound, name in sorted(bounds, key=lambda x: x[0]):
        if need > bound:
            raise ResourceError(
                f"{what} needs an estimated {units.nbytes(need)} (weights {units.nbytes(weight_bytes)} + 2 × peak "
                f"activations {units.nbytes(peak_activation_bytes)}), more than {name} ({units.nbytes(bound)}); "
                f"lower --batch or the resolution, or use --no-latency to count without building"
            )
    return need
