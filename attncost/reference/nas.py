"""Reference implementations of the nas family (catalogue/families/nas.py)."""

from __future__ import annotations

from torch import nn

from .blocks import ACTIVATIONS, MBConv
from .registry import reference


@reference("mbconv")
class MBConvLayer(nn.Module):
    """MBConvBlock of Single-Path NAS (singlepath_supernet.py), without SE: the shared MBConv block with
    C * expansion hidden channels, or the identity when the layer is skipped."""

    def __init__(self, channels: int, *, kernel: int, expansion: int, out_channels, stride: int, skip: bool,
                 activation: str):
        super().__init__()
        out_channels = out_channels if out_channels is not None else channels
        self.block = None if skip else MBConv(channels, out_channels, channels * expansion, kernel, stride,
                                              act_layer=ACTIVATIONS[activation])

    def forward(self, x):
        return x if self.block is None else self.block(x)
