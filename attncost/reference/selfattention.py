"""Reference implementations of Non-local (AlexHex7, paper-faithful) and CCNet (official PyTorch)."""

from __future__ import annotations

import torch
from torch import nn

from ..trace.marks import attention_map
from .registry import reference


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
