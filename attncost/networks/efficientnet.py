"""EfficientNet-B0 (Tan, Le: "EfficientNet: Rethinking Model Scaling for Convolutional Neural Networks",
ICML 2019, Table 1) as a Program, following torchvision's ``efficientnet_b0``
(torchvision/models/efficientnet.py, pytorch/vision commit 07a929e8b851242b1c75c9016ee06a8e502961d8, and
ops/misc.py; 5,288,548 parameters), B1..B7 by ``width`` and ``depth`` as torchvision scales them:

- stem: conv 3x3/2 to 32 (no bias), BN, SiLU (in place);
- MBConv blocks (``MBCONV_SETTING``, Table 1's stages 2-8): [expand conv 1x1 (no bias), BN, SiLU] when
  _make_divisible(C_in * expansion, 8) differs from C_in; depthwise k x k / s (no bias, padding
  (k - 1) // 2), BN, SiLU; torchvision's ``SqueezeExcitation`` with max(1, C_in // 4) squeeze
  channels of the block's INPUT channels: spatial mean, 1x1 conv (bias), SiLU (in place), 1x1 conv
  (bias), sigmoid, ``scale * x``; project conv 1x1 (no bias), BN; where the stride is 1 and C_in ==
  C_out, stochastic depth (the identity at inference: no op) and ``result += input`` (in place);
- head: conv 1x1 to 4 x 320 = 1280 (no bias), BN, SiLU; global average pool; Dropout (0.2, in place: the
  identity at inference, no op); Linear 1280 -> classes.

PyTorch's symmetric padding (k - 1) // 2 gives ceil(H / s) at any size (the official TF code's "same"
padding does too, but pads asymmetrically; the counts agree). Channels follow torchvision's
adjust_channels (_make_divisible(c * width, 8)), repeats its adjust_depth (ceil(n * depth)). The SE
of every block runs in scope ``attention:se`` and its gate is marked as an attention map, so
``attention_share`` reports it. Stages are Table 1's seven MBConv rows (the breakdown's
``stage1..stage7``). Inserted attention (``every_block`` only) goes at the end of each block's residual
branch (after the project BN, before the add): the blocks already have SE, so ``--attn cbam`` adds
CBAM after the projection and the SE stays.

EfficientNet-CondConv (Yang et al., NeurIPS 2019; tensorflow/tpu models/official/efficientnet/condconv/
efficientnet_condconv_builder.py): ``condconv_experts`` experts in the blocks of ``condconv_stages``
(the official blocks_args mark the last three rows, 112, 192 and 320 channels, ``_cc``). Such a block
computes its routing weights once from its input (``dynamic.condconv_routing``) and runs its expand,
depthwise and project convs as CondConv layers with them (``dynamic.mixed_conv``, no biases, as the
official MBConvBlock's ``conv_cls`` / ``depthwise_conv_cls``); the SE, the BNs and the head stay static.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import ClassVar

from ..catalogue.blocks import conv_bn_act
from ..cost import Program, Tensor
from ..ops.pointwise import SIGMOID, SILU
from .attention import attend, in_block
from .dynamic import CONDCONV_SCOPE, condconv_routing, mixed_conv_bn_act
from .fields import check_fields, field_error, given_twice
from .mobilenet import make_divisible
from .mobilenetv3 import inverted_residual, squeeze_excitation

# torchvision's bneck_conf rows of efficientnet_b*: expansion, kernel, stride, input channels, output
# channels, repeats (EfficientNet Table 1, stages 2-8)
MBCONV_SETTING = ((1, 3, 1, 32, 16, 1), (6, 3, 2, 16, 24, 2), (6, 5, 2, 24, 40, 2), (6, 3, 2, 40, 80, 3),
                  (6, 5, 1, 80, 112, 3), (6, 5, 2, 112, 192, 4), (6, 3, 1, 192, 320, 1))


@dataclass(frozen=True)
class EfficientNetSpec:
    # inverted residuals have one branch and no stage boundaries worth a BAM: every_block only
    supported_placements: ClassVar[tuple] = ("every_block",)
    name: str
    width: float = 1.0              # torchvision's width_mult
    depth: float = 1.0              # torchvision's depth_mult
    num_classes: int = 1000
    condconv_experts: int = 0       # EfficientNet-CondConv: experts per CondConv layer (0: none)
    condconv_stages: tuple = ()     # the stages whose blocks are CondConv blocks
    attention: tuple = field(default=(), compare=False)

    def __post_init__(self):
        check_fields(self)
        experts, stages = self.condconv_experts, tuple(self.condconv_stages)
        object.__setattr__(self, "condconv_stages", stages)
        if bool(experts) != bool(stages):
            raise field_error(self, "condconv_experts" if experts else "condconv_stages",
                              "condconv_experts and condconv_stages go together (EfficientNet-CondConv-B0: 8 experts "
                              "in stages [5, 6, 7])")
        unknown = [s for s in stages if s > len(MBCONV_SETTING)]
        if unknown:
            raise field_error(self, "condconv_stages", f"condconv_stages {unknown} are not among its stages "
                                                       f"1..{len(MBCONV_SETTING)}", stages.index(unknown[0]))
        given_twice(self, "condconv_stages", stages)

    def stage_blocks(self) -> dict:
        """{stage: number of blocks}: Table 1's seven MBConv rows, the breakdown's ``stage1..stage7``."""
        return {stage: repeats for stage, (*_, repeats) in enumerate(_rows(self), start=1)}


def _rows(spec: EfficientNetSpec):
    """The rows scaled as torchvision's MBConvConfig scales them."""
    for expansion, kernel, stride, inp, out, repeats in MBCONV_SETTING:
        yield (expansion, kernel, stride, make_divisible(inp * spec.width), make_divisible(out * spec.width),
               int(math.ceil(repeats * spec.depth)))


def block_settings(spec: EfficientNetSpec):
    """(stage, block, input, expanded, output channels, kernel, stride, squeeze channels) of every MBConv;
    the torch reference walks the same."""
    for stage, (expansion, kernel, stride, inp, out, repeats) in enumerate(_rows(spec), start=1):
        for b in range(repeats):
            c = inp if b == 0 else out
            yield stage, b, c, make_divisible(c * expansion), out, kernel, stride if b == 0 else 1, max(1, c // 4)


def stem_channels(spec: EfficientNetSpec) -> int:
    return make_divisible(MBCONV_SETTING[0][3] * spec.width)


def efficientnet(g: Program, x: Tensor, spec: EfficientNetSpec) -> Tensor:
    """The whole network: stem, 7 stages of MBConv blocks, head conv, global pool, fc."""
    with g.scope("stem"):
        x = conv_bn_act(g, x, stem_channels(spec), 3, 2, act=SILU, name="conv")
    for stage, b, _, expanded, out, kernel, stride, squeeze in block_settings(spec):
        with g.scope(f"stage{stage}", f"block{b}"):
            attention = in_block(spec.attention, stage)
            if stage in spec.condconv_stages:
                x = condconv_block(g, x, spec.condconv_experts, out, expanded, kernel, stride, squeeze,
                                   attention=lambda y: attend(g, y, attention))
                continue
            x = inverted_residual(
                g, x, out, expanded, kernel, stride, act=SILU,
                se=lambda y, squeeze=squeeze: squeeze_excitation(g, y, squeeze, act=SILU, gate=SIGMOID,
                                                                 act_inplace=True),
                attention=lambda y: attend(g, y, attention))
    with g.scope("head"):
        x = conv_bn_act(g, x, 4 * x.shape[1], 1, act=SILU, name="conv_head")
        x = g.global_avg_pool(x)
        x = g.dropout(g.view(x, x.shape[:2]), 0.2, inplace=True)     # the identity at inference
        return g.linear(x, spec.num_classes, name="fc")


def condconv_block(g: Program, x: Tensor, experts: int, out_channels, expanded, kernel, stride, squeeze, *,
                   attention) -> Tensor:
    """The official EfficientNet-CondConv MBConvBlock at inference: routing r = sigmoid(Dense(GAP(x)));
    [CondConv expand 1x1, BN, SiLU]; depthwise CondConv k x k / s, BN, SiLU; SE (static); CondConv
    project 1x1, BN; [``attention``]; ``result += input`` when stride is 1 and C_in == C_out."""
    c = x.shape[1]
    routing = condconv_routing(g, x, experts)
    y = x
    if expanded != c:
        y = mixed_conv_bn_act(g, y, routing, expanded, 1, act=SILU, scope=CONDCONV_SCOPE, name="expand")
    y = mixed_conv_bn_act(g, y, routing, expanded, kernel, stride, groups=expanded, act=SILU, scope=CONDCONV_SCOPE,
                          name="depthwise")
    with g.scope("attention:se"):
        y = squeeze_excitation(g, y, squeeze, act=SILU, gate=SIGMOID, act_inplace=True)
    y = mixed_conv_bn_act(g, y, routing, out_channels, 1, act=None, scope=CONDCONV_SCOPE, name="project")
    y = attention(y)
    if stride == 1 and out_channels == c:
        return g.add(y, x, inplace=True)
    return y
