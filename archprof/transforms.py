"""Pure functions ModelSpec → ModelSpec: width multiplier, resolution, standard-conv equivalent.

Each returns a new spec and checks that it still fits (no feature map of zero size, no
layer of zero channels); what does not fit is a ``ConfigError`` naming the row. The
declared numbers of the file (input channels, the Input Size column) are dropped: they
describe the spec as written, not the transformed network.
"""

from __future__ import annotations

import math
from dataclasses import replace

from .errors import ConfigError
from .shapes import ShapeError, resolve
from .spec import Layer, ModelSpec


def keras_round(channels: int, alpha: float) -> int:
    """The width-multiplied channel count: ``int(c·α)``, the Keras MobileNet rule (exact for α ∈ {1, .75, .5, .25})."""
    return int(channels * alpha)


def _undeclared(layer: Layer, **changes) -> Layer:
    return replace(layer, declared_in=None, declared_input=None, **changes)


def checked(spec: ModelSpec) -> ModelSpec:
    """``spec`` if every row still has a shape, else a ConfigError that says which row breaks."""
    try:
        resolve(spec)
    except ShapeError as e:
        raise ConfigError(f"{spec.label} does not fit: row {e.index} (line {e.layer.line} of {spec.path}): {e}") from None
    return spec


def with_alpha(spec: ModelSpec, alpha: float) -> ModelSpec:
    """Every channel count but the image's and the classes' becomes ``keras_round(c, α)``."""
    if not (isinstance(alpha, (int, float)) and math.isfinite(alpha) and alpha > 0):
        raise ConfigError(f"the width multiplier α must be a number greater than 0, got {alpha!r}")
    layers = []
    for index, layer in enumerate(spec.layers, 1):
        if layer.out_channels is not None and layer.role != "classifier":
            out = keras_round(layer.out_channels, alpha)
            if out < 1:
                raise ConfigError(f"α = {alpha:g} leaves row {index} (line {layer.line} of {spec.path}) "
                                  f"with {layer.out_channels} × {alpha:g} < 1 channels")
            layer = _undeclared(layer, out_channels=out)
        else:
            layer = _undeclared(layer)
        layers.append(layer)
    return checked(replace(spec, layers=tuple(layers), alpha=spec.alpha * alpha))


MAX_RESOLUTION = 100_000


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
    layers = tuple(_undeclared(l) for l in spec.layers)
    return checked(replace(spec, input_shape=scaled_input(spec, resolution), layers=layers))


def rho_to_resolution(spec: ModelSpec, rho: float) -> int:
    """The resolution multiplier ρ as pixels: ``round(H·ρ)`` of the spec's input height (224·0.714 → 160)."""
    if not (isinstance(rho, (int, float)) and math.isfinite(rho) and rho > 0):
        raise ConfigError(f"the resolution multiplier ρ must be a number greater than 0, got {rho!r}")
    pixels = spec.input_shape[1] * rho
    if not 1 <= pixels <= MAX_RESOLUTION:
        raise ConfigError(f"ρ = {rho:g} gives a resolution of {pixels:,.4g} pixels for {spec.key}'s "
                          f"{spec.input_shape[1]}-pixel input; it must be between 1 and {MAX_RESOLUTION:,}")
    return round(pixels)


def standard_conv(spec: ModelSpec) -> ModelSpec:
    """Every depthwise conv followed by a 1×1 conv becomes one full conv (the paper's "Conv MobileNet").

    The full conv has the depthwise kernel and stride, the depthwise input channels and
    the 1×1 conv's output channels and options.
    """
    if spec.variant != "base":
        raise ConfigError(f"{spec.ref} is already a {spec.variant} variant")
    layers, merged, i = [], 0, 0
    rows = spec.layers
    while i < len(rows):
        dw = rows[i]
        nxt = rows[i + 1] if i + 1 < len(rows) else None
        if (dw.kind == "conv_dw" and nxt is not None and nxt.kind == "conv"
                and nxt.kernel == (1, 1) and nxt.stride == 1):
            layers.append(_undeclared(nxt, kernel=dw.kernel, stride=dw.stride, line=dw.line))
            merged += 1
            i += 2
        else:
            layers.append(_undeclared(dw))
            i += 1
    if not merged:
        raise ConfigError(f"{spec.key} has no depthwise conv followed by a 1 × 1 conv, so it has no "
                          f"standard-conv variant")
    return checked(replace(spec, layers=tuple(layers), variant="standard"))


def configure(spec: ModelSpec, variant: str = "base", alpha: float = 1.0,
              resolution: int | None = None) -> ModelSpec:
    """The spec as written, turned into one configuration: variant, then α, then resolution."""
    if variant == "standard":
        spec = standard_conv(spec)
    if alpha != 1.0:
        spec = with_alpha(spec, alpha)
    if resolution is not None and scaled_input(spec, resolution) != spec.input_shape:
        spec = with_resolution(spec, resolution)
    return spec


