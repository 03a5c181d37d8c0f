"""The training tracer's peak memory against what the CPU allocator really does over a training step.

The forward's oracle (test_memory_vs_allocator.py, whose observation helpers this file reuses) carried
on through ``backward()``. Nothing of attncost's liveness code or tracer is used to measure: the module
(train mode, float32, one intra-op thread, after one warm-up step) runs ``out = module(x)`` and
``torch.autograd.backward(out, g)`` under ``torch.profiler`` with ``profile_memory=True``, twice:
plain, for the allocator's own peak, and under the forward oracle's marking mode (each aten op in a
profiler range, storage pointers of its tensors noted, no tensor kept), with one empty range of our
own where backward starts (the output-gradient step, reading the outputs). ``g`` (ones of the output's
shape) and ``x`` are made before the profile. A CPU graph's backward runs on the calling thread
(the autograd engine's ``thread_main`` for a CPU graph task), so its allocations fall in the op ranges.

What the allocator shows, for every module tried: an allocation outlives its aten op only as one of
the op's outputs (as in the forward: in-kernel workspaces are freed inside the op); at the end the
only survivors alive are the forward's outputs and the parameters' ``.grad`` (AccumulateGrad keeps
the gradient an op returned when nothing else holds it: no copy); saved tensors are freed when
autograd releases their node, after its backward ops (``release_variables``), later than their last
use only by the node's own tail; intermediate gradients die with their last reader, unless a Python
reference or the engine's input buffer holds them a little longer.

The rules (the training tracer's ``peak_elements`` is ``P``):

1. The op stream is the real one: the tracer's allocations, in order, are the survivors' sizes
   (elements = bytes / the owning tensor's itemsize; int64 max-pool indices are one element each),
   zero-size storages aside (the allocator returns nullptr for 0 bytes).
2. Exact: ``P`` = the survivors replayed over the op steps with each free moved to its last use,
   where the input lives from step 0, ``g`` from the output-gradient step, the forward's outputs at
   least to that step, each parameter's ``.grad`` to the end, everything else to the last op that
   reads its storage.
3. Bounds from reality: ``P <= real survivor peak`` (real free times, ``x`` and ``g`` held
   throughout: every storage lives at least as long as the rule says), and in bytes
   ``replay peak (int64 at 8 B) <= real survivor peak <= allocator peak (marked run)
   <= real survivor peak + the largest one op's workspace + the marking mode's wrapped numbers``.
4. The rules can fail: ``P`` +-1, x2, without ``g``, and without the parameter gradients kept to
   the end are rejected by rule 2 wherever they change the number.

Checked for every catalogue entry at one shape (input requiring grad, as inside a network; a few
unmarked, the rest ``slow``), ResNet-50 with and without CBAM at 2x3x64x64 (224: ``slow``), Non-local
and CBAM under activation checkpointing (the oracle runs ``checkpoint(module, x, use_reentrant=False)``,
the tracer ``checkpoint=[""]``), and Non-local in bf16 and fp16 on CPU (the same elements at 2 bytes).

Figures (``python -m pytest -q tests/verify/test_training_memory_vs_allocator.py -s -k figures``)
print the plain allocator peak over ``4 P``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import pytest
import torch
from test_memory_vs_allocator import MARK, OpSeen, _allocator_peak, _Marker, _ptr, _tensors, _timeline
from torch.profiler import ProfilerActivity, profile
from torch.utils.checkpoint import checkpoint as torch_checkpoint

from attncost import catalogue
from attncost.errors import HyperparameterError
from attncost.networks import AttentionPlacement, definition, with_attention
from attncost.reference import build
from attncost.reference.networks import build_network
from attncost.trace.training import trace_training

try:
    from torch._C._profiler import _RecordFunctionFast as _Range
except ImportError:                           # pragma: no cover
    from torch.profiler import record_function as _Range

END = float("inf")
CANDIDATE_SHAPES = ((2, 16, 9, 11), (2, 64, 10, 12), (2, 48, 9, 11), (1, 48, 16, 16), (2, 16, 32, 17))
FAST_ENTRIES = ("se", "cbam", "nonlocal", "gc", "mhsa", "sk", "ccnet")


def _shape(entry):
    for shape in CANDIDATE_SHAPES:
        try:
            entry.resolve(shape, {})
        except HyperparameterError:
            continue
        return shape
    raise AssertionError(f"no candidate shape is valid for {entry.name}")


def _entry_module(name):
    entry = catalogue.get(name)
    shape = _shape(entry)
    return build(name, shape, entry.resolve(shape, {})), shape


def _network_module(attention, size):
    placements = [AttentionPlacement(attention)] if attention else []
    return build_network(with_attention(definition("resnet50"), placements), (size, size)), (2, 3, size, size)


# -- observation -----------------------------------------------------------------------------------

@dataclass
class Alloc:
    ptr: int
    nbytes: int
    op: int | None
    free_op: int | None = None
    freed: bool = False
    itemsize: int = 0

    @property
    def temporary(self) -> bool:
        return self.op is not None and self.freed and self.free_op == self.op


@dataclass
class Step:
    """One training step as the allocator saw it."""

    ops: list                          # OpSeen per marked op; the output-gradient step included
    loss_step: int                     # index in ops of the output-gradient step
    allocs: list
    timeline: list                     # ('start', op) | ('alloc', index) | ('free', index)
    input_ptr: int
    input_elements: int
    input_bytes: int
    grad_ptr: int
    grad_elements: int
    grad_bytes: int
    output_ptrs: set
    param_grad_ptrs: set               # the parameters' .grad, and the input's if it requires grad
    plain_peak_bytes: int              # plain run, x and g included
    marked_peak_bytes: int

    def survivors(self) -> list:
        return [a for a in self.allocs if a.op is not None and not a.temporary and a.nbytes > 0]


def _one_step(run, params, x, g, marker=None):
    for p in list(params) + [x]:
        p.grad = None
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        if marker is None:
            out = run(x)
            torch.autograd.backward(out, g)
        else:
            with marker:
                out = run(x)
            index = len(marker.ops)
            with _Range(MARK + str(index)):
                marker.ops.append(OpSeen("<output gradient>", [_ptr(out)], {}))
            with marker:
                torch.autograd.backward(out, g)
    return out, _timeline(prof)


def observe_step(module, shape, input_grad: bool, dtype=torch.float32, checkpointed: bool = False) -> Step:
    """One measured step; ``checkpointed``: the whole module under torch.utils.checkpoint (non-reentrant)."""
    module.train()
    torch.manual_seed(0)
    x = torch.randn(*shape, dtype=dtype, requires_grad=input_grad)
    params = list(module.parameters())
    run = (lambda t: torch_checkpoint(module, t, use_reentrant=False)) if checkpointed else module
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        out = run(x)
        g = torch.ones_like(out)
        torch.autograd.backward(out, g)           # warm-up: lazy initialisation is not the step's memory
        del out
        plain_out, plain = _one_step(run, params, x, g)
        del plain_out
        marker = _Marker()
        out, marked = _one_step(run, params, x, g, marker)
    finally:
        torch.set_num_threads(threads)
    held = x.untyped_storage().nbytes() + g.untyped_storage().nbytes()
    loss_step = next(i for i, op in enumerate(marker.ops) if op.name == "<output gradient>")
    allocs, live, timeline = [], {}, []
    for _, _, kind, payload in marked:
        if kind == "start":
            timeline.append(("start", payload))
            continue
        ptr, size, _, op = payload
        if size > 0:
            live[ptr] = len(allocs)
            timeline.append(("alloc", len(allocs)))
            allocs.append(Alloc(ptr, size, op))
        elif ptr in live:
            index = live.pop(ptr)
            allocs[index].freed, allocs[index].free_op = True, op
            timeline.append(("free", index))
    for a in allocs:
        if a.op is not None and not a.temporary:
            outputs = marker.ops[a.op].outputs
            assert a.ptr in outputs, f"{marker.ops[a.op].name} keeps {a.nbytes} B that is none of its outputs"
            a.itemsize = outputs[a.ptr][0]
    return Step(
        ops=marker.ops, loss_step=loss_step, allocs=allocs, timeline=timeline,
        input_ptr=_ptr(x), input_elements=x.numel(), input_bytes=x.untyped_storage().nbytes(),
        grad_ptr=_ptr(g), grad_elements=g.numel(), grad_bytes=g.untyped_storage().nbytes(),
        output_ptrs={_ptr(t) for t in _tensors(out)},
        param_grad_ptrs={_ptr(p.grad) for p in params + [x] if p.grad is not None},
        plain_peak_bytes=_allocator_peak([e[3] for e in plain if e[2] == "mem"]) + held,
        marked_peak_bytes=_allocator_peak([e[3] for e in marked if e[2] == "mem"]) + held)


@dataclass
class Lives:
    size: dict                         # key -> elements ("input", "grad", survivor index)
    nbytes: dict
    born: dict                         # key -> step (op index + 1; 0: before the first op)
    last: dict                         # key -> last step reading it (END: kept to the end)
    steps: int
    real_peak_elements: int
    real_peak_bytes: int


def lives(step: Step, keep_param_grads: bool = True, with_grad: bool = True) -> Lives:
    loss = step.loss_step + 1
    size = {"input": step.input_elements}
    nbytes = {"input": step.input_bytes}
    born, last = {"input": 0}, {"input": 0}
    if with_grad:
        size["grad"], nbytes["grad"], born["grad"], last["grad"] = step.grad_elements, step.grad_bytes, loss, loss
    live_ptr: dict = {}
    running_e = step.input_elements + step.grad_elements
    running_b = step.input_bytes + step.grad_bytes
    peak_e, peak_b = running_e, running_b
    survivors = {id(a) for a in step.survivors()}
    for kind, value in step.timeline:
        if kind == "start":
            for ptr in step.ops[value].inputs:
                key = live_ptr.get(ptr)
                if key is None:
                    key = {step.input_ptr: "input", step.grad_ptr: "grad"}.get(ptr)
                if key in size:
                    last[key] = value + 1
            continue
        a = step.allocs[value]
        counted = id(a) in survivors
        if kind == "alloc":
            live_ptr[a.ptr] = value if counted else None
            if counted:
                size[value], nbytes[value] = a.nbytes // a.itemsize, a.nbytes
                born[value] = last[value] = a.op + 1
                running_e, running_b = running_e + size[value], running_b + a.nbytes
                peak_e, peak_b = max(peak_e, running_e), max(peak_b, running_b)
        else:
            live_ptr.pop(a.ptr, None)
            if counted:
                running_e, running_b = running_e - size[value], running_b - a.nbytes
    for key, a in enumerate(step.allocs):
        if key not in size or a.freed:
            continue
        if a.ptr in step.param_grad_ptrs:
            if keep_param_grads:
                last[key] = END
        else:
            assert a.ptr in step.output_ptrs, f"{step.ops[a.op].name}'s {a.nbytes} B outlive the step"
            last[key] = max(last[key], loss)
    return Lives(size, nbytes, born, last, len(step.ops), peak_e, peak_b)


def replay_peak(lv: Lives, weight: str = "size") -> int:
    """Largest sum of live storages over the steps, each live from its birth to its last use."""
    sizes = getattr(lv, weight)
    delta = [0] * (lv.steps + 2)
    for key, n in sizes.items():
        delta[lv.born[key]] += n
        if lv.last[key] != END:
            delta[lv.last[key] + 1] -= n
    best = running = 0
    for d in delta:
        running += d
        best = max(best, running)
    return best


def workspace_bytes(step: Step) -> int:
    per_op: dict = {}
    for a in step.allocs:
        if a.temporary:
            per_op[a.op] = per_op.get(a.op, 0) + a.nbytes
    return max([0] + list(per_op.values()))


# -- the rules ---------------------------------------------------------------------------------------

def check_op_stream(step: Step, traced) -> None:
    """Op by op, the sizes of the storages the tracer allocates are those the allocator keeps (sorted
    within an op: a kernel may allocate its outputs in another order than it returns them)."""
    traced_sizes = [sorted(n for _, n in rec.allocations if n) for rec, func in zip(traced.records, traced.funcs)
                    if func is not None]                               # g: made outside the step
    by_op: dict = {}
    for a in step.survivors():
        by_op.setdefault(a.op, []).append(a.nbytes // a.itemsize)
    real_sizes = [sorted(by_op[op]) for op in sorted(by_op)]
    traced_sizes = [sizes for sizes in traced_sizes if sizes]
    assert traced_sizes == real_sizes, (
        f"the tracer allocates {sum(map(len, traced_sizes))} storages ({sum(map(sum, traced_sizes))} elements), "
        f"the allocator keeps {sum(map(len, real_sizes))} ({sum(map(sum, real_sizes))} elements)")


def check_peak(step: Step, peak) -> None:
    replayed = replay_peak(lives(step))
    assert peak == replayed, f"training peak {peak} != {replayed}, the allocator's survivors freed at last use"


def check_bounds(step: Step, peak) -> None:
    lv = lives(step)
    assert peak <= lv.real_peak_elements
    wrapped = sum(a.nbytes for a in step.allocs if a.op is None)
    assert replay_peak(lv, "nbytes") <= lv.real_peak_bytes <= step.marked_peak_bytes <= (
        lv.real_peak_bytes + workspace_bytes(step) + wrapped)


@functools.lru_cache(maxsize=None)
def measured(kind: str, name: str, size: int = 0, precision: str = "fp32", checkpointed: bool = False):
    """(allocator observation, training trace) of one module; ``precision`` bf16/fp16: the oracle runs the
    module converted with ``.to(dtype)``, the tracer casts it itself."""
    module, shape = _entry_module(name) if kind == "entry" else _network_module(name, size)
    module.train()
    input_grad = kind == "entry"          # an attention block inside a network passes a gradient to its input
    x = torch.randn(*shape, requires_grad=input_grad)
    traced = trace_training(module, x, allow_unsupported=True, precision=precision,   # memory needs no formulas
                            checkpoint=[""] if checkpointed else [])
    dtype = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[precision]
    return observe_step(module.to(dtype), shape, input_grad, dtype, checkpointed), traced


def _check_all(*key):
    step, traced = measured(*key)
    check_op_stream(step, traced)
    check_peak(step, traced.cost.peak_elements)
    check_bounds(step, traced.cost.peak_elements)


SLOW_ENTRIES = [e.name for e in catalogue.entries() if e.name not in FAST_ENTRIES]


@pytest.mark.parametrize("name", FAST_ENTRIES)
def test_entry_training_peak(name):
    _check_all("entry", name)


@pytest.mark.slow
@pytest.mark.parametrize("name", SLOW_ENTRIES)
def test_entry_training_peak_every_entry(name):
    _check_all("entry", name)


@pytest.mark.parametrize("attention", ["", "cbam"])
def test_resnet50_training_peak(attention):
    _check_all("network", attention, 64)


@pytest.mark.parametrize("name", ["nonlocal", "cbam"])
def test_checkpointed_entry_training_peak(name):
    """The whole block under activation checkpointing: its forward runs again inside backward()."""
    _check_all("entry", name, 0, "fp32", True)


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_low_precision_training_peak(precision):
    """bf16/fp16 on CPU: the same elements, at 2 bytes each (the allocator's survivors / itemsize 2)."""
    _check_all("entry", "nonlocal", 0, precision)
    step, traced = measured("entry", "nonlocal", 0, precision)
    assert {a.itemsize for a in step.survivors()} <= {2, 8}             # activations at 2 B, int64 indices
    assert traced.cost.peak_elements == measured("entry", "nonlocal")[1].cost.peak_elements


@pytest.mark.slow
def test_resnet50_training_peak_at_224():
    _check_all("network", "", 224)


MUTATIONS = {
    "peak + 1": lambda step, p: p + 1,
    "peak - 1": lambda step, p: p - 1,
    "peak x2": lambda step, p: 2 * p,
    "without the output gradient": lambda step, p: replay_peak(lives(step, with_grad=False)),
    "parameter gradients freed at last use": lambda step, p: replay_peak(lives(step, keep_param_grads=False)),
}


@pytest.mark.parametrize("mutation", list(MUTATIONS))
def test_rules_reject_wrong_peaks(mutation):
    changed = 0
    for name in FAST_ENTRIES:
        step, traced = measured("entry", name)
        right = traced.cost.peak_elements
        wrong = MUTATIONS[mutation](step, right)
        if wrong == right:
            continue
        changed += 1
        with pytest.raises(AssertionError):
            check_peak(step, wrong)
    assert changed, f"{mutation} changes no entry's peak"


def test_figures():
    """The plain allocator's peak over the tracer's peak at 4 bytes an element, printed with -s."""
    for kind, name, size in [("entry", n, 0) for n in FAST_ENTRIES] + [("network", "", 64), ("network", "cbam", 64)]:
        step, traced = measured(kind, name, size)
        peak = traced.cost.peak_elements
        ratio = step.plain_peak_bytes / (4 * peak)
        print(f"{name or 'resnet50'} {size or ''}: tracer peak {peak} elements ({4 * peak} B at fp32), allocator "
              f"peak {step.plain_peak_bytes} B, x{ratio:.3f}; saved {traced.cost.saved_elements}")
        assert ratio >= 1.0
