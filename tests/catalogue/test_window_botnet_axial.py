"""Swin W-MSA / SW-MSA, BoTNet's MHSA and Axial-DeepLab's axial attention: params and MACs derived by
hand at two shapes each (term by term in the comments), Swin's MACs against the paper's complexity
formula and the official code's own ``WindowAttention.flops``, formula == traced reference on chosen
edge configurations, and one-line errors for impossible hyperparameters."""

from __future__ import annotations

import re

import pytest
import sympy
import torch

from attncost.catalogue import get
from attncost.errors import HyperparameterError
from attncost.reference import build
from attncost.symbols import C, H, N, W
from attncost.trace import trace_module


def cost(name, shape, **hp):
    return get(name).cost(shape, hp)


# -- Swin ------------------------------------------------------------------------------------------

def official_window_attention_flops(n_tokens: int, dim: int, heads: int) -> int:
    """microsoft/Swin-Transformer WindowAttention.flops(N), per window (what the paper's FLOPs use)."""
    flops = n_tokens * dim * 3 * dim                               # qkv = self.qkv(x)
    flops += heads * n_tokens * (dim // heads) * n_tokens          # q @ k.transpose(-2, -1)
    flops += heads * n_tokens * n_tokens * (dim // heads)          # attn @ v
    flops += n_tokens * dim * dim                                  # self.proj(x)
    return flops


def test_swin_wmsa_hand_derived_swin_t_stage1():
    # Swin-T stage 1: N=1, C=96, 56x56, M=7, 3 heads (d = 32): h w = 3136 tokens, 64 windows of 49
    c = cost("swin-wmsa", (1, 96, 56, 56), heads=3)
    # params: qkv 96*288 + 288 = 27936; proj 96*96 + 96 = 9312; bias table (2*7-1)^2 * 3 = 169*3 = 507
    assert c.params == 27936 + 9312 + 507 == 37755
    # qkv 3136*96*288 = 86704128 and proj 3136*96*96 = 28901376: 4 h w C^2 = 115605504
    assert c.counts["mac.linear"] == 86704128 + 28901376 == 4 * 3136 * 96**2
    # q k^T and attn v: 64 windows * 3 heads * 49 * 49 * 32, twice: 2 M^2 h w C = 29503488
    assert c.counts["mac.matmul"] == 2 * 64 * 3 * 49 * 49 * 32 == 2 * 49 * 3136 * 96
    # the paper's Omega(W-MSA) = 4hwC^2 + 2M^2hwC counts exactly these two (projections and the two
    # products); the official WindowAttention.flops, summed over the 64 windows, is the same number
    omega = 4 * 3136 * 96**2 + 2 * 49 * 3136 * 96
    assert c.counts["mac.linear"] + c.counts["mac.matmul"] == omega == 145108992
    assert 64 * official_window_attention_flops(49, 96, 3) == omega
    # what the paper leaves out, none of it a MAC: the bias adds of qkv and proj (3136*(288 + 96)),
    # q * d^-0.5 (3136*96), the relative position bias add and the softmax (64*3*49*49 each)
    assert c.counts["bias.add"] == 3136 * (288 + 96)
    assert c.counts["elementwise.mul"] == 3136 * 96
    assert c.counts["elementwise.add"] == c.counts["softmax"] == 64 * 3 * 49 * 49 == 460992
    assert c.attention_map_elements == 460992


def test_swin_wmsa_hand_derived_padded():
    # N=2, C=48, 9x11, M=7, 3 heads (d = 16): padded to 14x14, 2*2 windows per image, 2*196 = 392 tokens
    c = cost("swin-wmsa", (2, 48, 9, 11))
    # params: qkv 48*144 + 144 = 7056; proj 48*48 + 48 = 2352; table 169*3 = 507
    assert c.params == 7056 + 2352 + 507
    # qkv 392*48*144 = 2709504, proj 392*48*48 = 903168: 4 (N Hp Wp) C^2
    assert c.counts["mac.linear"] == 2709504 + 903168 == 4 * 392 * 48**2
    # 2 images * 4 windows * 3 heads * 49 * 49 * 16, twice = 2 M^2 (N Hp Wp) C
    assert c.counts["mac.matmul"] == 2 * 2 * 4 * 3 * 49 * 49 * 16 == 2 * 49 * 392 * 48
    assert get("swin-wmsa").output_shape((2, 48, 9, 11), {}) == (2, 48, 9, 11)


def test_swin_macs_are_the_papers_complexity_formula():
    """Omega(W-MSA) = 4hwC^2 + 2M^2hwC (Eq. 2) for every h, w that are multiples of M (N = 1)."""
    a, b = sympy.symbols("a b", positive=True, integer=True)
    for name in ("swin-wmsa", "swin-swmsa"):
        for m in (7, 4):
            formula = get(name).cost((1, C, m * a, m * b), {"window_size": m, "heads": 2})
            h, w = m * a, m * b
            macs = formula.counts["mac.linear"] + formula.counts["mac.matmul"]
            assert sympy.expand(macs - (4 * h * w * C**2 + 2 * m**2 * h * w * C)) == 0, (name, m)
    # in general: h, w are the padded sizes M ceil(H/M), M ceil(W/M)
    general = get("swin-wmsa").formula()
    hp, wp = 7 * sympy.ceiling(H / 7), 7 * sympy.ceiling(W / 7)
    assert sympy.expand(general.counts["mac.linear"] - 4 * N * hp * wp * C**2) == 0
    assert sympy.expand(general.counts["mac.matmul"] - 2 * 49 * N * hp * wp * C) == 0


def test_swin_swmsa_adds_the_shift_and_the_mask_only():
    # the same attention; the shift adds two rolls of the padded map (2 * 2*14*14*48 copies) and the
    # mask one add per logit (2 * 4 windows * 3 heads * 49 * 49)
    w, s = cost("swin-wmsa", (2, 48, 9, 11)), cost("swin-swmsa", (2, 48, 9, 11))
    assert s.params == w.params and s.counts["mac.linear"] == w.counts["mac.linear"]
    assert s.counts["mac.matmul"] == w.counts["mac.matmul"]
    assert s.counts["copy"] - w.counts["copy"] == 2 * 2 * 14 * 14 * 48
    assert s.counts["elementwise.add"] - w.counts["elementwise.add"] == 2 * 4 * 3 * 49 * 49
    assert cost("swin-swmsa", (2, 48, 9, 11), shift_size=1) == s       # the counts do not depend on it


# -- BoTNet ----------------------------------------------------------------------------------------

def test_botnet_hand_derived_c5():
    # BoTNet c5 at 14x14: N=1, C = dim_out = 512, 4 heads: dqk = make_divisible(512, 8) // 4 = 128, dv = 128
    c = cost("botnet-mhsa", (1, 512, 14, 14))
    # params: qkv 1x1 conv, no bias, 512 * (2*512 + 512) = 786432; height_rel and width_rel (2*14-1) * 128 each
    assert c.params == 512 * 1536 + 2 * 27 * 128 == 793344
    # qkv conv: 196 positions * 512 * 1536 = 154140672
    assert c.counts["mac.conv"] == 196 * 512 * 1536
    # q k and attn v: 4 heads * 196 * 196 * (128 + 128) = 39337984
    assert c.counts["mac.matmul"] == 4 * 196**2 * 256 == 39337984
    # relative logits q @ rel^T (a linear on a parameter): 4 heads * 196 * 128 * (27 + 27) = 5419008
    assert c.counts["mac.linear"] == 4 * 196 * 128 * 54 == 5419008
    # non-MACs: the scale (4*196^2), rel_h + rel_w and logits + rel (2 * 4*196^2), the softmax
    assert c.counts["elementwise.mul"] == c.counts["softmax"] == 4 * 196**2
    assert c.counts["elementwise.add"] == 2 * 4 * 196**2
    assert c.attention_map_elements == 4 * 196**2


def test_botnet_hand_derived_small():
    # N=2, C=16, 9x11, 4 heads: dqk = make_divisible(16, 8) // 4 = 4, dv = 16 // 4 = 4, HW = 99
    c = cost("botnet-mhsa", (2, 16, 9, 11))
    # params: conv 16 * (2*16 + 16) = 768; height_rel (2*9-1) * 4 = 68, width_rel (2*11-1) * 4 = 84
    assert c.params == 768 + 68 + 84 == 920
    assert c.counts["mac.conv"] == 2 * 99 * 16 * 48 == 152064
    assert c.counts["mac.matmul"] == 2 * 4 * 99**2 * (4 + 4) == 627264
    assert c.counts["mac.linear"] == 2 * 4 * 99 * 4 * (21 + 17) == 120384
    # stride 2: 2x2 average pooling of the (2, 16, 9, 11) output, 4 reads per (2, 16, 4, 5) output
    pooled = cost("botnet-mhsa", (2, 16, 9, 11), stride=2)
    assert pooled.counts["pool.avg"] == 4 * 2 * 16 * 4 * 5
    assert get("botnet-mhsa").output_shape((2, 16, 9, 11), {"stride": 2}) == (2, 16, 4, 5)


def test_botnet_symbolic_formula():
    f = get("botnet-mhsa").formula()
    # dqk = dv = C / 4: conv N HW C (3C); products N 4 (HW)^2 (C/2); relative N 4 HW (C/4) (2W - 1 + 2H - 1)
    assert sympy.expand(f.counts["mac.conv"] - 3 * N * H * W * C**2) == 0
    assert sympy.expand(f.counts["mac.matmul"] - 2 * N * (H * W) ** 2 * C) == 0
    assert sympy.expand(f.counts["mac.linear"] - N * H * W * C * (2 * W + 2 * H - 2)) == 0
    assert sympy.expand(f.params - (3 * C**2 + (2 * H - 1 + 2 * W - 1) * C / 4)) == 0


# -- Axial-DeepLab ---------------------------------------------------------------------------------

def test_axial_hand_derived_bmm_path():
    # N=1, C = out = 64, 14x14, 8 groups: 8 channels per group, q and k 4 each; the height attention
    # runs on 14 columns of 14, the width attention on 14 rows of 14
    c = cost("axial-attention", (1, 64, 14, 14))
    # per axis: qkv Conv1d 64 -> 128 no bias 8192, bn_qkv 2*128, bn_similarity 2*24, bn_output 2*128,
    # relative embeddings 16 x (2*14 - 1) = 432
    per_axis = 8192 + 256 + 48 + 256 + 432
    assert c.params == 2 * per_axis == 18368
    # qkv conv per axis: 14 sequences * 14 * 64 * 128 = 1605632
    assert c.counts["mac.conv"] == 2 * 14 * 14 * 64 * 128
    # per axis: qk, qr, kr 3 * 14 * 8 groups * 14 * 14 * 4 = 263424; sv, sve 2 * 14 * 8 * 8 * 14 * 14 = 351232
    per_axis_products = 3 * 14 * 8 * 196 * 4 + 2 * 14 * 8 * 8 * 196
    assert per_axis_products == 614656 == 3.5 * 64 * 14 * 196      # 3.5 out N W H^2
    assert c.counts["mac.matmul"] == 2 * per_axis_products
    # softmax over 14 * 8 * 14 * 14 logits per axis; BN elements: qkv and output 14*128*14 each, similarity 14*24*196
    assert c.counts["softmax"] == 2 * 14 * 8 * 196
    assert c.counts["norm.batch"] == 2 * (2 * 14 * 128 * 14 + 14 * 24 * 196)
    assert c.attention_map_elements == 14 * 8 * 196


def test_axial_hand_derived_one_query_channel_per_group():
    # N=2, C = out = 16, 9x11, 8 groups: 2 channels per group, q and k 1 each, so qk, qr, kr run as
    # broadcast multiplies (einsum with nothing to sum), sv and sve as bmm
    c = cost("axial-attention", (2, 16, 9, 11))
    # height: conv 32*16 = 512, BN 64 + 48 + 64, relative 4 x 17 = 68; width: the same with 4 x 21 = 84
    assert c.params == (512 + 176 + 68) + (512 + 176 + 84) == 1528
    # qkv conv: height 2*11 sequences * 9 * 16 * 32, width 2*9 sequences * 11 * 16 * 32
    assert c.counts["mac.conv"] == 22 * 9 * 16 * 32 + 18 * 11 * 16 * 32 == 202752
    # sv, sve: height 2 * 22 * 8 * 2 * 81, width 2 * 18 * 8 * 2 * 121
    assert c.counts["mac.matmul"] == 2 * 22 * 8 * 2 * 81 + 2 * 18 * 8 * 2 * 121 == 126720
    # qk, qr, kr as products: height 3 * 22 * 8 * 81, width 3 * 18 * 8 * 121
    assert c.counts["elementwise.mul"] == 3 * 22 * 8 * 81 + 3 * 18 * 8 * 121
    assert c.attention_map_elements == max(22 * 8 * 81, 18 * 8 * 121)


def test_axial_axes_add_up():
    both, height, width = (cost("axial-attention", (2, 32, 6, 7), groups=4, axis=axis)
                           for axis in ("both", "height", "width"))
    assert both.counts == {k: height.counts.get(k, 0) + width.counts.get(k, 0) for k in both.counts}
    assert both.params == height.params + width.params


# -- formula == traced reference at edge configurations --------------------------------------------

CASES = [
    ("swin-wmsa", (1, 96, 14, 14), {}),                                         # 4 windows, no padding
    ("swin-wmsa", (2, 12, 5, 4), {"window_size": 1, "heads": 2}),                  # one token per window
    ("swin-wmsa", (1, 45, 16, 4), {"window_size": 4}),                           # one window across
    ("swin-wmsa", (2, 8, 6, 6), {"window_size": 4, "heads": 8, "qkv_bias": False}),   # d = 1
    ("swin-swmsa", (2, 48, 9, 11), {}),
    ("swin-swmsa", (1, 16, 14, 21), {"heads": 2, "shift_size": 2}),
    ("swin-swmsa", (3, 8, 5, 7), {"window_size": 2, "heads": 1}),
    ("botnet-mhsa", (1, 32, 6, 7), {"heads": 2}),                                 # N = 1: q, k, v views
    ("botnet-mhsa", (2, 20, 5, 6), {"heads": 5}),                                 # timm rounds 20 to 24
    ("botnet-mhsa", (2, 12, 4, 5), {"heads": 3, "dim_head": 5, "dim_out": 6, "qkv_bias": True,
                                    "scale_pos_embed": True, "stride": 2}),
    ("botnet-mhsa", (2, 8, 1, 5), {}),
    ("axial-attention", (2, 16, 5, 6), {"groups": 4}),
    ("axial-attention", (1, 32, 6, 7), {"groups": 2, "out_channels": 8}),
    ("axial-attention", (2, 12, 4, 5), {"groups": 3, "stride": 2}),
    ("axial-attention", (3, 24, 7, 3), {"groups": 2, "stride": 3, "axis": "width"}),
    ("axial-attention", (2, 8, 1, 5), {"groups": 4}),
]


@pytest.mark.parametrize("name, shape, hp", CASES)
def test_formula_equals_traced_reference(name, shape, hp):
    entry = get(name)
    module = build(name, shape, hp)
    traced, traced_shape, unsupported = trace_module(module, torch.randn(*shape), allow_unsupported=True)
    formula, formula_shape = entry.run(shape, hp)
    assert not unsupported
    assert tuple(formula_shape) == tuple(traced_shape)
    assert formula.fields() == {k: traced.fields().get(k, 0) for k in formula.fields()}
    assert set(traced.fields()) <= set(formula.fields())
    assert formula.params == sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize("name, shape, table, rows", [
    ("swin-wmsa", (1, 96, 14, 14), "attn.relative_position_bias_table", 169 * 3),
    ("botnet-mhsa", (1, 16, 9, 11), "pos_embed.height_rel", 17 * 4),
    ("botnet-mhsa", (1, 16, 9, 11), "pos_embed.width_rel", 21 * 4),
    ("axial-attention", (1, 16, 9, 11), "height_block.relative", 4 * 17),
    ("axial-attention", (1, 16, 9, 11), "width_block.relative", 4 * 21),
])
def test_relative_tables_are_parameters(name, shape, table, rows):
    """The relative position tables are nn.Parameters of the official modules and count as params."""
    module = build(name, shape)
    parameters = dict(module.named_parameters())
    assert parameters[table].numel() == rows
    assert get(name).cost(shape).params == sum(p.numel() for p in parameters.values())


@pytest.mark.parametrize("name, shape, hp, message", [
    ("swin-wmsa", (1, 32, 7, 7), {"heads": 3}, "C=32 is not divisible by heads=3"),
    ("swin-swmsa", (1, 96, 7, 7), {"shift_size": 7}, "shift_size=7 must be in 1..window_size-1=6"),
    ("swin-swmsa", (1, 96, 7, 7), {"window_size": 1}, "swin-swmsa.window_size=1"),
    ("botnet-mhsa", (1, 30, 7, 7), {}, "dim_out=30 is not divisible by heads=4"),
    ("botnet-mhsa", (1, 32, 1, 7), {"stride": 2}, "stride=2 pools 2x2, but H x W is 1 x 7"),
    ("axial-attention", (1, 20, 7, 7), {}, "C=20 is not divisible by groups=8"),
    ("axial-attention", (1, 24, 7, 7), {}, "out_channels / groups = 3 must be even"),
    ("axial-attention", (1, 32, 7, 7), {"stride": 2, "axis": "height"}, "axis=height has none"),
])
def test_impossible_hyperparameters_raise_one_line(name, shape, hp, message):
    with pytest.raises(HyperparameterError, match=re.escape(message)) as error:
        get(name).resolve(shape, hp)
    assert "\n" not in str(error.value)
