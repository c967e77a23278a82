"""How numbers are shown to people: exact counts with separators, bytes in binary units, times in ms."""

from __future__ import annotations

import math


def missing(x) -> bool:
    """None or NaN: a value that was not measured or does not exist."""
    return x is None or (isinstance(x, float) and math.isnan(x))


def or_none(x):
    """For JSON: NaN becomes null, numpy scalars plain Python numbers."""
    if missing(x):
        return None
    return x.item() if hasattr(x, "item") else x


def fmt(x, spec: str, suffix: str = "") -> str:
    """``x`` formatted with ``spec``, or "—" when missing."""
    return "—" if missing(x) else format(x, spec) + suffix


def count(n) -> str:
    return f"{int(n):,}"


def millions(n) -> str:
    """Mult-adds or params in millions, as the paper prints them; small counts exactly (never "0.0 M")."""
    return f"{n / 1e6:,.1f} M" if abs(n) >= 100_000 else f"{int(n):,}"


def nbytes(n) -> str:
    n = int(n)
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if abs(n) >= size:
            return f"{n / size:,.2f} {unit}"
    return f"{n:,} B"


def ms(x) -> str:
    return fmt(x, ",.3f", " ms")


def ratio(x) -> str:
    return fmt(x, ".3g", " ×")
