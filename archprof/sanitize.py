"""Text from files on its way to a terminal or a regular expression.

Spec files and command lines are untrusted text. Two things are done to it in one place:
control characters (ESC, OSC, BEL, the C1 range such as U+009B, which a terminal obeys)
become U+FFFD, so a spec's name cannot move the cursor, retitle the window or write
the clipboard (OSC 52); and runs of whitespace fold to one space, so no pattern in the
parser ever meets a long run of spaces that it could match in more than one way (the
quadratic backtracking of ``\\s*(.+?)\\s*`` on 64 k spaces). Lines are split on ``\\n``
only, so line numbers agree with editors and ``grep -n`` whatever U+2028, U+0085 or a
form feed the file holds.
"""

from __future__ import annotations

import re

# C0 (but tab and newline, which are whitespace here), DEL and C1.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# Bidirectional overrides and isolates reorder what a terminal shows ("Trojan source").
_BIDI = re.compile(r"[\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """``text`` with every control character and bidi override shown as U+FFFD."""
    return _BIDI.sub("\ufffd", _CONTROL.sub("\ufffd", text))


def spec_lines(text: str) -> list[str]:
    """The lines of a spec file (split on ``\\n`` only), whitespace folded, control characters replaced."""
    return [printable(" ".join(line.split())) for line in text.split("\n")]


def one_line(message: str, limit: int = 600) -> str:
    """A message fit for one terminal line: printable, on one line, its middle elided past ``limit``
    characters (the start says what failed, the end often what was found)."""
    text = printable(" ".join(message.split()))
    if len(text) <= limit:
        return text
    head = limit * 2 // 3
    return f"{text[:head]} … {text[len(text) - (limit - head - 3) :]}"
