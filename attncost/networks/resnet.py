"""ResNet, ResNeXt (He et al. CVPR 2016; Xie et al. CVPR 2017) as Programs, in two variants, and the
networks built by replacing their bottlenecks' 3x3 convolution (SKNet, ResNeSt, BoTNet, AA-ResNet).

``stride_on="3x3"`` is torchvision's v1.5 (stride on the bottleneck's 3x3 conv); ``"1x1"`` is the
original (stride on the first 1x1), which the SE/CBAM/BAM/GC/ECA papers used: same parameters, fewer
MACs (about 0.23 G less for ResNet-50 at 224x224). Structure follows torchvision's resnet.py: convs
without bias, BN after each, in-place ReLU, ``out += identity``.

ResNet-D's tweaks as ResNeSt's resnet.py has them (github.com/zhanghang1989/ResNeSt,
resnest/torch/models/resnet.py): ``deep_stem`` (three 3x3 convs, ``stem_width``, ``stem_width``,
2 ``stem_width``, the first of stride 2, each with BN and ReLU, then the 3x3/2 max pool) and
``avg_down`` (the projection shortcut as ``AvgPool2d(stride, stride, ceil_mode=True,
count_include_pad=False)`` then a 1x1 conv of stride 1, BN; the pool runs, a 1x1 window, where the
stride is 1).

DY-ResNet (Chen et al., "Dynamic Convolution: Attention over Convolution Kernels", CVPR 2020): with
``dynamic_experts`` K > 0 every convolution but the first (the 7x7 stem's) is a dynamic convolution
(``dynamic.dynamic_conv_bn_act``: K kernels and biases mixed per sample by the layer's own kernel
attention), the projection shortcuts' 1x1 convs included; BNs, ReLUs, pools and the fc stay static.

``replace_conv``: catalogue entries that stand in for the bottleneck's 3x3 conv (a definition's own,
e.g. SKNet-50's SK units; spec files and ``--where replace_conv`` add more, at most one per stage); see
``attention.REPLACES_CONV`` for how each strides and whether the conv's BN and ReLU stay.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..catalogue.blocks import conv_bn_act
from ..cost import Program, Tensor
from ..errors import SpecError
from ..ops.pointwise import RELU
from .attention import (AttentionPlacement, after_block, after_stage, attend, check_placement, in_block, located,
                        placement_from_dict, replace_conv, replacement_hp, replaces_conv)
from .dynamic import check_dynamic_fields, spec_conv_bn_act
from .fields import MAX_CHANNELS, check_fields, field_error, on_field

STAGE_PLANES = (64, 128, 256, 512)     # the planes of stages 1..4 (a bottleneck's output: 4 x planes)


@dataclass(frozen=True)
class ResNetSpec:
    name: str
    block: str                      # "basic" | "bottleneck"
    layers: tuple
    stride_on: str = "3x3"          # "3x3" (v1.5) | "1x1" (original)
    groups: int = 1
    width_per_group: int = 64
    num_classes: int = 1000
    deep_stem: bool = False         # ResNet-D / ResNeSt: three 3x3 convs instead of the 7x7
    stem_width: int | None = None   # with deep_stem: the first two convs' width (the third's is twice it)
    avg_down: bool = False          # ResNet-D / ResNeSt: average-pool downsampling in the shortcut
    replace_conv: tuple = ()        # the definition's own replacements of the 3x3 conv (placements)
    dynamic_experts: int = 0        # DY-ResNet: K kernels per dynamic conv, every conv but the stem's (0: static)
    dynamic_reduction: int = 4      # its attention's FC1: C -> C // reduction
    dynamic_temperature: float = 30.0  # tau of its softmax (the cost is the same at every tau)
    attention: tuple = field(default=(), compare=False)

    def __post_init__(self):
        check_fields(self)
        if len(self.layers) != len(STAGE_PLANES):
            raise field_error(self, "layers", f"layers {list(self.layers)} must give the blocks of each of a ResNet's "
                                              f"{len(STAGE_PLANES)} stages, e.g. [3, 4, 6, 3]")
        with on_field("replace_conv"):
            object.__setattr__(self, "replace_conv", _replacements(self.replace_conv))
        if self.deep_stem and self.stem_width is None:
            raise field_error(self, "deep_stem", "deep_stem needs stem_width, a positive number of channels "
                                                 "(ResNeSt-50: 32)")
        if not self.deep_stem and self.stem_width is not None:
            raise field_error(self, "stem_width", "stem_width applies to deep_stem: true; the 7x7 stem has 64 channels")
        _check_widths(self)
        with on_field("replace_conv"):
            _check_replacements(self)
        _check_dynamic(self)

    @property
    def expansion(self) -> int:
        return 4 if self.block == "bottleneck" else 1

    @property
    def stem_channels(self) -> int:
        return 2 * self.stem_width if self.deep_stem else 64

    def replacements(self) -> tuple:
        """Every placement that replaces a 3x3 conv: the definition's, then those added."""
        return self.replace_conv + tuple(p for p in self.attention if p.where == "replace_conv")

    def bottleneck_width(self, planes: int) -> int:
        """The width of the bottleneck's 3x3 conv (torchvision: planes * width_per_group / 64 * groups)."""
        return planes * self.width_per_group // 64 * self.groups

    def conv_strides(self, stride: int) -> tuple:
        """(stride of the first 1x1, stride of the 3x3) of a bottleneck of ``stride``."""
        return (stride, 1) if self.stride_on == "1x1" else (1, stride)

    def stage_blocks(self) -> dict:
        """{stage: number of blocks} of the stages attention goes into, numbered as the breakdown's
        ``stage1..stage4``."""
        return {stage: len(strides) for stage, _, strides in stage_settings(self)}


def _replacements(value) -> tuple:
    """A definition's ``replace_conv`` (a mapping such as ``{module: sk, hp: {...}}`` or a list of them)
    as placements of policy ``replace_conv``; placements pass as they are."""
    items = (value,) if isinstance(value, dict) else tuple(value or ())
    placements = []
    for item in items:
        if isinstance(item, AttentionPlacement):
            placements.append(item)
            continue
        if not isinstance(item, dict):
            raise SpecError("replace_conv is a mapping such as {module: sk, hp: {r: 16}} (or a list of them)")
        if "where" in item:
            raise SpecError("replace_conv: 'where' is replace_conv itself; leave it out")
        placements.append(placement_from_dict({**item, "where": "replace_conv"}, "replace_conv"))
    return tuple(placements)


def _check_replacements(spec: ResNetSpec) -> None:
    """A replacement needs a bottleneck's 3x3 conv; one conv is replaced once; every stride and channel
    count it meets must be one the module can take (checked here, before anything runs)."""
    stage_blocks = spec.stage_blocks()
    for placement in spec.replace_conv:
        check_placement(placement, spec.name, stage_blocks)
    replacements = spec.replacements()
    if replacements and spec.block != "bottleneck":
        with located(replacements[0]):
            raise SpecError(f"{replacements[0].module} where=replace_conv: it replaces a bottleneck's 3x3 conv, and "
                            f"{spec.name} is built of basic blocks (two 3x3 convs each)") from None
    for stage, planes, strides in stage_settings(spec):
        here = [p for p in replacements if p.replaces_conv(stage)]
        if len(here) > 1:
            own = " (the definition's replace_conv)" if here[0] in spec.replace_conv else ""
            with located(here[1]):
                raise SpecError(f"{here[1].module} where=replace_conv at stage {stage}: {spec.name}'s 3x3 convs "
                                f"there are {here[0].module}{own} already; a conv is replaced once") from None
        for placement in here:
            width = spec.bottleneck_width(planes)
            for stride in sorted({spec.conv_strides(s)[1] for s in strides}):
                replacement_hp(placement, stride, width, width)


def _check_widths(spec: ResNetSpec) -> None:
    """``groups`` and ``width_per_group`` shape a bottleneck's 3x3 conv, whose widest (stage 4's) stays
    within :data:`fields.MAX_CHANNELS`; a basic block has neither (torchvision's BasicBlock refuses
    them), nor a 1x1 conv to put the stride on."""
    if spec.block == "basic":
        for key, default in (("groups", 1), ("width_per_group", 64), ("stride_on", "3x3")):
            if getattr(spec, key) != default:
                raise field_error(spec, key, f"{key}={getattr(spec, key)} shapes a bottleneck's convs; {spec.name} is "
                                             f"built of basic blocks (two 3x3 convs each), which have none to shape")
        return
    widest = spec.bottleneck_width(STAGE_PLANES[-1])
    if widest > MAX_CHANNELS:
        raise field_error(spec, ("groups", "width_per_group") if spec.groups > 1 else ("width_per_group", "groups"),
                          f"groups={spec.groups} x width_per_group={spec.width_per_group} make stage 4's 3x3 conv "
                          f"{widest:,} channels wide; at most 2^20")


def _check_dynamic(spec: ResNetSpec) -> None:
    """DY-ResNet's fields (``dynamic.check_dynamic_fields``: the FC1 of every conv's kernel attention
    keeps a channel, the narrowest conv input being the stem's 64 channels or stage 1's bottleneck
    width); dynamic convs replace every conv, so neither a replaced 3x3 nor the deep stem (whose first
    conv alone would stay static) goes with them."""
    narrowest = 64 if spec.block == "basic" else min(64, spec.bottleneck_width(STAGE_PLANES[0]))
    check_dynamic_fields(spec, narrowest)
    if spec.dynamic_experts and (spec.replacements() or spec.deep_stem):
        raise field_error(spec, "dynamic_experts", "dynamic_experts makes every conv but the 7x7 stem's dynamic; it "
                                                   "goes with neither replace_conv nor deep_stem")


def _conv_bn_act(g: Program, x: Tensor, spec: ResNetSpec, out_channels, kernel, stride=1, *, groups=1, act=RELU,
                 name) -> Tensor:
    """A conv-BN-act of a block (ReLU unless told): static, or DY-ResNet's dynamic convolution."""
    return spec_conv_bn_act(g, x, spec, out_channels, kernel, stride, groups, act=act, name=name)


def stage_settings(spec: ResNetSpec):
    """(stage, planes, the strides of its blocks) of stages 1..4: 64..512 planes, the first block of
    stages 2..4 striding by 2 (torchvision's _make_layer). The torch reference walks the same."""
    for stage, (planes, blocks) in enumerate(zip(STAGE_PLANES, spec.layers), start=1):
        yield stage, planes, tuple((1 if stage == 1 else 2) if b == 0 else 1 for b in range(blocks))


def _block(g: Program, x: Tensor, spec: ResNetSpec, planes: int, stride: int, stage: int) -> Tensor:
    out_channels = planes * spec.expansion
    identity = x
    if spec.block == "bottleneck":
        width = spec.bottleneck_width(planes)
        s1, s3 = spec.conv_strides(stride)
        out = _conv_bn_act(g, x, spec, width, 1, s1, name="conv1")
        replacement = replaces_conv(spec.replacements(), stage)
        if replacement is None:
            out = _conv_bn_act(g, out, spec, width, 3, s3, groups=spec.groups, name="conv2")
        else:
            out = replace_conv(g, out, replacement, s3, width,
                               lambda y: g.relu(g.batch_norm(y, name="conv2_bn"), inplace=True))
        out = _conv_bn_act(g, out, spec, out_channels, 1, act=None, name="conv3")
    else:
        out = _conv_bn_act(g, x, spec, planes, 3, stride, name="conv1")
        out = _conv_bn_act(g, out, spec, planes, 3, act=None, name="conv2")
    out = attend(g, out, in_block(spec.attention, stage))
    if stride != 1 or x.shape[1] != out_channels:
        if spec.avg_down:
            pooled = g.avg_pool2d(x, stride, stride, ceil_mode=True)
            identity = conv_bn_act(g, pooled, out_channels, 1, act=None, name="downsample")
        else:
            identity = _conv_bn_act(g, x, spec, out_channels, 1, stride, act=None, name="downsample")
    out = g.add(out, identity, inplace=True)
    return g.relu(out, inplace=True)


def _block_key(spec: ResNetSpec, planes: int, stride: int, stage: int, x: Tensor) -> tuple:
    """Everything a block's ops depend on: blocks with equal keys are replayed, not recomputed."""
    attention = tuple((p.module, repr(sorted(p.hp.items()))) for p in in_block(spec.attention, stage))
    replacement = replaces_conv(spec.replacements(), stage)
    replaced = None if replacement is None else (replacement.module, repr(sorted(replacement.hp.items())))
    dynamic = (spec.dynamic_experts, spec.dynamic_reduction, spec.dynamic_temperature)
    return ("resnet-block", spec.block, spec.groups, spec.width_per_group, spec.stride_on, spec.avg_down, planes,
            stride, attention, replaced, dynamic, x.shape, x.strides)


def stem(g: Program, x: Tensor, spec: ResNetSpec) -> Tensor:
    """conv 7x7/2 to 64, BN, ReLU (or the deep stem), then max pool 3x3/2."""
    if spec.deep_stem:
        x = conv_bn_act(g, x, spec.stem_width, 3, 2, name="conv1")
        x = conv_bn_act(g, x, spec.stem_width, 3, 1, name="conv2")
        x = conv_bn_act(g, x, spec.stem_channels, 3, 1, name="conv3")
    else:
        x = conv_bn_act(g, x, 64, 7, 2, name="conv1")
    return g.max_pool2d(x, 3, 2, 1)


def resnet(g: Program, x: Tensor, spec: ResNetSpec) -> Tensor:
    """The whole network: stem, four stages, global pool, fc."""
    with g.scope("stem"):
        x = stem(g, x, spec)
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
