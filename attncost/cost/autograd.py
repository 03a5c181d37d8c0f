"""Autograd on the formula side: the graph a training Program's forward builds, and the engine that runs
it backwards into the same recorder. No torch.

A training :class:`~attncost.cost.program.Program` gives every op whose inputs need a gradient a
:class:`Node` (PyTorch's ``torch::autograd::Node``: one per op, numbered in creation order like its
``sequence_nr``), with an edge per input to the node that made that input, and a ``backward`` that
writes the ops autograd's formula for it runs (``tools/autograd/derivatives.yaml``) through the
Program's own op methods, so they are counted and kept live like forward ops. Parameters are
:class:`Leaf` nodes (``AccumulateGrad``).

:func:`run_backward` follows ``torch/csrc/autograd/engine.cpp`` on one CPU thread:

- a node runs once every node that feeds it a gradient has run; among the ready ones the highest
  sequence number first, and AccumulateGrad (sequence number UINT64_MAX) at once, so the order is the
  forward's reversed;
- a gradient whose shape is not its input's (a broadcast operand) is summed to it after the node
  runs (``validate_outputs``: ``at::sum_to``, a ``sum`` with keepdim and a ``view`` dropping leading dims);
- a gradient reaching an input that already has one is added to it (``InputBuffer::accumulate``);
- a parameter's gradient becomes its ``.grad`` (``AccumulateGrad``).

The last two depend on reference counts in PyTorch. The training tracer (:mod:`attncost.trace.training`)
holds the storage of every tensor an op writes (it keys storages by address, so none may be freed),
not the tensor: so an add into an input buffer is never in place (``can_accumulate_inplace`` wants
the only reference to the storage), always ``old + new`` into a new storage; and AccumulateGrad takes a
gradient as ``.grad`` without a copy (``accumulate_grad.h``: nothing else holds the tensor, and its
strides are the parameter's) except the output gradient, which the caller holds: that one, or a
gradient laid out otherwise (an expanded or permuted one), is copied (``new_empty_strided`` +
``copy_``). Both sides follow that rule.
"""

from __future__ import annotations

import heapq
import itertools

from ..errors import AttncostError
from ..ops.pointwise import REDUCE_SUM, copy as copy_counts
from .layout import is_contiguous, is_one

ACCUMULATE_GRAD_SEQ = float("inf")
_MADE = itertools.count()


class TrainingError(AttncostError):
    """A training program cannot be differentiated: an op method has no backward (yet)."""


class Node:
    """One autograd node: ``edges`` (per forward input, ``(node, output index)`` or None where the
    input needs no gradient), the inputs' shapes (for ``validate_outputs``), the number of forward
    outputs (gradient slots) and ``backward(program, grads, needs) -> grads of the inputs``."""

    __slots__ = ("seq", "name", "edges", "input_shapes", "outputs", "backward", "scope", "region", "saves", "made")

    def __init__(self, seq, name, edges, input_shapes, outputs, backward, scope, region=None):
        self.seq, self.name, self.edges, self.input_shapes = seq, name, edges, input_shapes
        self.outputs, self.backward, self.scope, self.region = outputs, backward, scope, region
        self.saves = False
        self.made = next(_MADE)

    def __lt__(self, other):        # ties (AccumulateGrads ready at once, a weight's and its bias's): first made first
        return self.made < other.made


class Leaf(Node):
    """AccumulateGrad of one parameter (``name`` its full name and part, ``weight``/``bias``/``param``)
    or of an input that requires grad."""

    __slots__ = ()

    def __init__(self, name, shape):
        super().__init__(ACCUMULATE_GRAD_SEQ, name, (), (), 1, None, ())
        self.input_shapes = (tuple(shape),)


class Region:
    """A checkpointed region (``torch.utils.checkpoint.checkpoint(fn, *inputs, use_reentrant=False)``):
    its nodes save nothing; the first of them to need a saved tensor in backward has the region's
    records run again up to the op that saved its last tensor (torch's default early stop), and the
    backward reads the recomputed storages in place of the forward's."""

    def __init__(self, scope, first_record):
        self.scope, self.first_record = scope, first_record
        self.stop = 0                   # records of the region the recompute runs
        self.records = 0                # records of the region in the forward
        self.recomputed = False


class Tape:
    """What a training program's forward builds for backward: nodes, parameter leaves, saved storages."""

    def __init__(self, trainable=None):
        self._seq = itertools.count()
        self.trainable = trainable if trainable is not None else (lambda name: True)
        self.leaves: dict = {}          # (full parameter name, part) -> Leaf, or None where frozen
        self.saved: dict = {}           # storage -> None (insertion-ordered set of saved storages)
        self.nodes = 0
        self.region: Region | None = None

    def leaf(self, full_name: tuple, part: str, shape):
        """The AccumulateGrad of a parameter part, None if the parameter is frozen (one per name:
        a shared weight accumulates its gradients)."""
        key = (full_name, part)
        if key not in self.leaves:
            self.leaves[key] = Leaf(key, shape) if self.trainable(full_name) else None
        return self.leaves[key]

    def node(self, name, inputs, n_outputs, backward, scope) -> Node | None:
        """A node for an op reading ``inputs`` (Tensors, Leaf or None), or None where none needs a gradient."""
        edges = tuple(_edge(i) for i in inputs)
        if all(e is None for e in edges):
            return None
        self.nodes += 1
        shapes = tuple(i.input_shapes[0] if isinstance(i, Leaf) else (i.shape if i is not None else None)
                       for i in inputs)
        return Node(next(self._seq), name, edges, shapes, n_outputs, backward, scope, self.region)

    def save(self, *tensors) -> None:
        """Storages autograd saves for backward (parameters and buffers are left out when counted);
        inside a checkpointed region nothing is kept (checkpoint's own hooks take them)."""
        if self.region is not None:
            return
        for t in tensors:
            self.saved[t.storage] = None


def _edge(source):
    if source is None:
        return None
    if isinstance(source, Leaf):
        return (source, 0)
    return source.grad_fn


def needs_grad(t) -> bool:
    return t is not None and getattr(t, "grad_fn", None) is not None


def sum_to(program, grad, shape):
    """``at::sum_to(grad, shape)`` (aten/src/ATen/ExpandUtils.h): a sum with keepdim over the leading
    dims and the dims ``shape`` has as 1, then a view dropping the leading dims."""
    shape = tuple(shape)
    lead = grad.ndim - len(shape)
    dims = list(range(lead)) + [lead + i for i, s in enumerate(shape)
                                if is_one(s) and not is_one(grad.shape[lead + i])]
    if dims:
        grad = program.reduce(REDUCE_SUM, grad, dims, keepdim=True)
    if lead > 0:
        grad = program.view(grad, shape)
    return grad


def _same_shape(a, b) -> bool:
    return len(a) == len(b) and all(x == y for x, y in zip(a, b))


def _obeys_layout(grad) -> bool:
    """``utils::obeys_layout_contract`` for a contiguous parameter: the parameter's strides on every
    dim of size > 1, no stride 0 on a dim of size 1."""
    return is_contiguous(grad.shape, grad.strides) and not any(
        is_one(size) and stride == 0 for size, stride in zip(grad.shape, grad.strides))


def _accumulate_grad(program, grad, held: bool, kept: list) -> None:
    """AccumulateGrad (first gradient of a leaf): the gradient itself becomes ``.grad`` (one ``detach``)
    unless someone else holds it (``held``: torch/csrc/autograd/functions/accumulate_grad.h steals it
    only where ``use_count() <= 1``) or its layout is not the parameter's; then a copy is."""
    if not held and _obeys_layout(grad):
        program.record([grad.storage], [])
        kept.append(grad.storage)
        return
    fresh = program.allocate([grad], grad.shape)[0]
    program.count(copy_counts(grad.shape))
    program.record([fresh.storage, grad.storage], [])
    kept.append(fresh.storage)


def run_backward(program, roots) -> list:
    """Run the graph behind ``roots`` ((output Tensor, its gradient Tensor) pairs) backwards, writing
    every op into ``program`` (whose tape must be off). Returns the storages of the ``.grad`` of each
    leaf reached (they stay live to the end)."""
    nodes = [t.grad_fn[0] for t, _ in roots if t.grad_fn is not None]
    dependencies: dict = {}
    seen = set(map(id, nodes))
    stack = list(nodes)
    while stack:
        node = stack.pop()
        for edge in node.edges:
            if edge is None:
                continue
            nxt = edge[0]
            dependencies[nxt] = dependencies.get(nxt, 0) + 1
            if id(nxt) not in seen:
                seen.add(id(nxt))
                stack.append(nxt)
    buffers: dict = {}
    holders = _Holders()
    for t, g in roots:
        if t.grad_fn is not None:
            _deliver(program, buffers, t.grad_fn, g, holders)
    ready = [(-n.seq, n) for n in {id(n): n for n in nodes}.values() if dependencies.get(n, 0) == 0]
    heapq.heapify(ready)
    kept: list = []
    held = {id(g) for _, g in roots}            # the output gradients: the caller holds them
    while ready:
        _, node = heapq.heappop(ready)
        grads = buffers.pop(node, None) or [None] * node.outputs
        for g in grads:
            holders.release(g)
        if isinstance(node, Leaf):
            if grads[0] is not None:
                _accumulate_grad(program, grads[0], id(grads[0]) in held or holders.holds(grads[0]), kept)
            continue
        needs = [e is not None for e in node.edges]
        if node.region is not None and node.saves and not node.region.recomputed:
            program.recompute(node.region)
        with program.scope(*node.scope):
            outs = node.backward(program, grads, needs)
            outs = [(sum_to(program, g, shape) if g is not None and not _same_shape(g.shape, shape) else g)
                    if need else None for g, shape, need in zip(outs, node.input_shapes, needs)]
        for edge, g in zip(node.edges, outs):
            if edge is None:
                continue
            if g is not None:
                _deliver(program, buffers, edge, g, holders)
            dependencies[edge[0]] -= 1
            if dependencies[edge[0]] == 0:
                heapq.heappush(ready, (-edge[0].seq, edge[0]))
    return kept


class _Holders:
    """How many input-buffer slots hold each gradient object now: an op whose backward passes its
    gradient on unchanged (an add's, a clone's) hands one tensor to several nodes, and a leaf reached
    while another slot still holds it cannot take it as ``.grad``."""

    def __init__(self):
        self._held: dict = {}           # id -> [tensor, slots]: the tensor kept so that its id stays its own

    def hold(self, grad) -> None:
        entry = self._held.setdefault(id(grad), [grad, 0])
        entry[1] += 1

    def release(self, grad) -> None:
        entry = self._held.get(id(grad)) if grad is not None else None
        if entry is not None:
            entry[1] -= 1
            if entry[1] == 0:
                del self._held[id(grad)]

    def holds(self, grad) -> bool:
        return id(grad) in self._held


def _deliver(program, buffers: dict, edge, grad, holders: _Holders) -> None:
    """``InputBuffer::add``: the first gradient of a slot is kept, each later one added (out of place)."""
    node, slot = edge
    slots = buffers.setdefault(node, [None] * node.outputs)
    if slots[slot] is None:
        slots[slot] = grad
    else:
        holders.release(slots[slot])
        slots[slot] = program.add(slots[slot], grad)
    holders.hold(slots[slot])


def saved_elements(program, tape: Tape):
    """Elements of the storages saved for backward, each once; parameters and buffers (storages the
    recorder does not track) left out."""
    sizes = [program.storage_elements(s) for s in tape.saved]
    return [s for s in sizes if s is not None]
