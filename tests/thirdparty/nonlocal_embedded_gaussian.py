"""The embedded-Gaussian non-local block, ``NONLocalBlock2D`` from AlexHex7/Non-local_pytorch,
lib/non_local_embedded_gaussian.py.

Rewritten (not copied) from AlexHex7/Non-local_pytorch at commit ec15789af4533448169f3dc36abe542badd34221,
licence Apache-2.0. Kept: g, theta, phi as 1x1 convs with bias to inter_channels (in_channels // 2,
at least 1); with sub_sample, g and phi each followed by MaxPool2d(2, 2); view (B, Ci, -1) and
permute; torch.matmul(theta, phi), F.softmax(dim=-1), torch.matmul with g; permute, contiguous, view
to (B, Ci, H, W); W = 1x1 conv with bias + BatchNorm2d (bn_layer) or a 1x1 conv alone; z = W_y + x.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class _NonLocalBlockND(nn.Module):
    def __init__(self, in_channels, inter_channels=None, dimension=3, sub_sample=True, bn_layer=True):
        super().__init__()
        assert dimension in [1, 2, 3]
        self.dimension = dimension
        self.sub_sample = sub_sample
        self.in_channels = in_channels
        self.inter_channels = inter_channels
        if self.inter_channels is None:
            self.inter_channels = max(in_channels // 2, 1)
        conv_nd, max_pool_layer, bn = {
            3: (nn.Conv3d, nn.MaxPool3d(kernel_size=(1, 2, 2)), nn.BatchNorm3d),
            2: (nn.Conv2d, nn.MaxPool2d(kernel_size=(2, 2)), nn.BatchNorm2d),
            1: (nn.Conv1d, nn.MaxPool1d(kernel_size=2), nn.BatchNorm1d)}[dimension]
        self.g = conv_nd(self.in_channels, self.inter_channels, kernel_size=1, stride=1, padding=0)
        if bn_layer:
            self.W = nn.Sequential(conv_nd(self.inter_channels, self.in_channels, kernel_size=1, stride=1, padding=0),
                                   bn(self.in_channels))
            nn.init.constant_(self.W[1].weight, 0)
            nn.init.constant_(self.W[1].bias, 0)
        else:
            self.W = conv_nd(self.inter_channels, self.in_channels, kernel_size=1, stride=1, padding=0)
            nn.init.constant_(self.W.weight, 0)
            nn.init.constant_(self.W.bias, 0)
        self.theta = conv_nd(self.in_channels, self.inter_channels, kernel_size=1, stride=1, padding=0)
        self.phi = conv_nd(self.in_channels, self.inter_channels, kernel_size=1, stride=1, padding=0)
        if sub_sample:
            self.g = nn.Sequential(self.g, max_pool_layer)
            self.phi = nn.Sequential(self.phi, max_pool_layer)

    def forward(self, x, return_nl_map=False):
        batch_size = x.size(0)
        g_x = self.g(x).view(batch_size, self.inter_channels, -1).permute(0, 2, 1)
        theta_x = self.theta(x).view(batch_size, self.inter_channels, -1).permute(0, 2, 1)
        phi_x = self.phi(x).view(batch_size, self.inter_channels, -1)
        f = torch.matmul(theta_x, phi_x)
        f_div_C = F.softmax(f, dim=-1)
        y = torch.matmul(f_div_C, g_x)
        y = y.permute(0, 2, 1).contiguous()
        y = y.view(batch_size, self.inter_channels, *x.size()[2:])
        W_y = self.W(y)
        z = W_y + x
        if return_nl_map:
            return z, f_div_C
        return z


class NONLocalBlock2D(_NonLocalBlockND):
    def __init__(self, in_channels, inter_channels=None, sub_sample=True, bn_layer=True):
        super().__init__(in_channels, inter_channels=inter_channels, dimension=2, sub_sample=sub_sample,
                         bn_layer=bn_layer)
