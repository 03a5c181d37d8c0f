"""The reference networks with squeeze-excitation built in (EfficientNet-B0, MobileNetV3-Large,
RegNetY-400MF, after torchvision): the walker against the tracer running the PyTorch builds at three
resolutions, torchvision's parameter counts (also of the other EfficientNets and RegNets the same
code builds), the built-in SE counted by hand as attention, the stages placements take, and RegNet's
widths against torchvision's float32 arithmetic. Published MACs are in test_paper_tables.py."""

import math

import pytest
import torch

from attncost.cost import Program
from attncost.cost.compare import differences
from attncost.errors import SpecError
from attncost.graph import walk
from attncost.networks import AttentionPlacement, definition, forward, with_attention
from attncost.networks.efficientnet import EfficientNetSpec
from attncost.networks.regnet import RegNetSpec, stage_widths
from attncost.reference.networks import build_network
from attncost.trace import trace_module

SE_NETWORKS = ("efficientnet-b0", "mobilenet-v3-large", "regnet-y-400mf")


def walked(spec, shape):
    g = Program()
    return walk(g, forward(g, g.input(shape), spec))


# torchvision's weights meta "num_params" (the sum of p.numel() of the pretrained models):
# EfficientNet_B0_Weights, MobileNet_V3_Large_Weights, RegNet_Y_400MF_Weights (IMAGENET1K_V1)
TORCHVISION_PARAMS = {"efficientnet-b0": 5_288_548, "mobilenet-v3-large": 5_483_032, "regnet-y-400mf": 4_344_144}


@pytest.mark.parametrize("name, params", TORCHVISION_PARAMS.items())
def test_torchvision_parameter_counts(name, params):
    spec = definition(name)
    assert walked(spec, (1, 3, 224, 224)).total.params == params
    assert sum(p.numel() for p in build_network(spec).parameters()) == params


@pytest.mark.parametrize("name", SE_NETWORKS)
@pytest.mark.parametrize("size", [224, 193, 256])   # 193: odd at every stride-2 conv (193, 97, 49, 25, 13, 7)
def test_walker_equals_tracer_at_three_resolutions(name, size):
    # params, every op kind, activation, peak and attention-map memory, exactly
    spec = definition(name)
    shape = (1, 3, size, size)
    result = walked(spec, shape)
    torch.manual_seed(0)
    traced, out_shape, unsupported = trace_module(build_network(spec, shape[2:]), torch.randn(*shape))
    assert not unsupported
    assert differences(result.total, traced) == []
    assert out_shape == (1, 1000)


@pytest.mark.parametrize("name, module", [("efficientnet-b0", "cbam"), ("mobilenet-v3-large", "eca"),
                                          ("regnet-y-400mf", "cbam")])
def test_inserted_attention_with_the_built_in_se_equals_tracer_at_an_odd_size(name, module):
    spec = with_attention(definition(name), [AttentionPlacement(module)])
    shape = (2, 3, 97, 97)
    result = walked(spec, shape)
    traced, _, unsupported = trace_module(build_network(spec, shape[2:]), torch.randn(*shape))
    assert not unsupported
    assert differences(result.total, traced) == []


# the built-in SE of each block, by hand from the papers' / torchvision's tables (no code shared with
# attncost/networks): (SE input channels C, squeeze channels d), one pair per block with SE
EFFICIENTNET_B0_SE = (
    # d = max(1, block input channels // 4); C = the expanded width (input * 6, stage 1: 32 * 1)
    [(32, 8)] + [(96, 4), (144, 6)] + [(144, 6), (240, 10)] + [(240, 10)] + [(480, 20)] * 2
    + [(480, 20)] + [(672, 28)] * 2 + [(672, 28)] + [(1152, 48)] * 3 + [(1152, 48)])
MOBILENET_V3_LARGE_SE = (
    # the rows with SE (Table 1): expanded 72, 120, 120, 480, 672, 672, 960, 960; d = _make_divisible(C // 4, 8)
    [(72, 24), (120, 32), (120, 32), (480, 120), (672, 168), (672, 168), (960, 240), (960, 240)])
REGNET_Y_400MF_SE = (
    # widths 48, 104, 208, 440 (depths 1, 3, 6, 6); C = the block's width, d = round(0.25 * its input width)
    [(48, 8)] + [(104, 12)] + [(104, 26)] * 2 + [(208, 26)] + [(208, 52)] * 5 + [(440, 52)] + [(440, 110)] * 5)
BUILT_IN_SE = {"efficientnet-b0": EFFICIENTNET_B0_SE, "mobilenet-v3-large": MOBILENET_V3_LARGE_SE,
               "regnet-y-400mf": REGNET_Y_400MF_SE}


@pytest.mark.parametrize("name", SE_NETWORKS)
def test_the_built_in_se_is_attention(name):
    # each SE: two 1x1 convs with bias on the pooled N x C: 2 C d + d + C parameters, 2 C d MACs per image
    blocks = BUILT_IN_SE[name]
    params = sum(2 * c * d + d + c for c, d in blocks)
    macs = sum(2 * c * d for c, d in blocks)
    result = walked(definition(name), (2, 3, 64, 64))
    share = result.attention_share("macs")
    assert share["params"] == params and share["macs"] == 2 * macs          # batch 2, any H, W
    kinds = {row["kind"]: (row["params"], row["macs"]) for row in result.breakdown("kind", "macs")}
    assert kinds["se"] == (params, 2 * macs)
    # the gate, N x C x 1 x 1, is the attention map: the largest is the widest SE's
    assert result.total.attention_map_elements == 2 * max(c for c, _ in blocks)


def test_se_hand_counts_add_up_to_the_published_shares():
    # EfficientNet-B0: 636,540 of 5,288,548 parameters (12.0%) are in SE; MobileNetV3-Large 1,512,280 of
    # 5,483,032 (27.6%); RegNetY-400MF 668,024 of 4,344,144 (15.4%)
    assert [sum(2 * c * d + d + c for c, d in BUILT_IN_SE[n]) for n in SE_NETWORKS] == [636_540, 1_512_280, 668_024]


@pytest.mark.parametrize("name", SE_NETWORKS)
def test_inserting_cbam_keeps_the_built_in_se(name):
    plain = walked(definition(name), (1, 3, 64, 64))
    with_cbam = walked(with_attention(definition(name), [AttentionPlacement("cbam")]), (1, 3, 64, 64))
    kinds = {row["kind"]: row["params"] for row in with_cbam.breakdown("kind", "macs")}
    assert kinds["se"] == plain.attention_share("macs")["params"]
    assert kinds["cbam"] > 0


STAGE_BLOCKS = {
    "efficientnet-b0": {1: 1, 2: 2, 3: 2, 4: 3, 5: 3, 6: 4, 7: 1},     # Table 1's stages 2-8
    "mobilenet-v3-large": {1: 1, 2: 2, 3: 3, 4: 4, 5: 2, 6: 3},        # rows grouped by output width (timm)
    "regnet-y-400mf": {1: 1, 2: 3, 3: 6, 4: 6},                        # torchvision's block1..block4
}


@pytest.mark.parametrize("name, stages", STAGE_BLOCKS.items())
def test_stages_are_numbered_as_the_breakdown(name, stages):
    spec = definition(name)
    assert spec.stage_blocks() == stages
    rows = [row["stage"] for row in walked(spec, (1, 3, 64, 64)).breakdown("stage", "macs")]
    assert rows == ["stem", *(f"stage{s}" for s in stages), "head"]


@pytest.mark.parametrize("name", ["efficientnet-b0", "mobilenet-v3-large"])
@pytest.mark.parametrize("placement", [AttentionPlacement("bam", "after_stage", (1, 2, 3)),
                                       AttentionPlacement("nonlocal", "after_blocks", (3,), (0,))])
def test_inverted_residuals_take_attention_in_every_block_only(name, placement):
    with pytest.raises(SpecError, match="not supported"):
        with_attention(definition(name), [placement])


def test_regnet_takes_every_policy_as_a_resnet():
    spec = with_attention(definition("regnet-y-400mf"), [AttentionPlacement("bam", "after_stage", (1, 2, 3)),
                                                          AttentionPlacement("nonlocal", "after_blocks", (3,), (1, 3, 5))])
    shape = (1, 3, 64, 64)
    traced, _, unsupported = trace_module(build_network(spec, shape[2:]), torch.randn(*shape))
    assert not unsupported
    assert differences(walked(spec, shape).total, traced) == []
    with pytest.raises(SpecError, match="stage 4 inserts nothing"):
        with_attention(definition("regnet-y-400mf"), [AttentionPlacement("bam", "after_stage", (4,))])


# torchvision's RegNet builders (regnet.py: BlockParams.from_init_params(depth, w_0, w_a, w_m, group_width,
# se_ratio)) and their weights meta "num_params"
TORCHVISION_REGNETS = {
    "regnet_y_400mf": ((16, 48, 27.89, 2.09, 8, 0.25), 4_344_144),
    "regnet_y_800mf": ((14, 56, 38.84, 2.4, 16, 0.25), 6_432_512),
    "regnet_y_1_6gf": ((27, 48, 20.71, 2.65, 24, 0.25), 11_202_430),
    "regnet_y_3_2gf": ((21, 80, 42.63, 2.66, 24, 0.25), 19_436_338),
    "regnet_y_8gf": ((17, 192, 76.82, 2.19, 56, 0.25), 39_381_472),
    "regnet_y_16gf": ((18, 200, 106.23, 2.48, 112, 0.25), 83_590_140),
    "regnet_y_32gf": ((20, 232, 115.89, 2.53, 232, 0.25), 145_046_770),
    "regnet_y_128gf": ((27, 456, 160.83, 2.52, 264, 0.25), 644_812_894),
    "regnet_x_400mf": ((22, 24, 24.48, 2.54, 16, 0.0), 5_495_976),
    "regnet_x_800mf": ((16, 56, 35.73, 2.28, 16, 0.0), 7_259_656),
    "regnet_x_1_6gf": ((18, 80, 34.01, 2.25, 24, 0.0), 9_190_136),
    "regnet_x_3_2gf": ((25, 88, 26.31, 2.25, 48, 0.0), 15_296_552),
    "regnet_x_8gf": ((23, 80, 49.56, 2.88, 120, 0.0), 39_572_648),
    "regnet_x_16gf": ((22, 216, 55.59, 2.1, 128, 0.0), 54_278_536),
    "regnet_x_32gf": ((23, 320, 69.86, 2.0, 168, 0.0), 107_811_560),
}


def torchvision_stage_widths(depth, w_0, w_a, w_m, group_width, bottleneck_multiplier=1.0):
    """torchvision's BlockParams.from_init_params and _adjust_widths_groups_compatibilty as it computes them:
    in float32 torch tensors. [(width, depth, group width)] per stage."""
    widths_cont = torch.arange(depth) * w_a + w_0
    capacity = torch.round(torch.log(widths_cont / w_0) / math.log(w_m))
    block_widths = (torch.round(torch.divide(w_0 * torch.pow(w_m, capacity), 8)) * 8).int().tolist()
    splits = [w != wp for w, wp in zip(block_widths + [0], [0] + block_widths)]
    widths = [w for w, t in zip(block_widths, splits[:-1]) if t]
    depths = torch.diff(torch.tensor([d for d, t in enumerate(splits) if t])).int().tolist()
    out = []
    for w, d in zip(widths, depths):
        bottleneck = int(w * bottleneck_multiplier)
        g = min(group_width, bottleneck)
        rounded = max(g, int(bottleneck + g / 2) // g * g)             # torchvision's _make_divisible
        rounded += g if rounded < 0.9 * bottleneck else 0
        out.append((int(rounded / bottleneck_multiplier), d, g))
    return out


@pytest.mark.parametrize("name, config", TORCHVISION_REGNETS.items())
def test_regnet_widths_and_parameters_match_torchvision(name, config):
    (depth, w_0, w_a, w_m, group_width, se_ratio), params = config
    spec = RegNetSpec(name, depth, w_0, w_a, w_m, group_width, se_ratio)
    assert stage_widths(spec) == torchvision_stage_widths(depth, w_0, w_a, w_m, group_width)
    g = Program()
    assert g.finish(forward(g, g.input((1, 3, 32, 32)), spec)).params == params


def test_regnet_y_400mf_widths():
    # RegNetY-400MF (pycls configs/dds_baselines/regnety/RegNetY-400MF_dds_8gpu.yaml): depths 1, 3, 6, 6,
    # widths 48, 104, 208, 440, group width 8
    assert stage_widths(definition("regnet-y-400mf")) == [(48, 1, 8), (104, 3, 8), (208, 6, 8), (440, 6, 8)]


@pytest.mark.parametrize("name, width, depth, params", [
    # torchvision's efficientnet_b1..b7 (width_mult, depth_mult) and weights meta "num_params"
    ("efficientnet-b1", 1.0, 1.1, 7_794_184), ("efficientnet-b2", 1.1, 1.2, 9_109_994),
    ("efficientnet-b3", 1.2, 1.4, 12_233_232), ("efficientnet-b4", 1.4, 1.8, 19_341_616),
    ("efficientnet-b5", 1.6, 2.2, 30_389_784), ("efficientnet-b6", 1.8, 2.6, 43_040_704),
    ("efficientnet-b7", 2.0, 3.1, 66_347_960),
])
def test_efficientnet_scaling_matches_torchvision(name, width, depth, params):
    g = Program()
    assert g.finish(forward(g, g.input((1, 3, 32, 32)), EfficientNetSpec(name, width, depth))).params == params
