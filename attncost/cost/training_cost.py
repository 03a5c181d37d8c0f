"""TrainingCost: what one training step (forward, backward, optimizer state) costs, exactly. No torch.

Both sides produce it: the training tracer (:mod:`attncost.trace.training`, a real forward and
``backward()`` under the dispatch mode) and the formula side (:mod:`attncost.cost.training`, a
Program's forward replayed backwards op by op); ``verify`` proves one against the other.

Units are elements, as in :class:`~attncost.cost.Cost`; bytes come from :meth:`TrainingCost.bytes`
with a :class:`Precision` (pure fp32, or bf16/fp16 activations, parameters and gradients with fp32
master weights and optimizer state, as mixed-precision trainers keep them).

What a step holds (docs/TRAINING.md):
- ``forward``: the forward pass in training mode (batch norm with batch statistics, dropout drawn),
  counts by op kind, parameters, its own activation and peak memory;
- ``backward_counts``: the ops ``backward()`` runs, by op kind (the same kinds and conventions as the
  forward: a convolution's grad-input and grad-weight products are ``mac.conv``);
- ``saved_elements``: activation elements autograd saves for backward, each storage once,
  parameters excluded (what ``saved_tensors_hooks`` sees);
- ``peak_elements``: the largest sum of live activations and gradients over forward and backward in
  execution order: the input and the output's gradient included, parameter gradients from the step
  that writes them to the end, parameters themselves not;
- ``trainable_params``: elements of the parameters that require grad (their gradients, and the unit
  of optimizer state).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Mapping

from ..algebra import as_int
from .cost import Cost


class Optimizer(str, enum.Enum):
    """Optimizers by the state they keep per trainable parameter element (PyTorch's own: SGD keeps
    none, SGD with momentum a momentum buffer, Adam and AdamW exp_avg and exp_avg_sq)."""

    SGD = "sgd"
    MOMENTUM = "momentum"
    ADAM = "adam"
    ADAMW = "adamw"

    def __str__(self) -> str:
        return self.value

    @property
    def state_per_param(self) -> int:
        return {"sgd": 0, "momentum": 1, "adam": 2, "adamw": 2}[self.value]


@dataclass(frozen=True)
class Precision:
    """Bytes per element of each kind of tensor a step holds. ``FP32``: everything 4 bytes.
    ``BF16``/``FP16``: activations, parameters and gradients 2 bytes, plus an fp32 master copy of the
    parameters (4 bytes each) that the optimizer updates, and fp32 optimizer state."""

    name: str
    activation_bytes: int
    param_bytes: int
    grad_bytes: int
    master_bytes: int
    state_bytes: int


FP32 = Precision("fp32", 4, 4, 4, 0, 4)
BF16 = Precision("bf16", 2, 2, 2, 4, 4)
FP16 = Precision("fp16", 2, 2, 2, 4, 4)
PRECISIONS = {p.name: p for p in (FP32, BF16, FP16)}


@dataclass(frozen=True)
class TrainingCost:
    """Exact cost of one training step (see the module docstring for each field)."""

    forward: Cost
    backward_counts: Mapping[str, object] = field(default_factory=dict)
    saved_elements: object = 0
    peak_elements: object = 0
    trainable_params: object = 0

    @property
    def params(self):
        return self.forward.params

    @property
    def gradient_elements(self):
        """One gradient element per trainable parameter element (``param.grad``)."""
        return self.trainable_params

    def optimizer_state_elements(self, optimizer: Optimizer | str):
        return Optimizer(optimizer).state_per_param * self.trainable_params

    @property
    def backward(self) -> Cost:
        """The backward pass as a Cost (counts only; its memory is in ``peak_elements``)."""
        return Cost(counts=self.backward_counts)

    @property
    def total_counts(self) -> dict:
        """Forward plus backward counts by op kind."""
        counts = dict(self.forward.counts)
        for name, value in self.backward_counts.items():
            counts[name] = counts.get(name, 0) + value
        return counts

    def bytes(self, optimizer: Optimizer | str = Optimizer.SGD, precision: Precision = FP32) -> dict:
        """Bytes by what holds them, and the step's peak in the steady state (from the second step on,
        when the optimizer state exists): the peak of activations and gradients, plus parameters,
        master weights and optimizer state, which live through the step."""
        optimizer = Optimizer(optimizer)
        parts = {
            "saved_activations": self.saved_elements * precision.activation_bytes,
            "peak_activations_and_gradients": self.peak_elements * precision.activation_bytes,
            "parameters": self.params * precision.param_bytes,
            "gradients": self.trainable_params * precision.grad_bytes,
            "master_weights": self.trainable_params * precision.master_bytes,
            "optimizer_state": self.optimizer_state_elements(optimizer) * precision.state_bytes,
        }
        parts["peak"] = (parts["peak_activations_and_gradients"] + parts["parameters"] + parts["master_weights"]
                         + parts["optimizer_state"])
        return parts

    @property
    def symbolic(self) -> bool:
        return self.forward.symbolic or any(as_int(v) is None for v in
                                            (self.saved_elements, self.peak_elements, self.trainable_params))
