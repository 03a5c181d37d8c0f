"""MobileNetV2 (Sandler et al. CVPR 2018) as a Program, following torchvision's mobilenetv2.py:
conv-BN-ReLU6 blocks (ReLU6 in place, aten.hardtanh_), inverted residuals with a non-in-place add,
channels rounded with make_divisible(c * width, 8); dropout is the identity at inference."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from ..cost import Program, Tensor
from ..ops.pointwise import HARDTANH
from .resnet import _attend

# expansion t, output channels c, repeats n, first stride s (MobileNetV2 Table 2)
INVERTED_RESIDUAL_SETTING = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
                             (6, 160, 3, 2), (6, 320, 1, 1))


def make_divisible(value: float, divisor: int = 8) -> int:
    """torchvision's rounding: nearest multiple of ``divisor``, never below 90% of ``value``."""
    new = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return new + divisor if new < 0.9 * value else new


@dataclass(frozen=True)
class MobileNetV2Spec:
    # inverted residuals have one branch and no stage boundaries worth a BAM: every_block only
    supported_placements: ClassVar[tuple] = ("every_block",)
    name: str
    width: float = 1.0
    num_classes: int = 1000
    attention: tuple = field(default=(), compare=False)


def _conv_bn_relu6(g: Program, x: Tensor, out, kernel, stride=1, groups=1, name="conv", activation=True):
    y = g.conv(x, out, kernel, stride=stride, padding=(kernel - 1) // 2, groups=groups, bias=False, name=name)
    y = g.batch_norm(y, name=name + "_bn")
    return g.unary(HARDTANH, y, inplace=True) if activation else y


def mobilenet_v2(g: Program, x: Tensor, spec: MobileNetV2Spec) -> Tensor:
    with g.scope("stem"):
        x = _conv_bn_relu6(g, x, make_divisible(32 * spec.width), 3, 2, name="conv")
    for stage, (t, c, n, s) in enumerate(INVERTED_RESIDUAL_SETTING, start=1):
        out_channels = make_divisible(c * spec.width)
        for b in range(n):
            stride = s if b == 0 else 1
            with g.scope(f"stage{stage}", f"block{b}"):
                inp = x
                hidden = int(round(x.shape[1] * t))
                y = x
                if t != 1:
                    y = _conv_bn_relu6(g, y, hidden, 1, name="expand")
                y = _conv_bn_relu6(g, y, hidden, 3, stride, groups=hidden, name="dw")
                y = _conv_bn_relu6(g, y, out_channels, 1, name="project", activation=False)
                for placement in spec.attention:
                    if placement.in_block(min(stage, 4)):
                        y = _attend(g, y, placement)
                x = g.add(inp, y) if stride == 1 and inp.shape[1] == out_channels else y
    with g.scope("head"):
        x = _conv_bn_relu6(g, x, make_divisible(1280 * max(1.0, spec.width)), 1, name="conv_last")
        x = g.global_avg_pool(x)
        x = g.view(x, x.shape[:2])
        return g.linear(x, spec.num_classes, name="classifier")
