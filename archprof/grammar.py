"""Token rules shared by the parser and the kinds' Filter Shape rules.

Dimensions are separated by ``×`` or ``x`` (either case), with any whitespace. Numbers
are plain decimals; nothing in a spec is ever evaluated as code.
"""

from __future__ import annotations

import re

from .limits import MAX_DIM
from .registry import RuleError

_TIMES = re.compile(r"\s*[×xX]\s*")
_INT = re.compile(r"[0-9]+")
_FLOAT = re.compile(r"[0-9]+(\.[0-9]*)?|\.[0-9]+")
# Characters people paste for "×" that are not it; named in the error so the fix is obvious.
_LOOKALIKES = {
    "✕": "U+2715",
    "✖": "U+2716",
    "⨯": "U+2A2F",
    "х": "Cyrillic х",
    "Х": "Cyrillic Х",
    "*": "*",
    "·": "·",
}


def whole_number(token: str, what: str) -> int:
    token = token.strip()
    if not _INT.fullmatch(token):
        raise RuleError(f"{what} must be a whole number, got {token!r}{_lookalike_hint(token)}")
    _digits(token, what)
    value = int(token)
    if value < 1:
        raise RuleError(f"{what} must be at least 1, got {value}")
    if value > MAX_DIM:
        raise RuleError(f"{what} must be at most {MAX_DIM:,}, got {value:,}")
    return value


def _digits(token: str, what: str) -> None:
    """No 4,300-digit number reaches int() (Python refuses it with a traceback)."""
    if len(token.lstrip("0")) > 12:
        raise RuleError(f"{what} must be at most {MAX_DIM:,}, got a {len(token):,}-digit number")


def count(token: str, what: str) -> int:
    """A whole number that may be 0 (a padding)."""
    token = token.strip()
    if not _INT.fullmatch(token):
        raise RuleError(f"{what} must be a whole number, got {token!r}")
    _digits(token, what)
    value = int(token)
    if value > MAX_DIM:
        raise RuleError(f"{what} must be at most {MAX_DIM:,}, got {value:,}")
    return value


def decimal(token: str, what: str) -> float:
    token = token.strip()
    if not _FLOAT.fullmatch(token):
        raise RuleError(f"{what} must be a number, got {token!r}")
    if len(token) > 24:
        raise RuleError(f"{what} must be a number of at most 24 characters, got {token[:30]!r}…")
    return float(token)


def dims(text: str, count: int, what: str, names: str, wildcard: int | None = None) -> list[int | None]:
    """``count`` whole numbers separated by × or x; ``names`` (e.g. "K × K × Cin × Cout") is the expected form.

    The dimension at position ``wildcard`` (the input channels) may be written ``in``:
    whatever arrives, not checked (for block tables, whose input is not known in advance).
    """
    parts = _TIMES.split(text.strip()) if text.strip() else []
    if len(parts) != count:
        raise RuleError(f"{what} must be {names} ({count} numbers), got {len(parts)}{_lookalike_hint(text)}")
    return [
        None if i == wildcard and p.strip().lower() == "in" else whole_number(p, f"{what} {n}")
        for i, (p, n) in enumerate(zip(parts, names.split(" × ")))
    ]


def strip_word(text: str, word: str, where: str) -> str | None:
    """``text`` without the leading or trailing ``word`` (any case), or None if it is not there."""
    pattern = rf"^\s*{word}\s*(.*)$" if where == "prefix" else rf"^(.*?)\s*{word}\s*$"
    m = re.match(pattern, text, flags=re.IGNORECASE)
    return m.group(1) if m else None


def _lookalike_hint(text: str) -> str:
    found = [name for ch, name in _LOOKALIKES.items() if ch in text]
    return f" (found {', '.join(found)}: separate dimensions with × or x)" if found else ""


_ARG = re.compile(r"^\s*([^=:]{1,40}?)\s*[=:]?\s*([0-9][0-9.]{0,20})\s*$")


def arg_key(text: str) -> str:
    """An argument's name folded for matching: '#3×3 reduce' → '3x3reduce'."""
    return "".join(text.lower().replace("×", "x").replace("#", "").split())


def arguments(cell: str, names: tuple[str, ...], what: str, required: int | None = None) -> dict[str, str]:
    """A block row's arguments: positional ``64, 96, 128`` in the order of ``names``, or named
    ``c 24, n 2`` / ``c=24`` (names folded by ``arg_key``). Values stay text; the caller decides their type.
    The first ``required`` names must be given (default: all)."""
    items = [t.strip() for t in cell.split(",")] if cell.strip() else []
    keys = [arg_key(n) for n in names]
    out: dict[str, str] = {}
    positional = all(_INT.fullmatch(t) or _FLOAT.fullmatch(t) for t in items)
    for i, item in enumerate(items):
        if positional:
            if i >= len(names):
                raise RuleError(f"{what} takes {len(names)} values ({', '.join(names)}), got {len(items)}")
            out[keys[i]] = item
            continue
        m = _ARG.match(item)
        key = arg_key(m.group(1)) if m else None
        if m is None or key not in keys:
            raise RuleError(f"{what}: {item!r} is not 'name value' with a name among {', '.join(names)}")
        if key in out:
            raise RuleError(f"{what}: {names[keys.index(key)]!r} is given twice")
        out[key] = m.group(2)
    missing = [n for n, k in zip(names[: len(names) if required is None else required], keys) if k not in out]
    if missing:
        raise RuleError(f"{what} needs {', '.join(names)}; missing {', '.join(missing)}")
    return out
