"""Primitives: the only place where an op's arithmetic, its kinds, its convention weights and its
aten bindings are written (see :mod:`attncost.ops.primitive`). No torch here."""

from . import attention, conv, pointwise, sampling  # noqa: F401  (defines the primitives)
from . import backward  # noqa: F401  (backward primitives; with backward_losses, _pointwise, _scatter, _spatial)
from .primitive import (ATEN_OVERLOADS, CONVENTIONS, CUSTOM_OPS, OP_KINDS, PRIMITIVES, Aten, OpKind, Primitive, define,
                        kind, op_kind)
from .shapes import broadcast, conv_output_size, numel, pool_output_size
from .views import ZERO_COST

__all__ = ["ATEN_OVERLOADS", "CONVENTIONS", "CUSTOM_OPS", "OP_KINDS", "PRIMITIVES", "ZERO_COST", "Aten", "OpKind",
           "Primitive", "define", "kind", "op_kind", "broadcast", "conv_output_size", "numel", "pool_output_size"]
