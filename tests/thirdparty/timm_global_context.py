"""timm's Global Context block, ``timm.layers.global_context.GlobalContext`` (defaults: attention
pooling, fuse_scale=True, fuse_add=False).

Rewritten (not copied) from huggingface/pytorch-image-models, timm/layers/global_context.py at commit
aa4b5850c1543fa488abf260f18390eda46cf85d (timm 1.0.29.dev0), licence Apache-2.0. Kept: conv_attn
(1x1 to one channel, with bias), reshape to (B, 1, HW), softmax, unsqueeze(3),
x.reshape(B, C, HW).unsqueeze(1) @ attn, view(B, C, 1, 1); the ConvMlp (1x1 conv, LayerNorm2d,
ReLU, dropout 0, 1x1 conv) through the sigmoid gate, x * gate (and x + mlp_add when fuse_add).
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import nn

from .timm_layers import ConvMlp, LayerNorm2d, Sigmoid, make_divisible


class GlobalContext(nn.Module):
    def __init__(self, channels, use_attn=True, fuse_add=False, fuse_scale=True, init_last_zero=False,
                 rd_ratio=1. / 8, rd_channels=None, rd_divisor=1, act_layer=nn.ReLU):
        super().__init__()
        self.conv_attn = nn.Conv2d(channels, 1, kernel_size=1, bias=True) if use_attn else None
        if rd_channels is None:
            rd_channels = make_divisible(channels * rd_ratio, rd_divisor, round_limit=0.)
        self.mlp_add = ConvMlp(channels, rd_channels, act_layer=act_layer, norm_layer=LayerNorm2d) if fuse_add else None
        self.mlp_scale = (ConvMlp(channels, rd_channels, act_layer=act_layer, norm_layer=LayerNorm2d)
                          if fuse_scale else None)
        self.gate = Sigmoid()
        self.init_last_zero = init_last_zero
        if self.conv_attn is not None:
            nn.init.kaiming_normal_(self.conv_attn.weight, mode='fan_in', nonlinearity='relu')
        if self.mlp_add is not None:
            nn.init.zeros_(self.mlp_add.fc2.weight)

    def forward(self, x):
        B, C, H, W = x.shape
        if self.conv_attn is not None:
            attn = self.conv_attn(x).reshape(B, 1, H * W)
            attn = F.softmax(attn, dim=-1).unsqueeze(3)
            context = x.reshape(B, C, H * W).unsqueeze(1) @ attn
            context = context.view(B, C, 1, 1)
        else:
            context = x.mean(dim=(2, 3), keepdim=True)
        if self.mlp_scale is not None:
            x = x * self.gate(self.mlp_scale(context))
        if self.mlp_add is not None:
            x = x + self.mlp_add(context)
        return x
