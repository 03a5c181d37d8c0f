"""The mutants of benchmarks/mutation.py, and the pytest plugin that applies one of them.

Each mutant is one small change to a primitive's formula, a convention weight, a liveness rule or
a rule of the training side's autograd engine, applied in memory before the tests run (``ATTNCOST_MUTANT=<name> python -m pytest -p mutants ...``
with ``benchmarks/`` on ``PYTHONPATH``). Formula mutants change what the Primitive object computes,
so the catalogue's Program and the tracer see the same wrong number and only a test with an
independent oracle can notice.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class Mutant:
    name: str
    group: str          # "formula", "weight", "liveness" or "training"
    apply: Callable[[], None]
    revert: Callable[[], None] | None = None    # set where the change can be undone in the same process


def _formula_mutant(primitive_name: str, kind_name: str, change: str) -> Mutant:
    def apply():
        from attncost import ops

        primitive = ops.PRIMITIVES[primitive_name]
        original = primitive.formula

        def mutated(*args, **kwargs):
            counts = dict(original(*args, **kwargs))
            if kind_name in counts:
                counts[kind_name] = counts[kind_name] * 2 if change == "x2" else counts[kind_name] + 1
            return counts

        object.__setattr__(primitive, "formula", mutated)

    return Mutant(f"{primitive_name}:{kind_name}{'*2' if change == 'x2' else '+1'}", "formula", apply)


def _weight_mutant(kind_name: str, convention: str) -> Mutant:
    def change(step):
        from attncost import ops

        ops.OP_KINDS[kind_name].weights[convention] += step

    return Mutant(f"weight:{kind_name}@{convention}+1", "weight", lambda: change(1), lambda: change(-1))


def _liveness_mutants() -> list[Mutant]:
    def input_not_live():
        from attncost.cost.liveness import Liveness

        Liveness.add_input = lambda self, key, size: None

    def views_do_not_extend_life():
        from attncost.cost.liveness import Liveness

        record = Liveness.record

        def mutated(self, uses, allocations):
            record(self, uses if allocations else (), allocations)

        Liveness.record = mutated

    def outputs_not_kept():
        from attncost.cost.liveness import Liveness

        peak = Liveness.peak
        Liveness.peak = lambda self, outputs=(): peak(self, ())

    def dies_one_step_late():
        from attncost.cost.liveness import Liveness

        peak = Liveness.peak

        def mutated(self, outputs=()):
            saved = dict(self.last_use)
            self.last_use = {k: v + 1 for k, v in saved.items()}
            try:
                return peak(self, outputs)
            finally:
                self.last_use = saved

        Liveness.peak = mutated

    def uses_ignored():
        from attncost.cost.liveness import Liveness

        record = Liveness.record
        Liveness.record = lambda self, uses, allocations: record(self, (), allocations)

    def first_allocation_only():
        from attncost.cost.liveness import Liveness

        record = Liveness.record
        Liveness.record = lambda self, uses, allocations: record(self, uses, list(allocations)[:1])

    rules = {"input-not-live-from-the-start": input_not_live, "views-do-not-extend-life": views_do_not_extend_life,
             "outputs-not-kept-to-the-end": outputs_not_kept, "storage-dies-one-step-late": dies_one_step_late,
             "uses-never-extend-life": uses_ignored, "only-an-op's-first-output-allocated": first_allocation_only}
    return [Mutant(f"liveness:{name}", "liveness", fn) for name, fn in rules.items()]


def _training_mutants() -> list[Mutant]:
    """The formula side's autograd engine (attncost/cost/autograd.py) with one rule broken. The training
    tracer runs torch's own autograd, so it shares none of these rules and the comparisons with it (and
    with saved_tensors_hooks and the allocator) are the oracle."""

    def accumulate_grad_always_copies():
        from attncost.cost import autograd

        accumulate = autograd._accumulate_grad
        autograd._accumulate_grad = lambda program, grad, held, kept: accumulate(program, grad, True, kept)

    def accumulate_grad_never_copies():
        from attncost.cost import autograd

        def steal(program, grad, held, kept):
            program.record([grad.storage], [])
            kept.append(grad.storage)

        autograd._accumulate_grad = steal

    def input_buffer_keeps_the_first_gradient():
        from attncost.cost import autograd

        def deliver(program, buffers, edge, grad, holders):
            node, slot = edge
            slots = buffers.setdefault(node, [None] * node.outputs)
            if slots[slot] is None:
                slots[slot] = grad
                holders.hold(grad)

        autograd._deliver = deliver

    def nothing_saved():
        from attncost.cost.autograd import Tape

        Tape.save = lambda self, *tensors: None

    def checkpointed_regions_save():
        from attncost.cost.autograd import Tape

        def save(self, *tensors):
            for t in tensors:
                self.saved[t.storage] = None

        Tape.save = save

    def lowest_sequence_number_first():
        import heapq
        from attncost.cost import autograd

        class Reversed:
            """heapq with the priorities negated: the engine's ready queue pops the lowest sequence first."""
            @staticmethod
            def heapify(heap):
                heap[:] = [(-key, node) for key, node in heap]
                heapq.heapify(heap)

            @staticmethod
            def heappush(heap, item):
                heapq.heappush(heap, (-item[0], item[1]))

            @staticmethod
            def heappop(heap):
                key, node = heapq.heappop(heap)
                return -key, node

        autograd.heapq = Reversed

    def broadcast_gradients_not_summed():
        from attncost.cost import autograd

        autograd.sum_to = lambda program, grad, shape: grad

    rules = {"accumulate-grad-always-copies": accumulate_grad_always_copies,
             "accumulate-grad-never-copies": accumulate_grad_never_copies,
             "input-buffer-keeps-the-first-gradient": input_buffer_keeps_the_first_gradient,
             "nothing-saved-for-backward": nothing_saved,
             "checkpointed-regions-save": checkpointed_regions_save,
             "ready-nodes-lowest-sequence-first": lowest_sequence_number_first,
             "broadcast-gradients-not-summed": broadcast_gradients_not_summed}
    return [Mutant(f"training:{name}", "training", fn) for name, fn in rules.items()]


def all_mutants() -> list[Mutant]:
    from attncost import ops

    mutants = []
    for primitive in ops.PRIMITIVES.values():
        for kind in primitive.kinds:
            mutants.append(_formula_mutant(primitive.name, kind.name, "+1"))
    mutants.append(_formula_mutant("softmax", "softmax", "x2"))
    mutants.append(_formula_mutant("scaled_dot_product_attention", "softmax", "x2"))
    for kind_name, kind in ops.OP_KINDS.items():
        for convention in kind.weights:
            mutants.append(_weight_mutant(kind_name, convention))
    return mutants + _liveness_mutants() + _training_mutants()


def by_name(name: str) -> Mutant:
    for mutant in all_mutants():
        if mutant.name == name:
            return mutant
    raise KeyError(name)


def pytest_configure(config):
    """Apply the mutant named by ATTNCOST_MUTANT before any test runs."""
    name = os.environ.get("ATTNCOST_MUTANT")
    if name:
        by_name(name).apply()
