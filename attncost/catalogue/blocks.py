"""Blocks written once against Program and shared by the catalogue's entries, the reference networks
(attncost/networks/) and the latency table's segments (attncost/lut/segments.py). The torch side
mirrors them, name for name, in attncost/reference/blocks.py.

- ``conv_bn_act``: conv k x k (no bias unless asked, "same" padding (k - 1) // 2 unless given),
  eval-mode BatchNorm, then an activation (an ``ops.pointwise`` kind; ``None`` for none), in place
  as torchvision and timm run it.
- ``squeeze_excite``: SE (Hu et al., CVPR 2018, Eq. 2-4): s = gate(W2 act(W1 GAP(x))) with 1x1 convs
  with bias, s marked as an attention map, x * s.
- ``mbconv``: the inverted residual of MobileNetV2, MnasNet and Single-Path NAS: [1x1 expand, BN,
  act] (left out when the hidden width is C, i.e. expansion 1), depthwise k x k / stride s, BN, act,
  [SE, scope ``attention:se``], 1x1 project, BN, [attention], + x when stride is 1 and C_in == C_out.

Names given to convs and norms name their parameters, which are local to the enclosing scope; two
layers of one scope need distinct names (a repeated name is weight sharing).
"""

from __future__ import annotations

from typing import Callable

from ..cost import Program, Tensor
from ..ops.pointwise import HARDTANH, RELU, SIGMOID
from .common import fdiv

#: Activations of networks and search spaces by name: ReLU6 counts as hardtanh (aten.hardtanh_).
ACTIVATIONS = {"relu": RELU, "relu6": HARDTANH}


def conv_bn_act(g: Program, x: Tensor, out_channels, kernel, stride=1, *, padding=None, groups=1, bias=False,
                act=RELU, inplace=True, name="conv", bn_name=None) -> Tensor:
    """act(BN(conv_kxk(x))); ``act=None`` stops after the norm. BN is named ``name + "_bn"`` by default."""
    y = g.conv(x, out_channels, kernel, stride=stride, padding=fdiv(kernel - 1, 2) if padding is None else padding,
               groups=groups, bias=bias, name=name)
    y = g.batch_norm(y, name=name + "_bn" if bn_name is None else bn_name)
    return y if act is None else g.unary(act, y, inplace=inplace)


def squeeze_excite(g: Program, x: Tensor, reduced, *, act=RELU, gate=SIGMOID, names=("fc1", "fc2"),
                   gate_first=False, act_inplace=True, adaptive_pool=False) -> Tensor:
    """x * gate(W2 act(W1 GAP(x))), W1: C -> ``reduced``, W2: back to C (1x1 convs with bias);
    ``gate_first`` multiplies gate * x, operands in the order of code that writes it so (MnasNet);
    ``act_inplace=False`` for code whose activation is not in place (torchvision's SqueezeExcitation).
    GAP is ``x.mean((2, 3), keepdim=True)`` (MnasNet's reference), or, with ``adaptive_pool``,
    nn.AdaptiveAvgPool2d(1) (torchvision's), which restrides a channels-last mean in place."""
    s = g.global_avg_pool(x) if adaptive_pool else g.spatial_mean(x)
    s = g.unary(act, g.conv(s, reduced, 1, name=names[0]), inplace=act_inplace)
    s = g.mark_attention_map(g.unary(gate, g.conv(s, x.shape[1], 1, name=names[1])))
    return g.mul(s, x) if gate_first else g.mul(x, s)


def mbconv(g: Program, x: Tensor, out_channels, hidden, kernel, stride=1, *, act=RELU, se_channels=None,
           attention: Callable[[Tensor], Tensor] | None = None, identity_first=False) -> Tensor:
    """The inverted residual on ``x`` (C channels) with ``hidden`` expanded channels.

    ``se_channels``: squeeze-excitation after the depthwise conv with that many reduced channels (MnasNet:
    from the block's input filters). ``attention``: applied to the branch before the residual add.
    ``identity_first``: the add reads x + branch (torchvision's MobileNetV2) instead of branch + x.
    """
    c = x.shape[1]
    y = x
    if hidden != c:
        y = conv_bn_act(g, y, hidden, 1, act=act, name="expand")
    y = conv_bn_act(g, y, hidden, kernel, stride, groups=hidden, act=act, name="depthwise")
    if se_channels is not None:
        with g.scope("attention:se"):
            y = squeeze_excite(g, y, se_channels, names=("se_reduce", "se_expand"), gate_first=True)
    y = conv_bn_act(g, y, out_channels, 1, act=None, name="project")
    if attention is not None:
        y = attention(y)
    if stride == 1 and out_channels == c:
        return g.add(x, y) if identity_first else g.add(y, x)
    return y
