"""Torch blocks shared by the reference modules (reference/nas.py), the reference networks
(reference/networks.py) and the latency table's segments (lut/network.py): the PyTorch side of
attncost/catalogue/blocks.py, name for name, running the same aten ops in the same order.

- ``ConvBnAct``: Conv2d (no bias unless asked, padding (k - 1) // 2 unless given), BatchNorm2d, then
  ``act_layer`` (in place; ``None`` for none), as torchvision's Conv2dNormActivation and timm's ConvNormAct.
- ``SqueezeExcite``: x * sigmoid(W2 relu(W1 mean_HW(x))), 1x1 convs with bias, the gate marked as an
  attention map.
- ``MBConv``: [1x1 expand] (left out when the hidden width is C), depthwise k x k, [SE], 1x1 project,
  [attention modules], + x when stride is 1 and C_in == C_out.
"""

from __future__ import annotations

import torch
from torch import nn

from ..trace.marks import attention_map

#: Activations of networks and search spaces by name (catalogue.blocks.ACTIVATIONS: their Program kinds).
ACTIVATIONS = {"relu": nn.ReLU, "relu6": nn.ReLU6}


class ConvBnAct(nn.Sequential):
    """act_layer(BN(conv_kxk(x)))."""

    def __init__(self, in_channels: int, out_channels: int, kernel: int, stride: int = 1, *, padding=None,
                 groups: int = 1, bias: bool = False, act_layer=nn.ReLU, inplace: bool = True):
        padding = (kernel - 1) // 2 if padding is None else padding
        layers = [nn.Conv2d(in_channels, out_channels, kernel, stride, padding, groups=groups, bias=bias),
                  nn.BatchNorm2d(out_channels)]
        super().__init__(*layers, *([act_layer(inplace=inplace)] if act_layer is not None else []))


class SqueezeExcite(nn.Module):
    """SE with ``reduced`` hidden channels; ``gate_first`` multiplies gate * x (MnasNet's order)."""

    def __init__(self, channels: int, reduced: int, gate_first: bool = False):
        super().__init__()
        self.fc = nn.Sequential(nn.Conv2d(channels, reduced, 1), nn.ReLU(inplace=True), nn.Conv2d(reduced, channels, 1))
        self.gate_first = gate_first

    def forward(self, x):
        s = attention_map(torch.sigmoid(self.fc(x.mean((2, 3), keepdim=True))))      # (N, C, 1, 1)
        return s * x if self.gate_first else x * s


class MBConv(nn.Module):
    """The inverted residual of MobileNetV2 / MnasNet / Single-Path NAS (catalogue.blocks.mbconv)."""

    def __init__(self, channels: int, out_channels: int, hidden: int, kernel: int, stride: int = 1, *,
                 act_layer=nn.ReLU, se_channels=None, attention=(), identity_first: bool = False):
        super().__init__()
        self.expand = ConvBnAct(channels, hidden, 1, act_layer=act_layer) if hidden != channels else None
        self.depthwise = ConvBnAct(hidden, hidden, kernel, stride, groups=hidden, act_layer=act_layer)
        self.se = SqueezeExcite(hidden, se_channels, gate_first=True) if se_channels is not None else None
        self.project = ConvBnAct(hidden, out_channels, 1, act_layer=None)
        self.attention = nn.Sequential(*attention)
        self.residual = stride == 1 and out_channels == channels
        self.identity_first = identity_first

    def forward(self, x):
        y = self.depthwise(x if self.expand is None else self.expand(x))
        if self.se is not None:
            y = self.se(y)
        y = self.attention(self.project(y))
        if not self.residual:
            return y
        return x + y if self.identity_first else y + x
