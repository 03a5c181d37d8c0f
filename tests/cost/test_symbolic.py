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


def test_sizes_are_at_least_one():
    # NCHW - NC = NC(HW - 1) >= 0 for sizes >= 1, though its coefficients are not all >= 0; with
    # N = 1 + n etc. it is (1 + n)(1 + c)(h + w + hw): every coefficient >= 0
    assert is_nonnegative(N * C * H * W - N * C)
    assert not is_nonnegative(N * C - N * C * H * W)          # N = C = 1, H = W = 2: 1 - 4 < 0
    assert exact_max([N * C * H * W + 2 * N * C, 2 * N * C * H * W + N * C]) == 2 * N * C * H * W + N * C


def test_a_max_among_the_values_counts_as_its_arguments():
    assert exact_max([sympy.Max(N * C, N * H), 2 * N * C]) == sympy.Max(2 * N * C, N * H)


def test_many_incomparable_candidates_keep_every_one_and_the_value():
    # N*H^k*W^(5-k) for k = 0..5: at H = 1 the first is the largest, at W = 1 the last; no one
    # dominates another, so all six stay, in sympy's own order
    candidates = [N * H ** k * W ** (5 - k) for k in range(6)]
    peak = exact_max(candidates)
    assert isinstance(peak, sympy.Max) and set(peak.args) == set(candidates)
    assert peak == sympy.Max(*candidates)
    for values in ({N: 2, H: 3, W: 5}, {N: 1, H: 7, W: 2}):
        assert peak.subs(values) == max(c.subs(values) for c in candidates)
