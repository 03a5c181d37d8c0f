"""Reference implementations of context-aggregation self-attention: DANet (PAM, CAM, dual head),
OCNet's base object-context block and CGNL.

Each follows its official code op for op (see the catalogue's ``families/context.py`` for the
papers and every deviation). InPlaceABNSync, a CUDA extension, is written as the pure-PyTorch
equivalent its own ABN class runs: batch norm, then the activation in place.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from ..trace.marks import attention_map
from .registry import reference
from .selfattention import QueryKeyValue


@reference("danet-pam")
class PositionAttention(QueryKeyValue):
    """DANet PAM_Module: S = softmax(B^T C) over positions, E = gamma * D S^T + A (Eq. 1-2)."""

    def __init__(self, channels: int, *, r: int):
        super().__init__(channels, r)

    def forward(self, x):
        n, c, h, w = x.shape
        query = self.query_conv(x).view(n, -1, h * w).permute(0, 2, 1)       # (N, HW, C/r)
        key = self.key_conv(x).view(n, -1, h * w)                            # (N, C/r, HW)
        attention = attention_map(torch.softmax(torch.bmm(query, key), -1))  # (N, HW, HW)
        value = self.value_conv(x).view(n, -1, h * w)                        # (N, C, HW)
        out = torch.bmm(value, attention.permute(0, 2, 1)).view(n, c, h, w)
        return self.gamma * out + x


@reference("danet-cam")
class ChannelAttention(nn.Module):
    """DANet CAM_Module: X = softmax(max(A A^T) - A A^T) over channels, E = beta * X A + A (Eq. 3-4)."""

    def __init__(self, channels: int):
        super().__init__()
        self.gamma = nn.Parameter(torch.zeros(1))

    def forward(self, x):
        n, c, h, w = x.shape
        query = x.view(n, c, -1)                                             # (N, C, HW)
        key = x.view(n, c, -1).permute(0, 2, 1)                              # (N, HW, C)
        energy = torch.bmm(query, key)                                       # (N, C, C)
        energy = torch.max(energy, -1, keepdim=True)[0].expand_as(energy) - energy
        attention = attention_map(torch.softmax(energy, -1))
        out = torch.bmm(attention, x.view(n, c, -1)).view(n, c, h, w)
        return self.gamma * out + x


def _conv_bn_relu(cin: int, cout: int, kernel: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, kernel, padding=kernel // 2, bias=False),
                         nn.BatchNorm2d(cout), nn.ReLU())


@reference("danet")
class DANetHead(nn.Module):
    """The attention part of DANetHead: two 3x3 conv-BN-ReLU branches into PAM and CAM, one
    3x3 conv-BN-ReLU after each, summed (the classifier 1x1 convs are left out)."""

    def __init__(self, channels: int, *, inter_reduction: int, r: int):
        super().__init__()
        inter = channels // inter_reduction
        self.conv5a = _conv_bn_relu(channels, inter, 3)
        self.conv5c = _conv_bn_relu(channels, inter, 3)
        self.sa = PositionAttention(inter, r=r)
        self.sc = ChannelAttention(inter)
        self.conv51 = _conv_bn_relu(inter, inter, 3)
        self.conv52 = _conv_bn_relu(inter, inter, 3)

    def forward(self, x):
        sa_conv = self.conv51(self.sa(self.conv5a(x)))
        sc_conv = self.conv52(self.sc(self.conv5c(x)))
        return sa_conv + sc_conv


class _ActivatedBatchNorm(nn.Module):
    """InPlaceABNSync(c) in eval mode: batch norm, then the activation in place."""

    def __init__(self, channels: int, activation: str):
        super().__init__()
        self.bn = nn.BatchNorm2d(channels)
        self.activation = activation

    def forward(self, x):
        x = self.bn(x)
        if self.activation == "leaky_relu":
            return F.leaky_relu(x, 0.01, inplace=True)
        return F.relu(x, inplace=True)


class _ObjectContextAttention(nn.Module):
    """OCNet _SelfAttentionBlock: one shared key/query transform, scaled dot product, W conv."""

    def __init__(self, channels: int, key_channels: int, value_channels: int, scale: int, activation: str):
        super().__init__()
        self.scale = scale
        self.key_channels = key_channels
        self.value_channels = value_channels
        self.f_key = nn.Sequential(nn.Conv2d(channels, key_channels, 1),
                                   _ActivatedBatchNorm(key_channels, activation))
        self.f_query = self.f_key
        self.f_value = nn.Conv2d(channels, value_channels, 1)
        self.W = nn.Conv2d(value_channels, channels, 1)

    def forward(self, x):
        n, _, h, w = x.shape
        if self.scale > 1:
            x = F.max_pool2d(x, self.scale)
        value = self.f_value(x).view(n, self.value_channels, -1).permute(0, 2, 1)   # (N, M, Cv)
        query = self.f_query(x).view(n, self.key_channels, -1).permute(0, 2, 1)     # (N, M, Ck)
        key = self.f_key(x).view(n, self.key_channels, -1)                          # (N, Ck, M)
        similarity = (self.key_channels ** -0.5) * torch.matmul(query, key)         # (N, M, M)
        similarity = attention_map(torch.softmax(similarity, -1))
        context = torch.matmul(similarity, value).permute(0, 2, 1).contiguous()     # (N, Cv, M)
        context = self.W(context.view(n, self.value_channels, *x.shape[2:]))
        if self.scale > 1:
            context = F.interpolate(context, size=(h, w), mode="bilinear", align_corners=True)
        return context


@reference("ocnet")
class BaseObjectContext(nn.Module):
    """OCNet BaseOC_Module with one stage: [context, x] fused by 1x1 conv + ABN (dropout: eval)."""

    def __init__(self, channels: int, *, key_channels, value_channels, scale: int, activation: str):
        super().__init__()
        key_channels = key_channels if key_channels is not None else channels // 2
        value_channels = value_channels if value_channels is not None else channels // 2
        self.stage = _ObjectContextAttention(channels, key_channels, value_channels, scale, activation)
        self.fuse = nn.Sequential(nn.Conv2d(2 * channels, channels, 1), _ActivatedBatchNorm(channels, activation))

    def forward(self, x):
        return self.fuse(torch.cat([self.stage(x), x], 1))


@reference("cgnl")
class CompactGeneralizedNonLocal(nn.Module):
    """SpatialCGNL (dot kernel) / SpatialCGNLx (Gaussian RBF by Taylor expansion), grouped."""

    gamma = 1e-4                                           # the official RBF bandwidth

    def __init__(self, channels: int, *, inter_channels, groups: int, kernel: str, order: int, use_scale: bool):
        super().__init__()
        planes = inter_channels if inter_channels is not None else channels // 2
        self.groups, self.kernel_name, self.use_scale = groups, kernel, use_scale
        self.t = nn.Conv2d(channels, planes, 1, bias=False)
        self.p = nn.Conv2d(channels, planes, 1, bias=False)
        self.g = nn.Conv2d(channels, planes, 1, bias=False)
        self.z = nn.Conv2d(planes, channels, 1, groups=groups, bias=False)
        self.gn = nn.GroupNorm(groups, channels)
        # alpha_k = sqrt((2 gamma)^k / k! * exp(-2 gamma)), k = 0..P: input-independent constants
        self.alphas = [math.sqrt((2 * self.gamma) ** k / math.factorial(k) * math.exp(-2 * self.gamma))
                       for k in range(order + 1)]

    def kernel(self, t, p, g):
        n, c, h, w = t.shape
        t = t.view(n, 1, c * h * w)
        p = p.view(n, 1, c * h * w)
        g = g.view(n, c * h * w, 1)
        if self.kernel_name == "gaussian":
            t_taylor, p_taylor = [], []
            for k, alpha in enumerate(self.alphas):
                t_taylor.append(t.pow(k).mul(alpha))
                p_taylor.append(p.pow(k).mul(alpha))
            t, p = torch.cat(t_taylor, 1), torch.cat(p_taylor, 1)                    # (N, P+1, C'HW)
        att = torch.bmm(p, g)                                                         # (N, 1 or P+1, 1)
        if self.use_scale:
            att = att.div((c * h * w) ** 0.5)
        att = attention_map(att.view(n, 1, -1))                                       # (N, 1, 1 or P+1)
        return torch.bmm(att, t).view(n, c, h, w)

    def forward(self, x):
        t, p, g = self.t(x), self.p(x), self.g(x)
        if self.groups > 1:
            size = t.shape[1] // self.groups
            ts, ps, gs = (torch.split(v, size, 1) for v in (t, p, g))
            y = torch.cat([self.kernel(ts[i], ps[i], gs[i]) for i in range(self.groups)], 1)
        else:
            y = self.kernel(t, p, g)
        return self.gn(self.z(y)) + x
