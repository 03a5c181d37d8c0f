"""Reference implementations of the other family (catalogue/families/other.py): the spatial
transformer (PyTorch STN tutorial), the residual attention module (fwang91 Caffe prototxts;
tengshaofeng PyTorch), PAN's FPA and GAU (segmentation_models.pytorch) and deformable convolution v1
in pure PyTorch.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..trace.marks import attention_map
from .registry import reference


# -- spatial transformer -------------------------------------------------------------------------

@reference("stn")
class SpatialTransformer(nn.Module):
    """Localisation net -> theta (N, 2, 3), F.affine_grid, F.grid_sample (PyTorch STN tutorial)."""

    needs_spatial_size = True

    def __init__(self, channels: int, *, loc: str, kernel: str, spatial_size):
        super().__init__()
        h, w = spatial_size
        if loc == "tutorial":
            self.localization = nn.Sequential(
                nn.Conv2d(channels, 8, kernel_size=7), nn.MaxPool2d(2, stride=2), nn.ReLU(True),
                nn.Conv2d(8, 10, kernel_size=5), nn.MaxPool2d(2, stride=2), nn.ReLU(True))
            features = 10 * (((h - 6) // 2 - 4) // 2) * (((w - 6) // 2 - 4) // 2)
        else:
            self.localization = nn.Sequential(
                nn.Conv2d(channels, 8, kernel_size=3, padding=1), nn.MaxPool2d(2, stride=2), nn.ReLU(True))
            features = 8 * (h // 2) * (w // 2)
        self.fc_loc = nn.Sequential(nn.Linear(features, 32), nn.ReLU(True), nn.Linear(32, 3 * 2))
        with torch.no_grad():                                  # start from the identity transform
            self.fc_loc[2].weight.zero_()
            self.fc_loc[2].bias.copy_(torch.tensor([1, 0, 0, 0, 1, 0], dtype=torch.float))
        self.kernel = kernel

    def forward(self, x):
        xs = self.localization(x)
        theta = self.fc_loc(xs.view(xs.shape[0], -1)).view(-1, 2, 3)
        grid = attention_map(F.affine_grid(theta, x.size(), align_corners=False))   # (N, H, W, 2)
        return F.grid_sample(x, grid, mode=self.kernel, align_corners=False)


# -- residual attention --------------------------------------------------------------------------

def _resize(x, size, mode: str):
    """Bilinear with align_corners=True (Caffe Interp, smp) or nearest up-sampling to ``size``."""
    if mode == "bilinear":
        return F.interpolate(x, size=size, mode="bilinear", align_corners=True)
    return F.interpolate(x, size=size, mode="nearest")


class PreActBottleneck(nn.Module):
    """BN-ReLU-conv1x1 (C -> C/4), BN-ReLU-conv3x3, BN-ReLU-conv1x1 (-> C), no biases, + identity."""

    def __init__(self, channels: int):
        super().__init__()
        mid = channels // 4
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv1 = nn.Conv2d(channels, mid, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(mid)
        self.conv2 = nn.Conv2d(mid, mid, 3, padding=1, bias=False)
        self.bn3 = nn.BatchNorm2d(mid)
        self.conv3 = nn.Conv2d(mid, channels, 1, bias=False)

    def forward(self, x):
        out = self.conv1(F.relu(self.bn1(x), inplace=True))
        out = self.conv2(F.relu(self.bn2(out), inplace=True))
        out = self.conv3(F.relu(self.bn3(out), inplace=True))
        out += x
        return out


def _units(channels: int, count: int) -> nn.Sequential:
    return nn.Sequential(*[PreActBottleneck(channels) for _ in range(count)])


@reference("residual-attention")
class ResidualAttentionModule(nn.Module):
    """p units; trunk (t units) and soft mask (depth pool levels, skips, interpolation, head); merge; p units."""

    def __init__(self, channels: int, *, p: int, t: int, r: int, depth: int, upsample: str, mask: str,
                 variant: str):
        super().__init__()
        self.depth, self.upsample, self.mask, self.variant = depth, upsample, mask, variant
        self.pre = _units(channels, p)
        self.trunk = _units(channels, t)
        self.down = nn.ModuleList([_units(channels, r if level < depth - 1 else 2 * r) for level in range(depth)])
        self.skips = nn.ModuleList([PreActBottleneck(channels) for _ in range(depth - 1)])
        self.up = nn.ModuleList([_units(channels, r) for _ in range(depth - 1)])
        self.head = nn.Sequential(
            nn.BatchNorm2d(channels), nn.ReLU(inplace=True), nn.Conv2d(channels, channels, 1, bias=False),
            nn.BatchNorm2d(channels), nn.ReLU(inplace=True), nn.Conv2d(channels, channels, 1, bias=False))
        self.post = _units(channels, p)

    def _activation(self, m):
        """f1 mixed, f2 channel (L2 over C), f3 spatial (standardise each channel's map, sigmoid)."""
        if self.mask == "mixed":
            return torch.sigmoid(m)
        if self.mask == "channel":
            return m / m.pow(2).sum(1, keepdim=True).sqrt()
        centered = m - m.mean((2, 3), keepdim=True)
        return torch.sigmoid(centered / centered.pow(2).mean((2, 3), keepdim=True).sqrt())

    def forward(self, x):
        x = self.pre(x)
        trunk = self.trunk(x)
        sizes, down, skips = [x.shape[2:]], [], []
        out = x
        for level in range(self.depth):
            out = self.down[level](F.max_pool2d(out, 3, 2, 1))
            sizes.append(out.shape[2:])
            down.append(out)
            if level < self.depth - 1:
                skips.append(self.skips[level](out))
        for level in reversed(range(self.depth - 1)):
            out = _resize(out, sizes[level + 1], self.upsample)
            if self.variant == "pytorch":
                out = out + down[level]
            out = self.up[level](out + skips[level])
        out = _resize(out, sizes[0], self.upsample)
        if self.variant == "pytorch":
            out = out + trunk
        m = attention_map(self._activation(self.head(out)))
        out = trunk * m + trunk if self.variant == "caffe" else (1 + m) * trunk
        return self.post(out)


# -- PAN -----------------------------------------------------------------------------------------

class ConvBnRelu(nn.Module):
    """smp ConvBnRelu: conv with bias, BatchNorm, optional in-place ReLU."""

    def __init__(self, in_channels: int, out_channels: int, kernel: int, relu: bool = True):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel, padding=kernel // 2)
        self.bn = nn.BatchNorm2d(out_channels)
        self.relu = relu

    def forward(self, x):
        x = self.bn(self.conv(x))
        return F.relu(x, inplace=True) if self.relu else x


@reference("pan-fpa")
class FeaturePyramidAttention(nn.Module):
    """smp FPABlock: GAP branch, 1x1 branch, one-channel 7x7 / 5x5 / 3x3 pyramid; pyramid * mid + GAP.
    pool=ceil pools with ceil_mode and up-samples to each level's own size (any H, W)."""

    def __init__(self, channels: int, *, out_channels, pool: str, upsample: str):
        super().__init__()
        out = out_channels if out_channels is not None else channels
        self.ceil, self.upsample = pool == "ceil", upsample
        self.branch1 = ConvBnRelu(channels, out, 1)
        self.mid = ConvBnRelu(channels, out, 1)
        self.down1 = ConvBnRelu(channels, 1, 7)
        self.down2 = ConvBnRelu(1, 1, 5)
        self.down3 = nn.Sequential(ConvBnRelu(1, 1, 3), ConvBnRelu(1, 1, 3))
        self.conv2 = ConvBnRelu(1, 1, 5)
        self.conv1 = ConvBnRelu(1, 1, 7)

    def forward(self, x):
        h, w = x.shape[2:]
        context = _resize(self.branch1(F.adaptive_avg_pool2d(x, 1)), (h, w), self.upsample)
        middle = self.mid(x)
        x1 = self.down1(F.max_pool2d(x, 2, 2, ceil_mode=self.ceil))
        x2 = self.down2(F.max_pool2d(x1, 2, 2, ceil_mode=self.ceil))
        x3 = self.down3(F.max_pool2d(x2, 2, 2, ceil_mode=self.ceil))
        quarter = x2.shape[2:] if self.ceil else (h // 4, w // 4)
        half = x1.shape[2:] if self.ceil else (h // 2, w // 2)
        x3 = _resize(x3, quarter, self.upsample)
        pyramid = _resize(self.conv2(x2) + x3, half, self.upsample)
        pyramid = attention_map(_resize(pyramid + self.conv1(x1), (h, w), self.upsample))   # (N, 1, H, W)
        return torch.mul(pyramid, middle) + context


@reference("pan-gau")
class GlobalAttentionUpsample(nn.Module):
    """smp GAUBlock on (low = x, high = avg_pool2d(x, 2)): up(high) + ConvBnRelu3x3(low) * gate(high)."""

    def __init__(self, channels: int, *, gate: str, upsample: str):
        super().__init__()
        self.upsample, self.gate = upsample, gate
        self.conv1 = ConvBnRelu(channels, channels, 1, relu=False)
        self.conv2 = ConvBnRelu(channels, channels, 3)

    def forward(self, x):
        h, w = x.shape[2:]
        high = F.avg_pool2d(x, 2)                                           # stand-in high-level feature
        high_up = _resize(high, (h, w), self.upsample)
        low = self.conv2(x)
        weights = self.conv1(F.adaptive_avg_pool2d(high, 1))
        weights = torch.sigmoid(weights) if self.gate == "sigmoid" else F.relu(weights, inplace=True)
        return high_up + low * attention_map(weights)


# -- deformable convolution ----------------------------------------------------------------------

@reference("deform-conv")
class DeformConv2d(nn.Module):
    """DCN v1 in pure PyTorch: offset conv, one grid_sample over a (kH, kW) grid, k x k stride-k conv.

    Offset channel 2*(g*k*k + n) holds dy and 2*(g*k*k + n) + 1 holds dx for group g and kernel
    position n (the official layout). The grid for output p0 and kernel position (a, b) is
    p0 + p_n + dp_n in grid_sample's normalised coordinates (align_corners=False, zero padding, which
    is DCN's bilinear kernel with zero outside the map)."""

    needs_spatial_size = True

    def __init__(self, channels: int, *, kernel: int, dilation: int, deform_groups: int, out_channels,
                 bias: bool, spatial_size):
        super().__init__()
        h, w = spatial_size
        k, self.k, self.dg = kernel, kernel, deform_groups
        pad = dilation * (k - 1) // 2
        self.offset = nn.Conv2d(channels, 2 * deform_groups * k * k, k, padding=pad, dilation=dilation)
        out = out_channels if out_channels is not None else channels
        self.conv = nn.Conv2d(channels, out, k, stride=k, bias=bias)
        taps = torch.arange(k, dtype=torch.float) * dilation - pad                     # p_n along one axis
        ys = torch.arange(h, dtype=torch.float)[:, None] + taps[None, :]               # (H, k)
        xs = torch.arange(w, dtype=torch.float)[:, None] + taps[None, :]               # (W, k)
        base = torch.empty(h, k, w, k, 2)
        base[..., 0] = ((2 * xs + 1) / w - 1)[None, None, :, :]
        base[..., 1] = ((2 * ys + 1) / h - 1)[:, :, None, None]
        self.register_buffer("base", base)                                             # normalised p0 + p_n
        self.register_buffer("scale", torch.tensor([2.0 / w, 2.0 / h]))                # pixels -> [-1, 1]

    def forward(self, x):
        n, c, h, w = x.shape
        k, dg = self.k, self.dg
        offset = self.offset(x).view(n, dg, k, k, 2, h, w).permute(0, 1, 5, 2, 6, 3, 4)  # (N, dg, H, k, W, k, 2)
        grid = torch.cat([offset[..., 1:2], offset[..., 0:1]], -1)                     # (dx, dy)
        grid.mul_(self.scale).add_(self.base)
        grid = attention_map(grid).view(n * dg, h * k, w * k, 2)
        sampled = F.grid_sample(x.view(n * dg, c // dg, h, w), grid, mode="bilinear", padding_mode="zeros",
                                align_corners=False)                                  # (N*dg, C/dg, kH, kW)
        return self.conv(sampled.view(n, c, h * k, w * k))
