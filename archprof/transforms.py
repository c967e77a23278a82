"""Pure functions ModelSpec → ModelSpec: width multiplier, resolution, standard-conv equivalent.

Each returns a new spec and checks that it still fits (no feature map of zero size, no
layer of zero channels); what does not fit is a ``ConfigError`` naming the row. The
declared numbers of the file (input channels, the Input Size column) are dropped: they
describe the spec as written, not the transformed network.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import replace
from typing import overload

from .errors import ConfigError
from .limits import MAX_ALPHA, MAX_RESOLUTION
from .shapes import ShapeError, resolve
from .spec import Block, Layer, ModelSpec, Node, WidthRule, map_leaves

MAX_CLASSES = 1_000_000


def keras_round(channels: int, alpha: float) -> int:
    """The width-multiplied channel count: ``int(c·α)``, the Keras MobileNet rule (exact for α ∈ {1, .75, .5, .25})."""
    return int(channels * alpha)


def make_divisible(value: float, divisor: int = 8) -> int:
    """The nearest multiple of ``divisor`` at least ``divisor``, never below 90 % of ``value`` (TF-slim, MobileNetV2)."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * value:
        rounded += divisor
    return rounded


def width(channels: int, alpha: float, rule: WidthRule) -> int:
    """``channels`` under the width multiplier ``alpha`` and the spec's rounding rule."""
    if rule.name == "keras":
        return keras_round(channels, alpha)
    return make_divisible(channels * alpha, rule.divisor)


def scaled_channels(layer: Layer, alpha: float, rule: WidthRule) -> int | None:
    """The output channels α gives ``layer``, or None where α leaves it alone (no width of its own, the classifier).

    The last conv of a spec with ``last conv: fixed for α ≤ 1`` takes ``width(c, max(α, 1))``. The one rule
    ``with_alpha`` and the sweep plan (``sweep.py``) both apply.
    """
    if layer.out_channels is None or layer.role == "classifier":
        return None
    a = max(alpha, 1.0) if layer.role == "last_conv" else alpha
    return width(layer.out_channels, a, rule)


def width_key(layer: Layer) -> tuple:
    """What ``scaled_channels`` reads of a layer: two layers with one key take the same width at every α."""
    return (layer.out_channels, layer.role)


def _undeclared(layer, **changes):
    return (
        replace(layer, declared_in=None, declared_input=None, **changes)
        if isinstance(layer, Layer)
        else replace(layer, declared_input=None, **changes)
    )


@overload
def _undeclare_tree(node: Block) -> Block: ...
@overload
def _undeclare_tree(node: Node) -> Node: ...


def _undeclare_tree(node: Node) -> Node:
    """The tree without the numbers the file declared (they describe the spec as written)."""
    node = _undeclared(node)
    if isinstance(node, Block):
        node = replace(node, children=tuple(_undeclare_tree(c) for c in node.children))
    return node


def checked(spec: ModelSpec) -> ModelSpec:
    """``spec`` if every row still has a shape, else a ConfigError that says which row breaks."""
    try:
        resolve(spec)
    except ShapeError as e:
        where = f"{e.path}, " if e.path else ""
        raise ConfigError(
            f"{spec.label} does not fit: {where}row {e.index} (line {e.layer.line} of {spec.path}): {e}"
        ) from None
    return spec


def with_alpha(spec: ModelSpec, alpha: float) -> ModelSpec:
    """Every channel count but the image's and the classes' becomes ``width(c, α)`` under the spec's rule.

    A conv whose width is a ratio of its input (MobileNetV2's expansion, t·Cin) follows
    its input. With ``last conv: fixed for α ≤ 1`` the last conv is ``width(c, max(α, 1))``.
    """
    if not (isinstance(alpha, (int, float)) and math.isfinite(alpha) and 0 < alpha <= MAX_ALPHA):
        raise ConfigError(
            f"the width multiplier α must be a number greater than 0 and at most {MAX_ALPHA:g}, got {alpha!r}"
        )
    rows = iter(resolve(spec))  # leaves in execution order, with their paths

    def scale(layer: Layer) -> Layer:
        row = next(rows)
        out = scaled_channels(layer, alpha, spec.width_rule)
        if out is None:
            return _undeclared(layer)
        if out < 1:
            raise ConfigError(
                f"α = {alpha:g} leaves {row.path} (row {row.index}, line {layer.line} of {spec.path}) "
                f"with {layer.out_channels} × {alpha:g} < 1 channels"
            )
        return _undeclared(layer, out_channels=out)

    root = _undeclare_tree(map_leaves(spec.root, scale))
    # if the unsettled tree does not fit either, checked() says where
    with contextlib.suppress(ShapeError):
        root = _settle_shortcuts(root, spec.input_shape)[0]
    return checked(replace(spec, root=root, alpha=spec.alpha * alpha))


def _settle_shortcuts(node: Node, shape):
    """``node`` with every identity shortcut that no longer matches its main branch settled by the block's
    ``fallback`` (only α can cause it: the network's input channels do not scale), and its output shape."""
    from .shapes import output_shape
    from .spec import leaves

    if isinstance(node, Layer):
        return node, output_shape(node, shape)[0]
    if node.merge == "seq":
        children = []
        for child in node.children:
            child, shape = _settle_shortcuts(child, shape)
            children.append(child)
        return replace(node, children=tuple(children)), shape
    main = node.branches[0]
    out = output_shape(main, shape)[0]
    if node.fallback is None or out == shape:
        return node, output_shape(node, shape)[0]
    shortcut = node.children[1]
    if not isinstance(main, Block) or not isinstance(shortcut, Block):
        raise TypeError(f"block {node.name!r} has a fallback, so its main branch and shortcut must be blocks")
    if node.fallback == "drop":
        node = replace(main, kind=node.kind, name=node.name, line=node.line, describe=node.describe)
    else:  # "project": a 1 × 1 conv with the main branch's last options (linear, batch norm) to its width
        last = list(leaves(main))[-1]
        projection = Layer(
            kind="conv", kernel=(1, 1), out_channels=out[0], options=last.options, line=node.line
        )
        node = replace(
            node,
            children=(main, replace(shortcut, children=(projection,)), node.children[-1]),
            fallback=None,
        )
    return node, output_shape(node, shape)[0]


def scaled_input(spec: ModelSpec, resolution: int) -> tuple[int, int, int]:
    """The input at ``resolution`` pixels high; a non-square input keeps its aspect ratio."""
    c, h, w = spec.input_shape
    return (c, resolution, resolution if h == w else max(1, round(w * resolution / h)))


def with_resolution(spec: ModelSpec, resolution: int) -> ModelSpec:
    """The same network on an input ``resolution`` pixels high (and wide, for a square input)."""
    if isinstance(resolution, bool) or not isinstance(resolution, int) or resolution < 1:
        raise ConfigError(f"the resolution must be a whole number of pixels ≥ 1, got {resolution!r}")
    if resolution > MAX_RESOLUTION:
        raise ConfigError(f"the resolution must be at most {MAX_RESOLUTION:,} pixels, got {resolution:,}")
    return checked(replace(spec, input_shape=scaled_input(spec, resolution), root=_undeclare_tree(spec.root)))


def rho_to_resolution(spec: ModelSpec, rho: float) -> int:
    """The resolution multiplier ρ as pixels: ``round(H·ρ)`` of the spec's input height (224·0.714 → 160)."""
    if not (isinstance(rho, (int, float)) and math.isfinite(rho) and rho > 0):
        raise ConfigError(f"the resolution multiplier ρ must be a number greater than 0, got {rho!r}")
    pixels = spec.input_shape[1] * rho
    if not 1 <= pixels <= MAX_RESOLUTION:
        raise ConfigError(
            f"ρ = {rho:g} gives a resolution of {pixels:,.4g} pixels for {spec.key}'s "
            f"{spec.input_shape[1]}-pixel input; it must be between 1 and {MAX_RESOLUTION:,}"
        )
    return round(pixels)


def _merge_pairs(children: tuple[Node, ...]) -> tuple[tuple[Node, ...], int]:
    """A sequence with every depthwise conv + 1 × 1 conv pair made one full conv (recursing into blocks)."""
    out, merged, i = [], 0, 0
    while i < len(children):
        dw = children[i]
        nxt = children[i + 1] if i + 1 < len(children) else None
        if (
            isinstance(dw, Layer)
            and dw.kind == "conv_dw"
            and isinstance(nxt, Layer)
            and nxt.kind == "conv"
            and nxt.kernel == (1, 1)
            and nxt.stride == 1
            and nxt.groups == 1
            and nxt.padding is None
        ):
            out.append(
                _undeclared(
                    nxt, kernel=dw.kernel, stride=dw.stride, padding=dw.padding, line=dw.line, name=dw.name
                )
            )
            merged += 1
            i += 2
            continue
        if isinstance(dw, Block):
            if dw.merge == "seq":
                inner, n = _merge_pairs(dw.children)
            else:  # each branch on its own; the merge stays last
                parts = [_merge_pairs((b,)) for b in dw.branches]
                inner, n = tuple(p[0][0] for p in parts) + (dw.children[-1],), sum(p[1] for p in parts)
            dw = replace(dw, children=inner, declared_input=None)
            merged += n
        else:
            dw = _undeclared(dw)
        out.append(dw)
        i += 1
    return tuple(out), merged


def standard_conv(spec: ModelSpec) -> ModelSpec:
    """Every depthwise conv followed by a 1×1 conv becomes one full conv (the paper's "Conv MobileNet").

    The full conv has the depthwise kernel, stride and padding, the depthwise input
    channels and the 1×1 conv's output channels and options. Pairs inside blocks
    (MobileNetV2's depthwise + projection) merge too.
    """
    if spec.variant != "base":
        raise ConfigError(f"{spec.ref} is already a {spec.variant} variant")
    children, merged = _merge_pairs(spec.root.children)
    if not merged:
        raise ConfigError(
            f"{spec.key} has no depthwise conv followed by a 1 × 1 conv, so it has no standard-conv variant"
        )
    return checked(replace(spec, root=replace(spec.root, children=children), variant="standard"))


def with_classes(spec: ModelSpec, classes: int) -> ModelSpec:
    """The same network with a classifier of ``classes`` outputs (``--classes N``)."""
    if isinstance(classes, bool) or not isinstance(classes, int) or not 1 <= classes <= MAX_CLASSES:
        raise ConfigError(f"--classes must be a whole number from 1 to {MAX_CLASSES:,}, got {classes!r}")
    if not any(l.role == "classifier" for l in spec.root.children if isinstance(l, Layer)):
        raise ConfigError(f"{spec.key} has no classifier (no final conv or FC producing classes) to resize")

    def resize(layer: Layer) -> Layer:
        return _undeclared(layer, out_channels=classes) if layer.role == "classifier" else layer

    return checked(replace(spec, root=_undeclare_tree(map_leaves(spec.root, resize)), classes=classes))


def configure(
    spec: ModelSpec,
    variant: str = "base",
    alpha: float = 1.0,
    resolution: int | None = None,
    classes: int | None = None,
) -> ModelSpec:
    """The spec as written, turned into one configuration: classes, variant, then α, then resolution."""
    if classes is not None and classes != spec.classes:
        spec = with_classes(spec, classes)
    if variant == "standard":
        spec = standard_conv(spec)
    if alpha != 1.0:
        spec = with_alpha(spec, alpha)
    if resolution is not None and scaled_input(spec, resolution) != spec.input_shape:
        spec = with_resolution(spec, resolution)
    return spec
