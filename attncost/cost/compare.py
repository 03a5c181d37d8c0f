"""Deciding whether two costs are equal: exactly for numbers, symbolically for expressions."""

from __future__ import annotations

from ..algebra import as_int, sympy as _sympy
from .cost import Cost


def expressions_equal(a, b) -> bool:
    """True when ``a == b`` for all positive-integer symbol values (proved, not sampled).

    Maxima are compared as sets of their non-dominated arguments, since ``simplify`` cannot in
    general cancel ``Max(x, y) - Max(x, y')`` even when ``y == y'``.
    """
    ca, cb = as_int(a), as_int(b)
    if ca is not None and cb is not None:
        return ca == cb
    sympy = _sympy()
    a, b = sympy.sympify(a), sympy.sympify(b)
    if a == b:
        return True
    if isinstance(a, sympy.Max) and isinstance(b, sympy.Max):
        return _args(a) == _args(b)
    if isinstance(a, sympy.Max) or isinstance(b, sympy.Max):
        return False
    return sympy.simplify(sympy.expand(a - b)) == 0


def _args(m) -> frozenset:
    return frozenset(_sympy().expand(arg) for arg in m.args)


def differences(expected: Cost, actual: Cost) -> list[tuple[str, object, object]]:
    """(field, expected, actual) for every field where the two costs differ."""
    e, a = expected.fields(), actual.fields()
    return [(k, e.get(k, 0), a.get(k, 0)) for k in sorted(set(e) | set(a))
            if not expressions_equal(e.get(k, 0), a.get(k, 0))]
