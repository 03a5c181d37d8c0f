"""A stem and one embedded-Gaussian Non-local block (Wang et al., CVPR 2018) written by hand: at
3x2048x2048 its (HW)^2 affinity would need terabytes, so attncost counts it on FakeTensors."""

import torch
from torch import nn


class NonLocal(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        inner = channels // 2
        self.theta, self.phi, self.g = (nn.Conv2d(channels, inner, 1) for _ in range(3))
        self.out = nn.Conv2d(inner, channels, 1)

    def forward(self, x):
        b, c, h, w = x.shape
        theta = self.theta(x).flatten(2).transpose(1, 2)                          # (b, hw, c/2)
        phi = self.phi(x).flatten(2)                                              # (b, c/2, hw)
        g = self.g(x).flatten(2).transpose(1, 2)                                  # (b, hw, c/2)
        affinity = torch.softmax(theta @ phi, dim=-1)                             # (b, hw, hw)
        y = (affinity @ g).transpose(1, 2).reshape(b, c // 2, h, w)
        return x + self.out(y)


class Net(nn.Module):
    def __init__(self, width: int = 64):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, width, 7, stride=4, padding=3), nn.ReLU(),
                                  nn.Conv2d(width, width, 3, stride=4, padding=1), nn.ReLU())
        self.nonlocal_block = NonLocal(width)

    def forward(self, x):
        return self.nonlocal_block(self.stem(x))


def build():
    return Net()


def block():
    """The Non-local block alone at 256 channels, for ``attncost crossover`` against the catalogue's."""
    return NonLocal(256)
