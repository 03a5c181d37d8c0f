"""Program.reshape / unfold / pad / buffer against PyTorch: the stride rule that decides whether
``reshape`` is a view or a copy (ATen's computeStride), on concrete and symbolic shapes."""

from __future__ import annotations

import random

import pytest
import sympy
import torch
import torch.nn.functional as F
from torch import nn

from attncost.cost import Program
from attncost.cost.layout import contiguous_strides, view_strides
from attncost.ops.pointwise import WHERE
from attncost.symbols import H, N, W
from attncost.trace import trace_module


def _random_case(rng: random.Random):
    """A permuted, possibly sliced tensor and a random shape with the same number of elements."""
    shape = [rng.choice([1, 1, 2, 3, 4]) for _ in range(rng.randint(1, 5))]
    perm = list(range(len(shape)))
    rng.shuffle(perm)
    t = torch.empty(*shape).permute(*perm)
    if rng.random() < 0.3 and t.shape[-1] > 1:
        t = t[..., : t.shape[-1] - 1]
    dims, rest = [], t.numel()
    while rest > 1 and len(dims) < 5:
        d = rng.choice([d for d in range(2, rest + 1) if rest % d == 0])
        dims.append(d)
        rest //= d
    for _ in range(rng.randint(0, 2)):
        dims.insert(rng.randint(0, len(dims)), 1)
    return t, tuple(dims) or (1,)


@pytest.mark.parametrize("seed", range(8))
def test_view_strides_agree_with_torch_view(seed):
    rng = random.Random(seed)
    for _ in range(100):
        t, new_shape = _random_case(rng)
        try:
            expected = t.view(*new_shape).stride()
        except RuntimeError:
            expected = None
        got = view_strides(tuple(t.shape), tuple(t.stride()), new_shape)
        assert (got is None) == (expected is None), (tuple(t.shape), t.stride(), new_shape)
        if got is not None:   # strides of size-1 dims are arbitrary
            assert all(int(a) == b for a, b, s in zip(got, expected, new_shape) if s != 1)


def test_view_strides_symbolic():
    d = 4
    contiguous = contiguous_strides((N, 8, H * W, d))
    # merging batch and heads of a contiguous (N, heads, L, d) is a view
    assert view_strides((N, 8, H * W, d), contiguous, (8 * N, H * W, d)) == (H * W * d, d, 1)
    # merging heads and d after (N, heads, L, d) -> (N, L, heads, d) needs a copy
    transposed = tuple(contiguous[i] for i in (0, 2, 1, 3))
    assert view_strides((N, H * W, 8, d), transposed, (N, H * W, 8 * d)) is None
    # splitting H*W of a transposed (N, C, HW) view into H, W is a view
    tokens = (H * W * 16, 1, 16)      # (N, C=16, HW) viewed from (N, HW, C)
    assert view_strides((N, 16, H * W), tokens, (N, 16, H, W)) == (H * W * 16, 1, 16 * W, 16)


def test_program_reshape_copies_only_without_view():
    g = Program()
    x = g.input((2, 3, 4))
    same = g.reshape(x, (6, 4))                             # contiguous: a view
    copied = g.reshape(g.transpose(x, 1, 2), (2, 12))       # (2, 4, 3) -> (2, 12): copy
    cost = g.finish(g.add(same, 1.0), copied)
    assert cost.counts["copy"] == 24                        # 2 * 3 * 4 = 24
    assert same.storage == x.storage and copied.storage != x.storage


def test_program_unfold_strides_match_torch():
    g = Program()
    x = g.input((2, 3, 10, 4))
    windows = g.unfold(x, 2, 4, 2)
    t = torch.empty(2, 3, 10, 4).unfold(2, 4, 2)
    assert windows.shape == tuple(t.shape)                  # floor((10 - 4) / 2) + 1 = 4 windows
    assert tuple(int(s) for s in windows.strides) == t.stride()


class _PadMask(nn.Module):
    def __init__(self):
        super().__init__()
        self.register_buffer("mask", torch.tril(torch.ones(6, 4, dtype=torch.bool)), persistent=False)

    def forward(self, x):
        y = F.pad(x, (0, 0, 1, 2))                          # (2, 3, 4) -> (2, 6, 4)
        return y.masked_fill_(self.mask, 0.0)


def test_pad_and_masked_fill_traced_and_programmed():
    cost, shape, unsupported = trace_module(_PadMask(), torch.randn(2, 3, 4))
    assert not unsupported and shape == (2, 6, 4)
    assert cost.counts == {"copy": 48, "elementwise.where": 48}   # 2 * (3 + 1 + 2) * 4 = 48 each
    g = Program()
    y = g.pad(g.input((2, 3, 4)), (0, 0, 1, 2))
    y = g.binary(WHERE, y, g.buffer("mask", (6, 4)), inplace=True)
    programmed = g.finish(y)
    assert programmed.counts == cost.counts
    assert programmed.activation_elements == cost.activation_elements == 48
    assert programmed.params == 0 and sympy.sympify(programmed.peak_live_elements) == cost.peak_live_elements
