"""Every catalogue formula equals what its reference executes: every op kind, params, memory, output
shape; params also equal sum(p.numel()); 50 hypothesis-drawn configurations per entry."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from attncost import catalogue
from attncost.verify import check_config, check_symbolic, sample_config
from attncost.verify.verify import SYMBOLIC_HINT_SHAPES

from picks import HypothesisPick  # tests/verify/picks.py

ENTRIES = [e.name for e in catalogue.entries()]


@pytest.mark.parametrize("name", ENTRIES)
@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None)
@given(data=st.data())
def test_formula_equals_trace(name, data):
    entry = catalogue.get(name)
    shape, hp = sample_config(entry, HypothesisPick(data.draw))
    problems, unsupported = check_config(entry, shape, hp)
    assert not unsupported, f"unsupported aten ops: {unsupported}"
    assert not problems, "\n".join(problems[:5])


@pytest.mark.parametrize("name", ENTRIES)
def test_formula_equals_symbolic_trace(name):
    entry = catalogue.get(name)
    for shape in SYMBOLIC_HINT_SHAPES:
        try:
            hp = entry.resolve(shape, {})
        except Exception:
            continue
        verdict = check_symbolic(entry, shape, hp)
        assert not verdict.startswith("FAILED"), verdict
        return
    pytest.fail(f"{name}: no valid default configuration for the symbolic check")
