"""Reference networks: the walker against the tracer (exactly, with and without attention), and
against published figures (torchvision's parameter counts, the attention papers' tables)."""

import dataclasses

import pytest
import torch

from attncost.cost import Program
from attncost.cost.compare import differences
from attncost.errors import SpecError
from attncost.graph import walk
from attncost.networks import DEFINITIONS, AttentionPlacement, definition, forward, with_attention
from attncost.reference.networks import build_network
from attncost.trace import trace_module


def walked(spec, shape):
    g = Program()
    return walk(g, forward(g, g.input(shape), spec))


# torchvision's model cards (sum of p.numel() of the pretrained models)
PUBLISHED_PARAMS = {
    "resnet18": 11_689_512, "resnet34": 21_797_672, "resnet50": 25_557_032, "resnet101": 44_549_160,
    "resnet152": 60_192_808, "resnext50-32x4d": 25_028_904, "mobilenet-v2": 3_504_872,
}


@pytest.mark.parametrize("name, params", PUBLISHED_PARAMS.items())
def test_published_parameter_counts(name, params):
    spec = definition(name)
    assert walked(spec, (1, 3, 224, 224)).total.params == params
    assert sum(p.numel() for p in build_network(spec).parameters()) == params


@pytest.mark.parametrize("name, gmacs", [
    ("resnet50", 4.09),        # torchvision v1.5: 4.09 GFLOPS (their "FLOPs" are MACs)
    ("resnet50-v1", 3.86),     # He et al. 2016 / SE, CBAM papers: 3.86 (stride on the first 1x1)
    ("resnet101-v1", 7.57),    # CBAM Table 4: ResNet101 7.570 GFLOPs
    ("resnet18", 1.81),        # torchvision: 1.81
    ("mobilenet-v2", 0.30),    # torchvision: 0.30; the paper: 300 M
])
def test_published_macs(name, gmacs):
    assert round(float(walked(definition(name), (1, 3, 224, 224)).total.macs) / 1e9, 2) == gmacs


@pytest.mark.parametrize("name, module, params_m, gflops", [
    ("resnet50-v1", "cbam", 28.09, 3.864),    # CBAM paper Table 4: ResNet50 + CBAM 28.09M, 3.864 GFLOPs
    ("resnet101-v1", "cbam", 49.33, 7.581),   # CBAM paper Table 4: ResNet101 + CBAM 49.33M, 7.581 GFLOPs
    ("resnet50-v1", "se", 28.09, 3.860),      # CBAM Table 4's SE-ResNet50: 28.09M, 3.860 GFLOPs
])
def test_attention_papers_tables(name, module, params_m, gflops):
    result = walked(with_attention(definition(name), [AttentionPlacement(module)]), (1, 3, 224, 224))
    assert round(float(result.total.params) / 1e6, 2) == params_m
    assert round(float(result.total.macs) / 1e9, 3) == gflops


PLACEMENTS = {
    "none": [],
    "se": [AttentionPlacement("se")],
    "eca": [AttentionPlacement("eca")],
    "cbam": [AttentionPlacement("cbam")],
    "bam": [AttentionPlacement("bam", "after_stage", (1, 2, 3))],
    "gc": [AttentionPlacement("gc", "every_block", (2, 3, 4))],
    "nonlocal": [AttentionPlacement("nonlocal", "after_blocks", (3,), (0, 1))],   # resnet18: blocks 0..1
}


# every network plain and with each attention it has a place for: ViT and Swin-T take no CNN placements
# (checked plain), inverted residuals take attention in every block only (BAM/NL there are errors); the
# spec class says which (supported_placements; None: all), whatever the definition's name
def _has_places(network, attention):
    supported = getattr(type(definition(network)), "supported_placements", None)
    return supported is None or all(p.where in supported for p in PLACEMENTS[attention])


MATRIX = [(n, a) for n in sorted(DEFINITIONS) for a in sorted(PLACEMENTS) if _has_places(n, a)]


@pytest.mark.parametrize("network", ["mobilenet-v2", "mnasnet-a1"])
@pytest.mark.parametrize("attention", ["bam", "nonlocal"])
def test_unsupported_placements_are_errors_not_silently_dropped(network, attention):
    with pytest.raises(SpecError, match="not supported"):
        with_attention(definition(network), PLACEMENTS[attention])


@pytest.mark.parametrize("network, attention", MATRIX)
def test_walker_equals_tracer(network, attention):
    spec = with_attention(definition(network), PLACEMENTS[attention])
    shape = (1, 3, 32, 32)       # small input: the same ops, the same exactness, a faster trace
    result = walked(spec, shape)
    torch.manual_seed(0)
    traced, out_shape, unsupported = trace_module(build_network(spec, shape[2:]), torch.randn(*shape))
    assert not unsupported
    assert differences(result.total, traced) == []
    assert out_shape == (1, 1000)


def test_vit_b16_published_figures():
    # torchvision's vit_b_16 model card: 86,567,656 parameters (timm's vit_base_patch16_224: the same),
    # 17.56 GFLOPS (their "FLOPs" are MACs)
    spec = definition("vit-b16")
    result = walked(spec, (1, 3, 224, 224))
    assert result.total.params == 86_567_656
    assert round(float(result.total.macs) / 1e9, 2) == 17.56
    assert sum(p.numel() for p in build_network(spec).parameters()) == 86_567_656


def test_mnasnet_a1_published_figures():
    # Tan et al., MnasNet (CVPR 2019) Table 1: MnasNet-A1 3.9M parameters, 312M multiply-adds
    spec = definition("mnasnet-a1")
    result = walked(spec, (1, 3, 224, 224))
    assert round(float(result.total.params) / 1e6, 1) == 3.9
    assert abs(float(result.total.macs) - 312e6) <= 0.01 * 312e6
    assert sum(p.numel() for p in build_network(spec).parameters()) == result.total.params


def test_vit_image_size_and_placements():
    spec = dataclasses.replace(definition("vit-b16"), image_size=32)
    # position embedding for 2 x 2 patches + the class token: 768 * (4 + 1) instead of 768 * 197
    assert walked(spec, (1, 3, 32, 32)).total.params == 86_567_656 - 768 * (197 - 5)
    with pytest.raises(SpecError, match="image_size=32"):
        walked(spec, (1, 3, 48, 48))
    with pytest.raises(SpecError, match="attention placements"):
        walked(with_attention(spec, [AttentionPlacement("se")]), (1, 3, 32, 32))


def test_breakdowns_sum_to_totals():
    result = walked(with_attention(definition("resnet50"), [AttentionPlacement("se")]), (2, 3, 96, 96))
    for group_by in ("stage", "block", "kind", "op"):
        rows = result.breakdown(group_by, "macs")
        assert sum(r["macs"] for r in rows) == result.total.macs
        if group_by != "op":
            assert sum(r["params"] for r in rows) == result.total.params
    # SE (r = 16, with biases) in the 16 bottlenecks, C = 256 x3, 512 x4, 1024 x6, 2048 x3:
    # 2 C C/16 + C/16 + C each = 2,530,992 (SE-ResNet-50: 25,557,032 + 2,530,992 = 28.09M, SENet Table 2)
    blocks = [256] * 3 + [512] * 4 + [1024] * 6 + [2048] * 3
    se_params = sum(2 * c * (c // 16) + c // 16 + c for c in blocks)
    se_macs = 2 * sum(2 * c * (c // 16) for c in blocks)                       # batch 2, independent of H, W
    assert (se_params, se_macs) == (2_530_992, 2 * 2_514_944)
    share = result.attention_share("macs")
    assert share["params"] == se_params and share["macs"] == se_macs
    se_rows = [(r["params"], r["macs"]) for r in result.breakdown("kind", "macs") if r["kind"] == "se"]
    assert se_rows == [(se_params, se_macs)]


def test_critical_path_of_a_chain_is_everything():
    result = walked(definition("mobilenet-v2"), (1, 3, 32, 32))
    path, weight = result.critical_path("macs")
    # residual adds branch and rejoin, but every conv lies on the longest chain of MobileNetV2
    assert weight == result.total.macs


def test_eca_net50_modules_have_80_parameters():
    # ECA-Net paper (abstract and Table): the ECA modules of ECA-Net50 have 80 parameters; the released
    # model uses k = 3, 5, 5, 7 in the four stages: 3*3 + 4*5 + 6*5 + 3*7 = 80
    placements = [AttentionPlacement("eca", "every_block", (stage,), hp={"k": k})
                  for stage, k in zip((1, 2, 3, 4), (3, 5, 5, 7))]
    result = walked(with_attention(definition("resnet50-v1"), placements), (1, 3, 224, 224))
    assert result.attention_share("macs")["params"] == 80


@pytest.mark.parametrize("network", ["resnet18", "efficientnet-b0"])
def test_the_same_module_twice_in_a_block_is_two_modules(network):
    # --attn se,se: two SE modules one after the other, each with its own weights. Both counted (they
    # once shared one scope, so the parameters of one stood for both, and different r crashed).
    spec = with_attention(definition(network), [AttentionPlacement("se"), AttentionPlacement("se", hp={"r": 8})])
    shape = (1, 3, 32, 32)
    result = walked(spec, shape)
    model = build_network(spec, shape[2:])
    assert result.total.params == sum(p.numel() for p in model.parameters())
    torch.manual_seed(0)
    traced, _, unsupported = trace_module(model, torch.randn(*shape))
    assert not unsupported
    assert differences(result.total, traced) == []
    one = walked(with_attention(definition(network), [AttentionPlacement("se")]), shape).total.params
    other = walked(with_attention(definition(network), [AttentionPlacement("se", hp={"r": 8})]), shape).total.params
    plain = walked(definition(network), shape).total.params
    assert result.total.params - plain == (one - plain) + (other - plain)
