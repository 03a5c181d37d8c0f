"""``network`` and ``compare`` output: JSON as data in one schema (docs/JSON.md), the per-module table
of ``--depth`` in every format, and totals that miss unknown aten ops marked incomplete in every
format, with ``--strict`` turning that into exit code 3."""

from __future__ import annotations

import csv
import io
import json
import re
import shlex
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


def _data_lines(text: str) -> list[str]:
    """CSV output without its leading ``# key: value`` metadata lines."""
    return [line for line in text.splitlines() if not line.startswith("#")]


def test_depth_table_in_every_text_format():
    exact = run("network", "resnet18", "--attn", "se", "--depth", "3", "--units", "exact").output
    lines = exact.splitlines()
    assert lines[0].split() == ["module", "type", "depth", "params", "macs", "flops", "activation", "peak", "attn",
                                "map"]
    se = next(line.split() for line in lines if line.startswith("stage2/block1/attention:se "))
    # SE at C = 128 (hidden 8): 2*128*8 + 8 + 128 params, 2*128*8 MACs, its 128-weight gate the map
    assert se[:5] == ["stage2/block1/attention:se", "se", "3", f"{2 * 128 * 8 + 8 + 128:,}", f"{2 * 128 * 8:,}"]
    assert se[-1] == f"{128 * 4:,}"
    assert any(line.startswith("stage2/block1 (own) ") for line in lines)
    assert "total: 11,778,592 params, 1,814,160,384 MACs, 3,644,658,136 FLOPs (full)" in lines
    assert lines[-1] == "units: exact integers; activation, peak, attn map in bytes"
    # human units by default: 2,184 params = 2.184 K, 512 bytes of map = 512 B; 11,778,592 = 11.78 M
    human = run("network", "resnet18", "--attn", "se", "--depth", "3").output.splitlines()
    se = next(line for line in human if line.startswith("stage2/block1/attention:se "))
    assert "2.184 K" in se and se.endswith("512 B")
    assert "total: 11.78 M params, 1.814 G MACs, 3.645 G FLOPs (full)" in human
    rows = list(csv.DictReader(_data_lines(run("network", "resnet18", "--attn", "se", "--depth", "3",
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
    assert lines[-1] == f"# {warning}" and _data_lines("\n".join(lines))[0].startswith("module,type,depth,")
    assert "# incomplete: true" in lines


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


# -- units, totals, metadata (issue 14) ------------------------------------------------------------------

def _exact_table(*args) -> tuple[list[list[str]], list[str]]:
    """The breakdown table of ``--units exact`` as rows of cells (no cell has a space there), and the
    total row."""
    lines = run(*args, "--units", "exact").output.split("\n\n")[0].splitlines()
    rules = [i for i, line in enumerate(lines) if set(line) <= {"-", " "}]
    assert len(rules) == 2 and rules[1] == len(lines) - 2, lines         # header rule, rule over the total
    return [line.split() for line in lines[2:-2]], lines[-1].split()


def _int(cell: str) -> int:
    return int(cell.replace(",", ""))


@pytest.mark.parametrize("args", [
    ("network", "resnet50-v1", "--attn", "cbam", "--convention", "macs"),
    ("network", "resnet50", "--attn", "nonlocal", "--where", "after_blocks", "--stages", "3", "--blocks", "1,3,5",
     "--group-by", "kind"),
    ("network", "specs/resnet50-gc.yaml", "--group-by", "block"),
    ("network", "mobilenet-v2", "--attn", "se"),
    ("network", "vit-b16", "--group-by", "op"),
])
def test_total_row_is_the_sum_of_the_breakdown_and_the_totals(args, monkeypatch):
    from pathlib import Path

    monkeypatch.chdir(Path(__file__).resolve().parents[2])
    rows, total = _exact_table(*args)
    totals = json.loads(run(*args, "--format", "json").output)["totals"]
    assert total[0] == "total"
    columns = {"params": -3, "macs": -2, "flops": -1}             # from the right: "conv body" is two words
    for key, index in columns.items():
        assert _int(total[index]) == totals[key], key
        if key == "params" and "op" in args:
            # an op-kind breakdown puts no parameters on op kinds (a record's parameters are not split
            # among the kinds it counts): its params column is 0 and only the total row has them
            assert all(_int(row[index]) == 0 for row in rows)
            continue
        assert sum(_int(row[index]) for row in rows) == totals[key], key


def test_human_units_by_default_exact_on_request():
    # torchvision's ResNet-50: 25,557,032 params = 25.56 M (25.557... M), 4,089,184,256 MACs = 4.089 G
    human = run("network", "resnet50", "--convention", "macs").output
    assert human.splitlines()[-1].startswith("units: K, M, G")
    total = next(line for line in human.splitlines() if line.startswith("total "))
    assert total.split() == ["total", "25.56", "M", "4.089", "G", "4.089", "G"]
    assert "total: 25.56 M params, 4.089 G MACs, 4.089 G FLOPs (macs)" in human.splitlines()
    exact = run("network", "resnet50", "--convention", "macs", "--units", "exact").output.splitlines()
    assert next(line for line in exact if line.startswith("total ")).split() == \
        ["total", "25,557,032", "4,089,184,256", "4,089,184,256"]


def test_memory_is_in_bytes_and_the_dtype_is_stated():
    data = json.loads(run("network", "resnet18", "--format", "json").output)["totals"]
    lines = run("network", "resnet18", "--units", "exact").output.splitlines()
    assert "dtype: float32 (4 bytes per element)" in lines
    assert (f"memory: activation {data['activation_bytes']:,} B, peak {data['peak_bytes']:,} B, "
            f"attention map {data['attention_map_bytes']:,} B") in lines
    # ResNet-18's peak: the stem's 64x112x112 output and the conv's input/output, 6,422,528 bytes
    # = 6.125 MiB (6,422,528 / 2^20); float16 halves it
    assert data["peak_bytes"] == 6_422_528
    assert "peak 6.125 MiB" in run("network", "resnet18").output
    half = run("network", "resnet18", "--dtype", "float16").output.splitlines()
    assert "dtype: float16 (2 bytes per element)" in half and any("peak 3.062 MiB" in line for line in half)


def test_compare_ratio_has_three_significant_digits():
    lines = run("compare", "se", "eca", "cbam", "nonlocal", "--shape", "256x56x56", "--convention", "macs",
                "--units", "exact").output.splitlines()
    ratios = {line.split()[0]: line.split()[-1] for line in lines[2:6]}
    # ECA over SE 1,280 / 8,192 = 0.15625; CBAM 323,712 / 8,192 = 39.51...; Non-local 1,040,449,536 / 8,192
    # = 127,007.02: positional, never 1.27e+05
    assert ratios == {"se": "1.00", "eca": "0.156", "cbam": "39.5", "nonlocal": "127,000"}


def test_csv_carries_the_metadata_as_comment_lines(monkeypatch):
    from pathlib import Path

    monkeypatch.chdir(Path(__file__).resolve().parents[2])
    text = run("network", "specs/resnet50-gc.yaml", "--group-by", "block", "--format", "csv").output
    lines = text.splitlines()
    data = json.loads(run("network", "specs/resnet50-gc.yaml", "--group-by", "block", "--format", "json").output)
    comments = dict(line[2:].split(": ", 1) for line in lines if line.startswith("# "))
    assert comments["convention"] == "full" and comments["dtype"] == "float32" and comments["group_by"] == "block"
    assert comments["shape"] == "1x3x224x224" and comments["network"] == data["network"]
    assert {k: int(comments[f"totals.{k}"]) for k in data["totals"]} == data["totals"]
    rows = list(csv.DictReader(_data_lines(text)))
    assert [r["block"] for r in rows] == [r["block"] for r in data["rows"]]        # no total row in CSV
    assert all(int(r["params"]) == d["params"] for r, d in zip(rows, data["rows"]))
    pandas = pytest.importorskip("pandas")
    frame = pandas.read_csv(io.StringIO(text), comment="#")
    assert int(frame["params"].sum()) == data["totals"]["params"]


@pytest.mark.parametrize("args", [
    ("compare", "se", "--shape", "64x8x8", "--format", "json", "--units", "exact"),
    ("compare", "se", "--shape", "64x8x8", "--format", "csv", "--units", "human"),
    ("network", "resnet18", "--format", "json", "--units", "exact"),
])
def test_units_with_json_or_csv_is_an_error(args):
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 2 and result.stdout == ""
    fmt, units = args[args.index("--format") + 1], args[args.index("--units") + 1]
    assert result.stderr.strip() == (f"Error: --units {units} has no effect with --format {fmt} (JSON and CSV "
                                     "always carry exact integers)")
    # without --units they run, exact
    assert run(*args[:-2]).exit_code == 0


def test_units_only_where_counts_are_printed():
    for args in (["list"], ["formula", "se"], ["crossover", "nonlocal", "ccnet", "--shape", "512xHxW"]):
        result = CliRunner().invoke(cli, [*args, "--units", "exact"])
        assert result.exit_code == 2 and "No such option '--units'" in result.stderr, args


def _readme_commands() -> list[list[str]]:
    """The README's ``compare`` and ``network`` commands (its indented code lines) on catalogue entries,
    reference networks and spec files."""
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    found = re.findall(r"^ {4}(?:.*&& )?attncost ((?:compare|network) [^#\n]*?)(?:\s{2,}#.*)?$", text, re.MULTILINE)
    return [shlex.split(c) for c in dict.fromkeys(found) if ".py:" not in c and "--format json" not in c
            and "--format csv" not in c]


@pytest.mark.parametrize("args", _readme_commands(), ids=" ".join)
def test_readme_outputs_fit_in_100_columns(args, monkeypatch):
    """JSON and CSV are data (a CSV line is as long as its record) and are left out."""
    from pathlib import Path

    monkeypatch.chdir(Path(__file__).resolve().parents[2])
    result = run(*args)
    assert result.exit_code == 0
    long = [line for line in result.output.splitlines() if len(line) > 100]
    assert not long, long


def test_readme_commands_found():
    assert ["compare", "se", "eca", "cbam", "--shape", "256x14x14"] in _readme_commands()
    assert ["network", "resnet50-v1", "--attn", "cbam", "--convention", "macs"] in _readme_commands()


# -- reported top-1 (attncost/networks/accuracy.yaml) -------------------------------------------------------

def test_json_carries_the_reported_top1_of_exactly_this_build():
    se = json.loads(run("network", "resnet50-v1", "--attn", "se", "--format", "json").output)
    assert list(se)[len(TOP_LEVEL)] == "reported"                 # after the documented fields, before note
    reported = se["reported"]
    # SENet Table 2: SE-ResNet-50 top-1 error 23.29% -> 76.71; its model zoo's re-training 22.37% -> 77.63
    assert list(reported) == ["top1", "resolution", "source", "setting", "also"]
    assert (reported["top1"], reported["resolution"]) == (76.71, 224) and "Table 2" in reported["source"]
    assert [o["top1"] for o in reported["also"]] == [77.63]
    # no source reports these builds: null, as for every network document without one
    for args in (["resnet18", "--attn", "se"], ["resnet50-v1", "--attn", "se", "--stages", "2,3,4"],
                 ["resnet50-v1", "--attn", "se", "--shape", "3x320x320"], ["specs/resnet50-gc.yaml"]):
        data = json.loads(run("network", *args, "--format", "json").output)
        assert "reported" in data and data["reported"] is None, args


def test_the_reported_top1_line_under_the_table():
    cbam = run("network", "resnet50-v1", "--attn", "cbam")
    lines = cbam.output.splitlines()
    line = next(i for i, text in enumerate(lines) if text.startswith("reported top-1: "))
    # CBAM Table 4: ResNet50 + CBAM top-1 error 22.66% -> 77.34, after the attention share, before the note
    assert lines[line].startswith("reported top-1: 77.34% at 224x224 (Woo et al., CBAM (ECCV 2018), Table 4")
    note = next(i for i, text in enumerate(lines) if text.startswith("note: "))
    assert lines[line - 1].startswith("attention share: ") and line < note
    assert all(text.startswith("  ") for text in lines[line + 1:note])       # its continuation lines
    assert all(len(text) <= 100 for text in lines)
    # several sources: the primary's figure and source, the others' figures
    se = run("network", "resnet50-v1", "--attn", "se").output
    assert "; other sources: 77.63%" in " ".join(se.split())
    markdown = run("network", "resnet50-v1", "--attn", "cbam", "--format", "markdown").output
    assert "\n- reported top-1: 77.34% at 224x224 (Woo et al." in markdown
    # torchvision's ResNet-18: acc@1 69.758 of IMAGENET1K_V1
    assert "reported top-1: 69.758% at 224x224 (torchvision ResNet18_Weights.IMAGENET1K_V1" in run(
        "network", "resnet18").output
    for args in (["resnet18", "--attn", "se"], ["resnet18", "--shape", "3x256x256"]):
        assert "reported top-1" not in run("network", *args).output, args


def test_csv_carries_the_reported_top1_as_comment_lines():
    text = run("network", "resnet50-v1", "--attn", "cbam", "--format", "csv").output
    meta = dict(line[2:].split(": ", 1) for line in text.splitlines() if line.startswith("# "))
    assert meta["reported.top1"] == "77.34" and meta["reported.resolution"] == "224" and meta["reported.also"] == "[]"
    assert "reported.top1" not in run("network", "resnet18", "--attn", "se", "--format", "csv").output


NOISY_MODEL = '''
import torch
print("importing the model file")


class Noisy(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 3)

    def forward(self, x):
        print("in forward")
        return self.conv(x)


def build():
    print("building")
    return Noisy()
'''


@pytest.mark.parametrize("command", [["network", "--format", "json"], ["network", "--format", "json", "--mode", "train"],
                                     ["formula", "--format", "json"]])
def test_a_models_prints_go_to_stderr_and_stdout_stays_json(tmp_path, command):
    model = tmp_path / "noisy.py"
    model.write_text(NOISY_MODEL)
    shape = "3xHxW" if command[0] == "formula" else "3x8x8"
    done = subprocess.run([sys.executable, "-m", "attncost.cli", command[0], f"{model}:build", "--shape", shape,
                           *command[1:]], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    json.loads(done.stdout)                              # nothing but the document on stdout
    assert "building" in done.stderr and "importing the model file" in done.stderr
    if command[0] == "network":
        assert "in forward" in done.stderr
        assert json.loads(done.stdout)["totals"]["params"] == 3 * 4 * 9 + 4      # Conv2d(3, 4, 3) by hand
