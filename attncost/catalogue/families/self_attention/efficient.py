"""Efficient attention (Shen, Zhang, Zhao, Yi, Li, WACV 2021): dot-product attention reassociated,
rho_q(Q) (rho_k(K)^T V), so that no HW x HW map is formed and the cost is linear in H*W.

Follows cmsflash/efficient-attention (efficient_attention.py, the authors' code), op for op: 1x1
convs with bias for keys, queries and values, per head a softmax of the keys over positions (dim 2)
and of the queries over channels (dim 1), the context ``key @ value^T`` (d_k/h x d_v/h), the
attended values ``context^T @ query``, the heads concatenated, a 1x1 reprojection with bias and the
residual. The code splits into ``head_count`` heads (the repository's addition; the paper's module
has one) and has no defaults for its widths; the defaults here are one head and d_k = d_v = C // 2,
the width of the non-local block it is a drop-in replacement for.
"""

from __future__ import annotations

from ....algebra import exact_div
from ....cost import Program, Tensor
from ....errors import HyperparameterError
from ...common import fdiv, is_concrete, require_divisible
from ...registry import Hyperparameter as HP
from ...registry import Paper, register

EFFICIENT_PAPER = Paper(
    title="Efficient Attention: Attention with Linear Complexities",
    authors="Shen, Zhang, Zhao, Yi, Li", venue="WACV 2021", year=2021,
    equation="Sec. 3 (dot-product attention D(Q, K, V) = rho(Q K^T) V; efficient attention "
             "E(Q, K, V) = rho_q(Q) (rho_k(K)^T V), softmax normalisation: rho_q over each position's key "
             "channels, rho_k over each key channel's positions)",
    code="github.com/cmsflash/efficient-attention",
    follows="official efficient_attention.py EfficientAttention(in_channels, key_channels, head_count, "
            "value_channels): keys/queries/values 1x1 convs with bias, per head softmax(keys, dim=2), "
            "softmax(queries, dim=1), context = key @ value^T, (context^T @ query).reshape(N, d_v/h, H, W), cat, "
            "1x1 reprojection with bias, + input; no defaults in the code (here: 1 head, d_k = d_v = C // 2)")


def _widths(c, key_channels, value_channels):
    return (key_channels if key_channels is not None else fdiv(c, 2),
            value_channels if value_channels is not None else fdiv(c, 2))


def _efficient_check(shape, hp):
    if (hp["key_channels"] is None or hp["value_channels"] is None) and is_concrete(shape[1]) and int(shape[1]) < 2:
        raise HyperparameterError(f"efficient-attention: C={shape[1]} leaves C // 2 = 0 key or value channels by "
                                  "default (give key_channels and value_channels, or C >= 2)")
    dk, dv = _widths(shape[1], hp["key_channels"], hp["value_channels"])
    heads = hp["head_count"]
    if is_concrete(dk) and int(dk) < heads:
        raise HyperparameterError(f"efficient-attention: key_channels={dk} leaves no key channel for some of the "
                                  f"head_count={heads} heads (need key_channels >= head_count)")
    require_divisible("efficient-attention", "value_channels", dv, heads, "head_count")


@register(
    "efficient-attention", family="self-attention", aliases=("efficient-attn",),
    summary="efficient attention: softmax(K) over positions, softmax(Q) over channels, "
            "Q (K^T V) with linear cost in H*W, 1x1 reprojection, add",
    paper=EFFICIENT_PAPER,
    hyperparameters=[
        HP("key_channels", None, "d_k: key and query channels of all heads together (default C // 2)", minimum=1,
           optional=True),
        HP("value_channels", None, "d_v: value channels of all heads together, divisible by head_count "
           "(default C // 2)", minimum=1, optional=True),
        HP("head_count", 1, "heads, d_k // h key and d_v // h value channels each (1 to 64: each is written out; "
           "the paper's module has one)", minimum=1, maximum=64),
    ],
    check=_efficient_check,
    notes="The code gives head i key channels [i*d_k//h, (i+1)*d_k//h): where h does not divide d_k the last "
          "d_k mod h key and query channels are computed and never used, as in the code.",
)
def efficient_attention(g: Program, x: Tensor, *, key_channels, value_channels, head_count) -> Tensor:
    """E(Q, K, V) = rho_q(Q) (rho_k(K)^T V) per head, reprojected, plus the input."""
    n, c, h, w = x.shape
    dk, dv = _widths(c, key_channels, value_channels)
    keys = g.reshape(g.conv(x, dk, 1, name="keys"), (n, dk, h * w))
    queries = g.reshape(g.conv(x, dk, 1, name="queries"), (n, dk, h * w))
    values = g.reshape(g.conv(x, dv, 1, name="values"), (n, dv, h * w))
    # the code's // for both; head_count divides d_v (checked), so hv = d_v / h and the heads' cat has d_v channels
    hk, hv = fdiv(dk, head_count), exact_div(dv, head_count)
    attended = []
    for i in range(head_count):
        key = g.mark_attention_map(g.softmax(g.slice(keys, 1, i * hk, (i + 1) * hk), 2))   # (N, hk, HW)
        query = g.softmax(g.slice(queries, 1, i * hk, (i + 1) * hk), 1)                   # (N, hk, HW)
        value = g.slice(values, 1, i * hv, (i + 1) * hv)                                  # (N, hv, HW)
        context = g.matmul(key, g.transpose(value, 1, 2))                                 # (N, hk, hv)
        head = g.matmul(g.transpose(context, 1, 2), query)                                # (N, hv, HW)
        attended.append(g.reshape(head, (n, hv, h, w)))
    out = g.conv(g.cat(attended, 1), c, 1, name="reprojection")
    return g.add(out, x)
