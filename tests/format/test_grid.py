"""attncost's table writer against tabulate itself (the oracle: the layout attncost printed with it
before), on random tables: every layout, alignment, empty tables and cells with spaces around."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from tabulate import tabulate

from attncost.format.grid import grid

TEXT = st.text(alphabet=st.sampled_from("abcxyz019 .,-_:/()%θ÷KMGiB"), max_size=12)
#: headers are column names, never blank (tabulate shortens a row of blank headers in ways attncost never meets)
HEADER = TEXT.filter(lambda text: text.strip() != "")


@st.composite
def tables(draw):
    columns = draw(st.integers(1, 6))
    headers = draw(st.lists(HEADER, min_size=columns, max_size=columns))
    rows = draw(st.lists(st.lists(TEXT, min_size=columns, max_size=columns), max_size=6))
    align = draw(st.lists(st.sampled_from(["left", "right"]), min_size=columns, max_size=columns))
    return headers, rows, align


@settings(max_examples=300, deadline=None)
@given(tables(), st.booleans())
def test_grid_prints_what_tabulate_prints(table, markdown):
    headers, rows, align = table
    expected = tabulate(rows, headers=headers, tablefmt="github" if markdown else "simple", disable_numparse=True,
                        colalign=align)
    assert grid(rows, headers, markdown, align) == expected


def test_a_table_attncost_prints():
    rows = [["se", "8.464 K", "1.00"], ["eca", "5", "0.880"]]
    # widths: module max(6 + 2, 3) = 8, params max(6 + 2, 7) = 8, flops/first 11 + 2 = 13
    assert grid(rows, ["module", "params", "flops/first"], False, ["left", "right", "right"]).splitlines() == [
        "module      params    flops/first",
        "--------  --------  -------------",
        "se         8.464 K           1.00",
        "eca              5          0.880"]


def test_nothing_to_print():
    assert grid([], []) == "" == tabulate([], headers=[], tablefmt="simple")
