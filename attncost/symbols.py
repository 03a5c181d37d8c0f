"""The symbols every formula is written in.

All are positive integers, which lets sympy simplify ``floor``/``Max`` and decide
dominance between candidate peaks.
"""

import sympy

N, C, H, W = sympy.symbols("N C H W", positive=True, integer=True)

SHAPE_SYMBOLS = (N, C, H, W)


def symbol(name: str) -> sympy.Symbol:
    """A positive-integer symbol for a hyperparameter (e.g. ``r`` or ``k``)."""
    return sympy.Symbol(name, positive=True, integer=True)
