"""Elementwise, reduction, pooling, softmax, normalisation, interpolation and copy primitives.

Units (docs/CONVENTIONS.md): elementwise ops count output elements (broadcast included); reductions
and global/adaptive pooling the input elements read; windowed pooling outputs x window (padding
included); softmax and norms the elements they normalise; interpolation output elements; copies the
elements written without arithmetic. Average poolings also tally their divisions, one per output
(``tally.avg_pool_outputs``, weight 0 in the base conventions).
"""

from __future__ import annotations

from ..algebra import sympy as _sympy
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
HARDSWISH = _elementwise_kind("hardswish", "hard swish: x·relu6(x + 3)/6 (MobileNetV3, CoordAttention)")
ABS = _elementwise_kind("abs", "absolute value")
ERF = _elementwise_kind("erf", "error function")
SOFTPLUS = _elementwise_kind("softplus", "softplus: log(1 + exp(βx))/β, linear above the threshold")
MISH = _elementwise_kind("mish", "Mish: x·tanh(softplus(x))")
CLAMP = _elementwise_kind("clamp", "clamp to a lower and/or an upper bound (clamp, clamp_min, clamp_max)")
RANDOM = _elementwise_kind("random", "random draws, one per element written (bernoulli_ for dropout masks, "
                           "rand, randn, normal_, uniform_)")

ELEMENTWISE_KINDS = (ADD, SUB, MUL, DIV, NEG, RELU, SIGMOID, HARDSIGMOID, HARDTANH, TANH, EXP, GELU, SILU, SQRT,
                     POW, WHERE, COMPARE, LEAKY_RELU, HARDSWISH, ABS, ERF, SOFTPLUS, MISH, CLAMP, RANDOM)
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
    "hardswish": HARDSWISH, "hardswish_": HARDSWISH, "abs": ABS, "abs_": ABS, "erf": ERF, "erf_": ERF,
    "softplus": SOFTPLUS, "mish": MISH, "mish_": MISH, "clamp": CLAMP, "clamp_": CLAMP, "clamp_min": CLAMP,
    "clamp_min_": CLAMP, "clamp_max": CLAMP, "clamp_max_": CLAMP, "bernoulli": RANDOM, "bernoulli_": RANDOM,
    "rand": RANDOM, "randn": RANDOM, "rand_like": RANDOM, "randn_like": RANDOM, "normal_": RANDOM,
    "uniform_": RANDOM,
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
# A tally (weight 0 in the base conventions): one per output of an average pooling (global, adaptive or
# windowed), its division, for conventions that charge it (thop 0.0.31's "+ 1" per output).
TALLY_AVG_POOL_OUTPUTS = kind("tally.avg_pool_outputs", "the divisions of average poolings, one per output "
                              "(global, adaptive and windowed)", "output elements",
                              macs=0, fvcore=0, flopcounter=0, full=0)


@define("global_avg_pool", kinds=(POOL_GLOBAL_AVG, TALLY_AVG_POOL_OUTPUTS))
def global_avg_pool(x_shape) -> dict:
    """Average over H and W to 1x1 (adaptive_avg_pool2d(x, 1)): every input element read once; one
    output per (N, C)."""
    return {POOL_GLOBAL_AVG.name: numel(x_shape), TALLY_AVG_POOL_OUTPUTS.name: numel(x_shape[:-2])}


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
        aten=(Aten(("mean",), _mean, (REDUCE_MEAN, POOL_GLOBAL_AVG, TALLY_AVG_POOL_OUTPUTS)),
              Aten(("sum",), lambda c: reduce(REDUCE_SUM, c.shape(c.args[0])), (REDUCE_SUM,)),
              Aten(("amax", "max", "amin", "min"), _max, (REDUCE_MAX, WHERE)),
              Aten(("argmax", "argmin"), lambda c: reduce(REDUCE_MAX, c.shape(c.args[0])), (REDUCE_MAX,))))
def reduce(op: OpKind, x_shape) -> dict:
    """Full or partial reduction (mean, sum, max; argmax/argmin are max/min keeping the position):
    every input element is read once."""
    return {op.name: numel(x_shape)}


def _vector_norm(c):
    """linalg_vector_norm(x, ord=2, dim=None, keepdim=False, *, dtype=None), what F.normalize runs."""
    order = c.kwargs.get("ord", c.args[1] if len(c.args) > 1 else 2)
    return vector_norm(c.shape(c.args[0]), c.out_shape, float(order))


@define("vector_norm", kinds=(MUL, ABS, POW, SQRT, COMPARE, REDUCE_SUM, REDUCE_MAX),
        aten=(Aten(("linalg_vector_norm",), _vector_norm),))
def vector_norm(x_shape, out_shape, order: float = 2.0) -> dict:
    """The p-norm over some dims, as ATen's norm kernels reduce it (ReduceOps: NormTwoOps accumulates
    x·x and takes one sqrt per output; NormOneOps |x|; AbsMaxOps/AbsMinOps |x| and a max/min;
    NormZeroOps x != 0; NormOps |x|^p and one root (a power) per output). Reductions count the
    input elements read, as every reduction does."""
    n, outputs = numel(x_shape), numel(out_shape)
    if order == 2:
        return {MUL.name: n, REDUCE_SUM.name: n, SQRT.name: outputs}
    if order == 1:
        return {ABS.name: n, REDUCE_SUM.name: n}
    if order in (float("inf"), float("-inf")):
        return {ABS.name: n, REDUCE_MAX.name: n}
    if order == 0:
        return {COMPARE.name: n, REDUCE_SUM.name: n}
    return {ABS.name: n, POW.name: n + outputs, REDUCE_SUM.name: n}


POOL_AVG = kind("pool.avg", "average pooling", "outputs × window size (padding included)",
                macs=0, fvcore=0, flopcounter=0, full=1)
POOL_MAX = kind("pool.max", "max pooling", "outputs × window size (padding included)",
                macs=0, fvcore=0, flopcounter=0, full=1)


def _pair(v):
    return _ntuple(v, 2)


def _ntuple(v, n: int):
    v = list(v) if isinstance(v, (list, tuple)) else [v]
    return tuple(v * n if len(v) == 1 else v)


@define("pool", kinds=(POOL_AVG, POOL_MAX, TALLY_AVG_POOL_OUTPUTS),
        aten=(Aten(("avg_pool2d",), lambda c: pool(POOL_AVG, c.out_shape, _pair(c.args[1])),
                   (POOL_AVG, TALLY_AVG_POOL_OUTPUTS)),
              Aten(("max_pool2d_with_indices",), lambda c: pool(POOL_MAX, c.out_shape, _pair(c.args[1])), (POOL_MAX,)),
              Aten(("avg_pool3d",), lambda c: pool(POOL_AVG, c.out_shape, _ntuple(c.args[1], 3)),
                   (POOL_AVG, TALLY_AVG_POOL_OUTPUTS)),
              Aten(("max_pool3d_with_indices",), lambda c: pool(POOL_MAX, c.out_shape, _ntuple(c.args[1], 3)),
                   (POOL_MAX,))))
def pool(op: OpKind, out_shape, window) -> dict:
    """Windowed pooling: each output reads ``prod(window)`` elements (padding included); average
    pooling tallies its divisions, one per output."""
    counts = {op.name: numel(out_shape) * numel(window)}
    if op is POOL_AVG:
        counts[TALLY_AVG_POOL_OUTPUTS.name] = numel(out_shape)
    return counts


POOL_ADAPTIVE_AVG = kind("pool.adaptive_avg", "adaptive average pooling to a larger output", "input elements read",
                         macs=0, fvcore=1, flopcounter=0, full=1)


@define("adaptive_avg_pool", kinds=(POOL_ADAPTIVE_AVG, TALLY_AVG_POOL_OUTPUTS),
        aten=(Aten(("_adaptive_avg_pool2d",), lambda c: adaptive_avg_pool(c.shape(c.args[0]), c.out_shape)),))
def adaptive_avg_pool(x_shape, out_shape, spatial: int = 2) -> dict:
    """Adaptive average pooling: output i along a dim of size ``n`` pooled to ``m`` reads the window
    [floor(i·n/m), ceil((i+1)·n/m)) (PyTorch's AdaptiveAveragePooling.cpp), so windows overlap when
    m does not divide n; the count is the product over dims of the summed window lengths (all inputs
    once when the sizes divide)."""
    reads = numel(x_shape[:-spatial])
    for n, m in zip(x_shape[-spatial:], out_shape[-spatial:]):
        reads = reads * adaptive_window_sum(n, m)
    return {POOL_ADAPTIVE_AVG.name: reads, TALLY_AVG_POOL_OUTPUTS.name: numel(out_shape)}


POOL_ADAPTIVE_MAX = kind("pool.adaptive_max", "adaptive max pooling (CBAM's AdaptiveMaxPool2d; it also writes "
                         "the int64 indices)", "window elements read (the input once when the output size divides it)",
                         macs=0, fvcore=0, flopcounter=0, full=1)


@define("adaptive_max_pool", kinds=(POOL_ADAPTIVE_MAX,),
        aten=(Aten(("adaptive_max_pool2d",), lambda c: adaptive_max_pool(c.shape(c.args[0]), c.out_shape, 2)),
              Aten(("adaptive_max_pool3d",), lambda c: adaptive_max_pool(c.shape(c.args[0]), c.out_shape, 3))))
def adaptive_max_pool(x_shape, out_shape, spatial: int = 2) -> dict:
    """Adaptive max pooling over the last ``spatial`` dims: the windows of adaptive average pooling
    (AdaptiveMaxPooling2d.cpp uses the same start/end indices), one compare per element read, summed
    over the outputs (overlapping windows read shared elements again)."""
    reads = numel(x_shape[:-spatial])
    for n, m in zip(x_shape[-spatial:], out_shape[-spatial:]):
        reads = reads * adaptive_window_sum(n, m)
    return {POOL_ADAPTIVE_MAX.name: reads}


def adaptive_window_sum(n, m):
    """Sum over the ``m`` adaptive windows along a dim of size ``n`` of their lengths; ``n`` when
    ``m`` divides it (``m`` must be concrete, it is the requested output size, unless it is ``n``
    itself: a dim the pooling keeps, as nn.AdaptiveAvgPool2d((None, 1)) does, one element a window)."""
    if n == m:
        return n
    if isinstance(n, int):
        return sum(-(-(i + 1) * n // m) - (i * n // m) for i in range(m))
    sympy = _sympy()
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


LOG_SOFTMAX = kind("softmax.log", "log-softmax elements (max, subtract, exp, sum, subtract the log of the sum; "
                   "one log per row is left out)", "elements", macs=0, fvcore=0, flopcounter=0, full=5)


@define("log_softmax", kinds=(LOG_SOFTMAX,), aten=(Aten(("_log_softmax",), lambda c: log_softmax(c.shape(c.args[0]))),))
def log_softmax(x_shape) -> dict:
    """log_softmax along one dim: x - max - log(sum(exp(x - max))), five ops per element."""
    return {LOG_SOFTMAX.name: numel(x_shape)}


NORM_BATCH = kind("norm.batch", "batch-norm elements (inference statistics: subtract, scale)", "elements normalised",
                  macs=0, fvcore=1, flopcounter=0, full=2)
NORM_LAYER = kind("norm.layer", "layer-norm elements (mean, subtract, square, sum, scale)", "elements normalised",
                  macs=0, fvcore=4, flopcounter=0, full=5)
NORM_GROUP = kind("norm.group", "group-norm elements (mean, subtract, square, sum, scale)", "elements normalised",
                  macs=0, fvcore=4, flopcounter=0, full=5)
NORM_BATCH_STATS = kind("norm.batch_stats", "batch-norm elements with batch statistics (training mode, and "
                        "instance norm, which runs as one: mean, subtract, square, sum, scale)", "elements normalised",
                        macs=0, fvcore=4, flopcounter=0, full=5)
NORM_AFFINE = kind("norm.affine", "elements scaled and shifted by a norm's affine weight and bias",
                   "elements scaled and shifted", macs=0, fvcore=1, flopcounter=0, full=2)


def _batch_norm(c):
    """native_batch_norm(input, weight, bias, running_mean, running_var, training, momentum, eps):
    ``training`` normalises with the batch's own statistics (train mode, F.instance_norm); the
    per-channel work (inverse std, running-statistics update) is O(C) and left out, as it is for
    inference statistics."""
    training = bool(c.args[5]) if len(c.args) > 5 else bool(c.kwargs.get("training", False))
    return norm(NORM_BATCH_STATS if training else NORM_BATCH, c.shape(c.args[0]), c.args[1] is not None)


@define("norm", kinds=(NORM_BATCH, NORM_BATCH_STATS, NORM_LAYER, NORM_GROUP, NORM_AFFINE),
        aten=(Aten(("native_batch_norm",), _batch_norm, (NORM_BATCH, NORM_BATCH_STATS, NORM_AFFINE)),
              Aten(("_native_batch_norm_legit_no_training",),
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
INTERPOLATE_BICUBIC = kind("interpolate.bicubic", "bicubic interpolation (the 4x4 neighbours weighed and summed: "
                           "16 products, 15 sums, as bilinear's 4 and 3)", "output elements",
                           macs=0, fvcore=0, flopcounter=0, full=31)
INTERPOLATE_MODES = {"nearest": INTERPOLATE_NEAREST, "bilinear": INTERPOLATE_BILINEAR, "bicubic": INTERPOLATE_BICUBIC}


@define("interpolate", kinds=(INTERPOLATE_NEAREST, INTERPOLATE_BILINEAR, INTERPOLATE_BICUBIC),
        aten=(Aten(("upsample_nearest2d",), lambda c: interpolate("nearest", c.out_shape), (INTERPOLATE_NEAREST,)),
              Aten(("upsample_bilinear2d",), lambda c: interpolate("bilinear", c.out_shape), (INTERPOLATE_BILINEAR,)),
              Aten(("upsample_bicubic2d",), lambda c: interpolate("bicubic", c.out_shape), (INTERPOLATE_BICUBIC,))))
def interpolate(mode: str, out_shape) -> dict:
    """F.interpolate to ``out_shape``; ``mode`` as PyTorch names it ("nearest", "bilinear", "bicubic")."""
    if mode not in INTERPOLATE_MODES:
        raise ValueError(f"interpolate mode {mode!r} has no op kind (known: {', '.join(INTERPOLATE_MODES)})")
    return {INTERPOLATE_MODES[mode].name: numel(out_shape)}


COPY_KIND = kind("copy", "data movement, gathers and fills (clone, cat, stack, contiguous, repeat, roll, flip, pad, "
                 "index, gather, embedding, im2col, pixel_shuffle, full, arange)",
                 "elements written without arithmetic", macs=0, fvcore=0, flopcounter=0, full=0)

_ATEN_COPIES = ("cat", "clone", "repeat", "full", "new_full", "zeros", "ones", "new_zeros", "new_ones", "fill_",
                "zero_", "copy_", "_to_copy", "diag_embed", "diag", "zeros_like", "ones_like", "full_like",
                "constant_pad_nd", "scalar_tensor")
# Rearrangements and padding modes: every output element is one input element, moved.
_ATEN_MOVES = ("stack", "roll", "flip", "pixel_shuffle", "pixel_unshuffle", "im2col", "reflection_pad1d",
               "reflection_pad2d", "reflection_pad3d", "replication_pad1d", "replication_pad2d", "replication_pad3d")
# Gathers: every output element is read at a computed index (Swin's relative position bias table[index]).
_ATEN_GATHERS = ("index", "gather", "index_select", "embedding")
# Range fills: values generated from the position, no tensor read.
_ATEN_RANGES = ("arange", "linspace")


@define("copy", kinds=(COPY_KIND,), aten=(Aten(_ATEN_COPIES + _ATEN_MOVES + _ATEN_GATHERS + _ATEN_RANGES,
                                               lambda c: copy(c.out_shape)),))
def copy(out_shape) -> dict:
    """Pure data movement (clone, cat, stack, roll, constant or reflection pad, im2col, pixel shuffle),
    gathers (index, gather, index_select, embedding) and fills (full, zeros, arange): elements written."""
    return {COPY_KIND.name: numel(out_shape)}


def _native_dropout(c):
    """native_dropout(input, p, train) (the fused dropout of CUDA tensors and of decompositions; the
    CPU's F.dropout runs bernoulli_, div_ and mul instead, each counted on its own)."""
    train = c.args[2] if len(c.args) > 2 else c.kwargs.get("train")
    return dropout(c.shape(c.args[0]), train is None or bool(train))


@define("dropout", kinds=(RANDOM, MUL, COPY_KIND), aten=(Aten(("native_dropout",), _native_dropout),))
def dropout(x_shape, train: bool) -> dict:
    """aten.native_dropout -> (output, bool mask), as its kernel runs (torch's profiler shows it):
    training, a Bernoulli mask drawn per element, the input multiplied by it and by 1/(1-p), and the
    mask converted to bool (a copy); otherwise a mask of ones and a clone of the input (copies)."""
    n = numel(x_shape)
    if train:
        return {RANDOM.name: n, MUL.name: 2 * n, COPY_KIND.name: n}
    return {COPY_KIND.name: 2 * n}
