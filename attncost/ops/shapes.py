"""Shape arithmetic shared by the op formulas: products, broadcasting, output sizes. Ints stay ints;
sympy only for symbolic sizes (:mod:`attncost.algebra`)."""

from __future__ import annotations

from functools import reduce
from operator import mul

from ..algebra import sympy as _sympy

Shape = tuple


def numel(shape: Shape):
    """Number of elements of a shape (1 for a scalar)."""
    return reduce(mul, shape, 1)


def broadcast(*shapes: Shape) -> Shape:
    """NumPy broadcasting of symbolic shapes: a dimension of 1 stretches to the other."""
    ndim = max(len(s) for s in shapes)
    padded = [(1,) * (ndim - len(s)) + tuple(s) for s in shapes]
    out = []
    for dims in zip(*padded):
        others = [d for d in dims if d != 1]
        out.append(others[0] if others else 1)
    return tuple(out)


def conv_output_size(size, kernel, stride=1, padding=0, dilation=1):
    """floor((size + 2*padding - dilation*(kernel-1) - 1) / stride) + 1 (PyTorch Conv2d docs)."""
    numerator = size + 2 * padding - dilation * (kernel - 1) - 1
    if isinstance(numerator, int) and isinstance(stride, int):
        return numerator // stride + 1
    sympy = _sympy()
    return sympy.floor(sympy.sympify(numerator) / stride) + 1


def pool_output_size(size, kernel, stride, padding=0, dilation=1, ceil_mode=False):
    """Pooling output size (PyTorch MaxPool2d/AvgPool2d docs), ceil_mode included."""
    numerator = size + 2 * padding - dilation * (kernel - 1) - 1
    if not ceil_mode:
        return conv_output_size(size, kernel, stride, padding, dilation)
    if all(isinstance(v, int) for v in (numerator, stride, size, padding)):
        out = -(-numerator // stride) + 1
        return out - 1 if (out - 1) * stride >= size + padding else out
    sympy = _sympy()
    out = sympy.ceiling(sympy.sympify(numerator) / stride) + 1
    # The last window must start inside the input or left padding (PyTorch's rule). Since
    # (out - 1) * stride < numerator + stride, that can only bite when padding + stride exceeds the
    # dilated kernel; otherwise no Piecewise is needed.
    if padding + stride <= dilation * (kernel - 1) + 1:
        return out
    return sympy.Piecewise((out - 1, (out - 1) * stride >= size + padding), (out, True))


def normalize_dim(dim: int, ndim: int) -> int:
    return dim + ndim if dim < 0 else dim
