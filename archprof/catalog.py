"""Finding specs: the built-in ones shipped as data files, or any spec file by path.

A reference is ``NAME`` or ``NAME:VARIANT`` where NAME is a built-in spec or a path to a
spec file and VARIANT is ``standard`` (the standard-convolution equivalent).
"""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path

from .errors import ConfigError, SpecError
from .parse import parse_spec
from .spec import ModelSpec

VARIANTS = ("base", "standard")
MAX_SPEC_BYTES = 1 << 20


def builtin_names() -> list[str]:
    return sorted(p.name[:-3] for p in resources.files("archprof.specs").iterdir() if p.name.endswith(".md"))


def split_ref(ref: str) -> tuple[str, str]:
    """``"mobilenet_v1:standard"`` → ``("mobilenet_v1", "standard")``."""
    name, sep, variant = ref.rpartition(":")
    if not sep or variant not in VARIANTS or not name:
        return ref, "base"
    return name, variant


def load(name: str) -> ModelSpec:
    """The spec called ``name`` (a built-in name or a path), as written: no transform applied."""
    if name in builtin_names():
        resource = resources.files("archprof.specs") / f"{name}.md"
        return _parse_cached(resource.read_text(encoding="utf-8"), f"{name}.md (built-in)", name)
    path = Path(name)
    if not path.is_file():
        raise ConfigError(
            f"unknown spec {name!r}: not a built-in ({', '.join(builtin_names())}) and no such file"
        )
    try:
        size = path.stat().st_size
        if size > MAX_SPEC_BYTES:  # refuse before reading: a spec is a short table
            raise SpecError(
                name,
                1,
                "",
                f"the file is {size / 2**20:,.1f} MiB; a spec is a layer table of at most "
                f"{MAX_SPEC_BYTES / 2**20:g} MiB",
            )
        data = path.read_bytes()
    except OSError as e:
        raise ConfigError(f"cannot read spec file {name!r}: {e.strerror}") from None
    if b"\x00" in data:
        line = data[: data.index(b"\x00")].count(b"\n") + 1
        raise SpecError(name, line, "", "the file is binary (a NUL byte), not a Markdown spec")
    try:
        text = data.decode("utf-8-sig")  # a byte-order mark, as some editors write, is not text
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise SpecError(
            name, line, "", f"not UTF-8 text (byte {e.start}); a spec is a Markdown file"
        ) from None
    return _parse_cached(text, name, name)  # the key is the path as given, so that ref loads it again


@functools.lru_cache(maxsize=64)
def _parse_cached(text: str, path: str, key: str) -> ModelSpec:
    # Specs are immutable; a grid parses each file once.
    return parse_spec(text, path, key)
