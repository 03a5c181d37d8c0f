"""What a formula looks like as sizes grow: floors dropped, the dominant terms kept. No torch.

:func:`leading_term` is what ``attncost formula --leading`` prints (embedded Non-local's
``N*C*(H*W)**2/4``); :func:`drop_floors` is the asymptotic form the crossover solves in closed form.
Both are symbolic work: sympy is imported when they are called, not with this module.
"""

from __future__ import annotations

from . import symbols


def drop_floors(expr):
    """Asymptotic form: floor(x) and ceiling(x) -> x."""
    import sympy

    return sympy.sympify(expr).replace(sympy.floor, lambda a: a).replace(sympy.ceiling, lambda a: a)


def leading_term(expr, variables=None):
    """The dominant part of ``expr`` as ``variables`` (default H, W) grow: the terms of highest total
    degree in them (floors dropped), factored. For a constant in ``variables``, the highest degree in C."""
    import sympy

    if variables is None:
        variables = (symbols.H, symbols.W)
    if isinstance(expr, sympy.Max):
        return sympy.Max(*[leading_term(arg, variables) for arg in expr.args])
    expr = sympy.expand(drop_floors(expr))
    if expr == 0:
        return expr
    for group in (variables, (symbols.C,), (symbols.N,)):
        try:
            poly = sympy.Poly(_dominant_branches(expr, group), *group)
        except sympy.PolynomialError:        # not polynomial in these sizes: show it whole
            return sympy.factor(expr)
        degree = poly.total_degree()
        if degree > 0 or group == (symbols.N,):
            terms = [coeff * sympy.prod(g ** e for g, e in zip(group, monom))
                     for monom, coeff in poly.terms() if sum(monom) == degree]
            return sympy.factor(sympy.Add(*terms))
    return expr


def _degree(expr, group) -> int:
    import sympy

    try:
        return sympy.Poly(expr, *group).total_degree()
    except sympy.PolynomialError:
        return 0


def _dominant_branches(expr, group):
    """Max(a, b) inside an expression -> the argument growing fastest in ``group`` (e.g. SK's
    max(C // r, 32) -> C / r as C grows)."""
    import sympy

    return expr.replace(lambda e: isinstance(e, sympy.Max),
                        lambda e: max(e.args, key=lambda a: _degree(a, group)))
