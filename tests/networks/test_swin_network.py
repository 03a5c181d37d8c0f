"""Swin-T (networks/swin.py, after torchvision's swin_t): the walker against the tracer running the torch
build (every field, at resolutions that pad the windows and the patch merging, drop the shift, shift
along one dim only), hand counts of its parameters and MACs, its stages, and what it refuses."""

import pytest
import torch

from attncost.cost import Program
from attncost.cost.compare import differences
from attncost.errors import SpecError
from attncost.graph import walk
from attncost.networks import AttentionPlacement, definition, forward, with_attention
from attncost.reference.networks import build_network
from attncost.trace import trace_module


def walked(shape):
    g = Program()
    return walk(g, forward(g, g.input(shape), definition("swin-t")))


@pytest.mark.parametrize("shape", [
    (1, 3, 224, 224),    # stages 56, 28, 14, 7: no padding; stage 4 is one window, its shift dropped
    (1, 3, 192, 192),    # 48, 24, 12, 6: every stage padded (to 49, 28, 14, 7); stage 4 unshifted
    (1, 3, 256, 256),    # 64, 32, 16, 8: every stage padded (70, 35, 21, 14), every odd block shifted
    (2, 3, 224, 320),    # stage 4 is 7 x 10, padded to 7 x 14: shifted along W only
    (1, 3, 100, 60),     # 25 x 15: odd sizes, so the patch merging pads too
], ids=lambda s: "x".join(map(str, s)))
def test_walker_equals_tracer(shape):
    result = walked(shape)
    torch.manual_seed(0)
    traced, out_shape, unsupported = trace_module(build_network(definition("swin-t"), shape[2:]), torch.randn(*shape))
    assert not unsupported
    assert differences(result.total, traced) == []        # params, every op kind, activation, peak, attention map
    assert out_shape == (shape[0], 1000)


def test_parameters_by_hand():
    # a block of width C with h heads: two LayerNorms 4C, qkv 3C^2 + 3C, proj C^2 + C, the relative
    # position bias table (2*7 - 1)^2 h = 169 h, fc1 4C^2 + 4C, fc2 4C^2 + C: 12C^2 + 13C + 169h;
    # a patch merging from C: LayerNorm(4C) 8C, Linear 4C -> 2C without bias 8C^2
    stem = 3 * 96 * 4 * 4 + 96 + 2 * 96                                             # conv + LayerNorm
    stages = ((96, 2, 3), (192, 2, 6), (384, 6, 12), (768, 2, 24))
    blocks = sum(depth * (12 * c * c + 13 * c + 169 * heads) for c, depth, heads in stages)
    merging = sum(8 * c * c + 8 * c for c in (96, 192, 384))
    head = 2 * 768 + 768 * 1000 + 1000
    assert stem + blocks + merging + head == 28_288_354                              # torchvision's num_params
    assert walked((1, 3, 224, 224)).total.params == 28_288_354
    assert sum(p.numel() for p in build_network(definition("swin-t")).parameters()) == 28_288_354


def test_macs_at_224_by_hand():
    # T tokens of width C per stage (56^2, 28^2, 14^2, 7^2: multiples of 7, nothing padded): per block
    # qkv 3TC^2, proj TC^2, MLP 8TC^2, and q k^T, attn v T*49*C each (T/49 windows, 49 x 49 logits of
    # C/h per head, h heads); patch merging (T/4) * 4C * 2C; the stem conv 56^2 * 96 * 3 * 16; the head 768 * 1000
    stages = ((56 * 56, 96, 2), (28 * 28, 192, 2), (14 * 14, 384, 6), (7 * 7, 768, 2))
    linear = sum(depth * 12 * t * c * c for t, c, depth in stages) + 768 * 1000
    linear += sum(t // 4 * 4 * c * 2 * c for t, c, _ in stages[:3])
    matmul = sum(depth * 2 * t * 49 * c for t, c, depth in stages)
    conv = 56 * 56 * 96 * 3 * 16
    counts = walked((1, 3, 224, 224)).total.counts
    assert (counts["mac.conv"], counts["mac.linear"], counts["mac.matmul"]) == (conv, linear, matmul)
    assert conv + linear + matmul == 4_490_566_656                                   # torchvision's _ops 4.491


def test_stages_and_window_attention_scopes():
    result = walked((1, 3, 224, 224))
    assert [row["stage"] for row in result.breakdown("stage")] == ["stem", "stage1", "stage2", "stage3", "stage4",
                                                                    "head"]
    # the patch merging opens stages 2..4 (the paper's Fig. 3); odd blocks shift their windows, except
    # where one window covers the map (stage 4 at 224: 7 x 7), where torchvision drops the shift
    kinds = {row["block"]: row for row in result.breakdown("block")}
    assert "stage1/patch_merging" not in kinds and "stage2/patch_merging" in kinds
    shifted = {rec.scope[:2] for rec in result.records if "attention:swin-swmsa" in rec.scope}
    assert shifted == {("stage1", "block1"), ("stage2", "block1"), ("stage3", "block1"), ("stage3", "block3"),
                       ("stage3", "block5")}
    at_256 = walked((1, 3, 256, 256))
    assert ("stage4", "block1") in {rec.scope[:2] for rec in at_256.records if "attention:swin-swmsa" in rec.scope}


def test_placements_and_symbolic_sizes_are_refused():
    with pytest.raises(SpecError, match="swin-t: attention placements apply to CNN stages; swin-t has none"):
        with_attention(definition("swin-t"), [AttentionPlacement("se")])
    from attncost.symbols import H, W

    with pytest.raises(SpecError, match="needs a concrete one"):
        walked((1, 3, H, W))
    with pytest.raises(SpecError, match="smaller than the patch size 4"):
        walked((1, 3, 3, 224))


def test_adaptive_avg_pool_of_a_channels_last_map_costs_its_mean():
    # Swin's head pools a permuted (channels-last) map: ATen's adaptive_avg_pool2d takes the mean over
    # H and W, then restrides it in place (aten.as_strided_, zero cost by decision: no element is
    # computed). Oracle: the mean reads every input element once and writes N x C.
    x = torch.randn(2, 5, 6, 7).permute(0, 3, 1, 2)                                  # (2, 7, 5, 6), channels last
    traced, out_shape, unsupported = trace_module(torch.nn.AdaptiveAvgPool2d(1), x)
    assert not unsupported and out_shape == (2, 7, 1, 1)
    assert traced.counts == {"pool.global_avg": 2 * 7 * 5 * 6, "tally.avg_pool_outputs": 2 * 7}     # a division each
    assert traced.activation_elements == 2 * 7
