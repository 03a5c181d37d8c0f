"""Swin-T (Liu et al.: "Swin Transformer: Hierarchical Vision Transformer using Shifted Windows", ICCV
2021, Sec. 3.3 "Swin-T": C = 96, layer numbers {2, 2, 6, 2}, heads {3, 6, 12, 24}, window M = 7, MLP
ratio 4; Table 1(a): 28M params, 4.5G FLOPs) as a Program, following torchvision's ``swin_t`` op for
op (pytorch/vision ``torchvision/models/swin_transformer.py`` at b3054b4d1879858c7ab1225d253780bb911a6c95:
``SwinTransformer``, ``SwinTransformerBlock``, ``ShiftedWindowAttention``, ``shifted_window_attention``,
``PatchMerging``; 28,288,354 parameters, ``_ops`` 4.491). Tokens are channels last, (N, H, W, C):

- patch embedding: conv 3 -> C, kernel = stride = 4 (bias), permuted to (N, H/4, W/4, C) (a view),
  LayerNorm (eps 1e-5, as every norm here);
- stage k (k = 1..4, C_k = C 2^(k-1)): for k >= 2 first a patch merging (the paper's Sec. 3.1: F.pad
  to even H and W, always, so an even map is one copy; the four strided views x[..., i::2, j::2, :]
  concatenated to 4 C_{k-1} channels, LayerNorm, Linear 4 C_{k-1} -> 2 C_{k-1} without bias); then the
  blocks, x + attn(LN(x)), then x + MLP(LN(x)) (MLP C -> 4C -> C, exact GELU), residual adds not in
  place; odd blocks shift their windows by M // 2;
- head: LayerNorm, permute to (N, 8C, h, w), adaptive average pool to 1x1, flatten, Linear 8C -> classes.

Window attention (``window_attention``) is torchvision's ``shifted_window_attention``, which differs
from the catalogue's ``swin-wmsa`` / ``swin-swmsa`` (the official microsoft/Swin-Transformer
``WindowAttention`` with the official block's partition), so it is written here and the catalogue
entries keep the official code:

- the relative position bias ``table[index]`` (index a flat (M^4,) buffer), viewed, permuted and made
  contiguous, is computed first, before the padding, and lives until it is added to the logits;
- the map is always F.pad-ded to multiples of M (a copy even when nothing is padded), then rolled by
  -shift, partitioned with one reshape (a copy);
- ``q, k, v = qkv[0], qkv[1], qkv[2]`` (three selects, no contiguous copy);
- the SW-MSA mask is computed in the forward every time, from the padded size: ``new_zeros``, nine
  slice fills (a one-element tensor each, ``lift_fresh``), a reshape, a subtraction of two unsqueezed
  views, ``!= 0``, ``masked_fill``, ``== 0``, ``masked_fill``; the official code builds it once;
- a window at least as large as the padded map drops the shift along that dim (torchvision's "no need
  to shift"): at 224 x 224 stage 4 (7 x 7) runs both blocks unshifted; the scope names what runs,
  ``attention:swin-swmsa`` when some shift remains, else ``attention:swin-wmsa``;
- the result is cropped to H x W and made contiguous (a copy where it was padded).

Dropout (p = 0, ``training=False`` in eval) and stochastic depth are the identity at inference and run
no ops. Attention maps: the softmax of each window attention. The CNN attention placements (SE,
CBAM, ...) have no place in Swin: a spec with any is rejected. Sizes must be concrete (padding and
shifts depend on them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from ..algebra import ceil_div
from ..catalogue.common import is_concrete
from ..catalogue.families.self_attention.transformer import mlp_hidden
from ..cost import Program, Tensor
from ..errors import SpecError
from .fields import MAX_CHANNELS, check_fields, check_mlp_hidden, field_error
from ..ops.pointwise import COMPARE, GELU, SUB, WHERE


@dataclass(frozen=True)
class SwinSpec:
    # the blocks' window attention is built in; the CNN placements (SE, CBAM, ...) have no place in it
    supported_placements: ClassVar[tuple] = ()
    name: str
    patch: int = 4
    embed_dim: int = 96
    depths: tuple = (2, 2, 6, 2)
    heads: tuple = (3, 6, 12, 24)
    window: int = 7
    mlp_ratio: float = 4.0
    num_classes: int = 1000
    attention: tuple = field(default=(), compare=False)

    def __post_init__(self):
        check_fields(self)
        object.__setattr__(self, "depths", tuple(self.depths))
        object.__setattr__(self, "heads", tuple(self.heads))
        if len(self.depths) != len(self.heads):
            raise field_error(self, ("heads", "depths"), f"depths {list(self.depths)} and heads {list(self.heads)} "
                                                         f"must list the same stages")
        if self.embed_dim * 2 ** (len(self.depths) - 1) > MAX_CHANNELS:
            # more than 21 stages are too many at any width (1 x 2^21); fewer, too wide an embed_dim
            at_fault = ("depths", "embed_dim") if len(self.depths) > 21 else ("embed_dim", "depths")
            raise field_error(self, at_fault, f"embed_dim={self.embed_dim}, doubling over {len(self.depths)} stages, "
                                              f"makes the last {self.embed_dim} x 2^{len(self.depths) - 1} channels "
                                              f"wide; at most 2^20")
        for stage, (dim, heads) in enumerate(zip(self.stage_dims(), self.heads), 1):
            if dim % heads:
                raise field_error(self, ("heads", "embed_dim"), f"stage {stage} has {dim} channels, not divisible by "
                                                                f"heads={heads}", stage - 1)
        check_mlp_hidden(self, self.embed_dim)

    def stage_blocks(self) -> dict:
        """{stage: number of blocks}: the breakdown's ``stage1``.. (no placement goes there)."""
        return {stage: depth for stage, depth in enumerate(self.depths, 1)}

    def stage_dims(self) -> list:
        """C_k = C 2^(k-1) of each stage."""
        return [self.embed_dim * 2 ** i for i in range(len(self.depths))]


def check_swin(spec: SwinSpec, shape) -> None:
    """Reject what Swin cannot run: attention placements, symbolic or too small inputs (mismatched stage
    lists and heads that do not divide a stage's width, ``__post_init__`` has refused)."""
    if spec.attention:
        raise SpecError(f"{spec.name}: attention placements apply to CNN stages; a Swin Transformer has none")
    for axis, size in zip("HW", shape[2:]):
        if not is_concrete(size):
            raise SpecError(f"{spec.name}: input {axis}={size}: a Swin Transformer's window padding and shifts "
                            "depend on the size, so it needs a concrete one")
        if int(size) < spec.patch:
            raise SpecError(f"{spec.name}: input {axis}={size} is smaller than the patch size {spec.patch}")


def shifts(window: int, padded: tuple, shift: int) -> tuple:
    """torchvision's per-dim shift: ``shift`` along a dim, 0 where the window covers the padded map."""
    return tuple(0 if window >= size else shift for size in padded)


def relative_position_bias(g: Program, heads: int, window: int) -> Tensor:
    """torchvision's ``_get_relative_position_bias``: table[index] (index a flat (M^4,) buffer), viewed
    (M^2, M^2, heads), permuted, contiguous, unsqueezed: (1, heads, M^2, M^2)."""
    length = window * window
    table = g.parameter("relative_position_bias_table", ((2 * window - 1) * (2 * window - 1), heads))
    bias = g.index(table, g.buffer("relative_position_index", (length * length,)))          # (M^4, heads)
    bias = g.contiguous(g.permute(g.view(bias, (length, length, heads)), (2, 0, 1)))         # (heads, M^2, M^2)
    return g.view(bias, (1, heads, length, length))


def shift_mask(g: Program, x: Tensor, padded: tuple, window: int, shift: tuple) -> Tensor:
    """The SW-MSA mask as torchvision computes it in every shifted forward, from the window tokens ``x``
    (``x.new_zeros``, which keeps them live until then): (nW, M^2, M^2) of 0 / -100."""
    (hp, wp), m = padded, window
    mask = g.new_zeros(x, (hp, wp))
    h_slices = (slice(0, -m), slice(-m, -shift[0]), slice(-shift[0], None))
    w_slices = (slice(0, -m), slice(-m, -shift[1]), slice(-shift[1], None))
    for h in h_slices:
        for w in w_slices:
            g.setitem_scalar(mask, (h, w))                                    # attn_mask[h, w] = count
    windows = (hp // m) * (wp // m)
    mask = g.permute(g.view(mask, (hp // m, m, wp // m, m)), (0, 2, 1, 3))
    mask = g.reshape(mask, (windows, m * m))
    mask = g.binary(SUB, g.view(mask, (windows, 1, m * m)), g.view(mask, (windows, m * m, 1)))
    mask = g.binary(WHERE, mask, g.binary(COMPARE, mask, 0))                 # masked_fill(mask != 0, -100)
    return g.binary(WHERE, mask, g.binary(COMPARE, mask, 0))                 # masked_fill(mask == 0, 0)


def window_attention(g: Program, x: Tensor, heads: int, window: int, shift: int) -> Tensor:
    """torchvision's ``ShiftedWindowAttention.forward`` on (N, H, W, C) tokens: bias, pad, roll, partition,
    W-MSA with relative position bias (and the mask where shifted), reverse, roll back, crop."""
    n, h, w, c = x.shape
    m, length, d = window, window * window, c // heads
    bias = relative_position_bias(g, heads, window)
    hp, wp = ceil_div(h, m) * m, ceil_div(w, m) * m
    x = g.pad(x, (0, 0, 0, wp - w, 0, hp - h))                                # (N, Hp, Wp, C), always a copy
    shift_hw = shifts(m, (hp, wp), shift)
    shifted = sum(shift_hw) > 0
    if shifted:
        x = g.roll(x, (-shift_hw[0], -shift_hw[1]), (1, 2))
    windows = (hp // m) * (wp // m)
    x = g.permute(g.view(x, (n, hp // m, m, wp // m, m, c)), (0, 1, 3, 2, 4, 5))
    x = g.reshape(x, (n * windows, length, c))                                # (N nW, M^2, C), a copy
    qkv = g.linear(x, 3 * c, name="qkv")
    qkv = g.permute(g.reshape(qkv, (n * windows, length, 3, heads, d)), (2, 0, 3, 1, 4))
    q, k, v = (g.select(qkv, 0, i) for i in range(3))                        # (N nW, heads, M^2, d) each
    # q * d^-0.5 keeps q's memory order (N nW, M^2, heads, d): written in that order, viewed back
    q = g.permute(g.mul(g.permute(q, (0, 2, 1, 3)), d ** -0.5), (0, 2, 1, 3))
    attn = g.add(g.matmul(q, g.transpose(k, -2, -1)), bias)                   # (N nW, heads, M^2, M^2)
    if shifted:
        mask = shift_mask(g, x, (hp, wp), m, shift_hw)
        attn = g.add(g.view(attn, (n, windows, heads, length, length)), g.view(mask, (1, windows, 1, length, length)))
        attn = g.view(attn, (n * windows, heads, length, length))
    attn = g.mark_attention_map(g.softmax(attn, -1))
    x = g.reshape(g.transpose(g.matmul(attn, v), 1, 2), (n * windows, length, c))
    x = g.linear(x, c, name="proj")
    x = g.permute(g.view(x, (n, hp // m, wp // m, m, m, c)), (0, 1, 3, 2, 4, 5))
    x = g.reshape(x, (n, hp, wp, c))                                          # windows reversed, a copy
    if shifted:
        x = g.roll(x, shift_hw, (1, 2))
    # x[:, :H, :W, :]: PyTorch skips a slice that keeps the whole dim
    if hp != h:
        x = g.slice(x, 1, 0, h)
    if wp != w:
        x = g.slice(x, 2, 0, w)
    return g.contiguous(x)


def swin_block(g: Program, x: Tensor, heads: int, window: int, shift: int, mlp_ratio: float) -> Tensor:
    """SwinTransformerBlock: x + attn(norm1(x)), then x + mlp(norm2(x)) (Swin Eq. 3)."""
    c = x.shape[-1]
    normed = g.layer_norm(x, 1, name="norm1")
    padded = tuple(ceil_div(s, window) * window for s in x.shape[1:3])
    kind = "swin-swmsa" if sum(shifts(window, padded, shift)) > 0 else "swin-wmsa"
    with g.scope(f"attention:{kind}"):
        attended = window_attention(g, normed, heads, window, shift)
    x = g.add(x, attended)
    hidden = g.linear(g.layer_norm(x, 1, name="norm2"), mlp_hidden(c, mlp_ratio), name="fc1")
    return g.add(x, g.linear(g.unary(GELU, hidden), c, name="fc2"))


def patch_merging(g: Program, x: Tensor) -> Tensor:
    """torchvision's PatchMerging (v1): pad to even H, W; cat of the four x[..., i::2, j::2, :]; LN; Linear
    4C -> 2C without bias (the paper's Sec. 3.1 "patch merging")."""
    h, w, c = x.shape[1:]
    x = g.pad(x, (0, 0, 0, w % 2, 0, h % 2))
    parts = [g.slice_step(g.slice_step(x, 1, i, 2), 2, j, 2) for i, j in ((0, 0), (1, 0), (0, 1), (1, 1))]
    x = g.cat(parts, -1)                                                     # (N, H/2, W/2, 4C)
    return g.linear(g.layer_norm(x, 1, name="norm"), 2 * c, bias=False, name="reduction")


def swin(g: Program, x: Tensor, spec: SwinSpec) -> Tensor:
    """Patch embedding, four stages of Swin blocks (patch merging in front of stages 2..4), the head."""
    check_swin(spec, x.shape)
    with g.scope("stem"):
        x = g.permute(g.conv(x, spec.embed_dim, spec.patch, stride=spec.patch, name="patch_embed"), (0, 2, 3, 1))
        x = g.layer_norm(x, 1, name="norm")                                   # (N, H/4, W/4, C)
    for stage, (depth, heads) in enumerate(zip(spec.depths, spec.heads), 1):
        if stage > 1:
            with g.scope(f"stage{stage}", "patch_merging"):
                x = patch_merging(g, x)
        for b in range(depth):
            with g.scope(f"stage{stage}", f"block{b}"):
                x = swin_block(g, x, heads, spec.window, spec.window // 2 if b % 2 else 0, spec.mlp_ratio)
    with g.scope("head"):
        n, c = x.shape[0], x.shape[-1]
        x = g.permute(g.layer_norm(x, 1, name="norm"), (0, 3, 1, 2))         # (N, 8C, h, w), a view
        x = g.view(g.adaptive_avg_pool2d(x, 1), (n, c))                      # avgpool, flatten
        return g.linear(x, spec.num_classes, name="head")
