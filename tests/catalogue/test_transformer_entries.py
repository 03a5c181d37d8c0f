"""Transformer-family entries: hand-derived counts, formula == traced reference on chosen
configurations (one head, one key dim per head, fully attentional, extreme strides), and
one-line errors for impossible hyperparameters."""

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


def test_sdpa_hand_derived():
    # N=1, C=8, HW=2*3=6 tokens, d=C=8: q, k, v, proj linears 4*6*8*8 = 1536 MACs;
    # Q K^T and A V 2*6*6*8 = 576 MACs; attention map 6*6 = 36; params 4*(8*8 + 8) = 288
    c = cost("sdpa", (1, 8, 2, 3))
    assert c.counts["mac.linear"] == 1536 and c.counts["mac.matmul"] == 576
    assert c.attention_map_elements == 36 and c.params == 288


def test_mhsa_and_vit_symbolic_formulas():
    mhsa = get("mhsa").formula()
    # qkv 3C^2 + proj C^2 linear MACs per token; QK^T and AV: 2 * HW * HW * C
    assert sympy.expand(mhsa.counts["mac.linear"] - 4 * C**2 * N * H * W) == 0
    assert sympy.expand(mhsa.counts["mac.matmul"] - 2 * C * N * (H * W) ** 2) == 0
    assert mhsa.attention_map_elements == 8 * N * (H * W) ** 2
    vit = get("vit-layer").formula()
    # qkv 3C^2 + 3C, proj C^2 + C, fc1 4C^2 + 4C, fc2 4C^2 + C, two LayerNorms 2C each
    assert sympy.expand(vit.params - (12 * C**2 + 13 * C)) == 0


def test_patch_embed_hand_derived():
    # ViT-B/16 on 224x224x3: 768 * 3 * 16 * 16 + 768 = 590592 params; 14 * 14 patches
    c = cost("patch-embed", (1, 3, 224, 224))
    assert c.params == 590592
    assert c.counts["mac.conv"] == 14 * 14 * 768 * 3 * 16 * 16
    assert get("patch-embed").output_shape((1, 3, 230, 225), {}) == (1, 768, 14, 14)   # floors


def test_aa_conv_defaults_hand_derived():
    # Fout = C = 256, Nh = 8: dk = 8 * max(20, floor(0.2*256/8) = 6) = 160, dv = 8 * max(1, 3) = 24
    # conv 3x3 256 -> 232: 256*232*9 + 232; k, q, v 1x1: 256*(160+160+24) + 344; attn_out 24*24 + 24;
    # relative embeddings (2*14-1 + 2*14-1) * 20
    expected = 256 * 232 * 9 + 232 + 256 * 344 + 344 + 24 * 24 + 24 + (27 + 27) * 20
    c = cost("aa-conv", (1, 256, 14, 14))
    assert c.params == expected
    # logits and A V over 196 positions: 196^2 * (160 + 24); relative logits 196 * 160/8 * (27 + 27) * 8
    assert c.counts["mac.matmul"] == 196**2 * (160 + 24) + 196 * 160 * (27 + 27)
    assert c.attention_map_elements == 8 * 196**2


def test_sparse_attention_macs_scale_as_n_sqrt_n():
    # N=1, C=64, 8x8: n = 64, l = 8, b = 8; strided: 2 * C * n * (2l + b) = 2*64*64*24 = 196608
    # dense: 2 * C * n^2 = 2*64*64*64 = 524288; merged attention map 8 heads * 64 * (2*8 + 8)
    strided = cost("sparse-attention", (1, 64, 8, 8))
    dense = cost("sparse-attention", (1, 64, 8, 8), mode="dense")
    assert strided.counts["mac.matmul"] == 196608 and dense.counts["mac.matmul"] == 524288
    assert strided.attention_map_elements == 8 * 64 * 24
    formula = get("sparse-attention").formula()
    assert sympy.expand(formula.counts["mac.matmul"] - 2 * N * C * H * W * (2 * W + H)) == 0


CASES = [
    ("sdpa", (2, 16, 5, 7), {"head_dim": 6}),
    ("mhsa", (1, 32, 7, 13), {}),
    ("mhsa", (2, 12, 5, 4), {"heads": 1}),
    ("mhsa", (3, 12, 4, 5), {"heads": 12}),                          # one dim per head
    ("mhsa", (2, 10, 3, 5), {"heads": 3, "head_dim": 5, "qkv_bias": False}),
    ("vit-layer", (2, 48, 5, 7), {}),
    ("vit-layer", (1, 16, 6, 5), {"heads": 4, "mlp_ratio": 2.5, "qkv_bias": False}),
    ("patch-embed", (2, 8, 9, 10), {"patch": 3, "embed_dim": 24}),
    ("patch-embed", (1, 8, 9, 11), {"patch": 2, "norm": True}),
    ("aa-conv", (2, 32, 6, 7), {}),
    ("aa-conv", (1, 16, 5, 6), {"relative": False, "kernel": 5}),
    ("aa-conv", (2, 16, 5, 6), {"heads": 4, "dk": 4, "dv": 8, "out_channels": 12}),   # dk / Nh = 1
    ("aa-conv", (2, 16, 4, 5), {"heads": 2, "dk": 8, "dv": 16, "out_channels": 16}),  # fully attentional
    ("sparse-attention", (2, 32, 6, 8), {}),
    ("sparse-attention", (1, 16, 4, 6), {"heads": 1, "stride": 3}),
    ("sparse-attention", (2, 16, 3, 4), {"stride": 1, "heads": 4}),
    ("sparse-attention", (2, 16, 3, 4), {"stride": 12, "heads": 2}),
    ("sparse-attention", (3, 24, 5, 3), {"mode": "dense", "heads": 6}),
]


@pytest.mark.parametrize("name, shape, hp", CASES)
def test_formula_equals_traced_reference(name, shape, hp):
    entry = get(name)
    module = build(name, shape, hp)
    traced, traced_shape, unsupported = trace_module(module, torch.randn(*shape), allow_unsupported=True)
    formula, formula_shape = entry.run(shape, hp)
    assert not unsupported
    assert tuple(formula_shape) == tuple(traced_shape)
    diffs = {k: (formula.fields().get(k, 0), traced.fields().get(k, 0))
             for k in set(formula.fields()) | set(traced.fields())
             if formula.fields().get(k, 0) != traced.fields().get(k, 0)}
    assert not diffs
    assert formula.params == sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize("name, shape, hp, message", [
    ("mhsa", (1, 32, 7, 13), {"heads": 12}, "C=32 is not divisible by heads=12"),
    ("vit-layer", (1, 32, 7, 13), {}, "C=32 is not divisible by heads=12"),
    ("patch-embed", (1, 3, 7, 13), {"patch": 4, "strict": True}, "H=7 is not divisible by patch=4"),
    ("patch-embed", (1, 3, 7, 13), {}, "H=7 is smaller than patch=16"),
    ("aa-conv", (1, 32, 7, 13), {"dk": 10}, "dk=10 is not divisible by heads=8"),
    ("aa-conv", (1, 32, 7, 13), {"dv": 40, "heads": 4}, "dv=40 exceeds the output channels 32"),
    ("sparse-attention", (1, 32, 7, 13), {"stride": 100}, "stride=100 is longer than the sequence H*W=91"),
    ("sparse-attention", (1, 32, 7, 13), {"stride": 5}, "H*W=91 is not divisible by stride=5"),
])
def test_impossible_hyperparameters_raise_one_line(name, shape, hp, message):
    with pytest.raises(HyperparameterError, match=re.escape(message)) as error:
        get(name).resolve(shape, hp)
    assert "\n" not in str(error.value)
