"""The Python API the CLI calls: compare modules, show formulas, leading terms. No torch here.

This is the facade at the top of the formula side (docs/ARCHITECTURE.md, "Layers"): nothing below
the CLI imports it. What it answers with lives in the layer that owns each idea, and is re-exported
here: rows in :mod:`attncost.query`, leading terms in :mod:`attncost.symbolic_terms`, element sizes in
:mod:`attncost.shapes`.
"""

from __future__ import annotations

from . import catalogue
from .cost import Convention
from .errors import HyperparameterError
from .query import compare_row, formula_rows, typed_hp, with_ratios
from .shapes import DTYPE_BYTES
from .symbolic_terms import drop_floors, leading_term

__all__ = ["DTYPE_BYTES", "compare", "compare_row", "drop_floors", "formula_rows", "leading_term",
           "parse_hp_assignments", "require_compared", "typed_hp", "with_ratios"]


def parse_hp_assignments(items, scoped: bool) -> dict:
    """``["se.r=8", "eca.k=5"]`` -> {"se": {"r": "8"}, ...} (scoped) or ``["r=8"]`` -> {"r": "8"}."""
    out: dict = {}
    for item in items:
        if "=" not in item:
            raise HyperparameterError(f"--hp {item!r} must look like {'NAME.key=value' if scoped else 'key=value'}")
        key, value = item.split("=", 1)
        if scoped:
            if "." not in key:
                raise HyperparameterError(f"--hp {item!r} must name its module: NAME.key=value (e.g. se.r=8)")
            name, key = key.rsplit(".", 1)
            out.setdefault(catalogue.get(name).name, {})[key] = value
        else:
            out[key] = value
    return out


def require_compared(hp_by_module: dict, modules) -> None:
    """Every module an ``--hp NAME.key=value`` names is one of ``modules``: a hyperparameter of a module
    that is not compared would be ignored silently."""
    for name, values in hp_by_module.items():
        if name not in modules:
            keys = ", ".join(f"{name}.{key}" for key in values)
            raise HyperparameterError(f"--hp {keys}: {name} is not among the modules given "
                                      f"({', '.join(dict.fromkeys(modules))})")


def compare(names, shape, hp_by_module: dict | None = None, convention=Convention.FULL, dtype="float32") -> list[dict]:
    """One row per module at ``shape``: params, MACs, FLOPs, memory, ratio of FLOPs to the first."""
    hp_by_module = hp_by_module or {}
    require_compared(hp_by_module, [catalogue.get(name).name for name in names])
    rows = []
    for name in names:
        entry = catalogue.get(name)
        rows.append(compare_row(entry, shape, typed_hp(entry, hp_by_module.get(entry.name, {})), convention, dtype))
    return with_ratios(rows)
