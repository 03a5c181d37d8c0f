"""Convolution and fully-connected formulas.

Conv MACs = N * Cout * prod(out spatial) * (Cin/groups) * prod(kernel); bias adds = output elements.
Linear MACs = rows * in_features * out_features; bias adds = rows * out_features.
"""

from __future__ import annotations

from .registry import op_formula
from .shapes import numel


@op_formula("conv")
def conv(x_shape, w_shape, out_shape, bias: bool, transposed: bool = False) -> dict:
    """Convolution of any dimensionality; ``w_shape`` is (Cout, Cin/groups, *kernel) or, transposed,
    (Cin, Cout/groups, *kernel), whose MACs are counted per input element instead."""
    if transposed:
        macs = numel(x_shape) * numel(w_shape[1:])
    else:
        macs = numel(out_shape) * numel(w_shape[1:])
    counts = {"mac.conv": macs}
    if bias:
        counts["bias.add"] = numel(out_shape)
    return counts


@op_formula("linear")
def linear(x_shape, out_shape, bias: bool) -> dict:
    """y = x W^T + b over the last dimension; rows are all leading dimensions."""
    rows = numel(out_shape[:-1])
    counts = {"mac.linear": rows * x_shape[-1] * out_shape[-1]}
    if bias:
        counts["bias.add"] = numel(out_shape)
    return counts


@op_formula("matmul")
def matmul(a_shape, b_shape, out_shape) -> dict:
    """Batched or plain matrix product: output elements x contracted dimension."""
    return {"mac.matmul": numel(out_shape) * a_shape[-1]}
