"""aten op -> op-formula handlers, registered per op with a decorator (as torch.utils.flop_counter).

A handler gets the traced call (shapes already converted to sympy/ints by the tracer) and returns
counts by op kind, computed with the same :mod:`attncost.ops` formulas the catalogue uses. Ops that
cost nothing by decision are listed in IGNORED with the reason; anything else without a handler is
reported as unsupported by the tracer, never counted as zero.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import torch

from .. import ops
from ..ops.shapes import normalize_dim

aten = torch.ops.aten


@dataclass
class Call:
    """One traced aten call: its arguments, outputs, and a few helpers the tracer provides."""

    packet: Any               # the aten overload packet (aten.add, aten.convolution, ...)
    args: tuple
    kwargs: dict
    out: Any
    shape: Callable           # tensor -> tuple of sympy/int sizes
    is_parameter: Callable    # tensor -> bool (its storage belongs to a module parameter)

    @property
    def out_shape(self):
        out = self.out[0] if isinstance(self.out, (tuple, list)) else self.out
        return self.shape(out)


HANDLERS: dict = {}


def handles(*overloads):
    """Register ``fn`` for aten overload packets or overloads; registering one twice raises."""

    def decorate(fn):
        for op in overloads:
            if op in HANDLERS:
                raise ValueError(f"handler for {op} registered twice")
            HANDLERS[op] = fn
        return fn

    return decorate


# Zero arithmetic by decision: views and metadata (memory effects are still tracked by storage).
IGNORED = {
    aten.view, aten._unsafe_view, aten.reshape, aten.permute, aten.transpose, aten.t, aten.expand,
    aten.unsqueeze, aten.squeeze, aten.slice, aten.select, aten.alias, aten.detach, aten.as_strided,
    aten.diagonal, aten.split, aten.split_with_sizes, aten.unbind, aten.lift_fresh, aten.flatten,
    aten._reshape_alias, aten.empty, aten.empty_strided, aten.new_empty, aten.new_empty_strided,
    aten.unfold, aten.view_as, aten.expand_as, aten.contiguous,
}
# Not aten arithmetic at all (device/shape queries), ignored for the same reason.
IGNORED_NAMES = {"prim.device", "aten.sym_size", "aten.sym_stride", "aten.sym_numel", "aten.sym_storage_offset",
                 "aten.is_contiguous", "aten._local_scalar_dense", "aten.dim", "aten.size", "aten.stride"}


@handles(aten.convolution)
def _convolution(c: Call):
    x, w, bias = c.args[:3]
    transposed = bool(c.args[6]) if len(c.args) > 6 else False
    return ops.formula("conv")(c.shape(x), c.shape(w), c.out_shape, bias is not None, transposed)


def _mm_kind(c: Call, weight) -> str:
    return "linear" if c.is_parameter(weight) else "matmul"


@handles(aten.addmm)
def _addmm(c: Call):
    bias, a, b = c.args[:3]
    if _mm_kind(c, b) == "linear":
        return ops.formula("linear")(c.shape(a), c.out_shape, True)
    counts = ops.formula("matmul")(c.shape(a), c.shape(b), c.out_shape)
    counts["elementwise.add"] = ops.numel(c.out_shape)
    return counts


@handles(aten.mm)
def _mm(c: Call):
    a, b = c.args[:2]
    if _mm_kind(c, b) == "linear":
        return ops.formula("linear")(c.shape(a), c.out_shape, False)
    return ops.formula("matmul")(c.shape(a), c.shape(b), c.out_shape)


@handles(aten.bmm)
def _bmm(c: Call):
    a, b = c.args[:2]
    return ops.formula("matmul")(c.shape(a), c.shape(b), c.out_shape)


UNARY = {
    aten.relu: "relu", aten.relu_: "relu", aten.sigmoid: "sigmoid", aten.sigmoid_: "sigmoid",
    aten.hardsigmoid: "hardsigmoid", aten.hardsigmoid_: "hardsigmoid", aten.tanh: "tanh", aten.tanh_: "tanh",
    aten.exp: "exp", aten.exp_: "exp", aten.gelu: "gelu", aten.silu: "silu", aten.silu_: "silu",
    aten.neg: "neg", aten.sqrt: "sqrt", aten.rsqrt: "sqrt", aten.pow: "pow",
    aten.add: "add", aten.add_: "add", aten.sub: "sub", aten.sub_: "sub", aten.rsub: "sub",
    aten.mul: "mul", aten.mul_: "mul", aten.div: "div", aten.div_: "div", aten.where: "where",
    aten.gt: "compare", aten.lt: "compare", aten.ge: "compare", aten.le: "compare", aten.eq: "compare",
    aten.ne: "compare",
}


@handles(*UNARY)
def _elementwise(c: Call):
    name = UNARY[c.packet]
    return ops.formula("elementwise")(name, c.out_shape)


@handles(aten.leaky_relu, aten.leaky_relu_)
def _leaky_relu(c: Call):
    return ops.formula("elementwise")("leaky_relu", c.out_shape)


@handles(aten.hardtanh, aten.hardtanh_)
def _hardtanh(c: Call):
    """hardtanh, which is what F.relu6 / nn.ReLU6 run."""
    return ops.formula("elementwise")("hardtanh", c.out_shape)


@handles(aten.mean)
def _mean(c: Call):
    x = c.args[0]
    shape = c.shape(x)
    dims = c.args[1] if len(c.args) > 1 else None
    keepdim = c.args[2] if len(c.args) > 2 else c.kwargs.get("keepdim", False)
    if dims is not None and len(shape) == 4 and keepdim and {normalize_dim(d, 4) for d in dims} == {2, 3}:
        return ops.formula("global_avg_pool")(shape)          # what adaptive_avg_pool2d(x, 1) runs
    return ops.formula("reduce")("mean", shape)


@handles(aten.sum)
def _sum(c: Call):
    return ops.formula("reduce")("sum", c.shape(c.args[0]))


@handles(aten.amax, aten.max, aten.amin, aten.min)
def _max(c: Call):
    if len(c.args) == 2 and isinstance(c.args[1], torch.Tensor):    # elementwise maximum
        return ops.formula("elementwise")("where", c.out_shape)
    return ops.formula("reduce")("max", c.shape(c.args[0]))


def _pair(v):
    v = list(v) if isinstance(v, (list, tuple)) else [v]
    return tuple(v * 2 if len(v) == 1 else v)


@handles(aten.avg_pool2d)
def _avg_pool2d(c: Call):
    return ops.formula("pool")("avg", c.out_shape, _pair(c.args[1]))


@handles(aten.max_pool2d_with_indices)
def _max_pool2d(c: Call):
    return ops.formula("pool")("max", c.out_shape, _pair(c.args[1]))


@handles(aten._adaptive_avg_pool2d)
def _adaptive_avg_pool2d(c: Call):
    x_shape = c.shape(c.args[0])
    return ops.formula("adaptive_avg_pool")(x_shape, c.out_shape)


@handles(aten._softmax, aten.softmax)
def _softmax(c: Call):
    return ops.formula("softmax")(c.shape(c.args[0]))


@handles(aten.native_batch_norm, aten._native_batch_norm_legit_no_training)
def _batch_norm(c: Call):
    return ops.formula("norm")("batch", c.shape(c.args[0]), c.args[1] is not None)


@handles(aten.native_layer_norm)
def _layer_norm(c: Call):
    return ops.formula("norm")("layer", c.shape(c.args[0]), c.args[2] is not None)


@handles(aten.native_group_norm)
def _group_norm(c: Call):
    return ops.formula("norm")("group", c.shape(c.args[0]), c.args[1] is not None)


@handles(aten.upsample_nearest2d)
def _nearest(c: Call):
    return ops.formula("interpolate")("nearest", c.out_shape)


@handles(aten.upsample_bilinear2d)
def _bilinear(c: Call):
    return ops.formula("interpolate")("bilinear", c.out_shape)


@handles(aten.cat, aten.clone, aten.repeat, aten.full, aten.new_full, aten.zeros, aten.ones,
         aten.new_zeros, aten.new_ones, aten.fill_, aten.zero_, aten.copy_, aten._to_copy, aten.diag_embed,
         aten.diag, aten.zeros_like, aten.ones_like, aten.full_like)
def _copy(c: Call):
    return ops.formula("copy")(c.out_shape)


@handles(aten.maximum, aten.minimum)
def _maximum(c: Call):
    """torch.max(a, b) / torch.min(a, b) of two tensors: an elementwise select, as aten.max(a, b)."""
    return ops.formula("elementwise")("where", c.out_shape)


@handles(aten.affine_grid_generator)
def _affine_grid(c: Call):
    return ops.formula("affine_grid")(c.shape(c.args[0]), c.out_shape)


GRID_SAMPLER_MODES = {0: "bilinear", 1: "nearest", 2: "bicubic"}   # aten's interpolation_mode enum


@handles(aten.grid_sampler_2d)
def _grid_sampler_2d(c: Call):
    return ops.formula("grid_sample")(GRID_SAMPLER_MODES[int(c.args[2])], c.out_shape)


@handles(aten.constant_pad_nd)
def _constant_pad(c: Call):
    """F.pad with a constant: every output element is written (data movement, no arithmetic)."""
    return ops.formula("copy")(c.out_shape)


@handles(aten.masked_fill, aten.masked_fill_)
def _masked_fill(c: Call):
    """x.masked_fill(mask, value): one select per output element, as aten.where."""
    return ops.formula("elementwise")("where", c.out_shape)
