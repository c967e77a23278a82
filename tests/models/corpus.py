"""Model files for the tests: the ways people write networks, each a module archprof must count exactly.

Oracles (tests/test_modelfile.py): sum(p.numel()) for params, fvcore's conv + linear +
matmul + bmm + einsum for mult-adds, and hand arithmetic.
"""

import torch
import torch.nn.functional as F
from torch import nn


class Inception(nn.Module):
    """Branches joined with torch.cat in forward."""

    def __init__(self):
        super().__init__()
        self.b1 = nn.Conv2d(8, 4, 1)
        self.b2 = nn.Sequential(nn.Conv2d(8, 4, 1), nn.ReLU(), nn.Conv2d(4, 8, 3, padding=1))
        self.b3 = nn.Sequential(nn.MaxPool2d(3, 1, 1), nn.Conv2d(8, 4, 1))

    def forward(self, x):
        return torch.cat([self.b1(x), self.b2(x), self.b3(x)], 1)


class InceptionNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.mix = Inception()
        self.fc = nn.Linear(16, 5)

    def forward(self, x):
        return self.fc(self.mix(self.stem(x)).mean((2, 3)))


class Grouped(nn.Module):
    """A grouped conv (AlexNet's towers) and a depthwise separable pair."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(8, 16, 3, padding=1, groups=4, bias=False)
        self.dw = nn.Conv2d(16, 16, 3, stride=2, padding=1, groups=16, bias=False)
        self.pw = nn.Conv2d(16, 32, 1, bias=False)

    def forward(self, x):
        return self.pw(self.dw(self.conv(x)))


class FunctionalConv(nn.Module):
    """F.conv2d with its own weight, and x @ w for the classifier."""

    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(6, 3, 5, 5))
        self.bias = nn.Parameter(torch.zeros(6))
        self.w = nn.Parameter(torch.randn(6, 10))

    def forward(self, x):
        y = F.relu(F.conv2d(x, self.weight, self.bias, stride=2, padding=2))
        return y.mean((2, 3)) @ self.w


class Shared(nn.Module):
    """One conv applied twice (its weights counted once) and a tied embedding/classifier weight."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(4, 4, 3, padding=1)
        self.head = nn.Linear(4, 4, bias=False)
        self.tail = nn.Linear(4, 4, bias=False)
        self.tail.weight = self.head.weight

    def forward(self, x):
        y = self.conv(self.conv(x)).mean((2, 3))
        return self.tail(self.head(y))


class Attention(nn.Module):
    """Self-attention written by hand: matmul and einsum."""

    def __init__(self, d=16):
        super().__init__()
        self.qkv = nn.Linear(d, 3 * d)
        self.out = nn.Linear(d, d)

    def forward(self, x):                       # x: (N, L, d)
        q, k, v = self.qkv(x).chunk(3, dim=-1)
        att = torch.softmax(q @ k.transpose(1, 2) / 4.0, dim=-1)
        return self.out(torch.einsum("nij,njd->nid", att, v))


class Recurrent(nn.Module):
    """An LSTM: its gates run inside one fused op that archprof does not count, so it is named."""

    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(8, 16, batch_first=True)
        self.fc = nn.Linear(16, 3)

    def forward(self, x):                       # x: (N, L, 8)
        y, _ = self.lstm(x)
        return self.fc(y[:, -1])


class Frozen(nn.Module):
    """A frozen backbone (requires_grad False) and a trainable head: Keras's non-trainable params."""

    def __init__(self):
        super().__init__()
        self.backbone = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU())
        for p in self.backbone.parameters():
            p.requires_grad = False
        self.head = nn.Linear(8, 2)

    def forward(self, x):
        return self.head(self.backbone(x).mean((2, 3)))


class Residual(nn.Module):
    """A projection shortcut added in forward."""

    def __init__(self):
        super().__init__()
        self.main = nn.Sequential(nn.Conv2d(4, 8, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU(),
                                  nn.Conv2d(8, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8))
        self.proj = nn.Sequential(nn.Conv2d(4, 8, 1, stride=2, bias=False), nn.BatchNorm2d(8))

    def forward(self, x):
        return F.relu(self.main(x) + self.proj(x))


instance = Grouped()        # a module instance in the file also works


def factory():
    """A function of no arguments that returns a module."""
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.Flatten(), nn.Linear(4 * 30 * 30, 2))
