"""attncost.algebra: ints in, ints out (no sympy); sympy in, what sympy gave before."""

from fractions import Fraction

import pytest
import sympy

from attncost import algebra
from attncost.symbols import C, H


@pytest.mark.parametrize("fn, args, expected", [
    (algebra.floor_div, (7, 2), 3),
    (algebra.floor_div, (-7, 2), -4),                 # floor, as Python's //
    (algebra.ceil_div, (7, 2), 4),
    (algebra.exact_div, (12, 4), 3),
    (algebra.floor_scaled, (256, 0.2, 8), 6),         # floor(256 / 5 / 8) = floor(6.4)
    (algebra.floor_scaled, (100, 0.1), 10),           # 0.1 taken as 1/10, not 0.1000000000000000055...
    (algebra.maximum, (3, 9, 4), 9),
    (algebra.total, ([1, 2, 3],), 6),
])
def test_ints_stay_ints(fn, args, expected):
    result = fn(*args)
    assert result == expected and type(result) is int


def test_symbolic_arguments_give_what_sympy_gives():
    assert algebra.floor_div(C, 16) == sympy.floor(C / 16)
    assert algebra.floor_div(sympy.Integer(7), 2) == 3 and isinstance(algebra.floor_div(sympy.Integer(7), 2),
                                                                        sympy.Integer)
    assert algebra.ceil_div(H, 2) == sympy.ceiling(H / 2)
    assert algebra.exact_div(C, 4) == C / 4 and algebra.exact_div(7, 2) == sympy.Rational(7, 2)
    assert algebra.floor_scaled(C, 0.2, 8) == sympy.floor(C / 40)
    assert algebra.maximum(algebra.floor_div(C, 16), 32) == sympy.Max(sympy.floor(C / 16), 32)
    assert algebra.total([H, 2]) == H + 2
    assert algebra.power(H, -1, 2) == 1 / sympy.sqrt(H) and algebra.power(4, -1, 2) == 0.5


def test_comparisons():
    assert algebra.equal(4, 4) and algebra.equal(2 * H, H + H) and not algebra.equal(H, H + 1)
    assert algebra.differ(3, 4) and algebra.differ(H, H + 1)
    assert not algebra.differ(H, C) and not algebra.differ(4, sympy.Integer(4))     # H and C may be equal
    assert algebra.is_one(1) and algebra.is_one(sympy.Integer(1)) and not algebra.is_one(H)
    assert algebra.is_zero(0) and not algebra.is_zero(H)
    assert algebra.is_concrete(3, 2.5, Fraction(1, 2), sympy.Integer(4)) and not algebra.is_concrete(3, H)
    assert algebra.is_symbolic(H) and not algebra.is_symbolic(sympy.Integer(3)) and not algebra.is_symbolic(3)


def test_normalize_and_as_int():
    import numpy as np

    assert algebra.as_int(sympy.Integer(5)) == 5 and algebra.as_int(H) is None and algebra.as_int(2.0) is None
    for value in (5, sympy.Integer(5), np.int64(5)):
        assert type(algebra.normalize(value)) is int and algebra.normalize(value) == 5
    assert algebra.normalize(H) is H
    assert algebra.text(14) == "14" and algebra.text(sympy.floor(H / 2) + 1) == "floor(H/2) + 1"
