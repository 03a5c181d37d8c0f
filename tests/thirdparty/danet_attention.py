"""The official DANet position and channel attention, ``PAM_Module`` and ``CAM_Module`` from
junfu1115/DANet, encoding/nn/da_att.py, and ``DANetHead`` from encoding/models/sseg/danet.py.

Rewritten (not copied) from junfu1115/DANet at commit b0a0fa008148f102321cdaa7ca38fb0ddd0239d1, licence
MIT (Copyright (c) 2017- Hang Zhang). Kept: PAM's 1x1 query/key (C -> C/8) and value (C -> C) convs
with bias, view to (B, ., HW), permute, bmm energy, Softmax(dim=-1), bmm of value with the permuted
attention, view, gamma * out + x; CAM's views of x, bmm energy (B, C, C), torch.max(energy, -1,
keepdim)[0].expand_as(energy) - energy, softmax, bmm with the values, view, gamma * out + x; the head's
conv5a/conv5c (3x3, C -> C/4, no bias, norm, ReLU), PAM and CAM, conv51/conv52 (3x3, norm, ReLU),
conv6/conv7/conv8 (Dropout2d(0.1), 1x1 conv with bias) on the two branches and their sum. The head's
norm_layer is the caller's (encoding's SyncBatchNorm in training); nn.BatchNorm2d here.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import Conv2d, Parameter, Softmax


class PAM_Module(nn.Module):  # noqa: N801 (the original's name)
    def __init__(self, in_dim):
        super().__init__()
        self.chanel_in = in_dim
        self.query_conv = Conv2d(in_channels=in_dim, out_channels=in_dim // 8, kernel_size=1)
        self.key_conv = Conv2d(in_channels=in_dim, out_channels=in_dim // 8, kernel_size=1)
        self.value_conv = Conv2d(in_channels=in_dim, out_channels=in_dim, kernel_size=1)
        self.gamma = Parameter(torch.zeros(1))
        self.softmax = Softmax(dim=-1)

    def forward(self, x):
        m_batchsize, C, height, width = x.size()
        proj_query = self.query_conv(x).view(m_batchsize, -1, width * height).permute(0, 2, 1)
        proj_key = self.key_conv(x).view(m_batchsize, -1, width * height)
        energy = torch.bmm(proj_query, proj_key)
        attention = self.softmax(energy)
        proj_value = self.value_conv(x).view(m_batchsize, -1, width * height)
        out = torch.bmm(proj_value, attention.permute(0, 2, 1))
        out = out.view(m_batchsize, C, height, width)
        return self.gamma * out + x


class CAM_Module(nn.Module):  # noqa: N801 (the original's name)
    def __init__(self, in_dim):
        super().__init__()
        self.chanel_in = in_dim
        self.gamma = Parameter(torch.zeros(1))
        self.softmax = Softmax(dim=-1)

    def forward(self, x):
        m_batchsize, C, height, width = x.size()
        proj_query = x.view(m_batchsize, C, -1)
        proj_key = x.view(m_batchsize, C, -1).permute(0, 2, 1)
        energy = torch.bmm(proj_query, proj_key)
        energy_new = torch.max(energy, -1, keepdim=True)[0].expand_as(energy) - energy
        attention = self.softmax(energy_new)
        proj_value = x.view(m_batchsize, C, -1)
        out = torch.bmm(attention, proj_value)
        out = out.view(m_batchsize, C, height, width)
        return self.gamma * out + x


class DANetHead(nn.Module):
    def __init__(self, in_channels, out_channels, norm_layer=nn.BatchNorm2d):
        super().__init__()
        inter = in_channels // 4

        def conv_norm_relu(cin):
            return nn.Sequential(nn.Conv2d(cin, inter, 3, padding=1, bias=False), norm_layer(inter), nn.ReLU())

        self.conv5a = conv_norm_relu(in_channels)
        self.conv5c = conv_norm_relu(in_channels)
        self.sa = PAM_Module(inter)
        self.sc = CAM_Module(inter)
        self.conv51 = conv_norm_relu(inter)
        self.conv52 = conv_norm_relu(inter)
        self.conv6 = nn.Sequential(nn.Dropout2d(0.1, False), nn.Conv2d(inter, out_channels, 1))
        self.conv7 = nn.Sequential(nn.Dropout2d(0.1, False), nn.Conv2d(inter, out_channels, 1))
        self.conv8 = nn.Sequential(nn.Dropout2d(0.1, False), nn.Conv2d(inter, out_channels, 1))

    def forward(self, x):
        feat1 = self.conv5a(x)
        sa_feat = self.sa(feat1)
        sa_conv = self.conv51(sa_feat)
        sa_output = self.conv6(sa_conv)
        feat2 = self.conv5c(x)
        sc_feat = self.sc(feat2)
        sc_conv = self.conv52(sc_feat)
        sc_output = self.conv7(sc_conv)
        feat_sum = sa_conv + sc_conv
        sasc_output = self.conv8(feat_sum)
        return tuple([sasc_output, sa_output, sc_output])
