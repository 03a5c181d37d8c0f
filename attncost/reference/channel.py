"""Reference implementations of the channel family (catalogue/families/channel.py).

Each class names the code it follows in its catalogue entry's ``paper.follows``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..catalogue.common import eca_kernel
from ..trace.marks import attention_map
from .registry import reference


def _gate(name: str):
    return {"sigmoid": torch.sigmoid, "hardsigmoid": F.hardsigmoid}[name]


@reference("se")
class SqueezeExcite(nn.Module):
    """SE block (Hu et al.): GAP, 1x1 conv C -> C//r (bias), ReLU, 1x1 conv -> C (bias), sigmoid."""

    def __init__(self, channels: int, *, r: int):
        super().__init__()
        self.fc1 = nn.Conv2d(channels, channels // r, 1)
        self.fc2 = nn.Conv2d(channels // r, channels, 1)

    def forward(self, x):
        s = F.adaptive_avg_pool2d(x, 1)                   # (N, C, 1, 1)
        s = self.fc2(F.relu(self.fc1(s), inplace=True))
        return x * attention_map(torch.sigmoid(s))


@reference("se-var1")
class SEVar1(nn.Module):
    """sigmoid(GAP(x)) gate, no parameters."""

    def __init__(self, channels: int):
        super().__init__()

    def forward(self, x):
        return x * attention_map(torch.sigmoid(F.adaptive_avg_pool2d(x, 1)))


@reference("se-var2")
class SEVar2(nn.Module):
    """sigmoid(w * GAP(x)): one weight per channel (a depthwise 1x1 conv without bias)."""

    def __init__(self, channels: int):
        super().__init__()
        self.w = nn.Conv2d(channels, channels, 1, groups=channels, bias=False)

    def forward(self, x):
        return x * attention_map(torch.sigmoid(self.w(F.adaptive_avg_pool2d(x, 1))))


@reference("se-var3")
@reference("ese")
class SEVar3(nn.Module):
    """gate(W GAP(x)) with a full C x C 1x1 conv; bias + hardsigmoid is eSE."""

    def __init__(self, channels: int, *, bias: bool, gate: str):
        super().__init__()
        self.w = nn.Conv2d(channels, channels, 1, bias=bias)
        self.gate = _gate(gate)

    def forward(self, x):
        return x * attention_map(self.gate(self.w(F.adaptive_avg_pool2d(x, 1))))


@reference("eca")
class ECA(nn.Module):
    """ECA (official eca_module.py): GAP, Conv1d(1, 1, k) across channels without bias, sigmoid."""

    def __init__(self, channels: int, *, k, gamma: int, b: int):
        super().__init__()
        k = k if k is not None else eca_kernel(channels, gamma, b)
        self.conv = nn.Conv1d(1, 1, k, padding=(k - 1) // 2, bias=False)

    def forward(self, x):
        y = F.adaptive_avg_pool2d(x, 1)                                   # (N, C, 1, 1)
        y = self.conv(y.squeeze(-1).transpose(-1, -2))                    # (N, 1, C)
        y = y.transpose(-1, -2).unsqueeze(-1)                             # (N, C, 1, 1)
        y = attention_map(torch.sigmoid(y))
        return x * y.expand_as(x)


class _GatherExcite(nn.Module):
    """Gather (pool or depthwise convs), optional excite MLP, nearest upsampling, sigmoid gate."""

    def __init__(self, channels: int, extent: str, mode: str, spatial_size=None, r=None):
        super().__init__()
        self.extent = extent
        self.mode = mode
        self.gather = nn.ModuleList()
        if mode != "pool":
            relu_after = mode == "plus"
            if extent == "global":
                h, w = spatial_size
                self.gather.extend([nn.Conv2d(channels, channels, (h, w), groups=channels, bias=False),
                                    nn.BatchNorm2d(channels)])
                if relu_after:
                    self.gather.append(nn.ReLU(inplace=True))
            else:
                steps = int(math.log2(int(extent)))
                for i in range(steps):
                    self.gather.extend([nn.Conv2d(channels, channels, 3, 2, 1, groups=channels, bias=False),
                                        nn.BatchNorm2d(channels)])
                    if i < steps - 1 or relu_after:
                        self.gather.append(nn.ReLU(inplace=True))
        self.mlp = None
        if mode == "plus":
            self.mlp = nn.Sequential(nn.Conv2d(channels, channels // r, 1), nn.ReLU(inplace=True),
                                     nn.Conv2d(channels // r, channels, 1))

    def forward(self, x):
        if self.mode == "pool":
            if self.extent == "global":
                y = F.adaptive_avg_pool2d(x, 1)
            else:
                e = int(self.extent)
                y = F.avg_pool2d(x, 2 * e - 1, e, e - 1)
        else:
            y = x
            for layer in self.gather:
                y = layer(y)
        if self.mlp is not None:
            y = self.mlp(y)
        if self.extent != "global":
            y = F.interpolate(y, size=x.shape[-2:], mode="nearest")
        return x * attention_map(torch.sigmoid(y))


@reference("ge-theta-minus")
class GEThetaMinus(_GatherExcite):
    def __init__(self, channels: int, *, extent: str):
        super().__init__(channels, extent, "pool")


@reference("ge-theta")
class GETheta(_GatherExcite):
    needs_spatial_size = True

    def __init__(self, channels: int, *, extent: str, spatial_size):
        super().__init__(channels, extent, "conv", spatial_size)


@reference("ge-theta-plus")
class GEThetaPlus(_GatherExcite):
    needs_spatial_size = True

    def __init__(self, channels: int, *, extent: str, r: int, spatial_size):
        super().__init__(channels, extent, "plus", spatial_size, r)


class _ContextPool(nn.Module):
    """GC/SNL context modelling: softmax(conv_mask(x)) over HW, weighted sum of x."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv_mask = nn.Conv2d(channels, 1, 1)

    def forward(self, x):
        n, c, h, w = x.shape
        mask = self.conv_mask(x).view(n, 1, h * w)
        mask = attention_map(torch.softmax(mask, dim=2))
        context = torch.bmm(x.view(n, c, h * w), mask.view(n, h * w, 1))   # (N, C, 1)
        return context.view(n, c, 1, 1)


@reference("gc")
class GlobalContext(nn.Module):
    """GC block (mmcv ContextBlock, channel_add): context, conv, LayerNorm, ReLU, conv, add."""

    def __init__(self, channels: int, *, r: int):
        super().__init__()
        planes = channels // r
        self.context = _ContextPool(channels)
        self.transform = nn.Sequential(nn.Conv2d(channels, planes, 1), nn.LayerNorm([planes, 1, 1]),
                                       nn.ReLU(inplace=True), nn.Conv2d(planes, channels, 1))

    def forward(self, x):
        return x + self.transform(self.context(x))


@reference("snl")
class SimplifiedNonLocal(nn.Module):
    """Simplified non-local (GCNet Eq. 3): context, one 1x1 conv W_v, add."""

    def __init__(self, channels: int):
        super().__init__()
        self.context = _ContextPool(channels)
        self.w_v = nn.Conv2d(channels, channels, 1)

    def forward(self, x):
        return x + self.w_v(self.context(x))
