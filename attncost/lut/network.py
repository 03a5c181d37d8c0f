"""PyTorch modules for the segments of a search space (torch; used by the measurement worker only).

Each segment key (see :mod:`attncost.lut.segments`) maps to one module, built once and shared by
every architecture that contains it: a network is the chain of its segments' modules, so measuring
fifty architectures needs the weights of one supernet, not fifty networks.
"""

from __future__ import annotations

import torch
from torch import nn

from ..reference import build
from ..reference.blocks import ACTIVATIONS, ConvBnAct, MBConv
from .segments import HEAD, STEM, input_shape, mbconv_layer, parse_segment
from .space import Space


class Head(nn.Module):
    """1x1 conv to the head channels, BN, act, global average pooling, flatten, FC."""

    def __init__(self, channels: int, head_channels: int, classes: int, activation: str):
        super().__init__()
        self.conv = ConvBnAct(channels, head_channels, 1, act_layer=ACTIVATIONS[activation])
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(head_channels, classes)

    def forward(self, x):
        y = self.pool(self.conv(x))                      # (N, head_channels, 1, 1)
        return self.fc(y.view(y.shape[0], -1))           # (N, classes)


def build_segment(space: Space, key: str, batch: int = 1) -> nn.Module:
    """The eval-mode module of one segment."""
    what, layer, choice = parse_segment(space, key)
    act = ACTIVATIONS[space.activation]
    if what == STEM:
        module = ConvBnAct(space.input[0], space.stem_channels, space.stem_kernel, space.stem_stride, act_layer=act)
    elif what == HEAD:
        module = Head(space.layers[-1].out_channels, space.head_channels, space.classes, space.activation)
    elif what == "attention":
        module = build(choice, input_shape(space, key, batch))
    else:                                                # MBConv; expansion 1: MnasNet's separable layer
        module = MBConv(layer.in_channels, **mbconv_layer(layer, choice), act_layer=act)
    return module.eval()


class SegmentCache:
    """Builds each segment's module once (seeded per key, so the same key gets the same weights), on
    ``device`` (``"cpu"`` or ``"cuda"``)."""

    def __init__(self, space: Space, batch: int = 1, on_build=None, device: str = "cpu"):
        self.space, self.batch, self.device = space, batch, device
        self._modules: dict = {}
        self._on_build = on_build                  # told each key before its module is built

    def __getitem__(self, key: str) -> nn.Module:
        if key not in self._modules:
            if self._on_build is not None:
                self._on_build(key)
            torch.manual_seed(sum(map(ord, key)))
            self._modules[key] = build_segment(self.space, key, self.batch).to(self.device)
        return self._modules[key]

    def chain(self, keys) -> list:
        return [(key, self[key]) for key in keys]
