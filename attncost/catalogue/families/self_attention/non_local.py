"""Non-local-style self-attention: pairwise attention over the positions of a feature map, with
convolutional projections. Non-local (four pairwise functions), CCNet, DANet (position and channel
attention, and its dual head), OCNet's base object-context block and the compact generalized
non-local block (CGNL).

Non-local follows AlexHex7/Non-local_pytorch, which implements the paper (all four pairwise
functions, sub-sampling by max pooling *after* the phi and g convs); the official Caffe2 code pools
x before phi and g and scales by C'^-0.5 (it implements only the embedded-Gaussian and dot-product
forms). CCNet follows the pure-PyTorch criss-cross attention adopted by the official repository:
the H-direction energy is a full H x H product per column with -inf on the diagonal, so each
position attends over H + W entries of which H + W - 1 are distinct (the CUDA kernel computes
exactly H + W - 1).

DANet follows junfu1115/DANet (encoding/nn/da_att.py, encoding/models/sseg/danet.py). PAM is
SAGAN-style self-attention over HW positions with C//8 query/key channels; CAM has no convolutions
and, in the code only (not the paper's Eq. 3), turns the C x C energy into rowmax(energy) - energy
before the softmax. OCNet follows openseg-group/OCNet.pytorch (oc_module/base_oc_block.py): one
1x1 conv + InPlaceABNSync serves as both query and key transform, run twice; InPlaceABNSync's
default activation is a leaky ReLU of slope 0.01 (the paper says ReLU: the ``activation``
hyperparameter). CGNL follows KaiyuYue/cgnl-network.pytorch (model/resnet.py, SpatialCGNL and
SpatialCGNLx): with C' x H x W flattened into one vector per group, the kernel collapses to
per-group scalars (z = Phi^T g), so no pairwise map is ever formed.
"""

from __future__ import annotations

import math

from ....cost import Program, Tensor
from ....errors import HyperparameterError
from ....ops.pointwise import ELEMENTWISE, POW, SUB
from ...blocks import conv_bn_act
from ...common import fdiv, is_concrete, require_divisible, require_hidden
from ...registry import Hyperparameter as HP
from ...registry import Paper, register

NONLOCAL_PAPER = Paper(
    title="Non-local Neural Networks", authors="Wang, Girshick, Gupta, He", venue="CVPR 2018", year=2018,
    equation="Eq. 1 (generic), Eq. 2-5 (gaussian, embedded gaussian, dot product, concatenation), Eq. 6 (block)",
    code="github.com/facebookresearch/video-nonlocal-net",
    follows="AlexHex7/Non-local_pytorch (paper-faithful): 1x1 convs with bias, C' = C // 2, max pool 2x2 "
            "after phi and g, W = 1x1 conv + BN, residual add")

CCNET_PAPER = Paper(
    title="CCNet: Criss-Cross Attention for Semantic Segmentation",
    authors="Huang, Wang, Huang, Huang, Wei, Liu", venue="ICCV 2019", year=2019,
    equation="Eq. 1 (affinity), Eq. 2 (aggregation); recurrent R = 2 (Sec. 3.2)",
    code="github.com/speedinghzl/CCNet",
    follows="official pure-PyTorch CrissCrossAttention: query/key 1x1 C -> C//8, value C -> C (bias), "
            "softmax over H+W, gamma scalar, residual add; R applications share weights")

DANET_PAPER = Paper(
    title="Dual Attention Network for Scene Segmentation",
    authors="Fu, Liu, Tian, Li, Bao, Fang, Lu", venue="CVPR 2019", year=2019,
    equation="Eq. 1-2 (position attention map s_ji, E = alpha * sum_i s_ji D_i + A), "
             "Eq. 3-4 (channel attention map x_ji, E = beta * sum_i x_ji A_i + A)",
    code="github.com/junfu1115/DANet",
    follows="official encoding/nn/da_att.py PAM_Module / CAM_Module and encoding/models/sseg/danet.py "
            "DANetHead: query/key 1x1 C -> C//8 and value 1x1 C -> C with bias, gamma scalar, residual add; "
            "CAM uses rowmax(energy) - energy; the head uses 3x3 conv (no bias) + BN + ReLU around each module")

OCNET_PAPER = Paper(
    title="OCNet: Object Context Network for Scene Parsing",
    authors="Yuan, Wang", venue="arXiv:1809.00916", year=2018,
    equation="Eq. 1-2 of arXiv v2 (object context c_p = sum_i w_pi phi(x_i), object context map "
             "w_pi = softmax_i(f_q(x_p)^T f_k(x_i) / sqrt(d_k))); base-OC module",
    code="github.com/openseg-group/OCNet.pytorch",
    follows="official oc_module/base_oc_block.py _SelfAttentionBlock + BaseOC_Module (sizes=[1]) as configured "
            "in network/resnet101_base_oc.py: key = value = C/2, shared f_key = f_query (1x1 conv + "
            "InPlaceABNSync), W 1x1 conv, cat [context, x], 1x1 conv 2C -> C + InPlaceABNSync")

CGNL_PAPER = Paper(
    title="Compact Generalized Non-local Network",
    authors="Yue, Sun, Yuan, Zhou, Ding, Xu", venue="NeurIPS 2018", year=2018,
    equation="Sec. 3: generalized non-local over vec(X) (positions x channels), compact representation by "
             "Taylor expansion of the Gaussian RBF (z = Phi^T g, order P), grouping (Fig. 2)",
    code="github.com/KaiyuYue/cgnl-network.pytorch",
    follows="official model/resnet.py SpatialCGNL (dot) / SpatialCGNLx (Gaussian RBF) as used in its ResNets: "
            "theta/phi/g 1x1 C -> C/2 without bias, 8 groups, order 3, no scale; z grouped 1x1 C' -> C "
            "without bias, GroupNorm(groups), residual add")


# -- Non-local -----------------------------------------------------------------------------------

PAIRWISE = ("embedded", "gaussian", "dot", "concatenation")


def _nonlocal_check(shape, hp):
    if hp["inter_channels"] is None:
        require_hidden("nonlocal", shape[1], 2)
    if hp["sub_sample"] and is_concrete(*shape[2:]) and min(int(shape[2]), int(shape[3])) < 2:
        raise HyperparameterError(
            f"nonlocal: sub_sample=True max-pools by 2, so H and W must be at least 2 (got {shape[2]}x{shape[3]})")


def _maybe_pool(g: Program, t: Tensor, sub_sample: bool) -> Tensor:
    return g.max_pool2d(t, 2) if sub_sample else t


@register(
    "nonlocal", family="self-attention", aliases=("non-local", "nl", "nonlocal-block"),
    summary="non-local block: pairwise affinity between all positions, weighted sum of g(x), W + BN, add",
    paper=NONLOCAL_PAPER,
    hyperparameters=[
        HP("mode", "embedded", "pairwise function f", type=str, choices=PAIRWISE),
        HP("inter_channels", None, "C' (default C // 2)", minimum=1, optional=True, symbolic=False),
        HP("sub_sample", True, "max-pool phi and g by 2x2", type=bool),
        HP("bn", True, "BatchNorm after W", type=bool),
    ],
    check=_nonlocal_check,
)
def nonlocal_block(g: Program, x: Tensor, *, mode, inter_channels, sub_sample, bn) -> Tensor:
    """z = W y + x, y_i = 1/C(x) sum_j f(x_i, x_j) g(x_j) (Non-local Eq. 1, 6)."""
    n, c, h, w = x.shape
    ci = inter_channels if inter_channels is not None else fdiv(c, 2)
    gx = _maybe_pool(g, g.conv(x, ci, 1, name="g"), sub_sample)
    m = gx.shape[2] * gx.shape[3]                                   # positions attended to
    gx = g.permute(g.view(gx, (n, ci, m)), (0, 2, 1))               # (N, M, C')
    if mode == "gaussian":
        theta = g.permute(g.view(x, (n, c, h * w)), (0, 2, 1))      # (N, HW, C)
        phi = g.view(_maybe_pool(g, x, sub_sample), (n, c, m))      # (N, C, M)
        f = g.matmul(theta, phi)
    elif mode in ("embedded", "dot"):
        theta = g.permute(g.view(g.conv(x, ci, 1, name="theta"), (n, ci, h * w)), (0, 2, 1))
        phi = g.view(_maybe_pool(g, g.conv(x, ci, 1, name="phi"), sub_sample), (n, ci, m))
        f = g.matmul(theta, phi)                                    # (N, HW, M)
    else:
        theta = g.view(g.conv(x, ci, 1, name="theta"), (n, ci, h * w, 1))
        phi = g.view(_maybe_pool(g, g.conv(x, ci, 1, name="phi"), sub_sample), (n, ci, 1, m))
        theta = g.repeat(theta, (1, 1, 1, m))
        phi = g.repeat(phi, (1, 1, h * w, 1))
        pairs = g.mark_attention_map(g.cat([theta, phi], 1))        # (N, 2C', HW, M)
        f = g.conv(pairs, 1, 1, bias=False, name="concat_project")
        f = g.relu(f, inplace=True)
        f = g.view(f, (n, h * w, m))
    if mode in ("embedded", "gaussian"):
        f = g.softmax(f, -1)
    else:
        f = g.div(f, m)
    g.mark_attention_map(f)
    y = g.matmul(f, gx)                                             # (N, HW, C')
    y = g.contiguous(g.permute(y, (0, 2, 1)))
    y = g.view(y, (n, ci, h, w))
    y = g.conv(y, c, 1, name="W")
    if bn:
        y = g.batch_norm(y, name="W_bn")
    return g.add(y, x)


# -- CCNet ---------------------------------------------------------------------------------------

def _criss_cross(g: Program, x: Tensor, r) -> Tensor:
    """One criss-cross attention pass (CCNet Eq. 1-2) with a residual add scaled by gamma."""
    n, c, h, w = x.shape
    ck = fdiv(c, r)

    def columns(t, ch):          # (N, ch, H, W) -> (N*W, ch, H)
        return g.view(g.contiguous(g.permute(t, (0, 3, 1, 2))), (n * w, ch, h))

    def rows(t, ch):             # (N, ch, H, W) -> (N*H, ch, W)
        return g.view(g.contiguous(g.permute(t, (0, 2, 1, 3))), (n * h, ch, w))

    q = g.conv(x, ck, 1, name="query")
    q_h, q_w = g.permute(columns(q, ck), (0, 2, 1)), g.permute(rows(q, ck), (0, 2, 1))
    k = g.conv(x, ck, 1, name="key")
    k_h, k_w = columns(k, ck), rows(k, ck)
    v = g.conv(x, c, 1, name="value")
    v_h, v_w = columns(v, c), rows(v, c)
    diagonal = g.fill((h,))                                          # -inf on the diagonal
    diagonal = g.diag(diagonal)                                      # (H, H)
    energy_h = g.add(g.bmm(q_h, k_h), diagonal)                      # (N*W, H, H)
    energy_h = g.permute(g.view(energy_h, (n, w, h, h)), (0, 2, 1, 3))
    energy_w = g.view(g.bmm(q_w, k_w), (n, h, w, w))
    attention = g.softmax(g.cat([energy_h, energy_w], 3), 3)        # (N, H, W, H+W)
    g.mark_attention_map(attention)
    att_h = g.view(g.contiguous(g.permute(g.slice(attention, 3, 0, h), (0, 2, 1, 3))), (n * w, h, h))
    att_w = g.view(g.contiguous(g.slice(attention, 3, h, h + w)), (n * h, w, w))
    out_h = g.bmm(v_h, g.permute(att_h, (0, 2, 1)))                  # (N*W, C, H)
    out_h = g.permute(g.view(out_h, (n, w, c, h)), (0, 2, 3, 1))
    out_w = g.bmm(v_w, g.permute(att_w, (0, 2, 1)))                  # (N*H, C, W)
    out_w = g.permute(g.view(out_w, (n, h, c, w)), (0, 2, 1, 3))
    gamma = g.parameter("gamma", (1,))
    return g.add(g.mul(gamma, g.add(out_h, out_w)), x)


@register(
    "ccnet", family="self-attention", aliases=("criss-cross", "cca", "rcca"),
    summary="criss-cross attention: each position attends to its row and column, applied R times",
    paper=CCNET_PAPER,
    hyperparameters=[HP("r", 8, "query/key reduction: C // r channels", minimum=1, symbolic=True),
                     HP("recurrence", 2, "R: applications with shared weights (1 to 64: each is written out, "
                        "so the work grows with R; the paper uses 2)", minimum=1, maximum=64)],
    hidden="r",
)
def ccnet(g: Program, x: Tensor, *, r, recurrence) -> Tensor:
    """H' = gamma * sum over the criss-cross path of A V + H (CCNet Eq. 2), R times."""
    for _ in range(recurrence):
        x = _criss_cross(g, x, r)
    return x


# -- DANet ---------------------------------------------------------------------------------------

def _position_attention(g: Program, x: Tensor, r, prefix: str = "") -> Tensor:
    """PAM: S = softmax(Q^T K) over HW positions (Eq. 1), E = gamma * V S^T + A (Eq. 2)."""
    n, c, h, w = x.shape
    ck = fdiv(c, r)
    query = g.permute(g.view(g.conv(x, ck, 1, name=prefix + "query"), (n, ck, h * w)), (0, 2, 1))
    key = g.view(g.conv(x, ck, 1, name=prefix + "key"), (n, ck, h * w))
    attention = g.mark_attention_map(g.softmax(g.bmm(query, key), -1))   # (N, HW, HW)
    value = g.view(g.conv(x, c, 1, name=prefix + "value"), (n, c, h * w))
    out = g.view(g.bmm(value, g.permute(attention, (0, 2, 1))), (n, c, h, w))
    gamma = g.parameter(prefix + "gamma", (1,))
    return g.add(g.mul(gamma, out), x)


def _channel_attention(g: Program, x: Tensor, prefix: str = "") -> Tensor:
    """CAM: X = softmax(rowmax(A A^T) - A A^T) over channels (Eq. 3 as coded), E = beta * X A + A (Eq. 4)."""
    n, c, h, w = x.shape
    query = g.view(x, (n, c, h * w))
    key = g.permute(g.view(x, (n, c, h * w)), (0, 2, 1))
    energy = g.bmm(query, key)                                            # (N, C, C)
    row_max = g.view(g.max_dim(energy, -1, keepdim=True), energy.shape)
    attention = g.mark_attention_map(g.softmax(g.binary(SUB, row_max, energy), -1))
    out = g.view(g.bmm(attention, g.view(x, (n, c, h * w))), (n, c, h, w))
    gamma = g.parameter(prefix + "gamma", (1,))
    return g.add(g.mul(gamma, out), x)


@register(
    "danet-pam", family="self-attention", aliases=("pam",),
    summary="DANet position attention: softmax over all HW positions of 1x1 query/key (C//8), gamma residual",
    paper=DANET_PAPER,
    hyperparameters=[HP("r", 8, "query/key reduction: C // r channels", minimum=1, symbolic=True)],
    hidden="r",
)
def danet_pam(g: Program, x: Tensor, *, r) -> Tensor:
    """E_j = alpha * sum_i s_ji D_i + A_j with s = softmax(B^T C) (DANet Eq. 1-2)."""
    return _position_attention(g, x, r)


@register(
    "danet-cam", family="self-attention", aliases=("cam",),
    summary="DANet channel attention: C x C softmax affinity of the input itself, no convs, gamma residual",
    paper=DANET_PAPER,
)
def danet_cam(g: Program, x: Tensor) -> Tensor:
    """E_j = beta * sum_i x_ji A_i + A_j with x = softmax(rowmax(A A^T) - A A^T) (DANet Eq. 3-4)."""
    return _channel_attention(g, x)


def _danet_check(shape, hp):
    if is_concrete(shape[1], hp["inter_reduction"], hp["r"]):
        inter = fdiv(int(shape[1]), int(hp["inter_reduction"]))
        if inter // int(hp["r"]) < 1:
            raise HyperparameterError(
                f"danet: C={shape[1]} gives C // inter_reduction = {inter} head channels and {inter} // r="
                f"{hp['r']} = 0 PAM query/key channels (need C // inter_reduction // r >= 1)")


def _conv_bn_relu(g: Program, x: Tensor, out_channels, name: str) -> Tensor:
    """3x3 conv (no bias) + BN + ReLU (not in place), as DANetHead's conv5a/conv5c/conv51/conv52."""
    return conv_bn_act(g, x, out_channels, 3, inplace=False, name=name)


@register(
    "danet", family="self-attention", aliases=("dual-attention",),
    summary="DANet dual-attention head: 3x3 conv to C/4, PAM and CAM branches, 3x3 conv each, summed",
    paper=DANET_PAPER,
    hyperparameters=[HP("inter_reduction", 4, "head width: inter = C // inter_reduction", minimum=1, symbolic=True),
                     HP("r", 8, "PAM query/key reduction on the inter channels", minimum=1, symbolic=True)],
    check=_danet_check,
    notes="The attention part of the official DANetHead: conv5a -> PAM -> conv51 and conv5c -> CAM -> conv52, "
          "summed (feat_sum, C // inter_reduction channels). The dropout + 1x1 classifier convs conv6/conv7/conv8 "
          "(to the class count, two of them only for deep supervision) are left out: they are the segmentation "
          "classifier, not attention, and depend on the dataset.",
)
def danet(g: Program, x: Tensor, *, inter_reduction, r) -> Tensor:
    """feat_sum = conv51(PAM(conv5a(x))) + conv52(CAM(conv5c(x))) (DANet Fig. 2, official DANetHead)."""
    inter = fdiv(x.shape[1], inter_reduction)
    sa_conv = _conv_bn_relu(g, _position_attention(g, _conv_bn_relu(g, x, inter, "conv5a"), r, "sa."),
                            inter, "conv51")
    sc_conv = _conv_bn_relu(g, _channel_attention(g, _conv_bn_relu(g, x, inter, "conv5c"), "sc."), inter, "conv52")
    return g.add(sa_conv, sc_conv)


# -- OCNet ---------------------------------------------------------------------------------------

def _activated_batch_norm(g: Program, x: Tensor, activation: str, name: str) -> Tensor:
    """InPlaceABNSync in eval mode: batch norm, then the activation in place."""
    return g.unary(ELEMENTWISE[activation], g.batch_norm(x, name=name), inplace=True)


def _require_half(name: str, channels, what: str) -> None:
    """A default of C // 2 channels needs C >= 2."""
    if is_concrete(channels) and int(channels) < 2:
        raise HyperparameterError(f"{name}: C={channels} leaves C // 2 = 0 {what} (need C >= 2 or give {what})")


def _ocnet_check(shape, hp):
    for what in ("key_channels", "value_channels"):
        if hp[what] is None:
            _require_half("ocnet", shape[1], what)
    scale = hp["scale"]
    for size, axis in ((shape[2], "H"), (shape[3], "W")):
        if is_concrete(size) and int(size) < scale:
            raise HyperparameterError(f"ocnet: scale={scale} pools {axis}={size} to nothing (need {axis} >= scale)")


@register(
    "ocnet", family="self-attention", aliases=("object-context", "base-oc"),
    summary="OCNet base object context: shared 1x1 query/key + ABN, scaled softmax over HW, W conv, "
            "cat with input, 1x1 conv + ABN",
    paper=OCNET_PAPER,
    hyperparameters=[
        HP("key_channels", None, "query/key channels (default C // 2)", minimum=1, optional=True),
        HP("value_channels", None, "value channels (default C // 2)", minimum=1, optional=True),
        HP("scale", 1, "max-pool the input by scale x scale before attention, bilinear upsample after", minimum=1),
        HP("activation", "leaky_relu", "InPlaceABNSync activation (official default leaky_relu 0.01; paper: relu)",
           type=str, choices=("leaky_relu", "relu")),
    ],
    check=_ocnet_check,
    notes="InPlaceABNSync (a CUDA extension) is counted as its pure-PyTorch equivalent: batch norm writing a new "
          "tensor, then the activation in place. Dropout2d(0.05) is the identity at inference.",
)
def ocnet(g: Program, x: Tensor, *, key_channels, value_channels, scale, activation) -> Tensor:
    """c_p = sum_i w_pi phi(x_i), w = softmax(f_q(x)^T f_k(x) / sqrt(d_k)) (OCNet Eq. 1-2), then
    base-OC fusion conv([W c, x])."""
    n, c, h, w = x.shape
    ck = key_channels if key_channels is not None else fdiv(c, 2)
    cv = value_channels if value_channels is not None else fdiv(c, 2)
    pooled = g.max_pool2d(x, scale) if scale > 1 else x
    m = pooled.shape[2] * pooled.shape[3]
    value = g.permute(g.view(g.conv(pooled, cv, 1, name="f_value"), (n, cv, m)), (0, 2, 1))    # (N, M, Cv)

    def key_transform(t):        # f_key and f_query are one module, run twice
        return _activated_batch_norm(g, g.conv(t, ck, 1, name="f_key"), activation, "f_key_abn")

    query = g.permute(g.view(key_transform(pooled), (n, ck, m)), (0, 2, 1))                    # (N, M, Ck)
    key = g.view(key_transform(pooled), (n, ck, m))                                            # (N, Ck, M)
    similarity = g.mul(g.matmul(query, key), ck ** -0.5)
    similarity = g.mark_attention_map(g.softmax(similarity, -1))                               # (N, M, M)
    context = g.contiguous(g.permute(g.matmul(similarity, value), (0, 2, 1)))                  # (N, Cv, M)
    context = g.conv(g.view(context, (n, cv, *pooled.shape[2:])), c, 1, name="W")
    if scale > 1:
        context = g.interpolate(context, (h, w), mode="bilinear")
    fused = g.conv(g.cat([context, x], 1), c, 1, name="fuse")
    return _activated_batch_norm(g, fused, activation, "fuse_abn")


# -- CGNL ----------------------------------------------------------------------------------------

def _cgnl_check(shape, hp):
    channels, groups = shape[1], hp["groups"]
    if hp["inter_channels"] is None:
        _require_half("cgnl", channels, "inter_channels")
        if is_concrete(channels):
            require_divisible("cgnl", "inter_channels (C // 2)", fdiv(int(channels), 2), groups, "groups")
    else:
        require_divisible("cgnl", "inter_channels", hp["inter_channels"], groups, "groups")
    require_divisible("cgnl", "C", channels, groups, "groups")


def _taylor_coefficients(order: int, gamma: float = 1e-4) -> list[float]:
    """alpha_k = sqrt((2 gamma)^k / k! * exp(-2 gamma)), k = 0..P: exp(-gamma |a - b|^2) ~ sum_k alpha_k^2
    a^k b^k with the official simplification beta = exp(-2 gamma) (SpatialCGNLx)."""
    return [math.sqrt((2 * gamma) ** k / math.factorial(k) * math.exp(-2 * gamma)) for k in range(order + 1)]


def _cgnl_kernel(g: Program, t: Tensor, p: Tensor, gx: Tensor, kernel: str, order: int, use_scale: bool) -> Tensor:
    """One group: theta, phi, g flattened to C'HW-vectors; z = Phi^T g has 1 (dot) or P+1 (Gaussian
    RBF, Taylor order P) entries, and y = Theta z, never forming the (C'HW)^2 kernel matrix."""
    n, c, h, w = t.shape
    length = c * h * w
    t, p, gx = g.view(t, (n, 1, length)), g.view(p, (n, 1, length)), g.view(gx, (n, length, 1))
    if kernel == "gaussian":
        t_taylor, p_taylor = [], []
        for k, alpha in enumerate(_taylor_coefficients(order)):       # alpha_k * theta^k and alpha_k * phi^k
            t_taylor.append(g.mul(g.binary(POW, t, k), alpha))
            p_taylor.append(g.mul(g.binary(POW, p, k), alpha))
        t, p = g.cat(t_taylor, 1), g.cat(p_taylor, 1)                     # (N, P+1, C'HW)
    att = g.bmm(p, gx)                                                    # (N, 1 or P+1, 1)
    if use_scale:
        att = g.div(att, length ** 0.5)
    att = g.mark_attention_map(g.view(att, (n, 1, att.shape[1])))
    return g.view(g.bmm(att, t), (n, c, h, w))


@register(
    "cgnl", family="self-attention", aliases=("compact-generalized-nonlocal",),
    summary="compact generalized non-local: per-group kernel over all positions and channels via "
            "Taylor-compact z = Phi^T g, grouped 1x1 conv + GroupNorm, residual add",
    paper=CGNL_PAPER,
    hyperparameters=[
        HP("inter_channels", None, "C' ('planes', default C // 2)", minimum=1, optional=True),
        HP("groups", 8, "channel groups (official models: 8; 1 = ungrouped; at most 64: each group's kernel "
                   "is written out)", minimum=1, maximum=64),
        HP("kernel", "dot", "pairwise kernel: dot product (SpatialCGNL) or Gaussian RBF (SpatialCGNLx)",
           type=str, choices=("dot", "gaussian")),
        HP("order", 3, "Taylor expansion order P of the Gaussian RBF (unused by dot; at most 64: each term "
                  "is written out)", minimum=1, maximum=64),
        HP("use_scale", False, "divide z by sqrt(C' / groups * H * W)", type=bool),
    ],
    check=_cgnl_check,
    notes="The Gaussian kernel's Taylor coefficients alpha_k = sqrt((2 gamma)^k / k! * exp(-2 gamma)), gamma = 1e-4, "
          "are constants; the official code recomputes them every forward with a handful of 1-element tensor ops "
          "(and a .cuda() copy), which are not counted here. The attention map is z, (P+1) or 1 entries per "
          "sample and group: CGNL never materialises a pairwise map.",
)
def cgnl(g: Program, x: Tensor, *, inter_channels, groups, kernel, order, use_scale) -> Tensor:
    """Z = GN(W_z concat_groups(Theta Phi^T g)) + X (CGNL Sec. 3, Fig. 2)."""
    n, c, h, w = x.shape
    planes = inter_channels if inter_channels is not None else fdiv(c, 2)
    t = g.conv(x, planes, 1, bias=False, name="theta")
    p = g.conv(x, planes, 1, bias=False, name="phi")
    gx = g.conv(x, planes, 1, bias=False, name="g")
    if groups > 1:
        group_shape = (n, fdiv(planes, groups), h, w)
        ts, ps, gs = (g.split(v, [group_shape[1]] * groups, 1) for v in (t, p, gx))      # torch.split(v, size, 1)
        y = g.cat([_cgnl_kernel(g, ts[i], ps[i], gs[i], kernel, order, use_scale) for i in range(groups)], 1)
    else:
        y = _cgnl_kernel(g, t, p, gx, kernel, order, use_scale)
    y = g.conv(y, c, 1, groups=groups, bias=False, name="z")
    return g.add(g.group_norm(y, groups, name="gn"), x)
