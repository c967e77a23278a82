"""The exceptions archprof raises for bad input, in one place.

Every one of them is an ``ArchprofError``; the CLI prints its message as one line on
stderr and exits with its ``exit_code`` (2: usage or input error). Anything else that
escapes is a bug and keeps its traceback.
"""

from __future__ import annotations


class ArchprofError(Exception):
    """Bad input from the user: reported as one line, exit code 2."""

    exit_code = 2


class SpecError(ArchprofError):
    """A spec file that does not decode: names the file, the line, the text and what was expected."""

    def __init__(self, path: str, line: int | None, text: str, expected: str):
        self.path, self.line, self.text, self.expected = path, line, text, expected
        where = f"{path}:{line}" if line is not None else path
        super().__init__(f"{where}:{quote(text)} {expected}")


def quote(text: str, limit: int = 120) -> str:
    """The offending text for a one-line message: spaces folded, at most ``limit`` characters, escapes shown."""
    folded = " ".join(text.split())
    if not folded:
        return ""
    if len(folded) > limit:
        folded = folded[: limit - 1] + "…"
    return f" {folded!r}:"


class ConfigError(ArchprofError):
    """A configuration that cannot be built: bad α, resolution, spec name, option."""


class OutputError(ArchprofError):
    """A report or output file that cannot be written."""
