"""The torch side's counter: a TorchDispatchMode over aten ops, on real or fake tensors; forward
(:mod:`.tracer`) and a whole training step (:mod:`.training`)."""

from .tracer import CostTracer, UnsupportedOpsError, trace_module
from .training import TrainingResult, trace_training, trace_training_symbolic

__all__ = ["CostTracer", "TrainingResult", "UnsupportedOpsError", "trace_module", "trace_training",
           "trace_training_symbolic"]
