"""Shape inference: carry (C, H, W) from row to row, check what the spec declared, name the rows.

This is the one place where shapes are computed. The parser calls it once on the spec
as written (where the declared input channels and the Input Size column are checked);
the transforms call it again to reject configurations that do not fit.
"""

from __future__ import annotations

from . import kinds  # noqa: F401  (registers the kinds)
from .registry import REGISTRY, RuleError
from .spec import Layer, ModelSpec, ResolvedLayer, Shape


class ShapeError(RuleError):
    """A row whose input or output shape is impossible; ``layer`` says which row."""

    def __init__(self, message: str, layer: Layer, index: int):
        super().__init__(message)
        self.layer, self.index = layer, index


def paper_shape(shape: Shape) -> str:
    """(C, H, W) written as the paper writes it: H × W × C."""
    c, h, w = shape
    return f"{h} × {w} × {c}"


def resolve(spec: ModelSpec) -> tuple[ResolvedLayer, ...]:
    shape = spec.input_shape
    rows: list[ResolvedLayer] = []
    for index, layer in enumerate(spec.layers, 1):
        kind = REGISTRY[layer.kind]
        if layer.declared_input is not None and layer.declared_input != shape:
            source = f"the row at line {rows[-1].layer.line} outputs" if rows else "the input is"
            raise ShapeError(f"the Input Size column says {paper_shape(layer.declared_input)} "
                             f"but {source} {paper_shape(shape)}", layer, index)
        try:
            out = kind.infer(layer, shape)
        except RuleError as e:
            raise ShapeError(str(e), layer, index) from None
        if min(out) < 1:
            raise ShapeError(f"the feature map collapses: {paper_shape(shape)} in gives "
                             f"{paper_shape(out)} out", layer, index)
        rows.append(ResolvedLayer(index, f"{kind.name_prefix(layer)}{index}", layer, shape, out))
        shape = out
    return tuple(rows)
