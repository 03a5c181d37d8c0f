"""Timers: how the worker stamps the boundaries between segments, on the CPU and on a CUDA GPU.

A timer makes *stamps* for a chain of ``count - 1`` timed pieces: ``mark(i)`` at boundary i (before
the first piece, between pieces, after the last), then ``read_ms()`` gives the piece durations. The
worker never reads a clock itself, so tests inject a fake clock or fake CUDA events (no torch, no GPU).

- :class:`CpuTimer`: ``time.perf_counter_ns`` at every mark. The CPU runs each op before returning,
  so the difference of two marks is the time of what ran between them.
- :class:`CudaEventTimer`: a CUDA event recorded on the current stream at every mark
  (``torch.cuda.Event(enable_timing=True)``). Kernels run asynchronously, so a mark only enqueues the
  event; ``read_ms`` first synchronises on the last event (events complete in stream order, so all
  are done), then takes ``elapsed_time`` between consecutive events, measured on the GPU. Each
  forward is read before the next starts, so every forward starts on an idle GPU: an entry is the
  latency a batch-1 forward sees, the gaps where the GPU waits for the CPU to launch kernels included.
  The events of a chain are created once and reused (creating them between segments would add CPU
  time there).
"""

from __future__ import annotations

import time


class CpuStamps:
    def __init__(self, clock, count: int):
        self.clock, self.marks = clock, [0] * count

    def mark(self, i: int) -> None:
        self.marks[i] = self.clock()

    def read_ms(self) -> list:
        return [(b - a) / 1e6 for a, b in zip(self.marks, self.marks[1:])]


class CpuTimer:
    """Wall-clock stamps from ``clock`` (nanoseconds; ``time.perf_counter_ns``)."""

    name = "perf_counter"

    def __init__(self, clock=time.perf_counter_ns):
        self.clock = clock

    def stamps(self, count: int) -> CpuStamps:
        return CpuStamps(self.clock, count)

    def describe(self) -> dict:
        return {"name": self.name, "clock": "time.perf_counter_ns",
                "resolution_s": time.get_clock_info("perf_counter").resolution,
                "synchronization": "none needed: the CPU finishes each op before the next stamp"}


class CudaStamps:
    def __init__(self, cuda, count: int):
        self.events = [cuda.Event(enable_timing=True) for _ in range(count)]

    def mark(self, i: int) -> None:
        self.events[i].record()

    def read_ms(self) -> list:
        self.events[-1].synchronize()               # the last event done: every earlier one is too
        return [a.elapsed_time(b) for a, b in zip(self.events, self.events[1:])]


class CudaEventTimer:
    """CUDA events on the current stream; ``cuda`` is ``torch.cuda`` (or a fake with ``Event``)."""

    name = "cuda-events"

    def __init__(self, cuda):
        self.cuda = cuda

    def stamps(self, count: int) -> CudaStamps:
        return CudaStamps(self.cuda, count)

    def describe(self) -> dict:
        return {"name": self.name, "clock": "torch.cuda.Event(enable_timing=True).elapsed_time",
                "resolution_s": 5e-7,
                "synchronization": "Event.synchronize() on the last event of every forward, before reading"}


def run_chain(chain, x, stamps):
    """Run ``chain`` ([(key, module)]) on ``x`` with a mark at every boundary; the output."""
    stamps.mark(0)
    for i, (_, module) in enumerate(chain, 1):
        x = module(x)
        stamps.mark(i)
    return x
