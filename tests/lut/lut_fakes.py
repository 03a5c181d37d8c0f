"""Fakes for measuring without measuring: a clock that moves only when a fake segment runs, a machine
that injects noise (preemptions, jitter, a slower twin) deterministically, rusage that counts the
preemptions, fake CUDA events that refuse to be read before they were synchronised, and an
in-process stand-in for the measurement worker. No torch, no real timing."""

from __future__ import annotations

import random


class FakeClock:
    """Time (seconds) that moves only when ``advance`` is called; ``ns`` is a perf_counter_ns."""

    def __init__(self):
        self.t = 0.0

    def advance(self, seconds: float) -> None:
        self.t += seconds

    def monotonic(self) -> float:
        return self.t

    def ns(self) -> int:
        return int(round(self.t * 1e9))


class FakeMachine:
    """What the segments cost on the fake clock: a base time per key, multiplicative jitter, and with
    probability ``preempt`` a preemption of ``preempt_ms`` (counted as an involuntary context switch,
    and not as CPU time). ``slower``: key -> factor (a twin that is really slower); ``transient``:
    key -> (calls, factor), the first calls of a key slowed (load that came and went)."""

    def __init__(self, clock: FakeClock, base_ms: dict, *, jitter: float = 0.01, preempt: float = 0.0,
                 preempt_ms: float = 5.0, slower=None, transient=None, seed: int = 0):
        self.clock, self.base = clock, base_ms
        self.jitter, self.preempt, self.preempt_ms = jitter, preempt, preempt_ms
        self.slower, self.transient = slower or {}, transient or {}
        self.rng = random.Random(seed)
        self.calls: dict = {}
        self.involuntary, self.cpu_s = 0, 0.0

    def run(self, key: str) -> None:
        self.calls[key] = self.calls.get(key, 0) + 1
        ms = self.base[key] * self.slower.get(key, 1.0) * (1 + self.rng.uniform(0, self.jitter))
        calls, factor = self.transient.get(key, (0, 1.0))
        if self.calls[key] <= calls:
            ms *= factor
        self.cpu_s += ms / 1e3
        if self.rng.random() < self.preempt:
            ms += self.preempt_ms
            self.involuntary += 1
        self.clock.advance(ms / 1e3)

    def usage(self) -> dict:
        return {"cpu_s": self.cpu_s, "involuntary": self.involuntary, "voluntary": 0, "minor_faults": 0}

    @staticmethod
    def load():
        return [0.5, 0.5, 0.5]


class FakeModule:
    """A segment: runs ``key`` on the fake machine and hands its input on."""

    def __init__(self, machine: FakeMachine, key: str):
        self.machine, self.key = machine, key

    def __call__(self, x):
        self.machine.run(self.key)
        return x


class FakeCache:
    """The worker's SegmentCache over fake modules."""

    def __init__(self, machine: FakeMachine):
        self.machine = machine

    def __getitem__(self, key: str) -> FakeModule:
        return FakeModule(self.machine, key)

    def chain(self, keys) -> list:
        return [(key, self[key]) for key in keys]


class FakeEvent:
    """A CUDA event on a fake GPU: ``record`` notes the time the GPU will reach it, ``elapsed_time``
    (ms) refuses events that were not synchronised, as torch's refuses incomplete ones."""

    def __init__(self, gpu, enable_timing: bool = False):
        self.gpu, self.enable_timing = gpu, enable_timing
        self.at, self.done = None, False

    def record(self, stream=None) -> None:
        self.at, self.done = self.gpu.clock.t, False
        self.gpu.recorded.append(self)

    def synchronize(self) -> None:
        self.gpu.synchronizations += 1
        for event in self.gpu.recorded:              # in stream order: everything recorded so far is done
            event.done = True

    def elapsed_time(self, end: FakeEvent) -> float:
        if not (self.enable_timing and end.enable_timing):
            raise RuntimeError("Both events must be created with argument 'enable_timing=True'")
        if not (self.done and end.done):
            raise RuntimeError("CUDA error: device not ready (elapsed_time of events not yet completed)")
        return (end.at - self.at) * 1e3


class FakeCuda:
    """``torch.cuda`` as the CUDA timer uses it: ``Event``."""

    def __init__(self, clock: FakeClock):
        self.clock, self.recorded, self.synchronizations = clock, [], 0

    def Event(self, enable_timing: bool = False) -> FakeEvent:          # noqa: N802 (torch's name)
        return FakeEvent(self, enable_timing)


def fake_worker(base_ms: dict, **machine):
    """A stand-in for :func:`attncost.lut.harness.run_worker` that runs the request's job in this
    process on fake segments (``base_ms``: key -> ms) and a fake clock, through the worker's own job
    functions and rounds: what the real worker returns, without torch or time."""
    from attncost.lut import worker
    from attncost.lut.timers import CpuTimer

    def run(request, quiet=False, malloc=True):
        clock = FakeClock()
        fake = FakeMachine(clock, base_ms, **machine)
        timer = CpuTimer(clock=clock.ns)
        job = worker.JOBS[request["job"]]
        result = job(request, FakeCache(fake), lambda shape: None, timer, clock=clock.monotonic, usage=fake.usage,
                     load=fake.load)
        result.update({"environment": {}, "torch_threads": request["threads"], "torch": "fake", "seconds": clock.t,
                       "pinning": {"cpus": None, "how": "not pinned (a fake worker)"}, "device": "cpu",
                       "timer": timer.describe(), "cuda": None})
        return result

    return run
