"""The strides of an elementwise op's output, as ATen's TensorIterator lays it out. No torch.

Every program follows this rule for its elementwise ops: a layout decides whether a later
``reshape`` is a view or a copy (a channels-last map, a self-attention result viewed back to
(N, C, H, W), stays channels last through the ops after it), and in training the gradients autograd
computes take their layouts from the forward's tensors (``torch.ones_like`` keeps a dense output's
layout, an elementwise op keeps its operands').

Followed: ``aten/src/ATen/TensorIterator.cpp``, ``compute_fast_setup_type`` (only where every operand
has the output's shape: every operand contiguous: contiguous; every operand non-overlapping and dense
with the same strides: those) and
``reorder_dimensions`` (otherwise: dims ordered by the operands' strides, first operand first,
broadcast dims skipped, equal strides broken by size), then dense strides in that order.
"""

from __future__ import annotations

from ..algebra import as_int
from .layout import contiguous_strides, is_contiguous, is_dense


def _ints(values):
    out = [as_int(v) if v is not None else None for v in values]
    return None if any(v is None for v in out) else out


def iterator_strides(out_shape, operands) -> tuple:
    """Output strides of an elementwise op over ``operands`` ((shape, strides) each, broadcast to
    ``out_shape``). Symbolic sizes: the layout TensorIterator picks for generic sizes (every symbol
    larger than 1, the symbols distinct), found by deciding on two such assignments of numbers, the
    symbols ordered one way and the other; where the two disagree (the choice depends on which size is
    larger) or a stride is unknown, contiguous."""
    concrete = _decide(out_shape, operands)
    if concrete is not None:
        return _strides_of(concrete, out_shape, operands)
    generic = [_generic(out_shape, operands, order) for order in (1, -1)]
    if generic[0] is None or generic[0] != generic[1]:
        return contiguous_strides(out_shape)
    return _strides_of(generic[0], out_shape, operands)


def _strides_of(decision, out_shape, operands) -> tuple:
    """The strides a decision of :func:`_decide` stands for, on the (possibly symbolic) ``out_shape``."""
    if decision == "contiguous":
        return contiguous_strides(out_shape)
    if decision == "first":
        return tuple(operands[0][1])
    strides, running = [0] * len(out_shape), 1
    for dim in decision:
        strides[dim] = running
        running = running * out_shape[dim]
    return tuple(strides)


def _generic(out_shape, operands, order: int):
    """:func:`_decide` on numbers standing for the symbols: distinct, large, in name order (``order`` 1)
    or reversed (-1). None where a stride is unknown."""
    from ..algebra import sympy as _sympy

    sympy = _sympy()
    values = list(out_shape) + [v for shape, strides in operands for v in (*shape, *(strides or (None,)))]
    if any(v is None for v in values):
        return None
    symbols = sorted({sym for v in values if as_int(v) is None for sym in sympy.sympify(v).free_symbols},
                     key=lambda sym: sym.name)[::order]
    numbers = {sym: 1009 + 16 * i for i, sym in enumerate(symbols)}

    def number(v):
        return v if as_int(v) is not None else int(sympy.sympify(v).xreplace(numbers))

    shape = tuple(number(v) for v in out_shape)
    ops = [(tuple(number(v) for v in op_shape), tuple(number(v) for v in op_strides))
           for op_shape, op_strides in operands]
    return _decide(shape, ops)


def _decide(out_shape, operands):
    """TensorIterator's choice for concrete sizes: ``"contiguous"``, ``"first"`` (the first operand's
    strides) or the dim order, fastest first, of dense output strides; None where a size is symbolic."""
    shape = _ints(out_shape)
    ops = []
    for op_shape, op_strides in operands:
        sizes, steps = _ints(op_shape), _ints(op_strides) if op_strides is not None else None
        if sizes is None or steps is None or shape is None:
            return None
        lead = len(shape) - len(sizes)
        padded = [0] * lead + [0 if s == 1 and o != 1 else st for s, st, o in zip(sizes, steps, shape[lead:])]
        ops.append((sizes, steps, padded, lead == 0 and sizes == shape))
    first = ops[0]
    if all(full for *_, full in ops):           # compute_fast_setup_type: only where every shape is the output's
        if all(is_contiguous(s, st) for s, st, _, _ in ops):
            return "contiguous"
        if all(st == first[1] for _, st, _, _ in ops) and is_dense(shape, first[1]):
            return "first"
    ndim = len(shape)
    perm = list(range(ndim - 1, -1, -1))           # perm[0] is the fastest-moving dim

    def should_swap(dim0, dim1) -> int:
        for _, _, strides, _ in ops:
            s0, s1 = strides[dim0], strides[dim1]
            if s0 == 0 or s1 == 0:
                continue
            if s0 < s1:
                return -1
            if s0 > s1:
                return 1
            if shape[dim0] > shape[dim1]:
                return 1
        return 0

    for i in range(1, ndim):
        dim1 = i
        for dim0 in range(i - 1, -1, -1):
            comparison = should_swap(perm[dim0], perm[dim1])
            if comparison > 0:
                perm[dim0], perm[dim1] = perm[dim1], perm[dim0]
                dim1 = dim0
            elif comparison < 0:
                break
    return tuple(perm)
