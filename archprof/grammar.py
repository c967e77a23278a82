"""Token rules shared by the parser and the kinds' Filter Shape rules.

Dimensions are separated by ``×`` or ``x`` (either case), with any whitespace. Numbers
are plain decimals; nothing in a spec is ever evaluated as code.
"""

from __future__ import annotations

import re

from .registry import RuleError

_TIMES = re.compile(r"\s*[×xX]\s*")
_INT = re.compile(r"[0-9]+")
_FLOAT = re.compile(r"[0-9]+(\.[0-9]*)?|\.[0-9]+")
# Characters people paste for "×" that are not it; named in the error so the fix is obvious.
_LOOKALIKES = {"✕": "U+2715", "✖": "U+2716", "⨯": "U+2A2F", "х": "Cyrillic х", "Х": "Cyrillic Х", "*": "*", "·": "·"}
MAX_DIM = 1_000_000  # larger than any real channel count or image side; stops absurd sizes early


def whole_number(token: str, what: str) -> int:
    token = token.strip()
    if not _INT.fullmatch(token):
        raise RuleError(f"{what} must be a whole number, got {token!r}{_lookalike_hint(token)}")
    value = int(token)
    if value < 1:
        raise RuleError(f"{what} must be at least 1, got {value}")
    if value > MAX_DIM:
        raise RuleError(f"{what} must be at most {MAX_DIM:,}, got {value:,}")
    return value


def decimal(token: str, what: str) -> float:
    token = token.strip()
    if not _FLOAT.fullmatch(token):
        raise RuleError(f"{what} must be a number, got {token!r}")
    return float(token)


def dims(text: str, count: int, what: str, names: str) -> list[int]:
    """``count`` whole numbers separated by × or x; ``names`` (e.g. "K × K × Cin × Cout") is the expected form."""
    parts = _TIMES.split(text.strip()) if text.strip() else []
    if len(parts) != count:
        raise RuleError(f"{what} must be {names} ({count} numbers), got {len(parts)}{_lookalike_hint(text)}")
    return [whole_number(p, f"{what} {n}") for p, n in zip(parts, names.split(" × "))]


def strip_word(text: str, word: str, where: str) -> str | None:
    """``text`` without the leading or trailing ``word`` (any case), or None if it is not there."""
    pattern = rf"^\s*{word}\s*(.*)$" if where == "prefix" else rf"^(.*?)\s*{word}\s*$"
    m = re.match(pattern, text, flags=re.IGNORECASE)
    return m.group(1) if m else None


def _lookalike_hint(text: str) -> str:
    found = [name for ch, name in _LOOKALIKES.items() if ch in text]
    return f" (found {', '.join(found)}: separate dimensions with × or x)" if found else ""
