"""Spec files: the shipped ones load; malformed ones fail with file and line, exit code 2."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from attncost.cost import Program
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


# -- multipliers (QA: width: 1.0e+300 gave rc 0 and ~1e305 params) -------------------------------------

WIDTH_FAMILIES = ("mobilenet-v2", "mnasnet-a1", "mobilenet-v3-large", "efficientnet-b0")


@pytest.mark.parametrize("width, line, message", [
    ("1.0e+300", 2, "width must be a number above 0 and at most 1024 (got 1e+300)"),
    ("1025", 2, "at most 1024 (got 1025)"),
    ("0", 2, "width must be a number above 0"),
    ("-1e-3", 2, "width must be a number above 0"),
    (".nan", 2, "width must be a number above 0"),
    ("wide", 2, "(got 'wide')"),
])
def test_a_width_beyond_its_bound_is_refused_at_its_line(tmp_path, width, line, message):
    path = tmp_path / "w.yaml"
    path.write_text(f"network: mobilenet-v2\nwidth: {width}\n")
    with pytest.raises(SpecError) as info:
        load_spec(path)
    assert str(info.value).startswith(f"{path}:{line}: ") and message in str(info.value), str(info.value)
    proc = subprocess.run([sys.executable, "-m", "attncost.cli", "network", str(path)], capture_output=True, text=True)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1 and f"{path}:{line}:" in proc.stderr


@pytest.mark.parametrize("written, width", [("1e-3", 0.001), ("1e3", 1000.0), ("1024", 1024.0), ("0.75", 0.75)])
def test_a_width_in_exponent_form_is_a_number(tmp_path, written, width):
    # QA: YAML 1.1 reads 1e-3 as a string, and the spec was refused as "must be a positive number (got '1e-3')"
    path = tmp_path / "w.yaml"
    path.write_text(f"network: mobilenet-v2\nwidth: {written}\n")
    assert load_spec(path).width == width


class _Sizes(Program):
    """A Program that remembers the largest size of any tensor it allocates."""

    largest = 0

    def allocate(self, uses, *shapes):
        self.largest = max([self.largest, *(int(s) for shape in shapes for s in shape)])
        return super().allocate(uses, *shapes)


@pytest.mark.parametrize("name", WIDTH_FAMILIES)
def test_at_the_largest_width_every_size_stays_within_2_to_the_31(tmp_path, name):
    # the bound's reason (networks.registry.MULTIPLIERS): at width 1024 no channel count passes 2^31;
    # the widest layer at width 1 has 1280 channels (MnasNet-A1's unscaled head: 960 x 1024 at the bound)
    path = tmp_path / "w.yaml"
    path.write_text(f"network: {name}\nwidth: 1024\n")
    from attncost.networks import forward

    g = _Sizes()
    forward(g, g.input((1, 3, 32, 32)), load_spec(path))
    assert 960 * 1024 <= g.largest <= 1280 * 1024 < 2 ** 31


@pytest.mark.parametrize("text, line, message", [
    ("name: x\nfamily: mobilenet-v2\nwidth: 1.0e+300\n", 3, "width must be a number above 0 and at most 1024"),
    ("name: x\nfamily: efficientnet\ndepth: 100\n", 3, "depth must be a number above 0 and at most 64"),
    ("name: x\nfamily: vit\nmlp_ratio: 1e9\n", 3, "mlp_ratio must be a number above 0 and at most 1024"),
    ("name: x\nfamily: regnet\ndepth: 16\nw_0: 48\nw_a: 27.89\nw_m: 2.09\ngroup_width: 8\n"
     "bottleneck_multiplier: 0\n", 8, "bottleneck_multiplier must be a number above 0"),
    ("name: x\nfamily: regnet\ndepth: 16\nw_0: 48\nw_a: 27.89\nw_m: 2.09\ngroup_width: 8\n"
     "se_ratio: 1e300\n", 8, "se_ratio must be a number of at least 0 and at most 1024"),
])
def test_a_definition_multiplier_beyond_its_bound_is_refused_at_its_line(tmp_path, text, line, message):
    from attncost.networks.registry import load_definition

    path = tmp_path / "net.yaml"
    path.write_text(text)
    with pytest.raises(SpecError) as info:
        load_definition(path)
    assert str(info.value).startswith(f"{path}:{line}: ") and message in str(info.value), str(info.value)


def test_a_definition_multiplier_in_exponent_form_is_read(tmp_path):
    from attncost.networks.registry import load_definition

    path = tmp_path / "net.yaml"
    path.write_text("name: x\nfamily: efficientnet\nwidth: 11e-1\ndepth: 12E-1\n")
    spec = load_definition(path)
    assert (spec.width, spec.depth) == (1.1, 1.2)


def test_se_ratio_0_is_a_regnet_without_se(tmp_path):
    from attncost.networks.registry import load_definition

    path = tmp_path / "net.yaml"
    path.write_text("name: x\nfamily: regnet\ndepth: 16\nw_0: 48\nw_a: 27.89\nw_m: 2.09\ngroup_width: 8\n"
                    "se_ratio: 0\n")
    assert load_definition(path).se_ratio == 0


def test_num_classes_is_at_most_2_to_the_31(tmp_path):
    path = tmp_path / "n.yaml"
    path.write_text(f"network: resnet18\nnum_classes: {2 ** 31 + 1}\n")
    with pytest.raises(SpecError, match=f"^{path}:2: num_classes must be at most 2147483648 \\(2\\^31\\)"):
        load_spec(path)


# -- where a definition says it comes from (QA: list --networks cut aa-resnet50's at "ICCV 2019,") ---

def test_the_source_is_the_definitions_first_sentence():
    from attncost.networks.registry import DEFINITIONS_DIR, definition_source

    aa = definition_source(DEFINITIONS_DIR / "aa-resnet50.yaml")
    # the header's first sentence, over its first six comment lines, ends at "stay after it."
    assert aa.startswith('AA-ResNet-50 (Bello, Zoph, Vaswani, Shlens, Le: "Attention Augmented Convolutional '
                         'Networks", ICCV 2019, Sec. 4.2 and Table 2): ResNet-50')
    assert aa.endswith("the conv's BN and ReLU stay after it.") and "A stride-2 block" not in aa
    sk = definition_source(DEFINITIONS_DIR / "sknet50.yaml")
    assert "CVPR 2019, Table 1) as the official Caffe model builds it (github.com/implus/SKNet" in sk
    assert sk.endswith("average pool and fc as ResNeXt-50's.")
    # "et al. 2016" ends no sentence
    assert definition_source(DEFINITIONS_DIR / "resnet50-v1.yaml") == (
        "ResNet-50 as in He et al. 2016 and the SE/CBAM/BAM/GC/ECA papers: stride on the first 1x1.")


def test_the_source_of_every_definition_is_a_whole_sentence():
    from attncost.networks.registry import definition_source

    for path in DEFINITION_FILES:
        source = definition_source(path)
        assert source.endswith(".") and source.count("(") == source.count(")"), (path.name, source)


def test_a_source_without_a_full_stop_is_the_first_paragraph(tmp_path):
    from attncost.networks.registry import definition_source

    path = tmp_path / "x.yaml"
    path.write_text("# My net (Doe et al. 2024,\n# Table 3)\n#\n# More words.\nname: x\n")
    assert definition_source(path) == "My net (Doe et al. 2024, Table 3)"
    path.write_text("name: x\n# not a header\n")
    assert definition_source(path) == ""
