"""Backward primitives: the aten ops autograd runs for ``loss.backward()`` on the CPU (torch 2.13).

Each forward op's derivative is written in PyTorch's ``tools/autograd/derivatives.yaml``; where it is
one fused aten op (``convolution_backward``, ``threshold_backward``, ``native_layer_norm_backward``,
...) that op is a primitive here, with its kinds, formula and aten binding, so the tracer counts a
backward pass with no op unknown. Derivatives written as ordinary forward ops (``mul``, ``sum``,
``expand``, ``mm``/``bmm``, ``new_zeros``, ``add`` for gradient accumulation) are counted by the
forward primitives unchanged. This file holds the products, activations, softmax, norms, dropout and
attention; pooling, interpolation and grid sampling are in :mod:`attncost.ops.backward_spatial`,
gradients of slices, indexing and gathers in :mod:`attncost.ops.backward_scatter`, and the plain ops
some derivatives call that no forward primitive covered (``sgn``, ``logical_and``, ``isnan``, ...) in
:mod:`attncost.ops.backward_pointwise`, and the losses a step ends with (forward and backward) in
:mod:`attncost.ops.backward_losses`. Every formula of the training contract is importable from
here.

Op kinds (the training contract): a matrix product keeps the kind of the forward op (a convolution's
grad-input and grad-weight products are ``mac.conv``, one MAC each per forward MAC, Goodfellow et al.,
*Deep Learning* §9.5); the grad-bias is a ``reduce.sum`` over the grad-output elements. The
elementwise derivative of an activation is ``elementwise.<name>_backward``, one count per grad-input
element, weight 1 under ``full`` like the forward activations; fvcore counts no backward op, so every
backward-only kind weighs 0 under ``fvcore``, and so under ``macs`` and ``flopcounter`` unless it is a
product FlopCounterMode counts.

FlopCounterMode's ``conv_backward_flop`` (torch/utils/flop_counter.py, torch 2.13) counts a grouped
convolution's grad-weight ``groups`` times over (its transposed shapes lose the group division; fixed
upstream in pytorch/pytorch#183405): attncost counts the exact products, so for ``groups > 1`` the
``flopcounter`` convention is below FlopCounterMode by 2·(groups - 1)·(the forward MACs) per
convolution whose weight needs a gradient (tests/ops/test_backward_flopcounter.py states it).
"""

from __future__ import annotations

from .attention import MAC_ATTENTION
from .conv import MAC_CONV
from .pointwise import ADD, EXP, MUL, REDUCE_SUM, SUB, WHERE, OpKind, elementwise
from .primitive import Aten, define, kind
from .shapes import numel
from .backward_losses import (binary_cross_entropy, binary_cross_entropy_backward,  # noqa: F401
                              binary_cross_entropy_with_logits, mse_loss, mse_loss_backward, nll_loss,
                              nll_loss_backward, smooth_l1_loss, smooth_l1_loss_backward, variance)
from .backward_pointwise import derivative_elementwise  # noqa: F401  (re-exported: the contract's one import)
from .backward_scatter import (col2im, embedding_backward, index_backward, index_put, scatter,  # noqa: F401
                               scatter_add, select_backward, slice_backward, diagonal_backward, unfold_backward)
from .backward_spatial import (adaptive_pool_backward, grid_sample_backward, interpolate_backward,  # noqa: F401
                               pad_backward, pool_backward)


def _arg(c, name: str, position: int, default=None):
    """A schema argument the caller may pass by keyword or by position."""
    if name in c.kwargs:
        return c.kwargs[name]
    return c.args[position] if len(c.args) > position else default


# -- convolution -----------------------------------------------------------------------------------

def _convolution_backward(c):
    """convolution_backward(grad_output, input, weight, bias_sizes, stride, padding, dilation,
    transposed, output_padding, groups, output_mask): grad_input, grad_weight, grad_bias by the mask."""
    grad_out, x, w = c.args[:3]
    mask = [bool(m) for m in c.args[10]]
    return conv_backward(c.shape(x), c.shape(w), c.shape(grad_out), grad_input=mask[0], grad_weight=mask[1],
                         grad_bias=mask[2], transposed=bool(c.args[7]))


@define("conv_backward", kinds=(MAC_CONV, REDUCE_SUM), aten=(Aten(("convolution_backward",), _convolution_backward),))
def conv_backward(x_shape, w_shape, out_shape, *, grad_input: bool, grad_weight: bool, grad_bias: bool,
                  transposed: bool = False) -> dict:
    """Gradients of a convolution of any dimensionality (shapes as in :func:`attncost.ops.conv.conv`).

    Every forward multiply-accumulate x[i]·w[j] -> y[k] has one in the input gradient
    (dx[i] += w[j]·dy[k], a transposed convolution of dy by w) and one in the weight gradient
    (dw[j] += x[i]·dy[k], a convolution of x by dy): each costs the forward MACs,
    N·Cout·∏out·(Cin/groups)·∏kernel (transposed: per input element). The bias gradient sums dy over
    the batch and spatial dims: one read per grad-output element."""
    forward_macs = numel(x_shape if transposed else out_shape) * numel(w_shape[1:])
    counts = {}
    products = forward_macs * (int(grad_input) + int(grad_weight))
    if products:
        counts[MAC_CONV.name] = products
    if grad_bias:
        counts[REDUCE_SUM.name] = numel(out_shape)
    return counts


# -- activations -----------------------------------------------------------------------------------

def _activation_backward_kind(name: str, derivative: str) -> OpKind:
    return kind(f"elementwise.{name}_backward", f"{name} derivative times the gradient: {derivative}",
                "grad-input elements", macs=0, fvcore=0, flopcounter=0, full=1)


# forward kind's short name -> (its backward kind, the aten op autograd runs for it)
_ACTIVATIONS = {
    "relu": ("threshold_backward", "g·(x > 0)"),
    "sigmoid": ("sigmoid_backward", "g·y·(1 - y)"),
    "tanh": ("tanh_backward", "g·(1 - y²)"),
    "gelu": ("gelu_backward", "g·(Φ(x) + x·φ(x)), or its tanh approximation"),
    "silu": ("silu_backward", "g·σ(x)·(1 + x·(1 - σ(x)))"),
    "hardsigmoid": ("hardsigmoid_backward", "g/6 inside (-3, 3), else 0"),
    "hardswish": ("hardswish_backward", "g·(2x + 3)/6 inside [-3, 3], g above, 0 below"),
    "hardtanh": ("hardtanh_backward", "g inside (min, max), else 0 (ReLU6 included)"),
    "leaky_relu": ("leaky_relu_backward", "g, or g·slope where x <= 0"),
    "softplus": ("softplus_backward", "g·σ(βx), g above the threshold"),
    "mish": ("mish_backward", "g·(tanh(sp(x)) + x·σ(x)·(1 - tanh²(sp(x))))"),
}
ACTIVATION_BACKWARD = {name: _activation_backward_kind(name, derivative)
                       for name, (_, derivative) in _ACTIVATIONS.items()}


def _activation_binding(name: str) -> Aten:
    backward_kind = ACTIVATION_BACKWARD[name]
    return Aten((_ACTIVATIONS[name][0],), lambda c: activation_backward(name, c.out_shape), (backward_kind,))


@define("activation_backward", kinds=tuple(ACTIVATION_BACKWARD.values()),
        aten=tuple(_activation_binding(name) for name in _ACTIVATIONS))
def activation_backward(forward_kind_name: str, shape) -> dict:
    """The elementwise derivative of an activation times the incoming gradient (the aten ops
    ``<name>_backward``, ReLU's ``threshold_backward``): one count per grad-input element.
    ``forward_kind_name`` is the forward kind's short name ("relu", "sigmoid", ...)."""
    if forward_kind_name not in ACTIVATION_BACKWARD:
        known = ", ".join(ACTIVATION_BACKWARD)
        raise ValueError(f"no backward kind for activation {forward_kind_name!r} (known: {known})")
    return {ACTIVATION_BACKWARD[forward_kind_name].name: numel(shape)}


# -- softmax ---------------------------------------------------------------------------------------

SOFTMAX_BACKWARD = kind("softmax.backward", "softmax gradient dx = y·(g - Σ g·y): a product, a sum, a subtract "
                        "and a product per element", "elements", macs=0, fvcore=0, flopcounter=0, full=4)
LOG_SOFTMAX_BACKWARD = kind("softmax.log_backward", "log-softmax gradient dx = g - exp(y)·Σ g: a sum, an exp, a "
                            "product and a subtract per element", "elements", macs=0, fvcore=0, flopcounter=0, full=4)


def _masked_softmax_backward(c):
    """_masked_softmax_backward(grad_output, output, mask, dim): the softmax gradient, then the
    masked positions set to 0 (one select per element)."""
    shape = c.shape(c.args[0])
    return {**softmax_backward(shape), **elementwise(WHERE, shape)}


@define("softmax_backward", kinds=(SOFTMAX_BACKWARD, LOG_SOFTMAX_BACKWARD),
        aten=(Aten(("_softmax_backward_data",), lambda c: softmax_backward(c.shape(c.args[0])), (SOFTMAX_BACKWARD,)),
              Aten(("_log_softmax_backward_data",), lambda c: softmax_backward(c.shape(c.args[0]), log=True),
                   (LOG_SOFTMAX_BACKWARD,)),
              Aten(("_masked_softmax_backward",), _masked_softmax_backward, (SOFTMAX_BACKWARD, WHERE))))
def softmax_backward(shape, log: bool = False) -> dict:
    """Gradient of softmax (``_softmax_backward_data``) or log-softmax (``_log_softmax_backward_data``)
    along one dim, from the saved output y: every element counted once (four ops each, see the kinds)."""
    return {(LOG_SOFTMAX_BACKWARD if log else SOFTMAX_BACKWARD).name: numel(shape)}


# -- normalisation ---------------------------------------------------------------------------------

_STATS_DERIVATIVE = ("dx = σ⁻¹·(ĝ - mean(ĝ) - x̂·mean(ĝ·x̂)), ĝ = g·γ: ĝ, x̂ = (x - μ)·σ⁻¹, ĝ·x̂, "
                     "two sums, x̂·mean, two subtracts, the scale: 10 per element")
NORM_BATCH_BACKWARD = kind("norm.batch_backward", f"batch-norm input gradient with batch statistics (training; "
                           f"instance norm runs as one): {_STATS_DERIVATIVE}", "elements of the input gradient",
                           macs=0, fvcore=0, flopcounter=0, full=10)
NORM_BATCH_INFERENCE_BACKWARD = kind("norm.batch_inference_backward", "batch-norm input gradient with running "
                                     "(frozen) statistics: dx = g·γσ⁻¹, one product per element",
                                     "elements of the input gradient", macs=0, fvcore=0, flopcounter=0, full=1)
NORM_LAYER_BACKWARD = kind("norm.layer_backward", f"layer-norm input gradient: {_STATS_DERIVATIVE}",
                           "elements of the input gradient", macs=0, fvcore=0, flopcounter=0, full=10)
NORM_GROUP_BACKWARD = kind("norm.group_backward", f"group-norm input gradient: {_STATS_DERIVATIVE}",
                           "elements of the input gradient", macs=0, fvcore=0, flopcounter=0, full=10)
NORM_AFFINE_BACKWARD = kind("norm.affine_backward", "a norm's weight and bias gradients, dγ = Σ g·x̂ and "
                            "dβ = Σ g (x̂ as the input gradient forms it): a product and two sums per element",
                            "elements reduced", macs=0, fvcore=0, flopcounter=0, full=3)
_NORM_BACKWARD = {"batch": NORM_BATCH_BACKWARD, "layer": NORM_LAYER_BACKWARD, "group": NORM_GROUP_BACKWARD}


def _mask(value) -> list[bool]:
    return [bool(m) for m in value]


def _batch_norm_backward(c):
    """native_batch_norm_backward(grad_out, input, weight, running_mean, running_var, save_mean,
    save_invstd, train, eps, output_mask)."""
    mask = _mask(c.args[9])
    return norm_backward("batch", c.shape(c.args[1]), c.args[2] is not None, grad_input=mask[0],
                         grad_affine=mask[1] or mask[2], batch_stats=bool(c.args[7]))


def _layer_norm_backward(c):
    """native_layer_norm_backward(grad_out, input, normalized_shape, mean, rstd, weight, bias, output_mask)."""
    mask = _mask(c.args[7])
    affine = c.args[5] is not None or c.args[6] is not None
    return norm_backward("layer", c.shape(c.args[1]), affine, grad_input=mask[0], grad_affine=mask[1] or mask[2])


def _group_norm_backward(c):
    """native_group_norm_backward(grad_out, input, mean, rstd, weight, N, C, HxW, group, output_mask)."""
    mask = _mask(c.args[9])
    return norm_backward("group", c.shape(c.args[1]), c.args[4] is not None, grad_input=mask[0],
                         grad_affine=mask[1] or mask[2])


@define("norm_backward", kinds=(NORM_BATCH_BACKWARD, NORM_BATCH_INFERENCE_BACKWARD, NORM_LAYER_BACKWARD,
                                NORM_GROUP_BACKWARD, NORM_AFFINE_BACKWARD),
        aten=(Aten(("native_batch_norm_backward",), _batch_norm_backward,
                   (NORM_BATCH_BACKWARD, NORM_BATCH_INFERENCE_BACKWARD, NORM_AFFINE_BACKWARD)),
              Aten(("native_layer_norm_backward",), _layer_norm_backward, (NORM_LAYER_BACKWARD, NORM_AFFINE_BACKWARD)),
              Aten(("native_group_norm_backward",), _group_norm_backward, (NORM_GROUP_BACKWARD, NORM_AFFINE_BACKWARD))))
def norm_backward(forward_kind_name: str, x_shape, affine: bool, *, grad_input: bool = True, grad_affine: bool = True,
                  batch_stats: bool = True) -> dict:
    """Gradients of batch, layer or group norm (``forward_kind_name`` "batch", "layer", "group") on
    an input of ``x_shape``: the input gradient (every element; Ioffe & Szegedy 2015, §3, for batch
    statistics; layer and group norm differ only in the axes reduced) and, if affine, the weight and
    bias gradients (every element reduced). ``batch_stats=False``: batch norm with running statistics
    (eval mode, frozen), whose input gradient is one product per element."""
    if forward_kind_name not in _NORM_BACKWARD:
        raise ValueError(f"no backward kind for norm {forward_kind_name!r} (known: {', '.join(_NORM_BACKWARD)})")
    counts = {}
    if grad_input:
        input_kind = _NORM_BACKWARD[forward_kind_name]
        if forward_kind_name == "batch" and not batch_stats:
            input_kind = NORM_BATCH_INFERENCE_BACKWARD
        counts[input_kind.name] = numel(x_shape)
    if affine and grad_affine:
        counts[NORM_AFFINE_BACKWARD.name] = numel(x_shape)
    return counts


# -- dropout ---------------------------------------------------------------------------------------

@define("dropout_backward", kinds=(MUL,), aten=(Aten(("native_dropout_backward",),
                                                     lambda c: dropout_backward(c.shape(c.args[0]))),))
def dropout_backward(shape) -> dict:
    """native_dropout_backward(grad, mask, scale) = grad·mask·scale: two products per element. (The
    CPU's F.dropout is bernoulli_, div_ and mul, whose backward is one ``mul``, counted as such.)"""
    return {MUL.name: 2 * numel(shape)}


# -- attention -------------------------------------------------------------------------------------

def _flash_cpu_backward(c):
    """_scaled_dot_product_flash_attention_for_cpu_backward(grad_out, query, key, value, out,
    logsumexp, dropout_p, is_causal, *, attn_mask=None, scale=None)."""
    grad_out, q, k, v = c.args[:4]
    return sdpa_backward(c.shape(q), c.shape(k), c.shape(v), c.shape(grad_out),
                         additive_mask=c.is_tensor(c.kwargs.get("attn_mask")),
                         causal=bool(_arg(c, "is_causal", 7, False)), dropout=bool(_arg(c, "dropout_p", 6, 0.0)))


@define("sdpa_backward", kinds=(MAC_ATTENTION, MUL, SUB, EXP, ADD, WHERE, REDUCE_SUM),
        aten=(Aten(("_scaled_dot_product_flash_attention_for_cpu_backward",), _flash_cpu_backward),))
def sdpa_backward(q_shape, k_shape, v_shape, out_shape, *, additive_mask: bool = False, causal: bool = False,
                  dropout: bool = False) -> dict:
    """Gradients of softmax(QKᵀ·scale + mask)·V for q (..., Hq, L, E), k (..., Hkv, S, E),
    v (..., Hkv, S, Ev), out (..., Hq, L, Ev), as a flash kernel computes them (Dao, FlashAttention-2,
    2023, Algorithm 2; the CPU kernel, aten/src/ATen/native/cpu/FlashAttentionKernel.cpp, follows it).

    Products: the logits recomputed (QKᵀ, L·S·E), dP = dO·Vᵀ (L·S·Ev), dV = Pᵀ·dO (S·L·Ev),
    dQ = dS·K (L·S·E), dK = dSᵀ·Q (S·L·E): B·Hq·L·S·(3E + 2Ev) MACs, FlopCounterMode's
    ``sdpa_backward_flop_count`` halved. Per logit: the scale, P = exp(S - lse) (a subtract and an exp),
    dS = P·(dP - D) (a subtract and a product) and its scale; a mask adds one add, a causal mask one
    select, dropout one product. D = rowsum(dO·O): a product and a sum per output element."""
    logits = numel(q_shape[:-1]) * k_shape[-2]
    outputs = numel(out_shape)
    counts = {MAC_ATTENTION.name: logits * (3 * q_shape[-1] + 2 * v_shape[-1]),
              MUL.name: 3 * logits + outputs, SUB.name: 2 * logits, EXP.name: logits, REDUCE_SUM.name: outputs}
    if additive_mask:
        counts[ADD.name] = logits
    if causal:
        counts[WHERE.name] = logits
    if dropout:
        counts[MUL.name] += logits
    return counts
