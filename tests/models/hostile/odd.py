"""Model files that are legal but odd: each must be counted right or refused in one line."""

import argparse
import sys
from dataclasses import dataclass

import torch
from torch import nn

print("loading odd.py")                       # a print must not reach archprof's JSON on stdout
ARGS = argparse.ArgumentParser().parse_known_args()   # it sees its own argv, not archprof's


@dataclass
class Cfg:
    width: int = 8


class Unused(nn.Module):
    """A layer that never runs still has parameters."""

    def __init__(self):
        super().__init__()
        self.c = nn.Conv2d(3, Cfg().width, 3)
        self.never = nn.Linear(100, 100)

    def forward(self, x):
        return self.c(x)


class Seq1d(nn.Module):
    def __init__(self):
        super().__init__()
        self.c = nn.Conv1d(4, 8, 5, stride=2, groups=2)

    def forward(self, x):
        return self.c(x)


class Nothing(nn.Module):
    def forward(self, x):
        return x


class Exits(nn.Module):
    def forward(self, x):
        sys.exit(0)


class Backbone16(nn.Module):
    def __init__(self, width=16, groups=1, padding=1):
        super().__init__()
        self.conv = nn.Conv2d(4, width, 3, padding=padding, groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(width)

    def forward(self, x):
        return torch.relu(self.bn(self.conv(x)))


def backbone32():
    return Backbone16(32)


def grouped():
    return Backbone16(groups=2)


def padded():
    return Backbone16(padding=2)
