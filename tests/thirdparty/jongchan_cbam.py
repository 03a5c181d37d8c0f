"""The official CBAM, ``CBAM`` from Jongchan/attention-module, MODELS/cbam.py.

Rewritten (not copied) from Jongchan/attention-module at commit 459efad0e05ee7dde50c41ca10a3d0800bc3792a,
licence MIT (Copyright (c) 2019 Jongchan Park). Kept: the channel gate's F.avg_pool2d and F.max_pool2d
with the whole map as kernel and stride, each through the shared MLP (Flatten view, Linear C -> C/r,
ReLU, Linear C/r -> C, with bias), their sum, F.sigmoid, unsqueeze(2).unsqueeze(3).expand_as(x),
x * scale; the spatial gate's ChannelPool (cat of torch.max(x, 1)[0] and torch.mean(x, 1), each
unsqueezed), BasicConv 2 -> 1 7x7 (no bias) with BatchNorm2d (eps 1e-5, momentum 0.01) and no ReLU,
F.sigmoid, x * scale. pool_types default ['avg', 'max']; the 'lp' and 'lse' branches are kept too.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class BasicConv(nn.Module):
    def __init__(self, in_planes, out_planes, kernel_size, stride=1, padding=0, dilation=1, groups=1, relu=True,
                 bn=True, bias=False):
        super().__init__()
        self.out_channels = out_planes
        self.conv = nn.Conv2d(in_planes, out_planes, kernel_size=kernel_size, stride=stride, padding=padding,
                              dilation=dilation, groups=groups, bias=bias)
        self.bn = nn.BatchNorm2d(out_planes, eps=1e-5, momentum=0.01, affine=True) if bn else None
        self.relu = nn.ReLU() if relu else None

    def forward(self, x):
        x = self.conv(x)
        if self.bn is not None:
            x = self.bn(x)
        if self.relu is not None:
            x = self.relu(x)
        return x


class Flatten(nn.Module):
    def forward(self, x):
        return x.view(x.size(0), -1)


def logsumexp_2d(tensor):
    flat = tensor.view(tensor.size(0), tensor.size(1), -1)
    s, _ = torch.max(flat, dim=2, keepdim=True)
    return s + (flat - s).exp().sum(dim=2, keepdim=True).log()


class ChannelGate(nn.Module):
    def __init__(self, gate_channels, reduction_ratio=16, pool_types=('avg', 'max')):
        super().__init__()
        self.gate_channels = gate_channels
        self.mlp = nn.Sequential(Flatten(), nn.Linear(gate_channels, gate_channels // reduction_ratio), nn.ReLU(),
                                 nn.Linear(gate_channels // reduction_ratio, gate_channels))
        self.pool_types = list(pool_types)

    def forward(self, x):
        channel_att_sum = None
        window = (x.size(2), x.size(3))
        for pool_type in self.pool_types:
            if pool_type == 'avg':
                raw = self.mlp(F.avg_pool2d(x, window, stride=window))
            elif pool_type == 'max':
                raw = self.mlp(F.max_pool2d(x, window, stride=window))
            elif pool_type == 'lp':
                raw = self.mlp(F.lp_pool2d(x, 2, window, stride=window))
            elif pool_type == 'lse':
                raw = self.mlp(logsumexp_2d(x))
            channel_att_sum = raw if channel_att_sum is None else channel_att_sum + raw
        scale = F.sigmoid(channel_att_sum).unsqueeze(2).unsqueeze(3).expand_as(x)
        return x * scale


class ChannelPool(nn.Module):
    def forward(self, x):
        return torch.cat((torch.max(x, 1)[0].unsqueeze(1), torch.mean(x, 1).unsqueeze(1)), dim=1)


class SpatialGate(nn.Module):
    def __init__(self):
        super().__init__()
        kernel_size = 7
        self.compress = ChannelPool()
        self.spatial = BasicConv(2, 1, kernel_size, stride=1, padding=(kernel_size - 1) // 2, relu=False)

    def forward(self, x):
        x_out = self.spatial(self.compress(x))
        scale = F.sigmoid(x_out)
        return x * scale


class CBAM(nn.Module):
    def __init__(self, gate_channels, reduction_ratio=16, pool_types=('avg', 'max'), no_spatial=False):
        super().__init__()
        self.ChannelGate = ChannelGate(gate_channels, reduction_ratio, pool_types)
        self.no_spatial = no_spatial
        if not no_spatial:
            self.SpatialGate = SpatialGate()

    def forward(self, x):
        x_out = self.ChannelGate(x)
        if not self.no_spatial:
            x_out = self.SpatialGate(x_out)
        return x_out
