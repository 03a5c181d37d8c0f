"""Reference implementations of the spatial family (catalogue/families/spatial.py): CBAM and BAM
(Jongchan/attention-module, the authors' code), cSE, sSE and scSE (ai-med/squeeze_and_excitation),
coordinate attention (houqb/CoordAttention), SimAM (ZjjConan/SimAM) and triplet attention
(landskape-ai/triplet-attention)."""

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


# -- coordinate attention, SimAM, triplet attention ----------------------------------------------

class HSigmoid(nn.Module):
    """coordatt.py's h_sigmoid: ReLU6(x + 3) / 6, the ReLU6 in place on the new x + 3."""

    def __init__(self, inplace: bool = True):
        super().__init__()
        self.relu = nn.ReLU6(inplace=inplace)

    def forward(self, x):
        return self.relu(x + 3) / 6


class HSwish(nn.Module):
    """coordatt.py's h_swish: x * h_sigmoid(x) (not F.hardswish: four ops, as the code writes it)."""

    def __init__(self, inplace: bool = True):
        super().__init__()
        self.sigmoid = HSigmoid(inplace=inplace)

    def forward(self, x):
        return x * self.sigmoid(x)


@reference("coord-attention")
class CoordAttention(nn.Module):
    """CoordAtt (houqb/CoordAttention coordatt.py) with oup = inp = C and mip = max(8, C // r)."""

    def __init__(self, channels: int, *, r: int):
        super().__init__()
        self.pool_h = nn.AdaptiveAvgPool2d((None, 1))
        self.pool_w = nn.AdaptiveAvgPool2d((1, None))
        mip = max(8, channels // r)
        self.conv1 = nn.Conv2d(channels, mip, kernel_size=1, stride=1, padding=0)
        self.bn1 = nn.BatchNorm2d(mip)
        self.act = HSwish()
        self.conv_h = nn.Conv2d(mip, channels, kernel_size=1, stride=1, padding=0)
        self.conv_w = nn.Conv2d(mip, channels, kernel_size=1, stride=1, padding=0)

    def forward(self, x):
        identity = x
        n, c, h, w = x.size()
        x_h = self.pool_h(x)                                      # (N, C, H, 1)
        x_w = self.pool_w(x).permute(0, 1, 3, 2)                  # (N, C, 1, W) -> (N, C, W, 1)
        y = torch.cat([x_h, x_w], dim=2)                          # (N, C, H + W, 1)
        y = self.act(self.bn1(self.conv1(y)))
        x_h, x_w = torch.split(y, [h, w], dim=2)
        x_w = x_w.permute(0, 1, 3, 2)                             # (N, mip, 1, W)
        a_h = attention_map(self.conv_h(x_h).sigmoid())           # (N, C, H, 1)
        a_w = attention_map(self.conv_w(x_w).sigmoid())           # (N, C, 1, W)
        return identity * a_w * a_h


@reference("simam")
class SimAM(nn.Module):
    """simam_module (ZjjConan/SimAM): x * sigmoid(d / (4 (sum(d) / n + lambda)) + 0.5), d = (x - mean)^2."""

    def __init__(self, channels: int, e_lambda: float = 1e-4):
        super().__init__()
        self.activaton = nn.Sigmoid()            # (sic) the official attribute name
        self.e_lambda = e_lambda

    def forward(self, x):
        b, c, h, w = x.size()
        n = w * h - 1
        x_minus_mu_square = (x - x.mean(dim=[2, 3], keepdim=True)).pow(2)
        y = x_minus_mu_square / (4 * (x_minus_mu_square.sum(dim=[2, 3], keepdim=True) / n + self.e_lambda)) + 0.5
        return x * attention_map(self.activaton(y))


class BasicConv(nn.Module):
    """triplet_attention.py's BasicConv: conv (no bias), BatchNorm2d(eps 1e-5, momentum 0.01), optional ReLU."""

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


class ZPool(nn.Module):
    """cat(max over dim 1, mean over dim 1)."""

    def forward(self, x):
        return torch.cat((torch.max(x, 1)[0].unsqueeze(1), torch.mean(x, 1).unsqueeze(1)), dim=1)


class AttentionGate(nn.Module):
    """ZPool, BasicConv 2 -> 1 (k x k, relu=False), sigmoid_ in place, x * scale."""

    def __init__(self, kernel_size: int = 7):
        super().__init__()
        self.compress = ZPool()
        self.conv = BasicConv(2, 1, kernel_size, stride=1, padding=(kernel_size - 1) // 2, relu=False)

    def forward(self, x):
        x_out = self.conv(self.compress(x))
        scale = attention_map(torch.sigmoid_(x_out))
        return x * scale


@reference("triplet-attention")
class TripletAttention(nn.Module):
    """TripletAttention (landskape-ai/triplet-attention, root triplet_attention.py); the gates' kernel size,
    7 in the code, is a parameter."""

    def __init__(self, channels: int, *, kernel: int, no_spatial: bool):
        super().__init__()
        self.cw = AttentionGate(kernel)
        self.hc = AttentionGate(kernel)
        self.no_spatial = no_spatial
        if not no_spatial:
            self.hw = AttentionGate(kernel)

    def forward(self, x):
        x_perm1 = x.permute(0, 2, 1, 3).contiguous()              # (N, H, C, W)
        x_out1 = self.cw(x_perm1)
        x_out11 = x_out1.permute(0, 2, 1, 3).contiguous()
        x_perm2 = x.permute(0, 3, 2, 1).contiguous()              # (N, W, H, C)
        x_out2 = self.hc(x_perm2)
        x_out21 = x_out2.permute(0, 3, 2, 1).contiguous()
        if not self.no_spatial:
            x_out = self.hw(x)
            return 1 / 3 * (x_out + x_out11 + x_out21)
        return 1 / 2 * (x_out11 + x_out21)
