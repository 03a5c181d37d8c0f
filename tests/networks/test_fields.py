"""The fields of network definitions (networks/fields.py): every field has a kind and bounds; a value
outside them, a boolean or a non-integer where an integer is meant, NaN or infinity is one line,
``FILE:LINE: ...`` at the field at fault, exit code 2 (QA: a copy of resnet50.yaml with a stage of 0,
-1 or ``true`` blocks gave an answer, ``1e9`` a traceback-free but unlocated error, 100,000 blocks
hung, ViT's ``heads: 0`` and Swin's ``window: 0`` a ZeroDivisionError, ResNeXt's ``groups: 1e9``
2e16 parameters)."""

import dataclasses
import json
import time

import pytest
from click.testing import CliRunner

from attncost.cli.main import cli
from attncost.cost import Program
from attncost.errors import SpecError
from attncost.graph import walk
from attncost.networks import FAMILIES, definition, forward, load_definition, load_spec
from attncost.networks.fields import (CHOICES, COUNTS, FLAGS, MAX_BLOCKS, MULTIPLIERS, NUMBERS, PLACEMENTS)
from attncost.networks.registry import DEFINITIONS_DIR


def edited(network: str, key: str, value) -> tuple:
    """(text, line): the built-in definition ``network`` with ``key: value`` (its line replaced, or
    added at the end), as a user copies and changes one; ``line``: where ``key`` is."""
    lines = (DEFINITIONS_DIR / f"{network}.yaml").read_text().splitlines()
    at = next((i for i, line in enumerate(lines) if line.startswith(f"{key}:")), len(lines))
    lines[at:at + 1] = [f"{key}: {value}"]
    return "\n".join(lines) + "\n", at + 1


def line_of(text: str, key: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if line.startswith(f"{key}:"))


def cli_error(path) -> str:
    """The one line ``attncost network FILE`` prints, which must exit with code 2."""
    result = CliRunner().invoke(cli, ["network", str(path)])
    lines = result.stderr.strip().splitlines()
    assert result.exit_code == 2 and len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert result.stdout == "" and len(lines[0]) <= 200, lines[0]
    return lines[0]


def test_every_field_of_every_family_has_a_kind():
    """So that no field is read leniently because nobody gave it bounds."""
    for cls in FAMILIES.values():
        for field in dataclasses.fields(cls):
            key, kind = field.name, str(field.type)
            if key in ("name", "attention"):
                continue
            numeric = (key in MULTIPLIERS or key in NUMBERS) if kind == "float" else key in COUNTS
            assert numeric or key in CHOICES or key in FLAGS or key in PLACEMENTS, (cls.__name__, key, kind)


# (built-in definition, key, value written, key whose line the error is at (None: the same), message)
BAD = [
    # a stage's blocks: the QA cases, on a copy of resnet50.yaml
    ("resnet50", "layers", "[3, 0, 6, 3]", None,
     "layers[1] must be a number of blocks, an integer from 1 to 10,000 (got 0)"),
    ("resnet50", "layers", "[3, -1, 6, 3]", None, "layers[1] must be a number of blocks, an integer from 1 to 10,000 "
                                                  "(got -1)"),
    ("resnet50", "layers", "[3, 1e9, 6, 3]", None, "(got 1000000000.0)"),
    ("resnet50", "layers", "[3, true, 6, 3]", None, "(got True)"),
    ("resnet50", "layers", "[3, 2.5, 6, 3]", None, "(got 2.5)"),
    ("resnet50", "layers", "[3, .nan, 6, 3]", None, "(got nan)"),
    ("resnet50", "layers", "[3, '4', 6, 3]", None, "(got '4')"),
    ("resnet50", "layers", "[3, 100000, 6, 3]", None, "(got 100000)"),
    ("resnet50", "layers", "[5000, 5000, 1, 1]", None, "make 10,002 blocks; a network has at most 10,000"),
    ("resnet50", "layers", "[3, 4, 6]", None, "must give the blocks of each of a ResNet's 4 stages"),
    ("resnet50", "layers", "[3, 4, 6, 3, 3]", None, "must give the blocks of each of a ResNet's 4 stages"),
    ("resnet50", "layers", "5", None, "layers must be a non-empty list, each item a number of blocks (got 5)"),
    ("resnet50", "groups", "0", None, "groups must be a number of groups, an integer from 1 to 2^20 (got 0)"),
    ("resnet50", "groups", "1e9", None, "(got 1000000000.0)"),
    ("resnet50", "groups", "2049", None, "make stage 4's 3x3 conv 1,049,088 channels wide; at most 2^20"),
    ("resnext50-32x4d", "width_per_group", "0", None, "width_per_group must be a number of channels"),
    ("resnext50-32x4d", "width_per_group", "2.5", None, "(got 2.5)"),
    ("resnet50", "num_classes", "0", None, "num_classes must be a number of classes, an integer from 1 to 2^31 "
                                           "(got 0)"),
    ("resnet50", "num_classes", "1e3", None, "(got 1000.0)"),
    ("resnet50", "stride_on", "2x2", None, "stride_on '2x2' is not one of: 1x1, 3x3"),
    ("resnet50", "block", "resnet", None, "block 'resnet' is not one of: basic, bottleneck"),
    ("resnet18", "groups", "32", None, "groups=32 shapes a bottleneck's convs; resnet18 is built of basic blocks"),
    ("resnet18", "stride_on", "1x1", None, "stride_on=1x1 shapes a bottleneck's convs"),
    ("resnest50", "avg_down", "1", None, "avg_down must be true or false (got 1)"),
    ("resnest50", "stem_width", "0", None, "stem_width must be a number of channels"),
    ("resnet50", "name", "''", None, "name must be a non-empty text"),
    # dynamic convolutions: the kernel attention's FC1 (C // reduction) keeps a channel
    ("dy-resnet18", "dynamic_experts", "1025", None, "dynamic_experts must be a number of kernels (0: static convs), "
                                                    "an integer from 0 to 1,024 (got 1025)"),
    ("dy-resnet18", "dynamic_reduction", "65", None, "a conv of 64 input channels (C // reduction); at most 64 here"),
    ("dy-mobilenet-v2", "dynamic_reduction", "17", None, "at most 16 here"),
    ("dy-resnet18", "dynamic_temperature", ".inf", None, "dynamic_temperature must be a number above 0"),
    ("resnet50", "dynamic_reduction", "8", None, "dynamic_reduction applies to dynamic convolutions, and no "
                                                 "dynamic_experts is given"),
    ("efficientnet-condconv-b0", "condconv_stages", "[5, 5, 7]", None, "condconv_stages gives 5 twice"),
    ("efficientnet-condconv-b0", "condconv_stages", "[true]", None, "condconv_stages[0] must be a stage number"),
    ("efficientnet-condconv-b0", "condconv_experts", "1025", None, "condconv_experts must be a number of experts"),
    # ViT-B/16
    ("vit-b16", "embed_dim", "0", None, "embed_dim must be a number of channels, an integer from 1 to 2^20 (got 0)"),
    ("vit-b16", "embed_dim", "1000000000000", None, "(got 1000000000000)"),
    ("vit-b16", "embed_dim", "770", "heads", "embed_dim=770 is not divisible by heads=12"),
    ("vit-b16", "heads", "7", None, "embed_dim=768 is not divisible by heads=7"),
    ("vit-b16", "heads", "0", None, "heads must be a number of heads, an integer from 1 to 2^20 (got 0)"),
    ("vit-b16", "depth", "0", None, "depth must be a number of blocks, an integer from 1 to 10,000 (got 0)"),
    ("vit-b16", "depth", "10001", None, "(got 10001)"),
    ("vit-b16", "patch", "0", None, "patch must be a size in pixels, an integer from 1 to 1,024 (got 0)"),
    ("vit-b16", "image_size", "2.5", None, "image_size must be a size in pixels"),
    ("vit-b16", "mlp_ratio", "0.001", None, "mlp_ratio=0.001 leaves the MLP of 768 channels no hidden channel"),
    # Swin-T
    ("swin-t", "window", "0", None, "window must be a size in patches, an integer from 1 to 256 (got 0)"),
    ("swin-t", "window", "257", None, "(got 257)"),
    ("swin-t", "window", "true", None, "(got True)"),
    ("swin-t", "depths", "[2, 2, 0, 2]", None, "depths[2] must be a number of blocks"),
    ("swin-t", "heads", "[3, 6, 12]", None, "depths [2, 2, 6, 2] and heads [3, 6, 12] must list the same stages"),
    ("swin-t", "heads", "[3, 6, 12, 25]", None, "stage 4 has 768 channels, not divisible by heads=25"),
    ("swin-t", "embed_dim", "97", "heads", "stage 1 has 97 channels, not divisible by heads=3"),
    ("swin-t", "embed_dim", "262144", None, "makes the last 262144 x 2^3 channels wide; at most 2^20"),
    # RegNetY-400MF
    ("regnet-y-400mf", "w_m", "0.5", None, "w_m must be a number above 1 and at most 1024 (got 0.5)"),
    ("regnet-y-400mf", "w_m", "-1", None, "(got -1)"),
    ("regnet-y-400mf", "w_m", "1e300", None, "(got 1e+300)"),
    ("regnet-y-400mf", "w_m", "1", None, "(got 1)"),
    ("regnet-y-400mf", "w_0", "44", None, "w_0=44 must be a multiple of 8"),
    ("regnet-y-400mf", "w_0", "0", None, "w_0 must be a number of channels, an integer from 8 to 2^20 (got 0)"),
    ("regnet-y-400mf", "w_a", "-1", None, "w_a must be a number of at least 0 and at most 2^20 (got -1)"),
    ("regnet-y-400mf", "w_a", "1e6", None, "w_a=1e+06 widens the last stage to"),
    ("regnet-y-400mf", "depth", "10001", None, "depth must be a number of blocks, an integer from 1 to 10,000"),
    ("regnet-y-400mf", "group_width", "0", None, "group_width must be a number of channels"),
    ("regnet-y-400mf", "bottleneck_multiplier", "0.001", None, "leaves a stage of 48 channels no bottleneck channel"),
    ("regnet-y-400mf", "se_ratio", "0.001", None, "leaves the SE of a block of 32 input channels no channel"),
    ("mnasnet-a1", "num_classes", "-1", None, "num_classes must be a number of classes"),
    ("mobilenet-v3-large", "num_classes", "true", None, "(got True)"),
]


@pytest.mark.parametrize("network, key, value, at, message", BAD)
def test_a_bad_field_is_one_line_at_its_line(tmp_path, monkeypatch, network, key, value, at, message):
    text, line = edited(network, key, value)
    line = line_of(text, at) if at else line
    path = tmp_path / f"my-{network}.yaml"
    path.write_text(text)
    with pytest.raises(SpecError) as error:
        load_definition(path)
    assert str(error.value).startswith(f"{path}:{line}: ") and message in str(error.value), str(error.value)
    # as a user names it, in its folder (a long absolute path is elided in its middle to keep the line short)
    monkeypatch.chdir(tmp_path)
    assert cli_error(path.name).startswith(f"Error: {path.name}:{line}: ")


def test_a_list_item_is_refused_at_its_own_line(tmp_path):
    path = tmp_path / "net.yaml"
    path.write_text("name: x\nfamily: swin\ndepths:\n  - 2\n  - 2\n  - 6.0\n  - 2\n")
    with pytest.raises(SpecError, match=f"^{path}:6: depths\\[2\\] must be a number of blocks"):
        load_definition(path)


@pytest.mark.parametrize("text, line, message", [
    ("network: resnet18\nstride_on: 1x1\n", 2, "stride_on=1x1 shapes a bottleneck's convs"),
    ("network: resnet18\n\nnum_classes: 1e3\n", 3, "num_classes must be a positive integer (got 1000.0)"),
])
def test_a_spec_files_override_is_refused_at_its_line(tmp_path, text, line, message):
    path = tmp_path / "spec.yaml"
    path.write_text(text)
    with pytest.raises(SpecError) as error:
        load_spec(path)
    assert str(error.value).startswith(f"{path}:{line}: ") and message in str(error.value), str(error.value)


def test_the_python_api_checks_the_same_fields():
    with pytest.raises(SpecError, match=r"^resnet50: layers\[1\] must be a number of blocks"):
        dataclasses.replace(definition("resnet50"), layers=(3, 0, 6, 3))
    with pytest.raises(SpecError, match="^vit-b16: embed_dim=768 is not divisible by heads=7"):
        dataclasses.replace(definition("vit-b16"), heads=7)


# -- what the bounds let through runs, and gives the built-in's numbers -------------------------------------

def test_a_copied_definition_is_the_network_it_copies(tmp_path):
    """``attncost network FILE.yaml`` takes a definition file (a user's copy of one of definitions/)."""
    path = tmp_path / "mine.yaml"
    path.write_text((DEFINITIONS_DIR / "resnet50.yaml").read_text())
    runner = CliRunner()
    mine = runner.invoke(cli, ["network", str(path), "--format", "json"])
    built_in = runner.invoke(cli, ["network", "resnet50", "--format", "json"])
    assert mine.exit_code == built_in.exit_code == 0, mine.stderr
    assert json.loads(mine.stdout)["totals"] == json.loads(built_in.stdout)["totals"]
    assert json.loads(mine.stdout)["totals"]["params"] == 25_557_032


class _Fc1(Program):
    """A Program that remembers the narrowest FC1 of a kernel attention (DY-CNN)."""

    narrowest = None

    def linear(self, x, out_features, bias=True, name=None):
        if name and name.endswith("_attention_fc1"):
            self.narrowest = min(self.narrowest or out_features, out_features)
        return super().linear(x, out_features, bias, name)


@pytest.mark.parametrize("network, changes, narrowest", [
    ("dy-resnet18", {}, 64),                                   # the stem's 64 channels
    ("dy-mobilenet-v2", {}, 16),                               # stage 1's 16 output channels
    ("resnet50", {"dynamic_experts": 4, "width_per_group": 8}, 8),   # stage 1's bottleneck: 64 x 8 / 64
])
def test_the_largest_dynamic_reduction_leaves_one_channel(network, changes, narrowest):
    """The bound of dynamic_reduction is the narrowest input of a dynamic conv, as the forward meets it."""
    spec = dataclasses.replace(definition(network), **changes, dynamic_reduction=narrowest)
    g = _Fc1()
    forward(g, g.input((1, 3, 64, 64)), spec)
    assert g.narrowest == 1
    with pytest.raises(SpecError, match=f"at most {narrowest} here"):
        dataclasses.replace(spec, dynamic_reduction=narrowest + 1)


@pytest.mark.parametrize("network, key, value", [
    ("swin-t", "window", "1"), ("swin-t", "window", "256"), ("regnet-y-400mf", "w_m", "1.0000001"),
    ("resnet50", "groups", "2048"), ("vit-b16", "depth", str(MAX_BLOCKS)), ("regnet-y-400mf", "se_ratio", "0"),
])
def test_values_at_the_bounds_are_accepted(tmp_path, network, key, value):
    path = tmp_path / "net.yaml"
    path.write_text(edited(network, key, value)[0])
    assert str(getattr(load_definition(path), key)) in (value, str(float(value)))


def test_a_network_of_the_most_blocks_walks_in_seconds(tmp_path):
    """10,000 bottlenecks: each block after the first of its stage is replayed (it took 22 s when every
    replay compared its parameter names with all the network's)."""
    path = tmp_path / "deep.yaml"
    path.write_text(edited("resnet50", "layers", "[2500, 2500, 2500, 2500]")[0])
    started = time.monotonic()
    g = Program()
    result = walk(g, forward(g, g.input((1, 3, 64, 64)), load_definition(path)))
    assert time.monotonic() - started < 15
    # per bottleneck of 256 (stage 1), 512, 1024, 2048 output channels after the first of its stage
    # a bottleneck of C channels in and out (C/4 wide): 1x1, 3x3, 1x1 convs and three BNs' weights and biases
    per_block = [2 * c * (c // 4) + 9 * (c // 4) ** 2 + 2 * (c // 4 + c // 4 + c) for c in (256, 512, 1024, 2048)]
    g = Program()
    one_each = dataclasses.replace(definition("resnet50"), layers=(1, 1, 1, 1))
    assert result.total.params == g.finish(forward(g, g.input((1, 3, 64, 64)), one_each)).params + 2499 * sum(per_block)
