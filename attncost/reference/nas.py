"""Reference implementations of the nas family (catalogue/families/nas.py)."""

from __future__ import annotations

from torch import nn

from .registry import reference

_ACTIVATIONS = {"relu": nn.ReLU, "relu6": nn.ReLU6}


@reference("mbconv")
class MBConv(nn.Module):
    """MBConvBlock of Single-Path NAS (singlepath_supernet.py), without SE, as a PyTorch module."""

    def __init__(self, channels: int, *, kernel: int, expansion: int, out_channels, stride: int, skip: bool,
                 activation: str):
        super().__init__()
        self.skip = skip
        if skip:
            return
        out_channels = out_channels if out_channels is not None else channels
        hidden = channels * expansion
        act = _ACTIVATIONS[activation]
        self.expand = nn.Sequential(nn.Conv2d(channels, hidden, 1, bias=False), nn.BatchNorm2d(hidden),
                                    act(inplace=True))
        self.depthwise = nn.Sequential(
            nn.Conv2d(hidden, hidden, kernel, stride, (kernel - 1) // 2, groups=hidden, bias=False),
            nn.BatchNorm2d(hidden), act(inplace=True))
        self.project = nn.Sequential(nn.Conv2d(hidden, out_channels, 1, bias=False), nn.BatchNorm2d(out_channels))
        self.residual = stride == 1 and out_channels == channels

    def forward(self, x):
        if self.skip:
            return x
        y = self.project(self.depthwise(self.expand(x)))
        return y + x if self.residual else y
