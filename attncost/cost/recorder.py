"""The recorder under every Program: op records, liveness, scopes, parameters, attention maps and the
totals they add up to. No torch.

It knows nothing of what an op computes. Op methods (``cost/program.py``) write through its small
write interface (``count``, ``record``, ``allocate``, ``alias``); catalogue and network code call op
methods and the bookkeeping ones (``scope``, ``input``, ``param``, ``parameter``, ``buffer``,
``mark_attention_map``, ``mark_degenerate``), never the write interface. Everything else reads the
result through the public read API: ``finish`` / ``totals``, ``counts``, ``params_by_name``,
``total_params``, ``records``, ``inputs``, ``attention_maps``, ``degenerate``.
"""

from __future__ import annotations

import contextlib
import itertools
from dataclasses import dataclass
from typing import NamedTuple

from ..algebra import equal, normalize
from ..ops.shapes import numel
from .cost import Cost
from .layout import contiguous_strides
from .liveness import Liveness
from .symbolic import exact_max, total


class OpRecord(NamedTuple):
    """One op as the program ran it: where (scope), what it counted, the parameters it introduced,
    the storages it read and the (storage, elements) it allocated. (A NamedTuple: a network walk
    makes hundreds, and a frozen dataclass costs several times more to build.)"""

    index: int
    scope: tuple
    counts: dict
    params: object
    uses: tuple
    allocations: tuple


@dataclass(slots=True)
class Tensor:
    """A symbolic tensor: its shape, strides and the storage it lives in. Treated as immutable.

    In a training program (``Program(training=True)``) ``grad_fn`` is the autograd edge that produced
    it, ``(node, output index)`` (:mod:`attncost.cost.autograd`), None where no gradient flows; ``view``
    says it is a view op's result rather than the fresh output of the op that wrote its storage
    (what decides whether autograd's AccumulateGrad can take a gradient as ``.grad`` without a copy)."""

    shape: tuple
    storage: object
    strides: tuple = None
    grad_fn: object = None
    view: bool = False

    def __post_init__(self):
        if self.strides is None:
            self.strides = contiguous_strides(self.shape)

    @property
    def numel(self):
        return numel(self.shape)

    @property
    def ndim(self) -> int:
        return len(self.shape)


class Snapshot(NamedTuple):
    """How much a recorder held at one moment (see ``Recorder.snapshot``)."""

    records: int
    params: int
    attention: int
    reasons: int


class Recorder:
    def __init__(self):
        self._ids = itertools.count()
        self._liveness = Liveness()
        self._counts: dict = {}
        self._params: dict = {}
        self._attention: list = []           # (scope, elements) of each attention map, in order
        self._anonymous = itertools.count()
        self._reasons: list[str] = []        # why the program is degenerate (see mark_degenerate)
        self._scope: list[str] = []
        self._scope_key: tuple = ()
        self._pending_counts: dict = {}
        self._pending_params = 0
        self.records: list[OpRecord] = []
        self.substitute: dict = {}           # storage -> the storage read in its place (a checkpoint's recompute)

    # -- bookkeeping for forward descriptions ------------------------------------------------------
    @contextlib.contextmanager
    def scope(self, *names: str):
        """Label the ops run inside, e.g. ``with g.scope("stage2", "block1"):`` (for breakdowns);
        parameter names are local to their scope."""
        self._scope.extend(names)
        self._scope_key = tuple(self._scope)
        try:
            yield
        finally:
            del self._scope[len(self._scope) - len(names):]
            self._scope_key = tuple(self._scope)

    @property
    def scope_key(self) -> tuple:
        """The current scope, outermost first."""
        return self._scope_key

    def input(self, shape) -> Tensor:
        """The module's input; concrete sizes become Python ints, so that a concrete walk stays in
        integer arithmetic (sympy only where a size is a symbol)."""
        shape = tuple(normalize(s) for s in shape)
        t = Tensor(shape, next(self._ids))
        self._liveness.add_input(t.storage, t.numel)
        return t

    def param(self, name: str | None, elements) -> tuple:
        """Register a learnable parameter; the same name is counted once (weight sharing). Returns its
        full name (the scope + its own name)."""
        name = (*self._scope, name if name is not None else f"_param{next(self._anonymous)}")
        if name in self._params:
            if not equal(self._params[name], elements):
                raise ValueError(f"parameter {name!r} reused with another size")
            return name
        self._params[name] = elements
        self._pending_params += elements
        return name

    def parameter(self, name: str | None, shape) -> Tensor:
        """A parameter used directly as an operand (e.g. CCNet's gamma); never counts as memory."""
        full_name = self.param(name, numel(shape))
        return self.parameter_tensor(Tensor(tuple(shape), ("param", name)), full_name)

    def parameter_tensor(self, t: Tensor, full_name: tuple) -> Tensor:
        """The Tensor standing for parameter ``full_name`` (a training Program attaches its gradient leaf)."""
        return t

    def buffer(self, name: str, shape) -> Tensor:
        """A registered buffer used as an operand (e.g. an attention mask): a constant of the module,
        neither a parameter nor activation memory."""
        return Tensor(tuple(shape), ("buffer", name))

    def mark_attention_map(self, t: Tensor) -> Tensor:
        """Declare ``t`` an attention map (mirrors ``attncost.trace.marks.attention_map``)."""
        self._attention.append((self._scope_key, t.numel))
        return t

    def mark_degenerate(self, reason: str) -> None:
        """Declare that this concrete program does not follow the symbolic one: a size of 1 (or an
        equality of sizes) changes which ops aten runs, so the symbolic formula, which takes sizes
        larger and distinct, does not apply here. ``reason`` says what; the layout ops mark it
        themselves where a dim of size 1 alone spares a copy."""
        self._reasons.append(reason)

    # -- the write interface of op methods ---------------------------------------------------------
    def count(self, counts: dict) -> None:
        """Add an op's counts (op kind -> count); the next record carries them."""
        for name, value in counts.items():
            self._counts[name] = self._counts.get(name, 0) + value
            self._pending_counts[name] = self._pending_counts.get(name, 0) + value

    def record(self, uses, allocations) -> None:
        """One executed op: liveness, plus a record carrying the counts and parameters since the last.
        ``uses`` are storages read, ``allocations`` (storage, elements) pairs written fresh."""
        if self.substitute:
            uses = [self.substitute.get(u, u) for u in uses]
        self._liveness.record(uses, allocations)
        self.records.append(OpRecord(len(self.records), self._scope_key, self._pending_counts,
                                     self._pending_params, tuple(uses), tuple(allocations)))
        self._pending_counts = {}
        self._pending_params = 0

    def new_storage(self) -> int:
        return next(self._ids)

    def allocate(self, uses, *shapes) -> list[Tensor]:
        """One op reading ``uses`` (tensors) and writing fresh contiguous tensors of ``shapes``."""
        outs = [Tensor(tuple(s), next(self._ids)) for s in shapes]
        self.record([u.storage for u in uses], [(o.storage, o.numel) for o in outs])
        return outs

    def alias(self, x: Tensor, shape, strides) -> Tensor:
        """One op returning a view of ``x`` (same storage) with ``shape`` and ``strides``."""
        self.record([x.storage], [])
        return Tensor(tuple(shape), x.storage, tuple(strides), view=True)

    # -- what replay needs -------------------------------------------------------------------------
    @property
    def pending(self) -> bool:
        """Counts or parameters registered since the last record (not yet carried by one)."""
        return bool(self._pending_counts) or self._pending_params != 0

    def snapshot(self) -> Snapshot:
        return Snapshot(len(self.records), len(self._params), len(self._attention), len(self._reasons))

    def params_since(self, snapshot: Snapshot) -> list:
        """(name, elements) of the parameters registered after ``snapshot``."""
        names = itertools.islice(self._params, snapshot.params, None)     # dicts keep insertion order
        return [(name, self._params[name]) for name in names]

    def storage_elements(self, storage):
        """Elements of a storage the input or a recorded op allocated (None for parameters, buffers)."""
        return self._liveness.size.get(storage)

    def peak_elements(self, keep=()):
        """Peak live elements over every step so far, the storages ``keep`` live to the end."""
        return self._liveness.peak(keep)

    def tracks(self, storage) -> bool:
        """Whether ``storage`` is the input or was allocated by a recorded op."""
        return storage in self._liveness.size

    def add_params(self, params: dict) -> bool:
        """Register already-carried parameters (name -> elements) at once; False, registering none,
        when a name is taken."""
        if not params.keys().isdisjoint(self._params.keys()):    # keys against keys: the smaller is iterated
            return False
        self._params.update(params)
        return True

    def append_records(self, entries, counts: dict) -> None:
        """Records made elsewhere (a replay): ``entries`` of (scope, counts, params, uses, allocations),
        whose counts sum to ``counts``."""
        for name, value in counts.items():
            self._counts[name] = self._counts.get(name, 0) + value
        records, live = self.records, self._liveness.record
        for scope, op_counts, params, uses, allocations in entries:
            live(uses, allocations)
            records.append(OpRecord(len(records), scope, op_counts, params, uses, allocations))

    def add_attention_maps(self, maps) -> None:
        self._attention.extend(maps)

    # -- the read API ------------------------------------------------------------------------------
    @property
    def degenerate(self) -> bool:
        return bool(self._reasons)

    @property
    def degenerate_reasons(self) -> tuple:
        return tuple(self._reasons)

    def counts(self) -> dict:
        """Op kind -> count over every op so far."""
        return dict(self._counts)

    def params_by_name(self) -> dict:
        """Parameter name (its scope + its own name) -> elements."""
        return dict(self._params)

    def total_params(self):
        return total(self._params.values())

    def attention_maps(self) -> list:
        """(scope, elements) of each attention map marked, in order."""
        return list(self._attention)

    def inputs(self) -> dict:
        """Storage -> elements of the tensors live from the start (the module's inputs)."""
        live = self._liveness
        return {key: live.size[key] for key, born in live.born.items() if born == 0}

    def totals(self, *outputs: Tensor, peak: bool = True) -> dict:
        """Every total by name (``count:<kind>``, ``params``, ``activation_elements``, and with ``peak``
        ``peak_live_elements`` and ``attention_map_elements``, ``outputs`` kept live to the end).
        Without ``peak`` no maximum is taken, which on symbolic sizes is the costly part."""
        if peak:
            return self.finish(*outputs).fields()
        fields = {f"count:{k}": v for k, v in self._counts.items()}
        fields["params"] = self.total_params()
        fields["activation_elements"] = self._liveness.activation_elements()
        return fields

    def finish(self, *outputs: Tensor) -> Cost:
        return Cost(
            counts=self._counts,
            params=self.total_params(),
            activation_elements=self._liveness.activation_elements(),
            peak_live_elements=self._liveness.peak([o.storage for o in outputs]),
            attention_map_elements=exact_max([elements for _, elements in self._attention]),
        )
