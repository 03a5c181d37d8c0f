"""Torch blocks of the dynamic-kernel networks (attncost/networks/dynamic.py is their Program side, op
for op): EfficientNet-CondConv's CondConv MBConv block (after the official
tensorflow/tpu models/official/efficientnet/efficientnet_model.py MBConvBlock with ``condconv``, its
routing ``Dense(num_experts, sigmoid)`` on the pooled block input, and condconv/condconv_layers.py
CondConv2D / DepthwiseCondConv2D: kernel = routing_weights @ condconv_kernel) and DY-MobileNetV2's
inverted residual of dynamic convolutions (Chen et al., CVPR 2020, Eq. 1-3 and Fig. 3; no official code).
The per-sample kernels run as one conv grouped over the batch, as the PyTorch ports of both do.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..trace.marks import attention_map


class MixedKernelConv(nn.Module):
    """A conv whose kernel (and bias) is the per-sample mixture ``mixture @ experts`` of E expert kernels:
    expert kernels an (E, out x C/groups x k x k) parameter, biases (E, out)."""

    def __init__(self, channels: int, out_channels: int, kernel: int, stride: int = 1, groups: int = 1, *,
                 experts: int, bias: bool = False):
        super().__init__()
        self.out_channels, self.kernel, self.stride, self.groups = out_channels, kernel, stride, groups
        self.per_group = channels // groups
        self.experts = nn.Parameter(torch.randn(experts, out_channels * self.per_group * kernel * kernel) * 0.01)
        self.expert_biases = nn.Parameter(torch.zeros(experts, out_channels)) if bias else None

    def forward(self, x, mixture):
        n, c, h, w = x.shape
        weight = torch.matmul(mixture, self.experts).view(n * self.out_channels, self.per_group, self.kernel,
                                                          self.kernel)
        bias = None if self.expert_biases is None else torch.matmul(mixture, self.expert_biases).view(-1)
        out = F.conv2d(x.view(1, n * c, h, w), weight, bias, self.stride, (self.kernel - 1) // 2,
                       groups=n * self.groups)
        return out.view(n, self.out_channels, out.shape[-2], out.shape[-1])      # (N, out, H', W')


class MixedConvBnAct(nn.Module):
    """act(BN(MixedKernelConv(x, mixture))), the activation in place (``act_layer=None``: none)."""

    def __init__(self, channels: int, out_channels: int, kernel: int, stride: int = 1, groups: int = 1, *,
                 experts: int, bias: bool = False, act_layer=None):
        super().__init__()
        self.conv = MixedKernelConv(channels, out_channels, kernel, stride, groups, experts=experts, bias=bias)
        self.bn = nn.BatchNorm2d(out_channels)
        self.act = act_layer(inplace=True) if act_layer is not None else None

    def forward(self, x, mixture):
        y = self.bn(self.conv(x, mixture))
        return y if self.act is None else self.act(y)


class CondConvRouting(nn.Module):
    """r(x) = sigmoid(Dense(GAP(x))) (CondConv Eq. 2), the Dense with bias: (N, E)."""

    def __init__(self, channels: int, experts: int):
        super().__init__()
        self.routing = nn.Linear(channels, experts)

    def forward(self, x):
        pooled = F.adaptive_avg_pool2d(x, 1).flatten(1)                            # (N, C)
        return attention_map(torch.sigmoid(self.routing(pooled)))                 # (N, E)


class KernelAttention(nn.Module):
    """pi(x) = softmax(FC2(ReLU(FC1(GAP(x)))) / tau) (DY-CNN Eq. 3, Fig. 3): (N, K)."""

    def __init__(self, channels: int, experts: int, reduction: int, temperature: float):
        super().__init__()
        self.fc1 = nn.Linear(channels, channels // reduction)
        self.fc2 = nn.Linear(channels // reduction, experts)
        self.temperature = temperature

    def forward(self, x):
        pooled = F.adaptive_avg_pool2d(x, 1).flatten(1)                            # (N, C)
        logits = self.fc2(F.relu(self.fc1(pooled), inplace=True)) / self.temperature
        return attention_map(torch.softmax(logits, dim=1))                        # (N, K)


class DynamicConvBnAct(nn.Module):
    """A DY-CNN layer: its kernel attention on its input, then the mixed conv (K kernels and biases), BN, act."""

    def __init__(self, channels: int, out_channels: int, kernel: int, stride: int = 1, groups: int = 1, *,
                 experts: int, reduction: int, temperature: float, act_layer=None):
        super().__init__()
        self.attention = KernelAttention(channels, experts, reduction, temperature)
        self.conv = MixedConvBnAct(channels, out_channels, kernel, stride, groups, experts=experts, bias=True,
                                   act_layer=act_layer)

    def forward(self, x):
        return self.conv(x, self.attention(x))


class CondConvMBConv(nn.Module):
    """The official EfficientNet-CondConv MBConvBlock at inference: routing from the block input, CondConv
    [expand], depthwise and project (no biases), the static ``se`` module, ``result += input``."""

    def __init__(self, channels: int, out_channels: int, expanded: int, kernel: int, stride: int, experts: int,
                 se: nn.Module, attention=()):
        super().__init__()
        self.routing = CondConvRouting(channels, experts)
        self.expand = (MixedConvBnAct(channels, expanded, 1, experts=experts, act_layer=nn.SiLU)
                       if expanded != channels else None)
        self.depthwise = MixedConvBnAct(expanded, expanded, kernel, stride, expanded, experts=experts,
                                        act_layer=nn.SiLU)
        self.se = se
        self.project = MixedConvBnAct(expanded, out_channels, 1, experts=experts)
        self.attention = nn.Sequential(*attention)
        self.use_res_connect = stride == 1 and channels == out_channels

    def forward(self, x):
        routing = self.routing(x)
        y = x if self.expand is None else self.expand(x, routing)
        y = self.se(self.depthwise(y, routing))
        result = self.attention(self.project(y, routing))
        if self.use_res_connect:
            result += x
        return result


class DynamicInvertedResidual(nn.Module):
    """DY-MobileNetV2's inverted residual: dynamic [expand 1x1], depthwise 3x3 / s and project 1x1, ReLU6
    after the first two, ``x + branch`` when stride is 1 and C_in == C_out."""

    def __init__(self, channels: int, out_channels: int, hidden: int, stride: int, *, experts: int, reduction: int,
                 temperature: float, attention=()):
        super().__init__()
        dynamic = dict(experts=experts, reduction=reduction, temperature=temperature)
        self.expand = (DynamicConvBnAct(channels, hidden, 1, act_layer=nn.ReLU6, **dynamic)
                       if hidden != channels else None)
        self.depthwise = DynamicConvBnAct(hidden, hidden, 3, stride, hidden, act_layer=nn.ReLU6, **dynamic)
        self.project = DynamicConvBnAct(hidden, out_channels, 1, **dynamic)
        self.attention = nn.Sequential(*attention)
        self.residual = stride == 1 and channels == out_channels

    def forward(self, x):
        y = self.depthwise(x if self.expand is None else self.expand(x))
        y = self.attention(self.project(y))
        return x + y if self.residual else y
