"""The official Global Context block, ``ContextBlock`` from xvjiarui/GCNet, mmdet/ops/gcb/context_block.py.

Rewritten (not copied) from xvjiarui/GCNet at commit 029db5407dc27147eb1d41f62b09dfed8ec88837, licence
Apache-2.0 (an mmdetection fork, Copyright 2018-2019 Open-MMLab). Kept: attention pooling ('att':
conv_mask 1x1 to one channel with bias, view (N, 1, HW), Softmax(dim=2), unsqueeze(-1),
torch.matmul of x viewed (N, 1, C, HW) with it, view (N, C, 1, 1)) or nn.AdaptiveAvgPool2d(1) ('avg');
each fusion transform Conv2d(C, C*ratio, 1), LayerNorm([planes, 1, 1]), in-place ReLU,
Conv2d(planes, C, 1); channel_mul as out * sigmoid(...), channel_add as out + (...). Initialisation
uses torch's kaiming / zero init in place of mmcv's constant_init and kaiming_init (values only,
no op of the forward changes).
"""

from __future__ import annotations

import torch
from torch import nn


class ContextBlock(nn.Module):
    def __init__(self, inplanes, ratio, pooling_type='att', fusion_types=('channel_add',)):
        super().__init__()
        assert pooling_type in ['avg', 'att']
        assert isinstance(fusion_types, (list, tuple))
        assert all(f in ['channel_add', 'channel_mul'] for f in fusion_types)
        assert len(fusion_types) > 0, 'at least one fusion should be used'
        self.inplanes = inplanes
        self.ratio = ratio
        self.planes = int(inplanes * ratio)
        self.pooling_type = pooling_type
        self.fusion_types = fusion_types
        if pooling_type == 'att':
            self.conv_mask = nn.Conv2d(inplanes, 1, kernel_size=1)
            self.softmax = nn.Softmax(dim=2)
        else:
            self.avg_pool = nn.AdaptiveAvgPool2d(1)

        def transform():
            return nn.Sequential(nn.Conv2d(self.inplanes, self.planes, kernel_size=1),
                                 nn.LayerNorm([self.planes, 1, 1]), nn.ReLU(inplace=True),
                                 nn.Conv2d(self.planes, self.inplanes, kernel_size=1))

        self.channel_add_conv = transform() if 'channel_add' in fusion_types else None
        self.channel_mul_conv = transform() if 'channel_mul' in fusion_types else None
        if pooling_type == 'att':
            nn.init.kaiming_normal_(self.conv_mask.weight, mode='fan_in', nonlinearity='relu')
            nn.init.zeros_(self.conv_mask.bias)
        for m in (self.channel_add_conv, self.channel_mul_conv):
            if m is not None:                 # last_zero_init
                nn.init.zeros_(m[-1].weight)
                nn.init.zeros_(m[-1].bias)

    def spatial_pool(self, x):
        batch, channel, height, width = x.size()
        if self.pooling_type == 'att':
            input_x = x.view(batch, channel, height * width).unsqueeze(1)        # N, 1, C, HW
            context_mask = self.conv_mask(x).view(batch, 1, height * width)     # N, 1, HW
            context_mask = self.softmax(context_mask).unsqueeze(-1)             # N, 1, HW, 1
            context = torch.matmul(input_x, context_mask)                       # N, 1, C, 1
            return context.view(batch, channel, 1, 1)
        return self.avg_pool(x)

    def forward(self, x):
        context = self.spatial_pool(x)
        out = x
        if self.channel_mul_conv is not None:
            out = out * torch.sigmoid(self.channel_mul_conv(context))
        if self.channel_add_conv is not None:
            out = out + self.channel_add_conv(context)
        return out
