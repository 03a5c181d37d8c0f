"""BoTNet's multi-head self-attention with 2-D relative position logits (the MHSA layer that replaces
the 3x3 convolution in the last bottleneck blocks of a ResNet).

Follows timm's ``BottleneckAttn`` (timm/layers/bottleneck_attn.py, "based on the ref gist" of the
paper's authors, gist.github.com/aravindsrinivas/56359b79f0ce4449bcb04ab4b56a57a2) op for op: a 1x1
qkv conv without bias, q and k reshaped per head, content logits q k scaled by dim_head^-0.5, relative
logits from ``PosEmbedRel`` (q against learned height and width embeddings of 2H - 1 and 2W - 1
positions, ``rel_logits_1d``: pad a column, flatten, pad W - 1, reshape, slice, expand over the other
axis), softmax, attn v, reshaped to (N, dim_out, H, W), 2x2 average pooling for stride 2. Like
``BottleneckAttn`` (which asserts it) the module is built for one feature size: the embeddings have
2H - 1 and 2W - 1 rows, so the parameters depend on H and W.

MACs (N images, L = HW, Nh heads, dqk / dv per head, dim_out = Nh dv): the qkv conv
N L C (2 Nh dqk + dim_out); q k^T and attn v N Nh L^2 (dqk + dv); the relative logits
N Nh L dqk (2W - 1 + 2H - 1) (``mac.linear``: q times an embedding parameter, as aten runs it).
"""

from __future__ import annotations

from ....algebra import exact_div, power
from ....cost import Program, Tensor
from ....errors import HyperparameterError
from ...common import is_concrete, require_divisible
from ...registry import Hyperparameter as HP
from ...registry import Paper, register

BOTNET_PAPER = Paper(
    title="Bottleneck Transformers for Visual Recognition",
    authors="Srinivas, Lin, Parmar, Shlens, Abbeel, Vaswani", venue="CVPR 2021", year=2021,
    equation="Fig. 4: MHSA with relative position encodings, softmax(q k^T + q r^T) v, r = R_h + R_w; "
             "Sec. 3 (BoT block: MHSA in place of the 3x3 conv)",
    code="gist.github.com/aravindsrinivas/56359b79f0ce4449bcb04ab4b56a57a2 (official TF); "
         "timm/layers/bottleneck_attn.py (PyTorch port)",
    follows="timm BottleneckAttn: qkv Conv2d 1x1 (bias = qkv_bias) to 2 Nh dqk + dim_out channels, split, "
            "q (N Nh, HW, dqk), k (N Nh, dqk, HW), v (N Nh, HW, dv); (q @ k) * dqk^-0.5 + PosEmbedRel(q) "
            "(scale_pos_embed: (q @ k + rel) * scale); rel_logits_1d for width then height (q @ rel^T, "
            "F.pad, flatten, F.pad, reshape, slice, expand, permute), their sum reshaped to (N Nh, HW, HW); "
            "softmax; attn @ v to (N, dim_out, H, W); AvgPool2d(2, 2) if stride 2. Default dim_head: "
            "dim_out // heads, timm's make_divisible(dim_out, 8) // heads (where the two differ, the "
            "concrete count follows timm and the symbolic formula does not claim it)")


def make_divisible(v: int, divisor: int = 8, min_value: int | None = None, round_limit: float = .9) -> int:
    """timm's ``make_divisible`` (timm/layers/helpers.py)."""
    min_value = min_value or divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < round_limit * v:
        new_v += divisor
    return new_v


def botnet_dims(channels, heads, dim_out, dim_head):
    """(dim_out, dqk, dv): timm's ``dim_out or dim``, ``dim_head or make_divisible(dim_out, 8) // heads``
    (for a symbolic dim_out, dim_out / heads: the same wherever 8 divides dim_out) and dim_out // heads."""
    out = dim_out if dim_out is not None else channels
    dv = exact_div(out, heads)
    if dim_head is not None:
        dqk = dim_head
    elif is_concrete(out):
        dqk = make_divisible(int(out), 8) // heads
    else:
        dqk = dv
    return out, dqk, dv


def _check(shape, hp):
    out = hp["dim_out"] if hp["dim_out"] is not None else shape[1]
    require_divisible("botnet-mhsa", "dim_out", out, hp["heads"], "heads")
    if hp["stride"] == 2 and is_concrete(shape[2], shape[3]) and min(int(shape[2]), int(shape[3])) < 2:
        raise HyperparameterError(f"botnet-mhsa: stride=2 pools 2x2, but H x W is {shape[2]} x {shape[3]}")


def _rel_logits_1d(g: Program, q: Tensor, name: str, permutation) -> Tensor:
    """timm ``rel_logits_1d``: q (B, X, Y, d) against a (2Y - 1, d) embedding -> (B, X, Y, X, Y)-shaped
    relative logits along Y, expanded over X (a view) and permuted by ``permutation``."""
    b, rows, cols, _ = q.shape
    m = 2 * cols - 1
    x = g.linear(q, m, bias=False, name=name)                              # q @ rel_k^T: (B, X, Y, 2Y-1)
    x = g.pad(g.view(x, (b * rows, cols, m)), (0, 1))                       # (B X, Y, 2Y)
    x = g.pad(g.view(x, (b * rows, cols * (m + 1))), (0, cols - 1))        # (B X, 2Y^2 + Y - 1)
    x = g.view(x, (b * rows, cols + 1, m))
    x = g.slice(g.slice(x, 1, 0, cols), 2, cols - 1, m)                     # (B X, Y, Y)
    x = g.expand(g.view(x, (b, rows, 1, cols, cols)), (b, rows, rows, cols, cols))
    return g.permute(x, permutation)


def pos_embed_rel(g: Program, q: Tensor, h, w) -> Tensor:
    """timm ``PosEmbedRel.forward``: q (B, HW, d) -> relative logits (B, HW, HW)."""
    b, length, d = q.shape
    q = g.view(q, (b, h, w, d))
    rel_w = _rel_logits_1d(g, q, "width_rel", (0, 1, 3, 2, 4))
    rel_h = _rel_logits_1d(g, g.transpose(q, 1, 2), "height_rel", (0, 3, 1, 4, 2))
    # rel_h + rel_w, both expanded (B, H, W, H, W) views: TensorIterator writes the sum in the memory
    # order of its operands' strides, (B, W, H, H, W), so the add runs on that permutation and is
    # viewed back; the reshape to (B, HW, HW) then copies, as in torch
    order = (0, 2, 1, 3, 4)
    rel = g.permute(g.add(g.permute(rel_h, order), g.permute(rel_w, order)), order)
    return g.reshape(rel, (b, length, length))


@register(
    "botnet-mhsa", family="self-attention", aliases=("bot-mhsa", "bottleneck-attn"),
    summary="BoTNet MHSA: multi-head self-attention over H*W positions with 2-D relative position logits",
    paper=BOTNET_PAPER,
    hyperparameters=[
        HP("heads", 4, "number of heads (must divide dim_out)", minimum=1),
        HP("dim_out", None, "output channels = value width (default C)", minimum=1, optional=True),
        HP("dim_head", None, "query/key width per head (default: timm's, see follows)", minimum=1, optional=True),
        HP("qkv_bias", False, "bias on the qkv conv (BoTNet and timm: none)", type=bool),
        HP("scale_pos_embed", False, "scale the relative logits too: (q k + rel) * scale", type=bool),
        HP("stride", 1, "2: 2x2 average pooling after the attention (BoTNet's first c5 block)", choices=(1, 2)),
    ],
    check=_check,
    notes="The module is built for its input's H x W (BoTNet: 14 x 14 in c5 at 1024 x 1024, timm's "
          "feat_size): the relative embeddings (2H - 1 and 2W - 1 rows of dim_head) are parameters. "
          "Memory: the content logits, the relative logits (a (N Nh, HW, HW) sum and its copy) and the "
          "attention map are each N Nh (HW)^2.",
)
def botnet_mhsa(g: Program, x: Tensor, *, heads, dim_out, dim_head, qkv_bias, scale_pos_embed, stride) -> Tensor:
    """softmax(q k^T / sqrt(dqk) + q r^T) v per head (BoTNet Fig. 4, r = R_h + R_w), (N, dim_out, H', W')."""
    n, c, h, w = x.shape
    out, dqk, dv = botnet_dims(c, heads, dim_out, dim_head)
    if dim_head is None and is_concrete(out) and dqk != exact_div(out, heads):
        g.mark_degenerate(f"timm rounds dim_out={out} to {dqk * heads} q/k channels (make_divisible)")
    sizes = (("N", n), ("H", h), ("W", w), ("dim_head", dqk), ("dim_out / heads", dv))
    ones = [name for name, size in sizes if is_concrete(size) and int(size) == 1]
    if ones:                    # e.g. with N = 1 the per-head reshapes of q, k and v are views, not copies
        g.mark_degenerate(f"{', '.join(ones)} = 1 changes which copies aten makes")
    qk_channels = heads * dqk
    qkv = g.conv(x, 2 * qk_channels + out, 1, bias=qkv_bias, name="qkv")     # (N, 2 Nh dqk + dim_out, H, W)
    q, k, v = g.split(qkv, [qk_channels, qk_channels, out], 1)           # timm's torch.split: one cat in backward
    q = g.transpose(g.reshape(q, (n * heads, dqk, h * w)), -1, -2)         # (N Nh, HW, dqk)
    k = g.reshape(k, (n * heads, dqk, h * w))                               # (N Nh, dqk, HW)
    v = g.transpose(g.reshape(v, (n * heads, dv, h * w)), -1, -2)          # (N Nh, HW, dv)
    scale = power(dqk, -1, 2)
    if scale_pos_embed:
        attn = g.mul(g.add(g.matmul(q, k), pos_embed_rel(g, q, h, w)), scale)
    else:
        attn = g.add(g.mul(g.matmul(q, k), scale), pos_embed_rel(g, q, h, w))
    attn = g.mark_attention_map(g.softmax(attn, -1))                        # (N Nh, HW, HW)
    y = g.reshape(g.transpose(g.matmul(attn, v), -1, -2), (n, out, h, w))
    return g.avg_pool2d(y, 2, 2) if stride == 2 else y
