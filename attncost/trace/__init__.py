"""The torch side's counter: a TorchDispatchMode over aten ops, on real or fake tensors."""

from .tracer import CostTracer, UnsupportedOpsError, trace_module

__all__ = ["CostTracer", "UnsupportedOpsError", "trace_module"]
