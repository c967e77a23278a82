"""Build the PyTorch model of a configuration: one module per node of the spec tree, named as its row.

A leaf's module is its kind's builder (a conv with its batch norm and activation); a
``seq`` block is an ``nn.Sequential`` of its children, an ``add``/``concat`` block a
``modules.Branches`` whose last child is the merge. Module names are the nodes' names,
so ``named_modules()`` yields every result row's ``path`` (with ``.`` for ``/``): a
measurement or a cross-check on the model lines up with the analytic rows by path.
"""

from __future__ import annotations

from .registry import REGISTRY
from .shapes import resolve_tree
from .spec import Block, ModelSpec


def build_model(spec: ModelSpec, device: str = "cpu"):
    """The model of ``spec`` in eval mode. ``device="meta"`` builds it without allocating weights."""
    import torch
    from torch import nn

    from .modules import Branches

    modules: dict[str, nn.Module] = {}
    with torch.device(device):
        model = nn.Sequential()
        modules[""] = model
        for r in resolve_tree(spec):  # parents come before their children
            module: nn.Module
            if isinstance(r.layer, Block):
                module = nn.Sequential() if r.layer.merge == "seq" else Branches()
            else:
                kind = REGISTRY[r.leaf.kind]
                module = kind.build(r.leaf, r.in_shapes if kind.merge else r.in_shape, r.out_shape)
            modules[r.path] = module
            modules[r.parent].add_module(r.name, module)
    return model.eval()


def example_input(spec: ModelSpec, batch: int = 1, device: str = "cpu"):
    import torch

    return torch.randn(batch, *spec.input_shape, device=device)


def row_modules(model, spec: ModelSpec) -> dict[str, object]:
    """{path: module} of every leaf row (the modules that have a cost row) of ``model`` built from ``spec``."""
    from .shapes import resolve

    named = dict(model.named_modules())
    return {r.path: named[r.module_path] for r in resolve(spec)}
