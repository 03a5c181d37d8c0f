"""Plain elementwise ops that autograd's derivative formulas call and no forward primitive covered
(tools/autograd/derivatives.yaml, torch 2.13): ``sgn`` (the derivative of ``abs``, and so of L1
norms), ``logical_and``/``logical_or`` and ``isnan`` (the masks of ``clamp``, ``max``/``amax`` and
infinity-norm gradients; ``bitwise_not`` of label smoothing's mask), ``log`` (``pow`` with a tensor
exponent), in-place ``pow_`` (p-norm gradients) and ``randint`` (random labels and indices: a draw
per element). They are ordinary forward ops too, counted in the forward unit, output elements; and
the copies some backward graphs make (``diagonal_copy``, which ``torch.diag`` runs in torch 2.13,
and the ``*_scatter`` ops of functionalised graphs).

``cumsum`` (whose gradient is a reversed cumsum) stays without a formula on purpose: the tracer's and
the user-model tests use it as their example of an op attncost does not know.
"""

from __future__ import annotations

from .pointwise import COMPARE, COPY_KIND, POW, RANDOM, OpKind, copy, elementwise
from .primitive import Aten, define, kind

SIGN = kind("elementwise.sign", "sign: sgn and sign (-1, 0 or 1; abs's derivative)", "output elements (broadcast "
            "included)", macs=0, fvcore=0, flopcounter=0, full=1)
LOGICAL = kind("elementwise.logical", "logical and, or, xor, not of masks", "output elements (broadcast included)",
               macs=0, fvcore=0, flopcounter=0, full=1)
LOG = kind("elementwise.log", "natural logarithm", "output elements (broadcast included)",
           macs=0, fvcore=0, flopcounter=0, full=1)

_BY_KIND = {SIGN: ("sgn", "sgn_", "sign", "sign_"),
            LOGICAL: ("logical_and", "logical_and_", "logical_or", "logical_or_", "logical_xor", "logical_not",
                      "bitwise_not", "bitwise_and", "bitwise_or"),
            LOG: ("log", "log_"),
            COMPARE: ("isnan", "isinf"),
            POW: ("pow_",),
            RANDOM: ("randint",)}


def _binding(op_kind: OpKind, names) -> Aten:
    return Aten(names, lambda c: derivative_elementwise(op_kind, c.out_shape), (op_kind,))


@define("derivative_elementwise", kinds=(SIGN, LOGICAL, LOG, COMPARE, POW, RANDOM),
        aten=tuple(_binding(k, names) for k, names in _BY_KIND.items()))
def derivative_elementwise(op: OpKind, out_shape) -> dict:
    """sgn, logical ops on masks, log, isnan/isinf, in-place pow, randint: one count per output element, as
    :func:`attncost.ops.pointwise.elementwise` counts the forward ones."""
    return elementwise(op, out_shape)


@define("copy_ops_of_backward", kinds=(COPY_KIND,),
        aten=(Aten(("diagonal_copy", "slice_scatter", "select_scatter", "diagonal_scatter", "masked_scatter"),
                   lambda c: copy(c.out_shape)),))
def copy_ops_of_backward(out_shape) -> dict:
    """Copies into a new tensor of ``out_shape`` (diagonal_copy; slice_scatter, select_scatter,
    diagonal_scatter and masked_scatter, which functionalised backward graphs use for the gradients
    of views): every output element written once."""
    return copy(out_shape)
