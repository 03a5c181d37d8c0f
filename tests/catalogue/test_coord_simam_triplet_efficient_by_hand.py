"""Coordinate attention, SimAM, triplet attention and efficient attention, derived by hand op by op.

What is proved: for two configurations per module, the catalogue's cost and the tracer's count of the
reference module both equal a derivation written here: every arithmetic op kind (MACs, bias adds,
norms, softmax, elementwise ops, pooling, reductions), the ``full`` FLOPs they weigh to, the
parameters and the attention map; and the symbolic formulas have the closed forms derived below.

Why it is independent: the expectations are plain integer arithmetic written in this file, each term
one line of the official code's ``forward`` (houqb/CoordAttention coordatt.py, ZjjConan/SimAM
simam_module, landskape-ai/triplet-attention triplet_attention.py, cmsflash/efficient-attention
efficient_attention.py), in the unit of its op kind in docs/CONVENTIONS.md, with the ``full`` weight
from that table as a literal (mac 2, bias add 1, elementwise / reduce / pool 1, softmax 5,
norm.batch 2, norm.affine 2). No attncost code builds them. Copies (``cat``, ``contiguous``) weigh 0
under ``full`` and are left out of the per-kind comparison.
"""

import pytest
import sympy
import torch

from attncost import catalogue
from attncost.cost.conventions import flops
from attncost.errors import HyperparameterError
from attncost.reference import build
from attncost.symbols import C, H, N, W
from attncost.trace import trace_module
from derivation import Derivation, arithmetic


def coord_attention(n, c, h, w, r):
    """CoordAtt(inp=C, oup=C, reduction=r): mip = max(8, C // r); the 1x1 convs see H + W positions."""
    mip, length = max(8, c // r), h + w
    # conv1 C*mip + mip, bn1 2*mip, conv_h mip*C + C, conv_w mip*C + C
    params = (c * mip + mip) + 2 * mip + (mip * c + c) + (mip * c + c)
    d = Derivation(params, attention_map=max(n * c * h, n * c * w))    # a_h (N, C, H, 1), a_w (N, C, 1, W)
    d.add("pool.adaptive_avg", n * c * h * w, 1)   # pool_h = AdaptiveAvgPool2d((None, 1)): every input read once
    d.add("pool.adaptive_avg", n * c * h * w, 1)   # pool_w = AdaptiveAvgPool2d((1, None)); the cat is a copy
    d.add("mac.conv", n * length * c * mip, 2)     # conv1 1x1 C -> mip on (N, C, H + W, 1)
    d.add("bias.add", n * mip * length, 1)         # its bias
    d.add("norm.batch", n * mip * length, 2)       # bn1 in eval: subtract, scale
    d.add("norm.affine", n * mip * length, 2)      # its affine
    d.add("elementwise.add", n * mip * length, 1)      # h_swish: x + 3
    d.add("elementwise.hardtanh", n * mip * length, 1)  # ReLU6(inplace=True) = hardtanh_(0, 6)
    d.add("elementwise.div", n * mip * length, 1)      # / 6
    d.add("elementwise.mul", n * mip * length, 1)      # x * h_sigmoid(x)
    d.add("mac.conv", n * h * mip * c, 2)          # conv_h 1x1 mip -> C on (N, mip, H, 1)
    d.add("bias.add", n * c * h, 1)
    d.add("elementwise.sigmoid", n * c * h, 1)     # a_h
    d.add("mac.conv", n * w * mip * c, 2)          # conv_w 1x1 mip -> C on (N, mip, 1, W)
    d.add("bias.add", n * c * w, 1)
    d.add("elementwise.sigmoid", n * c * w, 1)     # a_w
    d.add("elementwise.mul", n * c * h * w, 1)     # identity * a_w
    d.add("elementwise.mul", n * c * h * w, 1)     # ... * a_h
    return d


def simam(n, c, h, w):
    """simam_module: no parameters; the 3-D weights are the whole (N, C, H, W) map."""
    d = Derivation(0, attention_map=n * c * h * w)
    d.add("pool.global_avg", n * c * h * w, 1)     # x.mean(dim=[2, 3], keepdim=True): every input read
    d.add("elementwise.sub", n * c * h * w, 1)     # x - mean
    d.add("elementwise.pow", n * c * h * w, 1)     # .pow(2)
    d.add("reduce.sum", n * c * h * w, 1)          # .sum(dim=[2, 3], keepdim=True)
    d.add("elementwise.div", n * c, 1)             # / n (n = H*W - 1), on (N, C, 1, 1)
    d.add("elementwise.add", n * c, 1)             # + e_lambda
    d.add("elementwise.mul", n * c, 1)             # 4 * (...)
    d.add("elementwise.div", n * c * h * w, 1)     # x_minus_mu_square / (...), broadcast
    d.add("elementwise.add", n * c * h * w, 1)     # + 0.5
    d.add("elementwise.sigmoid", n * c * h * w, 1)
    d.add("elementwise.mul", n * c * h * w, 1)     # x * sigmoid(y)
    return d


def triplet(n, c, h, w, k, no_spatial):
    """TripletAttention: each AttentionGate is ZPool, a k x k conv 2 -> 1 without bias, BN, sigmoid_, x * scale;
    on (N, H, C, W) it gates the (C, W) plane, on (N, W, H, C) the (H, C) plane, on x the (H, W) plane."""
    planes = [c * w, h * c] + ([] if no_spatial else [h * w])
    d = Derivation(len(planes) * (2 * k * k + 2), attention_map=n * max(planes))   # conv 2*k*k + BN 2 per gate
    for plane in planes:                           # (the permutes' .contiguous() are copies)
        d.add("reduce.max", n * c * h * w, 1)      # torch.max(x, 1): reads the whole rotated tensor
        d.add("reduce.mean", n * c * h * w, 1)     # torch.mean(x, 1); the cat is a copy
        d.add("mac.conv", n * plane * 2 * k * k, 2)   # conv 2 -> 1, k x k, same size
        d.add("norm.batch", n * plane, 2)          # BatchNorm2d(1) in eval
        d.add("norm.affine", n * plane, 2)
        d.add("elementwise.sigmoid", n * plane, 1)    # torch.sigmoid_ in place
        d.add("elementwise.mul", n * c * h * w, 1)    # x * scale, broadcast over the pooled dim
    d.add("elementwise.add", (len(planes) - 1) * n * c * h * w, 1)   # x_out + x_out11 (+ x_out21)
    d.add("elementwise.mul", n * c * h * w, 1)     # 1/3 * (...) or 1/2 * (...)
    return d


def efficient(n, c, h, w, dk, dv, heads):
    """EfficientAttention(C, dk, heads, dv): head i uses key channels [i*hk, (i+1)*hk), hk = dk // heads, and
    value channels [i*hv, (i+1)*hv), hv = dv // heads."""
    hw, hk, hv = h * w, dk // heads, dv // heads
    # keys, queries C*dk + dk each, values C*dv + dv, reprojection dv*C + C
    params = 2 * (c * dk + dk) + (c * dv + dv) + (dv * c + c)
    d = Derivation(params, attention_map=n * hk * hw)          # softmax(key, dim=2): (N, hk, HW) per head
    d.add("mac.conv", n * hw * c * dk, 2)          # keys 1x1 C -> dk
    d.add("bias.add", n * dk * hw, 1)
    d.add("mac.conv", n * hw * c * dk, 2)          # queries 1x1 C -> dk
    d.add("bias.add", n * dk * hw, 1)
    d.add("mac.conv", n * hw * c * dv, 2)          # values 1x1 C -> dv
    d.add("bias.add", n * dv * hw, 1)
    for _ in range(heads):
        d.add("softmax", n * hk * hw, 5)           # softmax(keys[:, head], dim=2)
        d.add("softmax", n * hk * hw, 5)           # softmax(queries[:, head], dim=1)
        d.add("mac.matmul", n * hk * hv * hw, 2)   # context = key (hk, HW) @ value^T (HW, hv)
        d.add("mac.matmul", n * hv * hw * hk, 2)   # context^T (hv, hk) @ query (hk, HW)
    d.add("mac.conv", n * hw * dv * c, 2)          # reprojection 1x1 dv -> C (the cat is a copy)
    d.add("bias.add", n * c * hw, 1)
    d.add("elementwise.add", n * c * hw, 1)        # + input_
    return d


# name, shape, hp given to the catalogue and to build, the hand derivation.
# CA: C=64, r=32: mip = max(8, 64 // 32) = max(8, 2) = 8; C=256, r=8: mip = max(8, 32) = 32.
# Efficient attention: defaults d_k = d_v = C // 2 = 32, one head; the second case has 4 heads of
# 30 // 4 = 7 key channels (2 key channels computed and never used, as in the code) and 48 // 4 = 12 values.
CASES = [
    ("coord-attention", (1, 64, 14, 14), {}, lambda: coord_attention(1, 64, 14, 14, r=32)),
    ("coord-attention", (2, 256, 7, 9), {"r": 8}, lambda: coord_attention(2, 256, 7, 9, r=8)),
    ("simam", (1, 64, 14, 14), {}, lambda: simam(1, 64, 14, 14)),
    ("simam", (2, 256, 7, 9), {}, lambda: simam(2, 256, 7, 9)),
    ("triplet-attention", (1, 64, 14, 14), {}, lambda: triplet(1, 64, 14, 14, k=7, no_spatial=False)),
    ("triplet-attention", (2, 256, 7, 9), {"kernel": 3, "no_spatial": True},
     lambda: triplet(2, 256, 7, 9, k=3, no_spatial=True)),
    ("efficient-attention", (1, 64, 14, 14), {}, lambda: efficient(1, 64, 14, 14, dk=32, dv=32, heads=1)),
    ("efficient-attention", (2, 96, 7, 9), {"key_channels": 30, "value_channels": 48, "head_count": 4},
     lambda: efficient(2, 96, 7, 9, dk=30, dv=48, heads=4)),
]

IDS = [f"{name}-{'x'.join(map(str, shape))}" for name, shape, _, _ in CASES]


@pytest.mark.parametrize("name, shape, hp, derive", CASES, ids=IDS)
def test_catalogue_matches_hand_derivation(name, shape, hp, derive):
    expected = derive()
    cost = catalogue.get(name).cost(shape, hp)
    assert arithmetic(cost.counts) == expected.counts
    assert flops(cost, "full") == expected.total
    assert cost.params == expected.params
    assert cost.attention_map_elements == expected.attention_map


@pytest.mark.parametrize("name, shape, hp, derive", CASES, ids=IDS)
def test_traced_reference_matches_hand_derivation(name, shape, hp, derive):
    expected = derive()
    torch.manual_seed(0)
    module = build(name, shape, hp)
    cost, _, unsupported = trace_module(module, torch.randn(*shape), allow_unsupported=True)
    assert not unsupported
    assert arithmetic(cost.counts) == expected.counts
    assert flops(cost, "full") == expected.total
    assert cost.params == expected.params == sum(p.numel() for p in module.parameters())
    assert cost.attention_map_elements == expected.attention_map


def test_hand_numbers_written_out():
    """The first case of each module, its parameters and MACs as numbers (N = 1, C = 64, 14 x 14)."""
    # CA, mip = 8: params 64*8+8 + 2*8 + (8*64+64) * 2 = 520 + 16 + 1152 = 1688;
    # MACs conv1 (14+14)*64*8 = 14336, conv_h 14*8*64 = 7168, conv_w 7168: 28672
    ca = catalogue.get("coord-attention").cost((1, 64, 14, 14))
    assert (ca.params, ca.macs) == (1688, 28672)
    # triplet, k = 7: params 3 * (2*49 + 2) = 300; MACs 98 * (C*W + H*C + H*W) = 98 * (896 + 896 + 196) = 194824
    tr = catalogue.get("triplet-attention").cost((1, 64, 14, 14))
    assert (tr.params, tr.macs) == (300, 194824)
    # efficient, d_k = d_v = 32: params 2*(64*32+32) + (64*32+32) + (32*64+64) = 4160 + 2080 + 2112 = 8352;
    # MACs convs 196*64*96 + 196*32*64 = 1204224 + 401408, products 2 * 196*32*32 = 401408: 2007040
    ea = catalogue.get("efficient-attention").cost((1, 64, 14, 14))
    assert (ea.params, ea.macs) == (8352, 2007040)
    # SimAM: no parameters, no MACs; full FLOPs: mean, sub, pow, sum, div, add, sigmoid, mul on every element
    # and div, add, mul on the (N, C, 1, 1) variance: 8 * 64*196 + 3 * 64 = 100352 + 192 = 100544
    sa = catalogue.get("simam").cost((1, 64, 14, 14))
    assert (sa.params, sa.macs, flops(sa, "full")) == (0, 0, 100544)


def _same(a, b):
    return sympy.simplify(sympy.expand(sympy.sympify(a) - sympy.sympify(b))) == 0


def test_symbolic_formulas_have_the_closed_forms():
    r = sympy.Symbol("r", positive=True, integer=True)
    mip = sympy.Max(8, sympy.floor(C / r))
    ca = catalogue.get("coord-attention").formula()
    assert _same(ca.params, 3 * C * mip + 3 * mip + 2 * C)
    assert _same(ca.macs, 2 * N * C * (H + W) * mip)           # conv1 on H + W, conv_h on H, conv_w on W
    assert ca.params.subs({C: 64, r: 32}) == 1688 and ca.params.subs({C: 256, r: 8}) == 25184

    sa = catalogue.get("simam").formula()
    assert sa.params == 0 and sa.macs == 0
    assert _same(flops(sa, "full"), 8 * N * C * H * W + 3 * N * C)

    tr = catalogue.get("triplet-attention").formula()
    assert tr.params == 300
    assert _same(tr.macs, 98 * N * (C * W + H * C + H * W))

    ea = catalogue.get("efficient-attention").formula()
    half = sympy.floor(C / 2)
    assert _same(ea.params, 4 * C * half + 3 * half + C)
    # keys, queries, values and reprojection 4*HW*C*(C/2); context and output 2*HW*(C/2)^2: 5/2 N H W C^2
    assert _same(ea.macs, 4 * N * H * W * C * half + 2 * N * H * W * half ** 2)
    assert _same(ea.macs.subs(half, C / 2), sympy.Rational(5, 2) * N * H * W * C ** 2)


def test_efficient_attention_is_linear_in_positions_unlike_nonlocal():
    """Doubling H*W doubles efficient attention's MACs exactly (no HW x HW map); the attention map is
    d_k/h x HW per head, not HW x HW."""
    entry = catalogue.get("efficient-attention")
    small, large = entry.cost((1, 64, 14, 14)), entry.cost((1, 64, 28, 14))
    assert large.macs == 2 * small.macs
    assert large.attention_map_elements == 32 * 28 * 14


def test_coord_attention_size_one_maps_pool_as_means():
    """pool_h of an H = 1 map asks for a 1 x 1 output, which ATen runs as a mean (pool.global_avg): the
    program says so and is marked degenerate (its symbolic formula takes H > 1)."""
    cost, _, degenerate = catalogue.get("coord-attention").program_result((1, 16, 1, 5))
    assert degenerate
    assert cost.counts["pool.global_avg"] == 16 * 5 and cost.counts["pool.adaptive_avg"] == 16 * 5


@pytest.mark.parametrize("name, shape, hp, message", [
    ("simam", (1, 64, 1, 1), {}, "n = H\\*W - 1 = 0"),
    ("triplet-attention", (1, 64, 7, 7), {"kernel": 6}, "odd"),
    ("efficient-attention", (1, 64, 7, 7), {"value_channels": 30, "head_count": 4}, "not divisible"),
    ("efficient-attention", (1, 64, 7, 7), {"key_channels": 3, "head_count": 4}, "key_channels >= head_count"),
    ("efficient-attention", (1, 1, 7, 7), {}, "C // 2 = 0"),
    ("efficient-attention", (1, 64, 7, 7), {"head_count": 65}, "at most 64"),
    ("coord-attention", (1, 64, 7, 7), {"r": 0}, "at least 1"),
])
def test_impossible_configurations_raise_one_line(name, shape, hp, message):
    with pytest.raises(HyperparameterError, match=message) as info:
        catalogue.get(name).resolve(shape, hp)
    assert "\n" not in str(info.value)


def test_aliases():
    assert catalogue.get("ca").name == catalogue.get("CoordAtt").name == "coord-attention"
    assert catalogue.get("triplet").name == "triplet-attention"
    assert catalogue.get("efficient_attn").name == "efficient-attention"
    assert [e.family for e in map(catalogue.get, ("ca", "simam", "triplet", "efficient-attention"))] == [
        "spatial", "spatial", "spatial", "self-attention"]
