"""Spec files: the shipped ones load; malformed ones fail with file and line, exit code 2."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from attncost.errors import SpecError
from attncost.networks import AttentionPlacement, definition, load_spec, with_attention

SPECS = Path(__file__).parents[2] / "specs"

# What each shipped spec's comment says the paper did, written out as placements
SHIPPED = {
    # BAM (Park et al., BMVC 2018): one module at each bottleneck between stages, original ResNet
    "resnet50-bam.yaml": ("resnet50-v1", AttentionPlacement("bam", "after_stage", (1, 2, 3)), {}),
    # CBAM (Woo et al., ECCV 2018): in every bottleneck, original ResNet
    "resnet50-cbam.yaml": ("resnet50-v1", AttentionPlacement("cbam", "every_block", (1, 2, 3, 4)), {}),
    # GCNet (Cao et al. 2019): every bottleneck of c3-c5, r = 16
    "resnet50-gc.yaml": ("resnet50", AttentionPlacement("gc", "every_block", (2, 3, 4)), {"r": 16}),
    # Non-local (Wang et al., CVPR 2018): after blocks 1, 3, 5 of res4
    "resnet50-nonlocal.yaml": ("resnet50", AttentionPlacement("nonlocal", "after_blocks", (3,), (1, 3, 5)), {}),
}


def test_every_shipped_spec_is_listed():
    assert sorted(p.name for p in SPECS.glob("resnet*.yaml")) == sorted(SHIPPED)


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_shipped_specs_load(name):
    network, placement, hp = SHIPPED[name]
    spec = load_spec(SPECS / name)
    assert spec == with_attention(definition(network), [placement])
    assert [p.hp for p in spec.attention] == [hp]           # hp is not part of a placement's equality


@pytest.mark.parametrize("text, line, message", [
    ("network: resnet50\nattention: {module: cbma}\n", 2, "did you mean 'cbam'"),
    ("network: resnet50\nplacement: every_block\n", 2, "unknown key 'placement'"),
    ("network: resnet50\nattention: {module: se, where: everywhere}\n", 2, "where='everywhere'"),
    ("network: resnet5\n", 1, "unknown network"),
    ("network: [resnet50\n", 2, "malformed YAML"),
])
def test_malformed_specs_name_file_and_line(tmp_path, text, line, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(SpecError, match=message) as info:
        load_spec(path)
    assert str(info.value).startswith(f"{path}:{line}:")
    proc = subprocess.run([sys.executable, "-m", "attncost.cli", "network", str(path)], capture_output=True, text=True)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr


def test_cbam_spec_reproduces_the_paper_row():
    # CBAM (Woo et al., ECCV 2018) Table 4: "ResNet50 + CBAM | 28.09M | 3.864" GFLOPs (conv+FC MACs)
    proc = subprocess.run([sys.executable, "-m", "attncost.cli", "network", str(SPECS / "resnet50-cbam.yaml"),
                           "--convention", "macs", "--format", "json"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["network"] == "resnet50-v1" and data["convention"] == "macs"
    assert round(data["totals"]["params"] / 1e6, 2) == 28.09
    assert round(data["totals"]["macs"] / 1e9, 3) == 3.864


DEFINITION_FILES = sorted((Path(__file__).parents[2] / "specs" / "networks").glob("*.yaml"))


def test_reference_networks_are_the_definition_files():
    from attncost.networks import DEFINITIONS, load_definition

    assert len(DEFINITION_FILES) == len(DEFINITIONS) >= 13
    for path in DEFINITION_FILES:
        spec = load_definition(path)
        assert DEFINITIONS[spec.name] == spec


def test_a_definition_file_is_all_a_network_of_a_known_family_needs(tmp_path):
    """The recipe of docs/ARCHITECTURE.md: a new file in definitions/ (here a ResNet-26 of the existing
    bottleneck blocks) is a network for the Program and for the torch reference, with no other edit:
    the folder is read as it is, and every family has its forward and its torch network."""
    from attncost.cost import Program
    from attncost.networks import FAMILIES, FORWARDS, forward
    from attncost.networks.registry import load_definitions
    from attncost.reference.networks import NETWORK_CLASSES, build_network

    assert set(FORWARDS) == set(NETWORK_CLASSES) == set(FAMILIES.values())
    for path in DEFINITION_FILES[:2]:
        (tmp_path / path.name).write_text(path.read_text())
    (tmp_path / "resnet26.yaml").write_text("name: resnet26\nfamily: resnet\nblock: bottleneck\nlayers: [2, 2, 2, 2]\n")
    found = load_definitions(tmp_path)
    assert len(found) == 3 and found["resnet26"].layers == (2, 2, 2, 2)
    g = Program()
    cost = g.finish(forward(g, g.input((1, 3, 64, 64)), found["resnet26"]))
    assert cost.params == sum(p.numel() for p in build_network(found["resnet26"], (64, 64)).parameters())


@pytest.mark.parametrize("text, line, message", [
    ("name: x\nfamily: resnet\nblock: bottleneck\nlayers: [3, 4, 6, 3]\nstride: 2\n", 5, "unknown key 'stride'"),
    ("name: x\nfamily: densenet\n", 2, "family 'densenet'"),
    ("name: x\n", 1, "needs 'name' and 'family'"),
])
def test_malformed_definitions_name_file_and_line(tmp_path, text, line, message):
    from attncost.networks.registry import load_definition

    path = tmp_path / "net.yaml"
    path.write_text(text)
    with pytest.raises(SpecError, match=message) as info:
        load_definition(path)
    assert str(info.value).startswith(f"{path}:{line}:")
