"""conv / linear / mm / bmm formulas against torch's own FlopCounterMode (2 FLOPs per MAC, no bias)."""

import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.utils.flop_counter import FlopCounterMode

from attncost import ops


def flopcounter_total(fn) -> int:
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        fn()
    return counter.get_total_flops()


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 3), groups=st.integers(1, 4), cin_per_group=st.integers(1, 4), cout_per_group=st.integers(1, 4),
       h=st.integers(3, 12), w=st.integers(3, 12), kh=st.integers(1, 3), kw=st.integers(1, 3),
       stride=st.integers(1, 3), padding=st.integers(0, 2), dilation=st.integers(1, 2), bias=st.booleans())
def test_conv2d_macs(n, groups, cin_per_group, cout_per_group, h, w, kh, kw, stride, padding, dilation, bias):
    cin, cout = groups * cin_per_group, groups * cout_per_group
    if h + 2 * padding < dilation * (kh - 1) + 1 or w + 2 * padding < dilation * (kw - 1) + 1:
        return
    x, weight = torch.randn(n, cin, h, w), torch.randn(cout, cin_per_group, kh, kw)
    b = torch.randn(cout) if bias else None
    out = F.conv2d(x, weight, b, stride, padding, dilation, groups)
    counts = ops.conv.conv(tuple(x.shape), tuple(weight.shape), tuple(out.shape), bias)
    expected = flopcounter_total(lambda: F.conv2d(x, weight, b, stride, padding, dilation, groups))
    assert 2 * counts["mac.conv"] == expected
    assert counts.get("bias.add", 0) == (out.numel() if bias else 0)
    # the output-size formula agrees with PyTorch too
    assert ops.conv_output_size(h, kh, stride, padding, dilation) == out.shape[2]


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 3), cin=st.integers(1, 6), cout=st.integers(1, 6), length=st.integers(3, 20),
       k=st.integers(1, 5), padding=st.integers(0, 2))
def test_conv1d_macs(n, cin, cout, length, k, padding):
    if length + 2 * padding < k:
        return
    x, weight = torch.randn(n, cin, length), torch.randn(cout, cin, k)
    out = F.conv1d(x, weight, padding=padding)
    counts = ops.conv.conv(tuple(x.shape), tuple(weight.shape), tuple(out.shape), False)
    assert 2 * counts["mac.conv"] == flopcounter_total(lambda: F.conv1d(x, weight, padding=padding))


@settings(max_examples=30, deadline=None)
@given(rows=st.lists(st.integers(1, 5), min_size=1, max_size=3), fin=st.integers(1, 8), fout=st.integers(1, 8),
       bias=st.booleans())
def test_linear_macs(rows, fin, fout, bias):
    x, weight = torch.randn(*rows, fin), torch.randn(fout, fin)
    b = torch.randn(fout) if bias else None
    out = F.linear(x, weight, b)
    counts = ops.conv.linear(tuple(x.shape), tuple(out.shape), bias)
    assert 2 * counts["mac.linear"] == flopcounter_total(lambda: F.linear(x, weight, b))


@settings(max_examples=30, deadline=None)
@given(batch=st.integers(1, 4), m=st.integers(1, 9), k=st.integers(1, 9), n=st.integers(1, 9))
def test_mm_and_bmm_macs(batch, m, k, n):
    a, b = torch.randn(m, k), torch.randn(k, n)
    counts = ops.conv.matmul((m, k), (k, n), (m, n))
    assert 2 * counts["mac.matmul"] == flopcounter_total(lambda: torch.mm(a, b))
    a3, b3 = torch.randn(batch, m, k), torch.randn(batch, k, n)
    counts = ops.conv.matmul((batch, m, k), (batch, k, n), (batch, m, n))
    assert 2 * counts["mac.matmul"] == flopcounter_total(lambda: torch.bmm(a3, b3))
