"""The training tracer: one real training step, forward in train mode then ``backward()``, counted op by
op under the dispatch mode, as a :class:`~attncost.cost.training_cost.TrainingCost` (issue 16).

Every aten op of both passes goes through the same primitives as the forward tracer
(:mod:`attncost.trace.handlers`): autograd's backward runs below the autograd key, so a
``TorchDispatchMode`` sees ``convolution_backward``, ``mm``, ``threshold_backward``... as it sees
the forward's ops (torch/utils/flop_counter.py counts backward the same way). What a step is made of:

- **the loss is the user's**: the backward starts from a gradient of each output's shape (``output_grad``,
  default ``torch.ones_like(out)``), made outside the count. The step that hands it to autograd is one
  record of its own (scope ``("<output gradient>",)``, no counts): it reads the outputs (a loss reads
  them) and allocates their gradients, so both are live there.
- **phases**: records before :attr:`TrainingResult.backward_start` are the forward's, the rest the
  backward's. Recomputation inside activation checkpointing
  (``torch.utils.checkpoint.checkpoint(use_reentrant=False)``, asked for by ``checkpoint=`` names) runs
  during ``backward()`` and counts there, as torch runs it: with its default early stop, the recompute
  ends once the last tensor the region saved is recomputed (torch/utils/checkpoint.py,
  ``set_checkpoint_early_stop``).
- **saved tensors** (``saved_elements``): the pack hook of ``torch.autograd.graph.saved_tensors_hooks``
  sees every tensor autograd saves during the forward; storages of parameters and buffers are left
  out, every other storage counts once, with all its elements (a saved view counts its storage).
  Inside a checkpointed region torch's own hooks take the saved tensors (nothing is saved there); the
  region's inputs, which checkpoint saves for the recompute, count.
- **memory** (``peak_elements``): :mod:`attncost.cost.liveness` over the forward's steps, the
  output-gradient step and the backward's steps, in execution order: a storage is live from the op
  that allocates it to the last op that reads it (a saved tensor until the backward op that last reads
  it); the input from the first step to its last use; each parameter's ``.grad`` (and the input's, if
  it requires grad: an attention block inside a network) from the op that allocates it to the end;
  parameters and buffers never.
  Elements, not bytes: an int64 index (max pooling's) counts as one element, like a float.
- **parameters and inputs**: the user's are never touched: the step runs on detached leaves that share their data
  (cast to the precision's dtype; FakeTensors for a FakeTensor input) with the same ``requires_grad``,
  swapped into the module for the step and put back after, and buffers run on copies (batch norm's
  running statistics). ``trainable_params`` counts the leaves that require grad: a part the user froze
  (``requires_grad_(False)``) gets no gradient, and ``backward()`` runs only what autograd runs for
  the rest (no grad-weight product for a frozen convolution).
- **precision**: ``"bf16"``/``"fp16"`` cast the parameters, buffers and inputs to that dtype (pure
  low-precision activations; the fp32 master weights and optimizer state are
  :meth:`TrainingCost.bytes`'s, not allocated here).
- **scopes**: forward ops get their module's path from forward pre/post hooks (removed after); a
  backward op gets the scope of the module whose forward made the autograd node running it
  (``torch._C._current_autograd_node``; each node claimed by the innermost module whose output reaches it).

Symbolic sizes: a FakeTensor input made by :class:`attncost.trace.symbolic.SymbolicInputs`, with its
``size_to_expr``, traces forward and backward with sizes as expressions (torch 2.13's FakeTensors run
autograd's backward formulas on SymInts); :func:`trace_training_symbolic` does that set-up.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

import torch
from torch._guards import detect_fake_mode
from torch._subclasses.fake_tensor import FakeTensor
from torch.autograd.graph import saved_tensors_hooks
from torch.utils._pytree import tree_flatten
from torch.utils.checkpoint import checkpoint as torch_checkpoint

from ..algebra import exact_div
from ..cost import Cost
from ..cost.program import OpRecord
from ..cost.symbolic import total
from ..cost.training_cost import PRECISIONS, Precision, TrainingCost
from ..errors import AttncostError, ShapeError
from .tracer import CostTracer, _storage_key

FORWARD, BACKWARD = "forward", "backward"
#: the scope of the step that hands the output gradients to autograd
OUTPUT_GRADIENT_SCOPE = ("<output gradient>",)
DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


@dataclass
class TrainingResult:
    """A traced training step: the :class:`TrainingCost` and what a user looks into."""

    cost: TrainingCost
    precision: str                                # "fp32", "bf16" or "fp16"
    records: list                                 # one OpRecord per step (forward, output gradient, backward)
    funcs: list                                   # the aten overload of each record (None: the output gradient)
    backward_start: int                           # index of the output-gradient step: the first backward record
    output_shapes: tuple                          # shapes of the tensor outputs
    unsupported: dict = field(default_factory=dict)       # aten op -> (calls, first scope)
    saved_by_scope: dict = field(default_factory=dict)    # "layer1/0/conv1" -> saved elements ("" the root)

    @property
    def phases(self) -> tuple:
        """``"forward"`` or ``"backward"`` for each record."""
        return tuple(FORWARD if i < self.backward_start else BACKWARD for i in range(len(self.records)))

    @property
    def forward(self) -> Cost:
        return self.cost.forward

    @property
    def backward_counts(self) -> dict:
        return dict(self.cost.backward_counts)

    def bytes(self, optimizer="sgd") -> dict:
        """:meth:`TrainingCost.bytes` at the precision the step ran in."""
        return self.cost.bytes(optimizer, PRECISIONS[self.precision])


class TrainingTracer(CostTracer):
    """The forward tracer, carried on through ``backward()``: forward counts and memory as
    :class:`CostTracer`'s, then the output-gradient step and the backward's ops in the same liveness;
    backward counts kept apart; saved tensors from the pack hook; scopes through autograd nodes."""

    def __init__(self, size_to_expr=None):
        super().__init__(None, size_to_expr)
        self.backward_start: int | None = None
        self.saved: dict = {}                 # storage key -> (elements, scope) of each saved storage
        self._node_scopes: dict = {}          # autograd node -> scope of the module that made it
        self._depth = 0                       # modules running now (a checkpoint's recompute in backward)

    # -- scopes --------------------------------------------------------------------------------------
    def enter(self, scope: tuple) -> tuple:
        before, self.scope = self.scope, scope
        self._depth += 1
        return before

    def leave(self, before: tuple) -> None:
        self.scope = before
        self._depth -= 1

    def claim_nodes(self, output) -> None:
        """The autograd nodes behind ``output`` not claimed by an inner module get the current scope
        (a module's post hook calls this, innermost first; ancestors of a claimed node are claimed)."""
        if self.backward_start is not None:
            return
        stack = [t.grad_fn for t in _tensor_leaves(output) if t.grad_fn is not None]
        while stack:
            node = stack.pop()
            if node is None or node in self._node_scopes:
                continue
            self._node_scopes[node] = self.scope
            stack.extend(nxt for nxt, _ in node.next_functions)

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if self.backward_start is None or self._depth:
            return super().__torch_dispatch__(func, types, args, kwargs)
        before = self.scope
        self.scope = self._node_scopes.get(torch._C._current_autograd_node(), before)
        try:
            return super().__torch_dispatch__(func, types, args, kwargs)
        finally:
            self.scope = before

    # -- saved tensors -------------------------------------------------------------------------------
    def pack(self, t: torch.Tensor):
        key = _storage_key(t)
        if key not in self._param_keys and key not in self.saved:
            self.saved[key] = (self._storage_elements(t, key), self.scope)
        return t

    def _storage_elements(self, t: torch.Tensor, key):
        size = self._liveness.size.get(key)
        if size is not None:
            return size
        return exact_div(self._size_to_expr(t.untyped_storage().nbytes()), t.element_size())

    # -- the two passes ------------------------------------------------------------------------------
    def end_forward(self, output) -> Cost:
        """The forward's own Cost (its outputs live to its end); backward counts start from zero."""
        cost = self.result(output, allow_unsupported=True)
        self._counts = {}                     # a new dict: the forward's Cost keeps the old one
        return cost

    def begin_backward(self, outputs: list, gradients: list) -> None:
        """The output-gradient step: reads the outputs, allocates the gradients made outside the count."""
        self.backward_start = len(self.records)
        uses = tuple(_storage_key(t) for t in outputs)
        allocations = []
        for g in gradients:
            key = _storage_key(g)
            if key not in self._known:
                self._known.add(key)
                self._keep.append(g.untyped_storage())
                allocations.append((key, self.numel(g)))
        self._liveness.record(uses, allocations)
        self.records.append(OpRecord(len(self.records), OUTPUT_GRADIENT_SCOPE, {}, 0, uses, tuple(allocations)))
        self.funcs.append(None)

    def training_cost(self, forward: Cost, kept_gradients: list, trainable) -> TrainingCost:
        keys = [_storage_key(g) for g in kept_gradients]
        return TrainingCost(
            forward=forward,
            backward_counts=dict(self._counts),
            saved_elements=total([size for size, _ in self.saved.values()]),
            peak_elements=self._liveness.peak(keys),
            trainable_params=trainable,
        )

    def saved_by_scope(self) -> dict:
        out: dict = {}
        for size, scope in self.saved.values():
            name = "/".join(scope)
            out[name] = out.get(name, 0) + size
        return out


def _tensor_leaves(tree) -> list:
    return [t for t in tree_flatten(tree)[0] if isinstance(t, torch.Tensor)]


def _precision(precision) -> tuple[str, torch.dtype]:
    name = precision.name if isinstance(precision, Precision) else str(precision)
    if name not in DTYPES:
        raise AttncostError(f"precision {precision!r} must be one of {', '.join(DTYPES)}")
    return name, DTYPES[name]


def _cast(t: torch.Tensor, dtype, fake_mode):
    if t.is_floating_point() and t.dtype != dtype:
        t = t.to(dtype)
    if fake_mode is not None and not isinstance(t, FakeTensor):
        t = fake_mode.from_tensor(t, static_shapes=True)
    return t


def _step_tensors(module, dtype, fake_mode) -> tuple[dict, list, list]:
    """{name: tensor} for every parameter and buffer name (tied tensors once), and the lists of the
    parameter leaves and buffer copies: detached leaves sharing the parameters' data (cast, fake where
    asked) with their ``requires_grad``, buffers copied (a train-mode forward updates them)."""
    named, params, buffers, made = {}, [], [], {}
    for name, p in module.named_parameters(remove_duplicate=False):
        if id(p) not in made:
            leaf = torch.nn.Parameter(_cast(p.detach(), dtype, fake_mode), requires_grad=p.requires_grad)
            made[id(p)] = leaf
            params.append(leaf)
        named[name] = made[id(p)]
    for name, b in module.named_buffers(remove_duplicate=False):
        if id(b) not in made:
            made[id(b)] = _cast(b.detach().clone(), dtype, fake_mode)
            buffers.append(made[id(b)])
        named[name] = made[id(b)]
    return named, params, buffers


@contextlib.contextmanager
def _swapped(module, named: dict):
    """The step's tensors in place of the module's own for forward and backward (a checkpoint's
    recompute runs the forward again during ``backward()``), the module's own put back after."""
    saved = []
    try:
        for name, tensor in named.items():
            owner_name, _, leaf = name.rpartition(".")
            owner = module.get_submodule(owner_name)
            table = owner._parameters if leaf in owner._parameters else owner._buffers
            saved.append((table, leaf, table[leaf]))
            table[leaf] = tensor
        yield
    finally:
        for table, leaf, tensor in reversed(saved):
            table[leaf] = tensor


@contextlib.contextmanager
def _train_mode(module):
    """Every module in train mode (the module's own ``train()``, which may keep layers frozen), then
    each module's mode as before."""
    before = [(m, m.training) for m in module.modules()]
    try:
        module.train(True)
        yield
    finally:
        for m, training in before:
            m.training = training


@contextlib.contextmanager
def _scoped(module, tracer: TrainingTracer):
    """Forward pre/post hooks (global, removed after) giving each op its module's path and letting each
    module claim the autograd nodes its forward made."""
    scopes = {m: tuple(path.split(".")) if path else () for path, m in module.named_modules()}
    stack = []

    def pre(m, _args):
        if m in scopes:
            stack.append(tracer.enter(scopes[m]))

    def post(m, _args, output):
        if m in scopes and stack:
            tracer.claim_nodes(output)
            tracer.leave(stack.pop())

    handles = [torch.nn.modules.module.register_module_forward_pre_hook(pre),
               torch.nn.modules.module.register_module_forward_hook(post)]
    try:
        yield scopes
    finally:
        for handle in handles:
            handle.remove()


@contextlib.contextmanager
def _checkpointed(module, names, tracer: TrainingTracer):
    """The submodules ``names`` (as ``named_modules`` names them; ``""``: the whole module) run their
    forward through ``torch.utils.checkpoint.checkpoint(use_reentrant=False)``; the recompute keeps
    their scope."""
    names = (names,) if isinstance(names, str) else tuple(names or ())
    modules = dict(module.named_modules())
    unknown = [n for n in names if n not in modules]
    if unknown:
        raise AttncostError(f"checkpoint: no submodule {unknown[0]!r} (give names as named_modules() gives them, "
                            f"e.g. {next((n for n in modules if n), 'layer1')!r})")
    wrapped = []                          # (module, its own instance attribute ``forward`` if it had one)
    try:
        for name in names:
            target = modules[name]
            wrapped.append((target, target.__dict__.get("forward")))
            target.forward = _checkpoint_forward(target.forward, tuple(name.split(".")) if name else (), tracer)
        yield
    finally:
        for target, own in reversed(wrapped):
            if own is None:
                del target.forward
            else:
                target.forward = own


def _checkpoint_forward(forward, scope: tuple, tracer: TrainingTracer):
    def run(*args, **kwargs):
        before = tracer.enter(scope)
        try:
            return forward(*args, **kwargs)
        finally:
            tracer.leave(before)

    def checkpointed(*args, **kwargs):
        return torch_checkpoint(run, *args, use_reentrant=False, **kwargs)

    return checkpointed


def _output_gradients(outputs: list, output_grad) -> list:
    """The gradient each output's backward starts from: ``output_grad`` (a tensor, or one per output
    that requires grad), or ones."""
    if output_grad is None:
        return [torch.ones_like(t) for t in outputs]
    given = list(output_grad) if isinstance(output_grad, (list, tuple)) else [output_grad]
    if len(given) != len(outputs):
        raise ShapeError(f"output_grad: {len(given)} tensor(s) for {len(outputs)} output(s) that require grad")
    for g, t in zip(given, outputs):
        if tuple(g.shape) != tuple(t.shape):
            raise ShapeError(f"output_grad of shape {tuple(g.shape)} for an output of shape {tuple(t.shape)}")
    return [g.to(t.dtype) for g, t in zip(given, outputs)]


def trace_training(module: torch.nn.Module, inputs, *, output_grad=None, size_to_expr=None,
                   allow_unsupported: bool = False, checkpoint=(), precision="fp32") -> TrainingResult:
    """Count one training step of ``module`` on ``inputs`` (a tensor or a tuple of them): the forward
    in train mode, then ``backward()`` from ``output_grad`` (default ones; the loss is the user's).
    ``checkpoint``: submodule names whose forward runs under activation checkpointing. ``precision``:
    "fp32", "bf16" or "fp16". ``size_to_expr``: for FakeTensor inputs with symbolic sizes. Ops with
    no formula raise :class:`~attncost.trace.UnsupportedOpsError` unless ``allow_unsupported``."""
    name, dtype = _precision(precision)
    args = tuple(inputs) if isinstance(inputs, (list, tuple)) else (inputs,)
    fake_mode = detect_fake_mode(args)
    with torch.inference_mode(False), torch.enable_grad():
        args = tuple(_cast(a.detach(), dtype, fake_mode).requires_grad_(a.requires_grad)
                     if isinstance(a, torch.Tensor) else a for a in args)     # leaves of the step's own
        named, params, buffers = _step_tensors(module, dtype, fake_mode)
        tracer = TrainingTracer(size_to_expr)
        tracer.add_parameters(params, buffers)
        for a in args:
            if isinstance(a, torch.Tensor):
                tracer.add_input(a)
        fake = fake_mode if fake_mode is not None else contextlib.nullcontext()
        with _train_mode(module), _swapped(module, named), _scoped(module, tracer), \
                _checkpointed(module, checkpoint, tracer), fake:
            with saved_tensors_hooks(tracer.pack, lambda t: t), tracer:
                out = module(*args)
            forward = tracer.end_forward(out)
            outputs = [t for t in _tensor_leaves(out) if t.requires_grad]
            if not outputs:
                raise AttncostError("no output requires grad (every parameter frozen, no input requiring grad): "
                                    "there is no backward to count")
            gradients = _output_gradients(outputs, output_grad)
            tracer.begin_backward(outputs, gradients)
            with tracer:
                torch.autograd.backward(outputs, gradients)
        leaves = params + [a for a in args if isinstance(a, torch.Tensor) and a.requires_grad]
        kept = [t.grad for t in leaves if t.grad is not None]
    if not allow_unsupported:
        tracer.check_supported()
    trainable = total([int(p.numel()) for p in params if p.requires_grad])      # parameters have static shapes
    cost = tracer.training_cost(forward, kept, trainable)
    return TrainingResult(
        cost=cost, precision=name, records=tracer.records, funcs=tracer.funcs,
        backward_start=tracer.backward_start, output_shapes=tuple(tracer.shape(t) for t in _tensor_leaves(out)),
        unsupported={op: (n, tracer.unsupported_scopes.get(op, "<top>")) for op, n in tracer.unsupported.items()},
        saved_by_scope=tracer.saved_by_scope())


def trace_training_symbolic(module: torch.nn.Module, shape, hints: dict | None = None, **options) -> TrainingResult:
    """:func:`trace_training` on one FakeTensor input of ``shape``, whose sympy symbols (N, H, W...)
    stay symbolic (traced at ``hints``, see :class:`attncost.trace.symbolic.SymbolicInputs`): counts,
    saved and peak elements as expressions in those symbols."""
    from .symbolic import SymbolicInputs

    inputs = SymbolicInputs(hints)
    x = inputs.tensor(shape)
    return trace_training(module, x, size_to_expr=inputs.size_to_expr, **options)
