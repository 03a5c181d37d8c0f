"""timm's CBAM, ``timm.layers.cbam.CbamModule`` (channel then spatial attention).

Rewritten (not copied) from huggingface/pytorch-image-models, timm/layers/cbam.py at commit
aa4b5850c1543fa488abf260f18390eda46cf85d (timm 1.0.29.dev0), licence Apache-2.0. Kept: the channel
gate's x.mean((2, 3)) and x.amax((2, 3)) through the shared 1x1-conv MLP (fc1, in-place ReLU, fc2, no
bias), their sum through the sigmoid gate; the spatial gate's cat of mean and amax over channels, its
7x7 ConvNormAct (conv without bias, BatchNormAct2d without act) and sigmoid gate.
"""

from __future__ import annotations

import torch
from torch import nn

from .timm_layers import ConvNormAct, Sigmoid, make_divisible


class ChannelAttn(nn.Module):
    def __init__(self, channels, rd_ratio=1. / 16, rd_channels=None, rd_divisor=1, act_layer=nn.ReLU,
                 mlp_bias=False):
        super().__init__()
        if not rd_channels:
            rd_channels = make_divisible(channels * rd_ratio, rd_divisor, round_limit=0.)
        self.fc1 = nn.Conv2d(channels, rd_channels, 1, bias=mlp_bias)
        self.act = act_layer(inplace=True)
        self.fc2 = nn.Conv2d(rd_channels, channels, 1, bias=mlp_bias)
        self.gate = Sigmoid()

    def forward(self, x):
        x_avg = self.fc2(self.act(self.fc1(x.mean((2, 3), keepdim=True))))
        x_max = self.fc2(self.act(self.fc1(x.amax((2, 3), keepdim=True))))
        return x * self.gate(x_avg + x_max)


class SpatialAttn(nn.Module):
    def __init__(self, kernel_size=7):
        super().__init__()
        self.conv = ConvNormAct(2, 1, kernel_size, apply_act=False)
        self.gate = Sigmoid()

    def forward(self, x):
        x_attn = torch.cat([x.mean(dim=1, keepdim=True), x.amax(dim=1, keepdim=True)], dim=1)
        x_attn = self.conv(x_attn)
        return x * self.gate(x_attn)


class CbamModule(nn.Module):
    def __init__(self, channels, rd_ratio=1. / 16, rd_channels=None, rd_divisor=1, spatial_kernel_size=7,
                 act_layer=nn.ReLU, mlp_bias=False):
        super().__init__()
        self.channel = ChannelAttn(channels, rd_ratio=rd_ratio, rd_channels=rd_channels, rd_divisor=rd_divisor,
                                   act_layer=act_layer, mlp_bias=mlp_bias)
        self.spatial = SpatialAttn(spatial_kernel_size)

    def forward(self, x):
        x = self.channel(x)
        x = self.spatial(x)
        return x
