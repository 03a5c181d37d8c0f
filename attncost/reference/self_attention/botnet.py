"""Reference implementation of BoTNet's relative-position MHSA (catalogue/families/self_attention/botnet.py):
timm's ``BottleneckAttn``, ``PosEmbedRel`` and ``rel_logits_1d`` (timm/layers/bottleneck_attn.py) with
their forward unchanged; initialisation by plain normal draws (no count depends on the values)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ...catalogue.families.self_attention.botnet import botnet_dims
from ...trace.marks import attention_map
from ..registry import reference


def rel_logits_1d(q, rel_k, permute_mask):
    """Relative logits along one dimension: q (B, H, W, dim), rel_k (2W - 1, dim) (timm)."""
    b, h, w, dim = q.shape
    x = q @ rel_k.transpose(-1, -2)
    x = x.reshape(-1, w, 2 * w - 1)
    x_pad = F.pad(x, [0, 1]).flatten(1)                       # pad to shift from relative to absolute indexing
    x_pad = F.pad(x_pad, [0, w - 1])
    x_pad = x_pad.reshape(-1, w + 1, 2 * w - 1)               # reshape and slice out the padded elements
    x = x_pad[:, :w, w - 1:]
    x = x.reshape(b, h, 1, w, w).expand(-1, -1, h, -1, -1)     # reshape and tile
    return x.permute(permute_mask)


class PosEmbedRel(nn.Module):
    """Relative position embedding for a fixed feature size (timm)."""

    def __init__(self, feat_size, dim_head: int, scale: float):
        super().__init__()
        self.height, self.width = feat_size
        self.height_rel = nn.Parameter(torch.randn(self.height * 2 - 1, dim_head) * scale)
        self.width_rel = nn.Parameter(torch.randn(self.width * 2 - 1, dim_head) * scale)

    def forward(self, q):
        b, hw, _ = q.shape
        q = q.reshape(b, self.height, self.width, -1)
        rel_logits_w = rel_logits_1d(q, self.width_rel, permute_mask=(0, 1, 3, 2, 4))
        q = q.transpose(1, 2)
        rel_logits_h = rel_logits_1d(q, self.height_rel, permute_mask=(0, 3, 1, 4, 2))
        rel_logits = rel_logits_h + rel_logits_w
        return rel_logits.reshape(b, hw, hw)


@reference("botnet-mhsa")
class BottleneckAttn(nn.Module):
    """timm ``BottleneckAttn`` (BoTNet's MHSA, Srinivas et al. Fig. 4) built for the input's H x W."""

    needs_spatial_size = True

    def __init__(self, channels: int, *, heads: int, dim_out, dim_head, qkv_bias: bool, scale_pos_embed: bool,
                 stride: int, spatial_size):
        super().__init__()
        dim_out, self.dim_head_qk, self.dim_head_v = botnet_dims(channels, heads, dim_out, dim_head)
        self.num_heads = heads
        self.dim_out_qk = heads * self.dim_head_qk
        self.dim_out_v = heads * self.dim_head_v
        self.scale = self.dim_head_qk ** -0.5
        self.scale_pos_embed = scale_pos_embed
        self.qkv = nn.Conv2d(channels, self.dim_out_qk * 2 + self.dim_out_v, 1, bias=qkv_bias)
        self.pos_embed = PosEmbedRel(spatial_size, dim_head=self.dim_head_qk, scale=self.scale)
        self.pool = nn.AvgPool2d(2, 2) if stride == 2 else nn.Identity()

    def forward(self, x):
        b, c, h, w = x.shape
        assert h == self.pos_embed.height and w == self.pos_embed.width
        x = self.qkv(x)                                        # (B, 2 Nh dqk + Nh dv, H, W)
        q, k, v = torch.split(x, [self.dim_out_qk, self.dim_out_qk, self.dim_out_v], dim=1)
        q = q.reshape(b * self.num_heads, self.dim_head_qk, -1).transpose(-1, -2)
        k = k.reshape(b * self.num_heads, self.dim_head_qk, -1)  # no transpose, for q @ k
        v = v.reshape(b * self.num_heads, self.dim_head_v, -1).transpose(-1, -2)
        if self.scale_pos_embed:
            attn = (q @ k + self.pos_embed(q)) * self.scale      # (B Nh, HW, HW)
        else:
            attn = (q @ k) * self.scale + self.pos_embed(q)
        attn = attention_map(attn.softmax(dim=-1))
        out = (attn @ v).transpose(-1, -2).reshape(b, self.dim_out_v, h, w)   # (B, dim_out, H, W)
        return self.pool(out)
