import sympy

from attncost.cost.compare import expressions_equal
from attncost.cost.symbolic import exact_max, is_nonnegative
from attncost.symbols import C, H, N, W


def test_dominated_candidates_are_dropped():
    assert exact_max([N * C * H * W, 2 * N * C * H * W, N * C]) == 2 * N * C * H * W


def test_incomparable_candidates_stay():
    assert exact_max([N * C, N * H * W]) == sympy.Max(N * C, N * H * W)


def test_numbers_give_numbers():
    assert exact_max([3, 7, 5]) == 7


def test_nonnegativity_with_floors():
    assert is_nonnegative(C * sympy.floor(C / 2) + 1)
    assert not is_nonnegative(N - C)


def test_max_equality_is_set_equality():
    assert expressions_equal(sympy.Max(N * C, N * H), sympy.Max(N * H, C * N))
    assert not expressions_equal(sympy.Max(N * C, N * H), sympy.Max(N * C, N * W))
