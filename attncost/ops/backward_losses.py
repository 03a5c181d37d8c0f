"""Losses a training step ends with, forward and backward, and the variance reductions (torch 2.13,
CPU): ``nll_loss`` (cross-entropy is ``_log_softmax`` then ``nll_loss``), ``mse_loss``,
``smooth_l1_loss``, ``binary_cross_entropy`` (and ``_with_logits``), ``var`` and ``std``. L1 loss runs
``sub``, ``abs``, ``mean`` and its gradient ``sgn``: forward primitives count it.

Counts use the elementwise and reduction kinds, per element of the loss's input (``n``), as the
kernels in aten/src/ATen/native/Loss.cpp, LossNLL.cpp and ReduceOps.cpp compute them; a mean's one
division of the total, and the O(1) work of a scalar loss, are left out as for every reduction.
``reduction`` is aten's enum: 0 none, 1 mean, 2 sum. These are O(n) ops on the network's output,
negligible beside its products, but never unknown.
"""

from __future__ import annotations

from .pointwise import (ABS, ADD, CLAMP, COMPARE, COPY_KIND, DIV, EXP, MUL, NEG, REDUCE_MEAN, REDUCE_SUM, SQRT, SUB,
                        WHERE)
from .backward_pointwise import LOG, SIGN
from .primitive import Aten, define
from .shapes import numel

_NONE, _MEAN, _SUM = 0, 1, 2


def _reduced(counts: dict, n, reduction: int) -> dict:
    """``counts`` plus the reduction of ``n`` elements a mean or sum makes (none: nothing)."""
    if reduction == _MEAN:
        counts[REDUCE_MEAN.name] = counts.get(REDUCE_MEAN.name, 0) + n
    elif reduction == _SUM:
        counts[REDUCE_SUM.name] = counts.get(REDUCE_SUM.name, 0) + n
    return counts


def _add(counts: dict, kind_, n) -> dict:
    counts[kind_.name] = counts.get(kind_.name, 0) + n
    return counts


@define("nll_loss", kinds=(NEG, MUL, REDUCE_MEAN, REDUCE_SUM),
        aten=(Aten(("nll_loss_forward", "nll_loss2d_forward"),
                   lambda c: nll_loss(c.shape(c.args[1]), weighted=c.args[2] is not None, reduction=int(c.args[3]))),))
def nll_loss(target_shape, *, weighted: bool, reduction: int) -> dict:
    """nll_loss(log_probs, target): each target's log-probability picked and negated (weighted: a
    product), then averaged or summed over the targets."""
    n = numel(target_shape)
    counts = {NEG.name: n}
    if weighted:
        counts[MUL.name] = n
    return _reduced(counts, n, reduction)


def _nll_loss_backward(c):
    """nll_loss[2d]_backward(grad_output, self, target, weight, reduction, ignore_index, total_weight)."""
    return nll_loss_backward(c.shape(c.args[1]), c.shape(c.args[2]), weighted=c.args[3] is not None,
                             reduction=int(c.args[4]))


@define("nll_loss_backward", kinds=(COPY_KIND, NEG, MUL, DIV),
        aten=(Aten(("nll_loss_backward", "nll_loss2d_backward"), _nll_loss_backward),))
def nll_loss_backward(input_shape, target_shape, *, weighted: bool, reduction: int) -> dict:
    """The log-probabilities' gradient: zeros (a copy per input element), then -g written at each
    target (weighted: times its weight; mean: divided by the total weight)."""
    n = numel(target_shape)
    counts = {COPY_KIND.name: numel(input_shape), NEG.name: n}
    if weighted:
        counts[MUL.name] = n
    if reduction == _MEAN:
        counts[DIV.name] = n
    return counts


@define("mse_loss", kinds=(SUB, MUL, REDUCE_MEAN, REDUCE_SUM),
        aten=(Aten(("mse_loss",), lambda c: mse_loss(c.shape(c.args[0]), int(c.args[2]) if len(c.args) > 2
                                                     else int(c.kwargs.get("reduction", _MEAN)))),))
def mse_loss(x_shape, reduction: int = _MEAN) -> dict:
    """(x - y)²: a subtract and a product per element, then the reduction."""
    n = numel(x_shape)
    return _reduced({SUB.name: n, MUL.name: n}, n, reduction)


@define("mse_loss_backward", kinds=(SUB, MUL),
        aten=(Aten(("mse_loss_backward",), lambda c: mse_loss_backward(c.shape(c.args[1]))),))
def mse_loss_backward(x_shape) -> dict:
    """dx = 2·(x - y)·g (a mean's 1/n folded into the 2): a subtract and two products per element."""
    n = numel(x_shape)
    return {SUB.name: n, MUL.name: 2 * n}


@define("smooth_l1_loss", kinds=(SUB, ABS, COMPARE, MUL, WHERE, REDUCE_MEAN, REDUCE_SUM),
        aten=(Aten(("smooth_l1_loss",), lambda c: smooth_l1_loss(c.shape(c.args[0]), int(c.args[2]) if len(c.args) > 2
                                                                 else int(c.kwargs.get("reduction", _MEAN)))),))
def smooth_l1_loss(x_shape, reduction: int = _MEAN) -> dict:
    """|d| < β ? 0.5·d²/β : |d| - 0.5·β with d = x - y: per element two subtracts, an abs, a compare,
    two products and a select; then the reduction."""
    n = numel(x_shape)
    return _reduced({SUB.name: 2 * n, ABS.name: n, COMPARE.name: n, MUL.name: 2 * n, WHERE.name: n}, n, reduction)


@define("smooth_l1_loss_backward", kinds=(SUB, COMPARE, DIV, SIGN, WHERE, MUL),
        aten=(Aten(("smooth_l1_loss_backward",), lambda c: smooth_l1_loss_backward(c.shape(c.args[1]))),))
def smooth_l1_loss_backward(x_shape) -> dict:
    """dx = g·(|d| < β ? d/β : sign(d)): per element a subtract, a compare, a divide, a sign, a select
    and the product with the gradient."""
    n = numel(x_shape)
    return {SUB.name: n, COMPARE.name: n, DIV.name: n, SIGN.name: n, WHERE.name: n, MUL.name: n}


def _bce(c):
    """binary_cross_entropy(self, target, weight=None, reduction=Mean)."""
    weight = c.args[2] if len(c.args) > 2 else c.kwargs.get("weight")
    reduction = int(c.args[3]) if len(c.args) > 3 else int(c.kwargs.get("reduction", _MEAN))
    return binary_cross_entropy(c.shape(c.args[0]), weighted=weight is not None, reduction=reduction)


@define("binary_cross_entropy", kinds=(LOG, CLAMP, MUL, SUB, REDUCE_MEAN, REDUCE_SUM),
        aten=(Aten(("binary_cross_entropy",), _bce),))
def binary_cross_entropy(x_shape, *, weighted: bool = False, reduction: int = _MEAN) -> dict:
    """(y - 1)·max(log(1 - x), -100) - y·max(log(x), -100) (Loss.cpp): per element two logs, two
    clamps, two products and two subtracts (weighted: one more product); then the reduction."""
    n = numel(x_shape)
    counts = {LOG.name: 2 * n, CLAMP.name: 2 * n, MUL.name: 2 * n + (n if weighted else 0), SUB.name: 2 * n}
    return _reduced(counts, n, reduction)


def _bce_backward(c):
    """binary_cross_entropy_backward(grad_output, self, target, weight=None, reduction=Mean)."""
    weight = c.args[3] if len(c.args) > 3 else c.kwargs.get("weight")
    return binary_cross_entropy_backward(c.shape(c.args[1]), weighted=weight is not None)


@define("binary_cross_entropy_backward", kinds=(SUB, MUL, CLAMP, DIV),
        aten=(Aten(("binary_cross_entropy_backward",), _bce_backward),))
def binary_cross_entropy_backward(x_shape, *, weighted: bool = False) -> dict:
    """dx = g·(x - y)/max((1 - x)·x, ε): per element two subtracts, two products, a clamp and a
    divide (weighted: one more product)."""
    n = numel(x_shape)
    return {SUB.name: 2 * n, MUL.name: 2 * n + (n if weighted else 0), CLAMP.name: n, DIV.name: n}


def _bce_logits(c):
    """binary_cross_entropy_with_logits(self, target, weight=None, pos_weight=None, reduction=Mean)."""
    arg = lambda name, position: c.kwargs.get(name, c.args[position] if len(c.args) > position else None)
    reduction = arg("reduction", 4)
    return binary_cross_entropy_with_logits(c.shape(c.args[0]), weighted=arg("weight", 2) is not None,
                                            pos_weighted=arg("pos_weight", 3) is not None,
                                            reduction=_MEAN if reduction is None else int(reduction))


@define("binary_cross_entropy_with_logits", kinds=(SUB, MUL, ADD, EXP, LOG, ABS, CLAMP, REDUCE_MEAN, REDUCE_SUM),
        aten=(Aten(("binary_cross_entropy_with_logits",), _bce_logits),))
def binary_cross_entropy_with_logits(x_shape, *, weighted: bool = False, pos_weighted: bool = False,
                                     reduction: int = _MEAN) -> dict:
    """(1 - y)·x - log σ(x), log σ(x) = min(x, 0) - log1p(exp(-|x|)) (Loss.cpp): per element two
    subtracts, a product, an abs, an exp, a log, a clamp and an add; pos_weight scales the log term
    (two products, an add), weight the loss (a product); then the reduction. Its gradient runs as
    ``sigmoid``, ``sub``, ``mul``: forward primitives."""
    n = numel(x_shape)
    counts = {SUB.name: 2 * n, MUL.name: n, ABS.name: n, EXP.name: n, LOG.name: n, CLAMP.name: n, ADD.name: n}
    if pos_weighted:
        _add(counts, MUL, 2 * n)
        _add(counts, ADD, n)
    if weighted:
        _add(counts, MUL, n)
    return _reduced(counts, n, reduction)


def _variance(root: bool):
    def counts(c):
        return variance(c.shape(c.args[0]), c.out_shape, root=root)
    return counts


@define("variance", kinds=(REDUCE_MEAN, SUB, MUL, REDUCE_SUM, DIV, SQRT),
        aten=(Aten(("var",), _variance(False), (REDUCE_MEAN, SUB, MUL, REDUCE_SUM, DIV)),
              Aten(("std",), _variance(True))))
def variance(x_shape, out_shape, *, root: bool = False) -> dict:
    """var (std: and a square root per output) over some dims: the mean (every element read), the
    deviations, their squares and their sum, divided by n - correction once per output."""
    n, outputs = numel(x_shape), numel(out_shape)
    counts = {REDUCE_MEAN.name: n, SUB.name: n, MUL.name: n, REDUCE_SUM.name: n, DIV.name: outputs}
    if root:
        counts[SQRT.name] = outputs
    return counts
