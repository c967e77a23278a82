"""The torch modules of blocks: branches fed with one input and merged by add or concat.

A ``seq`` block is an ``nn.Sequential``. An ``add`` or ``concat`` block is a
``Branches`` module: every child but the last is a branch (an empty ``nn.Sequential``
is the identity shortcut), the last is the merge (``Add`` or ``Concat``), a module of
its own so that hooks time it and results have a row for it.
"""

from __future__ import annotations

import torch
from torch import nn


class Add(nn.Module):
    """Sum of the branches, then the activation that follows the merge (ResNet's ReLU)."""

    def __init__(self, activation: nn.Module | None = None):
        super().__init__()
        self.activation = activation

    def forward(self, xs: list[torch.Tensor]) -> torch.Tensor:
        y = xs[0] + xs[1]  # a new tensor: the shortcut's input is not overwritten
        for x in xs[2:]:
            y += x
        return self.activation(y) if self.activation is not None else y


class Concat(nn.Module):
    """The branches stacked along the channels."""

    def __init__(self, activation: nn.Module | None = None):
        super().__init__()
        self.activation = activation

    def forward(self, xs: list[torch.Tensor]) -> torch.Tensor:
        y = torch.cat(xs, dim=1)
        return self.activation(y) if self.activation is not None else y


class Branches(nn.Module):
    """Every branch on the same input, then the merge (the last child)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        *branches, merge = self.children()
        return merge([branch(x) for branch in branches])
