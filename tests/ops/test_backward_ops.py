"""Every backward primitive's count on a traced ``backward()``, against a hand formula from the torch
tensors' shapes.

Each test runs a real forward and ``out.backward(g)`` under attncost's CostTracer (tests/ops/
backward_run.py), takes the counts of the one aten op under test (its records in the backward phase)
and compares the whole dict, every kind, with a count written here from ``x.numel()``, ``out.shape``,
windows and masks, following the units the kinds state: one per grad-input element for activation
derivatives; a zero fill of the input gradient (``copy``, one per input element) plus one count per
grad-output element (per window element for average pooling) for pooling, interpolation and padding;
the tensor an op returns written once (``copy``) and accumulated sources read into a sum
(``reduce.sum``) for scatters. Nothing of ``attncost.ops`` is imported. The tracer must report no
unsupported op.
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings, strategies as st
from torch import nn

from attncost.trace.tracer import CostTracer

from backward_run import run_backward

aten = torch.ops.aten
FEW = settings(max_examples=8, deadline=None)


def leaf(*shape):
    return torch.randn(*shape, requires_grad=True)


def checked(forward, packet, module=None) -> tuple[dict, torch.Tensor]:
    """(backward counts of ``packet``, the forward's output): the run had no unsupported op."""
    run = run_backward(forward, module=module)
    assert not run.unsupported, run.unsupported
    torch.manual_seed(0)
    return run.of(packet), forward()


shapes4 = st.tuples(st.integers(1, 2), st.integers(1, 3), st.integers(2, 6), st.integers(2, 6))

# activation -> (forward call, aten op autograd runs)
ACTIVATIONS = {
    "relu": (F.relu, aten.threshold_backward),
    "sigmoid": (torch.sigmoid, aten.sigmoid_backward),
    "tanh": (torch.tanh, aten.tanh_backward),
    "gelu": (F.gelu, aten.gelu_backward),
    "silu": (F.silu, aten.silu_backward),
    "hardsigmoid": (F.hardsigmoid, aten.hardsigmoid_backward),
    "hardswish": (F.hardswish, aten.hardswish_backward),
    "hardtanh": (F.relu6, aten.hardtanh_backward),
    "leaky_relu": (lambda t: F.leaky_relu(t, 0.2), aten.leaky_relu_backward),
    "softplus": (F.softplus, aten.softplus_backward),
    "mish": (F.mish, aten.mish_backward),
}


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
@FEW
@given(shape=shapes4)
def test_activation_derivative_counts_grad_input_elements(name, shape):
    fn, packet = ACTIVATIONS[name]
    x = leaf(*shape)
    counts, _ = checked(lambda: fn(x), packet)
    assert counts == {f"elementwise.{name}_backward": x.numel()}


@pytest.mark.parametrize("log", [False, True], ids=["softmax", "log_softmax"])
@FEW
@given(shape=shapes4, dim=st.integers(0, 3))
def test_softmax_gradient_counts_elements(log, shape, dim):
    x = leaf(*shape)
    fn = (lambda: x.log_softmax(dim)) if log else (lambda: x.softmax(dim))
    packet = aten._log_softmax_backward_data if log else aten._softmax_backward_data
    counts, _ = checked(fn, packet)
    assert counts == {"softmax.log_backward" if log else "softmax.backward": x.numel()}


def test_masked_softmax_gradient_adds_one_select_per_element():
    x = leaf(2, 3, 4, 5)
    mask = torch.rand(2, 3, 4, 5) > 0.5
    counts, _ = checked(lambda: torch._masked_softmax(x, mask, 3, 0), aten._masked_softmax_backward)
    assert counts == {"softmax.backward": 120, "elementwise.where": 120}     # 2·3·4·5


@pytest.mark.parametrize("mode", ["train", "eval", "frozen_input"])
@FEW
@given(shape=shapes4, affine=st.booleans())
def test_batch_norm_gradient(mode, shape, affine):
    n, c, h, w = shape
    bn = nn.BatchNorm2d(c, affine=affine).train(mode != "eval")
    x = torch.randn(n * 2, c, h, w, requires_grad=mode != "frozen_input")
    if mode == "frozen_input" and not affine:
        return                                             # nothing would need a gradient
    counts, _ = checked(lambda: bn(x), aten.native_batch_norm_backward, module=bn)
    expected = {}
    if mode != "frozen_input":
        expected["norm.batch_backward" if mode == "train" else "norm.batch_inference_backward"] = x.numel()
    if affine:
        expected["norm.affine_backward"] = x.numel()
    assert counts == expected


@FEW
@given(lead=st.lists(st.integers(1, 3), min_size=1, max_size=2), last=st.integers(1, 6), affine=st.booleans())
def test_layer_norm_gradient(lead, last, affine):
    ln = nn.LayerNorm(last, elementwise_affine=affine)
    x = leaf(*lead, last)
    counts, _ = checked(lambda: ln(x), aten.native_layer_norm_backward, module=ln)
    expected = {"norm.layer_backward": x.numel()}
    if affine:
        expected["norm.affine_backward"] = x.numel()
    assert counts == expected


@FEW
@given(n=st.integers(1, 2), groups=st.integers(1, 3), per_group=st.integers(1, 2), size=st.integers(1, 4),
       affine=st.booleans())
def test_group_norm_gradient(n, groups, per_group, size, affine):
    gn = nn.GroupNorm(groups, groups * per_group, affine=affine)
    x = leaf(n, groups * per_group, size, size + 1)
    counts, _ = checked(lambda: gn(x), aten.native_group_norm_backward, module=gn)
    expected = {"norm.group_backward": x.numel()}
    if affine:
        expected["norm.affine_backward"] = x.numel()
    assert counts == expected


@pytest.mark.parametrize("pool", ["max", "avg"])
@pytest.mark.parametrize("spatial", [2, 3])
@FEW
@given(n=st.integers(1, 2), c=st.integers(1, 3), size=st.integers(4, 7), k=st.integers(1, 3),
       stride=st.integers(1, 2), pad=st.integers(0, 1))
def test_windowed_pool_gradient(pool, spatial, n, c, size, k, stride, pad):
    pad = min(pad, k // 2)
    x = leaf(n, c, *[size + i for i in range(spatial)])
    fn = getattr(F, f"{pool}_pool{spatial}d")
    packet = {("max", 2): aten.max_pool2d_with_indices_backward, ("max", 3): aten.max_pool3d_with_indices_backward,
              ("avg", 2): aten.avg_pool2d_backward, ("avg", 3): aten.avg_pool3d_backward}[pool, spatial]
    counts, out = checked(lambda: fn(x, k, stride, pad), packet)
    if pool == "max":
        assert counts == {"copy": x.numel(), "pool.max_backward": out.numel()}
    else:
        assert counts == {"copy": x.numel(), "pool.avg_backward": out.numel() * k ** spatial}


def adaptive_window_lengths(size: int, out_size: int) -> int:
    """Sum of the adaptive windows' lengths: [floor(i·n/m), ceil((i+1)·n/m)) (AdaptiveAveragePooling.cpp)."""
    return sum(math.ceil((i + 1) * size / out_size) - math.floor(i * size / out_size) for i in range(out_size))


@pytest.mark.parametrize("pool", ["avg", "max"])
@FEW
@given(n=st.integers(1, 2), c=st.integers(1, 3), h=st.integers(2, 7), w=st.integers(2, 7), oh=st.integers(2, 4),
       ow=st.integers(2, 4))
def test_adaptive_pool_gradient(pool, n, c, h, w, oh, ow):
    x = leaf(n, c, h, w)
    fn = F.adaptive_avg_pool2d if pool == "avg" else F.adaptive_max_pool2d
    packet = aten._adaptive_avg_pool2d_backward if pool == "avg" else aten.adaptive_max_pool2d_backward
    counts, out = checked(lambda: fn(x, (oh, ow)), packet)
    if pool == "avg":
        written = n * c * adaptive_window_lengths(h, oh) * adaptive_window_lengths(w, ow)
        assert counts == {"copy": x.numel(), "pool.adaptive_avg_backward": written}
    else:
        assert counts == {"copy": x.numel(), "pool.adaptive_max_backward": out.numel()}


def test_adaptive_max_pool3d_gradient():
    x = leaf(1, 2, 4, 5, 3)
    counts, out = checked(lambda: F.adaptive_max_pool3d(x, (2, 2, 3)), aten.adaptive_max_pool3d_backward)
    assert counts == {"copy": 120, "pool.adaptive_max_backward": 24}     # 1·2·4·5·3 zeroed; 1·2·2·2·3 added


@pytest.mark.parametrize("mode", ["nearest", "bilinear", "bicubic"])
@FEW
@given(n=st.integers(1, 2), c=st.integers(1, 2), h=st.integers(2, 5), w=st.integers(2, 5), oh=st.integers(1, 9),
       ow=st.integers(1, 9))
def test_upsampling_gradient(mode, n, c, h, w, oh, ow):
    x = leaf(n, c, h, w)
    kwargs = {} if mode == "nearest" else {"align_corners": False}
    packet = {"nearest": aten.upsample_nearest2d_backward, "bilinear": aten.upsample_bilinear2d_backward,
              "bicubic": aten.upsample_bicubic2d_backward}[mode]
    counts, out = checked(lambda: F.interpolate(x, size=(oh, ow), mode=mode, **kwargs), packet)
    assert counts == {"copy": x.numel(), f"interpolate.{mode}_backward": out.numel()}


@pytest.mark.parametrize("mode", ["bilinear", "nearest"])
@pytest.mark.parametrize("grid_grad", [True, False])
def test_grid_sample_gradient(mode, grid_grad):
    x = leaf(2, 3, 5, 6)
    grid = (torch.rand(2, 4, 7, 2) * 2 - 1).requires_grad_(grid_grad)
    counts, out = checked(lambda: F.grid_sample(x, grid, mode=mode, align_corners=False), aten.grid_sampler_2d_backward)
    assert out.numel() == 2 * 3 * 4 * 7
    expected = {"copy": x.numel(), f"interpolate.grid_{mode}_backward": out.numel()}
    if grid_grad and mode == "bilinear":
        expected["interpolate.grid_coord_backward"] = out.numel()
    elif grid_grad:
        expected["copy"] += grid.numel()                   # nearest: the grid gradient is written as zeros
    assert counts == expected


@pytest.mark.parametrize("mode", ["reflect", "replicate"])
@pytest.mark.parametrize("spatial", [1, 2, 3])
def test_padding_mode_gradient(mode, spatial):
    x = leaf(2, 3, *[4 + i for i in range(spatial)])
    pads = (1, 2) * spatial
    packet = {("reflect", 1): aten.reflection_pad1d_backward, ("reflect", 2): aten.reflection_pad2d_backward,
              ("reflect", 3): aten.reflection_pad3d_backward, ("replicate", 1): aten.replication_pad1d_backward,
              ("replicate", 2): aten.replication_pad2d_backward,
              ("replicate", 3): aten.replication_pad3d_backward}[mode, spatial]
    counts, out = checked(lambda: F.pad(x, pads, mode=mode), packet)
    assert counts == {"copy": x.numel(), "reduce.sum": out.numel()}


@FEW
@given(shape=shapes4, p=st.floats(0.1, 0.9))
def test_native_dropout_gradient_multiplies_by_mask_and_scale(shape, p):
    x = leaf(*shape)
    counts, _ = checked(lambda: torch.native_dropout(x, p, True)[0], aten.native_dropout_backward)
    assert counts == {"elementwise.mul": 2 * x.numel()}


@pytest.mark.parametrize("variant", ["plain", "causal", "masked", "grouped"])
def test_flash_attention_gradient(variant):
    """Per logit B·Hq·L·S: 3E + 2Ev MACs (logits recomputed, dP, dV, dQ, dK); 3 products (scale, P·(dP - D),
    dS scale), 2 subtracts (S - lse, dP - D), 1 exp; per output element a product and a sum (D =
    rowsum(dO·O)); a mask one add, causal one select (FlashAttention-2, Algorithm 2)."""
    from torch.nn.attention import SDPBackend, sdpa_kernel
    b, hq, hkv, length, source, e = 2, 4, 2 if variant == "grouped" else 4, 5, 5 if variant == "causal" else 6, 3
    q, k, v = leaf(b, hq, length, e), leaf(b, hkv, source, e), leaf(b, hkv, source, e)
    mask = torch.randn(length, source) if variant == "masked" else None

    def forward():
        with sdpa_kernel(SDPBackend.FLASH_ATTENTION):
            return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=variant == "causal",
                                                  enable_gqa=variant == "grouped")

    counts, out = checked(forward, aten._scaled_dot_product_flash_attention_for_cpu_backward)
    logits = b * hq * length * source
    expected = {"mac.attention": logits * (3 * e + 2 * e), "elementwise.mul": 3 * logits + out.numel(),
                "elementwise.sub": 2 * logits, "elementwise.exp": logits, "reduce.sum": out.numel()}
    if variant == "masked":
        expected["elementwise.add"] = logits
    if variant == "causal":
        expected["elementwise.where"] = logits
    assert counts == expected


VIEW_GRADIENTS = {
    "slice": (lambda x: x[:, 1:, ::2], aten.slice_backward),
    "select": (lambda x: x[:, 1], aten.select_backward),
    "diagonal": (lambda x: torch.diag(x[0, 0]), aten.diagonal_backward),
}


@pytest.mark.parametrize("view", sorted(VIEW_GRADIENTS))
def test_view_gradient_writes_the_input_shaped_gradient(view):
    fn, packet = VIEW_GRADIENTS[view]
    x = leaf(2, 3, 4, 4)
    counts, _ = checked(lambda: fn(x), packet)
    # x[:, 1:, ::2] is two slices: the step slice's gradient has x[:, 1:]'s shape (2·2·4·4 = 64), the
    # first slice's x's (96); diag(x[0, 0]) takes the diagonal of a 4x4 view: a 4x4 gradient
    assert counts == {"copy": {"slice": 64 + 96, "select": x.numel(), "diagonal": 16}[view]}


def test_index_gradient_accumulates_into_zeros():
    x = leaf(3, 5, 4)
    index = torch.tensor([0, 2, 0, 1])                      # a repeated index: its gradients sum
    counts, out = checked(lambda: x[:, index], aten.index_put)
    assert out.shape == (3, 4, 4)
    assert counts == {"copy": x.numel(), "reduce.sum": out.numel()}


def test_gather_gradient_is_a_scatter_add_of_the_index_elements():
    x = leaf(2, 5, 3)
    index = torch.randint(0, 5, (2, 4, 3))
    counts, _ = checked(lambda: x.gather(1, index), aten.scatter_add)
    assert counts == {"copy": x.numel(), "reduce.sum": index.numel()}


def test_index_select_gradient_is_an_index_add_of_the_gradient():
    x = leaf(6, 4)
    counts, out = checked(lambda: x.index_select(0, torch.tensor([5, 0, 5])), aten.index_add)
    assert counts == {"copy": x.numel(), "reduce.sum": out.numel()}


def test_max_over_a_dim_gradient_is_a_scatter():
    x = leaf(3, 7, 2)
    counts, _ = checked(lambda: x.max(1).values, aten.scatter)
    assert counts == {"copy": x.numel()}


@pytest.mark.parametrize("by_freq", [False, True])
def test_embedding_gradient(by_freq):
    table = nn.Embedding(10, 4, scale_grad_by_freq=by_freq)
    ids = torch.tensor([[1, 2, 1], [7, 7, 0]])
    counts, out = checked(lambda: table(ids), aten.embedding_dense_backward, module=table)
    expected = {"copy": 40, "reduce.sum": out.numel()}      # the 10x4 table zeroed, 2·3·4 rows added
    if by_freq:
        expected["elementwise.div"] = out.numel()
    assert counts == expected


def test_unfold_view_gradient_sums_overlapping_windows():
    x = leaf(2, 9)
    counts, out = checked(lambda: x.unfold(1, 3, 2), aten.unfold_backward)
    assert out.shape == (2, 4, 3)
    assert counts == {"copy": x.numel(), "reduce.sum": out.numel()}


def test_im2col_gradient_is_col2im():
    x = leaf(2, 3, 5, 6)
    counts, cols = checked(lambda: F.unfold(x, 3, padding=1), aten.col2im)
    assert cols.shape == (2, 3 * 9, 30)
    assert counts == {"copy": x.numel(), "reduce.sum": cols.numel()}


def test_fold_forward_is_col2im():
    cols = leaf(2, 3 * 4, 9)
    run = run_backward(lambda: F.fold(cols, (4, 4), 2))
    assert not run.unsupported
    assert run.forward == {"copy": 2 * 3 * 4 * 4, "reduce.sum": cols.numel()}


@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("needs", ["both", "input", "weight"])
def test_convolution_gradient_products_and_bias_sum(bias, needs):
    x = torch.randn(2, 4, 7, 6, requires_grad=needs != "weight")
    w = torch.randn(6, 2, 3, 2, requires_grad=needs != "input")
    b = torch.randn(6, requires_grad=True) if bias else None
    counts, out = checked(lambda: F.conv2d(x, w, b, stride=(2, 1), padding=1, groups=2), aten.convolution_backward)
    assert out.shape == (2, 6, 4, 7)
    forward_macs = 2 * 6 * 4 * 7 * 2 * 3 * 2                 # N·Cout·Hout·Wout·(Cin/groups)·kh·kw
    expected = {"mac.conv": forward_macs * (2 if needs == "both" else 1)}
    if bias:
        expected["reduce.sum"] = out.numel()
    assert counts == expected


DERIVATIVE_OPS = {
    # forward, the op its backward runs, the kind it counts (one per output element)
    "sgn": (lambda x: x.abs(), aten.sgn, "elementwise.sign"),
    "logical_and": (lambda x: x.clamp(-0.5, 0.5), aten.logical_and_, "elementwise.logical"),
    "log": (lambda x: x.abs() ** torch.full(x.shape, 1.5, requires_grad=True), aten.log, "elementwise.log"),
    "pow_": (lambda x: torch.linalg.vector_norm(x, 3, dim=1), aten.pow_, "elementwise.pow"),
}


@pytest.mark.parametrize("name", sorted(DERIVATIVE_OPS))
def test_plain_ops_of_derivatives_count_output_elements(name):
    fn, packet, kind = DERIVATIVE_OPS[name]
    x = leaf(3, 4, 5)
    counts, _ = checked(lambda: fn(x), packet)
    assert counts == {kind: x.numel()}


def test_isnan_and_logical_or_of_a_full_max_gradient():
    """max() over all elements: autograd's evenly_distribute_backward masks input == value or both NaN
    (isnan of the input and of the 1-element value, their logical and, an eq and a logical or)."""
    x = leaf(3, 4)
    run = run_backward(lambda: x.max())
    assert not run.unsupported
    assert run.of(aten.isnan) == {"elementwise.compare": x.numel() + 1}
    assert run.of(aten.logical_and) == {"elementwise.logical": x.numel()}
    assert run.of(aten.logical_or_) == {"elementwise.logical": x.numel()}


def _forward_counts(forward, packet) -> dict:
    """Forward counts of one call of ``packet`` (the backward is run too: nothing may be unsupported)."""
    run = run_backward(forward)
    assert not run.unsupported, run.unsupported
    assert packet in run.forward_packets
    return dict(run.forward)


def _scatter_cases():
    """name -> (forward on x (3, 5, 4) needing a gradient, packet, expected forward counts by hand);
    indices and sources are made here, outside the count."""
    zeros_index = torch.zeros(3, 2, 4, dtype=torch.long)
    src_small, src_full, rows = leaf(3, 2, 4), torch.randn(3, 5, 4), leaf(2, 5, 4)
    plane, columns = leaf(3, 4), torch.tensor([0, 4])
    return {
        # x * 1 (60 products) makes a non-leaf to write into; then 3·2·4 = 24 index elements written
        "scatter_": (lambda x: (x * 1).scatter_(1, zeros_index, src_small), aten.scatter_,
                     {"elementwise.mul": 60, "copy": 24}),
        # scatter_add_ reads the index's 24 elements of src (3, 5, 4), not all 60 (src needs no gradient:
        # autograd rejects a src larger than the index)
        "scatter_add_": (lambda x: (x * 1).scatter_add_(1, zeros_index, src_full), aten.scatter_add_,
                         {"elementwise.mul": 60, "reduce.sum": 24}),
        "index_add_": (lambda x: (x * 1).index_add_(1, columns, src_small), aten.index_add_,
                       {"elementwise.mul": 60, "reduce.sum": 24}),
        "index_put_": (lambda x: (x * 1).index_put_((torch.tensor([0, 2]),), rows, accumulate=True),
                       aten.index_put_, {"elementwise.mul": 60, "reduce.sum": 40}),
        "sign": (lambda x: x * x.sign(), aten.sign, {"elementwise.sign": 60, "elementwise.mul": 60}),
        "slice_scatter": (lambda x: torch.slice_scatter(x, src_small, 1, 0, 2), aten.slice_scatter, {"copy": 60}),
        "select_scatter": (lambda x: torch.select_scatter(x, plane, 1, 0), aten.select_scatter, {"copy": 60}),
    }


SCATTERS_IN_PLACE = _scatter_cases()


@pytest.mark.parametrize("name", sorted(SCATTERS_IN_PLACE))
def test_in_place_scatters_and_scatter_copies_in_a_forward(name):
    fn, packet, expected = SCATTERS_IN_PLACE[name]
    x = leaf(3, 5, 4)
    assert _forward_counts(lambda: fn(x), packet) == expected


def test_diag_runs_diagonal_copy_a_copy_of_the_diagonal():
    x = leaf(5, 4)
    assert _forward_counts(lambda: x.diag(-1), aten.diagonal_copy) == {"copy": 4}     # 4 elements below the diagonal


def _direct_cases():
    """name -> (a direct call of the op, its packet, its counts by hand): the forms no model above
    runs (in-place and sibling logical ops, the 3-D adaptive average pooling gradient, the scatters of
    functionalised graphs, the internal index_put). Inputs are made here, outside the count."""
    x, mask = torch.randn(3, 5, 4), torch.rand(3, 5, 4) > 0.5
    other = torch.rand(3, 5, 4) > 0.5
    grad3d, x3d = torch.randn(1, 2, 2, 3, 2), torch.randn(1, 2, 4, 5, 4)
    diag_src, source = torch.randn(3, 4), torch.randn(60)
    rows, values = torch.tensor([0, 2]), torch.randn(2, 5, 4)
    return {
        "sgn_": (lambda: x.clone().sgn_(), aten.sgn_, {"copy": 60, "elementwise.sign": 60}),
        "sign_": (lambda: x.clone().sign_(), aten.sign_, {"copy": 60, "elementwise.sign": 60}),
        "logical_xor": (lambda: mask.logical_xor(other), aten.logical_xor, {"elementwise.logical": 60}),
        "logical_not": (lambda: mask.logical_not(), aten.logical_not, {"elementwise.logical": 60}),
        "bitwise_not": (lambda: ~mask, aten.bitwise_not, {"elementwise.logical": 60}),
        "bitwise_and": (lambda: mask & other, aten.bitwise_and, {"elementwise.logical": 60}),
        "bitwise_or": (lambda: mask | other, aten.bitwise_or, {"elementwise.logical": 60}),
        "log_": (lambda: x.abs().log_(), aten.log_, {"elementwise.abs": 60, "elementwise.log": 60}),
        "isinf": (lambda: x.isinf(), aten.isinf, {"elementwise.compare": 60}),
        "diagonal_scatter": (lambda: torch.diagonal_scatter(x, diag_src, 0, 1, 2), aten.diagonal_scatter,
                             {"copy": 60}),
        "masked_scatter": (lambda: x.masked_scatter(mask, source), aten.masked_scatter, {"copy": 60}),
        "_index_put_impl_": (lambda: aten._index_put_impl_(x.clone(), [rows], values, True), aten._index_put_impl_,
                             {"copy": 60, "reduce.sum": 40}),     # clone 60, then 2·5·4 values added
        # 1·2 planes, windows 4->2 (2+2), 5->3 (2+3+2 = 7), 4->2 (2+2): 2·4·7·4 written, 1·2·4·5·4 zeroed
        "_adaptive_avg_pool3d_backward": (lambda: aten._adaptive_avg_pool3d_backward(grad3d, x3d),
                                          aten._adaptive_avg_pool3d_backward,
                                          {"copy": 160, "pool.adaptive_avg_backward": 2 * 4 * 7 * 4}),
    }


DIRECT = _direct_cases()


@pytest.mark.parametrize("name", sorted(DIRECT))
def test_ops_called_directly(name):
    call, packet, expected = DIRECT[name]
    tracer = CostTracer()
    with tracer:
        call()
    assert not tracer.unsupported
    assert packet in {f.overloadpacket for f in tracer.funcs}
    total: dict = {}
    for record in tracer.records:
        for k, v in record.counts.items():
            total[k] = total.get(k, 0) + v
    assert total == expected
