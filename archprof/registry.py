"""The one registry of layer kinds: for each kind, its parse rule, shape rule, cost formula and torch builder.

A kind is one ``LayerKind`` record; adding a kind is adding one record (see ``kinds.py``).
The spec parser, the shape inference, the counting and the builder all look a kind up
here and nowhere else, so no if/elif chain on kind names exists anywhere downstream.
Registering a key or a type name twice is an error.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:  # torch is imported only by builders, never to count
    from torch import nn

    from .spec import Layer, Shape


class RuleError(ValueError):
    """A table cell or a shape that breaks a kind's rule; the message says what was expected.

    The parser turns it into a ``SpecError`` with file and line, the transforms into a
    ``ConfigError``: the rules themselves know nothing of files.
    """


@dataclass(frozen=True)
class Cost:
    """What one layer costs, in counts. Bytes follow from these and a dtype (see ``costs.py``)."""

    params: int = 0          # learnable parameters as torch holds them (weights, bias, BN γ/β)
    paper_params: int = 0    # conv and FC weights only: the paper's convention
    mult_adds: int = 0       # multiply-accumulates of conv and FC layers
    float_buffers: int = 0   # BN running mean and variance (same dtype as the weights)
    int64_buffers: int = 0   # BN num_batches_tracked: one int64 per BN layer


@dataclass(frozen=True)
class LayerKind:
    """One kind of table row and everything archprof does with it."""

    key: str                          # stable id used in results: "conv", "conv_dw", …
    label: str                        # the paper's word for it in the Type column: "Conv dw"
    type_names: tuple[str, ...]       # the Type column's words for it, lower case, single-spaced
    filter_syntax: str                # what the Filter Shape column must look like, for errors and docs
    parse: Callable[[str], dict]      # Filter Shape cell -> Layer fields; raises RuleError
    infer: Callable[["Layer", "Shape"], "Shape"]            # input shape -> output shape; raises RuleError
    cost: Callable[["Layer", "Shape", "Shape"], Cost]        # pure: layer, input, output -> Cost
    build: Callable[["Layer", "Shape", "Shape"], "nn.Module"]  # the torch module of the row
    describe: Callable[["Layer", "Shape"], str]              # Filter Shape as the paper would print it
    name_prefix: Callable[["Layer"], str]                    # child name in the built model: prefix + row index
    group: Callable[["Layer"], str]                          # row of the paper's Table 2: "Conv 1×1", "FC", …
    options_key: str | None = None    # which header defaults apply (bias, batch norm, activation)
    settle: Callable[["Layer", "Shape"], "Layer"] | None = None  # once, at parse time, with the real input


REGISTRY: dict[str, LayerKind] = {}
_BY_TYPE_NAME: dict[str, LayerKind] = {}


def register(kind: LayerKind) -> LayerKind:
    if kind.key in REGISTRY:
        raise ValueError(f"layer kind {kind.key!r} is registered twice")
    for name in kind.type_names:
        if name in _BY_TYPE_NAME:
            raise ValueError(f"type name {name!r} is claimed by {_BY_TYPE_NAME[name].key!r} and {kind.key!r}")
    REGISTRY[kind.key] = kind
    for name in kind.type_names:
        _BY_TYPE_NAME[name] = kind
    return kind


def kind_for_type(type_name: str) -> LayerKind | None:
    """The kind whose Type column reads ``type_name`` (case and spacing are ignored)."""
    return _BY_TYPE_NAME.get(" ".join(type_name.lower().split()))


def type_names() -> list[str]:
    return sorted(_BY_TYPE_NAME)
