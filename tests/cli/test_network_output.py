"""``network`` and ``compare`` output: JSON as data in one schema (docs/JSON.md), the per-module table
of ``--depth`` in every format, and totals that miss unknown aten ops marked incomplete in every
format, with ``--strict`` turning that into exit code 3."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
import textwrap

import pytest
from click.testing import CliRunner

from attncost.cli.main import cli

TOP_LEVEL = ["schema_version", "command", "network", "shape", "convention", "dtype", "group_by", "totals",
             "attention_share", "rows", "incomplete", "unsupported_ops"]
TOTALS = ["params", "macs", "flops", "activation_bytes", "peak_bytes", "attention_map_bytes"]
MODULE_ROW = ["module", "type", "depth", "scope", "own", "params", "macs", "flops", "activation_bytes", "peak_bytes",
              "attention_map_bytes"]
SNAKE = re.compile(r"^[a-z][a-z0-9_]*$")


def run(*args):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def keys(value):
    """Every key of every dict inside ``value``."""
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in keys(v)}
    return set()


def test_network_json_is_data_in_the_documented_schema():
    result = run("network", "resnet50", "--format", "json", "--convention", "macs", "--depth", "2")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert list(data)[:len(TOP_LEVEL) - 2] == TOP_LEVEL[:-2]
    assert set(TOP_LEVEL + ["modules"]) <= set(data)
    assert all(SNAKE.match(k) for k in keys(data)), sorted(k for k in keys(data) if not SNAKE.match(k))
    assert (data["schema_version"], data["command"], data["network"]) == (1, "network", "resnet50")
    assert data["shape"] == [1, 3, 224, 224] and data["dtype"] == "float32" and data["convention"] == "macs"
    totals = data["totals"]
    assert list(totals) == TOTALS and all(type(v) is int for v in totals.values())
    # torchvision's ResNet-50 (v1.5): 25,557,032 parameters, 4,089,184,256 MACs (= FLOPs under macs)
    assert totals["params"] == 25_557_032 and totals["macs"] == totals["flops"] == 4_089_184_256
    assert data["attention_share"]["flops_share"] == 0.0 and data["incomplete"] is False
    assert data["unsupported_ops"] == []
    assert all(type(row["params"]) is int and type(row["macs"]) is int for row in data["rows"])
    modules = data["modules"]
    assert all(list(row) == MODULE_ROW for row in modules)
    assert max(row["depth"] for row in modules) == 2
    top = [row for row in modules if row["depth"] == 1]
    assert [row["module"] for row in top] == ["stem", "stage1", "stage2", "stage3", "stage4", "head"]
    for key in ("params", "macs", "flops", "activation_bytes"):
        assert sum(row[key] for row in top) == totals[key], key
    assert max(row["peak_bytes"] for row in top) == totals["peak_bytes"]
    # float16: memory in 2-byte elements, counts unchanged
    half = json.loads(run("network", "resnet50", "--format", "json", "--dtype", "float16").output)
    assert half["totals"]["peak_bytes"] * 2 == totals["peak_bytes"] and half["dtype"] == "float16"


def test_compare_shares_the_schema():
    data = json.loads(run("compare", "se", "eca", "--shape", "64x8x8", "--format", "json").output)
    assert list(data) == TOP_LEVEL
    assert (data["command"], data["network"], data["totals"], data["group_by"]) == ("compare", None, None, "module")
    assert data["shape"] == [1, 64, 8, 8] and data["incomplete"] is False and data["unsupported_ops"] == []
    # SE at C = 64, r = 16: 2*64*4 + 4 + 64 params, 2*64*4 MACs
    assert (data["rows"][0]["module"], data["rows"][0]["params"], data["rows"][0]["macs"]) == ("se", 580, 512)
    assert all(SNAKE.match(k) for k in keys(data))


def test_depth_table_in_every_text_format():
    table = run("network", "resnet18", "--attn", "se", "--depth", "3").output
    lines = table.splitlines()
    assert lines[0].split() == ["module", "type", "depth", "params", "macs", "flops", "activation_bytes",
                                "peak_bytes", "attention_map_bytes"]
    se = next(line.split() for line in lines if line.startswith("stage2/block1/attention:se "))
    # SE at C = 128 (hidden 8): 2*128*8 + 8 + 128 params, 2*128*8 MACs, its 128-weight gate the map
    assert se[:5] == ["stage2/block1/attention:se", "se", "3", f"{2 * 128 * 8 + 8 + 128:,}", f"{2 * 128 * 8:,}"]
    assert se[-1] == f"{128 * 4:,}"
    assert any(line.startswith("stage2/block1 (own) ") for line in lines)
    assert "params: 11,778,592" in lines[-1]
    rows = list(csv.DictReader(io.StringIO(run("network", "resnet18", "--attn", "se", "--depth", "3",
                                               "--format", "csv").output)))
    se = next(r for r in rows if r["module"] == "stage2/block1/attention:se")
    assert (se["type"], se["depth"], se["params"], se["attention_map_bytes"]) == ("se", "3", "2184", "512")
    assert sum(int(r["params"]) for r in rows if r["depth"] == "1") == 11_778_592
    markdown = run("network", "resnet18", "--attn", "se", "--depth", "1", "--format", "markdown").output
    assert markdown.splitlines()[0].startswith("| module") and "| stage1 " in markdown


def test_depth_must_be_positive():
    result = CliRunner().invoke(cli, ["network", "resnet18", "--depth", "0"])
    assert result.exit_code == 2


MODEL = textwrap.dedent('''
    import torch
    from torch import nn

    try:                                   # an op attncost has no formula for (and never will)
        torch.ops.attncost_test.mystery
    except (AttributeError, RuntimeError):
        @torch.library.custom_op("attncost_test::mystery", mutates_args=())
        def _mystery(x: torch.Tensor) -> torch.Tensor:
            return x.clone()


    class Odd(nn.Module):
        def forward(self, x):
            return torch.ops.attncost_test.mystery(torch.ops.attncost_test.mystery(x))


    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3)
            self.block = nn.Sequential(nn.ReLU(), Odd())

        def forward(self, x):
            return torch.ops.attncost_test.mystery(self.block(self.conv(x)))


    def build():
        return Net()
''')


@pytest.fixture()
def mystery(tmp_path):
    path = tmp_path / "mystery_model.py"
    path.write_text(MODEL)
    return f"{path}:build"


def test_unknown_ops_mark_the_totals_incomplete_in_every_format(mystery):
    import attncost

    namespace = {}
    exec(compile(MODEL, "mystery_model.py", "exec"), namespace)
    analysis = attncost.analyze(namespace["build"](), (1, 3, 8, 8))
    op = "attncost_test.mystery.default"
    assert analysis.unsupported[op][0] == 3                       # two in block.1, one in the root

    data = json.loads(run("network", mystery, "--shape", "3x8x8", "--format", "json", "--depth", "2").stdout)
    assert data["incomplete"] is True
    assert data["unsupported_ops"] == [{"op": op, "calls": 3, "scope": "block.1"}]
    # counted anyway: the conv (3 -> 4, 3x3, 6x6 out) and the ReLU
    assert data["totals"]["macs"] == 4 * 36 * 27 and data["totals"]["params"] == 4 * 27 + 4
    assert {row["module"] for row in data["modules"]} >= {"conv", "block", "block.0", "block.1", "(top level)"}

    warning = f"INCOMPLETE: 1 aten op has no formula: {op} (x3, first in block.1) - totals undercount"
    table = run("network", mystery, "--shape", "3x8x8")
    assert table.exit_code == 0 and table.stdout.rstrip().splitlines()[-1] == warning
    markdown = run("network", mystery, "--shape", "3x8x8", "--format", "markdown").stdout
    assert markdown.rstrip().splitlines()[-1] == f"**{warning}**"
    lines = run("network", mystery, "--shape", "3x8x8", "--format", "csv", "--depth", "1").stdout.rstrip().splitlines()
    assert lines[-1] == f"# {warning}" and lines[0].startswith("module,type,depth,")


def test_strict_exits_3_and_stderr_names_the_op(mystery):
    proc = subprocess.run([sys.executable, "-m", "attncost.cli", "network", mystery, "--shape", "3x8x8", "--strict"],
                          capture_output=True, text=True)
    assert proc.returncode == 3, proc.stderr
    assert "no formula for attncost_test.mystery.default (x3, first in block.1)" in proc.stderr
    assert proc.stdout.rstrip().splitlines()[-1].startswith("INCOMPLETE: 1 aten op has no formula")
    result = run("network", mystery, "--shape", "3x8x8", "--strict", "--format", "json")
    assert result.exit_code == 3 and json.loads(result.stdout)["incomplete"] is True
    # a complete count passes --strict
    assert run("network", "resnet18", "--strict").exit_code == 0
