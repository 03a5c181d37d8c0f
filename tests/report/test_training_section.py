"""The report's training section (a spec's ``training:``, ``attncost report --mode train``): each module
and network, inference next to one training step, the exact numbers in the cells' titles checked by
hand and against the CLI's compare; spec errors name the file and line."""

import json
import re

import pytest
from click.testing import CliRunner

from attncost.cli.main import cli
from attncost.crossings import training_options
from attncost.errors import SpecError
from attncost.report import build_report, load_report_spec, spec_from_options

#: SE at C = 64 (hidden 4): 64*4 + 4 + 4*64 + 64 parameters
SE_PARAMS = 580


def _section(page: str) -> str:
    return page.split('id="training"')[1].split("</section>")[0]


def _titles(row_html: str) -> list[str]:
    return re.findall(r'title="([^"]*)"', row_html)


def test_training_section_numbers(tmp_path):
    spec = spec_from_options(["se", "nonlocal"], [(2, 64, 8, 8)], "full", ["resnet18"],
                             training=training_options("adam"))
    section = _section(build_report(spec))
    assert "Modules at 2x64x8x8" in section and "Networks at 1x3x224x224" in section
    assert "adam" in section and "backward FLOPs" in section and "train peak" in section
    rows = {re.search(r'<td class="text">([^<]*)</td>', r).group(1): _titles(r) for r in section.split("<tr>")
            if '<td class="text">' in r}
    # columns: inference FLOPs, forward, backward, step FLOPs, backward/forward, inference peak, saved,
    # activations + gradients peak, gradients, optimizer state, train peak
    se = rows["se"]
    assert se[8] == f"{4 * SE_PARAMS:,} bytes"                       # one fp32 gradient per parameter
    assert se[9] == f"{2 * 4 * SE_PARAMS:,} bytes"                   # Adam: two fp32 states each
    compared = json.loads(CliRunner().invoke(cli, ["compare", "se", "nonlocal", "--shape", "2x64x8x8", "--mode",
                                                   "train", "--optimizer", "adam", "--format", "json"]).output)
    for row in compared["rows"]:
        titles = rows[row["module"]]
        assert titles[3] == f"{row['step_flops']:,}" and titles[10] == f"{row['train_peak_bytes']:,} bytes"
    network = json.loads(CliRunner().invoke(cli, ["network", "resnet18", "--mode", "train", "--optimizer", "adam",
                                                  "--format", "json"]).output)["training"]
    assert rows["resnet18"][2] == f"{network['backward_flops']:,}"
    assert rows["resnet18"][10] == f"{network['train_peak_bytes']:,} bytes"


def test_no_training_section_without_training():
    page = build_report(spec_from_options(["se"], [(1, 64, 8, 8)]))
    assert 'id="training"' not in page


def test_spec_training_key(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text("modules: [se]\nshapes: [2x64x8x8]\ntraining: {optimizer: momentum, precision: bf16}\n")
    spec = load_report_spec(path)
    assert spec.training.optimizer.value == "momentum" and spec.training.precision.name == "bf16"
    section = _section(build_report(spec))
    # bf16: gradients 2 bytes each; the momentum buffer stays fp32
    titles = _titles(next(r for r in section.split("<tr>") if '<td class="text">' in r))
    assert titles[8] == f"{2 * SE_PARAMS:,} bytes" and titles[9] == f"{4 * SE_PARAMS:,} bytes"
    path.write_text("modules: [se]\nshapes: [2x64x8x8]\ntraining: {}\n")
    assert load_report_spec(path).training.optimizer.value == "sgd"


@pytest.mark.parametrize("text, line, message", [
    ("modules: [se]\nshapes: [64x8x8]\ntraining: {optimizer: rmsprop}\n", 3, "rmsprop"),
    ("modules: [se]\nshapes: [64x8x8]\ntraining: {lr: 0.1}\n", 3, "unknown key 'lr'"),
])
def test_bad_training_keys_name_file_and_line(tmp_path, text, line, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(SpecError) as error:
        load_report_spec(path)
    assert str(error.value).startswith(f"{path}:{line}:") and message in str(error.value)


def test_report_command_mode_train(tmp_path):
    out = tmp_path / "t.html"
    result = CliRunner().invoke(cli, ["report", "--modules", "se", "--shape", "2x64x8x8", "--mode", "train",
                                      "--optimizer", "adam", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert 'id="training"' in out.read_text()
    spec = tmp_path / "s.yaml"
    spec.write_text("modules: [se]\nshapes: [64x8x8]\n")
    refused = CliRunner().invoke(cli, ["report", str(spec), "--mode", "train", "-o", str(out)])
    assert refused.exit_code == 2 and "--mode" in refused.stderr
