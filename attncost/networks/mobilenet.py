"""MobileNetV2 (Sandler et al. CVPR 2018) as a Program, following torchvision's mobilenetv2.py:
conv-BN-ReLU6 blocks (ReLU6 in place, aten.hardtanh_), inverted residuals with a non-in-place add,
channels rounded with make_divisible(c * width, 8); dropout is the identity at inference."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from ..catalogue.blocks import conv_bn_act, mbconv
from ..cost import Program, Tensor
from ..ops.pointwise import HARDTANH
from .attention import attend, in_block

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

    def stage_blocks(self) -> dict:
        """{stage: number of blocks}: the seven rows of Table 2, the breakdown's ``stage1..stage7``."""
        return {stage: n for stage, (_, _, n, _) in enumerate(INVERTED_RESIDUAL_SETTING, start=1)}


def block_settings(spec: MobileNetV2Spec):
    """(stage, block, expansion t, output channels, stride) of every inverted residual (Table 2, channels
    rounded to the width). The torch reference walks the same."""
    for stage, (t, c, n, s) in enumerate(INVERTED_RESIDUAL_SETTING, start=1):
        for b in range(n):
            yield stage, b, t, make_divisible(c * spec.width), s if b == 0 else 1


def mobilenet_v2(g: Program, x: Tensor, spec: MobileNetV2Spec) -> Tensor:
    with g.scope("stem"):
        x = conv_bn_act(g, x, make_divisible(32 * spec.width), 3, 2, act=HARDTANH, name="conv")
    for stage, b, t, out_channels, stride in block_settings(spec):
        with g.scope(f"stage{stage}", f"block{b}"):
            attention = in_block(spec.attention, stage)
            x = mbconv(g, x, out_channels, int(round(x.shape[1] * t)), 3, stride, act=HARDTANH,
                       attention=lambda y: attend(g, y, attention), identity_first=True)
    with g.scope("head"):
        x = conv_bn_act(g, x, make_divisible(1280 * max(1.0, spec.width)), 1, act=HARDTANH, name="conv_last")
        x = g.global_avg_pool(x)
        x = g.view(x, x.shape[:2])
        return g.linear(x, spec.num_classes, name="classifier")
