"""Program.adaptive_avg_pool2d (Coordinate Attention's pool_h and pool_w) against the tracer on the real
op: F.adaptive_avg_pool2d(x, size) with kept dims (None), 1 x 1 outputs (ATen runs a mean), sizes that
divide the input and sizes whose windows overlap; every count, the output shape and the memory."""

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from attncost.cost import Program
from attncost.trace import trace_module


class Pool(nn.Module):
    def __init__(self, size):
        super().__init__()
        self.size = size

    def forward(self, x):
        return F.adaptive_avg_pool2d(x, self.size)


SIZES = [(None, 1), (1, None), (None, None), (1, 1), (3, None), (None, 2), (4, 3), (2, 5)]
SHAPES = [(2, 3, 7, 5), (1, 4, 1, 6), (2, 2, 5, 1), (1, 3, 1, 1), (3, 5, 12, 8)]


@pytest.mark.parametrize("size", SIZES, ids=str)
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_program_equals_trace(shape, size):
    traced, traced_shape, unsupported = trace_module(Pool(size), torch.randn(*shape))
    g = Program()
    x = g.input(shape)
    out = g.adaptive_avg_pool2d(x, size)
    assert not unsupported
    assert tuple(out.shape) == tuple(traced_shape)
    assert g.finish(out) == traced
    kept_one = any(o is None and s == 1 for o, s in zip(size, shape[2:]))
    one_by_one = all((s if o is None else o) == 1 for o, s in zip(size, shape[2:]))
    assert g.degenerate == (kept_one and one_by_one)          # only a kept size of 1 turns it into a mean
    assert ("pool.global_avg" in traced.counts) == one_by_one
