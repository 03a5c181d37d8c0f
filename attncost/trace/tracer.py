"""CostTracer: a TorchDispatchMode that counts every aten op a real forward runs.

Counts come from the same op formulas as the catalogue (:mod:`attncost.trace.handlers`), from
run-time shapes. Memory follows the shared liveness rules (:mod:`attncost.cost.liveness`): every
new storage an op returns is an allocation; views and in-place ops allocate nothing; storages of
parameters and buffers never count. Ops without a handler are collected in ``unsupported`` (with
their call counts) and make ``result()`` raise unless explicitly allowed: an unknown op is never
silently zero.

Works on real tensors and on FakeTensors with symbolic sizes (see :mod:`attncost.trace.symbolic`);
``size_to_expr`` turns a SymInt into a sympy expression in the caller's symbols.
"""

from __future__ import annotations

from collections import Counter

import sympy
import torch
from torch._ops import HigherOrderOperator
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

from ..cost import Cost
from ..cost.liveness import Liveness
from ..cost.program import OpRecord
from ..cost.symbolic import exact_max
from . import marks
from .handlers import HANDLERS, IGNORED, IGNORED_NAMES, Call


class UnsupportedOpsError(RuntimeError):
    """The traced code ran aten ops attncost has no formula for."""


def _storage_key(t: torch.Tensor):
    return t.untyped_storage()._cdata


def _query_packets() -> set:
    """Size, stride and device queries (``prim.device``, ``aten.sym_size``...): they read no element,
    and only FakeTensors send them through dispatch, so they are neither ops nor uses of a storage
    (a real run and a FakeTensor run then record the same steps)."""
    found = set()
    for name in ("prim.device", "aten.sym_size", "aten.sym_stride", "aten.sym_numel", "aten.sym_storage_offset",
                 "aten.is_contiguous", "aten.dim", "aten.size", "aten.stride"):
        namespace, _, op = name.partition(".")
        packet = getattr(getattr(torch.ops, namespace), op, None)
        if packet is not None:
            found.add(packet)
    return found


_QUERIES = _query_packets()


def _tensors(value, found: list) -> list:
    """The tensors in an aten call's arguments or results (nested lists, tuples and dicts), in
    pytree's order: ``tree_flatten`` without its per-leaf overhead on the tracer's hot path."""
    if isinstance(value, torch.Tensor):
        found.append(value)
    elif isinstance(value, (list, tuple)):
        for item in value:
            if isinstance(item, torch.Tensor):
                found.append(item)
            elif isinstance(item, (list, tuple, dict)):
                _tensors(item, found)
    elif isinstance(value, dict):
        for item in value.values():
            _tensors(item, found)
    return found


class CostTracer(TorchDispatchMode):
    """Count a forward pass. Use ``with CostTracer(module, size_to_expr) as t: out = module(x)``
    after ``t.add_input(x)``; then ``t.result(out)`` gives the :class:`Cost`."""

    def __init__(self, module: torch.nn.Module | None = None, size_to_expr=None):
        super().__init__()
        self._size_to_expr = size_to_expr or (lambda v: int(v))
        self._concrete = size_to_expr is None          # sizes are ints: numel() is the element count
        self._liveness = Liveness()
        self._counts: dict = {}
        # strong refs: storages are never freed, so keys stay unique. An op's outputs are held by their
        # storage, not the tensor, so autograd sees the tensors' own reference counts: AccumulateGrad
        # steals a gradient (no copy) only when nothing else holds the tensor (accumulate_grad.h)
        self._keep: list = []
        self._param_keys: set = set()
        self._attention: list = []
        self.unsupported: Counter = Counter()
        self.unsupported_scopes: dict = {}
        self.records: list = []          # one OpRecord per aten op, for the graph walker
        self.funcs: list = []            # the aten overload each record ran (records[i] ran funcs[i])
        self.scope: tuple = ()           # set by whoever knows which module runs (attncost.analyze)
        self.params = sympy.Integer(0)
        if module is not None:
            self.params = sum(p.numel() for p in module.parameters())
            for t in list(module.parameters()) + list(module.buffers()):
                self._param_keys.add(_storage_key(t))
                self._keep.append(t)
        self._known: set = set(self._param_keys)

    def add_parameters(self, parameters=(), buffers=()) -> None:
        """Tensors that stand for a module's parameters and buffers when they are not the module's own
        (FakeTensor copies, converted or cloned ones): their storages are never activations, and the
        parameters' elements are the cost's params (each tensor once)."""
        seen = set()
        for group, counted in ((parameters, True), (buffers, False)):
            for t in group:
                if id(t) in seen:
                    continue
                seen.add(id(t))
                if counted:
                    self.params += int(t.numel())
                key = _storage_key(t)
                self._param_keys.add(key)
                self._known.add(key)
                self._keep.append(t)

    # -- set-up ------------------------------------------------------------------------------------
    def add_input(self, x: torch.Tensor) -> None:
        self._keep.append(x)
        self._known.add(_storage_key(x))
        self._liveness.add_input(_storage_key(x), self.numel(x))

    def shape(self, t: torch.Tensor) -> tuple:
        return tuple(self._size_to_expr(s) for s in t.shape)

    def numel(self, t: torch.Tensor):
        n = 1
        for s in self.shape(t):
            n = n * s
        return n

    def _is_parameter(self, t) -> bool:
        return isinstance(t, torch.Tensor) and _storage_key(t) in self._param_keys

    def _on_attention_map(self, t) -> None:
        self._attention.append(self.numel(t))

    def __enter__(self):
        marks.add_listener(self._on_attention_map)
        return super().__enter__()

    def __exit__(self, *exc):
        marks.remove_listener(self._on_attention_map)
        return super().__exit__(*exc)

    # -- the dispatch hook -------------------------------------------------------------------------
    # Higher-order operators (flex_attention, cond, while_loop, ...) reach the hook whole: named, not run.
    supports_higher_order_operators = True

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if isinstance(func, HigherOrderOperator):
            raise UnsupportedOpsError(
                f"no formula for the higher-order operator {func.name()} (first in {'/'.join(self.scope) or '<top>'}): "
                "attncost counts aten ops and cannot look inside it (for flex_attention, count the model with "
                "F.scaled_dot_product_attention instead)")
        out = func(*args, **kwargs)
        packet = func.overloadpacket
        if packet in _QUERIES:
            return out               # metadata only: FakeTensors dispatch these, real tensors do not
        inputs = _tensors(kwargs, _tensors(args, []))
        outputs = _tensors(out, [])
        op_counts = {}
        handler = HANDLERS.get(packet)
        if handler is not None:
            op_counts = handler(Call(packet, args, kwargs, out, self.shape, self._is_parameter))
            for kind, value in op_counts.items():
                self._counts[kind] = self._counts.get(kind, 0) + value
        elif packet not in IGNORED and self._name(func, packet) not in IGNORED_NAMES:
            self.unsupported[str(func)] += 1
            self.unsupported_scopes.setdefault(str(func), "/".join(self.scope) or "<top>")
        self._record_memory(inputs, outputs, op_counts)
        self.funcs.append(func)
        return out

    @staticmethod
    def _name(func, packet) -> str:
        return str(packet) if not hasattr(func, "name") else func.name().split(".")[0].replace("::", ".")

    def _record_memory(self, inputs, outputs, op_counts) -> None:
        uses = tuple([t.untyped_storage()._cdata for t in inputs])
        allocations = []
        known = self._known
        for t in outputs:
            key = t.untyped_storage()._cdata
            if key not in known:
                known.add(key)
                allocations.append((key, t.numel() if self._concrete else self.numel(t)))
                self._keep.append(t.untyped_storage())     # the storage, not the tensor: see _keep
        self._liveness.record(uses, allocations)
        self.records.append(OpRecord(len(self.records), self.scope, op_counts, 0, uses, tuple(allocations)))

    # -- results -----------------------------------------------------------------------------------
    def check_supported(self) -> None:
        """Raise :class:`UnsupportedOpsError` naming every op that had no formula (calls, first scope)."""
        if self.unsupported:
            raise UnsupportedOpsError(
                "no formula for ops: " + ", ".join(f"{op} (x{n}, first in {self.unsupported_scopes.get(op, '<top>')})"
                                                   for op, n in sorted(self.unsupported.items()))
                + "; give one with attncost.register_op (README.md, 'Counting a custom op')")

    def result(self, output, allow_unsupported: bool = False) -> Cost:
        if not allow_unsupported:
            self.check_supported()
        outputs = [t for t in tree_flatten(output)[0] if isinstance(t, torch.Tensor)]
        return Cost(
            counts=self._counts,
            params=self.params,
            activation_elements=self._liveness.activation_elements(),
            peak_live_elements=self._liveness.peak([_storage_key(t) for t in outputs]),
            attention_map_elements=exact_max(self._attention),
        )


def trace_module(module: torch.nn.Module, x: torch.Tensor, size_to_expr=None,
                 allow_unsupported: bool = False) -> tuple[Cost, tuple, Counter]:
    """Run ``module(x)`` under no_grad, counting: (cost, output shape, unsupported ops)."""
    tracer = CostTracer(module, size_to_expr)
    tracer.add_input(x)
    with torch.no_grad(), tracer:
        out = module(x)
    cost = tracer.result(out, allow_unsupported)
    return cost, tracer.shape(out), tracer.unsupported
