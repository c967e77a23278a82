"""The spec as data: frozen dataclasses describing a network as a tree, and nothing that runs it.

A network is a tree of nodes. A ``Layer`` is a leaf: one row of a layer table (conv,
depthwise, pool, FC, …). A ``Block`` holds children and says how they combine:
``seq`` runs them one after the other; ``add`` and ``concat`` feed the block's input to
every child (each child is a branch) and merge their outputs with a ``merge`` leaf (an
``add`` or ``concat`` row, which also carries the activation that follows the merge,
ResNet's ReLU after the add). A flat table is a ``seq`` root, so every v1 spec reads as
before.

``ModelSpec`` is what every other module works on. It is produced by ``parse.py`` (the
only place that reads spec text) and changed only by the pure functions of
``transforms.py``. Shapes are ``(C, H, W)`` tuples, as torch holds them; the spec files
write them ``H × W × C`` as the paper does, and ``parse.py`` converts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, overload

if TYPE_CHECKING:  # the spec is data: torch is imported by what builds or runs it
    from torch import nn

Shape = tuple[int, int, int]  # (channels, height, width)

ACTIVATIONS = ("relu", "relu6")
MERGES = ("add", "concat")


@dataclass(frozen=True)
class Options:
    """What follows a conv or FC: the prose defaults of a paper, stated in the spec header, or a row's own."""

    bias: bool = True
    batch_norm: bool = False
    bn_scale: bool = True  # batch norm with γ (Keras scale=True) or β only
    activation: str | None = "relu"  # one of ACTIVATIONS, or None

    def describe(self) -> str:
        bn = (
            ("batch norm" if self.bn_scale else "batch norm without scale")
            if self.batch_norm
            else "no batch norm"
        )
        return ", ".join(["bias" if self.bias else "no bias", bn, self.activation or "no activation"])


# Padding of a conv or pool: None is the kind's default (K // 2 for convs, none for pools),
# an int is that many pixels on every side, "same" is TF/Keras same (asymmetric at stride 2),
# "valid" is none.
Padding = int | str | None


@dataclass(frozen=True)
class Layer:
    """A leaf: one row of a layer table (a repeated group is expanded into its rows)."""

    kind: str  # a key of registry.REGISTRY
    stride: int = 1
    kernel: tuple[int, int] | None = None  # conv, depthwise, pool; None for a global pool
    out_channels: int | None = None  # conv and FC
    width_ratio: float | None = (
        None  # a conv whose width is round(input channels × ratio) (MobileNetV2's expansion)
    )
    p: float | None = None  # dropout probability
    options: Options | None = None  # conv, depthwise, FC, and the activation after a merge
    padding: Padding = None
    pads: tuple[int, int, int, int] | None = None  # a zero-padding row: top, bottom, left, right
    groups: int = 1  # a grouped conv (AlexNet's two towers)
    ceil: bool = False  # pools: ceil mode (Caffe's pooling)
    role: str = ""  # "classifier" (α leaves it alone), "last_conv" (see ModelSpec.last_conv_fixed)
    name: str = ""  # its own name, else prefix + position (see shapes.py)
    line: int | None = None  # line in the spec file, for error messages
    # As written in the file; checked once against the inferred shapes, then dropped by
    # every transform (a narrower or smaller network no longer matches the paper's numbers).
    declared_in: int | None = None  # Cin of a conv, C of a depthwise, inputs of an FC
    declared_input: Shape | None = None  # the Input Size column


@dataclass(frozen=True)
class Block:
    """A node with children: a sequence, or branches merged by add or concat.

    For ``add`` and ``concat`` the last child is the merge leaf (kind ``add`` or
    ``concat``) and every other child is a branch fed with the block's input; an empty
    ``seq`` branch is the identity (a residual shortcut).
    """

    merge: str  # "seq", "add" or "concat"
    children: tuple[Node, ...]
    kind: str = "seq"  # the block kind it was written as: "inception", "fire", a user block, …
    name: str = ""
    describe: str = ""  # the row as the paper prints it
    line: int | None = None
    declared_input: Shape | None = None
    # What an add block does where its identity shortcut no longer matches its main branch (α leaves the
    # network's input channels alone): "drop" the add (MobileNetV2) or "project" the shortcut with a 1 × 1
    # conv (ResNet) — the decision torchvision makes from the channels it builds with.
    fallback: str | None = None

    @property
    def branches(self) -> tuple[Node, ...]:
        return self.children if self.merge == "seq" else self.children[:-1]


Node = Layer | Block


def leaves(node: Node) -> Iterator[Layer]:
    """Every leaf under ``node``, in execution order."""
    if isinstance(node, Layer):
        yield node
    else:
        for child in node.children:
            yield from leaves(child)


@overload
def map_leaves(node: Block, f: Callable[[Layer], Layer]) -> Block: ...
@overload
def map_leaves(node: Node, f: Callable[[Layer], Layer]) -> Node: ...


def map_leaves(node: Node, f: Callable[[Layer], Layer]) -> Node:
    """``node`` with every leaf replaced by ``f(leaf)`` (a new tree; ``node`` is unchanged); a block stays a block."""
    if isinstance(node, Layer):
        return f(node)
    from dataclasses import replace

    return replace(node, children=tuple(map_leaves(c, f) for c in node.children))


@dataclass(frozen=True)
class WidthRule:
    """How a width multiplier rounds channel counts, as the spec header names it."""

    name: str = "keras"  # "keras": int(c·α); "divisible": make_divisible(c·α, divisor)
    divisor: int = 8

    def describe(self) -> str:
        return "int(c·α)" if self.name == "keras" else f"make_divisible(c·α, {self.divisor})"


@dataclass(frozen=True)
class ModelSpec:
    """A whole network: header facts, the tree of rows and the configuration it is in."""

    key: str  # how it is named on the command line: "mobilenet_v1"
    name: str  # display name: "MobileNetV1"
    path: str  # the file it came from
    input_shape: Shape
    classes: int
    root: Block
    citation: str = ""
    alphas: tuple[float, ...] = (1.0,)  # the default grid of the spec
    resolutions: tuple[int, ...] = ()
    # The paper's ImageNet top-1, as (variant, alpha, resolution, percent).
    reported_top1: tuple[tuple[str, float, int, float], ...] = ()
    width_rule: WidthRule = WidthRule()
    last_conv_fixed: bool = False  # the last conv keeps its width for α ≤ 1 (MobileNetV2's 1280)
    variant: str = "base"  # "base" or "standard" (depthwise separable pairs made full convs)
    alpha: float = 1.0  # width multiplier applied so far
    header: tuple[tuple[str, str], ...] = field(default=(), compare=False)  # header as written, for `show`

    @property
    def layers(self) -> tuple[Layer, ...]:
        """Every leaf row in execution order (for a flat table: the rows of the table)."""
        return tuple(leaves(self.root))

    @property
    def resolution(self) -> int:
        return self.input_shape[1]

    @property
    def ref(self) -> str:
        """The name that loads this spec again on the command line."""
        return self.key if self.variant == "base" else f"{self.key}:{self.variant}"

    @property
    def label(self) -> str:
        """The paper's way of naming a configuration: "0.75 MobileNetV1-160"."""
        variant = " (standard conv)" if self.variant == "standard" else ""
        alpha = f"{self.alpha:g}" if "." in f"{self.alpha:g}" else f"{self.alpha:.1f}"  # 1.0, 0.75, 0.5
        return f"{alpha} {self.name}-{self.resolution}{variant}"

    def reported(self) -> float | None:
        """The paper's top-1 for this very configuration, if it reports one."""
        for variant, alpha, resolution, top1 in self.reported_top1:
            if (variant, alpha, resolution) == (self.variant, self.alpha, self.resolution):
                return top1
        return None


@dataclass(frozen=True)
class ResolvedLayer:
    """A node with the shapes it sees in one configuration and its place in the built model.

    ``path`` is the join key of everything downstream (counts, the built model's
    ``named_modules()`` with ``/`` for ``.``, hooks, reports): ``inception3a/b2/conv2``.
    Leaves and merges have costs; blocks (``is_block``) only hold their rows.
    """

    index: int  # 1-based position among the leaf rows, in execution order
    name: str  # its name under its parent: "dw2", "conv2", "inception3a"
    layer: Node | None  # None for a leaf of a user's module (ModuleModel.tree): it has no spec row
    in_shape: Shape
    out_shape: Shape
    path: str = ""
    parent: str = ""  # the parent block's path, "" at the root
    depth: int = 0
    in_shapes: tuple[Shape, ...] = ()  # a merge's inputs (one per branch)

    @property
    def is_block(self) -> bool:
        return isinstance(self.layer, Block)

    @property
    def leaf(self) -> Layer:
        """The spec row of a leaf; a block, or a row of a user's module, has none."""
        if not isinstance(self.layer, Layer):
            raise TypeError(f"{self.path or self.name!r} is not a leaf row of a spec")
        return self.layer

    @property
    def module_path(self) -> str:
        """The qualified name of its module in the built model."""
        return self.path.replace("/", ".")


@dataclass(eq=False)
class ModuleModel:
    """A user's own nn.Module, profiled at the op level (``archprof profile FILE.py:NAME``).

    It stands where a ModelSpec stands in results: one configuration, its input shape,
    and the tree of its rows (module paths) as ``opcount`` recorded it.
    """

    key: str  # how it was named: "my_net.py:MobileNet"
    name: str  # the module's class name
    path: str  # the file it came from ("" for a module passed in Python)
    input_shape: Shape  # (C, H, W) of the input, or its sizes folded into three
    input_dims: tuple = ()  # the input's real sizes without the batch: (3, 224, 224), (128,), …
    module: nn.Module | None = field(repr=False, default=None)  # the nn.Module itself
    trace: dict = field(repr=False, default_factory=dict)  # opcount.trace of one image in float32
    tree: tuple = field(repr=False, default=())  # ResolvedLayer rows: blocks and leaves, in order
    uncounted: dict = field(
        default_factory=dict
    )  # op name -> calls, for ops that do arithmetic archprof does not count
    classes: int = 0
    citation: str = ""
    alphas: tuple[float, ...] = (1.0,)
    reported_top1: tuple = ()
    width_rule: WidthRule = WidthRule()
    last_conv_fixed: bool = False
    variant: str = "module"
    alpha: float = 1.0
    header: tuple = ()

    @property
    def resolution(self) -> int:
        return self.input_shape[1]

    @property
    def resolutions(self) -> tuple[int, ...]:
        return (self.resolution,)

    @property
    def ref(self) -> str:
        return self.key

    @property
    def label(self) -> str:
        return f"{self.name}-{self.resolution}"

    def reported(self) -> float | None:
        return None
