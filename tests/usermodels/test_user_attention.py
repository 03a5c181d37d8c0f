"""What counts as attention in a user's model: nn.MultiheadAttention at any path, the fused SDPA and
encoder-layer ops, a softmax feeding a product, and modules the user marks by class or by path.
Expectations are hand formulas for B = 2, T = 6, D = 32, 4 heads (tests/fixtures/user_zoo.py)."""

import sys
from pathlib import Path

import pytest
import torch

import attncost
from attncost.usermodels import DETECTED_KIND, MHA_KIND

sys.path.insert(0, str(Path(__file__).parents[1] / "fixtures"))
import user_zoo as zoo  # noqa: E402

B, T, D, HEADS = 2, 6, zoo.DIM, zoo.HEADS
MAP = B * HEADS * T * T                   # one attention map: B·H·T·T logits
PRODUCTS = 2 * B * T * T * D              # QKᵀ and A·V: B·H·T·T·(D/H) MACs each
PROJECTIONS = 4 * B * T * D * D           # q, k, v and output projections
MHA_PARAMS = 4 * D * D + 4 * D


def kinds(analysis, convention="macs") -> dict:
    return {row["kind"]: row for row in analysis.network.breakdown("kind", convention)}


@pytest.mark.parametrize("mode", ["eval", "train"])
def test_multihead_attention_at_any_path_is_attention(mode):
    # eval runs the fused _native_multi_head_attention, train the unfused ops: the same attention
    analysis = attncost.analyze(zoo.WithMHA(), [(B, T, 16)], mode=mode)
    share = analysis.network.attention_share("macs")
    assert share["params"] == MHA_PARAMS and share["macs"] == PROJECTIONS + PRODUCTS
    assert set(kinds(analysis)) == {"conv body", MHA_KIND}
    assert analysis.network.total.attention_map_elements == MAP
    assert analysis.modules[("enc", f"attention:{MHA_KIND}")] == ("enc.attn", "MultiheadAttention")


def test_fused_sdpa_counts_as_attention_with_its_logical_map():
    analysis = attncost.analyze(zoo.WithSDPA(), [(B, T, D)])
    row = kinds(analysis)["scaled_dot_product_attention"]
    assert row["macs"] == PRODUCTS and row["params"] == 0
    # the flash kernel never materialises the map; its B·H·L·S logits are what it computes
    assert analysis.network.total.attention_map_elements == MAP
    assert analysis.network.attention_share("macs")["macs"] == PRODUCTS


@pytest.mark.parametrize("mode", ["eval", "train"])
def test_encoder_layer_attention_is_its_self_attention_only(mode):
    # eval: one fused _transformer_encoder_layer_fwd, split into its self-attention and the rest;
    # train: the unfused layer, whose self_attn is an nn.MultiheadAttention. Same share either way.
    analysis = attncost.analyze(zoo.WithEncoderLayer(), [(B, T, D)], mode=mode)
    share = analysis.network.attention_share("macs")
    assert share["macs"] == PROJECTIONS + PRODUCTS and share["params"] == MHA_PARAMS
    feed_forward = 2 * B * T * D * 2 * D
    assert analysis.network.total.macs == PROJECTIONS + PRODUCTS + feed_forward
    assert analysis.network.total.attention_map_elements == MAP


def test_softmax_feeding_a_product_is_attention_and_a_classifier_softmax_is_not():
    model = zoo.Blocks()
    for mode in ("eval", "train"):          # train: the dropout between softmax and A·V is followed
        analysis = attncost.analyze(model, [(B, T, D)], mode=mode)
        detected = kinds(analysis, "full")[DETECTED_KIND]
        # QKᵀ, the scale, the softmax (and dropout) and A·V of both blocks; not the projections
        assert detected["macs"] == 2 * PRODUCTS and detected["params"] == 0
        softmaxes = sum(rec.counts.get("softmax", 0) for rec in analysis.network.records
                        if f"attention:{DETECTED_KIND}" in rec.scope)
        assert softmaxes == 2 * MAP          # the head's softmax (B x 5) is not attention
        assert analysis.network.total.attention_map_elements == MAP
    assert model.training                    # as it was given


def test_marking_by_class_and_by_path_pattern_are_one_mechanism():
    model = zoo.Blocks()
    by_class = attncost.analyze(model, [(B, T, D)], attention=(zoo.Attention,))
    by_path = attncost.analyze(model, [(B, T, D)], attention_modules=("blocks.*.attn",))
    attention_params = 2 * sum(p.numel() for p in model.blocks[0].attn.parameters())
    for analysis in (by_class, by_path):
        share = analysis.network.attention_share("macs")
        assert share["params"] == attention_params
        assert share["macs"] == 2 * (PRODUCTS + 4 * B * T * D * D)
        assert kinds(analysis)["Attention"]["macs"] == share["macs"]
        assert ("blocks", "0", "attention:Attention") in analysis.modules
    assert by_class.network.attention_share("full") == by_path.network.attention_share("full")
    # marking the whole block: its norm and MLP join the share
    blocks = attncost.analyze(model, [(B, T, D)], attention=zoo.Block)
    assert blocks.network.attention_share("macs")["macs"] > by_class.network.attention_share("macs")["macs"]
    with pytest.raises(attncost.errors.AttncostError):
        attncost.analyze(model, [(B, T, D)], attention=("Attention",))


def test_recognised_attention_keeps_the_totals():
    # recognition only labels records: every op count, params and memory equal the unlabelled trace
    from attncost.cost.compare import differences
    from attncost.trace import trace_module

    model = zoo.Blocks().eval()
    x = torch.randn(B, T, D)
    traced, _, _ = trace_module(model, x)
    analysis = attncost.analyze(model, x)
    diff = differences(traced, analysis.network.total)
    assert diff == [("attention_map_elements", 0, MAP)]
