"""The official pure-PyTorch criss-cross attention, ``CrissCrossAttention`` from speedinghzl/CCNet,
cc_attention/functions.py (itself borrowed from Serge-weihao/CCNet-Pure-Pytorch), and the recurrence
of RCCAModule (networks/ccnet.py: the same module applied ``recurrence`` times, weights shared).

Rewritten (not copied) from speedinghzl/CCNet at commit 1fae6c67229c3863232494762b0afd9a8d7ff309 (master
after the pure-python merge), licence MIT (Copyright (c) 2018 Zilong Huang). Kept op for op: the three
1x1 convs (C -> C/8, C/8, C, with bias), the six permute/contiguous/view reshapes into column
(B*W, ., H) and row (B*H, ., W) batches, the two bmm energies, the -inf diagonal (INF) added to the
column energy, view/permute to (B, H, W, H) and (B, H, W, W), cat on dim 3 and Softmax(dim=3), the
slices, permute/contiguous/view, the two bmm aggregations with permuted attention, the views/permutes
back, and gamma * (out_H + out_W) + x.

One change: INF builds its tensor with ``.cuda()``; here it is made on the input's device, with the
same ops (scalar tensor, repeat, diag, negation, unsqueeze, repeat).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import Softmax


def INF(B, H, W, device=None):  # noqa: N802 (the original's name)
    return -torch.diag(torch.tensor(float("inf"), device=device).repeat(H), 0).unsqueeze(0).repeat(B * W, 1, 1)


class CrissCrossAttention(nn.Module):
    def __init__(self, in_dim):
        super().__init__()
        self.query_conv = nn.Conv2d(in_channels=in_dim, out_channels=in_dim // 8, kernel_size=1)
        self.key_conv = nn.Conv2d(in_channels=in_dim, out_channels=in_dim // 8, kernel_size=1)
        self.value_conv = nn.Conv2d(in_channels=in_dim, out_channels=in_dim, kernel_size=1)
        self.softmax = Softmax(dim=3)
        self.INF = INF
        self.gamma = nn.Parameter(torch.zeros(1))

    def forward(self, x):
        m_batchsize, _, height, width = x.size()
        proj_query = self.query_conv(x)
        proj_query_H = proj_query.permute(0, 3, 1, 2).contiguous().view(m_batchsize * width, -1, height).permute(0, 2, 1)
        proj_query_W = proj_query.permute(0, 2, 1, 3).contiguous().view(m_batchsize * height, -1, width).permute(0, 2, 1)
        proj_key = self.key_conv(x)
        proj_key_H = proj_key.permute(0, 3, 1, 2).contiguous().view(m_batchsize * width, -1, height)
        proj_key_W = proj_key.permute(0, 2, 1, 3).contiguous().view(m_batchsize * height, -1, width)
        proj_value = self.value_conv(x)
        proj_value_H = proj_value.permute(0, 3, 1, 2).contiguous().view(m_batchsize * width, -1, height)
        proj_value_W = proj_value.permute(0, 2, 1, 3).contiguous().view(m_batchsize * height, -1, width)
        energy_H = (torch.bmm(proj_query_H, proj_key_H) + self.INF(m_batchsize, height, width, x.device)).view(
            m_batchsize, width, height, height).permute(0, 2, 1, 3)
        energy_W = torch.bmm(proj_query_W, proj_key_W).view(m_batchsize, height, width, width)
        concate = self.softmax(torch.cat([energy_H, energy_W], 3))
        att_H = concate[:, :, :, 0:height].permute(0, 2, 1, 3).contiguous().view(m_batchsize * width, height, height)
        att_W = concate[:, :, :, height:height + width].contiguous().view(m_batchsize * height, width, width)
        out_H = torch.bmm(proj_value_H, att_H.permute(0, 2, 1)).view(m_batchsize, width, -1, height).permute(0, 2, 3, 1)
        out_W = torch.bmm(proj_value_W, att_W.permute(0, 2, 1)).view(m_batchsize, height, -1, width).permute(0, 2, 1, 3)
        return self.gamma * (out_H + out_W) + x


class Recurrent(nn.Module):
    """RCCAModule's loop: ``for i in range(recurrence): output = self.cca(output)``."""

    def __init__(self, in_dim, recurrence=2):
        super().__init__()
        self.cca = CrissCrossAttention(in_dim)
        self.recurrence = recurrence

    def forward(self, x):
        for _ in range(self.recurrence):
            x = self.cca(x)
        return x
