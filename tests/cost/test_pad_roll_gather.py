"""Program.pad's layout, roll, index and index_select against PyTorch (the ops Swin's window attention
and Axial-DeepLab's relative embeddings run): output shapes, the strides later reshapes depend on,
and the whole cost (counts, params, activation and peak memory) against the tracer on the real op.

constant_pad_nd with every pad 0 is ``x.clone()`` in ATen, which keeps a dense input's layout (a
permuted view stays permuted, so a later reshape may copy); with any pad > 0 the output is
contiguous. A wrong layout shows up here as a stride mismatch, and in Swin as one copy too few."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings, strategies as st
from torch import nn

from attncost.cost import Program
from attncost.cost.compare import differences
from attncost.cost.layout import channels_last_strides, contiguous_strides, is_channels_last_2d
from attncost.trace import trace_module

FAST = settings(max_examples=30, deadline=None)


class Fn(nn.Module):
    def __init__(self, fn, params=()):
        super().__init__()
        self.fn = fn
        self.params = nn.ParameterList(params)

    def forward(self, x):
        return self.fn(x, *self.params)


def _same_layout(program_strides, tensor: torch.Tensor) -> bool:
    """Strides agree on every dim of size > 1 (those of size-1 dims are arbitrary)."""
    return all(int(a) == b for a, b, s in zip(program_strides, tensor.stride(), tensor.shape) if s != 1)


def _check_against_tracer(module, x, g: Program, out):
    traced, traced_shape, unsupported = trace_module(module, x, allow_unsupported=True)
    assert not unsupported
    assert tuple(out.shape) == tuple(traced_shape)
    assert not differences(g.finish(out), traced)


@FAST
@given(shape=st.lists(st.integers(1, 4), min_size=3, max_size=4), perm_seed=st.integers(0, 23),
       pads=st.lists(st.integers(0, 2), min_size=2, max_size=4))
def test_pad_layout_and_cost_match_torch(shape, perm_seed, pads):
    perm = list(range(len(shape)))
    for i in range(len(perm) - 1, 0, -1):          # a permutation chosen by the seed
        j = perm_seed % (i + 1)
        perm[i], perm[j] = perm[j], perm[i]
    pads = pads[: 2 * (len(pads) // 2)]

    def fn(x):
        return F.pad(x.permute(*perm), pads)

    x = torch.randn(*shape)
    expected = fn(x)
    g = Program()
    out = g.pad(g.permute(g.input(tuple(shape)), perm), tuple(pads))
    assert tuple(out.shape) == tuple(expected.shape)
    assert _same_layout(out.strides, expected), (shape, perm, pads, out.strides, expected.stride())
    _check_against_tracer(Fn(fn), x, g, out)


def test_zero_pad_keeps_a_permuted_layout_and_a_later_reshape_copies():
    # Swin's (N, C, H, W) map read as (N, H, W, C) and padded by nothing: the clone stays NCHW in
    # memory, so the window partition's permute + contiguous copies
    x = torch.randn(2, 3, 4, 6)
    y = F.pad(x.permute(0, 2, 3, 1), (0, 0, 0, 0, 0, 0))
    assert y.stride() == (72, 6, 1, 24)
    g = Program()
    out = g.pad(g.permute(g.input((2, 3, 4, 6)), (0, 2, 3, 1)), (0, 0, 0, 0, 0, 0))
    assert out.strides == (72, 6, 1, 24)
    padded = g.pad(g.permute(g.input((2, 3, 4, 6)), (0, 2, 3, 1)), (0, 0, 0, 1, 0, 0))
    assert padded.strides == (4 * 7 * 3, 7 * 3, 3, 1)       # any pad: contiguous (N, H, W + 1, C)


@FAST
@given(shape=st.lists(st.integers(1, 5), min_size=2, max_size=4), shift=st.integers(-6, 6),
       transpose=st.booleans())
def test_roll_is_one_contiguous_copy(shape, shift, transpose):
    dims = (0, len(shape) - 1)

    def fn(x):
        x = x.transpose(0, -1) if transpose else x
        return torch.roll(x, shifts=(shift, -shift), dims=dims)

    x = torch.randn(*shape)
    expected = fn(x)
    g = Program()
    t = g.input(tuple(shape))
    t = g.transpose(t, 0, -1) if transpose else t
    out = g.roll(t, (shift, -shift), dims)
    assert expected.is_contiguous() and _same_layout(out.strides, expected)
    _check_against_tracer(Fn(fn), x, g, out)


@pytest.mark.parametrize("rows, cols, picks", [(169, 3, 49 * 49), (9, 2, 16), (1, 4, 5)])
def test_index_gathers_rows_of_a_parameter(rows, cols, picks):
    # Swin: relative_position_bias_table[relative_position_index.view(-1)]
    table = nn.Parameter(torch.randn(rows, cols))
    index = torch.arange(picks) % rows

    g = Program()
    g.input((2, 3))
    out = g.index(g.parameter("table", (rows, cols)), g.buffer("index", (picks,)))
    assert out.shape == tuple(table[index].shape) == (picks, cols) and out.strides == (cols, 1)
    traced, _, unsupported = trace_module(Fn(lambda _x, t: t[index], [table]), torch.randn(2, 3),
                                          allow_unsupported=True)
    assert not unsupported and not differences(g.finish(out), traced)


@pytest.mark.parametrize("shape, dim, picks", [((8, 17), 1, 81), ((5, 3), 0, 7), ((4, 6, 2), 1, 9)])
def test_index_select_of_a_parameter(shape, dim, picks):
    # Axial-DeepLab: torch.index_select(self.relative, 1, self.flatten_index)
    relative = nn.Parameter(torch.randn(*shape))
    index = torch.arange(picks) % shape[dim]
    expected = torch.index_select(relative, dim, index)
    g = Program()
    g.input((2, 3))
    out = g.index_select(g.parameter("relative", shape), dim, g.buffer("index", (picks,)))
    assert out.shape == tuple(expected.shape) and _same_layout(out.strides, expected)
    traced, _, unsupported = trace_module(Fn(lambda _x, r: torch.index_select(r, dim, index), [relative]),
                                          torch.randn(2, 3), allow_unsupported=True)
    assert not unsupported and not differences(g.finish(out), traced)


@FAST
@given(shape=st.lists(st.integers(1, 3), min_size=4, max_size=4), perm_seed=st.integers(0, 23))
def test_channels_last_reading_is_what_pad_follows(shape, perm_seed):
    # torch's own choice is the oracle: constant_pad_nd allocates its output in suggest_memory_format(x)
    perm = list(range(4))
    for i in range(3, 0, -1):
        j = perm_seed % (i + 1)
        perm[i], perm[j] = perm[j], perm[i]
    x = torch.randn(*shape).permute(*perm)
    padded = F.pad(x, (0, 1))
    torch_channels_last = padded.stride() == channels_last_strides(tuple(padded.shape))
    assert is_channels_last_2d(tuple(x.shape), x.stride()) == torch_channels_last or (
        padded.stride() == contiguous_strides(tuple(padded.shape)) == channels_last_strides(tuple(padded.shape)))


def test_a_1c11_map_read_channels_last_pads_channels_last():
    # (1, 1, 1, 2) permuted to (1, 2, 1, 1) with C innermost: torch reads it channels last, so the padded
    # (1, 2, 1, 2) is laid out N, H, W, C: strides (H W C, 1, W C, C) = (4, 1, 4, 2)
    x = torch.randn(1, 1, 1, 2).permute(2, 3, 1, 0)
    assert F.pad(x, (0, 1)).stride() == (4, 1, 4, 2)
    g = Program()
    out = g.pad(g.permute(g.input((1, 1, 1, 2)), (2, 3, 1, 0)), (0, 1))
    assert out.strides == (4, 1, 4, 2)
