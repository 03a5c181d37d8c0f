"""Channel attention: squeeze-excitation, its variants, ECA, Gather-Excite, GC and simplified NL.

Equivalences worth knowing (timm's layers note the same): SE-Var-1 is GE-theta-minus with global
extent; SE-Var-3 with a bias and a hard sigmoid gate is eSE (CenterMask / VoVNetV2); SNL is a GC
block whose transform is a single 1x1 conv.
"""

from __future__ import annotations

from ...cost import Program, Tensor
from ...ops.pointwise import ELEMENTWISE
from ...errors import HyperparameterError
from ..blocks import squeeze_excite
from ..common import eca_kernel, fdiv, is_concrete
from ..registry import Hyperparameter as HP
from ..registry import Paper, register

SE_PAPER = Paper(
    title="Squeeze-and-Excitation Networks", authors="Hu, Shen, Albanie, Sun, Wu",
    venue="CVPR 2018 / TPAMI 2020", year=2018, equation="Eq. 2-4 (squeeze, excitation, scale)",
    code="github.com/hujie-frank/SENet",
    follows="official Caffe prototxt: 1x1 convs with bias, reduced channels C // r")

ECA_PAPER = Paper(
    title="ECA-Net: Efficient Channel Attention for Deep Convolutional Neural Networks",
    authors="Wang, Wu, Zhu, Li, Zuo, Hu", venue="CVPR 2020", year=2020,
    equation="Sec. 3.2 (SE-Var1/2/3, Table 2); Eq. 9 (local cross-channel), Eq. 12 (k = psi(C))",
    code="github.com/BangguWu/ECANet",
    follows="official eca_module.py: Conv1d(1, 1, k, padding=(k-1)//2, bias=False) over channels")

GE_PAPER = Paper(
    title="Gather-Excite: Exploiting Feature Context in Convolutional Neural Networks",
    authors="Hu, Shen, Albanie, Sun, Vedaldi", venue="NeurIPS 2018", year=2018,
    equation="Sec. 3 (gather xi_G, excite xi_E)",
    code="github.com/hujie-frank/GENet",
    follows="official prototxts for global extent (GEPF/GEP/GEPP); timm gather_excite.py for "
            "extents 2/4/8 (avg_pool2d 2e-1 / stride e, or log2(e) stride-2 depthwise 3x3 + BN)")

GC_PAPER = Paper(
    title="GCNet: Non-local Networks Meet Squeeze-Excitation Networks and Beyond",
    authors="Cao, Xu, Lin, Wei, Hu", venue="ICCVW 2019", year=2019,
    equation="Eq. 4 (global context block); Eq. 3 (simplified non-local)",
    code="github.com/xvjiarui/GCNet (mmcv ContextBlock)",
    follows="mmcv ContextBlock: conv_mask C->1 with bias, softmax over HW, channel_add transform "
            "conv C->C' (bias), LayerNorm([C',1,1]), ReLU, conv C'->C (bias); C' = int(C/r)")


def _gate(g: Program, x: Tensor, logits: Tensor, gate: str = "sigmoid") -> Tensor:
    """x * gate(logits), the gate broadcast over what it does not cover."""
    s = g.unary(ELEMENTWISE[gate], logits)
    g.mark_attention_map(s)
    return g.mul(x, s)


@register(
    "se", family="channel", aliases=("squeeze-excitation", "senet"),
    summary="squeeze (global average pool) and excite (C -> C/r -> C MLP, sigmoid) channel gate",
    paper=SE_PAPER,
    hyperparameters=[HP("r", 16, "reduction ratio: hidden channels C // r", minimum=1, symbolic=True)],
    hidden="r",
)
def se(g: Program, x: Tensor, *, r) -> Tensor:
    """s = sigmoid(W2 relu(W1 GAP(x))), y = x * s (SE Eq. 2-4), with 1x1 convs with bias."""
    return squeeze_excite(g, x, fdiv(x.shape[1], r), adaptive_pool=True)


@register(
    "se-var1", family="channel", 
    summary="parameter-free SE: sigmoid of the global average (= GE-theta-minus, global extent)",
    paper=ECA_PAPER,
)
def se_var1(g: Program, x: Tensor) -> Tensor:
    """omega = sigmoid(GAP(x)) (ECA-Net Sec. 3.2, SE-Var1; 0 parameters)."""
    return _gate(g, x, g.global_avg_pool(x))


@register(
    "se-var2", family="channel", 
    summary="SE with one weight per channel and no reduction: sigmoid(w * GAP(x))",
    paper=ECA_PAPER,
)
def se_var2(g: Program, x: Tensor) -> Tensor:
    """omega = sigmoid(w . y), W diagonal (ECA-Net SE-Var2; C parameters): a depthwise 1x1 conv."""
    c = x.shape[1]
    return _gate(g, x, g.conv(g.global_avg_pool(x), c, 1, groups=c, bias=False, name="w"))


def _se_var3(g: Program, x: Tensor, *, bias, gate) -> Tensor:
    c = x.shape[1]
    return _gate(g, x, g.conv(g.global_avg_pool(x), c, 1, bias=bias, name="w"), gate)


register(
    "se-var3", family="channel", 
    summary="SE with one full C x C layer and no reduction: sigmoid(W GAP(x))",
    paper=ECA_PAPER,
    hyperparameters=[HP("bias", False, "bias on the C x C layer", type=bool),
                     HP("gate", "sigmoid", "gate function", type=str, choices=("sigmoid", "hardsigmoid"))],
    notes="With bias=True and gate=hardsigmoid this is eSE (the 'ese' entry).",
)(_se_var3)

register(
    "ese", family="channel", aliases=("effective-se",),
    summary="effective SE (CenterMask/VoVNetV2): SE-Var3 with bias and a hard-sigmoid gate",
    paper=Paper(title="CenterMask: Real-Time Anchor-Free Instance Segmentation", authors="Lee, Park",
                venue="CVPR 2020", year=2020, equation="Eq. 1 (eSE)", code="github.com/youngwanLEE/CenterMask",
                follows="eSE: GAP, 1x1 conv C->C with bias, hard sigmoid, multiply"),
    hyperparameters=[HP("bias", True, "bias on the C x C layer", type=bool),
                     HP("gate", "hardsigmoid", "gate function", type=str, choices=("sigmoid", "hardsigmoid"))],
)(_se_var3)


def _eca_check(shape, hp):
    if hp["k"] is not None and is_concrete(hp["k"]) and hp["k"] % 2 == 0:
        raise HyperparameterError(f"eca.k={hp['k']} must be odd (ECA pads (k-1)//2 on both sides)")


@register(
    "eca", family="channel", aliases=("eca-net", "ecanet"),
    summary="efficient channel attention: 1-D conv of size k across pooled channels, no reduction",
    paper=ECA_PAPER,
    hyperparameters=[
        HP("k", None, "kernel size; default |log2(C)/gamma + b/gamma|_odd (Eq. 12)", minimum=1, odd=True,
           optional=True, symbolic=True),
        HP("gamma", 2, "gamma of Eq. 12", minimum=1),
        HP("b", 1, "b of Eq. 12", minimum=0),
    ],
    check=_eca_check,
)
def eca(g: Program, x: Tensor, *, k, gamma, b) -> Tensor:
    """omega = sigmoid(C1D_k(GAP(x))) (ECA Eq. 9 with k from Eq. 12); k parameters."""
    n, c = x.shape[:2]
    if k is None:
        k = eca_kernel(int(c), gamma, b)
    y = g.global_avg_pool(x)                       # (N, C, 1, 1)
    y = g.view(y, (n, c, 1))                       # squeeze(-1)
    y = g.transpose(y, 1, 2)                       # (N, 1, C)
    padding = fdiv(k - 1, 2) if is_concrete(k) else (k - 1) / 2  # k is odd
    y = g.conv(y, 1, k, padding=padding, bias=False, name="conv")
    y = g.transpose(y, 1, 2)                       # (N, C, 1)
    y = g.view(y, (n, c, 1, 1))                    # unsqueeze(-1)
    s = g.sigmoid(y)
    g.mark_attention_map(s)
    return g.mul(x, g.view(s, x.shape))            # x * y.expand_as(x)


EXTENTS = ("global", "2", "4", "8")


def _ge_gather_pool(g: Program, x: Tensor, extent: str) -> Tensor:
    """GE-theta-minus gather: global average, or avg_pool2d(2e-1, stride e, pad e-1)."""
    if extent == "global":
        return g.global_avg_pool(x)
    e = int(extent)
    return g.avg_pool2d(x, 2 * e - 1, e, e - 1)


def _ge_gather_conv(g: Program, x: Tensor, extent: str, relu_after: bool) -> Tensor:
    """GE-theta gather: one depthwise conv spanning the whole map (global, official GEP), or
    log2(e) depthwise 3x3 stride-2 convs, each followed by BN, ReLU between them (timm)."""
    c = x.shape[1]
    if extent == "global":
        y = g.conv(x, c, (x.shape[2], x.shape[3]), groups=c, bias=False, name="gather")
        y = g.batch_norm(y, name="gather_bn")
        return g.relu(y, inplace=True) if relu_after else y
    steps = int(extent).bit_length() - 1
    y = x
    for i in range(steps):
        y = g.conv(y, c, 3, stride=2, padding=1, groups=c, bias=False, name=f"gather{i}")
        y = g.batch_norm(y, name=f"gather_bn{i}")
        if i < steps - 1 or relu_after:
            y = g.relu(y, inplace=True)
    return y


def _ge_excite(g: Program, x: Tensor, context: Tensor, extent: str) -> Tensor:
    """Excite: interpolate the context back to H x W (nearest) unless global, sigmoid, multiply."""
    if extent != "global":
        context = g.interpolate(context, (x.shape[2], x.shape[3]), "nearest")
    return _gate(g, x, context)


@register(
    "ge-theta-minus", family="channel", aliases=("ge-minus", "gather-excite-minus"),
    summary="parameter-free gather-excite: average pooling over extent e, nearest upsampling, sigmoid",
    paper=GE_PAPER,
    hyperparameters=[HP("extent", "global", "gather extent", type=str, choices=EXTENTS)],
)
def ge_theta_minus(g: Program, x: Tensor, *, extent) -> Tensor:
    """y = x * sigmoid(interp(avgpool_e(x))) (GE-theta-minus, 0 parameters)."""
    return _ge_excite(g, x, _ge_gather_pool(g, x, extent), extent)


@register(
    "ge-theta", family="channel", aliases=("gather-excite",),
    summary="gather-excite with learned depthwise gather convs (+ BN), nearest upsampling, sigmoid",
    paper=GE_PAPER,
    hyperparameters=[HP("extent", "global", "gather extent", type=str, choices=EXTENTS)],
    notes="Global extent follows the official GEP prototxt: one depthwise conv whose kernel is the "
          "whole H x W map, so its parameters grow with the resolution (C*H*W + 2C).",
)
def ge_theta(g: Program, x: Tensor, *, extent) -> Tensor:
    """y = x * sigmoid(interp(BN(DWConv(x)))) (GE-theta)."""
    return _ge_excite(g, x, _ge_gather_conv(g, x, extent, relu_after=False), extent)


@register(
    "ge-theta-plus", family="channel", aliases=("ge-plus", "gather-excite-plus"),
    summary="GE-theta gather, then an SE-style C -> C/r -> C excite MLP before the sigmoid",
    paper=GE_PAPER,
    hyperparameters=[HP("extent", "global", "gather extent", type=str, choices=EXTENTS),
                     HP("r", 16, "excite MLP reduction ratio", minimum=1, symbolic=True)],
    hidden="r",
)
def ge_theta_plus(g: Program, x: Tensor, *, extent, r) -> Tensor:
    """y = x * sigmoid(interp(W2 relu(W1 relu(BN(DWConv(x)))))) (GE-theta-plus, official GEPP)."""
    c = x.shape[1]
    y = _ge_gather_conv(g, x, extent, relu_after=True)
    y = g.conv(y, fdiv(c, r), 1, name="fc1")
    y = g.relu(y, inplace=True)
    y = g.conv(y, c, 1, name="fc2")
    return _ge_excite(g, x, y, extent)


def _context_pool(g: Program, x: Tensor) -> Tensor:
    """GC/SNL context modelling: softmax(W_k x) over positions, weighted sum of x -> (N, C, 1, 1)."""
    n, c, h, w = x.shape
    mask = g.conv(x, 1, 1, name="conv_mask")           # (N, 1, H, W)
    mask = g.view(mask, (n, 1, h * w))
    mask = g.softmax(mask, 2)
    g.mark_attention_map(mask)
    mask = g.view(mask, (n, h * w, 1))                  # transpose of (N, 1, HW)
    xs = g.view(x, (n, c, h * w))
    context = g.bmm(xs, mask)                           # (N, C, 1)
    return g.view(context, (n, c, 1, 1))


@register(
    "gc", family="channel", aliases=("gcnet", "global-context"),
    summary="global context block: softmax-pooled context, bottleneck transform with LayerNorm, add",
    paper=GC_PAPER,
    hyperparameters=[HP("r", 16, "bottleneck ratio: C' = C // r", minimum=1, symbolic=True)],
    hidden="r",
)
def gc(g: Program, x: Tensor, *, r) -> Tensor:
    """z = x + W_v2 relu(LN(W_v1 sum_j softmax(W_k x)_j x_j)) (GCNet Eq. 4)."""
    c = x.shape[1]
    context = _context_pool(g, x)
    t = g.conv(context, fdiv(c, r), 1, name="transform1")
    t = g.layer_norm(t, 3, name="ln")
    t = g.relu(t, inplace=True)
    t = g.conv(t, c, 1, name="transform2")
    return g.add(x, t)


@register(
    "snl", family="channel", aliases=("simplified-nonlocal", "simplified-non-local"),
    summary="simplified non-local: softmax-pooled global context, one 1x1 conv W_v, add",
    paper=GC_PAPER,
    notes="No official SNL code: follows the GCNet paper with mmcv's conventions (biases on).",
)
def snl(g: Program, x: Tensor) -> Tensor:
    """z = x + W_v sum_j softmax(W_k x)_j x_j (GCNet Eq. 3)."""
    context = _context_pool(g, x)
    return g.add(x, g.conv(context, x.shape[1], 1, name="w_v"))
