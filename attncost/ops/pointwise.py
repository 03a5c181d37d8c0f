"""Elementwise, reduction, pooling, softmax, normalisation, interpolation and copy primitives.

Units (docs/CONVENTIONS.md): elementwise ops count output elements (broadcast included); reductions
and global/adaptive pooling the input elements read; windowed pooling outputs x window (padding
included); softmax and norms the elements they normalise; interpolation output elements; copies the
elements written without arithmetic.
"""

from __future__ import annotations

import sympy

from .primitive import Aten, OpKind, define, kind
from .shapes import normalize_dim, numel


def _elementwise_kind(name: str, description: str) -> OpKind:
    return kind(f"elementwise.{name}", description, "output elements (broadcast included)",
                macs=0, fvcore=0, flopcounter=0, full=1)


ADD = _elementwise_kind("add", "additions")
SUB = _elementwise_kind("sub", "subtractions")
MUL = _elementwise_kind("mul", "multiplications")
DIV = _elementwise_kind("div", "divisions")
NEG = _elementwise_kind("neg", "negations")
RELU = _elementwise_kind("relu", "ReLU")
SIGMOID = _elementwise_kind("sigmoid", "logistic sigmoid")
HARDSIGMOID = _elementwise_kind("hardsigmoid", "hard sigmoid")
HARDTANH = _elementwise_kind("hardtanh", "hardtanh: clamp to [min, max] (ReLU6 is hardtanh(0, 6))")
TANH = _elementwise_kind("tanh", "tanh")
EXP = _elementwise_kind("exp", "exponential")
GELU = _elementwise_kind("gelu", "GELU")
SILU = _elementwise_kind("silu", "SiLU / swish")
SQRT = _elementwise_kind("sqrt", "square root (and reciprocal square root)")
POW = _elementwise_kind("pow", "power")
WHERE = _elementwise_kind("where", "select: where, masked_fill, tril/triu, elementwise maximum/minimum")
COMPARE = _elementwise_kind("compare", "comparisons (gt, lt, ge, le, eq, ne)")
LEAKY_RELU = _elementwise_kind("leaky_relu", "leaky ReLU")

ELEMENTWISE_KINDS = (ADD, SUB, MUL, DIV, NEG, RELU, SIGMOID, HARDSIGMOID, HARDTANH, TANH, EXP, GELU, SILU, SQRT,
                     POW, WHERE, COMPARE, LEAKY_RELU)
# By short name, for code that picks an activation from a hyperparameter (``act="relu"``).
ELEMENTWISE = {k.name.split(".", 1)[1]: k for k in ELEMENTWISE_KINDS}

# aten packet name -> the elementwise kind it counts (in-place forms count the same).
_ATEN_ELEMENTWISE = {
    "relu": RELU, "relu_": RELU, "sigmoid": SIGMOID, "sigmoid_": SIGMOID, "hardsigmoid": HARDSIGMOID,
    "hardsigmoid_": HARDSIGMOID, "hardtanh": HARDTANH, "hardtanh_": HARDTANH, "tanh": TANH, "tanh_": TANH,
    "exp": EXP, "exp_": EXP, "gelu": GELU, "silu": SILU, "silu_": SILU, "neg": NEG, "sqrt": SQRT, "rsqrt": SQRT,
    "pow": POW, "add": ADD, "add_": ADD, "sub": SUB, "sub_": SUB, "rsub": SUB, "mul": MUL, "mul_": MUL,
    "div": DIV, "div_": DIV, "where": WHERE, "masked_fill": WHERE, "masked_fill_": WHERE, "maximum": WHERE,
    "minimum": WHERE, "gt": COMPARE, "lt": COMPARE, "ge": COMPARE, "le": COMPARE, "eq": COMPARE, "ne": COMPARE,
    "leaky_relu": LEAKY_RELU, "leaky_relu_": LEAKY_RELU, "tril": WHERE, "triu": WHERE,
}


def _elementwise_binding(kind_: OpKind) -> Aten:
    names = tuple(name for name, k in _ATEN_ELEMENTWISE.items() if k is kind_)
    return Aten(names, lambda c: elementwise(kind_, c.out_shape), (kind_,))


@define("elementwise", kinds=ELEMENTWISE_KINDS,
        aten=tuple(_elementwise_binding(k) for k in ELEMENTWISE_KINDS if k in _ATEN_ELEMENTWISE.values()))
def elementwise(op: OpKind, out_shape) -> dict:
    """Unary or (broadcast) binary elementwise op: one op per output element."""
    return {op.name: numel(out_shape)}


def _reduction_kind(name: str, description: str) -> OpKind:
    return kind(f"reduce.{name}", description, "input elements read", macs=0, fvcore=0, flopcounter=0, full=1)


REDUCE_MEAN = _reduction_kind("mean", "mean reduction")
REDUCE_SUM = _reduction_kind("sum", "sum reduction")
REDUCE_MAX = _reduction_kind("max", "max/min reduction")
POOL_GLOBAL_AVG = kind("pool.global_avg", "global average pooling over H and W (adaptive_avg_pool2d to 1x1)",
                       "input elements read", macs=0, fvcore=1, flopcounter=0, full=1)


@define("global_avg_pool", kinds=(POOL_GLOBAL_AVG,))
def global_avg_pool(x_shape) -> dict:
    """Average over H and W to 1x1 (adaptive_avg_pool2d(x, 1)): every input element read once."""
    return {POOL_GLOBAL_AVG.name: numel(x_shape)}


def _mean(c):
    """aten.mean: over dims (2, 3) of a 4-D tensor with keepdim it is what adaptive_avg_pool2d(x, 1)
    runs, so it counts as global pooling; any other mean is a reduction."""
    shape = c.shape(c.args[0])
    dims = c.args[1] if len(c.args) > 1 else None
    keepdim = c.args[2] if len(c.args) > 2 else c.kwargs.get("keepdim", False)
    if dims is not None and len(shape) == 4 and keepdim and {normalize_dim(d, 4) for d in dims} == {2, 3}:
        return global_avg_pool(shape)
    return reduce(REDUCE_MEAN, shape)


def _max(c):
    """max/min/amax/amin: of two tensors an elementwise select, else a reduction."""
    if len(c.args) == 2 and c.is_tensor(c.args[1]):
        return elementwise(WHERE, c.out_shape)
    return reduce(REDUCE_MAX, c.shape(c.args[0]))


@define("reduce", kinds=(REDUCE_MEAN, REDUCE_SUM, REDUCE_MAX),
        aten=(Aten(("mean",), _mean, (REDUCE_MEAN, POOL_GLOBAL_AVG)),
              Aten(("sum",), lambda c: reduce(REDUCE_SUM, c.shape(c.args[0])), (REDUCE_SUM,)),
              Aten(("amax", "max", "amin", "min"), _max, (REDUCE_MAX, WHERE))))
def reduce(op: OpKind, x_shape) -> dict:
    """Full or partial reduction (mean, sum, max): every input element is read once."""
    return {op.name: numel(x_shape)}


POOL_AVG = kind("pool.avg", "average pooling", "outputs × window size (padding included)",
                macs=0, fvcore=0, flopcounter=0, full=1)
POOL_MAX = kind("pool.max", "max pooling", "outputs × window size (padding included)",
                macs=0, fvcore=0, flopcounter=0, full=1)


def _pair(v):
    v = list(v) if isinstance(v, (list, tuple)) else [v]
    return tuple(v * 2 if len(v) == 1 else v)


@define("pool", kinds=(POOL_AVG, POOL_MAX),
        aten=(Aten(("avg_pool2d",), lambda c: pool(POOL_AVG, c.out_shape, _pair(c.args[1])), (POOL_AVG,)),
              Aten(("max_pool2d_with_indices",), lambda c: pool(POOL_MAX, c.out_shape, _pair(c.args[1])), (POOL_MAX,))))
def pool(op: OpKind, out_shape, window) -> dict:
    """Windowed pooling: each output reads ``prod(window)`` elements (padding included)."""
    return {op.name: numel(out_shape) * numel(window)}


POOL_ADAPTIVE_AVG = kind("pool.adaptive_avg", "adaptive average pooling to a larger output", "input elements read",
                         macs=0, fvcore=1, flopcounter=0, full=1)


@define("adaptive_avg_pool", kinds=(POOL_ADAPTIVE_AVG,),
        aten=(Aten(("_adaptive_avg_pool2d",), lambda c: adaptive_avg_pool(c.shape(c.args[0]), c.out_shape)),))
def adaptive_avg_pool(x_shape, out_shape, spatial: int = 2) -> dict:
    """Adaptive average pooling: output i along a dim of size ``n`` pooled to ``m`` reads the window
    [floor(i·n/m), ceil((i+1)·n/m)) (PyTorch's AdaptiveAveragePooling.cpp), so windows overlap when
    m does not divide n; the count is the product over dims of the summed window lengths (all inputs
    once when the sizes divide)."""
    reads = numel(x_shape[:-spatial])
    for n, m in zip(x_shape[-spatial:], out_shape[-spatial:]):
        reads = reads * adaptive_window_sum(n, m)
    return {POOL_ADAPTIVE_AVG.name: reads}


def adaptive_window_sum(n, m):
    """Sum over the ``m`` adaptive windows along a dim of size ``n`` of their lengths; ``n`` when
    ``m`` divides it (``m`` must be concrete: it is the requested output size)."""
    if isinstance(n, int):
        return sum(-(-(i + 1) * n // m) - (i * n // m) for i in range(m))
    return sympy.Add(*[sympy.ceiling((i + 1) * sympy.sympify(n) / m) - sympy.floor(i * sympy.sympify(n) / m)
                       for i in range(int(m))])


SOFTMAX_KIND = kind("softmax", "softmax elements (max, subtract, exp, sum, divide)", "elements",
                    macs=0, fvcore=0, flopcounter=0, full=5)


def _masked(c):
    """_safe_softmax (SDPA's math path: rows that are all -inf give 0, not NaN) and _masked_softmax
    (nn.MultiheadAttention's mask): a softmax plus one select per element."""
    shape = c.shape(c.args[0])
    return {**softmax(shape), **elementwise(WHERE, shape)}


@define("softmax", kinds=(SOFTMAX_KIND,),
        aten=(Aten(("_softmax", "softmax"), lambda c: softmax(c.shape(c.args[0]))),
              Aten(("_safe_softmax", "_masked_softmax"), _masked, (SOFTMAX_KIND, WHERE))))
def softmax(x_shape) -> dict:
    """Softmax along one dim: every element takes a max, a subtract, an exp, a sum and a divide."""
    return {SOFTMAX_KIND.name: numel(x_shape)}


NORM_BATCH = kind("norm.batch", "batch-norm elements (inference statistics: subtract, scale)", "elements normalised",
                  macs=0, fvcore=1, flopcounter=0, full=2)
NORM_LAYER = kind("norm.layer", "layer-norm elements (mean, subtract, square, sum, scale)", "elements normalised",
                  macs=0, fvcore=4, flopcounter=0, full=5)
NORM_GROUP = kind("norm.group", "group-norm elements (mean, subtract, square, sum, scale)", "elements normalised",
                  macs=0, fvcore=4, flopcounter=0, full=5)
NORM_AFFINE = kind("norm.affine", "elements scaled and shifted by a norm's affine weight and bias",
                   "elements scaled and shifted", macs=0, fvcore=1, flopcounter=0, full=2)


@define("norm", kinds=(NORM_BATCH, NORM_LAYER, NORM_GROUP, NORM_AFFINE),
        aten=(Aten(("native_batch_norm", "_native_batch_norm_legit_no_training"),
                   lambda c: norm(NORM_BATCH, c.shape(c.args[0]), c.args[1] is not None), (NORM_BATCH, NORM_AFFINE)),
              Aten(("native_layer_norm",), lambda c: norm(NORM_LAYER, c.shape(c.args[0]), c.args[2] is not None),
                   (NORM_LAYER, NORM_AFFINE)),
              Aten(("native_group_norm",), lambda c: norm(NORM_GROUP, c.shape(c.args[0]), c.args[1] is not None),
                   (NORM_GROUP, NORM_AFFINE))))
def norm(op: OpKind, x_shape, affine: bool) -> dict:
    """Batch/layer/group norm: every element normalised, and scaled+shifted if affine."""
    counts = {op.name: numel(x_shape)}
    if affine:
        counts[NORM_AFFINE.name] = numel(x_shape)
    return counts


INTERPOLATE_NEAREST = kind("interpolate.nearest", "nearest-neighbour upsampling (a read, no arithmetic)",
                           "output elements", macs=0, fvcore=1, flopcounter=0, full=0)
INTERPOLATE_BILINEAR = kind("interpolate.bilinear", "bilinear interpolation (4 products, 3 sums)", "output elements",
                            macs=0, fvcore=4, flopcounter=0, full=7)
INTERPOLATE_MODES = {"nearest": INTERPOLATE_NEAREST, "bilinear": INTERPOLATE_BILINEAR}


@define("interpolate", kinds=(INTERPOLATE_NEAREST, INTERPOLATE_BILINEAR),
        aten=(Aten(("upsample_nearest2d",), lambda c: interpolate("nearest", c.out_shape), (INTERPOLATE_NEAREST,)),
              Aten(("upsample_bilinear2d",), lambda c: interpolate("bilinear", c.out_shape), (INTERPOLATE_BILINEAR,))))
def interpolate(mode: str, out_shape) -> dict:
    """F.interpolate to ``out_shape``; ``mode`` as PyTorch names it ("nearest", "bilinear")."""
    if mode not in INTERPOLATE_MODES:
        raise ValueError(f"interpolate mode {mode!r} has no op kind (known: {', '.join(INTERPOLATE_MODES)})")
    return {INTERPOLATE_MODES[mode].name: numel(out_shape)}


COPY_KIND = kind("copy", "data movement or constant fills (clone, cat, contiguous, repeat, pad, full)",
                 "elements written without arithmetic", macs=0, fvcore=0, flopcounter=0, full=0)

_ATEN_COPIES = ("cat", "clone", "repeat", "full", "new_full", "zeros", "ones", "new_zeros", "new_ones", "fill_",
                "zero_", "copy_", "_to_copy", "diag_embed", "diag", "zeros_like", "ones_like", "full_like",
                "constant_pad_nd", "scalar_tensor")


@define("copy", kinds=(COPY_KIND,), aten=(Aten(_ATEN_COPIES, lambda c: copy(c.out_shape)),))
def copy(out_shape) -> dict:
    """Pure data movement (clone, cat, contiguous, repeat, constant pad, fills): elements written."""
    return {COPY_KIND.name: numel(out_shape)}
