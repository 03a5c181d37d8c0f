"""Cost: exact counts by op kind, parameters and memory: Python ints when concrete, sympy
expressions when symbolic.

A Cost is one or the other as a whole: when every quantity is an integer (a concrete shape) each is
a Python int, and no sympy is involved; when any is an expression, each is a sympy expression, as
before. So ``int(cost.macs)``, ``cost.params == 4096`` and printing work on both, and the symbolic
API (``subs``, ``free_symbols``) answers on a concrete cost too.

FLOPs are deliberately not stored: a convention (``attncost.cost.conventions``) weighs the op kinds
into FLOPs when printed, so every convention comes from the same exact counts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from ..algebra import as_int, maximum, sympy as _sympy
from ..ops.primitive import OP_KINDS

MEMORY_FIELDS = ("params", "activation_elements", "peak_live_elements", "attention_map_elements")


@dataclass(frozen=True)
class Cost:
    """Exact cost of one forward pass.

    counts: op kind -> count (see :mod:`attncost.ops` for each kind's unit).
    params: learnable parameter elements.
    activation_elements: elements of every tensor the forward allocates (views excluded).
    peak_live_elements: the largest sum of live tensors in execution order, a tensor dying after
        its last use; the input counts, parameters do not.
    attention_map_elements: the largest attention map (gate or pairwise-affinity tensor) the
        module materialises; 0 where there is none.

    Every value is an int (``symbolic`` is False) or every value a sympy expression (True).
    """

    counts: Mapping[str, object] = field(default_factory=dict)
    params: object = 0
    activation_elements: object = 0
    peak_live_elements: object = 0
    attention_map_elements: object = 0

    def __post_init__(self):
        for name in self.counts:
            if name not in OP_KINDS:
                raise KeyError(f"op kind {name!r} is not registered")
        counts = sorted(self.counts.items())
        memory = [getattr(self, name) for name in MEMORY_FIELDS]
        concrete = [as_int(v) for _, v in counts] + [as_int(v) for v in memory]
        if None not in concrete:
            values = iter(concrete)
            cleaned = {k: v for (k, _), v in zip(counts, values) if v != 0}
            memory = list(values)
        else:
            sympify = _sympy().sympify
            cleaned = {k: sympify(v) for k, v in counts if sympify(v) != 0}
            memory = [sympify(v) for v in memory]
        object.__setattr__(self, "counts", cleaned)
        for name, value in zip(MEMORY_FIELDS, memory):
            object.__setattr__(self, name, value)

    @property
    def symbolic(self) -> bool:
        """Whether the values are sympy expressions (some depend on a symbol), not Python ints."""
        return not isinstance(self.params, int)

    def zero(self):
        """0 in this cost's kind (a sympy Integer for a symbolic cost), to start sums from."""
        return _sympy().Integer(0) if self.symbolic else 0

    # -- arithmetic ---------------------------------------------------------------------------
    def __add__(self, other: Cost) -> Cost:
        """Costs of two parts that run one after the other.

        Counts, parameters and activations add; peak and attention map take the larger of the two
        (exact peaks of a composition come from a Program or the graph walker).
        """
        counts = dict(self.counts)
        for name, value in other.counts.items():
            counts[name] = counts.get(name, 0) + value
        return Cost(
            counts=counts,
            params=self.params + other.params,
            activation_elements=self.activation_elements + other.activation_elements,
            peak_live_elements=maximum(self.peak_live_elements, other.peak_live_elements),
            attention_map_elements=maximum(self.attention_map_elements, other.attention_map_elements),
        )

    def fields(self) -> dict:
        """Every quantity by name: ``count:<kind>`` for op counts, then the memory fields."""
        out = {f"count:{k}": v for k, v in self.counts.items()}
        out.update({name: getattr(self, name) for name in MEMORY_FIELDS})
        return out

    def map(self, fn) -> Cost:
        """Apply ``fn`` to every expression."""
        return Cost(
            counts={k: fn(v) for k, v in self.counts.items()},
            **{name: fn(getattr(self, name)) for name in MEMORY_FIELDS},
        )

    def subs(self, mapping) -> Cost:
        """Substitute symbols. All at once (``xreplace``) when the values are numbers: one at a time,
        sympy would rebuild every partly-substituted ``Max`` and compare its arguments symbolically.
        A concrete cost has no symbols to substitute: it is returned as it is."""
        if not self.symbolic:
            return self
        sympy = _sympy()
        mapping = {sympy.sympify(k): sympy.sympify(v) for k, v in dict(mapping).items()}
        if all(k.is_Symbol and v.is_Number for k, v in mapping.items()):
            return self.map(lambda e: e.xreplace(mapping))
        return self.map(lambda e: e.subs(mapping, simultaneous=True))

    def simplify(self) -> Cost:
        return self.map(_sympy().simplify) if self.symbolic else self

    @property
    def macs(self):
        """Conv + linear + matmul multiply-accumulates."""
        return sum((v for k, v in self.counts.items() if k.startswith("mac.")), self.zero())

    @property
    def free_symbols(self) -> set:
        out = set()
        if self.symbolic:
            for value in self.fields().values():
                out |= value.free_symbols
        return out
