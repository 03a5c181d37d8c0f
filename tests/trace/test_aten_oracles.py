"""Every aten op the tracer counts, checked against a hand-written oracle on random shapes.

For each overload packet in ``attncost.trace.handlers.HANDLERS`` a test here runs a real PyTorch
call that produces that aten op (random batch, channels, sizes, kernels, strides, paddings,
dilations, groups, broadcasting, dims, keepdim, affine flags, scale factors, ...). It asserts that
the tracer's whole ``counts`` dict (every kind, so an extra or missing kind fails) equals a count
written out in the test from the torch tensors themselves (``x.numel()``, ``out.shape``, window
sizes, groups), following the units of docs/CONVENTIONS.md.

Why the oracle is independent: this module imports nothing from ``attncost.ops``, ``attncost.cost``
or the handlers' formulas. Only ``trace_module`` (the thing under test) and the *keys* of
``HANDLERS`` (to prove coverage) come from attncost. A recorder of its own (a plain
``TorchDispatchMode``) checks that each test really runs the aten packet it claims to cover, and
``ORACLES`` maps every packet to its test, so a new handler without an oracle fails the suite.

A few packets only reach a dispatch mode when autograd is off entirely (``aten.softmax``,
``aten.diag``, ``aten.max``/``aten.min`` of two tensors are composite ops that decompose under
``no_grad``); their cases run under ``torch.inference_mode()``. The GPU-only attention kernels (flash,
memory-efficient, cuDNN) run on meta tensors, through the meta kernels torch ships for them: the
counts depend on shapes and arguments only.
"""

from __future__ import annotations

from pathlib import Path

import contextlib
from dataclasses import dataclass
from typing import Callable

import pytest
import torch
import torch.nn.functional as F
from hypothesis import assume, given, settings, strategies as st
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode

from attncost.trace import trace_module
from attncost.trace.handlers import HANDLERS, PRIMITIVE_OF

aten = torch.ops.aten
FAST = settings(max_examples=25, deadline=None)
FEW = settings(max_examples=10, deadline=None)       # for the long per-op tables


class Fn(nn.Module):
    """A module whose forward is ``fn``: the op under test is all that runs."""

    def __init__(self, fn: Callable):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x)


class PacketRecorder(TorchDispatchMode):
    """The aten overload packets a call really runs (no attncost code involved)."""

    def __init__(self):
        super().__init__()
        self.packets: set = set()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.packets.add(func.overloadpacket)
        return func(*args, **(kwargs or {}))


def traced(module, x: torch.Tensor, packet, inference: bool = False):
    """Run ``module(x)`` once for real (recording its aten packets) and once under the tracer.

    Asserts ``packet`` ran and the tracer found nothing unsupported; returns (counts, real output).
    """
    if not isinstance(module, nn.Module):
        module = Fn(module)
    mode = torch.inference_mode if inference else torch.no_grad
    recorder = PacketRecorder()
    with mode(), recorder:
        out = module(x.clone())
    assert packet in recorder.packets, f"{packet} did not run: {sorted(map(str, recorder.packets))}"
    with torch.inference_mode() if inference else contextlib.nullcontext():
        cost, out_shape, unsupported = trace_module(module, x.clone())
    assert not unsupported
    assert tuple(out_shape) == tuple(out.shape)
    return dict(cost.counts), out


def prod(values) -> int:
    result = 1
    for v in values:
        result *= v
    return result


shapes = st.lists(st.integers(1, 4), min_size=1, max_size=4)


@st.composite
def broadcast_shapes(draw):
    """(full, a, b): two shapes that broadcast to ``full`` (dims set to 1, leading dims dropped)."""
    full = draw(shapes)

    def operand():
        kept = draw(st.integers(0, len(full)))
        return [d if draw(st.booleans()) else 1 for d in full[len(full) - kept:]]

    return full, operand(), operand()


# --- convolution ---------------------------------------------------------------------------------

CONV = {1: nn.Conv1d, 2: nn.Conv2d, 3: nn.Conv3d}
CONV_TRANSPOSE = {1: nn.ConvTranspose1d, 2: nn.ConvTranspose2d, 3: nn.ConvTranspose3d}


@pytest.mark.parametrize("transposed", [False, True], ids=["conv", "transposed"])
@pytest.mark.parametrize("spatial", [1, 2, 3])
@FAST
@given(data=st.data())
def test_convolution_counts_macs_and_bias(spatial, transposed, data):
    draw = data.draw
    groups = draw(st.integers(1, 3))
    cin, cout = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 3))
    kernel = tuple(draw(st.integers(1, 3)) for _ in range(spatial))
    stride = tuple(draw(st.integers(1, 2)) for _ in range(spatial))
    dilation = tuple(draw(st.integers(1, 2)) for _ in range(spatial))
    bias = draw(st.booleans())
    n = draw(st.integers(1, 2))
    if transposed:
        padding = tuple(draw(st.integers(0, d * (k - 1) // 2)) for k, d in zip(kernel, dilation))
        output_padding = tuple(draw(st.integers(0, max(s, d) - 1)) for s, d in zip(stride, dilation))
        sizes = tuple(draw(st.integers(1, 4)) for _ in range(spatial))
        module = CONV_TRANSPOSE[spatial](cin, cout, kernel, stride, padding, output_padding, groups, bias, dilation)
    else:
        padding = tuple(draw(st.integers(0, 2)) for _ in range(spatial))
        sizes = tuple(max(1, d * (k - 1) + 1 - 2 * p) + draw(st.integers(0, 3))
                      for k, d, p in zip(kernel, dilation, padding))
        module = CONV[spatial](cin, cout, kernel, stride, padding, dilation, groups, bias)
    x = torch.randn(n, cin, *sizes)
    counts, out = traced(module, x, aten.convolution)
    if transposed:      # every input element is scattered into (Cout/groups) * prod(kernel) outputs
        expected = {"mac.conv": x.numel() * (cout // groups) * prod(kernel)}
    else:               # every output element gathers (Cin/groups) * prod(kernel) inputs
        expected = {"mac.conv": out.numel() * (cin // groups) * prod(kernel)}
    if bias:            # one add per output, tallied again as the conv's own
        expected["bias.add"] = expected["tally.conv_bias"] = out.numel()
    assert counts == expected


# --- linear layers and matrix products -----------------------------------------------------------

@FAST
@given(lead=st.lists(st.integers(1, 4), min_size=1, max_size=3), fin=st.integers(1, 6),
       fout=st.integers(1, 6), bias=st.booleans())
def test_linear_layer_counts_rows_times_in_times_out(lead, fin, fout, bias):
    x = torch.randn(*lead, fin)
    counts, out = traced(nn.Linear(fin, fout, bias), x, aten.addmm if bias else aten.mm)
    rows = x.numel() // fin
    expected = {"mac.linear": rows * fin * fout}
    if fin > 1:         # the in - 1 additions of each output's dot product, tallied (none for in = 1)
        expected["tally.linear_adds"] = rows * (fin - 1) * fout
    if bias:
        expected["bias.add"] = rows * fout
    assert counts == expected


MATMULS = {
    "mm": (aten.mm, lambda b, n, k, m: ((n, k), (k, m)), lambda x, y: torch.mm(x, y)),
    "matmul_2d": (aten.mm, lambda b, n, k, m: ((n, k), (k, m)), lambda x, y: x @ y),
    "matmul_folded": (aten.mm, lambda b, n, k, m: ((b, n, k), (k, m)), lambda x, y: x @ y),
    "bmm": (aten.bmm, lambda b, n, k, m: ((b, n, k), (b, k, m)), lambda x, y: torch.bmm(x, y)),
    "matmul_4d": (aten.bmm, lambda b, n, k, m: ((2, b, n, k), (2, b, k, m)), lambda x, y: x @ y),
}


@pytest.mark.parametrize("form", sorted(MATMULS))
@FAST
@given(b=st.integers(1, 3), n=st.integers(1, 5), k=st.integers(1, 5), m=st.integers(1, 5))
def test_matrix_product_of_activations_counts_outputs_times_contracted(form, b, n, k, m):
    packet, shapes_of, product = MATMULS[form]
    x_shape, y_shape = shapes_of(b, n, k, m)
    x, y = torch.randn(*x_shape), torch.randn(*y_shape)
    counts, out = traced(lambda t: product(t, y), x, packet)
    assert counts == {"mac.matmul": out.numel() * x.shape[-1]}


@FAST
@given(n=st.integers(1, 5), k=st.integers(1, 5), m=st.integers(1, 5),
       bias_shape=st.sampled_from(["row", "full", "one"]))
def test_addmm_of_activations_counts_product_and_addition(n, k, m, bias_shape):
    addend = torch.randn({"row": (m,), "full": (n, m), "one": (1, m)}[bias_shape])
    x, y = torch.randn(n, k), torch.randn(k, m)
    counts, out = traced(lambda t: torch.addmm(addend, t, y), x, aten.addmm)
    assert counts == {"mac.matmul": out.numel() * k, "elementwise.add": out.numel()}


# --- elementwise ---------------------------------------------------------------------------------

ANY, BROADCAST, ONTO = "any", "broadcast", "onto"      # x of any shape / x, y broadcast / y onto x


@dataclass(frozen=True)
class Elementwise:
    packet: object
    kind: str
    operands: str
    fn: Callable        # (x, y, mask) -> tensor
    inference: bool = False


ELEMENTWISE = {
    "relu": Elementwise(aten.relu, "relu", ANY, lambda x, y, m: torch.relu(x)),
    "relu_": Elementwise(aten.relu_, "relu", ANY, lambda x, y, m: F.relu(x, inplace=True)),
    "sigmoid": Elementwise(aten.sigmoid, "sigmoid", ANY, lambda x, y, m: torch.sigmoid(x)),
    "sigmoid_": Elementwise(aten.sigmoid_, "sigmoid", ANY, lambda x, y, m: x.sigmoid_()),
    "hardsigmoid": Elementwise(aten.hardsigmoid, "hardsigmoid", ANY, lambda x, y, m: F.hardsigmoid(x)),
    "hardsigmoid_": Elementwise(aten.hardsigmoid_, "hardsigmoid", ANY,
                                lambda x, y, m: F.hardsigmoid(x, inplace=True)),
    "tanh": Elementwise(aten.tanh, "tanh", ANY, lambda x, y, m: torch.tanh(x)),
    "tanh_": Elementwise(aten.tanh_, "tanh", ANY, lambda x, y, m: x.tanh_()),
    "exp": Elementwise(aten.exp, "exp", ANY, lambda x, y, m: torch.exp(x)),
    "exp_": Elementwise(aten.exp_, "exp", ANY, lambda x, y, m: x.exp_()),
    "gelu": Elementwise(aten.gelu, "gelu", ANY, lambda x, y, m: F.gelu(x)),
    "gelu_tanh": Elementwise(aten.gelu, "gelu", ANY, lambda x, y, m: F.gelu(x, approximate="tanh")),
    "silu": Elementwise(aten.silu, "silu", ANY, lambda x, y, m: F.silu(x)),
    "silu_": Elementwise(aten.silu_, "silu", ANY, lambda x, y, m: F.silu(x, inplace=True)),
    "neg": Elementwise(aten.neg, "neg", ANY, lambda x, y, m: -x),
    "sqrt": Elementwise(aten.sqrt, "sqrt", ANY, lambda x, y, m: torch.sqrt(x)),
    "rsqrt": Elementwise(aten.rsqrt, "sqrt", ANY, lambda x, y, m: torch.rsqrt(x)),
    "pow_tensor_scalar": Elementwise(aten.pow, "pow", ANY, lambda x, y, m: x ** 3),
    "pow_scalar_tensor": Elementwise(aten.pow, "pow", ANY, lambda x, y, m: 2.0 ** x),
    "pow_tensor_tensor": Elementwise(aten.pow, "pow", BROADCAST, lambda x, y, m: x ** y),
    "leaky_relu": Elementwise(aten.leaky_relu, "leaky_relu", ANY, lambda x, y, m: F.leaky_relu(x, 0.2)),
    "leaky_relu_": Elementwise(aten.leaky_relu_, "leaky_relu", ANY,
                               lambda x, y, m: F.leaky_relu(x, 0.1, inplace=True)),
    "hardtanh": Elementwise(aten.hardtanh, "hardtanh", ANY, lambda x, y, m: F.hardtanh(x, -0.5, 2.0)),
    "relu6": Elementwise(aten.hardtanh, "hardtanh", ANY, lambda x, y, m: F.relu6(x)),
    "hardtanh_": Elementwise(aten.hardtanh_, "hardtanh", ANY, lambda x, y, m: nn.ReLU6(inplace=True)(x)),
    "add": Elementwise(aten.add, "add", BROADCAST, lambda x, y, m: x + y),
    "add_scalar": Elementwise(aten.add, "add", ANY, lambda x, y, m: 1.5 + x),
    "add_": Elementwise(aten.add_, "add", ONTO, lambda x, y, m: x.add_(y)),
    "sub": Elementwise(aten.sub, "sub", BROADCAST, lambda x, y, m: x - y),
    "sub_": Elementwise(aten.sub_, "sub", ONTO, lambda x, y, m: x.sub_(y)),
    "rsub_scalar": Elementwise(aten.rsub, "sub", ANY, lambda x, y, m: 1.0 - x),
    "rsub_tensor": Elementwise(aten.rsub, "sub", BROADCAST, lambda x, y, m: torch.rsub(x, y)),
    "mul": Elementwise(aten.mul, "mul", BROADCAST, lambda x, y, m: x * y),
    "mul_": Elementwise(aten.mul_, "mul", ONTO, lambda x, y, m: x.mul_(y)),
    "div": Elementwise(aten.div, "div", BROADCAST, lambda x, y, m: x / y),
    "div_floor": Elementwise(aten.div, "div", BROADCAST, lambda x, y, m: torch.div(x, y, rounding_mode="floor")),
    "div_": Elementwise(aten.div_, "div", ONTO, lambda x, y, m: x.div_(y)),
    "where": Elementwise(aten.where, "where", BROADCAST, lambda x, y, m: torch.where(m, x, y)),
    "masked_fill": Elementwise(aten.masked_fill, "where", ONTO, lambda x, y, m: x.masked_fill(m, -1.0)),
    "masked_fill_tensor": Elementwise(aten.masked_fill, "where", ONTO,
                                      lambda x, y, m: x.masked_fill(m, torch.tensor(2.0))),
    "masked_fill_": Elementwise(aten.masked_fill_, "where", ONTO, lambda x, y, m: x.masked_fill_(m, 0.0)),
    "maximum": Elementwise(aten.maximum, "where", BROADCAST, lambda x, y, m: torch.maximum(x, y)),
    "minimum": Elementwise(aten.minimum, "where", BROADCAST, lambda x, y, m: torch.minimum(x, y)),
    "max_other": Elementwise(aten.max, "where", BROADCAST, lambda x, y, m: torch.max(x, y), inference=True),
    "min_other": Elementwise(aten.min, "where", BROADCAST, lambda x, y, m: torch.min(x, y), inference=True),
    "gt": Elementwise(aten.gt, "compare", BROADCAST, lambda x, y, m: x > y),
    "lt": Elementwise(aten.lt, "compare", BROADCAST, lambda x, y, m: x < y),
    "ge": Elementwise(aten.ge, "compare", BROADCAST, lambda x, y, m: x >= y),
    "le": Elementwise(aten.le, "compare", BROADCAST, lambda x, y, m: x <= y),
    "eq": Elementwise(aten.eq, "compare", BROADCAST, lambda x, y, m: x == y),
    "ne": Elementwise(aten.ne, "compare", BROADCAST, lambda x, y, m: x != y),
    "gt_scalar": Elementwise(aten.gt, "compare", ANY, lambda x, y, m: x > 0),
    "eq_scalar": Elementwise(aten.eq, "compare", ANY, lambda x, y, m: x == 0.5),
}


@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
@FEW
@given(shapes_=broadcast_shapes())
def test_elementwise_counts_output_elements(name, shapes_):
    case = ELEMENTWISE[name]
    full, a, b = shapes_
    x = torch.randn(full if case.operands == ONTO else a)
    y = torch.randn(b)
    mask = torch.randn(b) > 0
    counts, out = traced(lambda t: case.fn(t, y, mask), x, case.packet, case.inference)
    assert counts == {f"elementwise.{case.kind}": out.numel()}


@pytest.mark.parametrize("op", ["tril", "triu"])
@FAST
@given(shape=st.lists(st.integers(1, 5), min_size=2, max_size=4), diagonal=st.integers(-3, 3))
def test_triangle_selects_every_output_element(op, shape, diagonal):
    x = torch.randn(shape)
    counts, out = traced(lambda t: getattr(torch, op)(t, diagonal), x, getattr(aten, op))
    assert counts == {"elementwise.where": out.numel()}


# --- reductions and global pooling -------------------------------------------------------------

REDUCE_KIND = {"mean": "reduce.mean", "sum": "reduce.sum", "amax": "reduce.max", "amin": "reduce.max",
               "max": "reduce.max", "min": "reduce.max"}
REDUCE_PACKET = {"mean": aten.mean, "sum": aten.sum, "amax": aten.amax, "amin": aten.amin,
                 "max": aten.max, "min": aten.min}


@pytest.mark.parametrize("op", sorted(REDUCE_KIND))
@FAST
@given(shape=shapes, data=st.data())
def test_reduction_reads_every_input_element(op, shape, data):
    x = torch.randn(shape)
    ndim = x.dim()
    reduce_fn = getattr(torch, op)
    keepdim = data.draw(st.booleans())
    whole = op in ("mean", "sum", "max", "min") and data.draw(st.booleans())     # torch.<op>(x)
    global_pool = False
    if whole:
        args = ()
    elif op in ("max", "min"):
        args = (data.draw(st.integers(-ndim, ndim - 1)), keepdim)
    else:
        dims = data.draw(st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True))
        args = ([d - ndim if data.draw(st.booleans()) else d for d in dims], keepdim)
        # docs/CONVENTIONS.md: the keepdim mean over (H, W) of a 4-D tensor is global average pooling
        global_pool = op == "mean" and ndim == 4 and keepdim and {d % 4 for d in dims} == {2, 3}

    def reduction(t):
        out = reduce_fn(t, *args)
        return out.values if op in ("max", "min") and args else out

    counts, _ = traced(reduction, x, REDUCE_PACKET[op])
    if global_pool:     # and one division per (N, C) output, tallied
        assert counts == {"pool.global_avg": x.numel(), "tally.avg_pool_outputs": x.shape[0] * x.shape[1]}
    else:
        assert counts == {REDUCE_KIND[op]: x.numel()}


GLOBAL_MEANS = {
    "adaptive_avg_pool2d_1": (lambda t: F.adaptive_avg_pool2d(t, 1), True),
    "mean_hw_keepdim": (lambda t: t.mean((2, 3), keepdim=True), True),
    "mean_negative_wh_keepdim": (lambda t: t.mean((-1, -2), keepdim=True), True),
    "mean_hw": (lambda t: t.mean((2, 3)), False),
    "mean_cw_keepdim": (lambda t: t.mean((1, 3), keepdim=True), False),
    "mean_chw_keepdim": (lambda t: t.mean((1, 2, 3), keepdim=True), False),
}


@pytest.mark.parametrize("form", sorted(GLOBAL_MEANS))
@FAST
@given(shape=st.lists(st.integers(1, 5), min_size=4, max_size=4))
def test_global_average_pool_is_the_keepdim_mean_over_h_and_w(form, shape):
    fn, is_global = GLOBAL_MEANS[form]
    x = torch.randn(shape)
    counts, _ = traced(fn, x, aten.mean)
    if is_global:       # and one division per (N, C) output, tallied
        assert counts == {"pool.global_avg": x.numel(), "tally.avg_pool_outputs": x.shape[0] * x.shape[1]}
    else:
        assert counts == {"reduce.mean": x.numel()}


# --- pooling -------------------------------------------------------------------------------------

@pytest.mark.parametrize("pool", ["max", "avg"])
@FAST
@given(data=st.data())
def test_windowed_pool_counts_outputs_times_window(pool, data):
    draw = data.draw
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    square = draw(st.booleans()) and kh == kw
    kernel = kh if square else (kh, kw)
    stride = draw(st.one_of(st.none(), st.integers(1, 3), st.tuples(st.integers(1, 3), st.integers(1, 3))))
    ph, pw = draw(st.integers(0, kh // 2)), draw(st.integers(0, kw // 2))
    dh, dw = (draw(st.integers(1, 2)), draw(st.integers(1, 2))) if pool == "max" else (1, 1)
    ceil_mode = draw(st.booleans())
    h = max(1, dh * (kh - 1) + 1 - 2 * ph) + draw(st.integers(0, 4))
    w = max(1, dw * (kw - 1) + 1 - 2 * pw) + draw(st.integers(0, 4))
    x = torch.randn(draw(st.integers(1, 2)), draw(st.integers(1, 3)), h, w)
    if pool == "max":
        indices = draw(st.booleans())

        def fn(t):
            out = F.max_pool2d(t, kernel, stride, (ph, pw), (dh, dw), ceil_mode, return_indices=indices)
            return out[0] if indices else out

        packet = aten.max_pool2d_with_indices
    else:
        include_pad = draw(st.booleans())

        def fn(t):
            return F.avg_pool2d(t, kernel, stride, (ph, pw), ceil_mode, include_pad)

        packet = aten.avg_pool2d
    counts, out = traced(fn, x, packet)
    tally = {"tally.avg_pool_outputs": out.numel()} if pool == "avg" else {}     # a division per output
    assert counts == {f"pool.{pool}": out.numel() * kh * kw, **tally}


def adaptive_window_reads(size: int, out_size: int) -> int:
    """Sum of PyTorch's adaptive window lengths along one dim: [floor(i*s/o), ceil((i+1)*s/o))."""
    return sum(-(-(i + 1) * size // out_size) - (i * size // out_size) for i in range(out_size))


@pytest.mark.parametrize("divisible", [True, False], ids=["divisible", "overlapping_windows"])
@FAST
@given(data=st.data())
def test_adaptive_avg_pool_reads_every_window_element(divisible, data):
    """pool.* counts the window elements each output reads, summed over outputs: an input element
    that two adaptive windows share is read twice (only divisible sizes read each element once)."""
    draw = data.draw
    oh, ow = draw(st.integers(2 if not divisible else 1, 5)), draw(st.integers(1, 5))
    if divisible:
        h, w = oh * draw(st.integers(1, 3)), ow * draw(st.integers(1, 3))
    else:       # h % oh != 0: neighbouring windows share rows (or repeat them when oh > h)
        h, w = oh * draw(st.integers(0, 2)) + draw(st.integers(1, oh - 1)), draw(st.integers(1, 7))
    x = torch.randn(draw(st.integers(1, 2)), draw(st.integers(1, 3)), h, w)
    packet = aten.mean if (oh, ow) == (1, 1) else aten._adaptive_avg_pool2d
    counts, out = traced(lambda t: F.adaptive_avg_pool2d(t, (oh, ow)), x, packet)
    reads = x.shape[0] * x.shape[1] * adaptive_window_reads(h, oh) * adaptive_window_reads(w, ow)
    kind = "pool.global_avg" if (oh, ow) == (1, 1) else "pool.adaptive_avg"
    assert counts == {kind: reads, "tally.avg_pool_outputs": out.numel()}      # and a division per output


# --- softmax and normalisation -------------------------------------------------------------------

@pytest.mark.parametrize("inference", [False, True], ids=["_softmax", "softmax"])
@FAST
@given(shape=shapes, data=st.data())
def test_softmax_counts_elements(inference, shape, data):
    x = torch.randn(shape)
    dim = data.draw(st.integers(-x.dim(), x.dim() - 1))
    packet = aten.softmax if inference else aten._softmax
    counts, _ = traced(lambda t: F.softmax(t, dim), x, packet, inference)
    assert counts == {"softmax": x.numel()}


MASKED_SOFTMAXES = {
    "_safe_softmax": lambda t, dim, mask: aten._safe_softmax(t, dim),
    "_masked_softmax": lambda t, dim, mask: aten._masked_softmax(t, mask, dim),
}


@pytest.mark.parametrize("name", sorted(MASKED_SOFTMAXES))
@FAST
@given(shape=shapes, data=st.data())
def test_masked_softmax_counts_elements_and_one_select_each(name, shape, data):
    x = torch.randn(shape)
    dim = data.draw(st.integers(-x.dim(), x.dim() - 1))
    mask = torch.rand(shape) > 0.3
    counts, _ = traced(lambda t: MASKED_SOFTMAXES[name](t, dim, mask), x, getattr(aten, name))
    assert counts == {"softmax": x.numel(), "elementwise.where": x.numel()}


BATCH_NORMS = {1: nn.BatchNorm1d, 2: nn.BatchNorm2d, 3: nn.BatchNorm3d}


@pytest.mark.parametrize("form", ["module_eval", "batch_statistics", "legit_no_training"])
@FAST
@given(spatial=st.integers(0, 3), n=st.integers(1, 3), c=st.integers(1, 4),
       size=st.integers(1, 4), affine=st.booleans())
def test_batch_norm_counts_normalised_and_affine_elements(form, spatial, n, c, size, affine):
    if form == "batch_statistics":
        n = max(n, 2)                   # batch statistics need more than one value per channel
    x = torch.randn(n, c, *([size] * spatial))
    weight, bias = (torch.randn(c), torch.randn(c)) if affine else (None, None)
    mean, var = torch.randn(c), torch.rand(c) + 0.5
    packet = aten.native_batch_norm
    if form == "module_eval":
        module = BATCH_NORMS[max(1, spatial)](c, affine=affine).eval()
    elif form == "batch_statistics":
        module = Fn(lambda t: F.batch_norm(t, None, None, weight, bias, training=True))
    else:
        module = Fn(lambda t: aten._native_batch_norm_legit_no_training(t, weight, bias, mean, var, 0.1, 1e-5)[0])
        packet = aten._native_batch_norm_legit_no_training
    counts, _ = traced(module, x, packet)
    # batch statistics are computed from x (mean, subtract, square, sum, scale): their own kind
    expected = {"norm.batch_stats" if form == "batch_statistics" else "norm.batch": x.numel()}
    if affine:
        expected["norm.affine"] = x.numel()
    assert counts == expected


@FAST
@given(shape=st.lists(st.integers(1, 4), min_size=1, max_size=4), data=st.data(), affine=st.booleans())
def test_layer_norm_counts_normalised_and_affine_elements(shape, data, affine):
    x = torch.randn(shape)
    normalised = data.draw(st.integers(1, x.dim()))
    module = nn.LayerNorm(x.shape[x.dim() - normalised:], elementwise_affine=affine)
    counts, _ = traced(module, x, aten.native_layer_norm)
    expected = {"norm.layer": x.numel()}
    if affine:
        expected["norm.affine"] = x.numel()
    assert counts == expected


@FAST
@given(n=st.integers(1, 3), groups=st.integers(1, 3), per_group=st.integers(1, 3),
       spatial=st.lists(st.integers(1, 4), max_size=2), affine=st.booleans())
def test_group_norm_counts_normalised_and_affine_elements(n, groups, per_group, spatial, affine):
    assume(per_group * prod(spatial) > 1)      # group statistics need more than one value per group
    c = groups * per_group
    x = torch.randn(n, c, *spatial)
    counts, _ = traced(nn.GroupNorm(groups, c, affine=affine), x, aten.native_group_norm)
    expected = {"norm.group": x.numel()}
    if affine:
        expected["norm.affine"] = x.numel()
    assert counts == expected


# --- interpolation and sampling ------------------------------------------------------------------

@pytest.mark.parametrize("mode", ["nearest", "bilinear"])
@FAST
@given(n=st.integers(1, 2), c=st.integers(1, 3), h=st.integers(2, 6), w=st.integers(2, 6), data=st.data())
def test_upsampling_counts_output_elements(mode, n, c, h, w, data):
    x = torch.randn(n, c, h, w)
    factors = st.sampled_from([0.5, 1.0, 1.5, 2.0, 3.0])
    if data.draw(st.booleans()):
        resize = {"scale_factor": (data.draw(factors), data.draw(factors))}
    else:
        resize = {"size": (data.draw(st.integers(1, 9)), data.draw(st.integers(1, 9)))}
    if mode == "bilinear":
        resize["align_corners"] = data.draw(st.booleans())
    packet = aten.upsample_nearest2d if mode == "nearest" else aten.upsample_bilinear2d
    counts, out = traced(lambda t: F.interpolate(t, mode=mode, **resize), x, packet)
    assert counts == {f"interpolate.{mode}": out.numel()}


@pytest.mark.parametrize("mode", ["bilinear", "nearest"])
@FAST
@given(n=st.integers(1, 2), c=st.integers(1, 3), h=st.integers(1, 5), w=st.integers(1, 5),
       gh=st.integers(1, 5), gw=st.integers(1, 5), padding_mode=st.sampled_from(["zeros", "border", "reflection"]),
       align_corners=st.booleans())
def test_grid_sample_counts_output_elements(mode, n, c, h, w, gh, gw, padding_mode, align_corners):
    x = torch.randn(n, c, h, w)
    grid = torch.rand(n, gh, gw, 2) * 2.4 - 1.2

    def sample(t):
        return F.grid_sample(t, grid, mode, padding_mode, align_corners)

    counts, out = traced(sample, x, aten.grid_sampler_2d)
    assert counts == {f"interpolate.grid_{mode}": out.numel()}


@pytest.mark.parametrize("spatial", [2, 3], ids=["2d", "3d"])
@FAST
@given(n=st.integers(1, 3), c=st.integers(1, 3), sizes=st.lists(st.integers(1, 5), min_size=3, max_size=3),
       align_corners=st.booleans())
def test_affine_grid_counts_base_grid_and_its_product_with_theta(spatial, n, c, sizes, align_corners):
    """ATen fills a base grid of homogeneous coordinates, one row per output position (``copy``), and
    multiplies it by theta^T in one bmm (``mac.affine_grid``): N*H*W*6 in 2-D, N*D*H*W*12 in 3-D."""
    theta = torch.randn(n, spatial, spatial + 1)
    size = (n, c, *sizes[:spatial])
    counts, out = traced(lambda t: F.affine_grid(t, size, align_corners), theta, aten.affine_grid_generator)
    positions = out.numel() // spatial                   # grid (N, *spatial, spatial): one row per position
    homogeneous = spatial + 1                            # base grid row (x, y[, z], 1)
    assert counts == {"copy": positions * homogeneous,   # the base grid ATen fills
                      "mac.affine_grid": positions * spatial * homogeneous}   # base grid @ theta^T


# --- fused attention ------------------------------------------------------------------------------

def meta(*shape):
    """A tensor with a shape and no data: the GPU-only kernels run here through their meta kernels."""
    return torch.empty(*shape, device="meta")


def per_logit(logits: int, e: int, ev: int, *, additive: bool, causal: bool, dropout: bool) -> dict:
    """softmax(Q Kᵀ · scale + mask) V, per docs/CONVENTIONS.md: QKᵀ (E MACs) and AV (Ev MACs) per logit,
    the scale multiply, the softmax, an additive mask's add, a causal select, a dropout multiply."""
    counts = {"mac.attention": logits * (e + ev), "elementwise.mul": logits * (2 if dropout else 1),
              "softmax": logits}
    if additive:
        counts["elementwise.add"] = logits
    if causal:
        counts["elementwise.where"] = logits
    return counts


@dataclass(frozen=True)
class Fused:
    packet: object
    make: Callable                  # shape -> tensor: torch.randn (CPU kernels) or meta (GPU kernels)
    layout: str                     # "bhle": (B, H, L, E); "blhe": (B, L, H, E)
    value_dim_free: bool            # Ev may differ from E
    takes_bias: bool
    takes_dropout: bool
    call: Callable                  # (q, k, v, bias, dropout_p, causal) -> output


FUSED_ATTENTION = {
    "sdpa_cpu": Fused(aten._scaled_dot_product_flash_attention_for_cpu, torch.randn, "bhle", False, True, False,
                      lambda q, k, v, bias, p, causal: F.scaled_dot_product_attention(q, k, v, bias, p, causal)),
    "flash_cpu_gqa": Fused(aten._scaled_dot_product_flash_attention_for_cpu, torch.randn, "bhle", False, True, False,
                           lambda q, k, v, bias, p, causal: aten._scaled_dot_product_flash_attention_for_cpu(
                               q, k, v, p, causal, attn_mask=bias)[0]),
    "flash": Fused(aten._scaled_dot_product_flash_attention, meta, "bhle", False, False, True,
                   lambda q, k, v, bias, p, causal: aten._scaled_dot_product_flash_attention(q, k, v, p, causal)[0]),
    "efficient": Fused(aten._scaled_dot_product_efficient_attention, meta, "bhle", True, True, True,
                       lambda q, k, v, bias, p, causal: aten._scaled_dot_product_efficient_attention(
                           q, k, v, bias, False, p, causal)[0]),
    "cudnn": Fused(aten._scaled_dot_product_cudnn_attention, meta, "bhle", True, True, True,
                   lambda q, k, v, bias, p, causal: aten._scaled_dot_product_cudnn_attention(
                       q, k, v, bias, False, p, causal)[0]),
    "overrideable": Fused(aten._scaled_dot_product_fused_attention_overrideable, meta, "bhle", True, True, True,
                          lambda q, k, v, bias, p, causal: aten._scaled_dot_product_fused_attention_overrideable(
                              q, k, v, bias, p, causal)[0]),
    "efficient_forward": Fused(aten._efficient_attention_forward, meta, "blhe", True, True, True,
                               lambda q, k, v, bias, p, causal: aten._efficient_attention_forward(
                                   q, k, v, bias, None, None, None, None, p, 1 if causal else 0)[0]),
    "flash_forward": Fused(aten._flash_attention_forward, meta, "blhe", False, False, True,
                           lambda q, k, v, bias, p, causal: aten._flash_attention_forward(
                               q, k, v, None, None, q.shape[1], k.shape[1], p, causal, False)[0]),
}


@pytest.mark.parametrize("kernel", sorted(FUSED_ATTENTION))
@FAST
@given(b=st.integers(1, 3), hkv=st.integers(1, 3), group=st.integers(1, 3), length=st.integers(1, 6),
       s=st.integers(1, 6), e=st.integers(1, 8), ev=st.integers(1, 8), biased=st.booleans(), causal=st.booleans(),
       dropout=st.booleans())
def test_fused_attention_counts_per_logit(kernel, b, hkv, group, length, s, e, ev, biased, causal, dropout):
    case = FUSED_ATTENTION[kernel]
    hq = hkv * group if kernel == "flash_cpu_gqa" else hkv       # grouped-query heads: the CPU kernel only
    ev = ev if case.value_dim_free else e
    biased = biased and case.takes_bias and not (kernel == "sdpa_cpu" and causal)   # SDPA takes one or the other
    p = 0.25 if dropout and case.takes_dropout else 0.0

    def heads(n_heads, seq, dim):
        return case.make(b, n_heads, seq, dim) if case.layout == "bhle" else case.make(b, seq, n_heads, dim)

    q, k, v = heads(hq, length, e), heads(hkv, s, e), heads(hkv, s, ev)
    bias = (meta(b, hq, length, s) if case.make is meta else torch.randn(length, s)) if biased else None
    counts, _ = traced(lambda t: case.call(t, k, v, bias, p, causal), q, case.packet)
    assert counts == per_logit(b * hq * length * s, e, ev, additive=biased, causal=causal, dropout=p > 0)


def mask_conversion(mask: torch.Tensor | None) -> dict:
    """nn.MultiheadAttention turns a boolean mask into an additive one before its fused op: a zeros_like
    (copy) and a masked_fill_ (select), each over the mask's elements."""
    return {} if mask is None else {"copy": mask.numel(), "elementwise.where": mask.numel()}


def add_counts(*parts: dict) -> dict:
    total: dict = {}
    for part in parts:
        for kind, value in part.items():
            total[kind] = total.get(kind, 0) + value
    return total


def self_attention_counts(b: int, t: int, d: int, heads: int, *, masked: bool) -> dict:
    """The fast path of self-attention on (B, T, D): packed QKV projection and its bias, the query
    rescale, QKᵀ and AV, softmax (masked: a select per logit), head merge, output projection. The head
    merge (B, H, T, dh) -> (B, T, H, dh) is a copy unless T or H is 1, when it is already contiguous."""
    tokens, logits = b * t, b * heads * t * t
    counts = {"mac.linear": tokens * d * 3 * d + tokens * d * d, "bias.add": tokens * 3 * d + tokens * d,
              "elementwise.mul": tokens * d, "mac.attention": 2 * logits * (d // heads), "softmax": logits}
    if t > 1 and heads > 1:
        counts["copy"] = tokens * d
    if masked:
        counts["elementwise.where"] = logits
    return counts


@FAST
@given(b=st.integers(1, 3), t=st.integers(1, 6), heads=st.sampled_from([2, 4]), head_dim=st.integers(1, 4),
       need_weights=st.booleans(), average=st.booleans(), mask=st.sampled_from([None, "key_padding", "attention"]))
def test_native_multi_head_attention_counts_its_kernel(b, t, heads, head_dim, need_weights, average, mask):
    d = heads * head_dim
    module = nn.MultiheadAttention(d, heads, batch_first=True).eval()
    masks = {"key_padding": torch.rand(b, t) > 0.5, "attention": torch.rand(t, t) > 0.5}
    padding, attention = (masks[mask] if mask == name else None for name in ("key_padding", "attention"))

    def attend(x):
        return module(x, x, x, key_padding_mask=padding, need_weights=need_weights, attn_mask=attention,
                      average_attn_weights=average)[0]

    x = torch.randn(b, t, d)
    counts, _ = traced(Fn(attend), x, aten._native_multi_head_attention)
    averaged = {"reduce.sum": b * heads * t * t, "elementwise.div": b * t * t} if need_weights and average else {}
    mask_tensor = padding if padding is not None else attention
    assert counts == add_counts(self_attention_counts(b, t, d, heads, masked=mask is not None),
                                mask_conversion(mask_tensor), averaged)


@FAST
@given(b=st.integers(1, 3), t=st.integers(1, 6), heads=st.sampled_from([2, 4]), head_dim=st.integers(1, 4),
       hidden=st.integers(1, 12), activation=st.sampled_from(["relu", "gelu"]), norm_first=st.booleans(),
       masked=st.booleans())
def test_transformer_encoder_layer_counts_its_kernel(b, t, heads, head_dim, hidden, activation, norm_first, masked):
    d = heads * head_dim
    layer = nn.TransformerEncoderLayer(d, heads, hidden, activation=activation, norm_first=norm_first,
                                       batch_first=True).eval()
    padding = torch.rand(b, t) > 0.5 if masked else None
    x = torch.randn(b, t, d)
    counts, _ = traced(Fn(lambda src: layer(src, src_key_padding_mask=padding)), x,
                       aten._transformer_encoder_layer_fwd)
    tokens = b * t
    feed_forward = {"mac.linear": 2 * tokens * d * hidden, "bias.add": tokens * hidden + tokens * d,
                    f"elementwise.{activation}": tokens * hidden}
    residuals_and_norms = {"elementwise.add": 2 * tokens * d, "norm.layer": 2 * tokens * d,
                           "norm.affine": 2 * tokens * d}
    assert counts == add_counts(self_attention_counts(b, t, d, heads, masked=masked), mask_conversion(padding),
                                feed_forward, residuals_and_norms)


# --- copies and fills ----------------------------------------------------------------------------

def _cat(draw):
    x = torch.randn(draw(shapes))
    dim = draw(st.integers(-x.dim(), x.dim() - 1))
    others = []
    for _ in range(draw(st.integers(0, 2))):
        shape = list(x.shape)
        shape[dim] = draw(st.integers(1, 3))
        others.append(torch.randn(shape))
    return (lambda t: torch.cat([t, *others], dim)), x


def _repeat(draw):
    x = torch.randn(draw(shapes))
    reps = draw(st.lists(st.integers(1, 3), min_size=x.dim(), max_size=x.dim() + 1))
    return (lambda t: t.repeat(*reps)), x


def _contiguous(draw):
    x = torch.randn(draw(st.lists(st.integers(2, 4), min_size=2, max_size=4)))
    return (lambda t: t.transpose(0, -1).contiguous()), x


def _copy_from(draw):
    full, _, b = draw(broadcast_shapes())
    source = torch.randn(b)
    return (lambda t: t.copy_(source)), torch.randn(full)


def _pad(draw):
    x = torch.randn(draw(shapes))
    padded_dims = draw(st.integers(1, x.dim()))
    pads = [draw(st.integers(0, 2)) for _ in range(2 * padded_dims)]
    value = draw(st.sampled_from([0.0, 1.5]))
    return (lambda t: F.pad(t, pads, value=value)), x


def _diag_embed(draw):
    x = torch.randn(draw(shapes))
    offset = draw(st.integers(-2, 2))
    return (lambda t: torch.diag_embed(t, offset)), x


def _diag(draw):
    x = torch.randn(draw(st.lists(st.integers(1, 4), min_size=1, max_size=2)))
    low, high = (-2, 2) if x.dim() == 1 else (1 - x.shape[0], x.shape[1] - 1)     # a 2-D diagonal must exist
    diagonal = draw(st.integers(low, high))
    return (lambda t: torch.diag(t, diagonal)), x


def _on_any(fn):
    return lambda draw: (fn, torch.randn(draw(shapes)))


@dataclass(frozen=True)
class Copy:
    packet: object
    build: Callable     # draw -> (fn, x)
    inference: bool = False


COPIES = {
    "cat": Copy(aten.cat, _cat),
    "clone": Copy(aten.clone, _on_any(lambda t: t.clone())),
    "contiguous": Copy(aten.clone, _contiguous),
    "repeat": Copy(aten.repeat, _repeat),
    "full": Copy(aten.full, _on_any(lambda t: torch.full((t.shape[0], 3), 2.0))),
    "new_full": Copy(aten.new_full, _on_any(lambda t: t.new_full((2, *t.shape), 2.0))),
    "zeros": Copy(aten.zeros, _on_any(lambda t: torch.zeros(t.shape[-1], 2))),
    "ones": Copy(aten.ones, _on_any(lambda t: torch.ones(*t.shape, 3))),
    "new_zeros": Copy(aten.new_zeros, _on_any(lambda t: t.new_zeros(t.shape))),
    "new_ones": Copy(aten.new_ones, _on_any(lambda t: t.new_ones((t.shape[0], 4)))),
    "zeros_like": Copy(aten.zeros_like, _on_any(torch.zeros_like)),
    "ones_like": Copy(aten.ones_like, _on_any(torch.ones_like)),
    "full_like": Copy(aten.full_like, _on_any(lambda t: torch.full_like(t, 7.0))),
    "fill_": Copy(aten.fill_, _on_any(lambda t: t.fill_(3.0))),
    "zero_": Copy(aten.zero_, _on_any(lambda t: t.zero_())),
    "copy_": Copy(aten.copy_, _copy_from),
    "to_double": Copy(aten._to_copy, _on_any(lambda t: t.to(torch.float64))),
    "to_half": Copy(aten._to_copy, _on_any(lambda t: t.half())),
    "diag_embed": Copy(aten.diag_embed, _diag_embed),
    "diag": Copy(aten.diag, _diag, inference=True),
    "constant_pad_nd": Copy(aten.constant_pad_nd, _pad),
    "scalar_tensor": Copy(aten.scalar_tensor, _on_any(lambda t: torch.scalar_tensor(2.5))),
}


@pytest.mark.parametrize("name", sorted(COPIES))
@FEW
@given(data=st.data())
def test_copy_counts_elements_written(name, data):
    case = COPIES[name]
    fn, x = case.build(data.draw)
    counts, out = traced(fn, x, case.packet, case.inference)
    assert counts == {"copy": out.numel()}


# --- coverage ------------------------------------------------------------------------------------

# The test that proves each counted aten packet (max/min of two tensors are also in the elementwise table).
ORACLES = {
    aten.convolution: "test_convolution_counts_macs_and_bias",
    aten.addmm: "test_linear_layer_counts_rows_times_in_times_out",
    aten.mm: "test_linear_layer_counts_rows_times_in_times_out",
    aten.bmm: "test_matrix_product_of_activations_counts_outputs_times_contracted",
    aten.relu: "test_elementwise_counts_output_elements",
    aten.relu_: "test_elementwise_counts_output_elements",
    aten.sigmoid: "test_elementwise_counts_output_elements",
    aten.sigmoid_: "test_elementwise_counts_output_elements",
    aten.hardsigmoid: "test_elementwise_counts_output_elements",
    aten.hardsigmoid_: "test_elementwise_counts_output_elements",
    aten.tanh: "test_elementwise_counts_output_elements",
    aten.tanh_: "test_elementwise_counts_output_elements",
    aten.exp: "test_elementwise_counts_output_elements",
    aten.exp_: "test_elementwise_counts_output_elements",
    aten.gelu: "test_elementwise_counts_output_elements",
    aten.silu: "test_elementwise_counts_output_elements",
    aten.silu_: "test_elementwise_counts_output_elements",
    aten.neg: "test_elementwise_counts_output_elements",
    aten.sqrt: "test_elementwise_counts_output_elements",
    aten.rsqrt: "test_elementwise_counts_output_elements",
    aten.pow: "test_elementwise_counts_output_elements",
    aten.leaky_relu: "test_elementwise_counts_output_elements",
    aten.leaky_relu_: "test_elementwise_counts_output_elements",
    aten.hardtanh: "test_elementwise_counts_output_elements",
    aten.hardtanh_: "test_elementwise_counts_output_elements",
    aten.add: "test_elementwise_counts_output_elements",
    aten.add_: "test_elementwise_counts_output_elements",
    aten.sub: "test_elementwise_counts_output_elements",
    aten.sub_: "test_elementwise_counts_output_elements",
    aten.rsub: "test_elementwise_counts_output_elements",
    aten.mul: "test_elementwise_counts_output_elements",
    aten.mul_: "test_elementwise_counts_output_elements",
    aten.div: "test_elementwise_counts_output_elements",
    aten.div_: "test_elementwise_counts_output_elements",
    aten.where: "test_elementwise_counts_output_elements",
    aten.masked_fill: "test_elementwise_counts_output_elements",
    aten.masked_fill_: "test_elementwise_counts_output_elements",
    aten.maximum: "test_elementwise_counts_output_elements",
    aten.minimum: "test_elementwise_counts_output_elements",
    aten.gt: "test_elementwise_counts_output_elements",
    aten.lt: "test_elementwise_counts_output_elements",
    aten.ge: "test_elementwise_counts_output_elements",
    aten.le: "test_elementwise_counts_output_elements",
    aten.eq: "test_elementwise_counts_output_elements",
    aten.ne: "test_elementwise_counts_output_elements",
    aten.tril: "test_triangle_selects_every_output_element",
    aten.triu: "test_triangle_selects_every_output_element",
    aten.mean: "test_reduction_reads_every_input_element",
    aten.sum: "test_reduction_reads_every_input_element",
    aten.amax: "test_reduction_reads_every_input_element",
    aten.amin: "test_reduction_reads_every_input_element",
    aten.max: "test_reduction_reads_every_input_element",
    aten.min: "test_reduction_reads_every_input_element",
    aten.max_pool2d_with_indices: "test_windowed_pool_counts_outputs_times_window",
    aten.avg_pool2d: "test_windowed_pool_counts_outputs_times_window",
    aten._adaptive_avg_pool2d: "test_adaptive_avg_pool_reads_every_window_element",
    aten._softmax: "test_softmax_counts_elements",
    aten.softmax: "test_softmax_counts_elements",
    aten._safe_softmax: "test_masked_softmax_counts_elements_and_one_select_each",
    aten._masked_softmax: "test_masked_softmax_counts_elements_and_one_select_each",
    aten.native_batch_norm: "test_batch_norm_counts_normalised_and_affine_elements",
    aten._native_batch_norm_legit_no_training: "test_batch_norm_counts_normalised_and_affine_elements",
    aten.native_layer_norm: "test_layer_norm_counts_normalised_and_affine_elements",
    aten.native_group_norm: "test_group_norm_counts_normalised_and_affine_elements",
    aten.upsample_nearest2d: "test_upsampling_counts_output_elements",
    aten.upsample_bilinear2d: "test_upsampling_counts_output_elements",
    aten.grid_sampler_2d: "test_grid_sample_counts_output_elements",
    aten.affine_grid_generator: "test_affine_grid_counts_base_grid_and_its_product_with_theta",
    aten._scaled_dot_product_flash_attention_for_cpu: "test_fused_attention_counts_per_logit",
    aten._scaled_dot_product_flash_attention: "test_fused_attention_counts_per_logit",
    aten._scaled_dot_product_efficient_attention: "test_fused_attention_counts_per_logit",
    aten._scaled_dot_product_cudnn_attention: "test_fused_attention_counts_per_logit",
    aten._scaled_dot_product_fused_attention_overrideable: "test_fused_attention_counts_per_logit",
    aten._efficient_attention_forward: "test_fused_attention_counts_per_logit",
    aten._flash_attention_forward: "test_fused_attention_counts_per_logit",
    aten._native_multi_head_attention: "test_native_multi_head_attention_counts_its_kernel",
    aten._transformer_encoder_layer_fwd: "test_transformer_encoder_layer_counts_its_kernel",
    aten.cat: "test_copy_counts_elements_written",
    aten.clone: "test_copy_counts_elements_written",
    aten.repeat: "test_copy_counts_elements_written",
    aten.full: "test_copy_counts_elements_written",
    aten.new_full: "test_copy_counts_elements_written",
    aten.zeros: "test_copy_counts_elements_written",
    aten.ones: "test_copy_counts_elements_written",
    aten.new_zeros: "test_copy_counts_elements_written",
    aten.new_ones: "test_copy_counts_elements_written",
    aten.zeros_like: "test_copy_counts_elements_written",
    aten.ones_like: "test_copy_counts_elements_written",
    aten.full_like: "test_copy_counts_elements_written",
    aten.fill_: "test_copy_counts_elements_written",
    aten.zero_: "test_copy_counts_elements_written",
    aten.copy_: "test_copy_counts_elements_written",
    aten._to_copy: "test_copy_counts_elements_written",
    aten.diag_embed: "test_copy_counts_elements_written",
    aten.diag: "test_copy_counts_elements_written",
    aten.constant_pad_nd: "test_copy_counts_elements_written",
    aten.scalar_tensor: "test_copy_counts_elements_written",
}


# Packets whose oracles live in tests/ops/test_more_primitives.py (the primitives added for public
# attention code); each must be run there by name.
MORE_PRIMITIVES = Path(__file__).resolve().parents[1] / "ops" / "test_more_primitives.py"
ORACLES_ELSEWHERE = {getattr(aten, name) for name in (
    "_log_softmax",
    "abs",
    "abs_",
    "adaptive_max_pool2d",
    "adaptive_max_pool3d",
    "arange",
    "argmax",
    "argmin",
    "avg_pool3d",
    "baddbmm",
    "bernoulli",
    "bernoulli_",
    "clamp",
    "clamp_",
    "clamp_max",
    "clamp_max_",
    "clamp_min",
    "clamp_min_",
    "embedding",
    "erf",
    "erf_",
    "flip",
    "gather",
    "hardswish",
    "hardswish_",
    "im2col",
    "index",
    "index_select",
    "linalg_vector_norm",
    "linspace",
    "max_pool3d_with_indices",
    "mish",
    "mish_",
    "native_dropout",
    "normal_",
    "pixel_shuffle",
    "pixel_unshuffle",
    "rand",
    "rand_like",
    "randn",
    "randn_like",
    "reflection_pad1d",
    "reflection_pad2d",
    "reflection_pad3d",
    "replication_pad1d",
    "replication_pad2d",
    "replication_pad3d",
    "roll",
    "softplus",
    "stack",
    "uniform_",
    "upsample_bicubic2d",
)}


# The backward primitives (attncost/ops/backward*.py) have their oracles in tests/ops/test_backward*.py: hand
# formulas from the shapes on a traced backward, and FlopCounterMode's backward counts for the products.
BACKWARD_TESTS = sorted((Path(__file__).resolve().parents[1] / "ops").glob("test_backward*.py"))
BACKWARD_ORACLES = {packet for packet, primitive in PRIMITIVE_OF.items()
                    if primitive.formula.__module__.startswith("attncost.ops.backward")}


def test_backward_oracles_run_their_op():
    assert BACKWARD_TESTS and BACKWARD_ORACLES
    text = "\n".join(path.read_text() for path in BACKWARD_TESTS)
    for packet in BACKWARD_ORACLES:
        name = str(packet).split(".", 1)[1]
        assert f"aten.{name}" in text or f"aten::{name}" in text, f"{packet} is not run in tests/ops/test_backward*.py"


def test_oracles_elsewhere_run_their_op():
    text = MORE_PRIMITIVES.read_text()
    for packet in ORACLES_ELSEWHERE:
        name = str(packet).split(".", 1)[1]
        assert f"aten.{name}" in text or f"aten::{name}" in text, f"{packet} is not run in {MORE_PRIMITIVES.name}"


def test_every_handled_aten_op_has_an_oracle():
    elsewhere = ORACLES_ELSEWHERE | BACKWARD_ORACLES
    missing = {str(op) for op in HANDLERS} - {str(op) for op in ORACLES} - {str(op) for op in elsewhere}
    assert not missing, f"aten ops counted by the tracer without an oracle test here: {sorted(missing)}"
    assert set(HANDLERS) <= set(ORACLES) | elsewhere
    for packet, test_name in ORACLES.items():
        assert callable(globals().get(test_name)), f"{packet} maps to {test_name}, which is not a test here"


def test_case_tables_run_the_packets_the_mapping_names():
    tables = {"test_elementwise_counts_output_elements": {case.packet for case in ELEMENTWISE.values()},
              "test_copy_counts_elements_written": {case.packet for case in COPIES.values()},
              "test_fused_attention_counts_per_logit": {case.packet for case in FUSED_ATTENTION.values()}}
    for test_name, packets in tables.items():
        mapped = {packet for packet, name in ORACLES.items() if name == test_name}
        assert mapped <= packets, test_name


def test_in_place_variants_are_exercised():
    in_place = {op for op in HANDLERS if str(op).endswith("_") and not str(op).startswith("aten._")}
    in_place -= ORACLES_ELSEWHERE | BACKWARD_ORACLES    # run by name in their own files (test_*_run_their_op)
    exercised = {case.packet for case in ELEMENTWISE.values()} | {case.packet for case in COPIES.values()}
    assert in_place <= exercised, sorted(map(str, in_place - exercised))
