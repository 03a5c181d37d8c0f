"""timm's multi-head self-attention, ``timm.layers.attention.Attention``.

Rewritten (not copied) from huggingface/pytorch-image-models, timm/layers/attention.py at commit
aa4b5850c1543fa488abf260f18390eda46cf85d (timm 1.0.29.dev0), licence Apache-2.0. Every op of the
original's forward is kept: the packed qkv projection, reshape/permute/unbind, q_norm/k_norm
(Identity unless qk_norm), then either F.scaled_dot_product_attention (``fused_attn``, timm's default
when torch has SDPA) or the explicit path (q * scale, q @ kᵀ, optional mask, softmax, attn_drop, @ v),
the head merge transpose+reshape, norm (Identity unless scale_norm), the optional sigmoid gate and the
output projection with proj_drop. ``fused_attn`` stands in for timm's global switch
(timm.layers.config.use_fused_attn()).
"""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn


def maybe_add_mask(scores: torch.Tensor, attn_mask: Optional[torch.Tensor] = None):
    return scores if attn_mask is None else scores + attn_mask


def resolve_self_attn_mask(seq_len: int, attn: torch.Tensor, attn_mask: Optional[torch.Tensor] = None,
                           is_causal: bool = False) -> Optional[torch.Tensor]:
    """The additive bias SDPA would apply: causal -inf above the diagonal, a boolean mask as 0/-inf."""
    if is_causal:
        return attn.new_full((seq_len, seq_len), float('-inf')).triu_(1)
    if attn_mask is None:
        return None
    if attn_mask.dtype == torch.bool:
        bias = torch.zeros_like(attn_mask, dtype=attn.dtype)
        bias.masked_fill_(~attn_mask, float('-inf'))
        return bias
    return attn_mask


class Attention(nn.Module):
    def __init__(self, dim, num_heads=8, attn_head_dim=None, dim_out=None, qkv_bias=False, qk_norm=False,
                 scale_norm=False, proj_bias=True, gated=False, attn_drop=0., proj_drop=0., norm_layer=None,
                 fused_attn: bool = True):
        super().__init__()
        dim_out = dim_out or dim
        head_dim = attn_head_dim
        if head_dim is None:
            assert dim % num_heads == 0, 'dim should be divisible by num_heads'
            head_dim = dim // num_heads
        if qk_norm or scale_norm:
            assert norm_layer is not None, 'norm_layer must be provided if qk_norm or scale_norm is True'
        self.num_heads = num_heads
        self.head_dim = head_dim
        self.attn_dim = num_heads * head_dim
        self.scale = head_dim ** -0.5
        self.fused_attn = fused_attn          # timm: use_fused_attn(), True by default on torch >= 2.0
        self.qkv = nn.Linear(dim, self.attn_dim * 3, bias=qkv_bias)
        self.q_norm = norm_layer(head_dim) if qk_norm else nn.Identity()
        self.k_norm = norm_layer(head_dim) if qk_norm else nn.Identity()
        self.attn_drop = nn.Dropout(attn_drop)
        self.norm = norm_layer(self.attn_dim) if scale_norm else nn.Identity()
        self.gate = nn.Linear(dim, self.attn_dim, bias=qkv_bias) if gated else None
        self.proj = nn.Linear(self.attn_dim, dim_out, bias=proj_bias)
        self.proj_drop = nn.Dropout(proj_drop)

    def forward(self, x, attn_mask: Optional[torch.Tensor] = None, is_causal: bool = False):
        B, N, C = x.shape
        gate = self.gate(x).sigmoid() if self.gate is not None else None
        qkv = self.qkv(x).reshape(B, N, 3, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)
        q, k = self.q_norm(q), self.k_norm(k)
        if self.fused_attn:
            x = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask,
                                               dropout_p=self.attn_drop.p if self.training else 0.,
                                               is_causal=is_causal)
        else:
            q = q * self.scale
            attn = q @ k.transpose(-2, -1)
            attn = maybe_add_mask(attn, resolve_self_attn_mask(N, attn, attn_mask, is_causal))
            attn = attn.softmax(dim=-1)
            attn = self.attn_drop(attn)
            x = attn @ v
        x = x.transpose(1, 2).reshape(B, N, self.attn_dim)
        x = self.norm(x)
        if gate is not None:
            x = x * gate
        x = self.proj(x)
        x = self.proj_drop(x)
        return x
