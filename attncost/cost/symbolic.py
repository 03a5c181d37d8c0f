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
    if _coefficients_nonnegative(sympy, expr):
        return True
    # Sizes are integers >= 1: with every positive-integer symbol s written 1 + t (t >= 0), a
    # polynomial such as NCHW - NC = NC(HW - 1) has nonnegative coefficients in the t's.
    shifted = {s: s + 1 for s in expr.free_symbols if s.is_positive and s.is_integer}
    return bool(shifted) and _coefficients_nonnegative(sympy, sympy.expand(expr.xreplace(shifted)))


def _coefficients_nonnegative(sympy, expr) -> bool:
    """``expr`` (expanded) is a polynomial in nonnegative generators with no negative coefficient."""
    if expr.is_Number:
        return bool(expr >= 0)
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
    """The maximum of ``values``: an int for ints (0 for none), else ``Max`` of the non-dominated ones.

    A ``Max`` among the values counts as its arguments. The loop below drops every value it proves
    dominated (:func:`is_nonnegative`, with sizes >= 1); sympy's own evaluation compares every pair
    again under its assumptions (``Max._find_localzeros``), which can drop a few more (ceilings)
    but took seconds for a peak of a few dozen candidates with floors, so it runs only on at most
    :data:`SYMPY_MAX_ARGS` of them: above that the ``Max`` is built unevaluated (the same value;
    sympy orders the arguments the same either way)."""
    if all(isinstance(v, int) for v in values):
        return max(values, default=0)
    sympy = _sympy()
    values = [sympy.sympify(v) for v in values]
    if all(v.is_Number for v in values):
        return max(values)
    flat = [a for v in values for a in (v.args if isinstance(v, sympy.Max) else (v,))]
    candidates = sorted(set(flat), key=sympy.default_sort_key)
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
    if len(kept) == 1:
        return kept[0]
    return sympy.Max(*kept, evaluate=len(kept) <= SYMPY_MAX_ARGS)


#: the most arguments a ``Max`` is left to sympy to simplify further (its pairwise comparisons are
#: quick for a few, seconds for dozens with floors: :func:`exact_max`)
SYMPY_MAX_ARGS = 4


SAMPLE_VALUES = (1, 2, 3, 7, 64, 224, 1000)


def _samples(expressions) -> dict:
    """Each expression evaluated at a few points (every symbol at each of SAMPLE_VALUES, and two
    mixed points): a necessary condition for dominance that costs microseconds instead of a proof."""
    symbols = sorted(set().union(*(e.free_symbols for e in expressions)), key=str)
    points = [{s: v for s in symbols} for v in SAMPLE_VALUES]
    points += [{s: SAMPLE_VALUES[(i + j) % len(SAMPLE_VALUES)] for i, s in enumerate(symbols)} for j in (1, 4)]
    return {e: [e.xreplace(point) for point in points] for e in expressions}
