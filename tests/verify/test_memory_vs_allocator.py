"""attncost's memory numbers against what the CPU allocator really does: an independent oracle.

attncost's ``activation_elements`` and ``peak_live_elements`` come from attncost/cost/liveness.py,
which the catalogue's Program and the tracer share, so elsewhere they are only checked by code that
shares those rules. Nothing of attncost's liveness code or tracer is used here. Each catalogue
entry's reference module (2-3 small shapes) runs its real forward (``torch.no_grad()``, float32,
after one warm-up call) under ``torch.profiler`` with ``profile_memory=True``, which reports every
call of the CPU allocator (pointer, bytes, + for an allocation, - for a free, running total) in
time order. It runs twice:

* plain: nothing but the profiler, for the allocator's own total and peak;
* marked: under this module's small TorchDispatchMode, which only wraps each aten op in a
  profiler range and notes the storage pointers of its tensor inputs and outputs (no tensor is
  kept alive), so each allocator event lies inside the op that made it or between two ops.

One intra-op thread, so that every allocation lies in the tree of the thread that runs the op and
at most one op's workspace is live at a time.

What the allocator shows, found empirically for every entry:

* in-kernel temporaries, allocated and freed inside one aten op: mkldnn convolution's reordered
  weights and buffers (patch-embed reorders its 768x48x16x16 weight on every call: 37.8 MB of
  temporaries for a 3 KB output), native_batch_norm's 4-byte scalars, native_layer_norm's buffers,
  upsample_bilinear2d's, repeat's, affine_grid_generator's, mean.dim's 8+4-byte divisor.
  attncost counts none of them, by design: they are the kernel's, not the forward's.
* int64 outputs: max_pool2d_with_indices' indices (CBAM's channel gate, Non-local's sub-sampling,
  PAN-FPA, residual attention, STN) and max.dim's indices (CBAM's spatial gate, DANet's CAM) are 8
  bytes an element; attncost counts elements (docs/CONVENTIONS.md), 4 bytes each at float32.
* zero-size storages are never reported (the CPU allocator returns nullptr for 0 bytes); attncost
  counts them as 0 elements: consistent (``test_zero_size_allocations_are_invisible``).
* under the marking mode only, a Python number given to an aten op (``q * scale``) is wrapped as a
  0-dim float64 tensor, 8 bytes allocated between ops and never an op's result; plain eager code
  does not allocate it. Excluded, and checked to be no more than that.
* eager Python frees a storage when its last reference dies: after its last use, often much
  later (a local kept to the end of ``forward``). That is the whole difference between attncost's
  peak and the real one once temporaries and index widths are set aside (at 2x64x10x12 the real
  survivors peak at 2.3-2.4 x attncost's peak in CCNet, SK and residual attention, 1.7-2.2 x in
  SDPA, sparse and split attention; 1.00 x in SE-like gates, where every tensor dies at once).

The rules (a "survivor" is an allocation that outlives the aten op that made it):

1. Allocations are op results (``test_allocations_are_op_outputs``): every survivor is the
   storage of one of its op's outputs, float32 or (for the two index ops above) int64; every
   storage an op returns was read by it (a view, in-place op) or allocated inside it, or has size
   0; at the end the only live survivors are the module's outputs; in the plain run the
   allocator's net change is exactly the outputs' bytes (nothing cached, nothing leaked); and the
   marked run's survivor sizes are a subsequence of the plain run's allocations (the mode changes
   nothing attncost counts). Without this the rules below would compare different things.
2. Activation, exact (``test_activation_equals_surviving_allocations``):
   ``activation_elements == sum over survivors of bytes / itemsize`` (the itemsize of the output
   tensor that owns the storage), i.e. ``survivor bytes == 4 * activation_elements + 4 * int64
   elements``; the temporaries are the rest of the allocator's total, so
   ``plain allocator total >= 4 * activation_elements + 4 * int64 elements``, equal only where no
   op takes a workspace.
3. Peak, exact (``test_peak_equals_replay_with_frees_at_last_use``): the survivors, with the
   allocator's sizes, replayed over the op sequence with each free moved to the storage's last use
   (the last op reading it or a view of it; the input live from the start to its last use; the
   module's outputs to the end) give ``peak_live_elements`` exactly.
4. Peak, bounds from reality (``test_peak_bounds``), each with its reason:
   a. ``peak >= input + outputs``: both are live at the end (an output that is the input's
      storage counted once);
   b. ``peak >= max over ops of (its distinct non-parameter input storages + its survivors)``: an
      op's operands and results coexist;
   c. ``peak <= real survivor peak <= activation_elements + input`` (elements; real free times, the
      input held by the caller throughout): every storage really lives at least from its op to
      its last use (checked per storage), so attncost's live set is a subset of the real one at
      every op;
   d. bytes: ``replay peak (int64 at 8 bytes) <= real survivor peak <= allocator peak (plain run,
      input included) <= input + allocator total``;
   e. ``real survivor peak <= allocator peak (marked run) <= real survivor peak + the largest one
      op's workspace + the mode's wrapped numbers``: the allocator's excess over the survivors is
      temporaries, of one op at a time.
5. Each rule can fail (``test_rules_reject_wrong_numbers``): the exact rules reject peak x0.5, x2,
   without the input, +-1 and activation +-1, +-(int64 elements) at every configuration where the
   number changes; the bounds reject peak x0.5, without the input and -1 (lower) and x2 and +1
   (upper) at some (127, 97, 78 and 121, 29 of 130 configurations when written).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import pytest
import torch
from torch._C._profiler import _EventType
from torch.profiler import ProfilerActivity, profile
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

from attncost import catalogue
from attncost.errors import HyperparameterError
from attncost.reference import build

try:                                          # a cheap range; the public one is the fallback
    from torch._C._profiler import _RecordFunctionFast as _Range
except ImportError:                           # pragma: no cover
    from torch.profiler import record_function as _Range

MARK = "attncost-oracle-op#"
CANDIDATE_SHAPES = ((2, 16, 9, 11), (2, 64, 10, 12), (1, 48, 16, 16), (2, 48, 9, 11), (1, 96, 6, 7),
                    (2, 16, 32, 17))
SHAPES_PER_ENTRY = 3
END = float("inf")


def _shapes(entry) -> list:
    found = []
    for shape in CANDIDATE_SHAPES:
        try:
            entry.resolve(shape, {})
        except HyperparameterError:
            continue
        found.append(shape)
        if len(found) == SHAPES_PER_ENTRY:
            break
    return found


CONFIGS = [(e.name, s) for e in catalogue.entries() for s in _shapes(e)]
IDS = [f"{name}-{'x'.join(map(str, s))}" for name, s in CONFIGS]


# -- observation ------------------------------------------------------------------------------------

def _tensors(tree) -> list:
    return [t for t in tree_flatten(tree)[0] if isinstance(t, torch.Tensor)]


def _ptr(t: torch.Tensor) -> int:
    return t.untyped_storage().data_ptr()


@dataclass
class OpSeen:
    name: str
    inputs: list                      # storage pointers of the tensor inputs
    outputs: dict                     # storage pointer -> (itemsize, dtype) of the tensor outputs


class _Marker(TorchDispatchMode):
    """Marks each aten op with a profiler range; keeps pointers only, never tensors."""

    def __init__(self):
        super().__init__()
        self.ops: list[OpSeen] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        index = len(self.ops)
        inputs = [_ptr(t) for t in _tensors((args, kwargs))]
        with _Range(MARK + str(index)):
            out = func(*args, **kwargs)
        outputs = {_ptr(t): (t.element_size(), str(t.dtype)) for t in _tensors(out)}
        self.ops.append(OpSeen(func.name(), inputs, outputs))
        return out


@dataclass
class Alloc:
    ptr: int
    nbytes: int
    op: int | None                    # index of the aten op whose range holds the allocation
    free_op: int | None = None        # ... and the free (None: between ops or never)
    freed: bool = False
    itemsize: int = 0
    dtype: str = ""

    @property
    def temporary(self) -> bool:      # made and freed inside one aten op
        return self.op is not None and self.freed and self.free_op == self.op

    @property
    def elements(self) -> int:
        assert self.itemsize, f"{self.nbytes} B outlive op {self.op} but are none of its outputs"
        return self.nbytes // self.itemsize


def _timeline(prof) -> list:
    """(time, order, kind, payload): 'start' op index, or ('alloc'|'free', ptr, bytes, op)."""
    found = []

    def walk(event, op):
        if event.tag == _EventType.Allocation:
            f = event.extra_fields
            if f.device.type == "cpu":
                found.append((event.start_time_ns, len(found), "mem",
                              (f.ptr, f.alloc_size, f.total_allocated, op)))
        elif event.name.startswith(MARK):
            op = int(event.name[len(MARK):])
            found.append((event.start_time_ns, len(found), "start", op))
        for child in event.children:
            walk(child, op)

    for root in prof.profiler.kineto_results.experimental_event_tree():
        walk(root, None)
    found.sort(key=lambda e: (e[0], e[1]))
    return found


def _profiled(module, x, mode):
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        if mode is None:
            out = module(x)
        else:
            with mode:
                out = module(x)
    return out, _timeline(prof)


@dataclass
class Observation:
    name: str
    shape: tuple
    input_ptr: int
    input_elements: int
    input_bytes: int
    ops: list
    allocs: list                      # in allocation order (marked run)
    timeline: list                    # ('start', op) | ('alloc', alloc index) | ('free', alloc index)
    output_ptrs: set
    stray_frees: list                 # frees of memory not allocated during the forward
    plain_sizes: list                 # signed allocator sizes, plain run, time order
    plain_peak_bytes: int             # the allocator's peak in the plain run, input included
    plain_output_bytes: int
    marked_peak_bytes: int            # the allocator's peak in the marked run, input included
    activation: int                   # attncost's numbers
    peak: int

    def survivors(self):
        return [a for a in self.allocs if not a.temporary and a.op is not None]


@functools.lru_cache(maxsize=None)
def observe(name: str, shape: tuple) -> Observation:
    entry = catalogue.get(name)
    hp = entry.resolve(shape, {})
    cost = entry.cost(shape, hp)
    module = build(name, shape, hp).eval()
    torch.manual_seed(0)
    x = torch.randn(*shape)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)          # allocations of worker threads would fall outside the op ranges
    try:
        with torch.no_grad():
            module(x)                 # warm-up: lazy initialisation is not the forward's memory
            plain_out, plain = _profiled(module, x, None)
            plain_output_bytes = sum(t.untyped_storage().nbytes() for t in _unique_storages(plain_out)
                                     if _ptr(t) != _ptr(x))
            del plain_out
            marker = _Marker()
            out, marked = _profiled(module, x, marker)
    finally:
        torch.set_num_threads(threads)

    mem = [e[3] for e in plain if e[2] == "mem"]
    plain_peak = _allocator_peak(mem) + x.untyped_storage().nbytes()
    marked_peak = _allocator_peak([e[3] for e in marked if e[2] == "mem"]) + x.untyped_storage().nbytes()

    allocs: list[Alloc] = []
    live: dict = {}
    timeline: list = []
    stray = []
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
            assert allocs[index].nbytes == -size
            allocs[index].freed, allocs[index].free_op = True, op
            timeline.append(("free", index))
        else:
            stray.append(size)
    for a in allocs:
        if a.op is not None and not a.temporary and a.ptr in marker.ops[a.op].outputs:
            a.itemsize, a.dtype = marker.ops[a.op].outputs[a.ptr]
    return Observation(
        name=name, shape=shape, input_ptr=_ptr(x), input_elements=x.numel(),
        input_bytes=x.untyped_storage().nbytes(), ops=marker.ops, allocs=allocs, timeline=timeline,
        output_ptrs={_ptr(t) for t in _tensors(out)}, stray_frees=stray,
        plain_sizes=[size for _, size, _, _ in mem], plain_peak_bytes=plain_peak,
        plain_output_bytes=plain_output_bytes, marked_peak_bytes=marked_peak,
        activation=int(cost.activation_elements), peak=int(cost.peak_live_elements))


def _allocator_peak(mem) -> int:
    """Highest running total of the allocator above its value before the first event."""
    if not mem:
        return 0
    base = mem[0][2] - mem[0][1]
    return max([0] + [total - base for _, _, total, _ in mem])


def _unique_storages(out) -> list:
    seen, unique = set(), []
    for t in _tensors(out):
        if _ptr(t) not in seen:
            seen.add(_ptr(t))
            unique.append(t)
    return unique


# -- derived quantities -----------------------------------------------------------------------------

@dataclass
class Lives:
    """Survivors (and the input, key 'input') with birth step, last use step and size; ops' uses."""
    size: dict                        # key -> elements
    nbytes: dict                      # key -> bytes
    born: dict
    last: dict
    op_uses: list                     # per op: set of keys read
    op_allocs: list                   # per op: keys it allocated (survivors)
    real_last: dict                   # key -> the last op step begun before the allocator freed it
    real_peak_elements: int           # real free times, input held throughout
    real_peak_bytes: int
    foreign_outputs: list             # (op, pointer): a returned storage neither read nor made by the op


@functools.lru_cache(maxsize=None)
def lives(name: str, shape: tuple) -> Lives:
    obs = observe(name, shape)
    size, nbytes = {"input": obs.input_elements}, {"input": obs.input_bytes}
    born, last = {"input": 0}, {"input": 0}
    op_uses = [set() for _ in obs.ops]
    op_allocs = [[] for _ in obs.ops]
    live_ptr: dict = {}               # pointer -> key of what lives there now (None: not counted)
    input_ptr = obs.input_ptr
    running_e, running_b = obs.input_elements, obs.input_bytes
    peak_e, peak_b = running_e, running_b
    real_last = {"input": END}        # the caller holds the input
    step = 0
    foreign = []
    for kind, value in obs.timeline:
        if kind == "start":
            step = value + 1
            for ptr in obs.ops[value].outputs:
                if ptr in live_ptr and live_ptr[ptr] is None:
                    foreign.append((value, ptr))      # returns the mode's wrapped number
            for ptr in obs.ops[value].inputs:
                if ptr in live_ptr:
                    key = live_ptr[ptr]
                elif ptr == input_ptr:
                    key = "input"
                else:
                    continue          # a parameter or buffer, a wrapped Python number, size 0
                if key is not None:
                    op_uses[value].add(key)
                    last[key] = value + 1
            continue
        a = obs.allocs[value]
        counted = a.op is not None and not a.temporary
        if kind == "alloc":
            live_ptr[a.ptr] = value if counted else None
            if counted:
                size[value], nbytes[value] = a.elements, a.nbytes
                born[value] = last[value] = a.op + 1
                op_allocs[a.op].append(value)
                running_e += a.elements
                running_b += a.nbytes
                peak_e, peak_b = max(peak_e, running_e), max(peak_b, running_b)
        else:
            live_ptr.pop(a.ptr, None)
            if counted:
                real_last[value] = step
                running_e -= a.elements
                running_b -= a.nbytes
    for key, a in enumerate(obs.allocs):
        if key in size and not a.freed:
            last[key] = real_last[key] = END   # alive at the end: an output (rule 1 checks it is one)
    if input_ptr in obs.output_ptrs:
        last["input"] = END
    for i, op in enumerate(obs.ops):
        made = {obs.allocs[k].ptr for k in op_allocs[i]}
        foreign += [(i, ptr) for ptr in op.outputs if ptr and ptr not in made and ptr not in op.inputs]
    return Lives(size, nbytes, born, last, op_uses, op_allocs, real_last, peak_e, peak_b, foreign)


def replay_peak(lv: Lives, weight: str = "size") -> int:
    """Largest sum of live storages over the op steps, each live from birth to last use."""
    sizes = getattr(lv, weight)
    steps = len(lv.op_uses)
    best = 0
    for step in range(steps + 1):
        live = sum(sizes[k] for k in sizes if lv.born[k] <= step <= lv.last[k])
        best = max(best, live)
    return best


def int64_elements(obs: Observation) -> int:
    return sum(a.elements for a in obs.survivors() if a.itemsize == 8)


# -- the rules, as functions of attncost's two numbers (so that wrong numbers can be fed in) ---------

def check_activation(obs: Observation, activation: int) -> None:
    survivors = obs.survivors()
    elements = sum(a.elements for a in survivors)
    assert activation == elements, (
        f"{obs.name} {obs.shape}: attncost activation {activation} != {elements} elements of the "
        f"{len(survivors)} allocations that outlive their op")
    survivor_bytes = sum(a.nbytes for a in survivors)
    assert survivor_bytes == 4 * activation + 4 * int64_elements(obs)
    plain_total = sum(s for s in obs.plain_sizes if s > 0)
    assert plain_total >= 4 * activation + 4 * int64_elements(obs)


def check_peak_replay(obs: Observation, peak: int) -> None:
    replayed = replay_peak(lives(obs.name, obs.shape))
    assert peak == replayed, (
        f"{obs.name} {obs.shape}: attncost peak {peak} != {replayed}, the allocator's survivors "
        f"replayed with each free at the last use")


def check_peak_lower_bounds(obs: Observation, peak: int) -> None:
    lv = lives(obs.name, obs.shape)
    outputs = sum(lv.size[k] for k in lv.size if k != "input" and lv.last[k] == END)
    assert peak >= obs.input_elements + outputs, (
        f"{obs.name} {obs.shape}: peak {peak} < input {obs.input_elements} + outputs {outputs}")
    for i, op in enumerate(obs.ops):
        working = sum(lv.size[k] for k in lv.op_uses[i] | set(lv.op_allocs[i]))
        assert peak >= working, (
            f"{obs.name} {obs.shape}: peak {peak} < {working}, the operands and results of op {i} {op.name}")


def check_peak_upper_bounds(obs: Observation, peak: int, activation: int) -> None:
    lv = lives(obs.name, obs.shape)
    assert peak <= lv.real_peak_elements, (
        f"{obs.name} {obs.shape}: peak {peak} > {lv.real_peak_elements}, the live survivors "
        f"(with the input) at the allocator's worst moment")
    assert lv.real_peak_elements <= activation + obs.input_elements


def check_peak_bytes(obs: Observation) -> None:
    lv = lives(obs.name, obs.shape)
    replay_bytes = replay_peak(lv, "nbytes")
    plain_total = sum(s for s in obs.plain_sizes if s > 0)
    assert replay_bytes <= lv.real_peak_bytes <= obs.plain_peak_bytes <= obs.input_bytes + plain_total, (
        f"{obs.name} {obs.shape}: replay {replay_bytes} B, real survivors {lv.real_peak_bytes} B, "
        f"allocator peak {obs.plain_peak_bytes} B, input + total {obs.input_bytes + plain_total} B")


def check_lifetimes_and_workspace(obs: Observation) -> None:
    """Each storage really lives at least from its op to its last use; the allocator's peak is the
    survivors' plus at most one op's workspace (ops do not nest, one thread) and the mode's numbers."""
    lv = lives(obs.name, obs.shape)
    for key in lv.size:
        assert lv.real_last[key] >= lv.last[key], (
            f"{obs.name} {obs.shape}: storage {key} freed after step {lv.real_last[key]}, before its "
            f"last use at step {lv.last[key]}")
    workspace: dict = {}
    for a in obs.allocs:
        if a.temporary:
            workspace[a.op] = workspace.get(a.op, 0) + a.nbytes
    wrapped = sum(a.nbytes for a in obs.allocs if a.op is None)
    assert lv.real_peak_bytes <= obs.marked_peak_bytes <= (
        lv.real_peak_bytes + max([0] + list(workspace.values())) + wrapped)


def _is_subsequence(small: list, big: list) -> bool:
    it = iter(big)
    return all(any(s == b for b in it) for s in small)


# -- tests ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name,shape", CONFIGS, ids=IDS)
def test_allocations_are_op_outputs(name, shape):
    obs = observe(name, shape)
    assert not obs.stray_frees, f"freed memory not allocated in the forward: {obs.stray_frees}"
    for a in obs.allocs:
        if a.op is None:              # allocated between ops: only the mode's wrapped numbers
            assert a.nbytes <= 8, a
        elif not a.temporary:
            op = obs.ops[a.op]
            assert a.ptr in op.outputs, f"{op.name} keeps {a.nbytes} B that is none of its outputs"
            assert a.nbytes % a.itemsize == 0
            assert a.dtype in ("torch.float32", "torch.int64"), (op.name, a.dtype)
            if a.itemsize == 8:
                assert op.name in ("aten::max_pool2d_with_indices", "aten::max.dim"), op.name
            if not a.freed:
                assert a.ptr in obs.output_ptrs, f"{op.name}'s {a.nbytes} B outlives the forward"
    foreign = [(obs.ops[i].name, ptr) for i, ptr in lives(name, shape).foreign_outputs]
    assert not foreign, f"ops return storages they neither read nor allocated: {foreign}"
    kept = {a.ptr for a in obs.survivors() if not a.freed}
    assert kept <= obs.output_ptrs
    assert sum(obs.plain_sizes) == obs.plain_output_bytes, "the plain run keeps more than its outputs"
    survivor_sizes = [a.nbytes for a in obs.survivors()]
    assert _is_subsequence(survivor_sizes, [s for s in obs.plain_sizes if s > 0])


@pytest.mark.parametrize("name,shape", CONFIGS, ids=IDS)
def test_activation_equals_surviving_allocations(name, shape):
    obs = observe(name, shape)
    check_activation(obs, obs.activation)


@pytest.mark.parametrize("name,shape", CONFIGS, ids=IDS)
def test_peak_equals_replay_with_frees_at_last_use(name, shape):
    obs = observe(name, shape)
    check_peak_replay(obs, obs.peak)


@pytest.mark.parametrize("name,shape", CONFIGS, ids=IDS)
def test_peak_bounds(name, shape):
    obs = observe(name, shape)
    check_peak_lower_bounds(obs, obs.peak)
    check_peak_upper_bounds(obs, obs.peak, obs.activation)
    check_peak_bytes(obs)
    check_lifetimes_and_workspace(obs)


def test_zero_size_allocations_are_invisible():
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        empty = torch.empty(3, 0)
        one = torch.empty(1)
    sizes = [e[3][1] for e in _timeline(prof) if e[2] == "mem"]
    assert empty.untyped_storage().data_ptr() == 0 and one.numel() == 1
    assert sizes == [4]


def _fails(check, *args) -> bool:
    try:
        check(*args)
    except AssertionError:
        return True
    return False


def _changed(wrong, obs) -> bool:
    return wrong(obs) != (obs.activation, obs.peak)


CHECKS = {
    "activation": lambda o, act, peak: check_activation(o, act),
    "replay": lambda o, act, peak: check_peak_replay(o, peak),
    "lower bounds": lambda o, act, peak: check_peak_lower_bounds(o, peak),
    "upper bounds": lambda o, act, peak: check_peak_upper_bounds(o, peak, o.activation),
}
# wrong numbers made from attncost's right ones, and the checks that must reject them: "all" for the
# exact rules (every configuration where the number changes), "some" for the bounds
MUTATIONS = {
    "peak x0.5": (lambda o: (o.activation, o.peak // 2), {"replay": "all", "lower bounds": "some"}),
    "peak x2": (lambda o: (o.activation, 2 * o.peak), {"replay": "all", "upper bounds": "some"}),
    "peak without the input": (lambda o: (o.activation, o.peak - o.input_elements),
                               {"replay": "all", "lower bounds": "some"}),
    "peak + 1": (lambda o: (o.activation, o.peak + 1), {"replay": "all", "upper bounds": "some"}),
    "peak - 1": (lambda o: (o.activation, o.peak - 1), {"replay": "all", "lower bounds": "some"}),
    "activation + 1": (lambda o: (o.activation + 1, o.peak), {"activation": "all"}),
    "activation - 1": (lambda o: (o.activation - 1, o.peak), {"activation": "all"}),
    "activation with int64 indices as 2 elements": (
        lambda o: (o.activation + int64_elements(o), o.peak), {"activation": "all"}),
    "activation without int64 indices": (
        lambda o: (o.activation - int64_elements(o), o.peak), {"activation": "all"}),
}


@pytest.mark.parametrize("mutation", list(MUTATIONS))
def test_rules_reject_wrong_numbers(mutation):
    wrong, must_catch = MUTATIONS[mutation]
    configs = [observe(n, s) for n, s in CONFIGS if _changed(wrong, observe(n, s))]
    assert configs, f"{mutation} changes nothing anywhere"
    for check, how in must_catch.items():
        missed = [(o.name, o.shape) for o in configs if not _fails(CHECKS[check], o, *wrong(o))]
        if how == "all":
            assert not missed, f"the {check} check accepts {mutation} for {missed[:5]}"
        else:
            assert len(missed) < len(configs), f"no entry's {check} check rejects {mutation}"


def test_every_entry_is_observed_at_two_shapes_or_more():
    seen: dict = {}
    for name, _ in CONFIGS:
        seen[name] = seen.get(name, 0) + 1
    few = [e.name for e in catalogue.entries() if seen.get(e.name, 0) < 2]
    assert not few, f"add a candidate shape valid for {few}"
