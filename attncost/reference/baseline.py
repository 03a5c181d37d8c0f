"""Reference of the baseline layers (catalogue/families/baseline.py)."""

from __future__ import annotations

from torch import nn

from .registry import reference


@reference("conv")
class Conv(nn.Conv2d):
    def __init__(self, channels: int, *, kernel: int, out_channels, groups: int, bias: bool):
        super().__init__(channels, out_channels or channels, kernel, padding=kernel // 2, groups=groups, bias=bias)
