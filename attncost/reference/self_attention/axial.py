"""Reference implementation of Axial-DeepLab's axial attention (catalogue/families/self_attention/axial.py):
the official ``AxialAttention`` of csrhddlam/axial-deeplab (lib/models/axialnet.py, bias=False), its
forward unchanged, and ``AxialBlock``'s pair of them (height, then width with the stride's pooling)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ...trace.marks import attention_map
from ..registry import reference


class AxialAttention(nn.Module):
    """Official position-sensitive axial attention along H (``width=False``) or W, spanning the axis."""

    def __init__(self, in_planes: int, out_planes: int, groups: int = 8, kernel_size: int = 56, stride: int = 1,
                 width: bool = False):
        assert (in_planes % groups == 0) and (out_planes % groups == 0)
        super().__init__()
        self.in_planes, self.out_planes, self.groups = in_planes, out_planes, groups
        self.group_planes = out_planes // groups
        self.kernel_size, self.stride, self.width = kernel_size, stride, width
        self.qkv_transform = nn.Conv1d(in_planes, out_planes * 2, kernel_size=1, stride=1, padding=0, bias=False)
        self.bn_qkv = nn.BatchNorm1d(out_planes * 2)
        self.bn_similarity = nn.BatchNorm2d(groups * 3)
        self.bn_output = nn.BatchNorm1d(out_planes * 2)
        self.relative = nn.Parameter(torch.randn(self.group_planes * 2, kernel_size * 2 - 1), requires_grad=True)
        query_index = torch.arange(kernel_size).unsqueeze(0)
        key_index = torch.arange(kernel_size).unsqueeze(1)
        relative_index = key_index - query_index + kernel_size - 1
        self.register_buffer("flatten_index", relative_index.view(-1))
        if stride > 1:
            self.pooling = nn.AvgPool2d(stride, stride=stride)
        self.qkv_transform.weight.data.normal_(0, math.sqrt(1. / self.in_planes))
        nn.init.normal_(self.relative, 0., math.sqrt(1. / self.group_planes))

    def forward(self, x):
        if self.width:
            x = x.permute(0, 2, 1, 3)
        else:
            x = x.permute(0, 3, 1, 2)                                            # N, W, C, H
        n, w, c, h = x.shape
        x = x.contiguous().view(n * w, c, h)
        # Transformations
        qkv = self.bn_qkv(self.qkv_transform(x))
        q, k, v = torch.split(qkv.reshape(n * w, self.groups, self.group_planes * 2, h),
                              [self.group_planes // 2, self.group_planes // 2, self.group_planes], dim=2)
        # Calculate position embedding
        all_embeddings = torch.index_select(self.relative, 1, self.flatten_index).view(
            self.group_planes * 2, self.kernel_size, self.kernel_size)
        q_embedding, k_embedding, v_embedding = torch.split(
            all_embeddings, [self.group_planes // 2, self.group_planes // 2, self.group_planes], dim=0)
        qr = torch.einsum('bgci,cij->bgij', q, q_embedding)
        kr = torch.einsum('bgci,cij->bgij', k, k_embedding).transpose(2, 3)
        qk = torch.einsum('bgci, bgcj->bgij', q, k)
        stacked_similarity = torch.cat([qk, qr, kr], dim=1)
        stacked_similarity = self.bn_similarity(stacked_similarity).view(n * w, 3, self.groups, h, h).sum(dim=1)
        similarity = attention_map(F.softmax(stacked_similarity, dim=3))
        sv = torch.einsum('bgij,bgcj->bgci', similarity, v)
        sve = torch.einsum('bgij,cij->bgci', similarity, v_embedding)
        stacked_output = torch.cat([sv, sve], dim=-1).view(n * w, self.out_planes * 2, h)
        output = self.bn_output(stacked_output).view(n, w, self.out_planes, 2, h).sum(dim=-2)
        if self.width:
            output = output.permute(0, 2, 1, 3)
        else:
            output = output.permute(0, 2, 3, 1)
        if self.stride > 1:
            output = self.pooling(output)
        return output


@reference("axial-attention")
class AxialAttentionLayer(nn.Module):
    """AxialBlock's attention pair (``hight_block`` then ``width_block``), or one of them (``axis``)."""

    needs_spatial_size = True

    def __init__(self, channels: int, *, groups: int, out_channels, stride: int, axis: str, spatial_size):
        super().__init__()
        out = out_channels if out_channels is not None else channels
        h, w = spatial_size
        self.height_block = (AxialAttention(channels, out, groups=groups, kernel_size=h)
                             if axis in ("both", "height") else None)
        width_in = out if self.height_block is not None else channels
        self.width_block = (AxialAttention(width_in, out, groups=groups, kernel_size=w, stride=stride, width=True)
                            if axis in ("both", "width") else None)

    def forward(self, x):
        if self.height_block is not None:
            x = self.height_block(x)
        if self.width_block is not None:
            x = self.width_block(x)
        return x
