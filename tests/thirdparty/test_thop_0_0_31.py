"""attncost's ``thop-0.0.31`` convention against thop 0.0.31's own hooks (thop_0_0_31.py, a faithful
rewrite that shares no code with attncost): the official ECA-ResNet-50 (the network whose README row
thop printed), a network of every module thop 0.0.31 registers, and the departures docs/CONVENTIONS.md
states, each derived by hand."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from attncost.cost import Convention, Program, flops
from attncost.graph import walk
from attncost.networks import AttentionPlacement, definition, forward, with_attention
from attncost.trace import trace_module

from . import thop_0_0_31
from .ecanet_eca_resnet import eca_resnet

THOP = Convention.THOP_0_0_31


def test_official_eca_resnet50_is_thop_on_the_formula_side_and_traced():
    # eca_resnet50_k3557 (ECA-Net README, "ECA-Net50"), at 224 x 224: thop's hooks on the official
    # model, attncost's walker on resnet50 + ECA (k = 3, 5, 5, 7), and attncost's tracer on the official
    # model, weighed by the convention, are one number.
    torch.manual_seed(0)
    model = eca_resnet((3, 4, 6, 3), (3, 5, 5, 7)).eval()
    x = torch.randn(1, 3, 224, 224)
    ops, params = thop_0_0_31.profile(model, x)
    g = Program()
    spec = with_attention(definition("resnet50"), [AttentionPlacement("eca", "every_block", (stage,), hp={"k": k})
                                                   for stage, k in zip((1, 2, 3, 4), (3, 5, 5, 7))])
    total = walk(g, forward(g, g.input(tuple(x.shape)), spec)).total
    traced, _, _ = trace_module(model, x)
    assert params == total.params == traced.params == 25_557_032 + 80
    assert flops(total, THOP) == flops(traced, THOP) == ops


class EveryHook(nn.Module):
    """One of each module thop 0.0.31 registers (and a few it does not: Sigmoid, Softmax, GELU count 0)."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 8, 3, padding=1, bias=True), nn.BatchNorm2d(8), nn.ReLU(),
            nn.Conv2d(8, 8, 3, padding=2, dilation=2, groups=4, bias=False), nn.BatchNorm2d(8, affine=False),
            nn.LeakyReLU(0.1), nn.MaxPool2d(2), nn.ReLU6(), nn.Sigmoid(),
            nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
            nn.AvgPool2d((2, 2)), nn.Upsample(scale_factor=2, mode="nearest"),
            nn.Upsample(scale_factor=2, mode="bicubic", align_corners=False), nn.GELU(),
            nn.AdaptiveAvgPool2d((4, 2)), nn.Dropout(0.5), nn.AdaptiveMaxPool2d(2), nn.AdaptiveAvgPool2d(1))
        self.conv1d = nn.Conv1d(1, 2, 3, padding=1)
        self.head = nn.Sequential(nn.Linear(16, 10), nn.BatchNorm1d(10), nn.Softmax(dim=1),
                                  nn.Linear(10, 5, bias=False))

    def forward(self, x):
        y = self.features(x).flatten(1)                               # (N, 8)
        y = self.conv1d(y.unsqueeze(1)).flatten(1)                    # (N, 16)
        return self.head(y)


@pytest.mark.parametrize("size", [8, 12, 16])
def test_every_registered_module_is_counted_as_thop_counts_it(size):
    model = EveryHook().eval()
    x = torch.randn(2, 3, size, size)
    ops, params = thop_0_0_31.profile(model, x)
    traced, _, _ = trace_module(model, x)
    assert traced.params == params
    assert flops(traced, THOP) == ops


def test_linear_and_conv_biases_by_hand():
    # thop 0.0.31: Linear (2 in - 1) per output, its bias ignored; a conv's bias 1 per output.
    # nn.Linear(6, 4) on 3 rows: 3 * 4 * (2 * 6 - 1) = 132; nn.Conv2d(2, 3, 1) on 5 x 5: 75 * (2 + 1) = 225
    linear, _, _ = trace_module(nn.Linear(6, 4), torch.randn(3, 6))
    conv, _, _ = trace_module(nn.Conv2d(2, 3, 1), torch.randn(1, 2, 5, 5))
    assert (flops(linear, THOP), flops(conv, THOP)) == (132, 225)
    assert flops(linear, Convention.FULL) == 2 * 3 * 6 * 4 + 3 * 4          # the base conventions unchanged


# -- departures (docs/CONVENTIONS.md, "thop-0.0.31"): what aten ops cannot tell, derived by hand ----------

def test_an_int_kernel_average_pool_departs_by_k_squared_minus_k_per_output():
    # thop reads torch.prod(torch.Tensor([kernel_size])): k for an int kernel_size (k^2 for (k, k));
    # aten receives [k, k] either way, so attncost counts k^2 + 1. nn.AvgPool2d(3) on 1 x 2 x 9 x 9: 18
    # outputs, thop 18 * (3 + 1) = 72, attncost 18 * (9 + 1) = 180.
    x = torch.randn(1, 2, 9, 9)
    assert thop_0_0_31.profile(nn.AvgPool2d(3), x)[0] == 72
    assert thop_0_0_31.profile(nn.AvgPool2d((3, 3)), x)[0] == 180
    assert flops(trace_module(nn.AvgPool2d(3), x)[0], THOP) == 180


class FunctionalPool(nn.Module):
    def forward(self, x):
        return nn.functional.adaptive_avg_pool2d(x, 1)


def test_a_functional_pool_is_counted_where_thop_sees_no_module():
    # thop hooks modules; F.adaptive_avg_pool2d runs the same aten op as nn.AdaptiveAvgPool2d, which
    # attncost counts: 2 x 3 x 4 x 4 inputs + 6 outputs = 102, thop 0.
    x = torch.randn(2, 3, 4, 4)
    assert thop_0_0_31.profile(FunctionalPool(), x)[0] == 0
    assert thop_0_0_31.profile(nn.AdaptiveAvgPool2d(1), x)[0] == 102
    assert flops(trace_module(FunctionalPool(), x)[0], THOP) == 102
