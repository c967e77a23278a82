from torch import nn
def broken():
    raise RuntimeError("weights file missing")
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(10, 2)
    def forward(self, x):
        return self.fc(x)
not_a_module = 42
