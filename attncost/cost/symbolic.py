"""Small symbolic helpers: concrete sizes kept as ints, sums of sizes, deciding dominance and taking
exact maxima of expressions. sympy is imported only for symbolic arguments (see
:mod:`attncost.algebra`, which ``as_int`` and ``total`` come from)."""

from __future__ import annotations

from ..algebra import as_int, sympy as _sympy, total

__all__ = ["SAMPLE_VALUES", "as_int", "exact_max", "is_nonnegative", "total"]


def is_nonnegative(expr) -> bool:
    """True when ``expr`` is provably >= 0 for positive-integer symbols.

    Decided by expanding into a polynomial whose generators (symbols, floors, ceilings, maxima of
    such) are all nonnegative: if every coefficient is nonnegative, so is the expression. False
    means "not proven", never "negative".
    """
    if isinstance(expr, int):
        return expr >= 0
    sympy = _sympy()
    expr = sympy.expand(sympy.sympify(expr))
    if expr.is_Number:
        return bool(expr >= 0)
    if expr.is_nonnegative:
        return True
    try:
        poly = sympy.Poly(expr, *sorted(_generators(expr), key=sympy.default_sort_key))
    except sympy.PolynomialError:
        return False
    return all(c >= 0 for c in poly.coeffs())


def _generators(expr) -> set:
    sympy = _sympy()
    gens = set()
    for atom in expr.atoms(sympy.Symbol, sympy.floor, sympy.ceiling, sympy.Max):
        if atom.is_nonnegative or isinstance(atom, (sympy.floor, sympy.ceiling)):
            gens.add(atom)
    return gens


def exact_max(values):
    """The maximum of ``values``: an int for ints (0 for none), else ``Max`` of the non-dominated ones."""
    if all(isinstance(v, int) for v in values):
        return max(values, default=0)
    sympy = _sympy()
    values = [sympy.sympify(v) for v in values]
    if all(v.is_Number for v in values):
        return max(values)
    candidates = sorted(set(values), key=sympy.default_sort_key)
    samples = _samples(candidates)

    def dominates(a, b) -> bool:
        """a >= b everywhere: refuted cheaply by one sample point, else proved."""
        if any(x < y for x, y in zip(samples[a], samples[b])):
            return False
        return is_nonnegative(a - b)

    kept: list = []
    for v in candidates:
        if any(dominates(k, v) for k in kept):
            continue
        kept = [k for k in kept if not dominates(v, k)]
        kept.append(v)
    return kept[0] if len(kept) == 1 else sympy.Max(*kept)


SAMPLE_VALUES = (1, 2, 3, 7, 64, 224, 1000)


def _samples(expressions) -> dict:
    """Each expression evaluated at a few points (every symbol at each of SAMPLE_VALUES, and two
    mixed points): a necessary condition for dominance that costs microseconds instead of a proof."""
    symbols = sorted(set().union(*(e.free_symbols for e in expressions)), key=str)
    points = [{s: v for s in symbols} for v in SAMPLE_VALUES]
    points += [{s: SAMPLE_VALUES[(i + j) % len(SAMPLE_VALUES)] for i, s in enumerate(symbols)} for j in (1, 4)]
    return {e: [e.xreplace(point) for point in points] for e in expressions}
