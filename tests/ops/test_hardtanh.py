"""ReLU6 runs aten.hardtanh: counted as elementwise.hardtanh, one per output element."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from attncost.cost import Program
from attncost.ops.pointwise import HARDTANH
from attncost.trace import trace_module


class _Relu6(nn.Module):
    def __init__(self, inplace: bool):
        super().__init__()
        self.inplace = inplace

    def forward(self, x):
        return F.relu6(x, inplace=self.inplace)


@pytest.mark.parametrize("inplace", [False, True])
def test_traced_relu6_counts_hardtanh(inplace):
    cost, _, unsupported = trace_module(_Relu6(inplace), torch.randn(2, 3, 4, 5))
    assert not unsupported
    assert cost.counts == {"elementwise.hardtanh": 120}          # 2 * 3 * 4 * 5 = 120
    assert cost.activation_elements == (0 if inplace else 120)  # in place writes into x


def test_program_hardtanh_matches():
    g = Program()
    x = g.input((2, 3, 4, 5))
    cost = g.finish(g.unary(HARDTANH, x))
    assert cost.counts == {"elementwise.hardtanh": 120}          # 2 * 3 * 4 * 5 = 120
