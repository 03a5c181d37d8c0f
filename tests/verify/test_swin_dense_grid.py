"""Swin's window attention takes the dense-grid route, for torch's reason, and the grid would catch a
formula wrong at one H.

The map is zero-padded to multiples of M by F.pad with pads computed from H and W (the official
detection backbone's code); torch's constant_pad_nd kernel takes only concrete pad sizes, so the
FakeTensor trace with symbolic N, H, W raises a named C++ check and verify falls back to the dense
grid: the formula (ceilings and all) against the program at every valid H, W in 1..40, and against
the traced reference at points covering every residue of H and W mod M = 7."""

import dataclasses

import pytest
import sympy

from attncost import catalogue
from attncost.catalogue.registry import Entry
from attncost.symbols import SHAPE_SYMBOLS, H
from attncost.verify import check_symbolic, verify_entry
from attncost.verify.grid import check_dense_grid
from attncost.verify.verify import NOT_APPLICABLE

SWIN = ("swin-wmsa", "swin-swmsa")
SHAPE = (2, 48, 9, 11)                       # the first symbolic hint shape the default 3 heads divide
PAD_REASON = "accepts only concrete sizes (C++: 'SymIntArrayRef expected to contain only concrete integers')"


@pytest.mark.parametrize("name", SWIN)
def test_symbolic_trace_not_applicable_for_the_padding(name):
    entry = catalogue.get(name)
    verdict = check_symbolic(entry, SHAPE, entry.resolve(SHAPE, {}))
    assert verdict.startswith(NOT_APPLICABLE) and verdict.endswith(PAD_REASON), verdict


@pytest.mark.parametrize("name", SWIN)
def test_dense_grid_proves_the_window_attention(name):
    report = verify_entry(catalogue.get(name), samples=0)
    assert report.passed and report.route == "dense grid", report.symbolic
    assert report.symbolic.startswith("dense grid: formula = program at every valid (H,W)"), report.symbolic
    assert "every H and W mod 7" in report.symbolic


@pytest.mark.parametrize("name", SWIN)
def test_dense_grid_catches_a_formula_wrong_at_one_h(name, monkeypatch):
    """The symbolic formula gains 1 copy at H = 13 only; the concrete program is untouched."""
    entry = catalogue.get(name)
    hp = entry.resolve(SHAPE, {})
    original = Entry.cost

    def wrong(self, shape=SHAPE_SYMBOLS, hp=None):
        cost = original(self, shape, hp)
        if self.name != name or not isinstance(shape[2], sympy.Basic) or shape[2].is_Number:
            return cost
        extra = sympy.Piecewise((1, sympy.Eq(H, 13)), (0, True))
        return dataclasses.replace(cost, counts={**cost.counts, "copy": cost.counts["copy"] + extra})

    monkeypatch.setattr(Entry, "cost", wrong)
    verdict = check_dense_grid(entry, SHAPE, hp)
    assert verdict.startswith("FAILED: dense grid at N,H,W=") and ",13," in verdict, verdict
    assert "count:copy formula=" in verdict
