"""A user's model whose forward runs no op that costs anything (``nn.Identity``: it returns its input)
prints, in every format, a breakdown with a total row of zeros (CSV: the header) and one line saying
the forward ran no op; never blank lines, never a traceback."""

from __future__ import annotations

import csv
import json

import pytest
from click.testing import CliRunner

from attncost.cli.main import cli
from attncost.graph.document import NOTHING_RAN

MODEL = '''
import torch

def build():
    return torch.nn.Identity()

class Unused(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.proj = torch.nn.Linear(4, 4)       # 4 * 4 weights + 4 biases = 20 parameters, never called

    def forward(self, x):
        return x

def build_unused():
    return Unused()
'''
#: the input 1x3x8x8 in float32, live from the start: 3 * 8 * 8 * 4 = 768 bytes, the only tensor
PEAK = 3 * 8 * 8 * 4


@pytest.fixture
def model(tmp_path, monkeypatch):
    (tmp_path / "identity.py").write_text(MODEL)
    monkeypatch.chdir(tmp_path)
    return "identity.py:build"


def run(*args):
    result = CliRunner().invoke(cli, [str(a) for a in args])
    assert result.exit_code == 0 and result.exception is None, result.output
    return result.stdout


def test_json_has_no_rows_zero_totals_and_a_note(model):
    doc = json.loads(run("network", model, "--shape", "3x8x8", "--format", "json"))
    assert doc["rows"] == [] and doc["incomplete"] is False and doc["unsupported_ops"] == []
    assert doc["totals"] == {"params": 0, "macs": 0, "flops": 0, "activation_bytes": 0, "peak_bytes": PEAK,
                             "attention_map_bytes": 0}
    assert doc["note"] == NOTHING_RAN and "no aten op" in doc["note"]


@pytest.mark.parametrize("group_by", ["stage", "op"])
def test_the_table_has_a_header_and_a_total_row_of_zeros(model, group_by):
    text = run("network", model, "--shape", "3x8x8", "--group-by", group_by)
    lines = text.splitlines()
    assert lines[0].split() == [group_by, "params", "macs", "flops"]
    assert set(lines[1]) <= {"-", " "} and lines[2].split() == ["total", "0", "0", "0"]
    assert lines[3] == "" and lines[4] == f"network: {model}"       # one blank line before the lines under it
    assert f"note: {NOTHING_RAN}" in lines
    assert not any(line == "" for line in lines[5:]), text
    assert "total: 0 params, 0 MACs, 0 FLOPs (full)" in lines and "memory: activation 0 B, peak 768 B, " \
        "attention map 0 B" in lines


def test_markdown_has_a_total_row_of_zeros(model):
    lines = run("network", model, "--shape", "3x8x8", "--format", "markdown").splitlines()
    assert lines[0].split("|")[1:-1] == [" stage     ", "   params ", "   macs ", "   flops "]
    assert [cell.strip() for cell in lines[2].split("|")[1:-1]] == ["**total**", "0", "0", "0"]
    assert f"- note: {NOTHING_RAN}" in lines


def test_csv_has_the_header_and_the_note(model):
    text = run("network", model, "--shape", "3x8x8", "--format", "csv")
    lines = text.splitlines()
    assert f"# note: {NOTHING_RAN}" in lines and "# totals.flops: 0" in lines
    data = [line for line in lines if not line.startswith("#")]
    assert data == ["stage,params,macs,flops"]                         # the columns, no rows
    assert list(csv.DictReader(data)) == []


def test_depth_falls_back_to_the_breakdown(model):
    lines = run("network", model, "--shape", "3x8x8", "--depth", "2").splitlines()
    assert lines[2].split() == ["total", "0", "0", "0"] and f"note: {NOTHING_RAN}" in lines


def test_parameters_the_forward_never_uses_are_still_counted(model):
    doc = json.loads(run("network", "identity.py:build_unused", "--shape", "3x8x8", "--format", "json"))
    assert doc["totals"]["params"] == 20 and doc["totals"]["macs"] == 0 and doc["note"] == NOTHING_RAN
    assert doc["rows"] == [{"stage": "proj", "params": 20, "macs": 0, "flops": 0}]
    lines = run("network", "identity.py:build_unused", "--shape", "3x8x8").splitlines()
    assert lines[2].split() == ["proj", "20", "0", "0"] and lines[4].split() == ["total", "20", "0", "0"]


def test_a_model_that_costs_something_has_no_such_note(model, tmp_path):
    (tmp_path / "relu.py").write_text("import torch\n\ndef build():\n    return torch.nn.ReLU()\n")
    doc = json.loads(run("network", "relu.py:build", "--shape", "3x8x8", "--format", "json"))
    assert doc["rows"] and "note" not in doc
