"""Program.conv_with_weight: a conv whose weight and bias are computed tensors (CondConv, DynamicConv)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from attncost.cost import Program
from attncost.trace import trace_module


class _BatchGroupedConv(nn.Module):
    """Two samples, each with its own 6 x 4 x 3 x 3 kernel and bias, as one conv with groups = 2."""

    def forward(self, x):
        weight = torch.ones(12, 4, 3, 3)
        bias = torch.zeros(12)
        return F.conv2d(x.view(1, 8, 5, 5), weight, bias, 1, 1, groups=2)


def test_hand_derived_counts():
    g = Program()
    x = g.view(g.input((2, 4, 5, 5)), (1, 8, 5, 5))
    weight = g.fill((12, 4, 3, 3))
    bias = g.fill((12,))
    out = g.conv_with_weight(x, weight, bias, padding=1, groups=2)
    cost = g.finish(out)
    assert out.shape == (1, 12, 5, 5)
    assert cost.counts["mac.conv"] == 10800    # 12 out channels * 5 * 5 positions * 4 in per group * 3 * 3 = 10800
    assert cost.counts["bias.add"] == 300      # 12 * 5 * 5 = 300
    assert cost.params == 0                    # the weight is an activation, not a parameter


def test_matches_trace():
    g = Program()
    x = g.view(g.input((2, 4, 5, 5)), (1, 8, 5, 5))
    out = g.conv_with_weight(x, g.fill((12, 4, 3, 3)), g.fill((12,)), padding=1, groups=2)
    expected = g.finish(out)
    traced, shape, unsupported = trace_module(_BatchGroupedConv(), torch.randn(2, 4, 5, 5))
    assert not unsupported and tuple(shape) == (1, 12, 5, 5)
    assert traced.fields() == expected.fields()
