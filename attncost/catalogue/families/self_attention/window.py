"""Swin Transformer's window attention: multi-head self-attention inside non-overlapping M x M windows
with a learned relative position bias (W-MSA), and the same on windows shifted by M // 2 with a
cyclic roll and an attention mask (SW-MSA).

Both follow the official code, microsoft/Swin-Transformer ``models/swin_transformer.py``:
``WindowAttention`` op for op, and of ``SwinTransformerBlock`` the part around it (cyclic shift,
window partition, window reverse, reverse shift; not its LayerNorms, MLP and residuals). The
classification code requires H and W to be multiples of M (``window_partition`` views
(B, H/M, M, W/M, M, C)); for any other size the map is zero-padded to multiples of M as the official
dense-prediction backbone does (SwinTransformer/Swin-Transformer-Object-Detection,
``mmdet/models/backbones/swin_transformer.py``: ``F.pad`` always, so a multiple of M costs one copy of
the map, no arithmetic). The SW-MSA mask is a buffer built for the map's size (the classification
code builds it in ``__init__`` for its ``input_resolution``, the detection code once per stage), so
the forward only adds it.

Every entry takes an (N, C, H, W) map; ``x.permute(0, 2, 3, 1)`` is the (B, H, W, C) view the block
partitions (the official block's tokens after its LayerNorm) and the result is the (N, C, H, W) view
of the reversed windows, cropped to H x W. MACs, with Hp = M ceil(H/M), Wp = M ceil(W/M):
4 N Hp Wp C^2 for the qkv and output projections (``mac.linear``) and 2 N M^2 Hp Wp C for q k^T and
attn v (``mac.matmul``): the paper's Omega(W-MSA) = 4hwC^2 + 2M^2hwC (Eq. 2) at N = 1 and h, w
multiples of M.
"""

from __future__ import annotations

from ....algebra import ceil_div, exact_div, power
from ....cost import Program, Tensor
from ....errors import HyperparameterError
from ...common import is_concrete, require_divisible
from ...registry import Hyperparameter as HP
from ...registry import Paper, register

SWIN = dict(
    title="Swin Transformer: Hierarchical Vision Transformer using Shifted Windows",
    authors="Liu, Lin, Cao, Hu, Wei, Zhang, Lin, Guo", venue="ICCV 2021", year=2021,
    code="github.com/microsoft/Swin-Transformer (models/swin_transformer.py); padding as in "
         "github.com/SwinTransformer/Swin-Transformer-Object-Detection")

WINDOW_ATTENTION = ("official WindowAttention: qkv Linear C -> 3C (bias = qkv_bias), q * (C/heads)^-0.5, q k^T, "
                    "+ relative_position_bias_table[(2M-1)^2, heads][relative_position_index] (gathered, permuted "
                    "contiguous), softmax, attn v, proj Linear C -> C (bias); dropout p = 0 left out")
PARTITION = ("; of SwinTransformerBlock: F.pad to multiples of M (the detection backbone's, always), "
             "window_partition (view, permute, contiguous), window_reverse, the crop to H x W left a view "
             "(the block's .contiguous() before its residual is not part of the attention)")


def window_grid(h, w, window_size):
    """(windows down, windows across) of an H x W map padded to multiples of M: ceil(H/M), ceil(W/M)."""
    return ceil_div(h, window_size), ceil_div(w, window_size)


def _window_check(name: str, shift: bool):
    def check(shape, hp):
        require_divisible(name, "C", shape[1], hp["heads"], "heads")
        if not shift:
            return
        m, s = hp["window_size"], hp["shift_size"]
        s = m // 2 if s is None else s
        if not 0 < s < m:
            raise HyperparameterError(f"{name}: shift_size={s} must be in 1..window_size-1={m - 1} "
                                      f"(window_size={m}; use swin-wmsa for no shift)")
    return check


def _window_msa(g: Program, windows: Tensor, heads, qkv_bias, m, mask: Tensor | None) -> Tensor:
    """WindowAttention.forward on (B_, M^2, C) window tokens (Swin Eq. 4: SoftMax(QK^T/sqrt(d) + B)V)."""
    b_, length, c = windows.shape
    d = exact_div(c, heads)
    if is_concrete(d) and int(d) == 1:         # (attn v) merged back to (B_, M^2, C) is then a view
        g.mark_degenerate("C / heads = 1 changes which copies aten makes")
    qkv = g.linear(windows, 3 * c, bias=qkv_bias, name="qkv")                        # (B_, M^2, 3C)
    qkv = g.permute(g.reshape(qkv, (b_, length, 3, heads, d)), (2, 0, 3, 1, 4))   # (3, B_, heads, M^2, d)
    q, k, v = (g.select(qkv, 0, i) for i in range(3))                              # qkv[0], qkv[1], qkv[2]
    # q * scale: TensorIterator keeps q's memory order (B_, M^2, heads, d), so the product is written
    # in that order and viewed back; matmul then copies it, as it copies k and v
    q = g.permute(g.mul(g.permute(q, (0, 2, 1, 3)), power(d, -1, 2)), (0, 2, 1, 3))
    attn = g.matmul(q, g.transpose(k, -2, -1))                                    # (B_, heads, M^2, M^2)
    table = g.parameter("relative_position_bias_table", ((2 * m - 1) * (2 * m - 1), heads))
    index = g.buffer("relative_position_index", (length, length))
    bias = g.index(table, g.view(index, (length * length,)))                      # (M^4, heads)
    bias = g.contiguous(g.permute(g.view(bias, (length, length, heads)), (2, 0, 1)))
    attn = g.add(attn, g.view(bias, (1, heads, length, length)))
    if mask is not None:
        nw = mask.shape[0]
        attn = g.add(g.view(attn, (exact_div(b_, nw), nw, heads, length, length)),
                     g.view(mask, (1, nw, 1, length, length)))
        attn = g.view(attn, (b_, heads, length, length))
    attn = g.mark_attention_map(g.softmax(attn, -1))
    out = g.reshape(g.transpose(g.matmul(attn, v), 1, 2), (b_, length, c))      # (B_, M^2, C), a copy
    return g.linear(out, c, name="proj")


def shifted_window_attention(g: Program, x: Tensor, window_size, heads, qkv_bias, shift) -> Tensor:
    """The official block's attention path on (N, C, H, W): pad, roll by -shift (if any), partition
    into M x M windows, W-MSA (masked when shifted), reverse, roll back, crop."""
    n, c, h, w = x.shape
    m = window_size
    nh, nw = window_grid(h, w, m)
    hp, wp = nh * m, nw * m
    tokens = g.pad(g.permute(x, (0, 2, 3, 1)), (0, 0, 0, wp - w, 0, hp - h))      # (N, Hp, Wp, C)
    if shift:
        tokens = g.roll(tokens, (-shift, -shift), (1, 2))
    windows = g.permute(g.view(tokens, (n, nh, m, nw, m, c)), (0, 1, 3, 2, 4, 5))
    windows = g.view(g.contiguous(windows), (n * nh * nw, m * m, c))             # (N nW, M^2, C)
    mask = g.buffer("attn_mask", (nh * nw, m * m, m * m)) if shift else None
    out = _window_msa(g, windows, heads, qkv_bias, m, mask)
    out = g.permute(g.view(out, (n, nh, nw, m, m, c)), (0, 1, 3, 2, 4, 5))
    out = g.view(g.contiguous(out), (n, hp, wp, c))                               # window_reverse
    if shift:
        out = g.roll(out, (shift, shift), (1, 2))
    out = g.slice(g.slice(out, 1, 0, h), 2, 0, w)                                  # (N, H, W, C), a view
    return g.permute(out, (0, 3, 1, 2))


WINDOW_HPS = [HP("window_size", 7, "M: window side (M x M tokens per window)", minimum=1),
              HP("heads", 3, "number of heads (must divide C; Swin-T: 3, 6, 12, 24 for C = 96 .. 768)", minimum=1),
              HP("qkv_bias", True, "bias on the qkv linear", type=bool)]
WINDOW_NOTES = ("Parameters: 3C^2 + 3C (qkv, with bias) + C^2 + C (proj) + (2M - 1)^2 heads (the relative "
                "position bias table, an nn.Parameter). H and W need not be multiples of M: the map is padded to "
                "M ceil(H/M) x M ceil(W/M) first, and every count is that of the padded map (as in the official "
                "detection backbone; the classification block instead shrinks the window to min(H, W) and drops "
                "the shift when min(H, W) <= M). Attention map: N ceil(H/M) ceil(W/M) heads M^4.")


@register(
    "swin-wmsa", family="self-attention", aliases=("w-msa", "window-attention"),
    summary="Swin W-MSA: multi-head self-attention in M x M windows with a relative position bias",
    paper=Paper(equation="Eq. 4: Attention(Q, K, V) = SoftMax(QK^T / sqrt(d) + B) V in each M x M window; "
                         "Eq. 2: Omega(W-MSA) = 4hwC^2 + 2M^2hwC", **SWIN,
                follows=WINDOW_ATTENTION + PARTITION),
    hyperparameters=WINDOW_HPS,
    check=_window_check("swin-wmsa", shift=False),
    notes=WINDOW_NOTES,
)
def swin_wmsa(g: Program, x: Tensor, *, window_size, heads, qkv_bias) -> Tensor:
    """W-MSA (Swin Sec. 3.2): MSA with relative position bias (Eq. 4) within each M x M window."""
    return shifted_window_attention(g, x, window_size, heads, qkv_bias, shift=0)


@register(
    "swin-swmsa", family="self-attention",
    aliases=("sw-msa", "shifted-window-attention"),
    summary="Swin SW-MSA: W-MSA on windows shifted by M // 2 (cyclic roll and attention mask)",
    paper=Paper(equation="Sec. 3.2, Eq. 3 (z^_{l+1} = SW-MSA(LN(z_l)) + z_l); Fig. 4: cyclic shift, masked MSA, "
                         "reverse cyclic shift; Eq. 4 in each window", **SWIN,
                follows=WINDOW_ATTENTION + PARTITION + "; torch.roll by -shift before and +shift after, the "
                        "(nW, M^2, M^2) mask of 0 / -100 (a buffer, built as the official block does for "
                        "the padded size) added to the logits"),
    hyperparameters=[HP("window_size", 7, "M: window side (M x M tokens per window; 2 or more, to shift)", minimum=2),
                     *WINDOW_HPS[1:],
                     HP("shift_size", None, "cyclic shift (default M // 2, as in Swin; 1..M-1)", minimum=1,
                        optional=True)],
    check=_window_check("swin-swmsa", shift=True),
    notes=WINDOW_NOTES + " The shift adds two rolls (copies of the padded map) and one add of the mask "
                         "per logit; the counts do not depend on shift_size.",
)
def swin_swmsa(g: Program, x: Tensor, *, window_size, heads, qkv_bias, shift_size) -> Tensor:
    """SW-MSA (Swin Sec. 3.2, Fig. 4): roll by -M/2, masked W-MSA, roll back."""
    shift = window_size // 2 if shift_size is None else shift_size
    return shifted_window_attention(g, x, window_size, heads, qkv_bias, shift=shift)
