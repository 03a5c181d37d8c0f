"""Reference implementations of the spatial family (catalogue/families/spatial.py): CBAM and BAM
(Jongchan/attention-module, the authors' code) and cSE, sSE and scSE (ai-med/squeeze_and_excitation)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..trace.marks import attention_map
from .registry import reference


class CBAMChannelGate(nn.Module):
    """Shared Linear MLP (bias) on avg- and max-pooled vectors, summed, sigmoid, multiply."""

    def __init__(self, channels: int, *, r: int):
        super().__init__()
        self.mlp = nn.Sequential(nn.Flatten(), nn.Linear(channels, channels // r), nn.ReLU(),
                                 nn.Linear(channels // r, channels))

    def forward(self, x):
        size = (x.size(2), x.size(3))
        att = self.mlp(F.avg_pool2d(x, size, stride=size))
        att = att + self.mlp(F.max_pool2d(x, size, stride=size))
        scale = attention_map(torch.sigmoid(att)).unsqueeze(2).unsqueeze(3).expand_as(x)
        return x * scale


class CBAMSpatialGate(nn.Module):
    """cat(max over C, mean over C), k x k conv without bias, BatchNorm, sigmoid, multiply."""

    def __init__(self, kernel: int):
        super().__init__()
        self.conv = nn.Conv2d(2, 1, kernel, padding=(kernel - 1) // 2, bias=False)
        self.bn = nn.BatchNorm2d(1, eps=1e-5, momentum=0.01, affine=True)

    def forward(self, x):
        pooled = torch.cat((torch.max(x, 1)[0].unsqueeze(1), torch.mean(x, 1).unsqueeze(1)), dim=1)
        return x * attention_map(torch.sigmoid(self.bn(self.conv(pooled))))


@reference("cbam-channel")
class CBAMChannel(CBAMChannelGate):
    pass


@reference("cbam-spatial")
class CBAMSpatial(CBAMSpatialGate):
    def __init__(self, channels: int, *, kernel: int):
        super().__init__(kernel)


@reference("cbam")
class CBAM(nn.Module):
    """Channel gate, then spatial gate."""

    def __init__(self, channels: int, *, r: int, kernel: int):
        super().__init__()
        self.channel = CBAMChannelGate(channels, r=r)
        self.spatial = CBAMSpatialGate(kernel)

    def forward(self, x):
        return self.spatial(self.channel(x))


class BAMChannelGate(nn.Module):
    """Global avg pool, Linear (bias), BatchNorm1d, ReLU, Linear (bias), expanded over H x W."""

    def __init__(self, channels: int, r: int):
        super().__init__()
        self.gate_c = nn.Sequential(nn.Flatten(), nn.Linear(channels, channels // r),
                                    nn.BatchNorm1d(channels // r), nn.ReLU(),
                                    nn.Linear(channels // r, channels))

    def forward(self, x):
        size = (x.size(2), x.size(3))
        att = self.gate_c(F.avg_pool2d(x, size, stride=size))
        return att.unsqueeze(2).unsqueeze(3).expand_as(x)


class BAMSpatialGate(nn.Module):
    """1x1 reduce (BN, ReLU), two dilated 3x3 (BN, ReLU), 1x1 to one map, expanded over C."""

    def __init__(self, channels: int, r: int, dilation: int):
        super().__init__()
        hidden = channels // r
        layers = [nn.Conv2d(channels, hidden, 1), nn.BatchNorm2d(hidden), nn.ReLU()]
        for _ in range(2):
            layers += [nn.Conv2d(hidden, hidden, 3, padding=dilation, dilation=dilation),
                       nn.BatchNorm2d(hidden), nn.ReLU()]
        layers.append(nn.Conv2d(hidden, 1, 1))
        self.gate_s = nn.Sequential(*layers)

    def forward(self, x):
        return self.gate_s(x).expand_as(x)


def _bam_apply(x, logits):
    """F * (1 + sigmoid(M(F)))."""
    att = 1 + attention_map(torch.sigmoid(logits))
    return att * x


@reference("bam-channel")
class BAMChannel(nn.Module):
    def __init__(self, channels: int, *, r: int):
        super().__init__()
        self.channel_att = BAMChannelGate(channels, r)

    def forward(self, x):
        return _bam_apply(x, self.channel_att(x))


@reference("bam-spatial")
class BAMSpatial(nn.Module):
    def __init__(self, channels: int, *, r: int, dilation: int):
        super().__init__()
        self.spatial_att = BAMSpatialGate(channels, r, dilation)

    def forward(self, x):
        return _bam_apply(x, self.spatial_att(x))


@reference("bam")
class BAM(nn.Module):
    """att = 1 + sigmoid(channel o spatial); o is * in the official code, + in the paper."""

    def __init__(self, channels: int, *, r: int, dilation: int, combine: str):
        super().__init__()
        self.channel_att = BAMChannelGate(channels, r)
        self.spatial_att = BAMSpatialGate(channels, r, dilation)
        self.combine = combine

    def forward(self, x):
        channel, spatial = self.channel_att(x), self.spatial_att(x)
        logits = channel * spatial if self.combine == "mul" else channel + spatial
        return _bam_apply(x, logits)


# -- cSE, sSE, scSE ------------------------------------------------------------------------------

class ChannelSELayer(nn.Module):
    """Mean over H*W, Linear C -> C//r (bias), ReLU, Linear -> C (bias), sigmoid, multiply."""

    def __init__(self, channels: int, r: int):
        super().__init__()
        self.fc1 = nn.Linear(channels, channels // r)
        self.fc2 = nn.Linear(channels // r, channels)
        self.relu = nn.ReLU()

    def forward(self, x):
        n, c = x.shape[:2]
        z = x.view(n, c, -1).mean(dim=2)                                   # (N, C)
        s = attention_map(torch.sigmoid(self.fc2(self.relu(self.fc1(z)))))
        return torch.mul(x, s.view(n, c, 1, 1))


class SpatialSELayer(nn.Module):
    """1x1 conv C -> 1 (bias), sigmoid, multiply."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv = nn.Conv2d(channels, 1, 1)

    def forward(self, x):
        n, _, h, w = x.shape
        q = attention_map(torch.sigmoid(self.conv(x)))                    # (N, 1, H, W)
        return torch.mul(x, q.view(n, 1, h, w))


@reference("cse")
class ChannelSE(ChannelSELayer):
    def __init__(self, channels: int, *, r: int):
        super().__init__(channels, r)


@reference("sse")
class SpatialSE(SpatialSELayer):
    def __init__(self, channels: int):
        super().__init__(channels)


@reference("scse")
class ChannelSpatialSE(nn.Module):
    """max(cSE(x), sSE(x)) as in the official code, or cSE(x) + sSE(x) as in the paper."""

    def __init__(self, channels: int, *, r: int, combine: str):
        super().__init__()
        self.cse = ChannelSELayer(channels, r)
        self.sse = SpatialSELayer(channels)
        self.combine = combine

    def forward(self, x):
        channel, spatial = self.cse(x), self.sse(x)
        return torch.max(channel, spatial) if self.combine == "max" else channel + spatial
