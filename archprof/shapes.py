"""Shape inference: carry (C, H, W) through the tree, check what the spec declared, name and place every node.

This is the one place where shapes are computed. The parser calls it once on the spec
as written (where the declared input channels and the Input Size column are checked);
the transforms call it again to reject configurations that do not fit.

Names: a node has its own name (``inception3a``, a branch's ``b2``, Fire's ``squeeze``)
or its kind's prefix and its 1-based position under its parent (``conv1``, ``dw2``,
``pw3`` — for a flat table, the row number). A node's ``path`` joins the names from the
root down (``inception3a/b2/conv2``); it is the key every result row is joined on.
"""

from __future__ import annotations

from . import blocks, kinds  # noqa: F401  (registers the kinds)
from .registry import REGISTRY, RuleError
from .spec import Layer, ModelSpec, Node, ResolvedLayer, Shape


class ShapeError(RuleError):
    """A row whose input or output shape is impossible; ``layer`` says which row."""

    def __init__(self, message: str, layer: Node, index: int, path: str = ""):
        super().__init__(message)
        self.layer, self.index, self.path = layer, index, path


def paper_shape(shape: Shape) -> str:
    """(C, H, W) written as the paper writes it: H × W × C."""
    c, h, w = shape
    return f"{h} × {w} × {c}"


def node_name(node: Node, position: int) -> str:
    if node.name:
        return node.name
    prefix = REGISTRY[node.kind].name_prefix(node) if isinstance(node, Layer) else node.kind
    return f"{prefix}{position}"


class _Walk:
    def __init__(self) -> None:
        self.rows: list[ResolvedLayer] = []
        self.leaves = 0
        self.last_line: int | None = None

    def node(self, node: Node, shape: Shape, name: str, parent: str, depth: int) -> Shape:
        path = f"{parent}/{name}" if parent else name
        if node.declared_input is not None and node.declared_input != shape:
            source = f"the row at line {self.last_line} outputs" if self.last_line else "the input is"
            raise ShapeError(
                f"the Input Size column says {paper_shape(node.declared_input)} "
                f"but {source} {paper_shape(shape)}",
                node,
                self.leaves + 1,
                path,
            )
        if isinstance(node, Layer):
            return self.leaf(node, shape, (), name, path, parent, depth)
        at = len(self.rows)  # the block's row comes before its children: inserted there below
        first = self.leaves + 1
        _unique_names(node.children, node, path)
        if node.merge == "seq":
            out = shape
            for i, child in enumerate(node.children, 1):
                out = self.node(child, out, node_name(child, i), path, depth + 1)
        else:
            outs = tuple(
                self.node(child, shape, node_name(child, i), path, depth + 1)
                for i, child in enumerate(node.branches, 1)
            )
            merge = node.children[-1]
            if not isinstance(merge, Layer):
                raise ShapeError(
                    f"an {node.merge} block must end with its merge row, not a block",
                    merge,
                    self.leaves + 1,
                    path,
                )
            out = self.leaf(
                merge,
                outs[0],
                outs,
                node_name(merge, len(node.children)),
                f"{path}/{node_name(merge, len(node.children))}",
                path,
                depth + 1,
            )
        self.rows.insert(at, ResolvedLayer(first, name, node, shape, out, path, parent, depth))
        if node.line is not None:
            self.last_line = node.line
        return out

    def leaf(
        self, layer: Layer, shape: Shape, merged: tuple, name: str, path: str, parent: str, depth: int
    ) -> Shape:
        kind = REGISTRY[layer.kind]
        self.leaves += 1
        try:
            out = kind.infer(layer, merged if kind.merge else shape)
        except RuleError as e:
            raise ShapeError(str(e), layer, self.leaves, path) from None
        if min(out) < 1:
            raise ShapeError(
                f"the feature map collapses: {paper_shape(shape)} in gives {paper_shape(out)} out",
                layer,
                self.leaves,
                path,
            )
        in_shape = merged[0] if kind.merge else shape
        self.rows.append(ResolvedLayer(self.leaves, name, layer, in_shape, out, path, parent, depth, merged))
        if layer.line is not None:
            self.last_line = layer.line
        return out


def _unique_names(children, parent: Node, path: str) -> None:
    seen: set[str] = set()
    for i, child in enumerate(children, 1):
        name = node_name(child, i)
        if name in seen:
            raise ShapeError(f"two rows are named '{name}' under {path or 'the root'}", child, 0)
        seen.add(name)


def output_shape(node: Node, shape: Shape, last_line: int | None = None) -> tuple[Shape, int | None]:
    """What ``node`` outputs for an input of ``shape`` (raises ShapeError), and the last line it read.

    ``last_line`` is the line of the row before it, named when its Input Size disagrees.
    """
    walk = _Walk()
    walk.last_line = last_line
    return walk.node(node, shape, node_name(node, 1), "", 0), walk.last_line


def resolve_tree(spec: ModelSpec) -> tuple[ResolvedLayer, ...]:
    """Every node but the root, in execution order, blocks before their children."""
    walk = _Walk()
    shape = spec.input_shape
    _unique_names(spec.root.children, spec.root, "")
    for i, child in enumerate(spec.root.children, 1):
        shape = walk.node(child, shape, node_name(child, i), "", 0)
    return tuple(walk.rows)


def resolve(spec: ModelSpec) -> tuple[ResolvedLayer, ...]:
    """The leaf rows (layers and merges) in execution order: the rows that have a cost."""
    return tuple(r for r in resolve_tree(spec) if not r.is_block)
