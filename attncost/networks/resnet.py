"""ResNet, ResNeXt (He et al. CVPR 2016; Xie et al. CVPR 2017) as Programs, in two variants.

``stride_on="3x3"`` is torchvision's v1.5 (stride on the bottleneck's 3x3 conv); ``"1x1"`` is the
original (stride on the first 1x1), which the SE/CBAM/BAM/GC/ECA papers used: same parameters, fewer
MACs (about 0.23 G less for ResNet-50 at 224x224). Structure follows torchvision's resnet.py: convs
without bias, BN after each, in-place ReLU, ``out += identity``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..catalogue.blocks import conv_bn_act
from ..cost import Program, Tensor
from .attention import after_block, after_stage, attend, in_block


@dataclass(frozen=True)
class ResNetSpec:
    name: str
    block: str                      # "basic" | "bottleneck"
    layers: tuple
    stride_on: str = "3x3"          # "3x3" (v1.5) | "1x1" (original)
    groups: int = 1
    width_per_group: int = 64
    num_classes: int = 1000
    attention: tuple = field(default=(), compare=False)

    @property
    def expansion(self) -> int:
        return 4 if self.block == "bottleneck" else 1


def stage_settings(spec: ResNetSpec):
    """(stage, planes, the strides of its blocks) of stages 1..4: 64..512 planes, the first block of
    stages 2..4 striding by 2 (torchvision's _make_layer). The torch reference walks the same."""
    for stage, (planes, blocks) in enumerate(zip((64, 128, 256, 512), spec.layers), start=1):
        yield stage, planes, tuple((1 if stage == 1 else 2) if b == 0 else 1 for b in range(blocks))


def _block(g: Program, x: Tensor, spec: ResNetSpec, planes: int, stride: int, stage: int) -> Tensor:
    out_channels = planes * spec.expansion
    identity = x
    if spec.block == "bottleneck":
        width = planes * spec.width_per_group // 64 * spec.groups
        s1, s3 = (stride, 1) if spec.stride_on == "1x1" else (1, stride)
        out = conv_bn_act(g, x, width, 1, s1, name="conv1")
        out = conv_bn_act(g, out, width, 3, s3, groups=spec.groups, name="conv2")
        out = conv_bn_act(g, out, out_channels, 1, act=None, name="conv3")
    else:
        out = conv_bn_act(g, x, planes, 3, stride, name="conv1")
        out = conv_bn_act(g, out, planes, 3, act=None, name="conv2")
    out = attend(g, out, in_block(spec.attention, stage))
    if stride != 1 or x.shape[1] != out_channels:
        identity = conv_bn_act(g, x, out_channels, 1, stride, act=None, name="downsample")
    out = g.add(out, identity, inplace=True)
    return g.relu(out, inplace=True)


def _block_key(spec: ResNetSpec, planes: int, stride: int, stage: int, x: Tensor) -> tuple:
    """Everything a block's ops depend on: blocks with equal keys are replayed, not recomputed."""
    attention = tuple((p.module, repr(sorted(p.hp.items()))) for p in in_block(spec.attention, stage))
    return ("resnet-block", spec.block, spec.groups, spec.width_per_group, spec.stride_on, planes, stride,
            attention, x.shape, x.strides)


def resnet(g: Program, x: Tensor, spec: ResNetSpec) -> Tensor:
    """The whole network: stem, four stages, global pool, fc."""
    with g.scope("stem"):
        x = conv_bn_act(g, x, 64, 7, 2, name="conv1")
        x = g.max_pool2d(x, 3, 2, 1)
    last = len(spec.layers)
    for stage, planes, strides in stage_settings(spec):
        for b, stride in enumerate(strides):
            with g.scope(f"stage{stage}", f"block{b}"):
                x = g.replayable(_block_key(spec, planes, stride, stage, x),
                                 lambda x: _block(g, x, spec, planes, stride, stage), x)
            with g.scope(f"stage{stage}", f"block{b}+"):
                x = attend(g, x, after_block(spec.attention, stage, b))
        with g.scope(f"stage{stage}", "after"):
            x = attend(g, x, after_stage(spec.attention, stage, last))
    with g.scope("head"):
        x = g.global_avg_pool(x)
        x = g.view(x, x.shape[:2])
        return g.linear(x, spec.num_classes, name="fc")
