"""Elementwise, reduction, pooling, softmax, normalisation, interpolation and copy formulas."""

from __future__ import annotations

from .registry import op_formula
from .shapes import numel


@op_formula("elementwise")
def elementwise(name: str, out_shape) -> dict:
    """Unary or (broadcast) binary elementwise op: one op per output element."""
    return {f"elementwise.{name}": numel(out_shape)}


@op_formula("reduce")
def reduce(name: str, x_shape) -> dict:
    """Full or partial reduction (mean, sum, max): every input element is read once."""
    return {f"reduce.{name}": numel(x_shape)}


@op_formula("pool")
def pool(name: str, out_shape, window) -> dict:
    """Windowed pooling: each output reads ``prod(window)`` elements (padding included)."""
    return {f"pool.{name}": numel(out_shape) * numel(window)}


@op_formula("global_avg_pool")
def global_avg_pool(x_shape) -> dict:
    """Average over H and W to 1x1 (adaptive_avg_pool2d(x, 1)): every input element read once."""
    return {"pool.global_avg": numel(x_shape)}


@op_formula("adaptive_avg_pool")
def adaptive_avg_pool(x_shape, out_shape) -> dict:
    """Adaptive average pooling, sizes divisible: each output reads (H/oh)*(W/ow) = all inputs once."""
    return {"pool.adaptive_avg": numel(x_shape)}


@op_formula("softmax")
def softmax(x_shape) -> dict:
    return {"softmax": numel(x_shape)}


@op_formula("norm")
def norm(name: str, x_shape, affine: bool) -> dict:
    """Batch/layer/group norm: every element normalised, and scaled+shifted if affine."""
    counts = {f"norm.{name}": numel(x_shape)}
    if affine:
        counts["norm.affine"] = numel(x_shape)
    return counts


@op_formula("interpolate")
def interpolate(mode: str, out_shape) -> dict:
    return {f"interpolate.{mode}": numel(out_shape)}


@op_formula("copy")
def copy(out_shape) -> dict:
    """Pure data movement (clone, cat, contiguous, repeat): elements written, no arithmetic."""
    return {"copy": numel(out_shape)}
