"""The printed conventions against the real peers on every reference: torch's FlopCounterMode and
fvcore's FlopCountAnalysis."""

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from attncost import catalogue
from attncost.cost import flops
from attncost.reference import build

ENTRIES = [e.name for e in catalogue.entries()]
SHAPE = (2, 64, 12, 10)


def _fake_counter_input():
    torch.manual_seed(0)
    return torch.randn(*SHAPE)


@pytest.mark.parametrize("name", ENTRIES)
def test_flopcounter_convention_matches_flopcountermode(name):
    entry = catalogue.get(name)
    module = build(name, SHAPE)
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        module(_fake_counter_input())
    assert flops(entry.cost(SHAPE), "flopcounter") == counter.get_total_flops()


# fvcore sees jit ops where attncost sees aten ops; the fvcore view weighs the aten kinds so that
# they agree (docs/CONVENTIONS.md says how, and where a user's own code could differ).
@pytest.mark.parametrize("name", ENTRIES)
def test_fvcore_convention_matches_fvcore(name):
    fvcore = pytest.importorskip("fvcore.nn")
    entry = catalogue.get(name)
    module = build(name, SHAPE)
    analysis = fvcore.FlopCountAnalysis(module, _fake_counter_input())
    analysis.unsupported_ops_warnings(False).uncalled_modules_warnings(False).tracer_warnings("none")
    assert flops(entry.cost(SHAPE), "fvcore") == analysis.total()
