"""The backward of each Program op, as autograd runs it on the CPU: the formulas of PyTorch's
``tools/autograd/derivatives.yaml`` and the helpers they call (``torch/csrc/autograd/FunctionsManual.cpp``),
written against the Program's own op methods so that their counts, allocations and reads are the ones
the training tracer records. No torch.

Each ``*_backward`` returns the node's ``backward(program, grads, needs)``: ``grads`` the gradients
of the op's outputs, ``needs`` which inputs want one; it returns one gradient (or None) per input. The
order of the ops inside a node is the order the generated ``Functions.cpp`` runs them in (seen in
the tracer's records): ``mul`` and ``bmm`` compute the second operand's gradient first, ``addmm`` and
``mm`` the first's. Counts of the fused backward ops come from :mod:`attncost.ops.backward`.
"""

from __future__ import annotations

from ..ops import backward as bwd, conv as products
from ..ops.pointwise import COMPARE, DIV, MUL, NEG, POW, REDUCE_SUM, WHERE, OpKind, copy as copy_counts, elementwise
from .autograd import TrainingError, sum_to
from ..algebra import as_int
from .layout import is_one
from .recorder import Tensor
from ..ops.shapes import numel


def _short(kind: OpKind) -> str:
    return kind.name.split(".", 1)[1]


def identity():
    """CloneBackward0, AddBackward0 (alpha 1): the gradient passes to every input as it is."""
    def run(g, grads, needs):
        return [grads[0]] * len(needs)
    return run


def conv_backward(x, w_shape, out_shape, bias: bool, transposed: bool = False, weight=None):
    """ConvolutionBackward0: one ``convolution_backward`` (reads grad, input, weight) writing the
    gradients ``output_mask`` asks for: input, weight, bias. ``weight``: a computed weight tensor
    (``Program.conv_with_weight``), read like the input; a parameter is not memory."""
    def run(g, grads, needs):
        want_bias = bias and needs[2]
        g.count(bwd.conv_backward(x.shape, w_shape, out_shape, grad_input=needs[0], grad_weight=needs[1],
                                  grad_bias=want_bias, transposed=transposed))
        shapes = [s for s, want in ((x.shape, needs[0]), (w_shape, needs[1]), ((w_shape[0],), want_bias)) if want]
        written = iter(g.allocate([grads[0], x] + ([weight] if weight is not None else []), *shapes))
        # the backend's memory format (the input's suggested one) for the input and weight gradients
        gradients = [g.in_suggested_format(x, next(written)) if want else None for want in (needs[0], needs[1])]
        return [*gradients, next(written) if want_bias else None][:len(needs)]
    return run


def norm_backward(kind: str, x, mean, rstd, affine: bool, affine_shape):
    """NativeBatchNormBackward0 (training) / NativeLayerNormBackward0 / NativeGroupNormBackward0: one
    ``native_<kind>_norm_backward`` reading grad, input and the saved statistics, writing the input
    gradient and, as ``output_mask`` asks, the weight and bias gradients (``affine_shape`` each)."""
    def run(g, grads, needs):
        want_affine = affine and any(needs[1:])
        g.count(bwd.norm_backward(kind, x.shape, affine, grad_input=needs[0], grad_affine=want_affine))
        shapes = [x.shape] if needs[0] else []
        shapes += [tuple(affine_shape)] * sum(1 for want in needs[1:] if want)
        written = iter(g.allocate([grads[0], x, mean, rstd], *shapes))
        gradients = [next(written) if want else None for want in needs]
        if needs[0] and kind != "layer":        # empty_like(input, suggest_memory_format())
            gradients[0] = g.in_suggested_format(x, gradients[0])
        return gradients
    return run


def activation_backward(kind: OpKind, saved):
    """``<name>_backward(grad, saved)`` (ReLU's ``threshold_backward``): one output of the grad's shape,
    laid out as its TensorIterator does: ``threshold_backward`` takes the saved result as its first
    operand (``add_const_input(self).add_const_input(grad)``, aten/src/ATen/native/Activation.cpp),
    every other ``<name>_backward`` the grad (``build_borrowing_binary_op(grad_input, grad_output,
    self)``); the first operand's layout wins where they differ."""
    def run(g, grads, needs):
        grad = grads[0]
        g.count(bwd.activation_backward(_short(kind), grad.shape))
        operands = [saved, grad] if _short(kind) == "relu" else [grad, saved]
        return [g.laid_out(g.allocate([grad, saved], grad.shape)[0], operands)]
    return run


def sub_backward():
    """SubBackward0: self's gradient is the grad, other's ``-grad`` (a ``neg``)."""
    def run(g, grads, needs):
        grad = grads[0]
        return [grad, g.unary(NEG, grad) if needs[1] else None]
    return run


def mul_backward(a, b):
    """MulBackward0: other's gradient ``grad * self`` first, then self's ``grad * other``."""
    def run(g, grads, needs):
        grad = grads[0]
        grad_b = g.mul(grad, a) if needs[1] else None
        grad_a = g.mul(grad, b) if needs[0] else None
        return [grad_a, grad_b]
    return run


def scalar_backward(op: OpKind, scalar):
    """MulBackward1 / DivBackward1: ``grad * scalar`` / ``grad / scalar``."""
    def run(g, grads, needs):
        return [g.binary(op, grads[0], scalar)]
    return run


def softmax_backward(out):
    """SoftmaxBackward0: ``_softmax_backward_data(grad, result)``."""
    def run(g, grads, needs):
        grad = grads[0]
        g.count(bwd.softmax_backward(grad.shape))
        return [g.allocate([grad, out], grad.shape)[0]]
    return run


def _restore_dims(g, grad, x_shape, dims, keepdim):
    """``sum_backward``'s first half: the reduced dims put back (one unsqueeze each, views), then expand."""
    if not keepdim:
        for d in sorted(dims):
            shape = (*grad.shape[:d], 1, *grad.shape[d:])
            grad = g.view(grad, shape)
    return g.expand(grad, x_shape)


def sum_backward(x_shape, dims, keepdim):
    """SumBackward1: the gradient unsqueezed and expanded back (views only)."""
    def run(g, grads, needs):
        return [_restore_dims(g, grads[0], x_shape, dims, keepdim)]
    return run


def mean_backward(x_shape, dims, keepdim):
    """MeanBackward1: ``sum_backward(...) / numel`` of the reduced dims (an out-of-place div)."""
    count = 1
    for d in dims:
        count = count * x_shape[d]

    def run(g, grads, needs):
        return [g.binary(DIV, _restore_dims(g, grads[0], x_shape, dims, keepdim), count)]
    return run


def max_dim_backward(x_shape, dim, keepdim, indices):
    """MaxBackward0: ``value_selecting_reduction_backward``: grad and indices unsqueezed (views), a
    ``new_zeros`` of the input's shape, ``scatter`` of the grad into it (out of place)."""
    def run(g, grads, needs):
        grad, index = grads[0], indices
        if not keepdim:
            grad = g.view(grad, (*grad.shape[:dim], 1, *grad.shape[dim:]))
            index = g.view(index, (*index.shape[:dim], 1, *index.shape[dim:]))
        zeros = g.new_zeros(grad, x_shape)
        g.count(bwd.scatter(x_shape, index.shape, inplace=False))
        return [g.allocate([zeros, index, grad], x_shape)[0]]
    return run


def pool_backward(mode: str, x, out_shape, kernel, indices=None):
    """MaxPool2DWithIndicesBackward0 (reads grad, input, indices) / AvgPool2DBackward0 (grad, input)."""
    def run(g, grads, needs):
        grad = grads[0]
        g.count(bwd.pool_backward(mode, x.shape, out_shape, kernel))
        uses = [grad, x] + ([indices] if indices is not None else [])
        return [g.in_suggested_format(x, g.allocate(uses, x.shape)[0])]
    return run


def adaptive_avg_pool_backward(x, out_shape):
    """AdaptiveAvgPool2DBackward0: ``_adaptive_avg_pool2d_backward(grad, self)``."""
    def run(g, grads, needs):
        grad = grads[0]
        g.count(bwd.adaptive_pool_backward("avg", x.shape, out_shape))
        return [g.in_suggested_format(x, g.allocate([grad, x], x.shape)[0])]
    return run


def interpolate_backward(mode: str, x_shape, out_shape):
    """UpsampleNearest2DBackward0 / UpsampleBilinear2DBackward0 / UpsampleBicubic2DBackward0:
    ``upsample_<mode>2d_backward(grad, output_size, input_size)`` (sizes only, nothing saved)."""
    def run(g, grads, needs):
        grad = grads[0]
        g.count(bwd.interpolate_backward(mode, x_shape, out_shape))
        return [g.allocate([grad], x_shape)[0]]
    return run


def repeat_backward(x_shape, reps):
    """RepeatBackward0: ``repeat_backward`` (FunctionsManual.cpp): one sum over dim 0 per new leading
    dim, then, where a dim repeats, the grad reshaped to (repeat, size) pairs and one sum over the
    repeat dims (nothing where no dim repeats)."""
    lead = len(reps) - len(x_shape)
    grad_size, sum_dims = [], []
    for size, rep in zip(x_shape, reps[lead:]):
        if not is_one(rep):
            grad_size.append(rep)
            sum_dims.append(len(grad_size) - 1)
        grad_size.append(size)

    def run(g, grads, needs):
        grad = grads[0]
        for _ in range(lead):
            grad = g.reduce(REDUCE_SUM, grad, 0)
        if sum_dims:
            grad = g.reduce(REDUCE_SUM, g.reshape(grad, grad_size), sum_dims)
        return [grad]
    return run


def split_backward(x_shape, dim):
    """SplitWithSizesBackward0: ``split_with_sizes_backward``: the pieces' gradients concatenated (one
    ``cat``; a piece without a gradient would be zeros first)."""
    def run(g, grads, needs):
        if any(grad is None for grad in grads):
            raise TrainingError("split: a piece without a gradient (its zeros) has no backward yet")
        return [g.cat(list(grads), dim)]
    return run


def unbind_backward(x_shape, dim):
    """UnbindBackward0: ``unbind_backward``: the pieces' gradients stacked along ``dim`` (one ``stack``,
    a copy of every element; a piece without a gradient would be zeros first)."""
    def run(g, grads, needs):
        if any(grad is None for grad in grads):
            raise TrainingError("unbind: a piece without a gradient (its zeros) has no backward yet")
        g.count(copy_counts(x_shape))
        return [g.allocate(list(grads), x_shape)[0]]
    return run


def pad_backward(x_shape, pads):
    """ConstantPadNdBackward0: ``constant_pad_nd(grad, -pads)``; with no positive pad ATen narrows the
    gradient (views) and clones it (``clone`` keeps its dims' order: ``pad`` of zero pads)."""
    def run(g, grads, needs):
        grad = grads[0]
        if any(as_int(p) is None or as_int(p) < 0 for p in pads):
            raise TrainingError("pad: the gradient of a negative or symbolic pad has no backward yet")
        for i in range(len(pads) // 2):
            dim = grad.ndim - 1 - i
            grad = g.slice(grad, dim, pads[2 * i], pads[2 * i] + x_shape[dim])
        return [g.pad(grad, [0] * len(pads))]
    return run


def roll_backward(shifts, dims):
    """RollBackward0: ``grad.roll(-shifts, dims)``."""
    def run(g, grads, needs):
        return [g.roll(grads[0], shifts, dims)]
    return run


def index_backward(x_shape, index):
    """IndexBackward0: ``index_backward``: ``new_zeros`` of the input's shape, then ``index_put`` of
    the gradient into it with ``accumulate=True`` (out of place: a new tensor)."""
    def run(g, grads, needs):
        grad = grads[0]
        zeros = g.new_zeros(grad, x_shape)
        g.count(bwd.index_backward(x_shape, grad.shape))
        return [g.allocate([zeros, index, grad], x_shape)[0]]
    return run


def cat_backward(shapes, dim):
    """CatBackward0: ``cat_tensors_backward``: one slice (a view) of the grad per input."""
    def run(g, grads, needs):
        grad, start, out = grads[0], 0, []
        for shape in shapes:
            stop = start + shape[dim]
            out.append(g.slice(grad, dim, start, stop))
            start = stop
        return out
    return run


def reshape_backward(x_shape):
    """ViewBackward0 / UnsafeViewBackward0 / (un)squeeze: ``grad.reshape(self.sizes())``, a view
    where the grad's strides allow one, else a copy."""
    def run(g, grads, needs):
        return [g.reshape(grads[0], x_shape)]
    return run


def expand_backward(x_shape):
    """ExpandBackward0: ``at::sum_to(grad, self.sizes())``."""
    def run(g, grads, needs):
        return [sum_to(g, grads[0], x_shape)]
    return run


def permute_backward(dims):
    """PermuteBackward0: the inverse permutation (a view)."""
    inverse = [0] * len(dims)
    for i, d in enumerate(dims):
        inverse[d] = i

    def run(g, grads, needs):
        return [g.permute(grads[0], inverse)]
    return run


def slice_backward(x_shape):
    """SliceBackward0: ``slice_backward``: a zeroed tensor of the input's shape, the grad copied in."""
    def run(g, grads, needs):
        grad = grads[0]
        g.count(bwd.slice_backward(x_shape))
        return [g.allocate([grad], x_shape)[0]]
    return run


def select_backward(x_shape):
    """SelectBackward0: ``select_backward``: a zeroed tensor of the input's shape, the grad copied in."""
    def run(g, grads, needs):
        grad = grads[0]
        g.count(bwd.select_backward(x_shape))
        return [g.allocate([grad], x_shape)[0]]
    return run


def transpose_param():
    """TBackward0 of a weight's ``t()`` in F.linear: ``grad.t()`` (a view)."""
    def run(g, grads, needs):
        grad = grads[0]
        return [g.permute(grad, (1, 0))]
    return run


def _mm(g, a, b, param_operand: bool):
    """``a.mm(b)``: counted as the tracer's ``mm`` handler counts it, ``mac.linear`` when ``b`` is a
    parameter (or a view of one), else ``mac.matmul``."""
    out_shape = (a.shape[0], b.shape[1])
    if param_operand:
        g.count(products.linear(a.shape, out_shape, False))
    else:
        g.count(products.matmul(a.shape, b.shape, out_shape))
    return g.allocate([a, b], out_shape)[0]


def addmm_backward(x, w_shape):
    """AddmmBackward0 / MmBackward0 of F.linear (``x @ W.t() + b``): the input's gradient
    ``grad.mm(W)`` (``mm_mat1_backward``: mat2.t() is the parameter), then W.t()'s,
    ``grad.t().mm(x).t()`` (``mm_mat2_backward``'s column-major branch: W.t() is column-major);
    the bias's is the grad itself, summed to (out,) by the engine. Inputs: bias (optional), x, W.t()."""
    def run(g, grads, needs):
        grad = grads[0]
        *bias_need, x_need, w_need = needs
        weight = _Param(w_shape)
        grad_x = _mm(g, grad, weight, True) if x_need else None
        grad_wt = None
        if w_need:
            grad_wt = g.permute(_mm(g, g.permute(grad, (1, 0)), x, False), (1, 0))
        return ([grad] if bias_need else []) + [grad_x, grad_wt]
    return run


class _Param:
    """A parameter operand in a backward product: read, never tracked (parameters are not memory)."""

    __slots__ = ("shape", "storage")

    def __init__(self, shape):
        self.shape, self.storage = tuple(shape), ("param", None)


def mm_backward(a, b):
    """MmBackward0 of two activations: ``mm_mat1_backward`` (``grad.mm(b.t())``), then
    ``mm_mat2_backward`` (``a.t().mm(grad)``), each with its column-major branch."""
    def run(g, grads, needs):
        grad = grads[0]
        grad_a = grad_b = None
        if needs[0]:
            if _column_major(a):
                grad_a = g.permute(_mm(g, b, g.permute(grad, (1, 0)), False), (1, 0))
            else:
                grad_a = _mm(g, grad, g.permute(b, (1, 0)), False)
        if needs[1]:
            if _column_major(b):
                grad_b = g.permute(_mm(g, g.permute(grad, (1, 0)), a, False), (1, 0))
            else:
                grad_b = _mm(g, g.permute(a, (1, 0)), grad, False)
        return [grad_a, grad_b]
    return run


def _column_major(t) -> bool:
    return t.strides[0] == 1 and t.strides[1] == t.shape[0]


def bmm_backward(a, b):
    """BmmBackward0: mat2's gradient ``self.transpose(1, 2).bmm(grad)`` first, then self's
    ``grad.bmm(mat2.transpose(1, 2))``."""
    def run(g, grads, needs):
        grad = grads[0]
        grad_b = g.bmm(g.transpose(a, 1, 2), grad) if needs[1] else None
        grad_a = g.bmm(grad, g.transpose(b, 1, 2)) if needs[0] else None
        return [grad_a, grad_b]
    return run


def as_strided_backward(base, view):
    """AsStridedBackward0: of ``as_strided_`` (``view`` the restrided ``base``), and the grad_fn autograd
    regenerates for a view after an in-place op on it (``VariableHooks::grad_fn``,
    torch/csrc/autograd/variable.cpp, without view replay): ``as_strided_backward`` (FunctionsManual.cpp) on geometries that do not overlap: ``new_zeros``
    of the storage's size (a dense base: its elements), an ``as_strided`` of the view's geometry,
    ``copy_`` of the grad into it, an ``as_strided`` of the base's geometry (the gradient)."""
    elements = numel(base.shape)

    def run(g, grads, needs):
        grad = grads[0]
        g.count(copy_counts((elements,)))
        storage = g.allocate([grad], (elements,))[0]
        g.alias(storage, view.shape, view.strides)
        g.count(copy_counts(view.shape))
        g.record([storage.storage, grad.storage], [])
        return [g.alias(storage, base.shape, base.strides)]
    return run


def copy_slices_backward(base, view, fn):
    """CopySlices (torch/csrc/autograd/functions/tensor.cpp), the base's grad_fn after an in-place op
    on its view ``view``, wrapping that op's own backward ``fn``: a ``new_empty_strided`` of the base's
    geometry, ``copy_`` of the grad into it, an ``as_strided`` of the view's geometry (grad_slice),
    ``fn`` run on ``grad_slice.clone(contiguous)``, and, where the base wants a gradient, ``copy_`` of
    fn's first gradient back into grad_slice: the base's gradient is the whole tensor; the other
    inputs get fn's."""
    def run(g, grads, needs):
        grad = grads[0]
        result = g.allocate([grad], base.shape)[0]
        result = Tensor(base.shape, result.storage, tuple(base.strides))
        g.count(copy_counts(base.shape))
        g.record([result.storage, grad.storage], [])
        grad_slice = g.alias(result, view.shape, view.strides)
        g.count(copy_counts(view.shape))
        clone = g.allocate([grad_slice], view.shape)[0]
        res = fn(g, [clone], list(needs))
        if needs[0]:
            g.count(copy_counts(view.shape))
            g.record([result.storage, res[0].storage], [])
        return [result if needs[0] else None, *res[1:]]
    return run


def div_backward(a, b):
    """DivBackward0 of two tensors (derivatives.yaml ``div.Tensor``): other's gradient first,
    ``div_tensor_other_backward``: ``-grad * ((self / other) / other)`` (two divs, a neg, a mul), then
    self's, ``div_tensor_self_backward``: ``grad / other``."""
    def run(g, grads, needs):
        grad = grads[0]
        grad_b = None
        if needs[1]:
            quotient = g.div(g.div(a, b), b)
            grad_b = g.mul(g.unary(NEG, grad), quotient)
        grad_a = g.div(grad, b) if needs[0] else None
        return [grad_a, grad_b]
    return run


def pow_backward(x, exponent):
    """PowBackward0 (``pow.Tensor_Scalar``): ``pow_backward`` (FunctionsManual.cpp): ``zeros_like(self)``
    for exponent 0, else ``grad * (exponent * self.pow(exponent - 1))`` (a pow, a mul by the number, a
    mul)."""
    def run(g, grads, needs):
        grad = grads[0]
        if exponent == 0:
            g.count(copy_counts(x.shape))
            return [g.allocate([x], x.shape)[0]]
        return [g.mul(grad, g.binary(MUL, g.binary(POW, x, exponent - 1), exponent))]
    return run


def sqrt_backward(result):
    """SqrtBackward0: ``grad / (2 * result)`` (a mul by the number, then a div)."""
    def run(g, grads, needs):
        return [g.div(grads[0], g.binary(MUL, result, 2))]
    return run


def maximum_backward(a, b):
    """MaximumBackward0 (derivatives.yaml ``maximum``): other's gradient first, then self's, each
    ``at::where(self == other, grad / 2, grad).masked_fill_(self <cmp> other, 0)`` (``>`` for other,
    ``<`` for self): a div, an eq, a where, a comparison and an in-place masked_fill."""
    def run(g, grads, needs):
        grad = grads[0]

        def share():
            halved = g.binary(DIV, grad, 2)             # the tracer's records: the div before the eq
            picked = g.where(g.binary(COMPARE, a, b), halved, grad)
            g.binary(WHERE, picked, g.binary(COMPARE, a, b), inplace=True)
            return picked
        grad_b = share() if needs[1] else None
        grad_a = share() if needs[0] else None
        return [grad_a, grad_b]
    return run


def grid_sample_backward(mode: str, x, grid, out_shape):
    """GridSampler2DBackward0: one ``grid_sampler_2d_backward`` (reads grad, input, grid) writing the
    input's gradient where asked (``output_mask[0]``), then the grid's."""
    def run(g, grads, needs):
        g.count(bwd.grid_sample_backward(mode, x.shape, grid.shape, out_shape, grad_input=needs[0],
                                         grad_grid=needs[1]))
        shapes = [s for s, want in ((x.shape, needs[0]), (grid.shape, needs[1])) if want]
        written = iter(g.allocate([grads[0], x, grid], *shapes))
        return [next(written) if want else None for want in needs]
    return run


def affine_grid_backward(grid_shape):
    """AffineGridGeneratorBackward0 (2-D, align_corners=False): ``affine_grid_generator_4D_backward``
    (aten/src/ATen/native/AffineGridGenerator.cpp): ``make_base_grid_4D`` (an empty (N, H, W, 3); its
    x column a copy of ``linspace(-1, 1, W) * (W - 1) / W``, its y column of the same over H
    (``unsqueeze_``), its last column ``fill_(1)``), then ``base.view(N, HW, 3).transpose(1, 2)``
    bmm ``grad.reshape(N, HW, 2)``, transposed back: theta's gradient (N, 2, 3)."""
    n, h, w, _ = grid_shape

    def linspace(g, steps):
        g.count(copy_counts((steps,)))
        line = g.allocate([], (steps,))[0]
        return g.binary(DIV, g.binary(MUL, line, steps - 1), steps)

    def run(g, grads, needs):
        grad = grads[0]
        base = g.allocate([], (n, h, w, 3))[0]
        column = g.select(base, 3, 0)
        xs = linspace(g, w)
        g.count(copy_counts(column.shape))
        g.record([base.storage, xs.storage], [])
        column = g.select(base, 3, 1)
        ys = linspace(g, h)
        g.record([ys.storage], [])                      # unsqueeze_(-1)
        g.count(copy_counts(column.shape))
        g.record([base.storage, ys.storage], [])
        column = g.select(base, 3, 2)
        g.count(copy_counts(column.shape))
        g.record([base.storage], [])                    # fill_(1)
        rows = g.transpose(g.view(base, (n, h * w, 3)), 1, 2)
        product = g.bmm(rows, g.reshape(grad, (n, h * w, 2)))
        return [g.transpose(product, 1, 2)]
    return run


def index_select_backward(x_shape, index):
    """IndexSelectBackward0: ``index_select_backward`` (FunctionsManual.cpp): ``new_zeros`` of the
    input's shape, then ``index_add`` of the gradient into it (out of place under a dispatch mode,
    which makes the tensors subclass-like: a new tensor)."""
    def run(g, grads, needs):
        grad = grads[0]
        zeros = g.new_zeros(grad, x_shape)
        g.count(bwd.scatter_add(x_shape, grad.shape, inplace=False))
        return [g.allocate([zeros, index, grad], x_shape)[0]]
    return run


def unfold_backward(x_shape):
    """UnfoldBackward0: one ``unfold_backward(grad, self.sizes(), dim, size, step)``, a zeroed tensor
    of the input's shape with every window's gradient added in."""
    def run(g, grads, needs):
        grad = grads[0]
        g.count(bwd.unfold_backward(x_shape, grad.shape))
        return [g.allocate([grad], x_shape)[0]]
    return run


def masked_fill_backward(mask):
    """MaskedFillBackward0 (``masked_fill(_).Scalar``): ``grad.masked_fill(mask, 0)``, out of place:
    ATen's ``masked_fill`` clones the grad contiguous and fills that (one op to the dispatch mode)."""
    def run(g, grads, needs):
        grad = grads[0]
        g.count(elementwise(WHERE, grad.shape))
        return [g.allocate([grad, mask], grad.shape)[0]]
    return run
