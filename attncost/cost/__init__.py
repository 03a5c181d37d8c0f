"""The cost record, op kinds, conventions and the symbolic Program (recorder + op vocabulary, with
layout rules and replay in their own files: docs/ARCHITECTURE.md, "The cost layer"). No torch here."""

from ..ops.primitive import OP_KINDS, OpKind
from .conventions import Convention, flops, flops_by_kind, weight
from .cost import MEMORY_FIELDS, Cost
from .program import Program
from .recorder import OpRecord, Recorder, Tensor

__all__ = ["Convention", "Cost", "MEMORY_FIELDS", "OP_KINDS", "OpKind", "OpRecord", "Program", "Recorder", "Tensor",
           "flops", "flops_by_kind", "weight"]
