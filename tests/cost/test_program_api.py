"""The cost layer's boundaries: forward descriptions (catalogue families, networks) call Program ops
and bookkeeping only, never the recorder's write interface; nothing outside cost/ reads a Program's
private state; the read API gives what the totals are made of."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from attncost.cost import Program
from attncost.ops.pointwise import RELU

PACKAGE = Path(__file__).resolve().parents[2] / "attncost"
WRITE_INTERFACE = ("count", "record", "allocate", "alias", "new_storage", "append_records", "add_params",
                   "add_attention_maps", "checkpoint")
DESCRIPTIONS = sorted([*(PACKAGE / "catalogue" / "families").rglob("*.py"), *(PACKAGE / "networks").glob("*.py")])
OUTSIDE_COST = sorted(p for p in PACKAGE.rglob("*.py") if "cost" not in p.relative_to(PACKAGE).parts[:1])


@pytest.mark.parametrize("path", DESCRIPTIONS, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_forward_descriptions_use_ops_not_the_write_interface(path):
    text = path.read_text()
    calls = re.findall(rf"\bg\.({'|'.join(WRITE_INTERFACE)})\(", text)
    assert not calls, f"{path.name} calls the recorder's write interface: {sorted(set(calls))}"
    assert not re.search(r"\bg\.degenerate\s*=", text), f"{path.name} sets degenerate by hand (mark_degenerate)"


@pytest.mark.parametrize("path", OUTSIDE_COST, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_reads_a_programs_private_state(path):
    found = re.findall(r"\b(?:g|program|recorder)\._[A-Za-z]\w*", path.read_text())
    assert not found, f"{path.relative_to(PACKAGE)} reads private state: {sorted(set(found))}"


def test_read_api_adds_up_to_finish():
    """relu of a (2, 3) input: 6 elements counted, 6 allocated; a parameter of 4 registered."""
    g = Program()
    x = g.input((2, 3))
    with g.scope("block"):
        g.param("w", 4)
        y = g.mark_attention_map(g.unary(RELU, x))
    g.mark_degenerate("for the test")
    assert g.counts() == {"elementwise.relu": 6}
    assert g.params_by_name() == {("block", "w"): 4} and g.total_params() == 4
    assert g.inputs() == {x.storage: 6} and g.attention_maps() == [(("block",), 6)]
    assert g.degenerate and g.degenerate_reasons == ("for the test",)
    assert g.totals(y, peak=False) == {"count:elementwise.relu": 6, "params": 4, "activation_elements": 6}
    assert g.totals(y) == g.finish(y).fields()
    assert g.finish(y).peak_live_elements == 12                          # input + output
    assert [(r.scope, r.counts, r.params) for r in g.records] == [(("block",), {"elementwise.relu": 6}, 4)]
