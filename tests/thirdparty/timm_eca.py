"""timm's ECA, ``timm.layers.eca.EcaModule`` (the paper's variant: use_mlp=False).

Rewritten (not copied) from huggingface/pytorch-image-models, timm/layers/eca.py at commit
aa4b5850c1543fa488abf260f18390eda46cf85d (timm 1.0.29.dev0), licence Apache-2.0 (the file also carries
ECANet's MIT licence, Copyright (c) 2019 BangguWu, Qilong Wang). Kept: the adaptive kernel size
k = max(t if t odd else t + 1, 3), t = int(|log2(C) + beta| / gamma); x.mean((2, 3)).view(B, 1, C),
Conv1d(1, 1, k, padding (k-1)/2, no bias), sigmoid gate, view(B, C, 1, 1), x * y.expand_as(x).
"""

from __future__ import annotations

import math

from torch import nn

from .timm_layers import Sigmoid


class EcaModule(nn.Module):
    def __init__(self, channels=None, kernel_size=3, gamma=2, beta=1):
        super().__init__()
        if channels is not None:
            t = int(abs(math.log(channels, 2) + beta) / gamma)
            kernel_size = max(t if t % 2 else t + 1, 3)
        assert kernel_size % 2 == 1
        padding = (kernel_size - 1) // 2
        self.conv = nn.Conv1d(1, 1, kernel_size=kernel_size, padding=padding, bias=False)
        self.act = None
        self.conv2 = None
        self.gate = Sigmoid()

    def forward(self, x):
        y = x.mean((2, 3)).view(x.shape[0], 1, -1)
        y = self.conv(y)
        if self.conv2 is not None:
            y = self.act(y)
            y = self.conv2(y)
        y = self.gate(y).view(x.shape[0], -1, 1, 1)
        return x * y.expand_as(x)
