"""timm's pre-norm ViT encoder block, ``timm.models.vision_transformer.Block``.

Rewritten (not copied) from huggingface/pytorch-image-models, timm/models/vision_transformer.py at commit
aa4b5850c1543fa488abf260f18390eda46cf85d (timm 1.0.29.dev0), licence Apache-2.0:
x + drop_path1(ls1(attn(norm1(x)))), then x + drop_path2(ls2(mlp(norm2(x)))), with timm's LayerNorm
(eps 1e-6), its Attention (timm_attention.py), Mlp (fc1, GELU, fc2) and LayerScale when init_values is
given; drop_path 0 makes both DropPaths nn.Identity, as in the original. ``fused_attn`` stands in for
timm's global switch (timm.layers.config.use_fused_attn(), on by default).
"""

from __future__ import annotations

from typing import Optional

import torch
from torch import nn

from .timm_attention import Attention
from .timm_layers import LayerNorm, LayerScale, Mlp


class Block(nn.Module):
    def __init__(self, dim, num_heads, mlp_ratio=4., qkv_bias=False, qk_norm=False, scale_attn_norm=False,
                 scale_mlp_norm=False, proj_bias=True, proj_drop=0., attn_drop=0., init_values=None,
                 act_layer=nn.GELU, norm_layer=LayerNorm, mlp_layer=Mlp, fused_attn: bool = True):
        super().__init__()
        self.norm1 = norm_layer(dim)
        self.attn = Attention(dim, num_heads=num_heads, qkv_bias=qkv_bias, qk_norm=qk_norm,
                              scale_norm=scale_attn_norm, proj_bias=proj_bias, attn_drop=attn_drop,
                              proj_drop=proj_drop, norm_layer=norm_layer, fused_attn=fused_attn)
        self.ls1 = LayerScale(dim, init_values=init_values) if init_values else nn.Identity()
        self.drop_path1 = nn.Identity()
        self.norm2 = norm_layer(dim)
        self.mlp = mlp_layer(in_features=dim, hidden_features=int(dim * mlp_ratio), act_layer=act_layer,
                             norm_layer=norm_layer if scale_mlp_norm else None, bias=proj_bias, drop=proj_drop)
        self.ls2 = LayerScale(dim, init_values=init_values) if init_values else nn.Identity()
        self.drop_path2 = nn.Identity()

    def forward(self, x, attn_mask: Optional[torch.Tensor] = None, is_causal: bool = False):
        x = x + self.drop_path1(self.ls1(self.attn(self.norm1(x), attn_mask=attn_mask, is_causal=is_causal)))
        x = x + self.drop_path2(self.ls2(self.mlp(self.norm2(x))))
        return x
