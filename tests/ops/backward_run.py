"""A forward and its backward run under attncost's CostTracer, with the backward phase kept apart.

Shared by tests/ops/test_backward*.py. It uses only the tracer's public records (``records[i]`` is the
op ``funcs[i]`` ran); nothing of ``attncost.ops`` is imported, so the tests' expectations stay
independent of the formulas they check.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Callable

import torch
from torch.utils._python_dispatch import TorchDispatchMode

from attncost.trace.tracer import CostTracer


class PacketRecorder(TorchDispatchMode):
    """The aten overload packets a call runs, in order (no attncost code involved)."""

    def __init__(self):
        super().__init__()
        self.packets: list = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.packets.append(func.overloadpacket)
        return func(*args, **(kwargs or {}))


@dataclass
class BackwardRun:
    """What the tracer saw: ``forward`` and ``backward`` counts by kind, the backward counts of each
    aten packet, the packets each phase ran, and the unsupported ops."""

    forward: Counter
    backward: Counter
    by_packet: dict = field(default_factory=dict)
    forward_packets: set = field(default_factory=set)
    backward_packets: set = field(default_factory=set)
    unsupported: Counter = field(default_factory=Counter)

    def of(self, packet) -> dict:
        """Backward counts of ``packet``'s calls (summed), asserting it ran in the backward phase."""
        ran = sorted(map(str, self.backward_packets))
        assert packet in self.backward_packets, f"{packet} did not run in backward: {ran}"
        return dict(self.by_packet.get(packet, {}))


def run_backward(forward: Callable[[], torch.Tensor], module: torch.nn.Module | None = None,
                 seed: int = 0) -> BackwardRun:
    """Run ``forward()`` and ``out.backward(g)`` under one CostTracer (grad enabled). The gradient
    ``g`` (ones) is made outside the count, from a first, untraced run of ``forward`` with the same
    seed, as the training contract has it."""
    torch.manual_seed(seed)
    g = torch.ones_like(forward()).detach()
    tracer = CostTracer(module)
    torch.manual_seed(seed)
    with tracer:
        out = forward()
        split = len(tracer.records)
        out.backward(g)
    run = BackwardRun(Counter(), Counter(), unsupported=Counter(tracer.unsupported))
    for index, (record, func) in enumerate(zip(tracer.records, tracer.funcs)):
        phase = run.forward if index < split else run.backward
        phase.update(record.counts)
        packet = func.overloadpacket
        if index < split:
            run.forward_packets.add(packet)
        else:
            run.backward_packets.add(packet)
            run.by_packet.setdefault(packet, Counter()).update(record.counts)
    return run


def mac_total(counts) -> int:
    """Multiply-accumulates of every product kind (``mac.*``) in ``counts``."""
    return sum(v for k, v in counts.items() if k.startswith("mac."))
