"""The Python API the CLI calls: compare modules, show formulas, leading terms. No torch here."""

from __future__ import annotations

import sympy

from . import catalogue
from .cost import Convention, Cost, flops
from .errors import HyperparameterError
from .symbols import C, H, N, W

DTYPE_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2, "float64": 8, "int8": 1}


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


def typed_hp(entry, raw: dict) -> dict:
    """CLI strings -> typed values, with the entry's own parsing."""
    return {key: entry.hp(key).parse(value) if isinstance(value, str) else value for key, value in raw.items()}


def compare(names, shape, hp_by_module: dict | None = None, convention=Convention.FULL, dtype="float32") -> list[dict]:
    """One row per module at ``shape``: params, MACs, FLOPs, memory, ratio of FLOPs to the first."""
    hp_by_module = hp_by_module or {}
    rows = []
    for name in names:
        entry = catalogue.get(name)
        rows.append(compare_row(entry, shape, typed_hp(entry, hp_by_module.get(entry.name, {})), convention, dtype))
    return with_ratios(rows)


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


def drop_floors(expr):
    """Asymptotic form: floor(x) and ceiling(x) -> x."""
    return sympy.sympify(expr).replace(sympy.floor, lambda a: a).replace(sympy.ceiling, lambda a: a)


def leading_term(expr, variables=(H, W)):
    """The dominant part of ``expr`` as ``variables`` grow: the terms of highest total degree in
    them (floors dropped), factored. For a constant in ``variables``, the highest degree in C."""
    if isinstance(expr, sympy.Max):
        return sympy.Max(*[leading_term(arg, variables) for arg in expr.args])
    expr = sympy.expand(drop_floors(expr))
    if expr == 0:
        return expr
    for group in (variables, (C,), (N,)):
        try:
            poly = sympy.Poly(_dominant_branches(expr, group), *group)
        except sympy.PolynomialError:        # not polynomial in these sizes: show it whole
            return sympy.factor(expr)
        degree = poly.total_degree()
        if degree > 0 or group == (N,):
            terms = [coeff * sympy.prod(g ** e for g, e in zip(group, monom))
                     for monom, coeff in poly.terms() if sum(monom) == degree]
            return sympy.factor(sympy.Add(*terms))
    return expr


def _degree(expr, group) -> int:
    try:
        return sympy.Poly(expr, *group).total_degree()
    except sympy.PolynomialError:
        return 0


def _dominant_branches(expr, group):
    """Max(a, b) inside an expression -> the argument growing fastest in ``group`` (e.g. SK's
    max(C // r, 32) -> C / r as C grows)."""
    return expr.replace(lambda e: isinstance(e, sympy.Max),
                        lambda e: max(e.args, key=lambda a: _degree(a, group)))


def formula_rows(cost: Cost, convention=Convention.FULL, leading: bool = False, variables=(H, W)) -> list[dict]:
    """Each quantity of a symbolic cost, optionally reduced to its leading term in ``variables``."""
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
