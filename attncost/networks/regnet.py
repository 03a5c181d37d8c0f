"""RegNetY-400MF (Radosavovic, Kosaraju, Girshick, He, Dollár: "Designing Network Design Spaces", CVPR
2020, Sec. 3-5 and Appendix Table 4/5) as a Program, following torchvision's ``regnet_y_400mf``
(torchvision/models/regnet.py, pytorch/vision commit 90a8f703cd1f83e4cc90f943643a9f03e97cfc0f, after
ClassyVision's anynet.py / regnet.py; 4,344,144 parameters); any RegNetX/Y from its init parameters:

- widths and depths from ``BlockParams.from_init_params(depth, w_0, w_a, w_m, group_width,
  bottleneck_multiplier, se_ratio)`` (``stage_widths``): per block u_j = w_0 + w_a j, quantized in log
  space with base w_m to multiples of 8, consecutive equal widths forming a stage; widths then made
  compatible with the group width (``_adjust_widths_groups_compatibilty``). RegNetY-400MF: depths
  1, 3, 6, 6, widths 48, 104, 208, 440, group width 8;
- stem: conv 3x3/2 to 32 (no bias), BN, ReLU (in place);
- ResBottleneckBlock, every stage's first block striding by 2: the projection shortcut conv 1x1 / s
  (no bias), BN, where the width or stride changes, computed first (``x = self.proj(x) + self.f(x)``);
  then the bottleneck transform: conv 1x1 to w_b = round(w_out * b) (no bias), BN, ReLU; grouped conv
  3x3 / s with w_b / group width groups (no bias), BN, ReLU; [SE with round(se_ratio * w_in)
  squeeze channels of the block's INPUT width: spatial mean, 1x1 conv (bias), ReLU (not in place),
  1x1 conv (bias), sigmoid, ``scale * x``]; conv 1x1 to w_out (no bias), BN; the add not in place
  (shortcut first), then ReLU in place;
- head: global average pool, fc (bias).

torchvision computes the widths in float32 torch arithmetic; here they are computed with Python floats,
and a test checks both give the same widths for torchvision's RegNet configurations. The built-in SE
runs in scope ``attention:se`` and its gate is marked as an attention map, so ``attention_share``
reports it. Stages are the four of ``stage_widths`` (the breakdown's ``stage1..stage4``). RegNet is a
residual network with stage boundaries, so every placement policy applies, as in ResNet: ``every_block``
at the end of each block's residual branch (after the last BN, before the add; the SE stays),
``after_stage`` between stages and ``after_blocks`` after chosen blocks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import ClassVar

from ..catalogue.blocks import conv_bn_act
from ..cost import Program, Tensor
from ..ops.pointwise import RELU, SIGMOID
from .attention import INSERTIONS, after_block, after_stage, attend, in_block
from .fields import MAX_CHANNELS, check_fields, field_error
from .mobilenet import make_divisible
from .mobilenetv3 import squeeze_excitation

QUANT = 8                           # block widths are multiples of 8


@dataclass(frozen=True)
class RegNetSpec:
    # the insertions, as in a ResNet; its grouped 3x3 is not among the convs replace_conv replaces
    supported_placements: ClassVar[tuple] = INSERTIONS
    name: str
    depth: int                      # blocks in all (d)
    w_0: int                        # initial width
    w_a: float                      # width slope
    w_m: float                      # width multiplier between stages (log-space step)
    group_width: int
    se_ratio: float = 0.0           # 0: RegNetX (no SE); RegNetY: 0.25
    bottleneck_multiplier: float = 1.0
    stem_width: int = 32
    num_classes: int = 1000
    attention: tuple = field(default=(), compare=False)

    def __post_init__(self):
        check_fields(self)
        if self.w_0 % QUANT:
            raise field_error(self, "w_0", f"w_0={self.w_0} must be a multiple of {QUANT} (block widths are)")
        stages = _quantized(self)
        narrow = min(w for w, _ in stages)
        if int(narrow * self.bottleneck_multiplier) < 1:
            raise field_error(self, ("bottleneck_multiplier", "w_0"),
                              f"bottleneck_multiplier={self.bottleneck_multiplier:g} leaves a stage of {narrow} "
                              f"channels no bottleneck channel (int(w * b) = 0)")
        widths = [w for w, _, _ in stage_widths(self)]
        if max(widths) > MAX_CHANNELS:
            raise field_error(self, ("w_a", "depth", "w_0", "w_m"),
                              f"w_a={self.w_a:g} widens the last stage to {max(widths):,} channels (w_0 + w_a per "
                              f"block over {self.depth} blocks, quantized); at most 2^20")
        narrowest_input = min(self.stem_width, *widths)
        if self.se_ratio and se_squeeze(self, narrowest_input) < 1:
            raise field_error(self, ("se_ratio", "stem_width", "w_0"),
                              f"se_ratio={self.se_ratio:g} leaves the SE of a block of {narrowest_input} input "
                              f"channels no channel (round(se_ratio * w_in) = 0); 0 for none")

    def stage_blocks(self) -> dict:
        """{stage: number of blocks}: the stages of ``stage_widths``, the breakdown's ``stage1..``."""
        return {stage: depth for stage, (_, depth, _) in enumerate(stage_widths(self), start=1)}


def _quantized(spec: RegNetSpec) -> list:
    """[[width, depth]] of each stage before the group-width adjustment: per block u_j = w_0 + w_a j,
    quantized in log space with base w_m to multiples of 8; equal consecutive widths, one stage."""
    widths = []
    for j in range(spec.depth):
        capacity = round(math.log((j * spec.w_a + spec.w_0) / spec.w_0) / math.log(spec.w_m))
        widths.append(int(round(spec.w_0 * spec.w_m ** capacity / QUANT) * QUANT))
    stages: list = []
    for w in widths:
        if stages and stages[-1][0] == w:
            stages[-1][1] += 1
        else:
            stages.append([w, 1])
    return stages


def stage_widths(spec: RegNetSpec) -> list:
    """[(width, depth, group width)] of each stage, as torchvision's ``BlockParams.from_init_params``
    (the fields within their bounds, checked by ``RegNetSpec.__post_init__``)."""
    out = []
    for w, depth in _quantized(spec):  # _adjust_widths_groups_compatibilty
        bottleneck = int(w * spec.bottleneck_multiplier)
        group = min(spec.group_width, bottleneck)
        out.append((int(make_divisible(bottleneck, group) / spec.bottleneck_multiplier), depth, group))
    return out


def stage_settings(spec: RegNetSpec):
    """(stage, output width, group width, the strides of its blocks) of every stage (the first block
    strides by 2). The torch reference walks the same."""
    for stage, (width, depth, group) in enumerate(stage_widths(spec), start=1):
        yield stage, width, group, tuple(2 if b == 0 else 1 for b in range(depth))


def se_squeeze(spec: RegNetSpec, width_in: int) -> int | None:
    """torchvision's width_se_out: round(se_ratio * w_in) of the block's INPUT width; None without SE."""
    return int(round(spec.se_ratio * width_in)) if spec.se_ratio else None


def _block(g: Program, x: Tensor, spec: RegNetSpec, width_out, group, stride, stage) -> Tensor:
    width_in = x.shape[1]
    shortcut = x
    if width_in != width_out or stride != 1:
        shortcut = conv_bn_act(g, x, width_out, 1, stride, act=None, name="proj")
    w_b = int(round(width_out * spec.bottleneck_multiplier))
    y = conv_bn_act(g, x, w_b, 1, name="a")
    y = conv_bn_act(g, y, w_b, 3, stride, groups=w_b // group, name="b")
    squeeze = se_squeeze(spec, width_in)
    if squeeze is not None:
        with g.scope("attention:se"):
            y = squeeze_excitation(g, y, squeeze, act=RELU, gate=SIGMOID)
    y = conv_bn_act(g, y, width_out, 1, act=None, name="c")
    y = attend(g, y, in_block(spec.attention, stage))
    return g.relu(g.add(shortcut, y), inplace=True)


def regnet(g: Program, x: Tensor, spec: RegNetSpec) -> Tensor:
    """The whole network: stem, the stages of ResBottleneckBlocks, global pool, fc."""
    with g.scope("stem"):
        x = conv_bn_act(g, x, spec.stem_width, 3, 2, name="conv")
    settings = list(stage_settings(spec))
    for stage, width, group, strides in settings:
        for b, stride in enumerate(strides):
            with g.scope(f"stage{stage}", f"block{b}"):
                x = _block(g, x, spec, width, group, stride, stage)
            with g.scope(f"stage{stage}", f"block{b}+"):
                x = attend(g, x, after_block(spec.attention, stage, b))
        with g.scope(f"stage{stage}", "after"):
            x = attend(g, x, after_stage(spec.attention, stage, len(settings)))
    with g.scope("head"):
        x = g.global_avg_pool(x)
        x = g.view(x, x.shape[:2])
        return g.linear(x, spec.num_classes, name="fc")
