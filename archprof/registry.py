"""The one registry of layer and block kinds: for each kind, its parse rule, shape rule, cost formula and builder.

A layer kind is one ``LayerKind`` record (see ``kinds.py``); a block kind is one
``BlockKind`` record whose expansion turns a paper-style block row into a ``Block`` of
layers (see ``blocks.py``): its cost is the sum of its layers' and its builder the
generic one, so a new block kind is one record too. The spec parser, the shape
inference, the counting and the builder all look a kind up here and nowhere else, so no
if/elif chain on kind names exists anywhere downstream. Registering a key or a Type
column name twice (across layer and block kinds) is an error.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # torch is imported only by builders, never to count
    from torch import nn

    from .spec import Block, Layer, Options, Shape


# What a kind's rules get after the layer: its input Shape or, for a merge (``merge=True``), the
# tuple of its branches' shapes. Which one depends on the kind's ``merge`` flag, a value the type
# checker cannot follow, so the records take either; each kind's own functions annotate theirs.
KindInput = Any


class RuleError(ValueError):
    """A table cell or a shape that breaks a kind's rule; the message says what was expected.

    The parser turns it into a ``SpecError`` with file and line, the transforms into a
    ``ConfigError``: the rules themselves know nothing of files.
    """


@dataclass(frozen=True)
class Cost:
    """What one layer costs, in counts. Bytes follow from these and a dtype (see ``costs.py``)."""

    params: int = 0  # learnable parameters as torch holds them (weights, bias, BN γ/β)
    paper_params: int = 0  # conv and FC weights only: the paper's convention
    mult_adds: int = 0  # multiply-accumulates of conv and FC layers
    float_buffers: int = 0  # BN running mean and variance (same dtype as the weights)
    int64_buffers: int = 0  # BN num_batches_tracked: one int64 per BN layer


@dataclass(frozen=True)
class LayerKind:
    """One kind of table row and everything archprof does with it."""

    key: str  # stable id used in results: "conv", "conv_dw", …
    label: str  # the paper's word for it in the Type column: "Conv dw"
    type_names: tuple[str, ...]  # the Type column's words for it, lower case, single-spaced
    filter_syntax: str  # what the Filter Shape column must look like, for errors and docs
    parse: Callable[[str], dict]  # Filter Shape cell -> Layer fields; raises RuleError
    infer: Callable[[Layer, KindInput], Shape]  # input shape -> output shape; raises RuleError
    cost: Callable[[Layer, KindInput, Shape], Cost]  # pure: layer, input, output -> Cost
    build: Callable[[Layer, KindInput, Shape], nn.Module]  # the torch module of the row
    describe: Callable[[Layer, KindInput], str]  # Filter Shape as the paper would print it
    name_prefix: Callable[[Layer], str]  # child name in the built model: prefix + row index
    group: Callable[[Layer], str]  # row of the paper's Table 2: "Conv 1×1", "FC", …
    options_key: str | None = None  # which header defaults apply (bias, batch norm, activation)
    settle: Callable[[Layer, Shape], Layer] | None = None  # once, at parse time, with the real input
    groups: Callable[[Layer, Shape], int] = lambda layer, s: 1  # conv groups, for the results
    pads: Callable[[Layer, Shape], tuple] = lambda layer, s: (0, 0, 0, 0)  # top, bottom, left, right
    strided: bool = False  # whether the Type column's stride means anything (convs, pools)
    row_options: frozenset = (
        frozenset()
    )  # what a row's Options cell may set besides the options: "padding", "groups", "ceil mode"
    merge: bool = False  # a merge of branches (add, concat): ``infer``/``cost`` get a tuple of input shapes


@dataclass(frozen=True)
class BlockContext:
    """What a block row's expansion knows besides its own arguments."""

    in_shape: Shape  # the input as written (α = 1, the spec's resolution)
    stride: int  # the Type / Stride column
    conv: Options  # options of its convs: the header's conv defaults, or the row's Options cell
    line: int | None


@dataclass(frozen=True)
class BlockKind:
    """One kind of block row, written the way its paper prints it, and its expansion into layers."""

    key: str  # "inception", "fire", …; also the prefix of its name in the model
    label: str  # the Type column's word for it, as printed: "Inception"
    type_names: tuple[str, ...]
    filter_syntax: str  # what the Filter Shape cell holds (its arguments), for errors and docs
    parse: Callable[[str], dict]  # Filter Shape cell -> arguments; raises RuleError
    expand: Callable[[dict, BlockContext], Block]  # arguments -> the block of layers; raises RuleError
    describe: Callable[[dict], str]  # the arguments as the paper prints them


REGISTRY: dict[str, LayerKind] = {}
BLOCK_KINDS: dict[str, BlockKind] = {}
_BY_TYPE_NAME: dict[str, LayerKind | BlockKind] = {}


def _claim(kind) -> None:
    if kind.key in REGISTRY or kind.key in BLOCK_KINDS:
        raise ValueError(f"kind {kind.key!r} is registered twice")
    for name in kind.type_names:
        if name in _BY_TYPE_NAME:
            raise ValueError(f"type name {name!r} is claimed by {_BY_TYPE_NAME[name].key!r} and {kind.key!r}")
    for name in kind.type_names:
        _BY_TYPE_NAME[name] = kind


def register(kind: LayerKind) -> LayerKind:
    _claim(kind)
    REGISTRY[kind.key] = kind
    return kind


def register_block(kind: BlockKind) -> BlockKind:
    _claim(kind)
    BLOCK_KINDS[kind.key] = kind
    return kind


def kind_for_type(type_name: str) -> LayerKind | BlockKind | None:
    """The layer or block kind whose Type column reads ``type_name`` (case and spacing are ignored)."""
    return _BY_TYPE_NAME.get(" ".join(type_name.lower().split()))


def type_names() -> list[str]:
    return sorted(_BY_TYPE_NAME)
