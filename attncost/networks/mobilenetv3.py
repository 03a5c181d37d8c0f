"""MobileNetV3-Large (Howard, Sandler, Chu, Chen, Chen, Tan, Wang, Zhu, Pang, Vasudevan, Le, Adam:
"Searching for MobileNetV3", ICCV 2019, Table 1) as a Program, following torchvision's
``mobilenet_v3_large`` (torchvision/models/mobilenetv3.py and ops/misc.py, pytorch/vision commit
2f7f558158c83c8119a02cd2446d85cd3c4c20e9; 5,483,032 parameters):

- stem: conv 3x3/2 to 16 (no bias), BN, Hardswish (in place);
- 15 inverted residuals (``INVERTED_RESIDUAL_SETTING``, Table 1's bneck rows): [expand conv 1x1 (no
  bias), BN, act] when the expanded width differs from the input's; depthwise k x k / s (no bias,
  padding (k - 1) // 2), BN, act; where the row says SE, torchvision's ``SqueezeExcitation`` with
  _make_divisible(expanded // 4, 8) squeeze channels: spatial mean, 1x1 conv (bias), ReLU (not in
  place), 1x1 conv (bias), Hardsigmoid (not in place), ``scale * x``; project conv 1x1 (no bias), BN;
  ``result += input`` (in place) where the stride is 1 and input and output channels agree. ``act`` is
  ReLU ("RE") or Hardswish ("HS"), in place (torchvision's Conv2dNormActivation);
- head: conv 1x1 to 6 x 160 = 960 (no bias), BN, Hardswish; global average pool; Linear 960 -> 1280,
  Hardswish (in place), Dropout (0.2, in place: the identity at inference, no op), Linear 1280 -> classes.

Channels are rounded with torchvision's _make_divisible(c * width, 8) (``mobilenet.make_divisible``).
The built-in SE runs in scope ``attention:se`` and its gate is marked as an attention map, so
``attention_share`` reports it. Stages (the breakdown's ``stage1..stage6``) group consecutive rows
by output width as timm's ``mobilenetv3_large_100`` block groups do: 16 (1 block), 24 (2), 40 (3),
80 (4), 112 (2), 160 (3). Inserted attention (``every_block`` only: one branch, no stage boundary worth
a BAM) goes at the end of each block's residual branch (after the project BN, before the add), in
blocks with a built-in SE too: ``--attn cbam`` adds CBAM after the projection, the SE stays.

``squeeze_excitation`` and ``inverted_residual`` are torchvision's blocks, shared with EfficientNet
(``networks/efficientnet.py``) and RegNet (``networks/regnet.py``, the SE).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, ClassVar

from ..catalogue.blocks import conv_bn_act, squeeze_excite
from ..cost import Program, Tensor
from ..ops.pointwise import HARDSIGMOID, HARDSWISH, RELU
from .attention import attend, in_block
from .fields import check_fields
from .mobilenet import make_divisible

# torchvision's bneck_conf rows of mobilenet_v3_large (Table 1): input channels, kernel, expanded
# channels, output channels, SE, activation ("RE" ReLU, "HS" Hardswish), stride (dilation 1)
INVERTED_RESIDUAL_SETTING = (
    (16, 3, 16, 16, False, "RE", 1), (16, 3, 64, 24, False, "RE", 2), (24, 3, 72, 24, False, "RE", 1),
    (24, 5, 72, 40, True, "RE", 2), (40, 5, 120, 40, True, "RE", 1), (40, 5, 120, 40, True, "RE", 1),
    (40, 3, 240, 80, False, "HS", 2), (80, 3, 200, 80, False, "HS", 1), (80, 3, 184, 80, False, "HS", 1),
    (80, 3, 184, 80, False, "HS", 1), (80, 3, 480, 112, True, "HS", 1), (112, 3, 672, 112, True, "HS", 1),
    (112, 5, 672, 160, True, "HS", 2), (160, 5, 960, 160, True, "HS", 1), (160, 5, 960, 160, True, "HS", 1),
)
LAST_CHANNEL = 1280                 # the classifier's hidden width (adjust_channels(1280))
ACTIVATION = {"RE": RELU, "HS": HARDSWISH}


@dataclass(frozen=True)
class MobileNetV3Spec:
    # inverted residuals have one branch and no stage boundaries worth a BAM: every_block only
    supported_placements: ClassVar[tuple] = ("every_block",)
    name: str
    width: float = 1.0              # torchvision's width_mult (_make_divisible(c * width, 8))
    num_classes: int = 1000
    attention: tuple = field(default=(), compare=False)

    def __post_init__(self):
        check_fields(self)

    def stage_blocks(self) -> dict:
        """{stage: number of blocks}: rows grouped by output width, the breakdown's ``stage1..stage6``."""
        counts: dict = {}
        for stage, *_ in block_settings(self):
            counts[stage] = counts.get(stage, 0) + 1
        return counts


def block_settings(spec: MobileNetV3Spec):
    """(stage, block, input, kernel, expanded, output channels, SE squeeze channels or None, activation
    ("RE" or "HS"), stride) of every inverted residual; the torch reference walks the same."""
    stage, block, previous = 0, 0, None
    for inp, kernel, expanded, out, se, act, stride in INVERTED_RESIDUAL_SETTING:
        stage, block = (stage, block + 1) if out == previous else (stage + 1, 0)
        previous = out
        expanded = make_divisible(expanded * spec.width)
        squeeze = make_divisible(expanded // 4) if se else None
        yield (stage, block, make_divisible(inp * spec.width), kernel, expanded, make_divisible(out * spec.width),
               squeeze, act, stride)


def squeeze_excitation(g: Program, x: Tensor, squeeze, *, act=RELU, gate=HARDSIGMOID, act_inplace=False) -> Tensor:
    """torchvision.ops.SqueezeExcitation: scale = gate(fc2(act(fc1(avgpool(x))))), 1x1 convs with bias,
    the scale marked as an attention map; ``scale * x``. Neither activation runs in place unless
    ``act_inplace`` (EfficientNet passes SiLU(inplace=True))."""
    return squeeze_excite(g, x, squeeze, act=act, gate=gate, names=("se_fc1", "se_fc2"), gate_first=True,
                          act_inplace=act_inplace, adaptive_pool=True)


def inverted_residual(g: Program, x: Tensor, out_channels, expanded, kernel, stride, *, act,
                      se: Callable[[Tensor], Tensor] | None = None,
                      attention: Callable[[Tensor], Tensor] | None = None) -> Tensor:
    """torchvision's InvertedResidual (MobileNetV3) / MBConv (EfficientNet) at inference: [expand 1x1]
    (when ``expanded`` differs from C), depthwise k x k / s, [``se`` in scope ``attention:se``], project
    1x1 + BN, [``attention``], ``result += input`` in place when stride is 1 and C_in == C_out."""
    c = x.shape[1]
    y = x
    if expanded != c:
        y = conv_bn_act(g, y, expanded, 1, act=act, name="expand")
    y = conv_bn_act(g, y, expanded, kernel, stride, groups=expanded, act=act, name="depthwise")
    if se is not None:
        with g.scope("attention:se"):
            y = se(y)
    y = conv_bn_act(g, y, out_channels, 1, act=None, name="project")
    if attention is not None:
        y = attention(y)
    if stride == 1 and out_channels == c:
        return g.add(y, x, inplace=True)
    return y


def mobilenet_v3(g: Program, x: Tensor, spec: MobileNetV3Spec) -> Tensor:
    """The whole network: stem, 6 stages of inverted residuals, last conv, global pool, classifier."""
    with g.scope("stem"):
        x = conv_bn_act(g, x, make_divisible(16 * spec.width), 3, 2, act=HARDSWISH, name="conv")
    for stage, b, _, kernel, expanded, out, squeeze, act, stride in block_settings(spec):
        with g.scope(f"stage{stage}", f"block{b}"):
            attention = in_block(spec.attention, stage)
            se = None if squeeze is None else (lambda y, squeeze=squeeze: squeeze_excitation(g, y, squeeze))
            x = inverted_residual(g, x, out, expanded, kernel, stride, act=ACTIVATION[act], se=se,
                                  attention=lambda y: attend(g, y, attention))
    with g.scope("head"):
        x = conv_bn_act(g, x, 6 * x.shape[1], 1, act=HARDSWISH, name="conv_last")
        x = g.global_avg_pool(x)
        x = g.view(x, x.shape[:2])
        x = g.unary(HARDSWISH, g.linear(x, make_divisible(LAST_CHANNEL * spec.width), name="fc1"), inplace=True)
        x = g.dropout(x, 0.2, inplace=True)                              # the identity at inference
        return g.linear(x, spec.num_classes, name="fc2")
