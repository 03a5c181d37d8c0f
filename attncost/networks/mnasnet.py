"""MnasNet-A1 (Tan, Chen, Pang, Vasudevan, Sandler, Howard, Le: "MnasNet: Platform-Aware Neural
Architecture Search for Mobile", CVPR 2019, Figure 7(a)) as a Program, following the official
TensorFlow code (github.com/tensorflow/tpu models/official/mnasnet: mnasnet_models.py ``mnasnet_a1``
block strings, mnasnet_model.py ``MnasBlock`` / ``MnasNetModel``):

- stem: conv 3x3/2 to 32 (no bias), BN, ReLU;
- MBConv blocks: [expand conv 1x1 (no bias), BN, ReLU] when the expansion is not 1; depthwise k x k
  conv (no bias, "same" padding), BN, ReLU; squeeze-excitation where the block string says ``se``:
  spatial mean, 1x1 conv (bias) to max(1, int(block input filters * se_ratio)), ReLU, 1x1 conv (bias)
  back to the expanded width, sigmoid, multiply; project conv 1x1 (no bias), BN; identity added where
  the stride is 1 and input and output filters agree;
- head: conv 1x1 to 1280 (no bias; the official code does not scale it with the width), BN, ReLU,
  global average pool, dropout (the identity at inference), fully connected to the classes (bias).

In PyTorch terms (the reference in attncost/reference/networks.py): ReLUs in place, as torchvision's
MNASNet, the SE gate's sigmoid and multiply and the residual add not in place. TF's "same" padding
gives ceil(H / s), as PyTorch's symmetric padding (k - 1) / 2 does for odd k. The built-in SE runs in
scope ``attention:se`` and its gate is marked as an attention map. Inserted attention goes at the end
of each block's residual branch (before the add), for the blocks of the placement's stages (1..7, as
the breakdown numbers them), as in MobileNetV2; ``after_stage`` and ``after_blocks`` placements do not
apply.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from ..catalogue.blocks import conv_bn_act, mbconv
from ..cost import Program, Tensor
from .attention import attend, in_block
from .fields import check_fields
from .mobilenet import make_divisible

# the official mnasnet_a1 block strings: repeats r, kernel k, stride s, expansion e, input filters i,
# output filters o, squeeze-excitation ratio se (0: none)
MNASNET_A1_BLOCKS = ((1, 3, 1, 1, 32, 16, 0.0), (2, 3, 2, 6, 16, 24, 0.0), (3, 5, 2, 3, 24, 40, 0.25),
                     (4, 3, 2, 6, 40, 80, 0.0), (2, 3, 1, 6, 80, 112, 0.25), (3, 5, 2, 6, 112, 160, 0.25),
                     (1, 3, 1, 6, 160, 320, 0.0))
STEM_FILTERS = 32
HEAD_FILTERS = 1280


@dataclass(frozen=True)
class MnasNetSpec:
    # inverted residuals have one branch and no stage boundaries worth a BAM: every_block only
    supported_placements: ClassVar[tuple] = ("every_block",)
    name: str
    width: float = 1.0              # the official depth_multiplier (round_filters, divisor 8)
    num_classes: int = 1000
    attention: tuple = field(default=(), compare=False)

    def __post_init__(self):
        check_fields(self)

    def stage_blocks(self) -> dict:
        """{stage: number of blocks}: the seven block strings, the breakdown's ``stage1..stage7``."""
        return {stage: blocks[0] for stage, blocks in enumerate(MNASNET_A1_BLOCKS, start=1)}


def round_filters(filters: int, width: float) -> int:
    """The official round_filters: unchanged at width 1, else torchvision-style rounding to 8."""
    return filters if width == 1.0 else make_divisible(filters * width)


def se_reduced_filters(input_filters: int, se_ratio: float) -> int:
    """The official num_reduced_filters: from the block's INPUT filters, not its expanded width."""
    return max(1, int(input_filters * se_ratio))


def block_settings(spec: MnasNetSpec):
    """(stage, block, input filters, output filters, kernel, stride, expansion, se_ratio) of every block."""
    for stage, (repeats, kernel, stride, expansion, inp, out, se_ratio) in enumerate(MNASNET_A1_BLOCKS, start=1):
        inp, out = round_filters(inp, spec.width), round_filters(out, spec.width)
        for b in range(repeats):
            yield stage, b, inp if b == 0 else out, out, kernel, stride if b == 0 else 1, expansion, se_ratio


def mnasnet(g: Program, x: Tensor, spec: MnasNetSpec) -> Tensor:
    """The whole network: stem, 7 stages of MBConv blocks, head conv, global pool, fc."""
    with g.scope("stem"):
        x = conv_bn_act(g, x, round_filters(STEM_FILTERS, spec.width), 3, 2, name="conv_stem")
    for stage, b, inp, out, kernel, stride, expansion, se_ratio in block_settings(spec):
        with g.scope(f"stage{stage}", f"block{b}"):
            attention = in_block(spec.attention, stage)
            x = mbconv(g, x, out, inp * expansion, kernel, stride,
                       se_channels=se_reduced_filters(inp, se_ratio) if se_ratio else None,
                       attention=lambda y: attend(g, y, attention))
    with g.scope("head"):
        x = conv_bn_act(g, x, HEAD_FILTERS, 1, name="conv_head")
        x = g.global_avg_pool(x)
        x = g.view(x, x.shape[:2])
        return g.linear(x, spec.num_classes, name="fc")
