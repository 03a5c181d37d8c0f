"""Pairwise self-attention over positions: Non-local (four pairwise functions) and CCNet.

Non-local follows AlexHex7/Non-local_pytorch, which implements the paper (all four pairwise
functions, sub-sampling by max pooling *after* the phi and g convs); the official Caffe2 code pools
x before phi and g and scales by C'^-0.5 (it implements only the embedded-Gaussian and dot-product
forms). CCNet follows the pure-PyTorch criss-cross attention adopted by the official repository:
the H-direction energy is a full H x H product per column with -inf on the diagonal, so each
position attends over H + W entries of which H + W - 1 are distinct (the CUDA kernel computes
exactly H + W - 1).
"""

from __future__ import annotations

from ...cost import Program, Tensor
from ...errors import HyperparameterError
from ..common import fdiv, is_concrete, require_hidden
from ..registry import Hyperparameter as HP
from ..registry import Paper, register

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
                     HP("recurrence", 2, "R: applications with shared weights", minimum=1)],
    hidden="r",
)
def ccnet(g: Program, x: Tensor, *, r, recurrence) -> Tensor:
    """H' = gamma * sum over the criss-cross path of A V + H (CCNet Eq. 2), R times."""
    for _ in range(recurrence):
        x = _criss_cross(g, x, r)
    return x
