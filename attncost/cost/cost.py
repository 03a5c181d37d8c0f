"""Cost: exact counts by op kind, parameters and memory, as sympy expressions.

FLOPs are deliberately not stored: a convention (``attncost.cost.conventions``) weighs the op kinds
into FLOPs when printed, so every convention comes from the same exact counts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

import sympy

from ..ops.primitive import OP_KINDS

MEMORY_FIELDS = ("params", "activation_elements", "peak_live_elements", "attention_map_elements")


def _expr(value) -> sympy.Expr:
    return sympy.sympify(value)


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
    """

    counts: Mapping[str, sympy.Expr] = field(default_factory=dict)
    params: sympy.Expr = sympy.Integer(0)
    activation_elements: sympy.Expr = sympy.Integer(0)
    peak_live_elements: sympy.Expr = sympy.Integer(0)
    attention_map_elements: sympy.Expr = sympy.Integer(0)

    def __post_init__(self):
        for name in self.counts:
            if name not in OP_KINDS:
                raise KeyError(f"op kind {name!r} is not registered")
        cleaned = {k: _expr(v) for k, v in sorted(self.counts.items()) if _expr(v) != 0}
        object.__setattr__(self, "counts", cleaned)
        for name in MEMORY_FIELDS:
            object.__setattr__(self, name, _expr(getattr(self, name)))

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
            peak_live_elements=sympy.Max(self.peak_live_elements, other.peak_live_elements),
            attention_map_elements=sympy.Max(self.attention_map_elements, other.attention_map_elements),
        )

    def fields(self) -> dict[str, sympy.Expr]:
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
        sympy would rebuild every partly-substituted ``Max`` and compare its arguments symbolically."""
        mapping = {sympy.sympify(k): sympy.sympify(v) for k, v in dict(mapping).items()}
        if all(k.is_Symbol and v.is_Number for k, v in mapping.items()):
            return self.map(lambda e: e.xreplace(mapping))
        return self.map(lambda e: e.subs(mapping, simultaneous=True))

    def simplify(self) -> Cost:
        return self.map(sympy.simplify)

    @property
    def macs(self) -> sympy.Expr:
        """Conv + linear + matmul multiply-accumulates."""
        return sum((v for k, v in self.counts.items() if k.startswith("mac.")), sympy.Integer(0))

    @property
    def free_symbols(self) -> set:
        out = set()
        for value in self.fields().values():
            out |= value.free_symbols
        return out
