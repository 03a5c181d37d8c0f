"""attncost.format: column kinds from names, units in tables, exact numbers in JSON and CSV, the
metadata as CSV comment lines, the total row and the lines under a result's table. Documents are
built by hand here, with their numbers written out."""

from __future__ import annotations

import csv
import io
import json

import pytest

from attncost.format import OutputFormat, OutputStyle, Units, render, render_result
from attncost.format.columns import Kind, header, kind
from attncost.format.render import WIDTH, csv_metadata, total_row


@pytest.mark.parametrize("name, expected", [
    ("params", Kind.COUNT), ("macs", Kind.COUNT), ("flops", Kind.COUNT), ("count:mac.conv", Kind.COUNT),
    ("mac.conv", Kind.COUNT), ("elementwise.add", Kind.COUNT), ("peak_live_elements", Kind.COUNT),
    ("activation_bytes", Kind.BYTES), ("peak_bytes", Kind.BYTES), ("attention_map_bytes", Kind.BYTES),
    ("flops_vs_first", Kind.RATIO), ("flops_share", Kind.RATIO),
    ("module", Kind.OTHER), ("from", Kind.OTHER), ("depth", Kind.OTHER), ("configs", Kind.OTHER),
])
def test_column_kind_comes_from_the_name(name, expected):
    assert kind(name) is expected


def test_headers_read_human_keys_stay():
    assert [header(k) for k in ("params", "activation_bytes", "peak_bytes", "attention_map_bytes",
                                "flops_vs_first", "unsupported_ops")] == \
        ["params", "activation", "peak", "attn map", "flops/first", "unsupported_ops"]


ROWS = [{"module": "se", "params": 8_464, "peak_bytes": 402_432, "flops_vs_first": 1.0},
        {"module": "nonlocal", "params": 132_224, "peak_bytes": 23_281_664, "flops_vs_first": 1_040_449_536 / 8_192}]


def test_table_in_human_and_exact_units():
    text = render(ROWS, "table", {"convention": "macs"})
    lines = text.splitlines()
    assert lines[0].split() == ["module", "params", "peak", "flops/first"]
    # 8,464 / 10^3 = 8.464 K; 402,432 / 1024 = 393.0 KiB; 132,224 / 10^3 = 132.2 K;
    # 23,281,664 / 2^20 = 22.203... MiB; 1,040,449,536 / 8,192 = 127,007.02 -> 127,000 (3 digits)
    assert lines[2].split() == ["se", "8.464", "K", "393.0", "KiB", "1.00"]
    assert lines[3].split() == ["nonlocal", "132.2", "K", "22.20", "MiB", "127,000"]
    assert lines[-2:] == ["convention: macs", "units: K = 10^3; KiB, MiB = 2^10, 2^20 bytes"]   # the ones printed
    exact = render(ROWS, OutputStyle(OutputFormat.TABLE, Units.EXACT)).splitlines()
    assert exact[2].split() == ["se", "8,464", "402,432", "1.00"]
    assert exact[-1] == "units: exact integers; peak in bytes"
    assert render(ROWS, "table", units="exact") == render(ROWS, OutputStyle("table", "exact"))


def test_no_units_line_without_counts_or_bytes():
    text = render([{"from": 2, "to": 1024, "cheaper": "ccnet"}], "table", {"metric": "macs"})
    assert "units" not in text and "1,024" in text and text.splitlines()[-1] == "metric: macs"


def test_json_and_csv_are_exact_and_csv_carries_the_metadata():
    data = json.loads(render(ROWS, "json", {"convention": "macs"}))
    assert data == {"convention": "macs", "rows": ROWS}
    text = render(ROWS, "csv", {"convention": "macs", "shape": "1x256x56x56"})
    lines = text.splitlines()
    assert lines[:3] == ["# convention: macs", "# shape: 1x256x56x56", "module,params,peak_bytes,flops_vs_first"]
    rows = list(csv.DictReader(line for line in lines if not line.startswith("#")))
    assert rows[1]["params"] == "132224" and rows[1]["peak_bytes"] == "23281664"
    assert float(rows[1]["flops_vs_first"]) == 1_040_449_536 / 8_192


def test_csv_reads_with_pandas_comment():
    pandas = pytest.importorskip("pandas")
    frame = pandas.read_csv(io.StringIO(render(ROWS, "csv", {"convention": "macs"})), comment="#")
    assert list(frame["params"]) == [8_464, 132_224]


#: a network document as graph.document.document makes it (numbers: ResNet-50 v1 + CBAM, macs)
NETWORK = {
    "schema_version": 1, "command": "network", "network": "resnet50-v1", "shape": [1, 3, 224, 224],
    "convention": "macs", "dtype": "float32", "group_by": "stage",
    "totals": {"params": 28_089_624, "macs": 3_864_362_102, "flops": 3_864_362_102,
               "activation_bytes": 131_351_552, "peak_bytes": 9_646_336, "attention_map_bytes": 12_544},
    "attention_share": {"params": 2_533_592, "macs": 6_359_430, "flops": 6_359_430, "params_share": 0.0902,
                        "macs_share": 0.001646, "flops_share": 0.001646},
    "rows": [{"stage": "stem", "params": 9_536, "macs": 118_013_952, "flops": 118_013_952},
             {"stage": "rest", "params": 28_080_088, "macs": 3_746_348_150, "flops": 3_746_348_150}],
    "incomplete": False, "unsupported_ops": [],
    "note": "stride on the first 1x1 (the original ResNet, as the SE/CBAM/BAM/GC papers used); with it on the 3x3 "
            "MACs would be 4,095,573,110 (+0.231 G). Papers of that era print conv+FC MACs as 'GFLOPs'",
}


def test_network_table_total_row_and_summary():
    text = render_result(NETWORK)
    lines = text.splitlines()
    assert lines[0].split() == ["stage", "params", "macs", "flops"]
    assert lines[2].split() == ["stem", "9.536", "K", "118.0", "M", "118.0", "M"]
    assert lines[4] == lines[1]                                  # a rule above the total row
    # 28,089,624 / 10^6 = 28.09 M; 3,864,362,102 / 10^9 = 3.864 G
    assert lines[5].split() == ["total", "28.09", "M", "3.864", "G", "3.864", "G"]
    assert "network: resnet50-v1" in lines and "shape: 1x3x224x224" in lines and "convention: macs" in lines
    assert "dtype: float32 (4 bytes per element)" in lines
    assert "total: 28.09 M params, 3.864 G MACs, 3.864 G FLOPs (macs)" in lines
    # 131,351,552 / 2^20 = 125.26 MiB; 9,646,336 / 2^20 = 9.1995 MiB; 12,544 / 1024 = 12.25 KiB
    assert "memory: activation 125.3 MiB, peak 9.199 MiB, attention map 12.25 KiB" in lines
    assert "attention share: params 9.02%, macs 0.165%, flops 0.165%" in lines
    assert any(line.startswith("note: stride on the first 1x1") for line in lines)
    # printed: K, M, G (table, total); MiB, KiB (memory)
    assert lines[-1] == "units: K, M, G = 10^3, 10^6, 10^9; KiB, MiB = 2^10, 2^20 bytes"
    assert all(len(line) <= WIDTH for line in lines)


def test_network_exact_units_and_markdown():
    lines = render_result(NETWORK, "table", units="exact").splitlines()
    assert lines[5].split() == ["total", "28,089,624", "3,864,362,102", "3,864,362,102"]
    body = [line.split() for line in lines[2:4]]
    assert sum(int(row[1].replace(",", "")) for row in body) == 28_089_624     # 9,536 + 28,080,088
    assert "memory: activation 131,351,552 B, peak 9,646,336 B, attention map 12,544 B" in lines
    assert lines[-1] == "units: exact integers"
    markdown = render_result(NETWORK, "markdown").splitlines()
    assert markdown[0].startswith("| stage") and markdown[4].startswith("| **total**")
    assert "- convention: macs" in markdown
    assert markdown[-1] == "- units: K, M, G = 10^3, 10^6, 10^9; KiB, MiB = 2^10, 2^20 bytes"


def test_network_json_is_the_document_and_csv_has_it_as_comments():
    assert json.loads(render_result(NETWORK, "json")) == NETWORK
    text = render_result(NETWORK, "csv")
    comments = [line for line in text.splitlines() if line.startswith("# ")]
    assert "# convention: macs" in comments and "# totals.peak_bytes: 9646336" in comments
    assert "# shape: 1x3x224x224" in comments and "# attention_share.params_share: 0.0902" in comments
    assert "# incomplete: false" in comments and "# unsupported_ops: []" in comments
    rows = list(csv.DictReader(line for line in text.splitlines() if not line.startswith("#")))
    assert [r["stage"] for r in rows] == ["stem", "rest"]            # no total row: CSV is data
    assert ("totals.flops", 3_864_362_102) in csv_metadata(NETWORK)


def test_no_total_row_for_compare_or_the_module_table():
    compare = {**NETWORK, "command": "compare", "network": None, "totals": None, "attention_share": None,
               "group_by": "module", "rows": ROWS}
    assert total_row(compare, compare["rows"]) is None
    assert "total" not in render_result(compare).split("\n\n")[0]
    modules = {**NETWORK, "modules": [{"module": "stem", "type": "stem", "depth": 1, "scope": ["stem"], "own": False,
                                       "params": 9_536, "peak_bytes": 6_422_528}]}
    assert total_row(modules, modules["modules"]) is None
    table = render_result(modules).splitlines()
    assert table[0].split() == ["module", "type", "depth", "params", "peak"]        # scope, own: JSON only
    assert table[2].split() == ["stem", "stem", "1", "9.536", "K", "6.125", "MiB"]  # 6,422,528 / 2^20 = 6.125


def test_incomplete_line_stays_last():
    doc = {**NETWORK, "incomplete": True, "unsupported_ops": [{"op": "aten.foo.default", "calls": 3,
                                                               "scope": "layer1.0"}]}
    warning = "INCOMPLETE: 1 aten op has no formula: aten.foo.default (x3, first in layer1.0) - totals undercount"
    assert render_result(doc).splitlines()[-1] == warning
    assert render_result(doc, "markdown").splitlines()[-1] == f"**{warning}**"
    assert render_result(doc, "csv").splitlines()[-1] == f"# {warning}"


def test_output_style():
    assert OutputStyle.of("csv") == OutputStyle(OutputFormat.CSV, Units.HUMAN)
    assert OutputStyle.of(OutputStyle("table", "exact")).units is Units.EXACT
    assert OutputStyle.of(OutputStyle("table", "exact"), "human").units is Units.HUMAN
    with pytest.raises(ValueError):
        OutputStyle("table", "metric")
    # a style is its format's name too, so code written for ``fmt == "json"`` reads it unchanged
    style = OutputStyle("json", "exact")
    assert style == "json" and str(style) == "json" and OutputFormat(style) is OutputFormat.JSON
    assert OutputStyle("table", "exact") != OutputStyle("table") and OutputStyle("csv") == OutputStyle("csv")


def test_a_long_text_is_cut_in_a_table_and_whole_elsewhere():
    long = "word " * 40                                             # 200 characters
    rows = [{"name": "x", "summary": long.strip()}, {"name": "y", "summary": "short"}]
    table = render(rows, "table", cut_texts=True)
    cell = table.splitlines()[2].split("  ", 1)[1].strip()
    # cut at a word boundary to at most 80 characters, ending "..."; the short text untouched
    assert cell.endswith("word...") and len(cell) <= 80 and "short" in table
    assert "texts longer than 80 characters are cut" in table
    for fmt in ("markdown", "json", "csv"):
        assert long.strip() in render(rows, fmt, cut_texts=True)
    assert "are cut" not in render([{"name": "y", "summary": "short"}], "table", cut_texts=True)
    assert long.strip() in render(rows, "table")                     # only where a command asks
