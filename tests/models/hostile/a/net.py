import blocks  # its neighbour: a and b each have their own
from torch import nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.b = blocks.block()

    def forward(self, x):
        return self.b(x)
