"""Report specs: the shipped example loads as written; malformed specs fail with file and line."""

from pathlib import Path

import pytest

from attncost.cost import Convention
from attncost.errors import AttncostError, SpecError
from attncost.report import load_report_spec, spec_from_options

EXAMPLE = Path(__file__).parents[2] / "specs" / "attention-review.yaml"


def test_example_spec_is_the_seed_comparison():
    spec = load_report_spec(EXAMPLE)
    assert [m.name for m in spec.modules] == ["se", "eca", "cbam", "bam", "gc", "nonlocal", "ccnet", "danet", "mhsa"]
    assert spec.shapes == ((1, 256, 56, 56), (1, 512, 28, 28), (1, 1024, 14, 14), (1, 2048, 7, 7))
    assert spec.convention is Convention.MACS
    # ResNet-50 alone, then with each of the nine modules; DANet's head changes the channel count, so
    # its network row places DANet's position attention module instead
    attended = spec.networks[1:10]
    assert not spec.networks[0].spec.attention
    assert [n.spec.attention[0].module for n in attended] == [
        "danet-pam" if m.name == "danet" else m.name for m in spec.modules]
    # all on the papers' ResNet-50 (stride on the first 1x1) but ECA-Net50 and BAM-ResNet-50, built as
    # released: the stride on the 3x3 (ECA-Net50 with k = 3, 5, 5, 7 by stage)
    assert {n.spec.name for n in attended if n.label not in ("ECA-Net50", "BAM-ResNet-50")} == {"resnet50-v1"}
    assert next(n.spec for n in attended if n.label == "BAM-ResNet-50").name == "resnet50"
    eca = next(n.spec for n in attended if n.label == "ECA-Net50")
    assert eca.name == "resnet50" and [p.hp["k"] for p in eca.attention] == [3, 5, 5, 7]
    # then the baselines and networks of the accuracy chart: ResNet-50 v1.5, ResNeXt-50 and with BAM, and
    # SKNet-50 and ResNeSt-50 where their definitions exist
    extra = [n.label for n in spec.networks[10:]]
    assert extra[:3] == ["ResNet-50 v1.5", "ResNeXt-50", "ResNeXt-50 + BAM"]
    assert set(extra[3:]) <= {"SKNet-50", "ResNeSt-50"}


def test_module_mapping_alias_and_hp(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text("modules: [{module: se, alias: SE-8, hp: {r: 8}}, eca]\nshapes: [64x8x8]\n")
    spec = load_report_spec(path)
    assert [(m.label, m.hp) for m in spec.modules] == [("SE-8", {"r": 8}), ("eca", {})]
    assert spec.sweep.channels == (64,)          # default: the first shape's channels
    assert spec.title == "r"


@pytest.mark.parametrize("text, line, message", [
    ("modules: [se, cbma]\nshapes: [64x8x8]\n", 1, "did you mean 'cbam'"),
    ("modules:\n  - se\n  - cbma\nshapes: [64x8x8]\n", 3, "did you mean 'cbam'"),
    ("modules: [se]\nshapes: [64x8x8]\ncolour: red\n", 3, "unknown key 'colour'"),
    ("modules: [se]\nshapes:\n  - 64x8\n", 3, "must be CxHxW"),
    ("modules: [se]\nshapes: [64x8x8]\nconvention: thop\n", 3, "convention 'thop' is not one of"),
    ("modules:\n  - {module: eca, hp: {k: 4}}\nshapes: [64x8x8]\n", 2, "odd"),
    ("modules:\n  - {module: se, hp: {rr: 4}}\nshapes: [64x8x8]\n", 2, "no hyperparameter 'rr'"),
    ("modules:\n  - {module: se, colour: 4}\nshapes: [64x8x8]\n", 2, "unknown key 'colour' in a module"),
    ("modules: [se]\nshapes: [64x8x8]\nsweep: {range: [9, 3]}\n", 3, "1 <= lo < hi"),
    ("modules: [se]\nshapes: [64x8x8]\nsweep:\n  metric: speed\n", 4, "sweep metric 'speed'"),
    ("modules: [se]\nshapes: [64x8x8]\nnetworks:\n  - resnet5\n", 4, "unknown network"),
    ("networks:\n  - {network: resnet50, attention: {module: se, where: nowhere}}\n", 2, "where='nowhere'"),
    ("networks:\n  - {network: resnet50, colour: 1}\n", 2, "unknown key 'colour'"),
    ("modules: [se]\nshapes: [64x8x8]\nlatency: {lut: missing.json}\n", 3, "not found"),
    ("modules: [se\n", 2, "malformed YAML"),
    ("title: nothing\n", 1, "needs 'modules' or 'networks'"),
    ("modules: [se]\n", 1, "need 'shapes'"),
    # keys that would have no effect (QA: an empty modules list wrote a report with no sections, and
    # shapes without modules were ignored where --shape without --modules is refused)
    ("title: t\nmodules: []\n", 2, "modules must be a non-empty list"),
    ("title: t\nnetworks: []\n", 2, "networks must be a non-empty list"),
    ("title: t\nshapes: [256x14x14]\nnetworks: [resnet18]\n", 2,
     "shapes are the shapes modules are compared at, and no modules are given"),
    ("networks: [resnet18]\nsweep: {channels: [64]}\n", 2, "no modules are given: add modules, or leave sweep out"),
    ("modules: [se]\nshapes: [64x8x8]\ninput: 3x224x224\n", 3, "no networks are given"),
    ("modules: [se]\nshapes: [64x8x8]\nlatency: {}\n", 3, "latency needs 'lut' or 'measurements'"),
    ("modules: [se]\nshapes: []\n", 2, "shapes must be a non-empty list"),
    # the channels-last guard of --shape (QA: computed at C=14 where compare refuses the shape)
    ("modules: [eca]\nshapes: [14x14x256]\n", 2, "shape 14x14x256 looks channels-last (HxWxC); attncost takes "
                                                  "CxHxW: did you mean 256x14x14?"),
    ("modules: [eca]\nshapes:\n  - 256x14x14\n  - 8x14x14x256\n", 4, "did you mean 8x256x14x14?"),
    ("modules: [eca]\nshapes: [256x14x14]\nchannels_last_ok: true\n", 3, "channels_last_ok has no effect"),
    ("modules: [eca]\nshapes: [256x14x14]\nchannels_last_ok: false\n", 3, "false is the default"),
    ("networks: [resnet18]\nchannels_last_ok: true\n", 2, "gives no shapes"),
    ("networks: [resnet18]\ninput: 224x224x3\n", 2, "input 224x224x3 looks channels-last (HxWxC); attncost takes "
                                                   "CxHxW: did you mean 3x224x224?"),
    # repeats and empty labels (QA: "A against A", duplicate rows)
    ("networks:\n  - {network: resnet18, alias: A}\n  - {network: resnet34, alias: A}\n", 3,
     "networks gives the label 'A' twice (first at line 2)"),
    ("networks: [resnet18, resnet18]\n", 1, "gives the label 'resnet18' twice"),
    ("networks:\n  - {network: resnet18, alias: \"\"}\n", 2, "alias must be a non-empty text"),
    ("networks:\n  - {network: resnet18, alias: \"  \"}\n", 2, "alias must be a non-empty text"),
    ("modules:\n  - se\n  - {module: se, hp: {r: 8}}\nshapes: [64x8x8]\n", 3,
     "modules gives the label 'se' twice (first at line 2): give one an alias"),
    ("modules: [{module: se, alias: \"\"}]\nshapes: [64x8x8]\n", 1, "alias must be a non-empty text"),
    ("title: \"\"\nnetworks: [resnet18]\n", 1, "title must be a non-empty text"),
    ("modules: [se]\nshapes:\n  - 256x14x14\n  - 1x256x14x14\n", 4, "shapes lists 256x14x14 twice (first at line 3)"),
    ("modules: [se]\nshapes: [64x8x8]\nconvention:\n  - macs\n  - macs\n", 5,
     "convention lists macs twice (first at line 4)"),
    # repeats inside nested mappings, unknown keys of a network's attention
    ("modules: [{module: se, hp: {r: 16, r: 8}}]\nshapes: [64x8x8]\n", 1, "modules[0].hp gives 'r' twice"),
    ("networks:\n  - {network: resnet50, attention: {module: se, wher: every_block}}\n", 2, "did you mean 'where'?"),
])
def test_malformed_specs_name_file_and_line(tmp_path, text, line, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(SpecError) as error:
        load_report_spec(path)
    assert str(error.value).startswith(f"{path}:{line}:"), str(error.value)
    assert message in str(error.value)


@pytest.mark.parametrize("text", [
    "title: t\nmodules: []\n",
    "title: t\nshapes: [256x14x14]\nnetworks: [resnet18]\n",
    "modules: [eca]\nshapes: [14x14x256]\n",
    "networks:\n  - {network: resnet18, alias: A}\n  - {network: resnet34, alias: A}\n",
])
def test_the_report_command_refuses_them_in_one_line_with_exit_2(tmp_path, text):
    from click.testing import CliRunner

    from attncost.cli.main import cli

    spec, output = tmp_path / "bad.yaml", tmp_path / "out.html"
    spec.write_text(text)
    result = CliRunner().invoke(cli, ["report", str(spec), "-o", str(output)])
    assert result.exit_code == 2 and not output.exists()
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"Error: {spec}:"), result.output


def test_channels_last_ok_takes_the_shapes_as_written(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text("modules: [eca]\nshapes: [14x14x256, 64x8x8]\nchannels_last_ok: true\n")
    assert load_report_spec(path).shapes == ((1, 14, 14, 256), (1, 64, 8, 8))


@pytest.mark.parametrize("args, message", [
    ((["se", "squeeze-excitation"], [(1, 64, 8, 8)]), "--modules lists se twice"),
    ((["se"], [(1, 64, 8, 8), (1, 64, 8, 8)]), "--shape 64x8x8 is given twice"),
    (([], [], "full", ["resnet18", "resnet18"]), "--networks lists resnet18 twice"),
])
def test_spec_from_options_refuses_repeats(args, message):
    with pytest.raises(AttncostError, match=message):
        spec_from_options(*args)


def test_spec_from_options_validates_like_a_file():
    spec = spec_from_options(["se", "nonlocal"], [(1, 256, 56, 56)], "full", ["resnet50"])
    assert [m.name for m in spec.modules] == ["se", "nonlocal"] and spec.convention is Convention.FULL
    assert spec.networks[0].spec.name == "resnet50"
    with pytest.raises(AttncostError, match="did you mean"):
        spec_from_options(["sqeeze"], [(1, 64, 8, 8)])


def test_network_input_shape(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text("networks: [resnet18]\ninput: 2x3x160x160\n")
    assert load_report_spec(path).network_input == (2, 3, 160, 160)
    path.write_text("networks: [resnet18]\ninput: 4x160x160\n")
    with pytest.raises(SpecError, match=f"{path}:2: input 1x4x160x160: the reference networks take 3 channels"):
        load_report_spec(path)


def test_several_conventions_the_first_leads(tmp_path):
    from attncost.report import build_report

    path = tmp_path / "r.yaml"
    path.write_text("modules: [se]\nshapes: [256x56x56]\nconvention: [macs, full]\n")
    spec = load_report_spec(path)
    assert spec.convention is Convention.MACS and spec.conventions == (Convention.MACS, Convention.FULL)
    row = build_report(spec).split('id="summary"')[1].split("</tbody>")[0]
    # SE at C=256, 56x56, r=16, full convention: 2 x 8192 MACs + 272 bias adds + 802,816 for the global
    # average pool + 16 ReLU + 256 sigmoid + 802,816 for the rescaling multiply
    full = 2 * 8192 + (16 + 256) + 256 * 56 * 56 + 16 + 256 + 256 * 56 * 56
    # MACs, then FLOPs (full); FLOPs (macs) would repeat the MACs and is left out
    assert f'<td title="8,192">8.192 K</td><td title="{full:,}">1.623 M</td>' in row
    assert "<th>MACs</th><th>FLOPs (full)</th>" in row and "FLOPs (macs)" not in row
    path.write_text("modules: [se]\nshapes: [256x56x56]\nconvention:\n  - macs\n  - thop\n")
    with pytest.raises(SpecError, match=f"{path}:5: convention .thop. is not one of"):
        load_report_spec(path)
