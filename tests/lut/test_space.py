"""The search-space spec: the 22-layer Single-Path NAS space against the official block strings, and
file:line errors."""

import pytest

from attncost.errors import SpecError
from attncost.lut.space import SKIP, load_space

# nas-search/search_main.py of github.com/dstamoulis/single-path-nas (the issue quotes them)
BLOCK_STRINGS = ["r1_k3_s11_e1_i32_o16_noskip", "r4_k5_s22_e6_i16_o24", "r4_k5_s22_e6_i24_o40",
                 "r4_k5_s22_e6_i40_o80", "r4_k5_s11_e6_i80_o96", "r4_k5_s22_e6_i96_o192",
                 "r1_k3_s11_e6_i192_o320_noskip"]


def _expected_layers():
    """(in, out, stride, input resolution, skippable) per layer, read off the block strings by hand:
    rN = N layers, the first with stride s and i -> o, the repeats stride 1 and o -> o."""
    layers, resolution = [], 224 // 2                  # stem conv3x3 / 2
    for block in BLOCK_STRINGS:
        parts = {p[0]: p[1:] for p in block.split("_") if p != "noskip"}
        for repeat in range(int(parts["r"])):
            stride = int(parts["s"][0]) if repeat == 0 else 1
            channels_in = int(parts["i"]) if repeat == 0 else int(parts["o"])
            layers.append((channels_in, int(parts["o"]), stride, resolution, repeat > 0))
            resolution //= stride
    return layers


def test_full_space_matches_the_official_block_strings(full_space):
    got = [(l.in_channels, l.out_channels, l.stride, l.resolution, l.skippable) for l in full_space.layers]
    assert got == _expected_layers()
    assert len(full_space.layers) == 22
    assert [l.index for l in full_space.searchable] == list(range(1, 21))        # layers 1-20 searched
    assert sum(l.skippable for l in full_space.layers) == 15                      # 15 may be skipped
    assert [l.index for l in full_space.fixed] == [0, 21]
    assert full_space.options == ("k3e3", "k3e6", "k5e3", "k5e6")                 # Single-Path indices 0..3
    assert full_space.layers[2].choices == ("k3e3", "k3e6", "k5e3", "k5e6", SKIP)
    assert full_space.layers[-1].out_resolution == 7


def test_attention_space_offers_the_candidates_on_searched_layers_only():
    space = load_space("specs/singlepath-space-attention.yaml")
    assert space.layers[5].attention == ("none", "se", "eca", "cbam")
    assert space.layers[0].attention == ("none",) and space.layers[21].attention == ("none",)
    assert space.attention_modules == ("se", "eca", "cbam")


def test_digest_changes_with_the_space(full_space, tiny_space):
    assert full_space.digest != tiny_space.digest
    assert full_space.digest == load_space("specs/singlepath-space.yaml").digest


GOOD = """name: t
input: 3x32x32
stem: {channels: 8, kernel: 3, stride: 2}
head: {channels: 64, classes: 10}
layers:
  - {in: 8, out: 8, stride: 1, resolution: 16, options: [k3e1]}
  - {in: 8, out: 16, stride: 2, resolution: 16}
"""


@pytest.mark.parametrize("old, new, line, words", [
    ("stride: 2, resolution: 16}", "stride: 3, resolution: 16}", 7, "stride must be 1 or 2"),
    ("{in: 8, out: 16", "{in: 9, out: 16", 7, "previous layer gives 8"),
    ("stride: 2, resolution: 16}", "stride: 2, resolution: 16, skip: true}", 7, "skip needs stride 1"),
    ("options: [k3e1]", "options: [k4e6]", 6, "kernel K in"),
    ("resolution: 16}", "resolution: 16, attention: [none, nosuchmodule]}", 7, "nosuchmodule"),
    ("input: 3x32x32", "input: 3x32", 2, "CxHxW"),
    ("head: {channels: 64, classes: 10}", "head: {channels: 64, clases: 10}", 4, "unknown key"),
    ("name: t", "name: t\ncolour: red", 2, "unknown key"),
    ("stride: 1, resolution: 16, options", "stride: 1, resolution: 15, options", 6, "input to this layer is 16x16"),
])
def test_errors_name_file_and_line(tmp_path, old, new, line, words):
    path = tmp_path / "space.yaml"
    assert old in GOOD
    path.write_text(GOOD.replace(old, new))
    with pytest.raises(SpecError) as error:
        load_space(path)
    assert str(error.value).startswith(f"{path}:{line}:")
    assert words in str(error.value)


def test_malformed_yaml_and_missing_file(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("name: [unclosed\n")
    with pytest.raises(SpecError, match="malformed YAML"):
        load_space(path)
    with pytest.raises(SpecError, match="cannot read"):
        load_space(tmp_path / "missing.yaml")


def test_good_space_loads(tmp_path):
    path = tmp_path / "space.yaml"
    path.write_text(GOOD)
    space = load_space(path)
    assert [l.out_resolution for l in space.layers] == [16, 8]

