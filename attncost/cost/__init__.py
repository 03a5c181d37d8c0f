"""The cost record, op kinds, conventions and the symbolic Program. No torch here."""

from ..ops.primitive import OP_KINDS, OpKind
from .conventions import Convention, flops, flops_by_kind, weight
from .cost import MEMORY_FIELDS, Cost
from .program import Program, Tensor

__all__ = ["Convention", "Cost", "MEMORY_FIELDS", "OP_KINDS", "OpKind", "Program", "Tensor", "flops",
           "flops_by_kind", "weight"]
