"""Reference implementations of Swin's window attention (catalogue/families/self_attention/window.py).

``WindowAttention`` is the official microsoft/Swin-Transformer class (models/swin_transformer.py),
its buffers and forward unchanged but for the dropouts (p = 0, identities in eval). ``window_partition``
and ``window_reverse`` are the official functions; the modules around them take an (N, C, H, W) map
and run the attention part of ``SwinTransformerBlock.forward``: zero-pad to multiples of M (as the
official detection backbone does), cyclic shift, partition, attention, reverse, shift back, crop.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ...catalogue.families.self_attention.window import window_grid
from ...trace.marks import attention_map
from ..registry import reference


def window_partition(x, window_size):
    """(B, H, W, C) -> (num_windows * B, M, M, C) (official)."""
    b, h, w, c = x.shape
    x = x.view(b, h // window_size, window_size, w // window_size, window_size, c)
    return x.permute(0, 1, 3, 2, 4, 5).contiguous().view(-1, window_size, window_size, c)


def window_reverse(windows, window_size, h, w):
    """(num_windows * B, M, M, C) -> (B, H, W, C) (official)."""
    b = int(windows.shape[0] / (h * w / window_size / window_size))
    x = windows.view(b, h // window_size, w // window_size, window_size, window_size, -1)
    return x.permute(0, 1, 3, 2, 4, 5).contiguous().view(b, h, w, -1)


class WindowAttention(nn.Module):
    """Official W-MSA with relative position bias (Swin Eq. 4) on (num_windows * B, M^2, C) tokens."""

    def __init__(self, dim: int, window_size: tuple, num_heads: int, qkv_bias: bool = True):
        super().__init__()
        self.dim, self.window_size, self.num_heads = dim, window_size, num_heads
        self.scale = (dim // num_heads) ** -0.5
        self.relative_position_bias_table = nn.Parameter(
            torch.zeros((2 * window_size[0] - 1) * (2 * window_size[1] - 1), num_heads))   # (2M-1)^2, heads
        coords = torch.stack(torch.meshgrid([torch.arange(window_size[0]), torch.arange(window_size[1])],
                                            indexing="ij"))                                # 2, M, M
        coords_flatten = torch.flatten(coords, 1)                                          # 2, M^2
        relative_coords = (coords_flatten[:, :, None] - coords_flatten[:, None, :]).permute(1, 2, 0).contiguous()
        relative_coords[:, :, 0] += window_size[0] - 1                                     # shift to start from 0
        relative_coords[:, :, 1] += window_size[1] - 1
        relative_coords[:, :, 0] *= 2 * window_size[1] - 1
        self.register_buffer("relative_position_index", relative_coords.sum(-1))         # M^2, M^2
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)
        # the official trunc_normal_(std=.02); its range check cannot run on FakeTensors (the symbolic
        # trace builds the module on them) and no count depends on the values
        nn.init.normal_(self.relative_position_bias_table, std=.02)
        self.softmax = nn.Softmax(dim=-1)

    def forward(self, x, mask=None):
        b_, n, c = x.shape
        qkv = self.qkv(x).reshape(b_, n, 3, self.num_heads, c // self.num_heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        q = q * self.scale
        attn = q @ k.transpose(-2, -1)                                                     # (B_, heads, M^2, M^2)
        relative_position_bias = self.relative_position_bias_table[self.relative_position_index.view(-1)].view(
            self.window_size[0] * self.window_size[1], self.window_size[0] * self.window_size[1], -1)
        relative_position_bias = relative_position_bias.permute(2, 0, 1).contiguous()     # heads, M^2, M^2
        attn = attn + relative_position_bias.unsqueeze(0)
        if mask is not None:
            nw = mask.shape[0]
            attn = attn.view(b_ // nw, nw, self.num_heads, n, n) + mask.unsqueeze(1).unsqueeze(0)
            attn = attn.view(-1, self.num_heads, n, n)
        attn = attention_map(self.softmax(attn))
        x = (attn @ v).transpose(1, 2).reshape(b_, n, c)
        return self.proj(x)


def shifted_window_mask(hp: int, wp: int, window_size: int, shift_size: int):
    """The official SW-MSA mask for an Hp x Wp map: (nW, M^2, M^2) of 0 and -100."""
    img_mask = torch.zeros((1, hp, wp, 1))
    slices = (slice(0, -window_size), slice(-window_size, -shift_size), slice(-shift_size, None))
    cnt = 0
    for h in slices:
        for w in slices:
            img_mask[:, h, w, :] = cnt
            cnt += 1
    mask_windows = window_partition(img_mask, window_size).view(-1, window_size * window_size)
    attn_mask = mask_windows.unsqueeze(1) - mask_windows.unsqueeze(2)
    return attn_mask.masked_fill(attn_mask != 0, float(-100.0)).masked_fill(attn_mask == 0, float(0.0))


class ShiftedWindowAttention(nn.Module):
    """The attention path of the official SwinTransformerBlock on an (N, C, H, W) map."""

    def __init__(self, channels: int, window_size: int, heads: int, qkv_bias: bool, shift_size: int,
                 spatial_size=None):
        super().__init__()
        self.window_size, self.shift_size = window_size, shift_size
        self.attn = WindowAttention(channels, (window_size, window_size), heads, qkv_bias)
        mask = None
        if shift_size > 0:
            nh, nw = window_grid(*spatial_size, window_size)
            mask = shifted_window_mask(nh * window_size, nw * window_size, window_size, shift_size)
        self.spatial_size = spatial_size
        self.register_buffer("attn_mask", mask)

    def forward(self, x):
        b, c, h, w = x.shape
        m, s = self.window_size, self.shift_size
        x = x.permute(0, 2, 3, 1)                                                          # (B, H, W, C), a view
        pad_r = (m - w % m) % m
        pad_b = (m - h % m) % m
        x = F.pad(x, (0, 0, 0, pad_r, 0, pad_b))
        _, hp, wp, _ = x.shape
        if self.attn_mask is not None and self.attn_mask.shape[0] != (hp // m) * (wp // m):
            raise ValueError(f"the SW-MSA mask was built for a {self.spatial_size} map, not {(h, w)}")
        if s > 0:
            x = torch.roll(x, shifts=(-s, -s), dims=(1, 2))
        x_windows = window_partition(x, m).view(-1, m * m, c)                              # (nW B, M^2, C)
        attn_windows = self.attn(x_windows, mask=self.attn_mask).view(-1, m, m, c)
        x = window_reverse(attn_windows, m, hp, wp)                                        # (B, Hp, Wp, C)
        if s > 0:
            x = torch.roll(x, shifts=(s, s), dims=(1, 2))
        return x[:, :h, :w, :].permute(0, 3, 1, 2)                                         # (B, C, H, W), a view


@reference("swin-wmsa")
class SwinWMSA(ShiftedWindowAttention):
    """W-MSA: window attention without shift (Swin Sec. 3.2)."""

    def __init__(self, channels: int, *, window_size: int, heads: int, qkv_bias: bool):
        super().__init__(channels, window_size, heads, qkv_bias, shift_size=0)


@reference("swin-swmsa")
class SwinSWMSA(ShiftedWindowAttention):
    """SW-MSA: window attention on windows shifted by shift_size (default M // 2), masked."""

    needs_spatial_size = True

    def __init__(self, channels: int, *, window_size: int, heads: int, qkv_bias: bool, shift_size, spatial_size):
        shift = window_size // 2 if shift_size is None else shift_size
        super().__init__(channels, window_size, heads, qkv_bias, shift_size=shift, spatial_size=spatial_size)
