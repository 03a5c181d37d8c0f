"""Convolution, fully-connected and matrix-product primitives.

Conv MACs = N * Cout * prod(out spatial) * (Cin/groups) * prod(kernel); bias adds = output elements.
Linear MACs = rows * in_features * out_features; bias adds = rows * out_features.
Tallies (category "tally": work counted again, weight 0 where it is already weighed): a conv's bias
adds, and a linear layer's rows * (in_features - 1) * out_features dot-product additions.
Matmul MACs = output elements * contracted dimension.
A linear layer is told from a matmul by whether the weight operand is a module parameter (its
storage), never by class names.
"""

from __future__ import annotations

from .pointwise import ADD, MUL, elementwise
from .primitive import Aten, define, kind
from .shapes import numel

MAC_CONV = kind("mac.conv", "convolution multiply-accumulates", "N·Cout·∏out·(Cin/groups)·∏kernel "
                "(transposed: per input element)", macs=1, fvcore=1, flopcounter=2, full=2)
MAC_LINEAR = kind("mac.linear", "fully-connected multiply-accumulates", "rows·in·out",
                  macs=1, fvcore=1, flopcounter=2, full=2)
MAC_MATMUL = kind("mac.matmul", "matrix-product multiply-accumulates (mm, bmm, einsum contractions)",
                  "output elements × contracted dim", macs=1, fvcore=1, flopcounter=2, full=2)
BIAS_ADD = kind("bias.add", "bias additions of conv and linear layers", "output elements of a biased conv/linear",
                macs=0, fvcore=0, flopcounter=0, full=1)
# Tallies (category "tally", weight 0 in the base conventions, which already weigh this work under
# bias.add and mac.linear): parts of a layer's work counted again, for conventions that weigh a part
# differently. thop 0.0.31 counts a conv's bias but never a linear's, and a linear layer's in - 1
# additions per output besides its in multiplications.
TALLY_CONV_BIAS = kind("tally.conv_bias", "a conv's bias additions: the conv part of bias.add, counted again",
                       "output elements of a biased conv", macs=0, fvcore=0, flopcounter=0, full=0)
TALLY_LINEAR_ADDS = kind("tally.linear_adds", "the additions of a linear layer's dot products, in - 1 per output "
                         "(part of mac.linear's work, counted again)", "rows·(in - 1)·out",
                         macs=0, fvcore=0, flopcounter=0, full=0)


def _convolution(c):
    x, w, bias = c.args[:3]
    transposed = bool(c.args[6]) if len(c.args) > 6 else False
    return conv(c.shape(x), c.shape(w), c.out_shape, bias is not None, transposed)


@define("conv", kinds=(MAC_CONV, BIAS_ADD, TALLY_CONV_BIAS), aten=(Aten(("convolution",), _convolution),))
def conv(x_shape, w_shape, out_shape, bias: bool, transposed: bool = False) -> dict:
    """Convolution of any dimensionality; ``w_shape`` is (Cout, Cin/groups, *kernel) or, transposed,
    (Cin, Cout/groups, *kernel), whose MACs are counted per input element instead. A bias is tallied
    again as the conv's own (``tally.conv_bias``)."""
    if transposed:
        macs = numel(x_shape) * numel(w_shape[1:])
    else:
        macs = numel(out_shape) * numel(w_shape[1:])
    counts = {MAC_CONV.name: macs}
    if bias:
        counts[BIAS_ADD.name] = counts[TALLY_CONV_BIAS.name] = numel(out_shape)
    return counts


def _bmm(c):
    a, b = c.args[:2]
    return matmul(c.shape(a), c.shape(b), c.out_shape)


@define("matmul", kinds=(MAC_MATMUL,), aten=(Aten(("bmm",), _bmm),))
def matmul(a_shape, b_shape, out_shape) -> dict:
    """Batched or plain matrix product: output elements x contracted dimension."""
    return {MAC_MATMUL.name: numel(out_shape) * a_shape[-1]}


MAC_BADDBMM = kind("mac.baddbmm", "batched-product multiply-accumulates of aten.baddbmm (fvcore 0.1.5 has no "
                   "handle for it; FlopCounterMode counts 2 per MAC)", "output elements × contracted dim",
                   macs=1, fvcore=0, flopcounter=2, full=2)


def _baddbmm(c):
    """baddbmm(input, batch1, batch2, *, beta=1, alpha=1) = beta·input + alpha·(batch1 @ batch2)."""
    _, a, b = c.args[:3]
    return baddbmm(c.shape(a), c.shape(b), c.out_shape, beta=c.kwargs.get("beta", 1), alpha=c.kwargs.get("alpha", 1))


@define("baddbmm", kinds=(MAC_BADDBMM, ADD, MUL), aten=(Aten(("baddbmm",), _baddbmm),))
def baddbmm(a_shape, b_shape, out_shape, beta=1, alpha=1) -> dict:
    """beta·input + alpha·(A @ B) on (b, n, k) @ (b, k, m): the product's MACs, one add per output
    unless beta = 0 (then input is not read), a multiply per output for alpha != 1 and another for
    beta not in (0, 1) (HF-style attention passes alpha = the 1/sqrt(d) scale)."""
    out = numel(out_shape)
    counts = {MAC_BADDBMM.name: out * a_shape[-1]}
    if beta != 0:
        counts[ADD.name] = out
    multiplies = (alpha != 1) + (beta not in (0, 1))
    if multiplies:
        counts[MUL.name] = multiplies * out
    return counts


def _addmm(c):
    """addmm(bias, a, b): a linear layer when ``b`` is a parameter, else a matmul plus an add."""
    _, a, b = c.args[:3]
    if c.is_parameter(b):
        return linear(c.shape(a), c.out_shape, True)
    return {**matmul(c.shape(a), c.shape(b), c.out_shape), **elementwise(ADD, c.out_shape)}


def _mm(c):
    a, b = c.args[:2]
    if c.is_parameter(b):
        return linear(c.shape(a), c.out_shape, False)
    return matmul(c.shape(a), c.shape(b), c.out_shape)


@define("linear", kinds=(MAC_LINEAR, BIAS_ADD, TALLY_LINEAR_ADDS),
        aten=(Aten(("addmm",), _addmm, (MAC_LINEAR, BIAS_ADD, TALLY_LINEAR_ADDS, MAC_MATMUL, ADD)),
              Aten(("mm",), _mm, (MAC_LINEAR, TALLY_LINEAR_ADDS, MAC_MATMUL))))
def linear(x_shape, out_shape, bias: bool) -> dict:
    """y = x W^T + b over the last dimension; rows are all leading dimensions. aten runs it as
    addmm/mm with a parameter operand; the same ops on two activations are matmuls. The dot
    products' in - 1 additions per output are tallied again (``tally.linear_adds``)."""
    rows = numel(out_shape[:-1])
    counts = {MAC_LINEAR.name: rows * x_shape[-1] * out_shape[-1],
              TALLY_LINEAR_ADDS.name: rows * (x_shape[-1] - 1) * out_shape[-1]}
    if bias:
        counts[BIAS_ADD.name] = numel(out_shape)
    return counts
