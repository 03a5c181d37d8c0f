"""The references of coordinate attention, SimAM, triplet attention and efficient attention against
rewrites of the authors' own modules: the same parameters, the same output, the same aten ops.

The rewrites below keep the official forward passes op for op (read at the commits named; every
repository MIT-licensed except SimAM's, which has no licence file): the attribute names are the
originals', so a state dict moves between the two unchanged. For each configuration:

- ``sum(p.numel())`` of the official module equals the reference's and the catalogue's params;
- with the reference's weights loaded (BatchNorm's running statistics drawn at random, eval mode),
  the official module returns the same tensor;
- the tracer counts the same op kinds, activation and peak memory on both (the references only add
  ``attention_map`` markers, which count nothing), and the catalogue's Program the same again.
"""

from __future__ import annotations

import dataclasses

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from attncost import catalogue
from attncost.reference import build
from attncost.trace import trace_module


# -- houqb/CoordAttention, coordatt.py (commit a3f3490ceba779a8443a231d0f792866bd24436d) -----------------------------
class h_sigmoid(nn.Module):  # noqa: N801 (the original's names)
    def __init__(self, inplace=True):
        super().__init__()
        self.relu = nn.ReLU6(inplace=inplace)

    def forward(self, x):
        return self.relu(x + 3) / 6


class h_swish(nn.Module):  # noqa: N801
    def __init__(self, inplace=True):
        super().__init__()
        self.sigmoid = h_sigmoid(inplace=inplace)

    def forward(self, x):
        return x * self.sigmoid(x)


class CoordAtt(nn.Module):
    def __init__(self, inp, oup, reduction=32):
        super().__init__()
        self.pool_h = nn.AdaptiveAvgPool2d((None, 1))
        self.pool_w = nn.AdaptiveAvgPool2d((1, None))
        mip = max(8, inp // reduction)
        self.conv1 = nn.Conv2d(inp, mip, kernel_size=1, stride=1, padding=0)
        self.bn1 = nn.BatchNorm2d(mip)
        self.act = h_swish()
        self.conv_h = nn.Conv2d(mip, oup, kernel_size=1, stride=1, padding=0)
        self.conv_w = nn.Conv2d(mip, oup, kernel_size=1, stride=1, padding=0)

    def forward(self, x):
        identity = x
        n, c, h, w = x.size()
        x_h = self.pool_h(x)
        x_w = self.pool_w(x).permute(0, 1, 3, 2)
        y = torch.cat([x_h, x_w], dim=2)
        y = self.conv1(y)
        y = self.bn1(y)
        y = self.act(y)
        x_h, x_w = torch.split(y, [h, w], dim=2)
        x_w = x_w.permute(0, 1, 3, 2)
        a_h = self.conv_h(x_h).sigmoid()
        a_w = self.conv_w(x_w).sigmoid()
        return identity * a_w * a_h


# -- ZjjConan/SimAM, simam_module (mmdetection/mmdet/models/backbones/attentions/simam_module.py, commit
# 9a2b154c6d802209314e96ac3ba381550317d9e3; the README writes the same five lines) -----------------------------------
class simam_module(nn.Module):  # noqa: N801
    def __init__(self, channels=None, e_lambda=1e-4):
        super().__init__()
        self.activaton = nn.Sigmoid()
        self.e_lambda = e_lambda

    def forward(self, x):
        b, c, h, w = x.size()
        n = w * h - 1
        x_minus_mu_square = (x - x.mean(dim=[2, 3], keepdim=True)).pow(2)
        y = x_minus_mu_square / (4 * (x_minus_mu_square.sum(dim=[2, 3], keepdim=True) / n + self.e_lambda)) + 0.5
        return x * self.activaton(y)


# -- landskape-ai/triplet-attention, triplet_attention.py (root, commit 096a04309c8f776c47429f3b83c13428048e3439) ------
class BasicConv(nn.Module):
    def __init__(self, in_planes, out_planes, kernel_size, stride=1, padding=0, dilation=1, groups=1, relu=True,
                 bn=True, bias=False):
        super().__init__()
        self.out_channels = out_planes
        self.conv = nn.Conv2d(in_planes, out_planes, kernel_size=kernel_size, stride=stride, padding=padding,
                              dilation=dilation, groups=groups, bias=bias)
        self.bn = nn.BatchNorm2d(out_planes, eps=1e-5, momentum=0.01, affine=True) if bn else None
        self.relu = nn.ReLU() if relu else None

    def forward(self, x):
        x = self.conv(x)
        if self.bn is not None:
            x = self.bn(x)
        if self.relu is not None:
            x = self.relu(x)
        return x


class ZPool(nn.Module):
    def forward(self, x):
        return torch.cat((torch.max(x, 1)[0].unsqueeze(1), torch.mean(x, 1).unsqueeze(1)), dim=1)


class AttentionGate(nn.Module):
    def __init__(self):
        super().__init__()
        kernel_size = 7
        self.compress = ZPool()
        self.conv = BasicConv(2, 1, kernel_size, stride=1, padding=(kernel_size - 1) // 2, relu=False)

    def forward(self, x):
        x_compress = self.compress(x)
        x_out = self.conv(x_compress)
        scale = torch.sigmoid_(x_out)
        return x * scale


class TripletAttention(nn.Module):
    def __init__(self, no_spatial=False):
        super().__init__()
        self.cw = AttentionGate()
        self.hc = AttentionGate()
        self.no_spatial = no_spatial
        if not no_spatial:
            self.hw = AttentionGate()

    def forward(self, x):
        x_perm1 = x.permute(0, 2, 1, 3).contiguous()
        x_out1 = self.cw(x_perm1)
        x_out11 = x_out1.permute(0, 2, 1, 3).contiguous()
        x_perm2 = x.permute(0, 3, 2, 1).contiguous()
        x_out2 = self.hc(x_perm2)
        x_out21 = x_out2.permute(0, 3, 2, 1).contiguous()
        if not self.no_spatial:
            x_out = self.hw(x)
            x_out = 1 / 3 * (x_out + x_out11 + x_out21)
        else:
            x_out = 1 / 2 * (x_out11 + x_out21)
        return x_out


# -- cmsflash/efficient-attention, efficient_attention.py (commit 23d44036cc46f98744a72b1bdfae6b322005a54c) ------------
class EfficientAttention(nn.Module):
    def __init__(self, in_channels, key_channels, head_count, value_channels):
        super().__init__()
        self.in_channels = in_channels
        self.key_channels = key_channels
        self.head_count = head_count
        self.value_channels = value_channels
        self.keys = nn.Conv2d(in_channels, key_channels, 1)
        self.queries = nn.Conv2d(in_channels, key_channels, 1)
        self.values = nn.Conv2d(in_channels, value_channels, 1)
        self.reprojection = nn.Conv2d(value_channels, in_channels, 1)

    def forward(self, input_):
        n, _, h, w = input_.size()
        keys = self.keys(input_).reshape((n, self.key_channels, h * w))
        queries = self.queries(input_).reshape(n, self.key_channels, h * w)
        values = self.values(input_).reshape((n, self.value_channels, h * w))
        head_key_channels = self.key_channels // self.head_count
        head_value_channels = self.value_channels // self.head_count
        attended_values = []
        for i in range(self.head_count):
            key = F.softmax(keys[:, i * head_key_channels: (i + 1) * head_key_channels, :], dim=2)
            query = F.softmax(queries[:, i * head_key_channels: (i + 1) * head_key_channels, :], dim=1)
            value = values[:, i * head_value_channels: (i + 1) * head_value_channels, :]
            context = key @ value.transpose(1, 2)
            attended_value = (context.transpose(1, 2) @ query).reshape(n, head_value_channels, h, w)
            attended_values.append(attended_value)
        aggregated_values = torch.cat(attended_values, dim=1)
        reprojected_value = self.reprojection(aggregated_values)
        return reprojected_value + input_


# -- the comparison ----------------------------------------------------------------------------------------------------
def _official(name, channels, hp):
    if name == "coord-attention":
        return CoordAtt(channels, channels, reduction=hp["r"])
    if name == "simam":
        return simam_module(channels)
    if name == "triplet-attention":
        assert hp["kernel"] == 7, "the official gates' kernel is fixed at 7"
        return TripletAttention(no_spatial=hp["no_spatial"])
    key = hp["key_channels"] if hp["key_channels"] is not None else channels // 2
    value = hp["value_channels"] if hp["value_channels"] is not None else channels // 2
    return EfficientAttention(channels, key, hp["head_count"], value)


CASES = [
    ("coord-attention", (2, 64, 9, 11), {}),
    ("coord-attention", (1, 512, 7, 5), {"r": 16}),            # mip = max(8, 32) = 32
    ("coord-attention", (2, 16, 1, 6), {}),                    # H = 1: pool_h runs as a mean
    ("simam", (2, 64, 9, 11), {}),
    ("simam", (1, 3, 1, 2), {}),
    ("triplet-attention", (2, 64, 9, 11), {}),
    ("triplet-attention", (1, 24, 6, 13), {"no_spatial": True}),
    ("efficient-attention", (2, 64, 9, 11), {}),
    ("efficient-attention", (1, 96, 7, 8), {"key_channels": 30, "value_channels": 48, "head_count": 4}),
    ("efficient-attention", (2, 16, 1, 1), {"head_count": 2}),
]
IDS = [f"{name}-{'x'.join(map(str, shape))}-{'-'.join(f'{k}{v}' for k, v in hp.items())}" for name, shape, hp in CASES]


def _randomise_statistics(module):
    generator = torch.Generator().manual_seed(1)
    for m in module.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=generator))
            m.running_var.copy_(torch.rand(m.running_var.shape, generator=generator) + 0.5)


def _no_map(cost):
    return dataclasses.replace(cost, attention_map_elements=0)


@pytest.mark.parametrize("name, shape, hp", CASES, ids=IDS)
def test_reference_is_the_official_module(name, shape, hp):
    entry = catalogue.get(name)
    values = entry.resolve(shape, hp)
    torch.manual_seed(0)
    ours = build(name, shape, hp)
    _randomise_statistics(ours)
    official = _official(name, shape[1], values).eval()
    official.load_state_dict(ours.state_dict(), strict=True)

    params = sum(p.numel() for p in official.parameters())
    assert params == sum(p.numel() for p in ours.parameters()) == entry.cost(shape, hp).params

    x = torch.randn(*shape)
    with torch.no_grad():
        assert torch.allclose(official(x.clone()), ours(x.clone()), rtol=1e-5, atol=1e-6)

    traced_official, out_official, unsupported = trace_module(official, x.clone(), allow_unsupported=True)
    traced_ours, out_ours, _ = trace_module(ours, x.clone())
    assert not unsupported and tuple(out_official) == tuple(out_ours) == shape
    assert traced_official.attention_map_elements == 0 < traced_ours.attention_map_elements
    assert _no_map(traced_official) == _no_map(traced_ours) == _no_map(entry.cost(shape, hp))
