"""Fused attention primitives: the ops PyTorch runs when it writes attention for you.

``F.scaled_dot_product_attention`` reaches aten as one fused op (``_scaled_dot_product_flash_attention_for_cpu``
on the CPU; flash, memory-efficient or cuDNN kernels on a GPU), ``nn.MultiheadAttention`` in eval mode
as ``_native_multi_head_attention`` and ``nn.TransformerEncoderLayer`` as
``_transformer_encoder_layer_fwd``. Counters that see only the op count 0 for them
(FlopCounterMode has formulas for the GPU kernels only, fvcore for none). Each is counted here as
what the op computes, with Vaswani et al. (NeurIPS 2017) Eq. 1, softmax(QKᵀ·scale + mask)·V:

- ``mac.attention``: QKᵀ and attention·V, B·Hq·L·S·(E + Ev) MACs (FlopCounterMode's ``sdpa_flop_count``
  counts 2 per MAC of the same two products; grouped-query attention counts the query heads);
- the scale, one multiply per logit (B·Hq·L·S); an additive mask or bias, one add per logit; a
  causal mask, one select per logit; dropout, one multiply per logit; softmax over every logit.

Causal masks follow the dense convention of FlopCounterMode: the op is counted as computing every
logit of the L×S map and masking the upper triangle (flash kernels skip fully masked blocks, so a
causal op does about half this work in practice). A boolean ``attn_mask`` reaches the fused op as an
additive one (SDPA converts it with an ``aten.where`` that the tracer counts on its own).

The multi-head ops add what their CPU kernels run around the attention, read off the aten ops they
call in torch 2.13 (the profiler shows them; tests/ops/test_attention_primitives.py checks against
it): the packed QKV projection (B·T·D·3D MACs), bias add and query rescale
(``_transform_bias_rescale_qkv``: B·T·3D adds, B·T·D multiplies), the two batched products, softmax
(masked: one select per logit), the head merge copy and the output projection; with ``need_weights``
and averaged weights, a sum over heads and a divide.

Memory: the tracer counts the op's outputs; buffers a fused kernel allocates and frees inside itself
(the attention map of ``_native_multi_head_attention`` among them) are not activations by attncost's
definition (docs/CONVENTIONS.md, "Memory").
"""

from __future__ import annotations

from .conv import BIAS_ADD, MAC_LINEAR
from .pointwise import (ADD, COPY_KIND, DIV, GELU, MUL, NORM_AFFINE, NORM_LAYER, REDUCE_SUM, RELU, SOFTMAX_KIND,
                        WHERE)
from .primitive import Aten, define, kind
from .shapes import numel

MAC_ATTENTION = kind("mac.attention", "QKᵀ and attention·V multiply-accumulates inside a fused attention op",
                     "B·Hq·L·S·(E + Ev)", macs=1, fvcore=0, flopcounter=2, full=2)


def _bhle(shape):
    """A (B, L, H, E) shape (the flash/efficient kernels' layout) as (B, H, L, E)."""
    b, length, heads, e = shape
    return (b, heads, length, e)


def _kwarg_or_position(name, position):
    """Schema arguments that may come as keywords (the tracer sees what the caller passed)."""
    def spec(c):
        return c.kwargs[name] if name in c.kwargs else (c.args[position] if len(c.args) > position else None)
    return spec


def _flash_cpu(c):
    """_scaled_dot_product_flash_attention_for_cpu(q, k, v, dropout_p=0, is_causal=False, *, attn_mask, scale)."""
    q, k, v = (c.shape(t) for t in c.args[:3])
    dropout = _kwarg_or_position("dropout_p", 3)(c) or 0.0
    causal = _kwarg_or_position("is_causal", 4)(c) or False
    return scaled_dot_product_attention(q, k, v, additive_mask=c.is_tensor(c.kwargs.get("attn_mask")),
                                        causal=bool(causal), dropout=bool(dropout))


def _flash_sdpa(c):
    """_scaled_dot_product_flash_attention(q, k, v, dropout_p=0, is_causal=False, return_debug_mask, *, scale)."""
    q, k, v = (c.shape(t) for t in c.args[:3])
    dropout = _kwarg_or_position("dropout_p", 3)(c) or 0.0
    causal = _kwarg_or_position("is_causal", 4)(c) or False
    return scaled_dot_product_attention(q, k, v, additive_mask=False, causal=bool(causal), dropout=bool(dropout))


def _with_bias(dropout_at, causal_at, blhe=False):
    """Schemas (q, k, v, attn_bias, ...): efficient and cuDNN SDPA, efficient_attention_forward."""
    def counts(c):
        shapes = [c.shape(t) for t in c.args[:3]]
        if blhe:
            shapes = [_bhle(s) for s in shapes]
        dropout = _kwarg_or_position("dropout_p", dropout_at)(c) or 0.0
        causal = _kwarg_or_position("is_causal", causal_at)(c) or False
        bias = _kwarg_or_position("attn_bias", 3)(c)
        return scaled_dot_product_attention(*shapes, additive_mask=c.is_tensor(bias), causal=bool(causal),
                                            dropout=bool(dropout))
    return counts


def _efficient_forward(c):
    """_efficient_attention_forward(q, k, v, bias, cu_seqlens_q, cu_seqlens_k, max_q, max_k, dropout_p,
    custom_mask_type, ...): (B, M, H, K) layout; custom_mask_type 1 or 2 is a causal mask."""
    shapes = [_bhle(c.shape(t)) for t in c.args[:3]]
    return scaled_dot_product_attention(*shapes, additive_mask=c.is_tensor(c.args[3]),
                                        causal=int(c.args[9]) != 0, dropout=bool(c.args[8]))


def _flash_forward(c):
    """_flash_attention_forward(q, k, v, cum_seq_q, cum_seq_k, max_q, max_k, dropout_p, is_causal, ...):
    (B, L, H, E) layout, no mask argument."""
    shapes = [_bhle(c.shape(t)) for t in c.args[:3]]
    return scaled_dot_product_attention(*shapes, additive_mask=False, causal=bool(c.args[8]),
                                        dropout=bool(c.args[7]))


@define("scaled_dot_product_attention", kinds=(MAC_ATTENTION, MUL, ADD, WHERE, SOFTMAX_KIND),
        aten=(Aten(("_scaled_dot_product_flash_attention_for_cpu",), _flash_cpu),
              Aten(("_scaled_dot_product_flash_attention",), _flash_sdpa),
              Aten(("_scaled_dot_product_fused_attention_overrideable",), _with_bias(4, 5)),
              Aten(("_scaled_dot_product_efficient_attention",), _with_bias(5, 6)),
              Aten(("_scaled_dot_product_cudnn_attention",), _with_bias(5, 6)),
              Aten(("_efficient_attention_forward",), _efficient_forward),
              Aten(("_flash_attention_forward",), _flash_forward)))
def scaled_dot_product_attention(q_shape, k_shape, v_shape, *, additive_mask: bool, causal: bool,
                                 dropout: bool) -> dict:
    """softmax(Q Kᵀ · scale + mask) V on q (..., Hq, L, E), k (..., Hkv, S, E), v (..., Hkv, S, Ev),
    Hq a multiple of Hkv (grouped-query attention): counts per logit B·Hq·L·S (module docstring)."""
    logits = numel(q_shape[:-1]) * k_shape[-2]
    counts = {MAC_ATTENTION.name: logits * (q_shape[-1] + v_shape[-1]), MUL.name: logits,
              SOFTMAX_KIND.name: logits}
    if additive_mask:
        counts[ADD.name] = logits
    if causal:
        counts[WHERE.name] = logits
    if dropout:
        counts[MUL.name] += logits
    return counts




def _native_mha(c):
    """_native_multi_head_attention(query, key, value, embed_dim, num_head, qkv_weight, qkv_bias,
    proj_weight, proj_bias, mask=None, need_weights=True, average_attn_weights=True, mask_type=None)."""
    query, key, value = c.args[:3]
    arg = lambda name, position, default: c.kwargs.get(name, c.args[position] if len(c.args) > position else default)
    return native_multi_head_attention(
        c.shape(query), int(c.args[4]), packed=query is key and key is value,
        mask=c.is_tensor(arg("mask", 9, None)), need_weights=bool(arg("need_weights", 10, True)),
        average_weights=bool(arg("average_attn_weights", 11, True)))


@define("native_multi_head_attention",
        kinds=(MAC_LINEAR, BIAS_ADD, MUL, MAC_ATTENTION, SOFTMAX_KIND, WHERE, COPY_KIND, REDUCE_SUM, DIV),
        aten=(Aten(("_native_multi_head_attention",), _native_mha),))
def native_multi_head_attention(x_shape, heads, *, packed: bool, mask: bool, need_weights: bool,
                                average_weights: bool) -> dict:
    """nn.MultiheadAttention's fast path on x (B, T, D), self-attention (query, key and value of one
    shape): QKV projection (one packed product when query, key and value are one tensor, else three
    products and a concatenation), bias add and query rescale, QKᵀ and AV, softmax (masked: a select
    per logit), head merge copy, output projection; averaged weights: a sum over heads and a divide."""
    b, t, d = x_shape
    tokens, logits = b * t, b * heads * t * t
    # merging heads, (B, H, T, dh) -> (B, T, H, dh), copies unless one of H and T is 1 (already contiguous)
    merge = 0 if heads == 1 or t == 1 else tokens * d
    counts = {MAC_LINEAR.name: tokens * d * 3 * d + tokens * d * d, BIAS_ADD.name: tokens * 3 * d + tokens * d,
              MUL.name: tokens * d, MAC_ATTENTION.name: 2 * logits * (d // heads), SOFTMAX_KIND.name: logits,
              COPY_KIND.name: merge if packed else merge + tokens * 3 * d}
    if mask:
        counts[WHERE.name] = logits
    if need_weights and average_weights:
        counts[REDUCE_SUM.name] = logits
        counts[DIV.name] = b * t * t
    return counts


def _encoder_layer(c):
    """_transformer_encoder_layer_fwd(src, embed_dim, num_heads, qkv_weight, qkv_bias, proj_weight,
    proj_bias, use_gelu, norm_first, eps, norm_weight_1, norm_bias_1, norm_weight_2, norm_bias_2,
    ffn_weight_1, ffn_bias_1, ffn_weight_2, ffn_bias_2, mask=None, mask_type=None)."""
    mask = c.kwargs.get("mask", c.args[18] if len(c.args) > 18 else None)
    return transformer_encoder_layer(c.shape(c.args[0]), int(c.args[2]), c.shape(c.args[14])[0],
                                     gelu=bool(c.args[7]), mask=c.is_tensor(mask))


@define("transformer_encoder_layer",
        kinds=(MAC_LINEAR, BIAS_ADD, MUL, MAC_ATTENTION, SOFTMAX_KIND, WHERE, COPY_KIND, ADD, NORM_LAYER, NORM_AFFINE,
               RELU, GELU),
        aten=(Aten(("_transformer_encoder_layer_fwd",), _encoder_layer),))
def transformer_encoder_layer(x_shape, heads, hidden, *, gelu: bool, mask: bool) -> dict:
    """nn.TransformerEncoderLayer's fast path on x (B, T, D): the multi-head attention above (packed,
    no weights), two residual adds, two affine layer norms, and the feed-forward D -> hidden -> D with
    a ReLU or GELU (norm_first changes the order, not the counts)."""
    b, t, d = x_shape
    tokens = b * t
    counts = native_multi_head_attention(x_shape, heads, packed=True, mask=mask, need_weights=False,
                                         average_weights=False)
    counts[MAC_LINEAR.name] += tokens * d * hidden * 2
    counts[BIAS_ADD.name] += tokens * hidden + tokens * d
    counts[ADD.name] = 2 * tokens * d
    counts[NORM_LAYER.name] = 2 * tokens * d
    counts[NORM_AFFINE.name] = 2 * tokens * d
    counts[(GELU if gelu else RELU).name] = tokens * hidden
    return counts
