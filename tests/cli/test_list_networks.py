"""``attncost list --networks``: every reference network a newcomer can name, with the counts the
model zoos publish (torchvision's ``num_params``), the reported top-1, and nothing silently ignored."""

from __future__ import annotations

import json
import subprocess
import sys

from click.testing import CliRunner

from attncost.cli.main import cli
from attncost.networks import DEFINITIONS


def run(*args):
    return CliRunner().invoke(cli, list(args))


def test_every_reference_network_is_listed_with_zoo_params():
    result = run("list", "--networks", "--format", "json")
    assert result.exit_code == 0, result.output
    rows = {row["network"]: row for row in json.loads(result.output)["rows"]}
    assert sorted(rows) == sorted(DEFINITIONS)
    # torchvision's published num_params (model docs): ResNet-50 25,557,032, MobileNetV2 3,504,872,
    # EfficientNet-B0 5,288,548, Swin-T 28,288,354, ViT-B/16 86,567,656
    assert {n: rows[n]["params"] for n in ("resnet50", "mobilenet-v2", "efficientnet-b0", "swin-t", "vit-b16")} == {
        "resnet50": 25_557_032, "mobilenet-v2": 3_504_872, "efficientnet-b0": 5_288_548, "swin-t": 28_288_354,
        "vit-b16": 86_567_656}
    # torchvision IMAGENET1K_V1 acc@1 of ResNet-50: 76.130
    assert rows["resnet50"]["top1_percent"] == 76.13


def test_a_pattern_filters_and_the_table_reads_in_units():
    result = run("list", "--networks", "resnet5*")
    assert result.exit_code == 0
    table = result.output.split("\n\n")[0]                   # the rows, above the lines under the table
    names = [line.split()[0] for line in table.splitlines()[2:]]
    assert names == ["resnet50", "resnet50-v1"]
    assert "25.56 M" in result.output and "76.13%" in result.output


def test_what_would_do_nothing_or_match_nothing_is_an_error():
    for args, text in ((["--networks", "--family", "channel"], "has no effect with --networks"),
                       (["--networks", "nosuch*"], "no reference network matches")):
        result = run("list", *args)
        assert result.exit_code == 2 and text in result.output


def test_listing_networks_imports_neither_torch_nor_sympy():
    code = ("import sys; from attncost.cli.main import cli\n"
            "try:\n    cli(['list', '--networks'], standalone_mode=False)\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in ('torch', 'sympy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"


def test_the_source_is_the_definitions_whole_first_sentence():
    # QA: aa-resnet50's source was cut at its first comment line, "... ICCV 2019,"
    result = run("list", "--networks", "--format", "json")
    rows = {row["network"]: row for row in json.loads(result.output)["rows"]}
    assert "ICCV 2019, Sec. 4.2 and Table 2): ResNet-50" in rows["aa-resnet50"]["source"]
    assert "(github.com/implus/SKNet, models/sknet50.prototxt)" in rows["sknet50"]["source"]
    assert all(row["source"].endswith(".") for row in rows.values()), [r["source"] for r in rows.values()]
