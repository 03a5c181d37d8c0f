"""ATen's layout rules on symbolic shapes: row-major strides, contiguity, which reshapes are views,
expand's strides and when matmul folds its batch into rows. No torch, no recording.

A size is an int, a sympy Integer or a sympy expression; a symbolic size is taken to be larger than 1
(the symbolic formula's claim). Ints are compared as ints; sympy is imported only for a symbolic
size (:mod:`attncost.algebra`). A stride of None is an unknown layout, which is never contiguous and
never viewed. Every rule here is checked against PyTorch in tests/cost/test_reshape.py and
tests/cost/test_matmul_linear.py.
"""

from __future__ import annotations

from ..algebra import as_int, equal as same, is_one, sympy as _sympy
from ..ops.shapes import numel

__all__ = ["alias_strides", "contiguous_strides", "expand_strides", "folds", "is_contiguous", "is_one", "same",
           "view_strides"]


def contiguous_strides(shape) -> tuple:
    strides, z = [], 1
    for size in reversed(shape):
        strides.append(z)
        z = z * size
    return tuple(reversed(strides))


def _smaller(small, large) -> bool:
    """``small < large`` for two products of sizes; symbolic sizes are taken to be large: both are
    evaluated exactly with every symbol set to a distinct large integer (no simplification, which
    on products of floors can take seconds)."""
    cs, cl = as_int(small), as_int(large)
    if cs is not None and cl is not None:
        return cs < cl
    sympy = _sympy()
    small, large = sympy.sympify(small), sympy.sympify(large)
    symbols = sorted(small.free_symbols | large.free_symbols, key=str)
    point = {symbol: 10 ** 6 + 7 * i for i, symbol in enumerate(symbols)}
    return bool(small.xreplace(point) < large.xreplace(point))


def is_contiguous(shape, strides, strict: bool = False) -> bool:
    """PyTorch's rule: strides match a row-major layout, ignoring dims of size 1 (unless
    ``strict``)."""
    if any(as_int(s) == 0 or (as_int(s) is None and _sympy().sympify(s) == 0) for s in shape):
        return True
    z = 1
    for size, stride in zip(reversed(shape), reversed(strides)):
        if is_one(size) and not strict:
            continue
        if stride is None or not same(stride, z):
            return False
        z = z * size
    return True


def view_strides(shape, strides, new_shape, strict: bool = False):
    """Strides of ``x.view(new_shape)`` for ``x`` of ``shape`` and ``strides``, or None where PyTorch
    cannot make a view (and ``reshape`` copies). ATen's ``computeStride`` rule: each run of dims that
    is contiguous in memory may be split or merged freely. Dims of size 1 never break a run, unless
    ``strict``."""
    if any(s is None for s in strides):
        return None
    if not shape:
        return contiguous_strides(new_shape)
    new_strides = [None] * len(new_shape)
    view_d = len(new_shape) - 1
    chunk_base = strides[-1]
    tensor_numel, view_numel = 1, 1
    for d in range(len(shape) - 1, -1, -1):
        tensor_numel = tensor_numel * shape[d]
        if d == 0 or ((strict or not is_one(shape[d - 1]))
                      and not same(strides[d - 1], tensor_numel * chunk_base)):
            while view_d >= 0 and (_smaller(view_numel, tensor_numel) or is_one(new_shape[view_d])):
                new_strides[view_d] = view_numel * chunk_base
                view_numel = view_numel * new_shape[view_d]
                view_d -= 1
            if not same(view_numel, tensor_numel):
                return None
            if d > 0:
                chunk_base = strides[d - 1]
                tensor_numel, view_numel = 1, 1
    return tuple(new_strides) if view_d == -1 else None


def expand_strides(shape, strides, new_shape) -> tuple:
    """Strides of ``x.expand(new_shape)``: new leading dims and stretched dims of size 1 get stride 0."""
    lead = len(new_shape) - len(shape)
    tail = tuple(0 if is_one(a) and not is_one(b) else st
                 for a, b, st in zip(shape, new_shape[lead:], strides))
    return (0,) * lead + tail


def alias_strides(shape, strides, new_shape) -> tuple:
    """Strides of a zero-copy view of a tensor of ``shape`` and ``strides`` with ``new_shape``: a
    reshape (``view_strides``) or an expand of size-1 dims (stride 0). Anything else gets an unknown
    layout, which later counts as non-contiguous (verification against the tracer catches a wrong
    guess)."""
    new_shape = tuple(new_shape)
    if new_shape == tuple(shape):
        return tuple(strides)
    if same(numel(new_shape), numel(shape)):
        found = view_strides(shape, strides, new_shape)
        if found is not None:
            return found
    elif len(new_shape) == len(shape) and all(a == b or is_one(a) for a, b in zip(shape, new_shape)):
        return expand_strides(shape, strides, new_shape)
    return (None,) * len(new_shape)


def folds(shape, strides, strict: bool = True) -> bool:
    """at::matmul's ``should_fold`` test on the larger operand (3+ dims against a matrix): the dims
    before the last two collapse onto the next, ``stride[i] == stride[i + 1] * size[i + 1]`` for
    i < ndim - 2, so that a reshape to (rows, cols) is a view. ATen does not skip dims of size 1
    here; ``strict=False`` does (as a symbolic size would never be 1), so that a caller can tell
    when a size of 1 alone decides."""
    if any(as_int(s) == 0 for s in shape):
        return True                                   # an empty tensor always folds
    pairs = [(size, stride) for size, stride in zip(shape[:-1], strides[:-1]) if strict or not is_one(size)]
    if any(stride is None for _, stride in pairs):
        return False
    return all(same(pairs[i][1], pairs[i + 1][1] * pairs[i + 1][0]) for i in range(len(pairs) - 1))


def is_dense(shape, strides) -> bool:
    """Whether ``strides`` lay ``shape`` out without gaps or overlaps in some dim order (a permutation
    of a contiguous tensor): what ``clone()`` and ``ones_like`` (preserve_format) keep. Symbolic
    layouts: True only where it holds for every size, the dims taken in the order of their strides for
    generic sizes (every symbol distinct and larger than 1, both orders of the symbols agreeing)."""
    if any(s is None for s in strides):
        return False
    sizes, steps = [as_int(s) for s in shape], [as_int(s) for s in strides]
    if any(v is None for v in sizes + steps):
        return _symbolic_dense(shape, strides)
    expected = 1
    for size, step in sorted((p for p in zip(sizes, steps) if p[0] != 1), key=lambda p: p[1]):
        if step != expected:
            return False
        expected *= size
    return True


def is_channels_last_2d(shape, strides) -> bool:
    """Whether a 4-D tensor's strides read as channels last, as c10's ``is_channels_last_strides_2d_s4``
    decides (c10/core/MemoryFormat.h), which ``suggest_memory_format`` and so ``constant_pad_nd``'s
    output follow: visiting C, W, H, N, each stride at least the span of the dims before it, ambiguous
    N111 layouts read as contiguous. Concrete sizes only (symbolic: False)."""
    if len(shape) != 4 or strides is None:
        return False
    sizes, steps = [as_int(s) for s in shape], [as_int(s) if s is not None else None for s in strides]
    if any(v is None for v in sizes + steps) or steps[1] == 0:
        return False
    least = 0
    for d in (1, 3, 2, 0):
        if sizes[d] == 0 or steps[d] < least:
            return False
        if d == 0 and least == steps[1]:
            return False
        least = steps[d] * (sizes[d] if sizes[d] > 1 else 1)
    return True


def channels_last_strides(shape) -> tuple:
    """Strides of a channels-last (NHWC in memory) 4-D tensor of ``shape`` (N, C, H, W)."""
    n, c, h, w = shape
    return (h * w * c, 1, w * c, c)


def _symbolic_dense(shape, strides) -> bool:
    sympy = _sympy()
    values = [sympy.sympify(v) for v in (*shape, *strides)]
    symbols = sorted({sym for v in values for sym in v.free_symbols}, key=lambda sym: sym.name)
    orders = []
    for order in (symbols, symbols[::-1]):
        numbers = {sym: 1009 + 16 * i for i, sym in enumerate(order)}
        keyed = [(int(sympy.sympify(st).xreplace(numbers)), i) for i, (size, st) in enumerate(zip(shape, strides))
                 if not is_one(size)]
        orders.append([i for _, i in sorted(keyed)])
    if orders[0] != orders[1]:
        return False
    expected = 1
    for i in orders[0]:
        if not same(strides[i], expected):
            return False
        expected = expected * shape[i]
    return True
