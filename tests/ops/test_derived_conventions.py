"""Derived conventions (attncost.ops.primitive.DerivedConvention): a rule written once that every op kind
follows, and the tallies it reads, which move no number of a base convention."""

from attncost import ops
from attncost.cost import Convention, flops
from attncost.cost.cost import Cost
from attncost.ops.primitive import BASE_CONVENTIONS, DERIVED_CONVENTIONS, kind


def test_every_override_names_a_registered_kind():
    for convention in DERIVED_CONVENTIONS.values():
        assert set(convention.overrides) <= set(ops.OP_KINDS), convention.name


def test_every_kind_weighs_what_its_rule_says():
    for convention in DERIVED_CONVENTIONS.values():
        for k in ops.OP_KINDS.values():
            fallback = k.weights[convention.base] if convention.base else 0
            assert k.weights[convention.name] == convention.overrides.get(k.name, fallback), (convention.name, k.name)


def test_a_kind_defined_later_follows_the_rule_without_naming_it():
    later = kind("copy.defined_later", "a kind a user or a new primitive defines", "elements",
                 macs=0, fvcore=0, flopcounter=0, full=3)
    assert later.weights == {"macs": 0, "fvcore": 0, "flopcounter": 0, "full": 3, "thop-0.0.31": 0}


def test_tallies_weigh_nothing_in_the_base_conventions():
    tallies = [k for k in ops.OP_KINDS.values() if k.category == "tally"]
    assert {k.name for k in tallies} == {"tally.conv_bias", "tally.linear_adds", "tally.avg_pool_outputs"}
    for k in tallies:
        assert all(k.weights[c] == 0 for c in BASE_CONVENTIONS), k.name


def test_the_convention_is_a_cli_choice_and_weighs_counts():
    # nn.Linear(6, 4) with its bias on 3 rows, as counts: thop 0.0.31 counts 3 * 4 * (2 * 6 - 1) = 132
    cost = Cost(counts={"mac.linear": 3 * 6 * 4, "bias.add": 3 * 4, "tally.linear_adds": 3 * 5 * 4})
    assert Convention("thop-0.0.31") is Convention.THOP_0_0_31
    assert flops(cost, Convention.THOP_0_0_31) == 132
    assert flops(cost, Convention.FULL) == 2 * 72 + 12
