"""How numbers are shown to people: exact counts with separators, bytes in binary units, times in ms."""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal


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


# -- the report's formatter: one rule per kind of number, used by every table, tooltip and label ---------

SI_PREFIXES = ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"))
BINARY_PREFIXES = ((2**40, "TiB"), (2**30, "GiB"), (2**20, "MiB"), (2**10, "KiB"))


def sig3(x: float) -> str:
    """``x`` to three significant digits, without an exponent: 568.74 → "569", 4.2319 → "4.23", 0.0412 → "0.0412".

    Halves round up, on the float's exact value (12.25 → "12.3"), as JavaScript's ``toPrecision`` does, so
    the page's twin of this formatter (report/assets/report.js) prints the same digits.
    """
    if x == 0:
        return "0"
    exact = Decimal(x)
    step = Decimal(1).scaleb(exact.adjusted() - 2)
    rounded = exact.quantize(step, rounding=ROUND_HALF_UP)
    if rounded.adjusted() > exact.adjusted():  # 999.6 → 1000: one digit fewer after the point
        rounded = rounded.quantize(step * 10, rounding=ROUND_HALF_UP)
    digits = max(0, 2 - rounded.adjusted())
    return f"{rounded:,.{digits}f}"


def si(x, unit: str = "") -> str:
    """Large figures with an SI prefix and three significant digits: 568,740,352 → "569 M", 15,470,264,320 → "15.5 G".

    Below a thousand the number is shown as it is (an integer exactly), so a small count never reads "0.0 M".
    """
    if missing(x):
        return "—"
    space = " " + unit if unit else ""
    for size, prefix in SI_PREFIXES:
        if abs(x) >= size * 0.9995:  # 999,600 reads "1.00 M", not "1,000 k"
            return f"{sig3(x / size)} {prefix}{unit}"
    if float(x).is_integer():
        return f"{int(x):,}{space}"
    return f"{sig3(x)}{space}"


def size(n) -> str:
    """Bytes with a binary prefix and three significant digits: 12,845,056 → "12.3 MiB"; under 1 KiB exact."""
    if missing(n):
        return "—"
    for unit_size, unit in BINARY_PREFIXES:
        if abs(n) >= unit_size * 0.9995:
            return f"{sig3(n / unit_size)} {unit}"
    return f"{int(n):,} B"


def duration(ms_) -> str:
    """A time given in milliseconds, in the unit that reads best, three significant digits: "17.2 ms", "412 µs"."""
    if missing(ms_):
        return "—"
    x = float(ms_)
    if abs(x) >= 999.5:
        return f"{sig3(x / 1e3)} s"
    if abs(x) >= 0.9995:
        return f"{sig3(x)} ms"
    if abs(x) >= 0.0009995:
        return f"{sig3(x * 1e3)} µs"
    return f"{sig3(x * 1e6)} ns"


def percent(x) -> str:
    """A share in percent: "12.3 %"; a share too small for one decimal says so instead of "0.0 %"."""
    if missing(x):
        return "—"
    if 0 < abs(x) < 0.05:
        return "< 0.1 %"
    return f"{x:.1f} %"
