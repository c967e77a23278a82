from torch import nn


def block():
    return nn.Conv2d(3, 8, 3)
