"""ResNet, ResNeXt (He et al. CVPR 2016; Xie et al. CVPR 2017) as Programs, in two variants.

``stride_on="3x3"`` is torchvision's v1.5 (stride on the bottleneck's 3x3 conv); ``"1x1"`` is the
original (stride on the first 1x1), which the SE/CBAM/BAM/GC/ECA papers used: same parameters, fewer
MACs (about 0.23 G less for ResNet-50 at 224x224). Structure follows torchvision's resnet.py: convs
without bias, BN after each, in-place ReLU, ``out += identity``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .. import catalogue
from ..cost import Program, Tensor
from .attention import AttentionPlacement


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


def _conv_bn(g: Program, x: Tensor, out, kernel, stride=1, padding=0, groups=1, name="conv", relu=True):
    y = g.conv(x, out, kernel, stride=stride, padding=padding, groups=groups, bias=False, name=name)
    y = g.batch_norm(y, name=name + "_bn")
    return g.relu(y, inplace=True) if relu else y


def _attend(g: Program, x: Tensor, placement: AttentionPlacement) -> Tensor:
    """The placement's module on ``x``; a module already run on an equal input is replayed."""
    entry = catalogue.get(placement.module)
    hp = entry.resolve(x.shape, placement.hp)
    with g.scope(f"attention:{entry.name}"):
        return g.replayable(("attention", entry.name, repr(sorted(hp.items())), x.shape, x.strides),
                            lambda x: entry.program(g, x, **hp), x)


def _block(g: Program, x: Tensor, spec: ResNetSpec, planes: int, stride: int, stage: int) -> Tensor:
    out_channels = planes * spec.expansion
    identity = x
    if spec.block == "bottleneck":
        width = planes * spec.width_per_group // 64 * spec.groups
        s1, s3 = (stride, 1) if spec.stride_on == "1x1" else (1, stride)
        out = _conv_bn(g, x, width, 1, s1, name="conv1")
        out = _conv_bn(g, out, width, 3, s3, 1, spec.groups, name="conv2")
        out = _conv_bn(g, out, out_channels, 1, name="conv3", relu=False)
    else:
        out = _conv_bn(g, x, planes, 3, stride, 1, name="conv1")
        out = _conv_bn(g, out, planes, 3, 1, 1, name="conv2", relu=False)
    for placement in spec.attention:
        if placement.in_block(stage):
            out = _attend(g, out, placement)
    if stride != 1 or x.shape[1] != out_channels:
        identity = _conv_bn(g, x, out_channels, 1, stride, name="downsample", relu=False)
    out = g.add(out, identity, inplace=True)
    return g.relu(out, inplace=True)


def _block_key(spec: ResNetSpec, planes: int, stride: int, stage: int, x: Tensor) -> tuple:
    """Everything a block's ops depend on: blocks with equal keys are replayed, not recomputed."""
    attention = tuple((p.module, repr(sorted(p.hp.items()))) for p in spec.attention if p.in_block(stage))
    return ("resnet-block", spec.block, spec.groups, spec.width_per_group, spec.stride_on, planes, stride,
            attention, x.shape, x.strides)


def resnet(g: Program, x: Tensor, spec: ResNetSpec) -> Tensor:
    """The whole network: stem, four stages, global pool, fc."""
    with g.scope("stem"):
        x = _conv_bn(g, x, 64, 7, 2, 3, name="conv1")
        x = g.max_pool2d(x, 3, 2, 1)
    last = len(spec.layers)
    for stage, (planes, blocks) in enumerate(zip((64, 128, 256, 512), spec.layers), start=1):
        for b in range(blocks):
            stride = (1 if stage == 1 else 2) if b == 0 else 1
            with g.scope(f"stage{stage}", f"block{b}"):
                x = g.replayable(_block_key(spec, planes, stride, stage, x),
                             lambda x: _block(g, x, spec, planes, stride, stage), x)
            for placement in spec.attention:
                if placement.after_block(stage, b):
                    with g.scope(f"stage{stage}", f"block{b}+"):
                        x = _attend(g, x, placement)
        for placement in spec.attention:
            if placement.after_stage(stage, last):
                with g.scope(f"stage{stage}", "after"):
                    x = _attend(g, x, placement)
    with g.scope("head"):
        x = g.global_avg_pool(x)
        x = g.view(x, x.shape[:2])
        return g.linear(x, spec.num_classes, name="fc")
