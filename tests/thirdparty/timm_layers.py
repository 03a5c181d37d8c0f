"""Building blocks of timm (huggingface/pytorch-image-models) that the timm attention modules below use.

Rewritten (not copied) from huggingface/pytorch-image-models at commit
aa4b5850c1543fa488abf260f18390eda46cf85d (timm 1.0.29.dev0), licence Apache-2.0, keeping every op the
originals run in the configurations the battery uses (fast-norm and scripting/export switches at their
defaults: off):

- ``make_divisible``: timm/layers/helpers.py
- ``Sigmoid``: timm/layers/activations.py (what ``create_act_layer('sigmoid')`` returns)
- ``BatchNormAct2d`` (apply_act=False): timm/layers/norm_act.py
- ``ConvNormAct``: timm/layers/conv_bn_act.py (create_conv2d with padding='' is a plain nn.Conv2d with
  symmetric padding ((stride - 1) + dilation * (k - 1)) // 2, timm/layers/padding.py)
- ``LayerNorm``, ``LayerNorm2d``: timm/layers/norm.py
- ``Mlp``, ``ConvMlp``: timm/layers/mlp.py
- ``LayerScale``: timm/layers/layer_scale.py
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def make_divisible(v, divisor=8, min_value=None, round_limit=.9):
    min_value = min_value or divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < round_limit * v:        # never round down by more than 10%
        new_v += divisor
    return new_v


class Sigmoid(nn.Module):
    def __init__(self, inplace: bool = False):
        super().__init__()
        self.inplace = inplace

    def forward(self, x):
        return x.sigmoid_() if self.inplace else x.sigmoid()


class BatchNormAct2d(nn.BatchNorm2d):
    """BatchNorm2d subclass whose forward is F.batch_norm, then drop and act (Identity here)."""

    def __init__(self, num_features, eps=1e-5, momentum=0.1, apply_act=True, act_layer=nn.ReLU, inplace=True):
        super().__init__(num_features, eps=eps, momentum=momentum)
        self.drop = nn.Identity()
        self.act = act_layer(inplace=inplace) if apply_act else nn.Identity()

    def forward(self, x):
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats and self.num_batches_tracked is not None:
            self.num_batches_tracked.add_(1)
            factor = 1.0 / float(self.num_batches_tracked) if self.momentum is None else self.momentum
        use_batch_stats = True if self.training else (self.running_mean is None and self.running_var is None)
        x = F.batch_norm(x,
                         self.running_mean if not self.training or self.track_running_stats else None,
                         self.running_var if not self.training or self.track_running_stats else None,
                         self.weight, self.bias, use_batch_stats, factor, self.eps)
        x = self.drop(x)
        return self.act(x)


class ConvNormAct(nn.Module):
    """conv (bias=False, 'same'-ish static padding) then BatchNormAct2d, as attributes ``conv`` and ``bn``."""

    def __init__(self, in_channels, out_channels, kernel_size=1, stride=1, dilation=1, groups=1, bias=False,
                 apply_act=True, act_layer=nn.ReLU):
        super().__init__()
        padding = ((stride - 1) + dilation * (kernel_size - 1)) // 2
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride, padding=padding,
                              dilation=dilation, groups=groups, bias=bias)
        self.bn = BatchNormAct2d(out_channels, apply_act=apply_act, act_layer=act_layer)

    def forward(self, x):
        x = self.conv(x)
        x = self.bn(x)
        return x


class LayerNorm(nn.LayerNorm):
    """nn.LayerNorm with timm's eps=1e-6 default, forward through F.layer_norm."""

    def __init__(self, num_channels, eps=1e-6, affine=True):
        super().__init__(num_channels, eps=eps, elementwise_affine=affine)

    def forward(self, x):
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)


class LayerNorm2d(nn.LayerNorm):
    """LayerNorm over the channels of an NCHW tensor: permute to NHWC, layer_norm, permute back."""

    def __init__(self, num_channels, eps=1e-6, affine=True):
        super().__init__(num_channels, eps=eps, elementwise_affine=affine)

    def forward(self, x):
        x = x.permute(0, 2, 3, 1)
        x = F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        x = x.permute(0, 3, 1, 2)
        return x


class Mlp(nn.Module):
    """fc1 -> act -> drop1 -> norm (Identity unless norm_layer) -> fc2 -> drop2 (nn.Linear, use_conv=False)."""

    def __init__(self, in_features, hidden_features=None, out_features=None, act_layer=nn.GELU, norm_layer=None,
                 bias=True, drop=0.):
        super().__init__()
        out_features = out_features or in_features
        hidden_features = hidden_features or in_features
        bias = bias if isinstance(bias, tuple) else (bias, bias)
        drop = drop if isinstance(drop, tuple) else (drop, drop)
        self.fc1 = nn.Linear(in_features, hidden_features, bias=bias[0])
        self.act = act_layer()
        self.drop1 = nn.Dropout(drop[0])
        self.norm = norm_layer(hidden_features) if norm_layer is not None else nn.Identity()
        self.fc2 = nn.Linear(hidden_features, out_features, bias=bias[1])
        self.drop2 = nn.Dropout(drop[1])

    def forward(self, x):
        x = self.fc1(x)
        x = self.act(x)
        x = self.drop1(x)
        x = self.norm(x)
        x = self.fc2(x)
        x = self.drop2(x)
        return x


class ConvMlp(nn.Module):
    """1x1 conv fc1 -> norm -> act -> drop -> 1x1 conv fc2, keeping the spatial dims."""

    def __init__(self, in_features, hidden_features=None, out_features=None, act_layer=nn.ReLU, norm_layer=None,
                 bias=True, drop=0.):
        super().__init__()
        out_features = out_features or in_features
        hidden_features = hidden_features or in_features
        bias = bias if isinstance(bias, tuple) else (bias, bias)
        self.fc1 = nn.Conv2d(in_features, hidden_features, kernel_size=1, bias=bias[0])
        self.norm = norm_layer(hidden_features) if norm_layer else nn.Identity()
        self.act = act_layer()
        self.drop = nn.Dropout(drop)
        self.fc2 = nn.Conv2d(hidden_features, out_features, kernel_size=1, bias=bias[1])

    def forward(self, x):
        x = self.fc1(x)
        x = self.norm(x)
        x = self.act(x)
        x = self.drop(x)
        x = self.fc2(x)
        return x


class LayerScale(nn.Module):
    """Per-channel scale gamma on the last dim (x * gamma, or x.mul_(gamma) when inplace)."""

    def __init__(self, dim, init_values=1e-5, inplace=False):
        super().__init__()
        self.init_values = init_values
        self.inplace = inplace
        self.gamma = nn.Parameter(torch.full((dim,), float(init_values)))

    def forward(self, x):
        return x.mul_(self.gamma) if self.inplace else x * self.gamma
