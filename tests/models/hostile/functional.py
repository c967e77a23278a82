import torch
import torch.nn.functional as F
from torch import nn


class F2(nn.Module):
    def __init__(self):
        super().__init__()
        self.w1 = nn.Parameter(torch.randn(16, 3, 3, 3)); self.bn1 = nn.BatchNorm2d(16)
        self.w2 = nn.Parameter(torch.randn(32, 16, 1, 1)); self.bn2 = nn.BatchNorm2d(32)
    def forward(self, x):
        x = F.relu(self.bn1(F.conv2d(x, self.w1, stride=2, padding=1)))
        return F.relu(self.bn2(F.conv2d(x, self.w2)))
class M2(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 16, 3, 2, 1, bias=False); self.bn1 = nn.BatchNorm2d(16)
        self.c2 = nn.Conv2d(16, 32, 1, bias=False); self.bn2 = nn.BatchNorm2d(32)
    def forward(self, x):
        x = F.relu(self.bn1(self.c1(x)))
        return F.relu(self.bn2(self.c2(x)))
