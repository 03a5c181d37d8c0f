"""The fused attention primitives against oracles that share no code with attncost.ops.

- SDPA kernels: the tracer's count of each aten op (run on CPU tensors, or on meta tensors for the
  GPU kernels, whose meta implementations torch ships) against a hand formula written here from the
  tensors' shapes, and against FlopCounterMode on the same call where its formula is right.
- nn.MultiheadAttention's and nn.TransformerEncoderLayer's fast paths: against the aten ops their
  CPU kernels really call, read off torch's profiler (which sees inside a fused op, where a
  TorchDispatchMode sees one op), each weighed by a hand formula from its recorded input shapes.
"""

from __future__ import annotations

from collections import Counter

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn
from torch.profiler import ProfilerActivity, profile
from torch.utils.flop_counter import FlopCounterMode, sdpa_flop_count

from attncost.cost import flops
from attncost.trace import trace_module

aten = torch.ops.aten


class Call(nn.Module):
    """A module whose forward is ``fn(x)``, so the tracer sees exactly the op under test."""

    def __init__(self, fn, owner: nn.Module | None = None):
        super().__init__()
        self.fn = fn
        self.owner = owner           # whose parameters the op uses (linear, not matmul, operands)

    def forward(self, x):
        return self.fn(x)


def traced_counts(fn, x, module=None):
    cost, _, unsupported = trace_module(module or Call(fn), x)
    assert not unsupported
    return cost


def flopcounter(fn) -> int:
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        fn()
    return counter.get_total_flops()


def logit_counts(b, hq, length, s, e, ev, *, mask=False, causal=False, dropout=False):
    """What softmax(QKᵀ·scale + mask)V computes per docs/CONVENTIONS.md: two products, and per logit a
    scale multiply, a softmax, a mask add, a causal select, a dropout multiply."""
    logits = b * hq * length * s
    counts = {"mac.attention": logits * e + logits * ev, "elementwise.mul": logits * (2 if dropout else 1),
              "softmax": logits}
    if mask:
        counts["elementwise.add"] = logits
    if causal:
        counts["elementwise.where"] = logits
    return counts


sizes = st.integers(1, 6)


@settings(max_examples=25, deadline=None)
@given(b=st.integers(1, 3), hkv=st.integers(1, 3), group=st.integers(1, 3), length=sizes, s=sizes,
       e=st.integers(1, 9), causal=st.booleans(), masked=st.booleans(), scale=st.sampled_from([None, 0.3]))
def test_flash_attention_for_cpu(b, hkv, group, length, s, e, causal, masked, scale):
    hq = hkv * group
    q, k, v = torch.randn(b, hq, length, e), torch.randn(b, hkv, s, e), torch.randn(b, hkv, s, e)
    mask = torch.randn(length, s) if masked else None

    def op(query):
        return aten._scaled_dot_product_flash_attention_for_cpu(query, k, v, 0.0, causal, attn_mask=mask,
                                                                scale=scale)[0]

    cost = traced_counts(op, q)
    assert cost.counts == logit_counts(b, hq, length, s, e, e, mask=masked, causal=causal)
    assert flopcounter(lambda: op(q)) == 0            # FlopCounterMode has no formula for the CPU kernel
    assert flops(cost, "flopcounter") == sdpa_flop_count(q.shape, k.shape, v.shape)   # ... but the GPU one's


def test_sdpa_on_the_cpu_reaches_the_fused_kernel_and_is_counted():
    q = torch.randn(1, 8, 196, 64)                    # a ViT-B/16 head layout at 224: 196 tokens, 8 heads
    cost = traced_counts(lambda x: F.scaled_dot_product_attention(x, x, x), q)
    # 196 * 196 logits per head, 8 heads: 307,328 logits; QKᵀ and AV 64 MACs each per logit
    assert cost.counts["mac.attention"] == 307_328 * 128
    assert cost.counts["softmax"] == 307_328


def meta(*shape):
    return torch.empty(*shape, device="meta")


@settings(max_examples=20, deadline=None)
@given(b=st.integers(1, 3), h=st.integers(1, 4), length=sizes, s=sizes, e=st.integers(1, 9), ev=st.integers(1, 9),
       causal=st.booleans(), biased=st.booleans(), dropout=st.booleans())
def test_gpu_sdpa_kernels_on_meta_tensors(b, h, length, s, e, ev, causal, biased, dropout):
    q, k, v = meta(b, h, length, e), meta(b, h, s, e), meta(b, h, s, ev)
    bias = meta(b, h, length, s) if biased else None
    p = 0.1 if dropout else 0.0
    kernels = {
        "efficient": (lambda x: aten._scaled_dot_product_efficient_attention(x, k, v, bias, False, p, causal)[0], ev,
                      biased),
        "cudnn": (lambda x: aten._scaled_dot_product_cudnn_attention(x, k, v.new_empty(b, h, s, e), bias, False, p,
                                                                     causal)[0], e, biased),
        "flash": (lambda x: aten._scaled_dot_product_flash_attention(x, k, v.new_empty(b, h, s, e), p, causal)[0], e,
                  False),
    }
    for name, (op, value_dim, has_bias) in kernels.items():
        cost = traced_counts(op, q)
        assert cost.counts == logit_counts(b, h, length, s, e, value_dim, mask=has_bias, causal=causal,
                                           dropout=dropout), name
        assert flops(cost, "flopcounter") == flopcounter(lambda: op(q)), name     # FlopCounterMode is right here


@settings(max_examples=20, deadline=None)
@given(b=st.integers(1, 3), h=st.integers(1, 4), length=sizes, s=sizes, e=st.integers(1, 9), causal=st.booleans())
def test_flash_and_efficient_forward_in_their_batch_length_heads_layout(b, h, length, s, e, causal):
    """_flash_attention_forward and _efficient_attention_forward take (B, L, H, E). FlopCounterMode reads
    them as (B, H, L, E), so it counts B·L·H·H·E where the kernel computes B·H·L·S·E: attncost does not."""
    q, k, v = meta(b, length, h, e), meta(b, s, h, e), meta(b, s, h, e)
    flash = traced_counts(lambda x: aten._flash_attention_forward(x, k, v, None, None, length, s, 0.0, causal,
                                                                  False)[0], q)
    efficient = traced_counts(lambda x: aten._efficient_attention_forward(x, k, v, None, None, None, None, None, 0.0,
                                                                          1 if causal else 0)[0], q)
    expected = logit_counts(b, h, length, s, e, e, causal=causal)
    assert flash.counts == expected and efficient.counts == expected


def test_flopcounter_misreads_the_flash_forward_layout():
    q = meta(2, 10, 4, 8)                          # B=2, L=10, H=4, E=8
    # right: 2 products * 2*4*10*10 logits * 8 MACs * 2 FLOPs = 25,600; FlopCounterMode: 2*10*4*4*8*2*2 = 10,240
    counted = flopcounter(lambda: aten._flash_attention_forward(q, q, q, None, None, 10, 10, 0.0, False, False))
    assert counted == 10_240
    cost = traced_counts(lambda x: aten._flash_attention_forward(x, x, x, None, None, 10, 10, 0.0, False, False)[0], q)
    assert flops(cost, "flopcounter") == 25_600


# -- the multi-head fast paths, against what their kernels call ------------------------------------------

def _numel(shape):
    n = 1
    for size in shape:
        n *= size
    return n


def kernel_children(fn, top: str) -> list:
    """(name, input shapes) of the aten ops the kernel ``top`` calls directly, in order, with thin
    wrappers (contiguous, linear, layer_norm) replaced by what they call."""
    with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
        fn()
    tops = [e for e in prof.events() if e.name == top]
    assert tops, f"{top} did not run"
    wrappers = {"aten::contiguous", "aten::layer_norm", "aten::linear", "aten::_native_multi_head_attention"}

    def walk(event):
        for child in event.cpu_children:
            if child.name in wrappers:
                yield from walk(child)
            else:
                yield child.name, child.input_shapes

    return list(walk(tops[0]))


def weigh(children, activation: str) -> Counter:
    """Counts of the aten ops a kernel ran, from their input shapes, by hand. mm/addmm multiply by the
    module's weights (linear MACs); bmm is the attention's QKᵀ and AV."""
    counts = Counter()
    for name, shapes in children:
        if name == "aten::mm":
            (m, k), (_, n) = shapes[:2]
            counts["mac.linear"] += m * k * n
        elif name in ("aten::addmm", "aten::_addmm_activation"):
            (n,), (m, k) = shapes[0], shapes[1]
            counts["mac.linear"] += m * k * n
            counts["bias.add"] += m * n
            if name == "aten::_addmm_activation":
                counts[f"elementwise.{activation}"] += m * n
        elif name == "aten::_transform_bias_rescale_qkv":
            b, t, three_d = shapes[0]
            counts["bias.add"] += b * t * three_d               # q, k and v biases
            counts["elementwise.mul"] += b * t * three_d // 3    # q scaled by 1/sqrt(head dim)
        elif name == "aten::bmm":
            (batch, m, k), (_, _, n) = shapes[:2]
            counts["mac.attention"] += batch * m * k * n
        elif name == "aten::_softmax":
            counts["softmax"] += _numel(shapes[0])
        elif name == "aten::_masked_softmax":
            counts["softmax"] += _numel(shapes[0])
            counts["elementwise.where"] += _numel(shapes[0])
        elif name == "aten::clone":
            counts["copy"] += _numel(shapes[0])
        elif name == "aten::sum":
            counts["reduce.sum"] += _numel(shapes[0])
        elif name in ("aten::div_", "aten::add_"):
            counts[f"elementwise.{name[6:-1]}"] += _numel(shapes[0])
        elif name == "aten::native_layer_norm":
            counts["norm.layer"] += _numel(shapes[0])
            counts["norm.affine"] += _numel(shapes[0])
    return counts


@settings(max_examples=15, deadline=None)
@given(b=st.integers(1, 3), t=st.integers(1, 7), heads=st.integers(1, 4), head_dim=st.integers(1, 5),
       need_weights=st.booleans(), average=st.booleans(), masked=st.booleans(), packed=st.booleans())
def test_native_multi_head_attention_against_its_kernel(b, t, heads, head_dim, need_weights, average, masked,
                                                        packed):
    d = heads * head_dim
    mha = nn.MultiheadAttention(d, heads, batch_first=True).eval()
    x, other = torch.randn(b, t, d), torch.randn(b, t, d)
    mask = torch.rand(t, t) > 0.5 if masked else None
    key = x if packed else other

    def op(query):
        return aten._native_multi_head_attention(query, key, key, d, heads, mha.in_proj_weight, mha.in_proj_bias,
                                                 mha.out_proj.weight, mha.out_proj.bias, mask, need_weights,
                                                 average, 0 if masked else None)[0]

    with torch.no_grad():
        expected = weigh(kernel_children(lambda: op(x), "aten::_native_multi_head_attention"), "relu")
    if not packed:
        expected["copy"] += 3 * b * t * d          # aten::cat of the three B*T*D projections (the profiler
                                                   # records no shapes for a tensor list)
    cost = traced_counts(op, x, module=Call(op, owner=mha))
    assert dict(cost.counts) == {k: v for k, v in expected.items() if v}
    assert flopcounter(lambda: op(x)) == 0         # FlopCounterMode sees one op it has no formula for


@pytest.mark.parametrize("activation", ["relu", "gelu"])
@pytest.mark.parametrize("norm_first", [False, True])
def test_transformer_encoder_layer_against_its_kernel(activation, norm_first):
    layer = nn.TransformerEncoderLayer(16, 4, 40, batch_first=True, activation=activation,
                                       norm_first=norm_first).eval()
    x = torch.randn(3, 7, 16)
    with torch.no_grad():
        children = kernel_children(lambda: layer(x), "aten::_transformer_encoder_layer_fwd")
    cost = traced_counts(None, x, module=layer)
    assert dict(cost.counts) == dict(weigh(children, activation))
    assert cost.params == sum(p.numel() for p in layer.parameters())
