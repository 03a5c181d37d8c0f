"""Exact arithmetic on sizes and counts: Python ints when concrete, sympy expressions when symbolic.

Every size, count and memory total attncost computes is one or the other: a concrete shape
(``compare``, ``network``, the tracer on real tensors) gives Python ints all the way; a symbolic one
(``formula``, ``crossover``, ``verify``) gives sympy expressions in N, C, H, W. The helpers here
(floor and ceiling division, maxima, sums, equality, dividing exactly) take either and answer in
kind, so a formula is written once for both.

sympy is not imported here at module level, and a helper imports it only when one of its arguments
is not a Python int: such an argument is a sympy object (or, in a few documented places, a float
or a fraction), so sympy is then already loaded and the import costs nothing. Concrete answers
therefore never load sympy (``tests/test_no_sympy.py``), which is about half the start-up time of a
command.
"""

from __future__ import annotations

import math
import numbers
import operator
import sys
from fractions import Fraction


def sympy():
    """The sympy module (imported on first use)."""
    import sympy as module

    return module


def _loaded():
    """sympy if something imported it already, else None: a value cannot be a sympy object before."""
    return sys.modules.get("sympy")


def as_int(value):
    """``value`` as a Python int when it is a concrete integer (an int or a sympy Integer), else
    None: the fast path that keeps concrete shapes (every network walk) in integer arithmetic."""
    if isinstance(value, int):
        return value
    sp = _loaded()
    if sp is not None and isinstance(value, sp.Integer):
        return int(value)
    return None


def is_symbolic(value) -> bool:
    """Whether ``value`` is a sympy object that is not a number (a symbol, an expression of them)."""
    if isinstance(value, int):
        return False
    sp = _loaded()
    return sp is not None and isinstance(value, sp.Basic) and not value.is_Number


def is_number(value) -> bool:
    """Whether ``value`` is a number (an int, float or fraction, numpy's too, or a sympy number), not an
    expression."""
    if isinstance(value, numbers.Real):
        return True
    return bool(expr(value).is_Number)


def is_concrete(*values) -> bool:
    """Whether every value is a number (a size of a concrete shape, a hyperparameter's value)."""
    return all(is_number(v) for v in values)


def normalize(value):
    """A size as the Program takes it: an int when it is a concrete integer (sympy Integers and
    numpy integers included), else as a sympy expression (``sympify``)."""
    if isinstance(value, int):
        return value
    sp = _loaded()
    if sp is not None and isinstance(value, sp.Basic):
        return int(value) if value.is_Integer else value
    try:
        return operator.index(value)                     # numpy integers
    except TypeError:
        return expr(value)


def expr(value):
    """``value`` as a sympy expression (``sympy.sympify``): the explicit way into symbolic work."""
    return sympy().sympify(value)


# -- arithmetic ------------------------------------------------------------------------------------
def floor_div(a, b):
    """floor(a / b) (Python's ``a // b``): an int for ints, else a sympy ``floor`` (a sympy Integer
    where both are sympy integers)."""
    if isinstance(a, int) and isinstance(b, int):
        return a // b
    sp = sympy()
    a, b = sp.sympify(a), sp.sympify(b)
    if a.is_Integer and b.is_Integer:
        return a // b
    return sp.floor(a / b)


def ceil_div(a, b):
    """ceiling(a / b): an int for ints, else a sympy ``ceiling``."""
    if isinstance(a, int) and isinstance(b, int):
        return -(-a // b)
    sp = sympy()
    return sp.ceiling(sp.sympify(a) / b)


def exact_div(a, b):
    """``a / b`` where ``b`` is known to divide ``a`` (channels by heads): an int when both are ints and
    it divides, else a sympy quotient (a Rational where an int does not divide: PyTorch would fail)."""
    if isinstance(a, int) and isinstance(b, int) and b and a % b == 0:
        return a // b
    ca, cb = as_int(a), as_int(b)
    if ca is not None and cb is not None and cb and ca % cb == 0:
        return ca // cb
    return sympy().sympify(a) / b


def floor_scaled(value, ratio, divisor=1):
    """floor(value * ratio / divisor) with ``ratio`` (a float such as 0.2) taken exactly as written
    (``str(ratio)``): an int for int arguments, else a sympy ``floor``."""
    if isinstance(value, int) and isinstance(divisor, int):
        return math.floor(Fraction(str(ratio)) * value / divisor)
    sp = sympy()
    return floor_div(sp.Rational(str(ratio)) * value, divisor)


def power(base, numerator: int, denominator: int = 1):
    """``base ** (numerator / denominator)``, e.g. attention's scale d^-1/2: a float for an int
    ``base`` (a scale only; nothing is counted from its value), else a sympy power."""
    if isinstance(base, int):
        return base ** (numerator / denominator)
    sp = sympy()
    return sp.sympify(base) ** sp.Rational(numerator, denominator)


def maximum(*values):
    """The largest of ``values``: an int for ints, else a sympy ``Max``."""
    if all(isinstance(v, int) for v in values):
        return max(values)
    return sympy().Max(*values)


def total(values):
    """Sum of sizes: an int sum when all are ints (fast), else a sympy ``Add``."""
    values = list(values)
    if all(isinstance(v, int) for v in values):
        return sum(values)
    sp = sympy()
    return sp.Add(*[sp.sympify(v) for v in values])


# -- comparisons -----------------------------------------------------------------------------------
def is_zero(value) -> bool:
    """``value == 0`` (for an expression: it is the number 0)."""
    if isinstance(value, int):
        return value == 0
    return expr(value) == 0


def is_one(value) -> bool:
    """``value == 1`` for a size (a symbolic size is taken to be larger than 1)."""
    concrete = as_int(value)
    return concrete == 1 if concrete is not None else expr(value) == 1


def equal(a, b) -> bool:
    """``a == b`` for two sizes (exact: symbolic ones are expanded)."""
    if isinstance(a, int) and isinstance(b, int):
        return a == b
    ca, cb = as_int(a), as_int(b)
    if ca is not None and cb is not None:
        return ca == cb
    sp = sympy()
    return sp.expand(sp.sympify(a) - sp.sympify(b)) == 0


def differ(a, b) -> bool:
    """Whether two sizes differ for certain: both concrete and unequal, or a difference that is a
    non-zero number (``H`` and ``H + 1``). Two symbolic sizes that may be equal (``floor(H/2)`` and
    ``H // 2 + 0``) do not."""
    if a == b:
        return False
    ca, cb = as_int(a), as_int(b)
    if ca is not None and cb is not None:
        return ca != cb
    sp = sympy()
    difference = sp.sympify(a) - sp.sympify(b)
    return bool(difference.is_number and difference != 0)


def text(value) -> str:
    """A size as printed (``str(sympy.sympify(value))``: 14, H, floor(H/2) + 1)."""
    if isinstance(value, int):
        return str(value)
    return str(expr(value))
