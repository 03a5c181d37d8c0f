"""MobileNetV2 (Sandler et al. CVPR 2018) as a Program, following torchvision's mobilenetv2.py:
conv-BN-ReLU6 blocks (ReLU6 in place, aten.hardtanh_), inverted residuals with a non-in-place add,
channels rounded with make_divisible(c * width, 8); dropout is the identity at inference.

DY-MobileNetV2 (Chen et al., "Dynamic Convolution: Attention over Convolution Kernels", CVPR 2020,
Sec. 3-4): with ``dynamic_experts`` K > 0 every convolution but the first (the stem's) is a dynamic
convolution: K kernels and biases aggregated per sample by its own kernel attention on its input,
softmax(FC2(ReLU(FC1(GAP x))) / tau), FC1 reducing C to C // ``dynamic_reduction`` (``dynamic.py``); the
BNs, ReLU6 and the classifier stay static. The authors released no code; the layer follows the
paper's text (Eq. 1-3, Fig. 3) and its PyTorch ports, which mix the kernels as one conv grouped over
the batch."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from ..catalogue.blocks import conv_bn_act, mbconv
from ..cost import Program, Tensor
from ..ops.pointwise import HARDTANH
from .attention import attend, in_block
from .dynamic import check_dynamic_fields, spec_conv_bn_act
from .fields import check_fields

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
    dynamic_experts: int = 0          # DY-MobileNetV2: K kernels per dynamic conv (0: static convs)
    dynamic_reduction: int = 4        # its attention's FC1: C -> C // reduction
    dynamic_temperature: float = 30.0  # tau of its softmax (30 at the start of training; the cost is the same)
    attention: tuple = field(default=(), compare=False)

    def __post_init__(self):
        check_fields(self)
        # the narrowest input of a dynamic conv: the stem's output or a block's (the expansions widen)
        check_dynamic_fields(self, min([make_divisible(32 * self.width)] +
                                       [out for *_, out, _ in block_settings(self)]))

    def stage_blocks(self) -> dict:
        """{stage: number of blocks}: the seven rows of Table 2, the breakdown's ``stage1..stage7``."""
        return {stage: n for stage, (_, _, n, _) in enumerate(INVERTED_RESIDUAL_SETTING, start=1)}


def block_settings(spec: MobileNetV2Spec):
    """(stage, block, expansion t, output channels, stride) of every inverted residual (Table 2, channels
    rounded to the width). The torch reference walks the same."""
    for stage, (t, c, n, s) in enumerate(INVERTED_RESIDUAL_SETTING, start=1):
        for b in range(n):
            yield stage, b, t, make_divisible(c * spec.width), s if b == 0 else 1


def dynamic_inverted_residual(g: Program, x: Tensor, spec: MobileNetV2Spec, out_channels, hidden, stride, *,
                              attention) -> Tensor:
    """The inverted residual with dynamic convolutions: [expand 1x1], depthwise 3x3 / s, project 1x1 (+ BN),
    [attention], x + branch when stride is 1 and C_in == C_out."""
    c = x.shape[1]
    y = x
    if hidden != c:
        y = spec_conv_bn_act(g, y, spec, hidden, 1, act=HARDTANH, name="expand")
    y = spec_conv_bn_act(g, y, spec, hidden, 3, stride, groups=hidden, act=HARDTANH, name="depthwise")
    y = attention(spec_conv_bn_act(g, y, spec, out_channels, 1, act=None, name="project"))
    return g.add(x, y) if stride == 1 and out_channels == c else y


def mobilenet_v2(g: Program, x: Tensor, spec: MobileNetV2Spec) -> Tensor:
    with g.scope("stem"):
        x = conv_bn_act(g, x, make_divisible(32 * spec.width), 3, 2, act=HARDTANH, name="conv")
    for stage, b, t, out_channels, stride in block_settings(spec):
        with g.scope(f"stage{stage}", f"block{b}"):
            attention = in_block(spec.attention, stage)
            hidden = int(round(x.shape[1] * t))
            if spec.dynamic_experts:
                x = dynamic_inverted_residual(g, x, spec, out_channels, hidden, stride,
                                              attention=lambda y: attend(g, y, attention))
                continue
            x = mbconv(g, x, out_channels, hidden, 3, stride, act=HARDTANH,
                       attention=lambda y: attend(g, y, attention), identity_first=True)
    with g.scope("head"):
        x = spec_conv_bn_act(g, x, spec, make_divisible(1280 * max(1.0, spec.width)), 1, act=HARDTANH, name="conv_last")
        x = g.global_avg_pool(x)
        x = g.view(x, x.shape[:2])
        return g.linear(x, spec.num_classes, name="classifier")
