"""Reference implementations of the transformer-style self-attention entries
(catalogue/families/self_attention/transformer.py).

Every module takes an (N, C, H, W) map and attends over its H*W positions as tokens. Attention is
written with explicit matmul / softmax ops (never ``F.scaled_dot_product_attention``, whose fused CPU
kernels hide their work from the tracer). Where the papers' code relies on PyTorch's implicit
copies inside ``matmul``, whose number depends on whether N == 1, these modules make the layout
explicit with one ``contiguous`` so that the counts are the same for every batch size; each entry's
``paper.follows`` says where.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ...catalogue.families.self_attention.transformer import aa_depths, mlp_hidden, sparse_stride
from ...trace.marks import attention_map
from ..registry import reference


def _tokens(x):
    """(N, C, H, W) -> contiguous (N, HW, C) tokens (one copy)."""
    return x.flatten(2).transpose(1, 2).contiguous()


def _to_map(tokens, shape):
    """(N, HW, C) tokens -> (N, C, H, W); splitting HW into H, W is a view."""
    n, c, h, w = shape
    return tokens.transpose(1, 2).reshape(n, c, h, w)


@reference("sdpa")
class ScaledDotProductSelfAttention(nn.Module):
    """Single-head attention (Vaswani et al. Eq. 1): softmax(Q K^T / sqrt(d)) V, then W_O."""

    def __init__(self, channels: int, *, head_dim):
        super().__init__()
        d = head_dim if head_dim is not None else channels
        self.q = nn.Linear(channels, d)
        self.k = nn.Linear(channels, d)
        self.v = nn.Linear(channels, d)
        self.proj = nn.Linear(d, channels)
        self.sqrt_d = math.sqrt(d)

    def forward(self, x):
        tokens = _tokens(x)                                               # (N, HW, C)
        q, k, v = self.q(tokens), self.k(tokens), self.v(tokens)           # (N, HW, d)
        scores = torch.matmul(q, k.transpose(1, 2)) / self.sqrt_d          # (N, HW, HW)
        attn = attention_map(torch.softmax(scores, dim=-1))
        return _to_map(self.proj(torch.matmul(attn, v)), x.shape)


class Attention(nn.Module):
    """timm ``Attention`` on (N, L, C) tokens: fused qkv Linear, q * scale, softmax(q k^T) v, proj.

    The head split is made contiguous once (timm leaves it to matmul's implicit copies)."""

    def __init__(self, channels: int, heads: int, head_dim: int, qkv_bias: bool):
        super().__init__()
        self.heads, self.head_dim = heads, head_dim
        self.scale = head_dim ** -0.5
        self.qkv = nn.Linear(channels, 3 * heads * head_dim, bias=qkv_bias)
        self.proj = nn.Linear(heads * head_dim, channels)

    def forward(self, tokens):
        n, length, _ = tokens.shape
        qkv = self.qkv(tokens).view(n, length, 3, self.heads, self.head_dim)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).contiguous().unbind(0)       # (N, heads, L, d) each
        q = q * self.scale
        attn = attention_map(torch.matmul(q, k.transpose(-2, -1)).softmax(dim=-1))   # (N, heads, L, L)
        out = torch.matmul(attn, v).transpose(1, 2).reshape(n, length, self.heads * self.head_dim)
        return self.proj(out)


@reference("mhsa")
class MultiHeadSelfAttention(nn.Module):
    """Multi-head self-attention (Vaswani et al. Eq. 4-5, timm/ViT ``Attention``) over H*W tokens."""

    def __init__(self, channels: int, *, heads: int, head_dim, qkv_bias: bool):
        super().__init__()
        d = head_dim if head_dim is not None else channels // heads
        self.attn = Attention(channels, heads, d, qkv_bias)

    def forward(self, x):
        return _to_map(self.attn(_tokens(x)), x.shape)


@reference("vit-layer")
class ViTEncoderLayer(nn.Module):
    """timm ``Block`` / ViT ``Encoder1DBlock``: x + MHSA(LN(x)), then x + MLP(LN(x)), on H*W tokens."""

    def __init__(self, channels: int, *, heads: int, mlp_ratio: float, qkv_bias: bool):
        super().__init__()
        self.norm1 = nn.LayerNorm(channels, eps=1e-6)
        self.attn = Attention(channels, heads, channels // heads, qkv_bias)
        self.norm2 = nn.LayerNorm(channels, eps=1e-6)
        hidden = mlp_hidden(channels, mlp_ratio)
        self.fc1 = nn.Linear(channels, hidden)
        self.fc2 = nn.Linear(hidden, channels)

    def forward(self, x):
        tokens = x.flatten(2).transpose(1, 2)                             # (N, HW, C), a view
        tokens = tokens + self.attn(self.norm1(tokens))
        tokens = tokens + self.fc2(F.gelu(self.fc1(self.norm2(tokens))))
        return _to_map(tokens, x.shape)


@reference("patch-embed")
class PatchEmbed(nn.Module):
    """timm ``PatchEmbed``: conv C -> embed_dim, kernel = stride = patch, bias; optional LayerNorm
    on the tokens. Returns the (N, embed_dim, H/p, W/p) map; its tokens are a free view of it."""

    def __init__(self, channels: int, *, embed_dim: int, patch: int, strict: bool, norm: bool):
        super().__init__()
        self.proj = nn.Conv2d(channels, embed_dim, patch, stride=patch)
        self.norm = nn.LayerNorm(embed_dim) if norm else None

    def forward(self, x):
        x = self.proj(x)                                                  # (N, E, H/p, W/p)
        if self.norm is None:
            return x
        return _to_map(self.norm(x.flatten(2).transpose(1, 2)), x.shape)


@reference("aa-conv")
class AugmentedConv2d(nn.Module):
    """Attention-augmented convolution (Bello et al., appendix code) in NCHW.

    concat[conv_k(x) to Fout - dv channels, conv_1x1(MHA(x)) to dv channels]; MHA with optional 2-D
    relative logits computed by the appendix's einsum / rel_to_abs / tile steps."""

    needs_spatial_size = True

    def __init__(self, channels: int, *, out_channels, kernel: int, heads: int, dk, dv, kappa: float,
                 upsilon: float, min_key_head_dim: int, relative: bool, stride: int, spatial_size):
        super().__init__()
        fout = out_channels if out_channels is not None else channels
        self.dk, self.dv = aa_depths(fout, heads, dk, dv, kappa, upsilon, min_key_head_dim)
        self.heads, self.relative = heads, relative
        self.dkh, self.dvh = self.dk // heads, self.dv // heads
        self.conv = (nn.Conv2d(channels, fout - self.dv, kernel, stride, padding=kernel // 2) if fout > self.dv
                     else None)
        self.pool = nn.AvgPool2d(3, stride, padding=1) if stride != 1 else None   # the attention's input
        if stride != 1:
            spatial_size = tuple((s - 1) // stride + 1 for s in spatial_size)
        self.k = nn.Conv2d(channels, self.dk, 1)
        self.q = nn.Conv2d(channels, self.dk, 1)
        self.v = nn.Conv2d(channels, self.dv, 1)
        self.attn_out = nn.Conv2d(self.dv, self.dv, 1)
        if relative:
            h, w = spatial_size
            self.key_rel_w = nn.Parameter(torch.randn(2 * w - 1, self.dkh) * self.dkh ** -0.5)
            self.key_rel_h = nn.Parameter(torch.randn(2 * h - 1, self.dkh) * self.dkh ** -0.5)

    @staticmethod
    def _rel_to_abs(x):
        """[B, Nh, L, 2L-1] relative -> [B, Nh, L, L] absolute: pad a column, flatten, pad L-1, slice."""
        b, nh, length, _ = x.shape
        x = torch.cat([x, x.new_zeros(b, nh, length, 1)], dim=3)            # (B, Nh, L, 2L)
        flat = x.reshape(b, nh, length * 2 * length)
        flat = torch.cat([flat, x.new_zeros(b, nh, length - 1)], dim=2)    # (B, Nh, 2L^2 + L - 1)
        return flat.reshape(b, nh, length + 1, 2 * length - 1)[:, :, :length, length - 1:]

    def _relative_logits_1d(self, q, rel_k, h, w, permutation):
        """q: (N, Nh, H, W, dkh) -> relative logits along W, tiled over H: (N, Nh, HW, HW)."""
        n = q.shape[0]
        rel = torch.einsum("bhxyd,md->bhxym", q, rel_k)                     # (N, Nh, H, W, 2W-1)
        rel = self._rel_to_abs(rel.reshape(n, self.heads * h, w, 2 * w - 1))
        rel = rel.reshape(n, self.heads, h, w, w).unsqueeze(3).repeat(1, 1, 1, h, 1, 1)
        return rel.permute(*permutation).reshape(n, self.heads, h * w, h * w)

    def forward(self, x):
        conv_out = self.conv(x) if self.conv is not None else None          # (N, Fout - dv, H', W')
        if self.pool is not None:
            x = self.pool(x)                                                 # (N, Fin, H', W')
        n, _, h, w = x.shape
        k = self.k(x).view(n, self.heads, self.dkh, h * w)                  # (N, Nh, dkh, HW)
        q = (self.q(x) * self.dkh ** -0.5).view(n, self.heads, self.dkh, h * w)
        v = self.v(x).view(n, self.heads, self.dvh, h * w)
        logits = torch.matmul(q.transpose(2, 3), k)                        # (N, Nh, HW, HW)
        if self.relative:
            q5 = q.view(n, self.heads, self.dkh, h, w).permute(0, 1, 3, 4, 2)    # (N, Nh, H, W, dkh)
            rel_w = self._relative_logits_1d(q5, self.key_rel_w, h, w, (0, 1, 2, 4, 3, 5))
            rel_h = self._relative_logits_1d(q5.transpose(2, 3), self.key_rel_h, w, h, (0, 1, 4, 2, 5, 3))
            logits += rel_h
            logits += rel_w
        weights = attention_map(torch.softmax(logits, dim=-1))
        attn = torch.matmul(v, weights.transpose(2, 3)).view(n, self.dv, h, w)  # (N, dv, H, W)
        attn = self.attn_out(attn)
        if conv_out is None:
            return attn
        return torch.cat([conv_out, attn], dim=1)


@reference("sparse-attention")
class SparseSelfAttention(nn.Module):
    """Sparse Transformer attention (Child et al.) over H*W tokens, causal.

    ``strided``: one merged head per head index attends to the union of A(1) (the previous ``l``
    positions, computed block-wise on windows of 2l keys) and A(2) (every l-th earlier position,
    computed on the strided-transposed sequence); ``dense``: causal full attention."""

    needs_spatial_size = True

    def __init__(self, channels: int, *, mode: str, stride, heads: int, spatial_size):
        super().__init__()
        h, w = spatial_size
        n = h * w
        self.spatial_size = spatial_size
        self.mode, self.heads, self.head_dim = mode, heads, channels // heads
        self.scale = self.head_dim ** -0.5
        self.qkv = nn.Linear(channels, 3 * channels)
        self.proj = nn.Linear(channels, channels)
        positions = torch.arange(n)
        if mode == "dense":
            self.register_buffer("mask", positions[None, :] > positions[:, None], persistent=False)
            return
        self.l = sparse_stride(stride, w)
        self.b = n // self.l
        p = torch.arange(self.l)[:, None]                                   # query offset in its block
        window = torch.arange(2 * self.l)[None, :]                          # key offset in [prev, own] block
        local_allowed = (window > p) & (window <= p + self.l)
        first_block = torch.arange(self.b)[:, None, None] == 0
        padded_keys = first_block & (window < self.l)[None]
        self.register_buffer("local_mask", ~local_allowed[None] | padded_keys, persistent=False)   # (b, l, 2l)
        rows = torch.arange(self.b)
        self.register_buffer("strided_mask", rows[None, :] >= rows[:, None], persistent=False)  # (b, b)

    def forward(self, x):
        if tuple(x.shape[2:]) != self.spatial_size:
            raise ValueError(f"built for H, W = {self.spatial_size}, got {tuple(x.shape[2:])}")
        tokens = _tokens(x)                                                # (N, n, C)
        batch, n, c = tokens.shape
        qkv = self.qkv(tokens).view(batch, n, 3, self.heads, self.head_dim)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).contiguous().unbind(0)        # (N, heads, n, d) each
        if self.mode == "dense":
            out = self._dense(q, k, v)
        else:
            out = self._strided(q, k, v)
        out = out.transpose(1, 2).reshape(batch, n, c)
        return _to_map(self.proj(out), x.shape)

    def _dense(self, q, k, v):
        w = torch.matmul(q, k.transpose(-2, -1)) * self.scale              # (N, heads, n, n)
        w.masked_fill_(self.mask, float("-inf"))
        return torch.matmul(attention_map(torch.softmax(w, dim=-1)), v)

    def _strided(self, q, k, v):
        batch, heads, n, d = q.shape
        l, b = self.l, self.b

        def windows(t):              # (N, heads, n, d) -> (N, heads, b, d, 2l): [previous, own] block
            padded = torch.cat([t.new_zeros(batch, heads, l, d), t], dim=2)   # (N, heads, l + n, d)
            return padded.unfold(2, 2 * l, l)

        def strided_transpose(t):    # (N, heads, n, d) -> (N, heads, l, b, d): column-major blocks
            return t.view(batch, heads, b, l, d).transpose(2, 3).contiguous()

        local = torch.matmul(q.view(batch, heads, b, l, d), windows(k))     # (N, heads, b, l, 2l)
        local.masked_fill_(self.local_mask, float("-inf"))
        q_t, k_t, v_t = strided_transpose(q), strided_transpose(k), strided_transpose(v)
        strided = torch.matmul(q_t, k_t.transpose(-2, -1))                # (N, heads, l, b, b)
        strided.masked_fill_(self.strided_mask, float("-inf"))
        w = torch.cat([local, strided.transpose(2, 3)], dim=-1) * self.scale   # (N, heads, b, l, 2l + b)
        w = attention_map(torch.softmax(w, dim=-1))
        out = torch.matmul(w[..., :2 * l], windows(v).transpose(-2, -1))   # (N, heads, b, l, d)
        out += torch.matmul(w[..., 2 * l:].transpose(2, 3), v_t).transpose(2, 3)
        return out.view(batch, heads, n, d)
