"""How numbers are shown to people: exact counts with separators, bytes in binary units, times in ms."""

from __future__ import annotations

import math


def count(n) -> str:
    return f"{int(n):,}"


def millions(n) -> str:
    """Mult-adds or params in millions, as the paper prints them."""
    return f"{n / 1e6:,.1f} M"


def nbytes(n) -> str:
    n = int(n)
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if abs(n) >= size:
            return f"{n / size:,.2f} {unit}"
    return f"{n:,} B"


def ms(x) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "—"
    return f"{x:,.3f} ms"


def paper_shape(c, h, w) -> str:
    """H × W × C, the paper's order."""
    return f"{h} × {w} × {c}"
