"""The spec as data: frozen dataclasses describing a network, and nothing that runs it.

``ModelSpec`` is what every other module works on. It is produced by ``parse.py`` (the
only place that reads spec text) and changed only by the pure functions of
``transforms.py``. Shapes are ``(C, H, W)`` tuples, as torch holds them; the spec files
write them ``H × W × C`` as the paper does, and ``parse.py`` converts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

Shape = tuple[int, int, int]  # (channels, height, width)

ACTIVATIONS = ("relu", "relu6")


@dataclass(frozen=True)
class Options:
    """What follows a conv or FC: the prose defaults of a paper, stated in the spec header."""

    bias: bool = True
    batch_norm: bool = False
    activation: str | None = "relu"  # one of ACTIVATIONS, or None

    def describe(self) -> str:
        parts = ["bias" if self.bias else "no bias",
                 "batch norm" if self.batch_norm else "no batch norm",
                 self.activation or "no activation"]
        return ", ".join(parts)


@dataclass(frozen=True)
class Layer:
    """One row of the layer table (a repeated group is expanded into its rows)."""

    kind: str                               # a key of registry.REGISTRY
    stride: int = 1
    kernel: tuple[int, int] | None = None   # conv, depthwise, pool; None for a global pool
    out_channels: int | None = None         # conv and FC
    p: float | None = None                  # dropout probability
    options: Options | None = None          # conv, depthwise, FC
    role: str = ""                          # "classifier" for the last weighted layer (α leaves it alone)
    line: int | None = None                 # line in the spec file, for error messages
    # As written in the file; checked once against the inferred shapes, then dropped by
    # every transform (a narrower or smaller network no longer matches the paper's numbers).
    declared_in: int | None = None          # Cin of a conv, C of a depthwise, inputs of an FC
    declared_input: Shape | None = None     # the Input Size column


@dataclass(frozen=True)
class ModelSpec:
    """A whole network: header facts, the layer rows and the configuration it is in."""

    key: str                       # how it is named on the command line: "mobilenet_v1"
    name: str                      # display name: "MobileNetV1"
    path: str                      # the file it came from
    input_shape: Shape
    classes: int
    layers: tuple[Layer, ...]
    citation: str = ""
    alphas: tuple[float, ...] = (1.0,)         # the default grid of the spec
    resolutions: tuple[int, ...] = ()
    # The paper's ImageNet top-1, as (variant, alpha, resolution, percent).
    reported_top1: tuple[tuple[str, float, int, float], ...] = ()
    variant: str = "base"          # "base" or "standard" (depthwise separable pairs made full convs)
    alpha: float = 1.0             # width multiplier applied so far
    header: tuple[tuple[str, str], ...] = field(default=(), compare=False)  # header as written, for `show`

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
    """A layer with the shapes it sees in one configuration and its name in the built model."""

    index: int        # 1-based row number after groups are expanded
    name: str         # child name in the torch model: "dw2", "pw3", "fc29"
    layer: Layer
    in_shape: Shape
    out_shape: Shape
