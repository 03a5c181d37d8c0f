"""Spatial and channel-spatial gates: CBAM (channel gate, spatial gate, both), BAM (channel, spatial,
both) and cSE / sSE / scSE.

CBAM and BAM follow Jongchan/attention-module, the authors' code. Where the code and the paper
disagree the code wins by default and the paper is a hyperparameter: BAM's code multiplies the two
branches (``combine=mul``), its paper adds them (``combine=add``); both cost the same.

cSE / sSE / scSE (Roy et al.) follow ai-med/squeeze_and_excitation, the authors' code. cSE is SE
with nn.Linear layers and r = 2; sSE is a 1x1 conv to one map; scSE combines them with torch.max
in the code (the default) and with an addition in the MICCAI paper (``combine=add``).

Coordinate attention, SimAM and triplet attention follow their authors' code (houqb/CoordAttention,
ZjjConan/SimAM, landskape-ai/triplet-attention): CA pools along each spatial direction and gates by
a pair of 1-D maps; SimAM's 3-D weights come from a closed-form energy, without parameters; triplet
attention runs CBAM's spatial gate (with an in-place sigmoid) on three rotations of the tensor.
"""

from __future__ import annotations

from ...algebra import maximum
from ...cost import Program, Tensor
from ...errors import HyperparameterError
from ...ops.pointwise import ELEMENTWISE, HARDTANH, POW, REDUCE_MEAN, REDUCE_SUM, SUB
from ..common import fdiv, is_concrete
from ..registry import Hyperparameter as HP
from ..registry import Paper, register

CBAM_PAPER = Paper(
    title="CBAM: Convolutional Block Attention Module", authors="Woo, Park, Lee, Kweon",
    venue="ECCV 2018", year=2018, equation="Eq. 1 (sequence), Eq. 2 (channel), Eq. 3 (spatial)",
    code="github.com/Jongchan/attention-module",
    follows="official cbam.py: shared nn.Linear MLP with bias on avg- and max-pooled vectors; "
            "spatial gate cat(max_C, mean_C), 7x7 conv without bias, BatchNorm, sigmoid")

BAM_PAPER = Paper(
    title="BAM: Bottleneck Attention Module", authors="Park, Woo, Lee, Kweon",
    venue="BMVC 2018", year=2018, equation="Eq. 1-4 (M(F) = sigmoid(M_c(F) + M_s(F)), F' = F + F * M)",
    code="github.com/Jongchan/attention-module",
    follows="official bam.py (its avg_pool2d kernel H assumes square maps; (H, W) here): channel "
            "Linear-BN1d-ReLU-Linear (bias); spatial 1x1 reduce + two dilated "
            "3x3 (BN, ReLU) + 1x1 to one map; att = 1 + sigmoid(channel * spatial)")

SCSE_PAPER = Paper(
    title="Concurrent Spatial and Channel 'Squeeze & Excitation' in Fully Convolutional Networks",
    authors="Roy, Navab, Wachinger", venue="MICCAI 2018", year=2018,
    equation="Sec. 2.1 (cSE: z = GAP(U), s = sigmoid(W2 relu(W1 z))), Sec. 2.2 (sSE: q = sigmoid(W_sq * U)), "
             "Sec. 2.3 (scSE = cSE(U) + sSE(U))",
    code="github.com/ai-med/squeeze_and_excitation",
    follows="official squeeze_and_excitation.py: ChannelSELayer (mean over HW, nn.Linear C -> C//r -> C with "
            "bias, r = 2, ReLU, sigmoid), SpatialSELayer (1x1 conv C -> 1 with bias, sigmoid), "
            "ChannelSpatialSELayer combines the two outputs with torch.max (the paper adds them)")


def _cbam_channel_attention(g: Program, x: Tensor, r) -> Tensor:
    """Shared MLP over avg- and max-pooled descriptors, summed: M_c(F) of CBAM Eq. 2 (logits)."""
    n, c, h, w = x.shape
    hidden = fdiv(c, r)
    total = None
    for pool in (g.avg_pool2d, g.max_pool2d):                   # each pool just before its MLP, as the code runs
        pooled = pool(x, (h, w), (h, w))
        y = g.view(pooled, (n, c))                              # Flatten
        y = g.linear(y, hidden, name="mlp1")
        y = g.relu(y)
        y = g.linear(y, c, name="mlp2")
        total = y if total is None else g.add(total, y)
    return total


def _cbam_channel(g: Program, x: Tensor, r) -> Tensor:
    n, c = x.shape[:2]
    s = g.sigmoid(_cbam_channel_attention(g, x, r))
    g.mark_attention_map(s)
    s = g.view(g.view(g.view(s, (n, c, 1)), (n, c, 1, 1)), x.shape)  # unsqueeze x2, expand_as
    return g.mul(x, s)


def _cbam_spatial(g: Program, x: Tensor, kernel) -> Tensor:
    n, c, h, w = x.shape
    mx = g.view(g.max_dim(x, 1), (n, 1, h, w))                  # max over C, unsqueeze(1)
    mean = g.view(g.reduce(REDUCE_MEAN, x, 1), (n, 1, h, w))         # mean over C, unsqueeze(1)
    pooled = g.cat([mx, mean], 1)                               # (N, 2, H, W)
    y = g.conv(pooled, 1, kernel, padding=fdiv(kernel - 1, 2), bias=False, name="spatial_conv")
    y = g.batch_norm(y, name="spatial_bn")
    s = g.sigmoid(y)
    g.mark_attention_map(s)
    return g.mul(x, s)


R = HP("r", 16, "reduction ratio of the shared MLP: hidden = C // r", minimum=1, symbolic=True)
KERNEL = HP("kernel", 7, "spatial conv kernel size", minimum=1, odd=True)


@register("cbam-channel", family="spatial", aliases=("cbam-cam",),
          summary="CBAM channel gate: shared MLP on avg- and max-pooled vectors, summed, sigmoid",
          paper=CBAM_PAPER, hyperparameters=[R], hidden="r")
def cbam_channel(g: Program, x: Tensor, *, r) -> Tensor:
    """F' = sigmoid(MLP(AvgPool(F)) + MLP(MaxPool(F))) * F (CBAM Eq. 2)."""
    return _cbam_channel(g, x, r)


@register("cbam-spatial", family="spatial", aliases=("cbam-sam",),
          summary="CBAM spatial gate: k x k conv over [max_C; mean_C] maps, BN, sigmoid",
          paper=CBAM_PAPER, hyperparameters=[KERNEL])
def cbam_spatial(g: Program, x: Tensor, *, kernel) -> Tensor:
    """F'' = sigmoid(BN(conv_kxk([MaxPool_C(F); AvgPool_C(F)]))) * F (CBAM Eq. 3)."""
    return _cbam_spatial(g, x, kernel)


@register("cbam", family="spatial", aliases=("convolutional-block-attention",),
          summary="CBAM: channel gate, then spatial gate (sequential, channel first)",
          paper=CBAM_PAPER, hyperparameters=[R, KERNEL], hidden="r")
def cbam(g: Program, x: Tensor, *, r, kernel) -> Tensor:
    """F' = M_c(F) * F, F'' = M_s(F') * F' (CBAM Eq. 1)."""
    return _cbam_spatial(g, _cbam_channel(g, x, r), kernel)


def _bam_channel(g: Program, x: Tensor, r) -> Tensor:
    """BAM channel branch M_c(F) logits, (N, C) -> expanded view over H x W."""
    n, c, h, w = x.shape
    y = g.view(g.avg_pool2d(x, (h, w), (h, w)), (n, c))        # global avg_pool2d, Flatten
    y = g.linear(y, fdiv(c, r), name="gate_c_fc0")
    y = g.batch_norm(y, name="gate_c_bn0")
    y = g.relu(y)
    y = g.linear(y, c, name="gate_c_fc_final")
    return g.view(g.view(g.view(y, (n, c, 1)), (n, c, 1, 1)), x.shape)


def _bam_spatial(g: Program, x: Tensor, r, dilation) -> Tensor:
    """BAM spatial branch M_s(F) logits: 1x1 reduce, two dilated 3x3, 1x1 to one map, expanded."""
    hidden = fdiv(x.shape[1], r)
    y = g.conv(x, hidden, 1, name="gate_s_reduce")
    y = g.relu(g.batch_norm(y, name="gate_s_bn_reduce"))
    for i in range(2):
        y = g.conv(y, hidden, 3, padding=dilation, dilation=dilation, name=f"gate_s_di{i}")
        y = g.relu(g.batch_norm(y, name=f"gate_s_bn_di{i}"))
    y = g.conv(y, 1, 1, name="gate_s_final")
    return g.view(y, x.shape)


def _bam_apply(g: Program, x: Tensor, logits: Tensor) -> Tensor:
    """F' = F * (1 + sigmoid(M(F))) (BAM Eq. 1: F + F * M(F))."""
    att = g.sigmoid(logits)
    g.mark_attention_map(att)
    att = g.add(att, 1)
    return g.mul(att, x)


BAM_R = HP("r", 16, "reduction ratio of both branches: hidden = C // r", minimum=1, symbolic=True)
DILATION = HP("dilation", 4, "dilation of the spatial branch's 3x3 convs", minimum=1)


@register("bam-channel", family="spatial", 
          summary="BAM channel branch alone: pooled MLP with BatchNorm, F * (1 + sigmoid(M_c))",
          paper=BAM_PAPER, hyperparameters=[BAM_R], hidden="r")
def bam_channel(g: Program, x: Tensor, *, r) -> Tensor:
    """F' = F * (1 + sigmoid(M_c(F))) (BAM Eq. 3, the channel-only ablation)."""
    return _bam_apply(g, x, _bam_channel(g, x, r))


@register("bam-spatial", family="spatial", 
          summary="BAM spatial branch alone: 1x1 reduce, two dilated 3x3, 1x1, F * (1 + sigmoid(M_s))",
          paper=BAM_PAPER, hyperparameters=[BAM_R, DILATION], hidden="r")
def bam_spatial(g: Program, x: Tensor, *, r, dilation) -> Tensor:
    """F' = F * (1 + sigmoid(M_s(F))) (BAM Eq. 4, the spatial-only ablation)."""
    return _bam_apply(g, x, _bam_spatial(g, x, r, dilation))


@register("bam", family="spatial", aliases=("bottleneck-attention",),
          summary="BAM: channel and spatial branches combined, F * (1 + sigmoid(M_c o M_s))",
          paper=BAM_PAPER,
          hyperparameters=[BAM_R, DILATION,
                           HP("combine", "mul", "how the branches combine: mul (official code) or add (paper)",
                              type=str, choices=("mul", "add"))],
          hidden="r")
def bam(g: Program, x: Tensor, *, r, dilation, combine) -> Tensor:
    """F' = F * (1 + sigmoid(M_c(F) o M_s(F))) (BAM Eq. 1-2; o = * in code, + in the paper)."""
    channel = _bam_channel(g, x, r)
    spatial = _bam_spatial(g, x, r, dilation)
    return _bam_apply(g, x, g.binary(ELEMENTWISE[combine], channel, spatial))


# -- cSE, sSE, scSE ------------------------------------------------------------------------------

def _cse(g: Program, x: Tensor, r) -> Tensor:
    """U * sigmoid(W2 relu(W1 mean_HW(U))) with nn.Linear layers (official ChannelSELayer)."""
    n, c, h, w = x.shape
    z = g.reduce(REDUCE_MEAN, g.view(x, (n, c, h * w)), 2)          # (N, C)
    s = g.linear(z, fdiv(c, r), name="cse.fc1")
    s = g.relu(s)
    s = g.sigmoid(g.linear(s, c, name="cse.fc2"))
    g.mark_attention_map(s)
    return g.mul(x, g.view(s, (n, c, 1, 1)))


def _sse(g: Program, x: Tensor) -> Tensor:
    """U * sigmoid(conv1x1(U)): one spatial map (official SpatialSELayer)."""
    n, c, h, w = x.shape
    q = g.sigmoid(g.conv(x, 1, 1, name="sse.conv"))
    g.mark_attention_map(q)
    return g.mul(x, g.view(q, (n, 1, h, w)))


SCSE_R = HP("r", 2, "reduction ratio of the cSE MLP: hidden = C // r", minimum=1, symbolic=True)


@register("cse", family="spatial", aliases=("channel-se",),
          summary="channel squeeze & excitation of scSE: SE with nn.Linear layers and r = 2",
          paper=SCSE_PAPER, hyperparameters=[SCSE_R], hidden="r",
          notes="The arithmetic of the 'se' entry with r = 2, counted as the official code runs it: the "
                "squeeze is a mean over an (N, C, HW) view (reduce.mean) and the MLP is nn.Linear (mac.linear).")
def cse(g: Program, x: Tensor, *, r) -> Tensor:
    """cSE (Roy et al. Sec. 2.1): squeeze spatially, excite channel-wise."""
    return _cse(g, x, r)


@register("sse", family="spatial", aliases=("spatial-se",),
          summary="spatial squeeze & excitation: 1x1 conv C -> 1 (bias), sigmoid, multiply",
          paper=SCSE_PAPER)
def sse(g: Program, x: Tensor) -> Tensor:
    """sSE (Roy et al. Sec. 2.2): squeeze channel-wise, excite spatially."""
    return _sse(g, x)


@register("scse", family="spatial", aliases=("concurrent-se", "sc-se"),
          summary="concurrent spatial and channel SE: cSE(U) and sSE(U) combined by max (code) or add (paper)",
          paper=SCSE_PAPER,
          hyperparameters=[SCSE_R, HP("combine", "max", "how cSE and sSE outputs combine: max (official code) "
                                      "or add (MICCAI paper)", type=str, choices=("max", "add"))],
          hidden="r")
def scse(g: Program, x: Tensor, *, r, combine) -> Tensor:
    """scSE (Roy et al. Sec. 2.3): max(cSE(U), sSE(U)) in the code, cSE(U) + sSE(U) in the paper."""
    channel = _cse(g, x, r)
    spatial = _sse(g, x)
    return g.maximum(channel, spatial) if combine == "max" else g.add(channel, spatial)


# -- coordinate attention, SimAM, triplet attention ----------------------------------------------

CA_PAPER = Paper(
    title="Coordinate Attention for Efficient Mobile Network Design", authors="Hou, Zhou, Feng",
    venue="CVPR 2021", year=2021,
    equation="Sec. 3.2.1 (coordinate information embedding: z^h = 1-D average over W, z^w over H), Sec. 3.2.2 "
             "(f = delta(F1([z^h, z^w])), g^h = sigmoid(F_h(f^h)), g^w = sigmoid(F_w(f^w)), y = x * g^h * g^w)",
    code="github.com/houqb/CoordAttention (first published as Andrew-Qibin/CoordAttention)",
    follows="official coordatt.py CoordAtt with oup = inp: AdaptiveAvgPool2d((None, 1)) and ((1, None)), the W "
            "pool permuted, cat along H, 1x1 conv C -> mip = max(8, C // reduction) with bias, BatchNorm2d, h_swish "
            "written as x * ReLU6(inplace)(x + 3) / 6, split [H, W], 1x1 convs mip -> C with bias, .sigmoid(), "
            "identity * a_w * a_h; reduction = 32")

SIMAM_PAPER = Paper(
    title="SimAM: A Simple, Parameter-Free Attention Module for Convolutional Neural Networks",
    authors="Yang, Zhang, Li, Xie", venue="ICML 2021", year=2021,
    equation="Eq. 5 (minimal energy e_t* = 4(sigma^2 + lambda) / ((t - mu)^2 + 2 sigma^2 + 2 lambda)), "
             "Eq. 6 (X~ = sigmoid(1 / E) * X)",
    code="github.com/ZjjConan/SimAM",
    follows="official simam_module: n = H*W - 1, d = (x - x.mean(dim=[2, 3], keepdim=True)).pow(2), "
            "y = d / (4 * (d.sum(dim=[2, 3], keepdim=True) / n + e_lambda)) + 0.5, x * sigmoid(y); "
            "e_lambda = 1e-4 (no count depends on it)")

TRIPLET_PAPER = Paper(
    title="Rotate to Attend: Convolutional Triplet Attention Module",
    authors="Misra, Nalamada, Arasanipalai, Hou", venue="WACV 2021", year=2021,
    equation="Sec. 3 (Z-pool: max and mean over the first dim, concatenated; three branches, each a k x k conv, "
             "BN and sigmoid on a rotation of the input; the outputs averaged: y = 1/3 (y1 + y2 + y3))",
    code="github.com/landskape-ai/triplet-attention",
    follows="official triplet_attention.py (the root file, ZPool): AttentionGate = ZPool, BasicConv 2 -> 1, 7x7, "
            "padding 3, no bias, BatchNorm2d, relu=False, torch.sigmoid_, x * scale; branches cw on "
            "x.permute(0,2,1,3).contiguous(), hc on x.permute(0,3,2,1).contiguous() (each permuted back and made "
            "contiguous), hw on x; 1/3 * (x_out + x_out11 + x_out21), or 1/2 * (x_out11 + x_out21) with no_spatial")


def _h_swish(g: Program, x: Tensor) -> Tensor:
    """CoordAttention's h_swish, written out as in coordatt.py: x * (ReLU6(inplace)(x + 3) / 6)."""
    t = g.add(x, 3)
    t = g.unary(HARDTANH, t, inplace=True)              # nn.ReLU6(inplace=True) is aten.hardtanh_
    return g.mul(x, g.div(t, 6))


@register("coord-attention", family="spatial", aliases=("coordinate-attention", "coordatt", "ca"),
          summary="coordinate attention: 1-D average pools along W and H, shared 1x1 conv + BN + h-swish, "
                  "a 1x1 conv and sigmoid per direction, x * a_w * a_h",
          paper=CA_PAPER,
          hyperparameters=[HP("r", 32, "reduction ratio (the code's reduction): mip = max(8, C // r) hidden "
                              "channels", minimum=1, symbolic=True)])
def coord_attention(g: Program, x: Tensor, *, r) -> Tensor:
    """y = x * g^h * g^w with g^h = sigmoid(F_h(f^h)), g^w = sigmoid(F_w(f^w)) and [f^h, f^w] =
    h_swish(BN(F_1([z^h, z^w]))), z^h and z^w the averages along W and along H (CA Sec. 3.2)."""
    n, c, h, w = x.shape
    mip = maximum(8, fdiv(c, r))
    x_h = g.adaptive_avg_pool2d(x, (None, 1))                               # pool_h: (N, C, H, 1)
    x_w = g.permute(g.adaptive_avg_pool2d(x, (1, None)), (0, 1, 3, 2))      # pool_w: (N, C, 1, W) -> (N, C, W, 1)
    y = g.cat([x_h, x_w], 2)                                                # (N, C, H + W, 1)
    y = g.conv(y, mip, 1, name="conv1")
    y = _h_swish(g, g.batch_norm(y, name="bn1"))
    f_h, f_w = g.split(y, [h, w], 2)                                        # torch.split(y, [h, w], dim=2)
    f_w = g.permute(f_w, (0, 1, 3, 2))                                      # (N, mip, 1, W)
    a_h = g.mark_attention_map(g.sigmoid(g.conv(f_h, c, 1, name="conv_h")))   # (N, C, H, 1)
    a_w = g.mark_attention_map(g.sigmoid(g.conv(f_w, c, 1, name="conv_w")))   # (N, C, 1, W)
    return g.mul(g.mul(x, a_w), a_h)                                        # identity * a_w * a_h


def _simam_check(shape, hp):
    if is_concrete(*shape[2:]) and int(shape[2]) * int(shape[3]) < 2:
        raise HyperparameterError(f"simam: H*W = {int(shape[2]) * int(shape[3])} leaves n = H*W - 1 = 0, which the "
                                  "variance divides by (SimAM needs at least 2 positions)")


@register("simam", family="spatial", aliases=("simam-module",),
          summary="parameter-free 3-D attention: sigmoid of the inverse minimal energy of each neuron "
                  "against its channel's mean and variance",
          paper=SIMAM_PAPER, check=_simam_check,
          notes="lambda (e_lambda: 1e-4 in the module, 0.1 in the authors' ImageNet runs) changes no count, so it "
                "is not a hyperparameter here; the reference module uses the module's 1e-4.")
def simam(g: Program, x: Tensor) -> Tensor:
    """X~ = sigmoid(1 / E) * X, 1 / E = (t - mu)^2 / (4 (sigma^2 + lambda)) + 0.5 (SimAM Eq. 5-6)."""
    n, c, h, w = x.shape
    d = g.binary(POW, g.binary(SUB, x, g.spatial_mean(x)), 2)           # (x - x.mean(dim=[2, 3])).pow(2)
    v = g.div(g.reduce(REDUCE_SUM, d, (2, 3), keepdim=True), h * w - 1)     # d.sum(dim=[2, 3]) / n: (N, C, 1, 1)
    v = g.mul(g.add(v, 1e-4), 4)                                            # 4 * (... + e_lambda)
    e_inv = g.add(g.div(d, v), 0.5)
    return g.mul(x, g.mark_attention_map(g.sigmoid(e_inv)))


def _triplet_gate(g: Program, x: Tensor, kernel, name: str) -> Tensor:
    """AttentionGate: Z-pool (max and mean over dim 1, concatenated), k x k conv 2 -> 1 without bias,
    BatchNorm, sigmoid_ in place, x * scale. ``name`` keeps each branch's parameters its own."""
    n, _, h, w = x.shape
    pooled = g.cat([g.view(g.max_dim(x, 1), (n, 1, h, w)),                 # torch.max(x, 1)[0].unsqueeze(1)
                    g.view(g.reduce(REDUCE_MEAN, x, 1), (n, 1, h, w))], 1)   # torch.mean(x, 1).unsqueeze(1)
    y = g.conv(pooled, 1, kernel, padding=fdiv(kernel - 1, 2), bias=False, name=f"{name}.conv")
    y = g.batch_norm(y, name=f"{name}.bn")
    return g.mul(x, g.mark_attention_map(g.sigmoid(y, inplace=True)))


@register("triplet-attention", family="spatial", aliases=("triplet", "rotate-to-attend"),
          summary="triplet attention: CBAM-style Z-pool + k x k conv gates on the (C, W), (H, C) and (H, W) "
                  "planes of rotated views, averaged",
          paper=TRIPLET_PAPER,
          hyperparameters=[HP("kernel", 7, "kernel size of each gate's conv (7, fixed, in the official code)",
                              minimum=1, odd=True),
                           HP("no_spatial", False, "leave out the (H, W) branch and average the other two",
                              type=bool)])
def triplet_attention(g: Program, x: Tensor, *, kernel, no_spatial) -> Tensor:
    """y = 1/3 (rot^-1(x1 * sigmoid(psi1(Z(x1)))) + rot^-1(x2 * sigmoid(psi2(Z(x2)))) + x * sigmoid(psi3(Z(x))))
    with x1, x2 the input rotated to (N, H, C, W) and (N, W, H, C) (Misra et al. Sec. 3)."""
    x_out1 = _triplet_gate(g, g.contiguous(g.permute(x, (0, 2, 1, 3))), kernel, "cw")   # (N, H, C, W)
    x_out11 = g.contiguous(g.permute(x_out1, (0, 2, 1, 3)))
    x_out2 = _triplet_gate(g, g.contiguous(g.permute(x, (0, 3, 2, 1))), kernel, "hc")   # (N, W, H, C)
    x_out21 = g.contiguous(g.permute(x_out2, (0, 3, 2, 1)))
    if no_spatial:
        return g.mul(g.add(x_out11, x_out21), 1 / 2)
    x_out = _triplet_gate(g, x, kernel, "hw")
    return g.mul(g.add(g.add(x_out, x_out11), x_out21), 1 / 3)
