"""Build the PyTorch model of a configuration: an ``nn.Sequential`` with one named child per table row.

The child names are the layer names of the results (``conv1``, ``dw2``, ``pw3``, …), so a
measurement or a cross-check on the model lines up with the analytic rows by name.
"""

from __future__ import annotations

from .registry import REGISTRY
from .shapes import resolve
from .spec import ModelSpec


def build_model(spec: ModelSpec, device: str = "cpu"):
    """The model of ``spec`` in eval mode. ``device="meta"`` builds it without allocating weights."""
    import torch
    from torch import nn

    with torch.device(device):
        model = nn.Sequential()
        for r in resolve(spec):
            model.add_module(r.name, REGISTRY[r.layer.kind].build(r.layer, r.in_shape, r.out_shape))
    return model.eval()


def example_input(spec: ModelSpec, batch: int = 1, device: str = "cpu"):
    import torch

    return torch.randn(batch, *spec.input_shape, device=device)
