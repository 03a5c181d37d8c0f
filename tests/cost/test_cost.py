"""Cost arithmetic and conventions, against hand derivations."""

import pytest
import sympy

from attncost.cost import Cost, flops
from attncost.symbols import N


def sample_cost():
    return Cost(counts={"mac.conv": 10, "bias.add": 3, "softmax": 4, "elementwise.sigmoid": 6,
                        "norm.batch": 7, "norm.affine": 7, "pool.global_avg": 8, "copy": 9},
                params=5, activation_elements=11, peak_live_elements=12, attention_map_elements=4)


@pytest.mark.parametrize("convention, expected", [
    ("macs", 10),                                            # MACs only
    ("flopcounter", 20),                                     # 2 * 10
    ("fvcore", 10 + 7 * 1 + 7 * 1 + 8),                      # MACs + BN 1 + affine 1 + global pool 1 = 32
    ("full", 2 * 10 + 3 + 5 * 4 + 6 + 2 * 7 + 2 * 7 + 8),    # = 85; copy weighs 0
])
def test_conventions_weigh_counts(convention, expected):
    assert flops(sample_cost(), convention) == expected


def test_costs_add_counts_and_take_max_of_peaks():
    a = sample_cost()
    b = Cost(counts={"mac.conv": 1, "mac.linear": 2}, params=1, activation_elements=1, peak_live_elements=20)
    total = a + b
    assert total.counts["mac.conv"] == 11 and total.counts["mac.linear"] == 2
    assert total.params == 6 and total.activation_elements == 12
    assert total.peak_live_elements == 20 and total.attention_map_elements == 4
    assert total.macs == 13


def test_unknown_op_kind_is_rejected():
    with pytest.raises(KeyError):
        Cost(counts={"mac.teleport": 1})


def test_subs_evaluates_symbolic_fields():
    cost = Cost(counts={"mac.conv": 3 * N}, params=2, peak_live_elements=sympy.Max(N, 4))
    assert cost.subs({N: 5}).counts["mac.conv"] == 15
    assert cost.subs({N: 5}).peak_live_elements == 5


def test_a_concrete_cost_holds_ints_and_a_symbolic_one_sympy_as_a_whole():
    # concrete: every value a Python int (sympy Integers given are converted), zero counts dropped
    concrete = Cost(counts={"mac.conv": sympy.Integer(10), "copy": 0}, params=sympy.Integer(5),
                    peak_live_elements=12)
    assert not concrete.symbolic and concrete.counts == {"mac.conv": 10}
    assert all(type(v) is int for v in concrete.fields().values())
    assert type(concrete.macs) is int and type(flops(concrete)) is int and flops(concrete) == 20   # 2 * 10
    assert concrete.free_symbols == set() and concrete.subs({N: 3}) is concrete
    # one symbolic value makes the whole cost symbolic, as before: params stay a sympy Integer
    mixed = Cost(counts={"mac.conv": 3 * N}, params=2)
    assert mixed.symbolic and isinstance(mixed.params, sympy.Integer) and mixed.free_symbols == {N}
    assert isinstance(Cost(counts={"mac.conv": N}).attention_map_elements, sympy.Integer)
    assert isinstance(flops(Cost(counts={"copy": N}), "macs"), sympy.Integer)      # nothing weighed: Integer 0
    # a concrete cost and a symbolic one add to a symbolic one
    total = concrete + mixed
    assert total.symbolic and total.counts["mac.conv"] == 3 * N + 10 and total.peak_live_elements == 12
