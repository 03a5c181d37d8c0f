"""A catalogue entry's answers as data rows: its hyperparameters from text, its compare row at a
shape, a cost's formula rows. Numbers stay numbers (format/ prints them). No torch.

The facade (:mod:`attncost.api`, which the CLI calls) and the report build on these.
"""

from __future__ import annotations

from .cost import Convention, Cost, flops
from .shapes import DTYPE_BYTES
from .symbolic_terms import leading_term


def typed_hp(entry, raw: dict) -> dict:
    """CLI strings -> typed values, with the entry's own parsing."""
    return {key: entry.hp(key).parse(value, entry.name) if isinstance(value, str) else value
            for key, value in raw.items()}


def compare_row(entry, shape, hp: dict, convention=Convention.FULL, dtype="float32", label: str | None = None) -> dict:
    """One module's row of ``compare`` at a concrete ``shape``; ``label`` names it (default: the entry)."""
    nbytes = DTYPE_BYTES[dtype]
    cost = entry.cost(shape, hp)
    return {
        "module": label or entry.name,
        "params": int(cost.params),
        "macs": int(cost.macs),
        "flops": int(flops(cost, convention)),
        "activation_bytes": int(cost.activation_elements) * nbytes,
        "peak_bytes": int(cost.peak_live_elements) * nbytes,
        "attention_map_bytes": int(cost.attention_map_elements) * nbytes,
    }


def with_ratios(rows: list[dict]) -> list[dict]:
    """Add ``flops_vs_first``: each row's FLOPs over the first row's."""
    first = rows[0]["flops"] if rows else 0
    for row in rows:
        row["flops_vs_first"] = round(row["flops"] / first, 3) if first else (1.0 if row["flops"] == 0 else float("inf"))
    return rows


def formula_rows(cost: Cost, convention=Convention.FULL, leading: bool = False, variables=None) -> list[dict]:
    """Each quantity of a symbolic cost, optionally reduced to its leading term in ``variables``
    (default H, W). Symbolic work: sympy is imported here, not with the module."""
    import sympy

    show = (lambda e: leading_term(e, variables)) if leading else (lambda e: sympy.factor(sympy.simplify(e)) if not isinstance(e, sympy.Max) else e)
    rows = [
        ("params", cost.params),
        ("macs", cost.macs),
        (f"flops ({Convention(convention).value})", flops(cost, convention)),
        *((f"count:{k}", v) for k, v in cost.counts.items()),
        ("activation_elements", cost.activation_elements),
        ("peak_live_elements", cost.peak_live_elements),
        ("attention_map_elements", cost.attention_map_elements),
    ]
    return [{"quantity": name, "expression": show(value)} for name, value in rows]
