"""Training coverage: every forward primitive with aten bindings, run forward and backward under the
CostTracer, leaves no op unsupported.

Each case is a small forward that runs one of the primitive's aten ops (checked: the op really runs
in the forward phase) on tensors that need gradients, then ``backward()``; the tracer must know
every aten op of both phases. ``attncost.ops`` is read only to list the primitives, so a new forward
primitive without a case here fails ``test_every_forward_primitive_has_a_training_case``.

Forward ops whose backward torch 2.13 does not implement on the CPU are listed in
``NO_CPU_BACKWARD`` with the reason, and the test proves the reason: the inference fast paths of
``nn.MultiheadAttention`` and ``nn.TransformerEncoderLayer`` have no derivative (autograd refuses
them, and the modules take their composite path, covered here, whenever a gradient is needed); the
GPU attention kernels do not run on the CPU at all.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.attention import SDPBackend, sdpa_kernel

from attncost import ops

from backward_run import run_backward

aten = torch.ops.aten


def leaf(*shape):
    return torch.randn(*shape, requires_grad=True)


def x4():
    return leaf(2, 3, 6, 6)


_MHA = nn.MultiheadAttention(8, 2, batch_first=True)
_ENCODER = nn.TransformerEncoderLayer(8, 2, 16, batch_first=True, dropout=0.0)
_BN = nn.BatchNorm2d(3)
_LN = nn.LayerNorm(6)
_GN = nn.GroupNorm(3, 3)
_LINEAR = nn.Linear(6, 5)
_CONV = nn.Conv2d(3, 4, 3, groups=1)
_EMBED = nn.Embedding(10, 4)


def _mha():
    t = leaf(2, 5, 8)
    return _MHA(t, t, t)[0]


def _sdpa_flash():
    with sdpa_kernel(SDPBackend.FLASH_ATTENTION):
        return F.scaled_dot_product_attention(leaf(2, 3, 5, 4), leaf(2, 3, 6, 4), leaf(2, 3, 6, 4),
                                              attn_mask=torch.randn(5, 6))


def _index_assign():
    t = x4() * 1
    t[torch.rand(2, 3, 6, 6) > 0.5] = 0.0
    return t


# case name -> (an aten packet the forward must run, the forward)
CASES = {
    "add": (aten.add, lambda: x4() + leaf(3, 1, 1)), "add_": (aten.add_, lambda: (x4() * 1).add_(x4())),
    "sub": (aten.sub, lambda: x4() - leaf(3, 1, 1)), "rsub": (aten.rsub, lambda: 1 - x4()),
    "mul": (aten.mul, lambda: x4() * leaf(6)), "mul_": (aten.mul_, lambda: (x4() * 1).mul_(2.0)),
    "div": (aten.div, lambda: x4() / (leaf(3, 1, 1).exp())), "div_": (aten.div_, lambda: (x4() * 1).div_(3.0)),
    "neg": (aten.neg, lambda: -x4()), "relu": (aten.relu, lambda: F.relu(x4())),
    "relu_": (aten.relu_, lambda: F.relu(x4() * 1, inplace=True)), "sigmoid": (aten.sigmoid, lambda: x4().sigmoid()),
    "sigmoid_": (aten.sigmoid_, lambda: (x4() * 1).sigmoid_()),
    "hardsigmoid": (aten.hardsigmoid, lambda: F.hardsigmoid(x4())),
    "hardtanh": (aten.hardtanh, lambda: F.hardtanh(x4())),
    "hardtanh_": (aten.hardtanh_, lambda: F.relu6(x4() * 1, True)),
    "tanh": (aten.tanh, lambda: x4().tanh()), "exp": (aten.exp, lambda: x4().exp()),
    "gelu": (aten.gelu, lambda: F.gelu(x4(), approximate="tanh")), "silu": (aten.silu, lambda: F.silu(x4())),
    "silu_": (aten.silu_, lambda: F.silu(x4() * 1, inplace=True)), "sqrt": (aten.sqrt, lambda: (x4().exp()).sqrt()),
    "rsqrt": (aten.rsqrt, lambda: x4().exp().rsqrt()), "pow": (aten.pow, lambda: x4().exp() ** 1.5),
    "where": (aten.where, lambda: torch.where(torch.rand(6) > 0.5, x4(), x4())),
    "masked_fill": (aten.masked_fill, lambda: x4().masked_fill(torch.rand(6, 6) > 0.5, 0.0)),
    "maximum": (aten.maximum, lambda: torch.maximum(x4(), x4())),
    "minimum": (aten.minimum, lambda: torch.minimum(x4(), x4())),
    "tril": (aten.tril, lambda: x4().tril()), "triu": (aten.triu, lambda: x4().triu(1)),
    "leaky_relu": (aten.leaky_relu, lambda: F.leaky_relu(x4(), 0.1)),
    "hardswish": (aten.hardswish, lambda: F.hardswish(x4())), "abs": (aten.abs, lambda: x4().abs()),
    "erf": (aten.erf, lambda: x4().erf()), "softplus": (aten.softplus, lambda: F.softplus(x4())),
    "mish": (aten.mish, lambda: F.mish(x4())), "clamp": (aten.clamp, lambda: x4().clamp(-1, 1)),
    "clamp_min": (aten.clamp_min, lambda: x4().clamp_min(0.1)),
    "clamp_tensor": (aten.clamp, lambda: x4().clamp(min=leaf(3, 1, 1))),
    "compare": (aten.gt, lambda: x4() * (x4() > 0)),
    "bernoulli": (aten.bernoulli_, lambda: F.dropout(x4(), 0.5, True)),
    "mean": (aten.mean, lambda: x4().mean((2, 3), keepdim=True)), "mean_all": (aten.mean, lambda: x4().mean()),
    "sum": (aten.sum, lambda: x4().sum(1)), "amax": (aten.amax, lambda: x4().amax(1)),
    "max_dim": (aten.max, lambda: x4().max(1).values), "max_all": (aten.max, lambda: x4().max()),
    "min_dim": (aten.min, lambda: x4().min(2).values), "argmax": (aten.argmax, lambda: x4() * x4().argmax(1, True)),
    "vector_norm2": (aten.linalg_vector_norm, lambda: torch.linalg.vector_norm(x4(), dim=1)),
    "vector_norm1": (aten.linalg_vector_norm, lambda: torch.linalg.vector_norm(x4(), 1, dim=1)),
    "vector_norm_inf": (aten.linalg_vector_norm, lambda: torch.linalg.vector_norm(x4(), float("inf"), dim=1)),
    "vector_norm3": (aten.linalg_vector_norm, lambda: torch.linalg.vector_norm(x4(), 3, dim=1)),
    "normalize": (aten.linalg_vector_norm, lambda: F.normalize(x4(), dim=1)),
    "avg_pool2d": (aten.avg_pool2d, lambda: F.avg_pool2d(x4(), 3, 2, 1)),
    "max_pool2d": (aten.max_pool2d_with_indices, lambda: F.max_pool2d(x4(), 3, 2, 1)),
    "avg_pool3d": (aten.avg_pool3d, lambda: F.avg_pool3d(leaf(1, 2, 4, 4, 4), 2)),
    "max_pool3d": (aten.max_pool3d_with_indices, lambda: F.max_pool3d(leaf(1, 2, 4, 4, 4), 2)),
    "adaptive_avg_pool": (aten._adaptive_avg_pool2d, lambda: F.adaptive_avg_pool2d(x4(), 4)),
    "adaptive_max_pool2d": (aten.adaptive_max_pool2d, lambda: F.adaptive_max_pool2d(x4(), 4)),
    "adaptive_max_pool3d": (aten.adaptive_max_pool3d, lambda: F.adaptive_max_pool3d(leaf(1, 2, 4, 4, 4), 3)),
    "softmax": (aten._softmax, lambda: x4().softmax(1)),
    "log_softmax": (aten._log_softmax, lambda: x4().log_softmax(1)),
    "masked_softmax": (aten._masked_softmax, lambda: torch._masked_softmax(x4(), torch.rand(2, 3, 6, 6) > 0.5, 1, 0)),
    "batch_norm": (aten.native_batch_norm, lambda: _BN.train()(x4())),
    "instance_norm": (aten.native_batch_norm, lambda: F.instance_norm(x4())),
    "layer_norm": (aten.native_layer_norm, lambda: _LN(x4())),
    "group_norm": (aten.native_group_norm, lambda: _GN(x4())),
    "nearest": (aten.upsample_nearest2d, lambda: F.interpolate(x4(), scale_factor=2)),
    "bilinear": (aten.upsample_bilinear2d, lambda: F.interpolate(x4(), scale_factor=2, mode="bilinear")),
    "bicubic": (aten.upsample_bicubic2d, lambda: F.interpolate(x4(), size=(7, 9), mode="bicubic")),
    "cat": (aten.cat, lambda: torch.cat([x4(), x4()], 1)), "clone": (aten.clone, lambda: x4().clone()),
    "repeat": (aten.repeat, lambda: x4().repeat(1, 2, 1, 1)), "stack": (aten.stack, lambda: torch.stack([x4(), x4()])),
    "constant_pad": (aten.constant_pad_nd, lambda: F.pad(x4(), (1, 1, 2, 0))),
    "reflection_pad": (aten.reflection_pad2d, lambda: F.pad(x4(), (1, 1, 1, 1), mode="reflect")),
    "replication_pad": (aten.replication_pad2d, lambda: F.pad(x4(), (1, 1, 1, 1), mode="replicate")),
    "reflection_pad1d": (aten.reflection_pad1d, lambda: F.pad(leaf(2, 3, 6), (1, 2), mode="reflect")),
    "replication_pad3d": (aten.replication_pad3d, lambda: F.pad(leaf(1, 2, 3, 3, 3), (1,) * 6, mode="replicate")),
    "roll": (aten.roll, lambda: x4().roll(1, 2)), "flip": (aten.flip, lambda: x4().flip(2)),
    "pixel_shuffle": (aten.pixel_shuffle, lambda: F.pixel_shuffle(leaf(1, 8, 3, 3), 2)),
    "pixel_unshuffle": (aten.pixel_unshuffle, lambda: F.pixel_unshuffle(leaf(1, 2, 4, 4), 2)),
    "im2col": (aten.im2col, lambda: F.unfold(x4(), 3)),
    "index": (aten.index, lambda: x4()[:, torch.tensor([0, 2, 0])]),
    "index_put": (aten.index_put_, _index_assign),
    "gather": (aten.gather, lambda: x4().gather(1, torch.zeros(2, 1, 6, 6, dtype=torch.long))),
    "index_select": (aten.index_select, lambda: x4().index_select(1, torch.tensor([0, 0, 2]))),
    "embedding": (aten.embedding, lambda: _EMBED(torch.tensor([[1, 2, 1]]))),
    "diag": (aten.diagonal_copy, lambda: leaf(4, 4).diag()),
    "diag_embed": (aten.diag_embed, lambda: torch.diag_embed(leaf(2, 3))),
    "to_copy": (aten._to_copy, lambda: x4().double()),
    "dropout": (aten.native_dropout, lambda: torch.native_dropout(x4(), 0.3, True)[0]),
    "conv": (aten.convolution, lambda: _CONV(x4())),
    "conv_transpose": (aten.convolution, lambda: F.conv_transpose2d(x4(), leaf(3, 2, 3, 3), stride=2)),
    "bmm": (aten.bmm, lambda: torch.bmm(leaf(2, 3, 4), leaf(2, 4, 5))),
    "matmul4d": (aten.bmm, lambda: leaf(2, 3, 4, 5) @ leaf(2, 3, 5, 6)),
    "baddbmm": (aten.baddbmm, lambda: torch.baddbmm(leaf(2, 3, 5), leaf(2, 3, 4), leaf(2, 4, 5), alpha=0.5)),
    "linear": (aten.addmm, lambda: _LINEAR(leaf(4, 6))),
    "linear3d": (aten.mm, lambda: F.linear(leaf(2, 4, 6), leaf(5, 6))),
    "addmm_activations": (aten.addmm, lambda: torch.addmm(leaf(5), leaf(3, 4), leaf(4, 5))),
    "sdpa_flash": (aten._scaled_dot_product_flash_attention_for_cpu, _sdpa_flash),
    "sdpa_math": (aten._safe_softmax, lambda: F.scaled_dot_product_attention(
        leaf(2, 3, 5, 4), leaf(2, 3, 6, 4), leaf(2, 3, 6, 7), attn_mask=torch.rand(5, 6) > 0.3, dropout_p=0.2)),
    "multi_head_attention": (aten.bmm, _mha),
    "transformer_encoder_layer": (aten.native_layer_norm, lambda: _ENCODER(leaf(2, 5, 8))),
    "affine_grid": (aten.affine_grid_generator,
                    lambda: F.affine_grid(leaf(2, 2, 3), (2, 3, 5, 6), align_corners=False)),
    "grid_sample": (aten.grid_sampler_2d, lambda: F.grid_sample(x4(), leaf(2, 5, 6, 2).tanh(), align_corners=False)),
    "fold": (aten.col2im, lambda: F.fold(leaf(2, 12, 9), (4, 4), 2)),
    "slice_scatter": (aten.slice_scatter, lambda: torch.slice_scatter(x4(), leaf(2, 3, 2, 6), 2, 0, 2)),
    "cross_entropy": (aten.nll_loss_forward, lambda: F.cross_entropy(leaf(4, 5), torch.tensor([0, 1, 4, 3]))),
    "cross_entropy2d": (aten.nll_loss2d_forward, lambda: F.cross_entropy(x4(), torch.zeros(2, 6, 6, dtype=torch.long),
                                                                        label_smoothing=0.1)),
    "mse_loss": (aten.mse_loss, lambda: F.mse_loss(x4(), torch.zeros(2, 3, 6, 6))),
    "smooth_l1_loss": (aten.smooth_l1_loss, lambda: F.smooth_l1_loss(x4(), torch.zeros(2, 3, 6, 6))),
    "l1_loss": (aten.abs, lambda: F.l1_loss(x4(), torch.zeros(2, 3, 6, 6))),
    "bce": (aten.binary_cross_entropy, lambda: F.binary_cross_entropy(x4().sigmoid(), torch.full((2, 3, 6, 6), 0.5))),
    "bce_logits": (aten.binary_cross_entropy_with_logits,
                   lambda: F.binary_cross_entropy_with_logits(x4(), torch.full((2, 3, 6, 6), 0.5))),
    "var": (aten.var, lambda: x4().var(1)), "std": (aten.std, lambda: x4().std((2, 3))),
    "randint_labels": (aten.randint, lambda: F.cross_entropy(leaf(4, 5), torch.randint(0, 5, (4,)))),
}

# forward primitive -> the cases that train it
PRIMITIVE_CASES = {
    "elementwise": ["add", "add_", "sub", "rsub", "mul", "mul_", "div", "div_", "neg", "relu", "relu_", "sigmoid",
                    "sigmoid_", "hardsigmoid", "hardtanh", "hardtanh_", "tanh", "exp", "gelu", "silu", "silu_",
                    "sqrt", "rsqrt", "pow", "where", "masked_fill", "maximum", "minimum", "tril", "triu",
                    "leaky_relu", "hardswish", "abs", "erf", "softplus", "mish", "clamp", "clamp_min",
                    "clamp_tensor", "compare", "bernoulli"],
    "reduce": ["mean", "mean_all", "sum", "amax", "max_dim", "max_all", "min_dim", "argmax"],
    "vector_norm": ["vector_norm2", "vector_norm1", "vector_norm_inf", "vector_norm3", "normalize"],
    "pool": ["avg_pool2d", "max_pool2d", "avg_pool3d", "max_pool3d"],
    "adaptive_avg_pool": ["adaptive_avg_pool"],
    "adaptive_max_pool": ["adaptive_max_pool2d", "adaptive_max_pool3d"],
    "softmax": ["softmax", "masked_softmax", "sdpa_math"], "log_softmax": ["log_softmax"],
    "norm": ["batch_norm", "instance_norm", "layer_norm", "group_norm"],
    "interpolate": ["nearest", "bilinear", "bicubic"],
    "copy": ["cat", "clone", "repeat", "stack", "constant_pad", "reflection_pad", "replication_pad",
             "reflection_pad1d", "replication_pad3d", "roll", "flip", "pixel_shuffle", "pixel_unshuffle", "im2col",
             "index", "gather", "index_select", "embedding", "diag_embed", "to_copy"],
    "dropout": ["dropout"], "conv": ["conv", "conv_transpose"], "matmul": ["bmm", "matmul4d"], "baddbmm": ["baddbmm"],
    "linear": ["linear", "linear3d", "addmm_activations", "multi_head_attention"],
    "scaled_dot_product_attention": ["sdpa_flash"],
    "affine_grid": ["affine_grid"], "grid_sample": ["grid_sample"],
    # ops some derivatives run that are forward ops too
    "derivative_elementwise": ["abs", "clamp", "max_all", "vector_norm3", "l1_loss", "randint_labels"],
    "copy_ops_of_backward": ["diag", "slice_scatter"], "col2im": ["fold", "im2col"],
    "index_put": ["index_put", "index"],
    "scatter": ["max_dim"], "scatter_add": ["gather", "index_select"],
    # losses and variances (forward and backward)
    "nll_loss": ["cross_entropy", "cross_entropy2d", "randint_labels"], "mse_loss": ["mse_loss"],
    "smooth_l1_loss": ["smooth_l1_loss"], "binary_cross_entropy": ["bce"],
    "binary_cross_entropy_with_logits": ["bce_logits"], "variance": ["var", "std"],
}

NO_CPU_BACKWARD = {
    "native_multi_head_attention": "nn.MultiheadAttention's inference fast path: no derivative; with a gradient "
                                   "the module runs linear, bmm and softmax (case multi_head_attention)",
    "transformer_encoder_layer": "nn.TransformerEncoderLayer's inference fast path: no derivative; with a gradient "
                                 "the layer runs its composite ops (case transformer_encoder_layer)",
}


def _forward_primitives() -> set[str]:
    """Primitives with aten bindings whose ops are forward ops (not the ``*_backward`` ops of
    attncost/ops/backward*.py, which only backward runs, except the plain ops listed above)."""
    backward_only = {name for name, p in ops.PRIMITIVES.items()
                     if p.formula.__module__.startswith("attncost.ops.backward")} - set(PRIMITIVE_CASES)
    return {name for name, p in ops.PRIMITIVES.items() if p.aten} - backward_only


def test_every_forward_primitive_has_a_training_case():
    missing = _forward_primitives() - set(PRIMITIVE_CASES) - set(NO_CPU_BACKWARD)
    assert not missing, f"forward primitives without a forward+backward case: {sorted(missing)}"
    assert all(case in CASES for cases in PRIMITIVE_CASES.values() for case in cases)


@pytest.mark.parametrize("name", sorted(CASES))
def test_forward_and_backward_have_no_unsupported_op(name):
    packet, forward = CASES[name]
    run = run_backward(forward)
    assert not run.unsupported, f"unsupported in training {name}: {dict(run.unsupported)}"
    assert packet in run.forward_packets | run.backward_packets, f"{packet} did not run"
    assert run.backward_packets, "the backward phase ran no op"


@pytest.mark.parametrize("primitive", sorted(PRIMITIVE_CASES))
def test_each_case_runs_an_op_of_its_primitive(primitive):
    overloads = {getattr(aten, o) for binding in ops.PRIMITIVES[primitive].aten for o in binding.overloads}
    ran = set()
    for case in PRIMITIVE_CASES[primitive]:
        run = run_backward(CASES[case][1])
        ran |= run.forward_packets | run.backward_packets
    assert ran & overloads, f"no case of {primitive} runs any of {sorted(map(str, overloads))}"


def test_multi_head_fast_paths_have_no_derivative():
    """Called directly with tensors that need gradients, autograd refuses the fused inference ops; the
    modules avoid them whenever a gradient is needed (their cases above run no such op)."""
    t = leaf(2, 5, 8)
    mha = _MHA.eval()
    out, _ = torch._native_multi_head_attention(t, t, t, 8, 2, mha.in_proj_weight, mha.in_proj_bias,
                                                mha.out_proj.weight, mha.out_proj.bias)
    with pytest.raises(RuntimeError, match="not implemented"):
        out.sum().backward()
    _MHA.train()
    for case in ("multi_head_attention", "transformer_encoder_layer"):
        run = run_backward(CASES[case][1])
        assert aten._native_multi_head_attention not in run.forward_packets
        assert aten._transformer_encoder_layer_fwd not in run.forward_packets
