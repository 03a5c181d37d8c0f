"""Reference implementation of efficient attention (catalogue/families/self_attention/efficient.py):
cmsflash/efficient-attention's EfficientAttention, op for op, with the keys' softmax marked as the
attention map (each key channel is a global attention map over the positions)."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as f

from ...trace.marks import attention_map
from ..registry import reference


@reference("efficient-attention")
class EfficientAttention(nn.Module):
    """EfficientAttention(in_channels, key_channels, head_count, value_channels); widths default to C // 2."""

    def __init__(self, channels: int, *, key_channels, value_channels, head_count: int):
        super().__init__()
        self.in_channels = channels
        self.key_channels = key_channels if key_channels is not None else channels // 2
        self.head_count = head_count
        self.value_channels = value_channels if value_channels is not None else channels // 2
        self.keys = nn.Conv2d(channels, self.key_channels, 1)
        self.queries = nn.Conv2d(channels, self.key_channels, 1)
        self.values = nn.Conv2d(channels, self.value_channels, 1)
        self.reprojection = nn.Conv2d(self.value_channels, channels, 1)

    def forward(self, input_):
        n, _, h, w = input_.size()
        keys = self.keys(input_).reshape((n, self.key_channels, h * w))
        queries = self.queries(input_).reshape(n, self.key_channels, h * w)
        values = self.values(input_).reshape((n, self.value_channels, h * w))
        head_key_channels = self.key_channels // self.head_count
        head_value_channels = self.value_channels // self.head_count
        attended_values = []
        for i in range(self.head_count):
            key = attention_map(f.softmax(keys[:, i * head_key_channels: (i + 1) * head_key_channels, :], dim=2))
            query = f.softmax(queries[:, i * head_key_channels: (i + 1) * head_key_channels, :], dim=1)
            value = values[:, i * head_value_channels: (i + 1) * head_value_channels, :]
            context = key @ value.transpose(1, 2)                                 # (N, hk, hv)
            attended_value = (context.transpose(1, 2) @ query).reshape(n, head_value_channels, h, w)
            attended_values.append(attended_value)
        aggregated_values = torch.cat(attended_values, dim=1)
        reprojected_value = self.reprojection(aggregated_values)
        return reprojected_value + input_
