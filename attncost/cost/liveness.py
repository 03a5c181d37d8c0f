"""Activation and peak-live memory from a sequence of op steps.

Shared by the symbolic :class:`~attncost.cost.program.Program` and the tracer, so both apply the
same definition (docs/CONVENTIONS.md): a storage is live from the step that allocates it to its last
use; the input is live from the start; outputs stay live to the end; parameters never count.
Views and in-place ops allocate nothing and only extend the life of the storage they touch.
"""

from __future__ import annotations

import itertools

from .symbolic import exact_max, total

END = float("inf")


class Liveness:
    def __init__(self):
        self.size: dict = {}
        self.born: dict = {}
        self.last_use: dict = {}
        self.allocated: list = []
        self.alloc_steps: list[int] = []
        self.step = 0

    def add_input(self, key, size) -> None:
        """An external tensor that counts toward peak (the module's input): live from step 0."""
        self.size[key] = size
        self.born[key] = 0
        self.last_use[key] = 0

    def record(self, uses, allocations) -> None:
        """One op: ``uses`` are storage keys read (untracked keys are ignored, e.g. parameters);
        ``allocations`` are (key, elements) pairs of storages it creates."""
        self.step += 1
        for key in uses:
            if key in self.last_use:
                self.last_use[key] = self.step
        if allocations:
            self.alloc_steps.append(self.step)
        for key, size in allocations:
            if key in self.size:
                raise ValueError(f"storage {key!r} allocated twice")
            self.size[key] = size
            self.born[key] = self.step
            self.last_use[key] = self.step
            self.allocated.append(key)

    def activation_elements(self):
        return total([self.size[k] for k in self.allocated])

    def peak(self, outputs=()):
        """Largest sum of live storages over the steps, with ``outputs`` kept live to the end."""
        last = dict(self.last_use)
        for key in outputs:
            if key in last:
                last[key] = END
        if all(isinstance(v, int) for v in self.size.values()):
            return exact_max(self._concrete_peaks(last))
        births: dict[int, list] = {}
        deaths: dict[float, list] = {}
        for key, step in self.born.items():
            births.setdefault(step, []).append(key)
            deaths.setdefault(last[key] + 1, []).append(key)
        check_steps = sorted(set([0] + self.alloc_steps))
        running = 0
        candidates = []
        for step in range(0, self.step + 1):
            for key in deaths.get(step, ()):
                running -= self.size[key]
            for key in births.get(step, ()):
                running += self.size[key]
            if check_steps and step == check_steps[0]:
                check_steps.pop(0)
                candidates.append(running)
        return exact_max(candidates)

    def _concrete_peaks(self, last: dict) -> list:
        """The candidates of ``peak`` for integer sizes: one pass of prefix sums over per-step deltas
        (a network walk has hundreds of steps; the general path above does dict work per step)."""
        delta = [0] * (self.step + 2)
        for key, born in self.born.items():
            size = self.size[key]
            delta[born] += size
            if last[key] != END:
                delta[last[key] + 1] -= size
        running = list(itertools.accumulate(delta))
        return [running[step] for step in sorted(set([0] + self.alloc_steps))]
