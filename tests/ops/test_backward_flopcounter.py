"""Backward products against torch's FlopCounterMode, the peer that counts them.

FlopCounterMode (torch/utils/flop_counter.py) counts 2 FLOPs per multiply-accumulate of
``convolution_backward``, ``mm``, ``addmm``, ``bmm`` and the GPU attention backward kernels. Here a
forward and its ``backward()`` run under attncost's CostTracer and, separately, under FlopCounterMode;
FlopCounterMode's backward count is its total after ``backward()`` minus its total after the forward.
The expectation is FlopCounterMode's number, never attncost's formulas.

Known difference (stated, not hidden): for a grouped convolution FlopCounterMode counts the weight
gradient ``groups`` times over (``conv_backward_flop`` passes transposed shapes that lose the group
division; pytorch/pytorch#183405), so there the test checks attncost against FlopCounterMode's own
*forward* count (each gradient product costs the forward MACs) and FlopCounterMode's backward against
its forward times (grad-input + groups · grad-weight).
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import assume, given, settings, strategies as st
from torch import nn
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode, sdpa_backward_flop_count

from backward_run import mac_total, run_backward

MANY = settings(max_examples=40, deadline=None)
SOME = settings(max_examples=15, deadline=None)


def flopcounter_phases(forward) -> tuple[int, int]:
    """(forward FLOPs, backward FLOPs) that FlopCounterMode counts for ``forward()`` and its backward."""
    torch.manual_seed(0)
    with FlopCounterMode(display=False) as counter:
        out = forward()
        forward_flops = counter.get_total_flops()
        out.backward(torch.ones_like(out))
        total = counter.get_total_flops()
    return forward_flops, total - forward_flops


@st.composite
def convolutions(draw):
    """A random convolution (1-D or 2-D, transposed or not) and which of its tensors need gradients."""
    spatial = draw(st.sampled_from([1, 2]))
    transposed = draw(st.booleans())
    groups = draw(st.integers(1, 3))
    cin, cout = groups * draw(st.integers(1, 3)), groups * draw(st.integers(1, 3))
    kernel = draw(st.lists(st.integers(1, 3), min_size=spatial, max_size=spatial))
    stride = draw(st.integers(1, 2))
    padding = draw(st.integers(0, 1))
    dilation = draw(st.integers(1, 2))
    sizes = draw(st.lists(st.integers(3, 7), min_size=spatial, max_size=spatial))
    if not transposed:
        assume(all(s + 2 * padding >= dilation * (k - 1) + 1 for s, k in zip(sizes, kernel)))
    else:
        assume(all(s * stride > padding for s in sizes))        # a non-empty output
    x_grad = draw(st.booleans())
    return dict(spatial=spatial, transposed=transposed, groups=groups, cin=cin, cout=cout, kernel=kernel,
                stride=stride, padding=padding, dilation=dilation, n=draw(st.integers(1, 2)), sizes=sizes,
                bias=draw(st.booleans()), x_grad=x_grad, w_grad=draw(st.booleans()) or not x_grad)


def conv_forward(p):
    """The convolution of ``p`` as a closure over fixed tensors (requires_grad as drawn)."""
    torch.manual_seed(1)
    x = torch.randn(p["n"], p["cin"], *p["sizes"], requires_grad=p["x_grad"])
    if p["transposed"]:
        w = torch.randn(p["cin"], p["cout"] // p["groups"], *p["kernel"], requires_grad=p["w_grad"])
        fn = {1: F.conv_transpose1d, 2: F.conv_transpose2d}[p["spatial"]]
    else:
        w = torch.randn(p["cout"], p["cin"] // p["groups"], *p["kernel"], requires_grad=p["w_grad"])
        fn = {1: F.conv1d, 2: F.conv2d}[p["spatial"]]
    b = torch.randn(p["cout"], requires_grad=True) if p["bias"] else None
    if p["transposed"]:
        return lambda: fn(x, w, b, p["stride"], p["padding"], 0, p["groups"], p["dilation"])
    return lambda: fn(x, w, b, p["stride"], p["padding"], p["dilation"], p["groups"])


@MANY
@given(p=convolutions())
def test_conv_backward_macs_match_flopcounter(p):
    forward = conv_forward(p)
    fc_forward, fc_backward = flopcounter_phases(forward)
    run = run_backward(forward)
    assert not run.unsupported
    ours = run.backward["mac.conv"] if "mac.conv" in run.backward else 0
    gradients = int(p["x_grad"]) + int(p["w_grad"])
    # every gradient product costs the forward's MACs; FlopCounterMode's forward count is right for groups
    assert 2 * ours == gradients * fc_forward
    # FlopCounterMode's backward: grad-input as the forward, grad-weight `groups` times the forward
    assert fc_backward == fc_forward * (int(p["x_grad"]) + p["groups"] * int(p["w_grad"]))
    if p["groups"] == 1:
        assert 2 * ours == fc_backward
    # the bias gradient sums the output gradient: one read per output element, no product
    out_numel = forward().numel()
    assert run.backward.get("reduce.sum", 0) == (out_numel if p["bias"] else 0)


@SOME
@given(rows=st.lists(st.integers(1, 4), min_size=1, max_size=3), fin=st.integers(1, 6), fout=st.integers(1, 6),
       bias=st.booleans(), x_grad=st.booleans())
def test_linear_backward_macs_match_flopcounter(rows, fin, fout, bias, x_grad):
    layer = nn.Linear(fin, fout, bias=bias)
    x = torch.randn(*rows, fin, requires_grad=x_grad)
    forward = lambda: layer(x)
    _, fc_backward = flopcounter_phases(forward)
    layer.zero_grad()
    run = run_backward(forward, module=layer)
    assert not run.unsupported
    assert 2 * mac_total(run.backward) == fc_backward
    # grad-weight gᵀ·x and, if x needs it, grad-input g·W: tokens·in·out MACs each (which of mac.linear
    # and mac.matmul a product is, the forward's mm handler decides from its operands)
    tokens = x.numel() // fin
    assert mac_total(run.backward) == tokens * fin * fout * (1 + int(x_grad))


@SOME
@given(batch=st.lists(st.integers(1, 3), min_size=0, max_size=2), m=st.integers(1, 6), k=st.integers(1, 6),
       n=st.integers(1, 6), a_grad=st.booleans(), use_bmm=st.booleans())
def test_matmul_backward_macs_match_flopcounter(batch, m, k, n, a_grad, use_bmm):
    if use_bmm:
        batch = [len(batch) + 1]
    a = torch.randn(*batch, m, k, requires_grad=a_grad)
    b = torch.randn(*batch, k, n, requires_grad=True)
    forward = (lambda: torch.bmm(a, b)) if use_bmm else (lambda: a @ b)
    _, fc_backward = flopcounter_phases(forward)
    run = run_backward(forward)
    assert not run.unsupported
    assert 2 * mac_total(run.backward) == fc_backward
    count = 1
    for d in batch:
        count *= d
    # dA = dC·Bᵀ (m·n·k per batch), dB = Aᵀ·dC (k·m·n per batch)
    assert mac_total(run.backward) == count * m * k * n * (1 + int(a_grad))


@st.composite
def attention_shapes(draw):
    b, hkv = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    hq = hkv * draw(st.integers(1, 2))
    return b, hq, hkv, draw(st.integers(1, 6)), draw(st.integers(1, 6)), draw(st.integers(1, 5))


@SOME
@given(shapes=attention_shapes(), ev=st.integers(1, 5))
def test_sdpa_math_backward_macs_match_flopcounter(shapes, ev):
    """The math path (what CPU training runs when the value head dim differs, or when asked):
    bmm products FlopCounterMode counts."""
    b, hq, _, length, source, e = shapes
    q = torch.randn(b, hq, length, e, requires_grad=True)
    k, v = torch.randn(b, hq, source, e, requires_grad=True), torch.randn(b, hq, source, ev, requires_grad=True)

    def forward():
        with sdpa_kernel(SDPBackend.MATH):
            return F.scaled_dot_product_attention(q, k, v)

    _, fc_backward = flopcounter_phases(forward)
    run = run_backward(forward)
    assert not run.unsupported
    assert 2 * mac_total(run.backward) == fc_backward


@SOME
@given(shapes=attention_shapes(), causal=st.booleans(), masked=st.booleans())
def test_sdpa_flash_cpu_backward_macs_match_flopcounters_formula(shapes, causal, masked):
    """The CPU flash kernel's backward, which FlopCounterMode does not register: its formula for the
    GPU backward kernels (``sdpa_backward_flop_count``, which recomputes the logits as flash does)."""
    b, hq, hkv, length, source, e = shapes
    if causal:
        source = length
    q = torch.randn(b, hq, length, e, requires_grad=True)
    k, v = torch.randn(b, hkv, source, e, requires_grad=True), torch.randn(b, hkv, source, e, requires_grad=True)
    mask = torch.randn(length, source) if masked and not causal else None

    def forward():
        with sdpa_kernel(SDPBackend.FLASH_ATTENTION):
            return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=causal, enable_gqa=hq != hkv)

    run = run_backward(forward)
    assert not run.unsupported
    flash = run.of(torch.ops.aten._scaled_dot_product_flash_attention_for_cpu_backward)
    k_full = (b, hq, source, e)                      # grouped-query attention: FlopCounterMode counts query heads
    q_shape = (b, hq, length, e)
    assert 2 * flash["mac.attention"] == sdpa_backward_flop_count(q_shape, q_shape, k_full, k_full)


def test_grouped_conv_difference_is_flopcounters_weight_gradient():
    """The stated difference on one case, by hand: groups=3, 2x6x7x7 input, 12 3x3 filters, stride 2."""
    x = torch.randn(2, 6, 7, 7, requires_grad=True)
    w = torch.randn(12, 2, 3, 3, requires_grad=True)
    forward = lambda: F.conv2d(x, w, stride=2, groups=3)
    fc_forward, fc_backward = flopcounter_phases(forward)
    forward_macs = 2 * 12 * 3 * 3 * 2 * 3 * 3            # N·Cout·Hout·Wout·(Cin/groups)·kh·kw = 3888
    assert fc_forward == 2 * forward_macs
    assert fc_backward == 2 * forward_macs * (1 + 3)    # grad-weight counted 3 times by FlopCounterMode
    run = run_backward(forward)
    assert run.backward["mac.conv"] == 2 * forward_macs  # grad-input and grad-weight, once each


@pytest.mark.parametrize("transposed", [False, True], ids=["conv", "transposed"])
def test_conv3d_backward_macs_match_flopcounter(transposed):
    x = torch.randn(1, 2, 4, 5, 3, requires_grad=True)
    conv = (nn.ConvTranspose3d if transposed else nn.Conv3d)(2, 3, (2, 3, 1), stride=(1, 2, 1), padding=(1, 0, 0))
    forward = lambda: conv(x)
    fc_forward, fc_backward = flopcounter_phases(forward)
    conv.zero_grad()
    run = run_backward(forward, module=conv)
    assert 2 * run.backward["mac.conv"] == fc_backward == 2 * fc_forward
