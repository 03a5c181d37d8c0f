"""Reference implementations of the branch family (catalogue/families/branch.py).

Each class names the code it follows in its catalogue entry's ``paper.follows``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..trace.marks import attention_map
from .registry import reference


@reference("sk")
class SelectiveKernel(nn.Module):
    """SK unit as the official sknet50.prototxt builds it (C -> C, every branch of ``stride``)."""

    def __init__(self, channels: int, *, branches: int, groups: int, r: int, min_hidden: int, stride: int):
        super().__init__()
        hidden = max(channels // r, min_hidden)
        self.branches = nn.ModuleList(
            nn.Sequential(nn.Conv2d(channels, channels, 3, stride, padding=m + 1, dilation=m + 1, groups=groups,
                                    bias=False),
                          nn.BatchNorm2d(channels), nn.ReLU(inplace=True))
            for m in range(branches))
        self.fc1 = nn.Sequential(nn.Conv2d(channels, hidden, 1, bias=False), nn.BatchNorm2d(hidden),
                                 nn.ReLU(inplace=True))
        self.fc2 = nn.Conv2d(hidden, branches * channels, 1, bias=False)

    def forward(self, x):
        n, c = x.shape[:2]
        features = [branch(x) for branch in self.branches]
        fused = features[0]
        for u in features[1:]:
            fused = fused + u                                                  # Eltwise SUM
        z = self.fc1(F.adaptive_avg_pool2d(fused, 1))                          # (N, d, 1, 1)
        a = self.fc2(z).view(n, len(features), c, 1)                           # (N, M, C, 1)
        a = attention_map(torch.softmax(a, dim=1))
        out = features[0] * a[:, 0].view(n, c, 1, 1)                           # Scale
        for m in range(1, len(features)):
            out = features[m] * a[:, m].view(n, c, 1, 1) + out                 # Axpy
        return out


@reference("split-attention")
class SplitAttention(nn.Module):
    """SplAtConv2d (ResNeSt splat.py) with a 3x3 conv C -> C*R, BN, in a bottleneck's place."""

    def __init__(self, channels: int, *, radix: int, cardinality: int, reduction: int):
        super().__init__()
        inter = max(channels * radix // reduction, 32)
        self.radix, self.cardinality = radix, cardinality
        self.conv = nn.Conv2d(channels, channels * radix, 3, padding=1, groups=cardinality * radix, bias=False)
        self.bn0 = nn.BatchNorm2d(channels * radix)
        self.relu = nn.ReLU(inplace=True)
        self.fc1 = nn.Conv2d(channels, inter, 1, groups=cardinality)
        self.bn1 = nn.BatchNorm2d(inter)
        self.fc2 = nn.Conv2d(inter, channels * radix, 1, groups=cardinality)

    def _rsoftmax(self, x):
        n = x.size(0)
        if self.radix > 1:
            x = x.view(n, self.cardinality, self.radix, -1).transpose(1, 2)   # (N, R, K, C/K)
            return torch.softmax(x, dim=1).reshape(n, -1)
        return torch.sigmoid(x)

    def forward(self, x):
        x = self.relu(self.bn0(self.conv(x)))
        n, rchannels = x.shape[:2]
        if self.radix > 1:
            splits = torch.split(x, rchannels // self.radix, dim=1)
            gap = sum(splits)
        else:
            gap = x
        gap = self.relu(self.bn1(self.fc1(F.adaptive_avg_pool2d(gap, 1))))
        atten = attention_map(self._rsoftmax(self.fc2(gap))).view(n, -1, 1, 1)  # (N, R*C, 1, 1)
        if self.radix > 1:
            attens = torch.split(atten, rchannels // self.radix, dim=1)
            out = sum([a * s for a, s in zip(attens, splits)])
        else:
            out = atten * x
        return out.contiguous()


class _MixedKernelConv(nn.Module):
    """Expert kernels (E, |W|) and biases (E, Cout) mixed per sample, run as a conv grouped over the batch."""

    def __init__(self, channels: int, out_channels, experts: int, kernel: int, stride: int, bias: bool):
        super().__init__()
        self.out_channels = out_channels if out_channels is not None else channels
        self.kernel, self.stride = kernel, stride
        self.weight = nn.Parameter(torch.randn(experts, self.out_channels * channels * kernel * kernel) * 0.01)
        self.bias = nn.Parameter(torch.zeros(experts, self.out_channels)) if bias else None

    def mixed_conv(self, x, mixture):
        n, c, h, w = x.shape
        weight = torch.matmul(mixture, self.weight).view(n * self.out_channels, c, self.kernel, self.kernel)
        bias = torch.matmul(mixture, self.bias).view(-1) if self.bias is not None else None
        out = F.conv2d(x.view(1, n * c, h, w), weight, bias, self.stride, (self.kernel - 1) // 2, groups=n)
        return out.view(n, self.out_channels, out.shape[-2], out.shape[-1])


@reference("condconv")
class CondConv(_MixedKernelConv):
    """CondConv2D (official TF condconv_layers.py) with EfficientNet-CondConv's sigmoid routing."""

    def __init__(self, channels: int, *, experts: int, out_channels, kernel: int, stride: int, bias: bool):
        super().__init__(channels, out_channels, experts, kernel, stride, bias)
        self.routing = nn.Linear(channels, experts)

    def forward(self, x):
        pooled = F.adaptive_avg_pool2d(x, 1).flatten(1)                        # (N, C)
        routing = attention_map(torch.sigmoid(self.routing(pooled)))           # (N, E)
        return self.mixed_conv(x, routing)


@reference("dynamic-conv")
class DynamicConv(_MixedKernelConv):
    """Dynamic convolution (Chen et al.): softmax(FC2(ReLU(FC1(GAP x))) / tau) over K kernels."""

    def __init__(self, channels: int, *, experts: int, out_channels, kernel: int, stride: int, reduction: int,
                 temperature: float, bias: bool):
        super().__init__(channels, out_channels, experts, kernel, stride, bias)
        self.fc1 = nn.Linear(channels, channels // reduction)
        self.fc2 = nn.Linear(channels // reduction, experts)
        self.temperature = temperature

    def forward(self, x):
        pooled = F.adaptive_avg_pool2d(x, 1).flatten(1)                        # (N, C)
        logits = self.fc2(F.relu(self.fc1(pooled), inplace=True)) / self.temperature
        attention = attention_map(torch.softmax(logits, dim=1))                # (N, K)
        return self.mixed_conv(x, attention)
