"""PyTorch modules for the segments of a search space (torch; used by the measurement worker only).

Each segment key (see :mod:`attncost.lut.segments`) maps to one module, built once and shared by
every architecture that contains it: a network is the chain of its segments' modules, so measuring
fifty architectures needs the weights of one supernet, not fifty networks.
"""

from __future__ import annotations

import torch
from torch import nn

from ..reference import build
from ..reference.nas import MBConv
from .segments import HEAD, STEM, input_shape, mbconv_hp, parse_segment
from .space import Space, parse_option

_ACTIVATIONS = {"relu": nn.ReLU, "relu6": nn.ReLU6}


class Separable(nn.Module):
    """MnasNet's expansion-1 MBConv: depthwise kxk, BN, act, 1x1 project, BN (+ x on identity shapes)."""

    def __init__(self, channels: int, out_channels: int, kernel: int, stride: int, activation: str):
        super().__init__()
        self.depthwise = nn.Sequential(
            nn.Conv2d(channels, channels, kernel, stride, (kernel - 1) // 2, groups=channels, bias=False),
            nn.BatchNorm2d(channels), _ACTIVATIONS[activation](inplace=True))
        self.project = nn.Sequential(nn.Conv2d(channels, out_channels, 1, bias=False), nn.BatchNorm2d(out_channels))
        self.residual = stride == 1 and out_channels == channels

    def forward(self, x):
        y = self.project(self.depthwise(x))
        return y + x if self.residual else y


class Head(nn.Module):
    """1x1 conv to the head channels, BN, act, global average pooling, flatten, FC."""

    def __init__(self, channels: int, head_channels: int, classes: int, activation: str):
        super().__init__()
        self.conv = nn.Sequential(nn.Conv2d(channels, head_channels, 1, bias=False), nn.BatchNorm2d(head_channels),
                                  _ACTIVATIONS[activation](inplace=True))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(head_channels, classes)

    def forward(self, x):
        y = self.pool(self.conv(x))                      # (N, head_channels, 1, 1)
        return self.fc(y.view(y.shape[0], -1))           # (N, classes)


def _stem(space: Space) -> nn.Module:
    k = space.stem_kernel
    return nn.Sequential(nn.Conv2d(space.input[0], space.stem_channels, k, space.stem_stride, (k - 1) // 2, bias=False),
                         nn.BatchNorm2d(space.stem_channels), _ACTIVATIONS[space.activation](inplace=True))


def build_segment(space: Space, key: str, batch: int = 1) -> nn.Module:
    """The eval-mode module of one segment."""
    what, layer, choice = parse_segment(space, key)
    if what == STEM:
        module = _stem(space)
    elif what == HEAD:
        module = Head(space.layers[-1].out_channels, space.head_channels, space.classes, space.activation)
    elif what == "attention":
        module = build(choice, input_shape(space, key, batch))
    elif parse_option(choice).expansion == 1:
        module = Separable(layer.in_channels, layer.out_channels, parse_option(choice).kernel, layer.stride,
                           space.activation)
    else:
        module = MBConv(layer.in_channels, **mbconv_hp(layer, choice, space.activation))
    return module.eval()


class SegmentCache:
    """Builds each segment's module once (seeded per key, so the same key gets the same weights)."""

    def __init__(self, space: Space, batch: int = 1):
        self.space, self.batch = space, batch
        self._modules: dict = {}

    def __getitem__(self, key: str) -> nn.Module:
        if key not in self._modules:
            torch.manual_seed(sum(map(ord, key)))
            self._modules[key] = build_segment(self.space, key, self.batch)
        return self._modules[key]

    def chain(self, keys) -> list:
        return [(key, self[key]) for key in keys]
