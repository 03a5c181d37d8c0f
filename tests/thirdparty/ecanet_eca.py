"""The official ECA layer, ``eca_layer`` from BangguWu/ECANet, models/eca_module.py.

Rewritten (not copied) from BangguWu/ECANet at commit b332f6b3e6e2afe8a3287dc8ee8440a0fbec74c4, licence
MIT (Copyright (c) 2019 BangguWu, Qilong Wang). Kept: nn.AdaptiveAvgPool2d(1), squeeze(-1) and
transpose(-1, -2) to (B, 1, C), Conv1d(1, 1, k_size, padding (k_size - 1) // 2, no bias), transpose
back and unsqueeze(-1), nn.Sigmoid, x * y.expand_as(x). The kernel size is the caller's (k_size=3
default); eca_resnet.py picks it per stage.
"""

from __future__ import annotations

from torch import nn


class eca_layer(nn.Module):  # noqa: N801 (the original's name)
    def __init__(self, channel, k_size=3):
        super().__init__()
        self.avg_pool = nn.AdaptiveAvgPool2d(1)
        self.conv = nn.Conv1d(1, 1, kernel_size=k_size, padding=(k_size - 1) // 2, bias=False)
        self.sigmoid = nn.Sigmoid()

    def forward(self, x):
        y = self.avg_pool(x)
        y = self.conv(y.squeeze(-1).transpose(-1, -2)).transpose(-1, -2).unsqueeze(-1)
        y = self.sigmoid(y)
        return x * y.expand_as(x)
