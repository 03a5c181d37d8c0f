"""Reference implementations of the non-local-style self-attention entries
(catalogue/families/self_attention/non_local.py): Non-local (AlexHex7, paper-faithful), CCNet (official
PyTorch), DANet (PAM, CAM, dual head), OCNet's base object-context block and CGNL.

Each follows its official code op for op (see the catalogue file for the papers and every
deviation). InPlaceABNSync, a CUDA extension, is written as the pure-PyTorch equivalent its own ABN
class runs: batch norm, then the activation in place.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from ...trace.marks import attention_map
from ..registry import reference


# -- Non-local, CCNet ----------------------------------------------------------------------------

@reference("nonlocal")
class NonLocal2d(nn.Module):
    """Non-local block with the four pairwise functions of Wang et al. (Eq. 2-5)."""

    def __init__(self, channels: int, *, mode: str, inter_channels, sub_sample: bool, bn: bool):
        super().__init__()
        self.mode = mode
        self.inter = inter_channels if inter_channels is not None else channels // 2
        ci = self.inter
        pool = [nn.MaxPool2d(2)] if sub_sample else []
        self.g = nn.Sequential(nn.Conv2d(channels, ci, 1), *pool)
        if mode == "gaussian":
            self.theta = None
            self.phi = nn.Sequential(*pool)
        else:
            self.theta = nn.Conv2d(channels, ci, 1)
            self.phi = nn.Sequential(nn.Conv2d(channels, ci, 1), *pool)
        if mode == "concatenation":
            self.concat_project = nn.Sequential(nn.Conv2d(2 * ci, 1, 1, bias=False), nn.ReLU(inplace=True))
        self.W = nn.Sequential(nn.Conv2d(ci, channels, 1), *([nn.BatchNorm2d(channels)] if bn else []))

    def forward(self, x):
        n, c, h, w = x.shape
        g_x = self.g(x).flatten(2).permute(0, 2, 1)                       # (N, M, C')
        if self.mode == "gaussian":
            theta = x.view(n, c, -1).permute(0, 2, 1)                      # (N, HW, C)
            phi = self.phi(x).flatten(2)                                   # (N, C, M)
            f = torch.matmul(theta, phi)
        elif self.mode in ("embedded", "dot"):
            theta = self.theta(x).view(n, self.inter, -1).permute(0, 2, 1)
            phi = self.phi(x).flatten(2)
            f = torch.matmul(theta, phi)                                   # (N, HW, M)
        else:
            theta = self.theta(x).view(n, self.inter, -1, 1)               # (N, C', HW, 1)
            phi = self.phi(x).view(n, self.inter, 1, -1)                   # (N, C', 1, M)
            theta = theta.repeat(1, 1, 1, phi.size(3))
            phi = phi.repeat(1, 1, theta.size(2), 1)
            pairs = attention_map(torch.cat([theta, phi], dim=1))          # (N, 2C', HW, M)
            f = self.concat_project(pairs).view(n, h * w, -1)
        if self.mode in ("embedded", "gaussian"):
            f = torch.softmax(f, dim=-1)
        else:
            f = f / f.size(-1)
        y = torch.matmul(attention_map(f), g_x)                            # (N, HW, C')
        y = y.permute(0, 2, 1).contiguous().view(n, self.inter, h, w)
        return self.W(y) + x


class QueryKeyValue(nn.Module):
    """The projections CCNet and DANet's PAM share: 1x1 convs (bias) C -> C//r for query and key,
    C -> C for value, and a zero-initialised residual scale gamma."""

    def __init__(self, channels: int, r: int):
        super().__init__()
        self.query_conv = nn.Conv2d(channels, channels // r, 1)
        self.key_conv = nn.Conv2d(channels, channels // r, 1)
        self.value_conv = nn.Conv2d(channels, channels, 1)
        self.gamma = nn.Parameter(torch.zeros(1))


class CrissCrossAttention(QueryKeyValue):
    """One criss-cross pass: row and column affinities, softmax over H + W, gamma-scaled residual."""

    def forward(self, x):
        n, _, h, w = x.shape

        def columns(t):          # (N, ch, H, W) -> (N*W, ch, H)
            return t.permute(0, 3, 1, 2).contiguous().view(n * w, -1, h)

        def rows(t):             # (N, ch, H, W) -> (N*H, ch, W)
            return t.permute(0, 2, 1, 3).contiguous().view(n * h, -1, w)

        q = self.query_conv(x)
        q_h, q_w = columns(q).permute(0, 2, 1), rows(q).permute(0, 2, 1)
        k = self.key_conv(x)
        k_h, k_w = columns(k), rows(k)
        v = self.value_conv(x)
        v_h, v_w = columns(v), rows(v)
        diagonal = torch.diag(x.new_full((h,), float("-inf")))                       # self counted once
        energy_h = (torch.bmm(q_h, k_h) + diagonal).view(n, w, h, h).permute(0, 2, 1, 3)
        energy_w = torch.bmm(q_w, k_w).view(n, h, w, w)
        attention = attention_map(torch.softmax(torch.cat([energy_h, energy_w], 3), 3))  # (N, H, W, H+W)
        att_h = attention[:, :, :, :h].permute(0, 2, 1, 3).contiguous().view(n * w, h, h)
        att_w = attention[:, :, :, h:].contiguous().view(n * h, w, w)
        out_h = torch.bmm(v_h, att_h.permute(0, 2, 1)).view(n, w, -1, h).permute(0, 2, 3, 1)
        out_w = torch.bmm(v_w, att_w.permute(0, 2, 1)).view(n, h, -1, w).permute(0, 2, 1, 3)
        return self.gamma * (out_h + out_w) + x


@reference("ccnet")
class RecurrentCrissCross(nn.Module):
    """Criss-cross attention applied R times with shared weights (RCCA)."""

    def __init__(self, channels: int, *, r: int, recurrence: int):
        super().__init__()
        self.cca = CrissCrossAttention(channels, r)
        self.recurrence = recurrence

    def forward(self, x):
        for _ in range(self.recurrence):
            x = self.cca(x)
        return x


# -- DANet, OCNet, CGNL --------------------------------------------------------------------------

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
