"""The official BAM, ``BAM`` from Jongchan/attention-module, MODELS/bam.py.

Rewritten (not copied) from Jongchan/attention-module at commit 459efad0e05ee7dde50c41ca10a3d0800bc3792a,
licence MIT (Copyright (c) 2019 Jongchan Park). Kept: the channel gate's F.avg_pool2d with kernel and
stride in_tensor.size(2) (square maps), Flatten view, Linear C -> C/r, BatchNorm1d, ReLU, Linear C/r -> C,
unsqueeze(2).unsqueeze(3).expand_as; the spatial gate's 1x1 reduce conv, BatchNorm2d, ReLU, two 3x3
dilated (4) convs each with BatchNorm2d and ReLU, 1x1 conv to one channel, expand_as; and
att = 1 + sigmoid(channel * spatial), att * in_tensor (the code multiplies the branches; the paper adds).

One line of the original is left out: ChannelGate.__init__ assigns ``self.gate_activation =
gate_activation``, a name defined nowhere, so the original raises NameError when built; the attribute
is never used in forward.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class Flatten(nn.Module):
    def forward(self, x):
        return x.view(x.size(0), -1)


class ChannelGate(nn.Module):
    def __init__(self, gate_channel, reduction_ratio=16, num_layers=1):
        super().__init__()
        self.gate_c = nn.Sequential()
        self.gate_c.add_module('flatten', Flatten())
        gate_channels = [gate_channel] + [gate_channel // reduction_ratio] * num_layers + [gate_channel]
        for i in range(len(gate_channels) - 2):
            self.gate_c.add_module('gate_c_fc_%d' % i, nn.Linear(gate_channels[i], gate_channels[i + 1]))
            self.gate_c.add_module('gate_c_bn_%d' % (i + 1), nn.BatchNorm1d(gate_channels[i + 1]))
            self.gate_c.add_module('gate_c_relu_%d' % (i + 1), nn.ReLU())
        self.gate_c.add_module('gate_c_fc_final', nn.Linear(gate_channels[-2], gate_channels[-1]))

    def forward(self, in_tensor):
        avg_pool = F.avg_pool2d(in_tensor, in_tensor.size(2), stride=in_tensor.size(2))
        return self.gate_c(avg_pool).unsqueeze(2).unsqueeze(3).expand_as(in_tensor)


class SpatialGate(nn.Module):
    def __init__(self, gate_channel, reduction_ratio=16, dilation_conv_num=2, dilation_val=4):
        super().__init__()
        reduced = gate_channel // reduction_ratio
        self.gate_s = nn.Sequential()
        self.gate_s.add_module('gate_s_conv_reduce0', nn.Conv2d(gate_channel, reduced, kernel_size=1))
        self.gate_s.add_module('gate_s_bn_reduce0', nn.BatchNorm2d(reduced))
        self.gate_s.add_module('gate_s_relu_reduce0', nn.ReLU())
        for i in range(dilation_conv_num):
            self.gate_s.add_module('gate_s_conv_di_%d' % i, nn.Conv2d(reduced, reduced, kernel_size=3,
                                                                    padding=dilation_val, dilation=dilation_val))
            self.gate_s.add_module('gate_s_bn_di_%d' % i, nn.BatchNorm2d(reduced))
            self.gate_s.add_module('gate_s_relu_di_%d' % i, nn.ReLU())
        self.gate_s.add_module('gate_s_conv_final', nn.Conv2d(reduced, 1, kernel_size=1))

    def forward(self, in_tensor):
        return self.gate_s(in_tensor).expand_as(in_tensor)


class BAM(nn.Module):
    def __init__(self, gate_channel):
        super().__init__()
        self.channel_att = ChannelGate(gate_channel)
        self.spatial_att = SpatialGate(gate_channel)

    def forward(self, in_tensor):
        att = 1 + F.sigmoid(self.channel_att(in_tensor) * self.spatial_att(in_tensor))
        return att * in_tensor
