"""A battery of third-party attention implementations, traced by attncost and checked against counts
that share no code with it (issue 11, "What it must show", first bullet).

The modules are faithful rewrites of public code (one file per source next to this one, each naming
its repository, file, commit and licence): timm's Attention (fused SDPA and explicit), ViT Block,
Swin WindowAttention and SwinTransformerBlock (relative position bias, shifted windows, padding),
CbamModule, EcaModule and GlobalContext; the official CBAM and BAM (Jongchan/attention-module), ECA
(BangguWu/ECANet), GC (xvjiarui/GCNet), criss-cross attention (speedinghzl/CCNet), DANet's PAM, CAM and
head (junfu1115/DANet) and the embedded-Gaussian non-local block (AlexHex7/Non-local_pytorch); plus
torch's own nn.MultiheadAttention and nn.TransformerEncoderLayer in eval mode (their fused fast paths)
and in train mode.

For every module at two input shapes (image modules NCHW, token modules (B, N, C); the Swin block
(B, H, W, C), as timm takes it):

- params: the tracer's count equals ``sum(p.numel() for p in module.parameters())``;
- MACs by kind (``mac.conv``, ``mac.linear``, ``mac.matmul``, ``mac.attention``): equal a hand
  derivation written below from the module's hyperparameters and the input shape, kind by kind;
- FlopCounterMode: its total on the same forward (under no_grad) equals attncost's ``flopcounter``
  view (2 FLOPs per MAC, bias excluded) minus 2 x the MACs FlopCounterMode cannot see: it has no
  formula for ``_scaled_dot_product_flash_attention_for_cpu`` (CPU SDPA), ``_native_multi_head_attention``
  (nn.MultiheadAttention's fast path) and ``_transformer_encoder_layer_fwd`` (the encoder layer's), so
  there it counts 0 for the MACs the op computes. Those MACs are the hand derivation's too, so where
  FlopCounterMode sees everything the check is plain equality;
- no unknown op: the tracer's ``unsupported`` is empty (an op without a formula is never counted as 0).

Where FlopCounterMode sees nothing (the fast paths) the check demands it counts exactly 0, which also
proves the fast path really ran; the odd-heads cases show torch leaving it ("num_head is odd").

Faithfulness was checked once, outside this suite, against the originals themselves (fetched at the
commits named in each file; timm imported with torchvision stubbed out, CCNet's ``.cuda()`` made a
no-op, BAM's undefined ``gate_activation`` defined): with the original's state dict loaded, every
rewrite returns the same output and dispatches the same aten ops, in the same order.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import Callable

import pytest
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from attncost.cost import flops
from attncost.trace import trace_module

from . import (ccnet_criss_cross, danet_attention, ecanet_eca, gcnet_context_block, jongchan_bam, jongchan_cbam,
               nonlocal_embedded_gaussian, timm_attention, timm_cbam, timm_eca, timm_global_context,
               timm_swin_transformer, timm_vision_transformer)

MAC_KINDS = ("mac.conv", "mac.linear", "mac.matmul", "mac.attention")


# -- harness ---------------------------------------------------------------------------------------------
class SelfAttention(nn.Module):
    """nn.MultiheadAttention as self-attention, query = key = value = x; returns the output, not the weights.
    Adds no op."""

    def __init__(self, mha: nn.MultiheadAttention, **kwargs):
        super().__init__()
        self.mha = mha
        self.kwargs = kwargs

    def forward(self, x):
        return self.mha(x, x, x, **self.kwargs)[0]


class FirstOutput(nn.Module):
    """A module returning a tuple (DANetHead), seen through its first output; every output is computed."""

    def __init__(self, module: nn.Module):
        super().__init__()
        self.module = module

    def forward(self, x):
        return self.module(x)[0]


@dataclass(frozen=True)
class Case:
    name: str
    build: Callable[[tuple], nn.Module]           # input shape -> module (in the mode it is tested in)
    shapes: tuple                                 # two input shapes
    macs: Callable[[tuple], dict]                 # input shape -> MACs by kind, derived by hand
    hidden: Callable[[tuple], int] = field(default=lambda shape: 0)   # MACs inside ops FlopCounterMode can't see

    def __str__(self):
        return self.name


def _eval(module):
    return module.eval()


def _train(module):
    return module.train()


# -- hand derivations ------------------------------------------------------------------------------------
# Token modules, x (B, N, C), h heads of C/h: the packed qkv projection N*C*3C, the output projection
# N*C*C, and per head QK^T (N*N*C/h) and attention x V (N*N*C/h): MHSA = 3NC^2 + 2N^2C + NC^2 per image.
def mhsa(b, n, c, products="mac.matmul"):
    return {"mac.linear": b * (3 * n * c * c + n * c * c), products: b * 2 * n * n * c}


def encoder(b, n, c, hidden, products):
    """MHSA plus the two feed-forward linears, C -> hidden -> C."""
    macs = mhsa(b, n, c, products)
    macs["mac.linear"] += b * 2 * n * c * hidden
    return macs


def swin_block(shape, window, hidden, products):
    """Windows of w x w tokens over the map padded up to multiples of w (nW = B * Hp/w * Wp/w windows, each
    an MHSA on N = w^2 tokens: 4*N*C^2 linear + 2*N^2*C products); the MLP runs on the B*H*W unpadded tokens."""
    b, h, w, c = shape
    hp, wp = math.ceil(h / window) * window, math.ceil(w / window) * window
    windows, tokens = b * (hp // window) * (wp // window), window * window
    return {"mac.linear": windows * 4 * tokens * c * c + b * h * w * 2 * c * hidden,
            products: windows * 2 * tokens * tokens * c}


def timm_rd(channels, ratio):
    """timm's make_divisible(channels * ratio, divisor=1, round_limit=0): round half up, at least 1."""
    return max(1, int(channels * ratio + 0.5))


def eca_kernel(channels, gamma=2, beta=1):
    t = int(abs(math.log2(channels) + beta) / gamma)
    return max(t if t % 2 else t + 1, 3)


def cbam_macs(shape, hidden, mlp):
    """CBAM: the shared MLP C -> hidden -> C on the avg- and the max-pooled vector (2 * 2*C*hidden per image),
    and the 7x7 conv 2 -> 1 over the map (H*W*2*49)."""
    b, c, h, w = shape
    macs = {"mac.conv": b * h * w * 2 * 49}
    macs[mlp] = macs.get(mlp, 0) + b * 2 * 2 * c * hidden     # timm's MLP is 1x1 convs, the official one Linear
    return macs


def bam_macs(shape, r=16):
    """BAM: channel MLP C -> C/r -> C on the pooled vector; spatial 1x1 C -> C/r, two 3x3 C/r -> C/r, 1x1 C/r -> 1."""
    b, c, h, w = shape
    cr, p = c // r, h * w
    return {"mac.linear": b * 2 * c * cr, "mac.conv": b * p * (c * cr + 2 * 9 * cr * cr + cr)}


def gc_macs(shape, planes, fusions, attention_pooling=True):
    """GC: the context (1x1 conv C -> 1, then the C x HW by HW x 1 product) and per fusion the 1x1 transform
    C -> planes -> C on the C x 1 x 1 context."""
    b, c, h, w = shape
    p = h * w
    macs = {"mac.conv": b * fusions * 2 * c * planes}
    if attention_pooling:
        macs["mac.conv"] += b * p * c
        macs["mac.matmul"] = b * c * p
    return macs


def criss_cross_macs(shape):
    """CCNet: 1x1 convs C -> C/8, C/8, C; per pixel its column (H) and row (W) energies over C/8 channels and
    the aggregation of C values over the same H + W positions."""
    b, c, h, w = shape
    p, c8 = h * w, c // 8
    return {"mac.conv": b * p * c * (2 * c8 + c), "mac.matmul": b * p * (h + w) * (c8 + c)}


def pam_macs(shape):
    """DANet PAM: 1x1 convs C -> C/8, C/8, C; energy (HW x C/8)(C/8 x HW), output (C x HW)(HW x HW)."""
    b, c, h, w = shape
    p, c8 = h * w, c // 8
    return {"mac.conv": b * p * c * (2 * c8 + c), "mac.matmul": b * p * p * (c8 + c)}


def cam_macs(shape):
    """DANet CAM: energy (C x HW)(HW x C), output (C x C)(C x HW)."""
    b, c, h, w = shape
    return {"mac.matmul": b * 2 * c * c * h * w}


def danet_head_macs(shape, out_channels):
    """DANetHead: conv5a, conv5c 3x3 C -> C/4; PAM and CAM on C/4; conv51, conv52 3x3 C/4 -> C/4; conv6, 7, 8
    1x1 C/4 -> out."""
    b, c, h, w = shape
    i, p = c // 4, h * w
    pam, cam = pam_macs((b, i, h, w)), cam_macs((b, i, h, w))
    conv = b * p * (2 * 9 * c * i + 2 * 9 * i * i + 3 * i * out_channels) + pam["mac.conv"]
    return {"mac.conv": conv, "mac.matmul": pam["mac.matmul"] + cam["mac.matmul"]}


def nonlocal_macs(shape):
    """Embedded-Gaussian non-local, sub_sample: theta, phi, g 1x1 C -> C/2 at full resolution (phi and g are
    pooled 2x2 after their conv), W 1x1 C/2 -> C; theta (HW x C/2) by phi (C/2 x P'), then by g (P' x C/2),
    P' = floor(H/2) * floor(W/2)."""
    b, c, h, w = shape
    ci, p, pooled = c // 2, h * w, (h // 2) * (w // 2)
    return {"mac.conv": b * p * 4 * c * ci, "mac.matmul": b * 2 * p * pooled * ci}


# -- the battery -----------------------------------------------------------------------------------------
TOKENS = ((2, 10, 64), (1, 50, 96))
HEADS = {64: 4, 96: 6, 32: 4, 48: 3}       # token width -> heads (even for torch's fast paths)
IMAGES = ((2, 64, 9, 7), (1, 32, 14, 14))
ODD_HEADS = ((2, 10, 48), (1, 50, 96))


def _sdpa_hidden(shape):
    b, n, c = shape
    return mhsa(b, n, c, "mac.attention")["mac.attention"]


def _swin_hidden(window):
    return lambda shape: swin_block(shape, window, 4 * shape[3], "mac.attention")["mac.attention"]


def _all(macs):
    return lambda shape: sum(macs(shape).values())


CASES = [
    # timm/layers/attention.py
    Case("timm Attention, fused (SDPA)",
         lambda s: _eval(timm_attention.Attention(s[2], HEADS[s[2]], qkv_bias=True, fused_attn=True)), TOKENS,
         lambda s: mhsa(*s, products="mac.attention"), _sdpa_hidden),
    Case("timm Attention, explicit",
         lambda s: _eval(timm_attention.Attention(s[2], HEADS[s[2]], qkv_bias=True, fused_attn=False)), TOKENS,
         lambda s: mhsa(*s)),
    # timm/models/vision_transformer.py
    Case("timm ViT Block, fused",
         lambda s: _eval(timm_vision_transformer.Block(s[2], HEADS[s[2]], qkv_bias=True)), TOKENS,
         lambda s: encoder(*s, 4 * s[2], "mac.attention"), _sdpa_hidden),
    Case("timm ViT Block, explicit, LayerScale",
         lambda s: _eval(timm_vision_transformer.Block(s[2], HEADS[s[2]], qkv_bias=True, init_values=1e-5,
                                                       fused_attn=False)), TOKENS,
         lambda s: encoder(*s, 4 * s[2], "mac.matmul")),
    # timm/models/swin_transformer.py
    Case("timm Swin WindowAttention (relative position bias)",
         lambda s: _eval(timm_swin_transformer.WindowAttention(s[2], HEADS[s[2]], window_size=math.isqrt(s[1]))),
         ((8, 16, 32), (4, 49, 48)), lambda s: mhsa(*s)),
    Case("timm Swin WindowAttention, fused",
         lambda s: _eval(timm_swin_transformer.WindowAttention(s[2], HEADS[s[2]], window_size=math.isqrt(s[1]),
                                                               fused_attn=True)),
         ((8, 16, 32), (4, 49, 48)), lambda s: mhsa(*s, products="mac.attention"), _sdpa_hidden),
    Case("timm SwinTransformerBlock W-MSA",
         lambda s: _eval(timm_swin_transformer.SwinTransformerBlock(s[3], s[1:3], HEADS[s[3]], window_size=4)),
         ((2, 8, 8, 32), (1, 12, 8, 48)), lambda s: swin_block(s, 4, 4 * s[3], "mac.matmul")),
    Case("timm SwinTransformerBlock SW-MSA (shifted windows)",
         lambda s: _eval(timm_swin_transformer.SwinTransformerBlock(s[3], s[1:3], HEADS[s[3]], window_size=4,
                                                                    shift_size=2)),
         ((2, 8, 8, 32), (1, 12, 8, 48)), lambda s: swin_block(s, 4, 4 * s[3], "mac.matmul")),
    Case("timm SwinTransformerBlock SW-MSA, padded to the window",
         lambda s: _eval(timm_swin_transformer.SwinTransformerBlock(s[3], s[1:3], HEADS[s[3]], window_size=4,
                                                                    shift_size=2)),
         ((1, 10, 10, 32), (2, 9, 11, 48)), lambda s: swin_block(s, 4, 4 * s[3], "mac.matmul")),
    Case("timm SwinTransformerBlock SW-MSA, fused",
         lambda s: _eval(timm_swin_transformer.SwinTransformerBlock(s[3], s[1:3], HEADS[s[3]], window_size=7,
                                                                    shift_size=3, fused_attn=True)),
         ((1, 14, 14, 32), (2, 7, 14, 48)), lambda s: swin_block(s, 7, 4 * s[3], "mac.attention"),
         _swin_hidden(7)),
    # timm/layers/cbam.py, eca.py, global_context.py
    Case("timm CbamModule", lambda s: _eval(timm_cbam.CbamModule(s[1])), IMAGES,
         lambda s: cbam_macs(s, timm_rd(s[1], 1 / 16), "mac.conv")),
    Case("timm EcaModule", lambda s: _eval(timm_eca.EcaModule(s[1])), ((2, 64, 9, 7), (1, 256, 7, 7)),
         lambda s: {"mac.conv": s[0] * s[1] * eca_kernel(s[1])}),
    Case("timm GlobalContext", lambda s: _eval(timm_global_context.GlobalContext(s[1])), IMAGES,
         lambda s: gc_macs(s, timm_rd(s[1], 1 / 8), fusions=1)),
    # Jongchan/attention-module
    Case("CBAM (official)", lambda s: _eval(jongchan_cbam.CBAM(s[1])), IMAGES,
         lambda s: cbam_macs(s, s[1] // 16, "mac.linear")),
    Case("BAM (official)", lambda s: _eval(jongchan_bam.BAM(s[1])), ((2, 64, 8, 8), (1, 32, 14, 14)), bam_macs),
    # BangguWu/ECANet
    Case("ECA (official)", lambda s: _eval(ecanet_eca.eca_layer(s[1], k_size=3 if s[1] < 256 else 5)),
         ((2, 64, 9, 7), (1, 256, 7, 7)), lambda s: {"mac.conv": s[0] * s[1] * (3 if s[1] < 256 else 5)}),
    # xvjiarui/GCNet
    Case("GC ContextBlock (official), att + channel_add",
         lambda s: _eval(gcnet_context_block.ContextBlock(s[1], 1 / 16)), IMAGES,
         lambda s: gc_macs(s, s[1] // 16, fusions=1)),
    Case("GC ContextBlock (official), avg + channel_mul + channel_add",
         lambda s: _eval(gcnet_context_block.ContextBlock(s[1], 1 / 4, pooling_type='avg',
                                                          fusion_types=('channel_add', 'channel_mul'))), IMAGES,
         lambda s: gc_macs(s, s[1] // 4, fusions=2, attention_pooling=False)),
    # speedinghzl/CCNet
    Case("CCNet CrissCrossAttention (official)", lambda s: _eval(ccnet_criss_cross.CrissCrossAttention(s[1])),
         ((2, 64, 9, 7), (1, 32, 12, 12)), criss_cross_macs),
    Case("CCNet RCCA recurrence 2 (official)", lambda s: _eval(ccnet_criss_cross.Recurrent(s[1], 2)),
         ((2, 64, 9, 7), (1, 32, 12, 12)), lambda s: {k: 2 * v for k, v in criss_cross_macs(s).items()}),
    # junfu1115/DANet
    Case("DANet PAM_Module (official)", lambda s: _eval(danet_attention.PAM_Module(s[1])),
         ((2, 64, 9, 7), (1, 32, 12, 12)), pam_macs),
    Case("DANet CAM_Module (official)", lambda s: _eval(danet_attention.CAM_Module(s[1])),
         ((2, 64, 9, 7), (1, 32, 12, 12)), cam_macs),
    Case("DANetHead (official)", lambda s: _eval(FirstOutput(danet_attention.DANetHead(s[1], 5))),
         ((1, 64, 9, 7), (2, 32, 8, 8)), lambda s: danet_head_macs(s, 5)),
    # AlexHex7/Non-local_pytorch
    Case("Non-local embedded Gaussian 2D (official)",
         lambda s: _eval(nonlocal_embedded_gaussian.NONLocalBlock2D(s[1])), ((2, 64, 8, 6), (1, 32, 9, 7)),
         nonlocal_macs),
    # torch.nn.MultiheadAttention
    Case("nn.MultiheadAttention eval (fast path)",
         lambda s: _eval(SelfAttention(nn.MultiheadAttention(s[2], HEADS[s[2]], batch_first=True))), TOKENS,
         lambda s: mhsa(*s, products="mac.attention"), _all(lambda s: mhsa(*s, products="mac.attention"))),
    Case("nn.MultiheadAttention eval (fast path), need_weights=False",
         lambda s: _eval(SelfAttention(nn.MultiheadAttention(s[2], HEADS[s[2]], batch_first=True),
                                       need_weights=False)), TOKENS,
         lambda s: mhsa(*s, products="mac.attention"), _all(lambda s: mhsa(*s, products="mac.attention"))),
    # an odd number of heads turns the fast path off ("num_head is odd"): eval runs the Python path
    Case("nn.MultiheadAttention eval, odd heads (no fast path; weights: bmm)",
         lambda s: _eval(SelfAttention(nn.MultiheadAttention(s[2], 3, batch_first=True))), ODD_HEADS,
         lambda s: mhsa(*s)),
    Case("nn.MultiheadAttention train (weights: bmm)",
         lambda s: _train(SelfAttention(nn.MultiheadAttention(s[2], HEADS[s[2]], batch_first=True))), TOKENS,
         lambda s: mhsa(*s)),
    Case("nn.MultiheadAttention train, need_weights=False (SDPA)",
         lambda s: _train(SelfAttention(nn.MultiheadAttention(s[2], HEADS[s[2]], batch_first=True),
                                        need_weights=False)), TOKENS,
         lambda s: mhsa(*s, products="mac.attention"), _sdpa_hidden),
    # torch.nn.TransformerEncoderLayer
    Case("nn.TransformerEncoderLayer eval (fast path)",
         lambda s: _eval(nn.TransformerEncoderLayer(s[2], HEADS[s[2]], 2 * s[2], batch_first=True)), TOKENS,
         lambda s: encoder(*s, 2 * s[2], "mac.attention"),
         _all(lambda s: encoder(*s, 2 * s[2], "mac.attention"))),
    Case("nn.TransformerEncoderLayer eval (fast path), GELU, norm_first",
         lambda s: _eval(nn.TransformerEncoderLayer(s[2], HEADS[s[2]], 2 * s[2], activation="gelu", norm_first=True,
                                                    batch_first=True)), TOKENS,
         lambda s: encoder(*s, 2 * s[2], "mac.attention"),
         _all(lambda s: encoder(*s, 2 * s[2], "mac.attention"))),
    Case("nn.TransformerEncoderLayer eval, odd heads (no fast path; SDPA)",
         lambda s: _eval(nn.TransformerEncoderLayer(s[2], 3, 2 * s[2], batch_first=True)), ODD_HEADS,
         lambda s: encoder(*s, 2 * s[2], "mac.attention"), _sdpa_hidden),
    # dropout 0.1 (the default) reaches SDPA as dropout_p > 0: the CPU runs SDPA's math path (bmm, softmax,
    # dropout), which FlopCounterMode sees
    Case("nn.TransformerEncoderLayer train, dropout 0.1",
         lambda s: _train(nn.TransformerEncoderLayer(s[2], HEADS[s[2]], 2 * s[2], batch_first=True)), TOKENS,
         lambda s: encoder(*s, 2 * s[2], "mac.matmul")),
    Case("nn.TransformerEncoderLayer train, dropout 0 (SDPA)",
         lambda s: _train(nn.TransformerEncoderLayer(s[2], HEADS[s[2]], 2 * s[2], dropout=0.0, batch_first=True)),
         TOKENS, lambda s: encoder(*s, 2 * s[2], "mac.attention"), _sdpa_hidden),
]

PARAMS = [pytest.param(case, shape, id=f"{case.name} {'x'.join(map(str, shape))}")
          for case in CASES for shape in case.shapes]


@functools.lru_cache(maxsize=None)
def traced(case: Case, shape: tuple):
    """(module, input, cost, traced output shape, real output shape, unsupported ops), built once per pair."""
    torch.manual_seed(0)
    module = case.build(shape)
    x = torch.randn(shape)
    cost, out_shape, unsupported = trace_module(module, x, allow_unsupported=True)
    with torch.no_grad():
        real = module(x)
    return module, x, cost, tuple(int(v) for v in out_shape), tuple(real.shape), dict(unsupported)


def flopcounter_total(module, x) -> int:
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        module(x)
    return counter.get_total_flops()


@pytest.mark.parametrize("case, shape", PARAMS)
def test_params(case, shape):
    module, _, cost, out_shape, real_shape, _ = traced(case, shape)
    assert cost.params == sum(p.numel() for p in module.parameters())
    assert out_shape == real_shape


@pytest.mark.parametrize("case, shape", PARAMS)
def test_macs_by_hand(case, shape):
    cost = traced(case, shape)[2]
    expected = {kind: n for kind, n in case.macs(shape).items() if n}
    got = {kind: int(cost.counts[kind]) for kind in MAC_KINDS if cost.counts.get(kind, 0)}
    assert got == expected


@pytest.mark.parametrize("case, shape", PARAMS)
def test_macs_against_flopcounter(case, shape):
    module, x, cost = traced(case, shape)[:3]
    hidden = case.hidden(shape)
    assert flopcounter_total(module, x) == flops(cost, "flopcounter") - 2 * hidden
    assert hidden <= sum(case.macs(shape).values())


@pytest.mark.parametrize("case, shape", PARAMS)
def test_no_unknown_op(case, shape):
    assert traced(case, shape)[5] == {}
