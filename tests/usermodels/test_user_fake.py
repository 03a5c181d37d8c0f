"""Counting on FakeTensors: the numbers of a real run (every field, every record's counts), without
allocating; chosen automatically above the threshold, with a fallback where FakeTensors cannot run."""

import sys
import time
from pathlib import Path

import pytest
import torch

import attncost
from attncost.cost.compare import differences
from attncost.usermodels import FAKE_THRESHOLD, ModelRunError

sys.path.insert(0, str(Path(__file__).parents[1] / "fixtures"))
import user_zoo as zoo  # noqa: E402


def _resnet18_se():
    from attncost.networks import AttentionPlacement, definition, with_attention
    from attncost.reference.networks import build_network

    return build_network(with_attention(definition("resnet18"), [AttentionPlacement("se")]), (32, 32))


CASES = [
    ("nonlocal", zoo.NonLocalCNN, [(3, 16, 16), (2, 3, 24, 40), (1, 3, 9, 13)]),
    ("blocks", zoo.Blocks, [[(2, 6, zoo.DIM)], [(1, 11, zoo.DIM)]]),
    ("mha", zoo.WithMHA, [[(2, 6, 16)], [(3, 5, 16)]]),
    ("encoder-layer", zoo.WithEncoderLayer, [[(2, 6, zoo.DIM)]]),
    ("sdpa", zoo.WithSDPA, [[(2, 6, zoo.DIM)]]),
    ("image-and-text", zoo.ImageAndText, [[(1, 3, 32, 32), ((1, 7), "int64")]]),
    ("resnet18-se", _resnet18_se, [(2, 3, 32, 32), (2, 3, 40, 40)]),
]


@pytest.mark.parametrize("mode", ["eval", "train"])
@pytest.mark.parametrize("label, build, shapes", CASES, ids=[c[0] for c in CASES])
def test_fake_tensors_count_what_a_real_run_counts(label, build, shapes, mode):
    model = build()
    for shape in shapes:
        real = attncost.analyze(model, shape, fake=False, mode=mode)
        fake = attncost.analyze(model, shape, fake=True, mode=mode)
        assert not real.fake and fake.fake and fake.method.endswith("on FakeTensors")
        assert differences(real.network.total, fake.network.total) == [], (label, shape)
        assert [(r.scope, r.counts, r.params) for r in real.network.records] == \
               [(r.scope, r.counts, r.params) for r in fake.network.records]
        for group_by in ("stage", "kind", "op"):
            assert real.network.breakdown(group_by) == fake.network.breakdown(group_by)
        assert real.network.attention_share() == fake.network.attention_share()


def test_large_inputs_are_counted_on_fake_tensors_in_seconds():
    model = zoo.NonLocalCNN()
    start = time.perf_counter()
    analysis = attncost.analyze(model, (3, 2048, 2048))           # 12.6 M input elements: fake by default
    assert time.perf_counter() - start < 30
    assert analysis.fake and 3 * 2048 * 2048 > FAKE_THRESHOLD
    # the Non-local block at 1/4 resolution: HW = 512^2 positions, its map (HW)^2
    positions = 512 * 512
    assert analysis.network.total.attention_map_elements == positions ** 2
    assert analysis.network.total.counts["mac.matmul"] == 2 * positions ** 2 * 4
    # the same model at a small size is counted on real tensors unless asked
    assert not attncost.analyze(model, (3, 32, 32)).fake
    assert attncost.analyze(model, (3, 32, 32), fake=True).fake


def test_fake_tensors_fall_back_or_fail_on_data_dependent_code():
    model = zoo.Branchy()
    big = (3, 600, 600)                                          # above the threshold
    auto = attncost.analyze(model, big)
    assert not auto.fake and "FakeTensors failed" in auto.method
    assert auto.network.total.counts["mac.conv"] == 4 * 598 * 598 * 27
    with pytest.raises(ModelRunError, match="FakeTensors"):
        attncost.analyze(model, (3, 8, 8), fake=True)


def test_parameters_are_told_from_activations_by_storage_on_fake_tensors():
    # a linear layer's weight is a parameter (mac.linear), a product of two activations is not
    # (mac.matmul): the FakeTensor copies of the parameters must be known by their storages
    fake = attncost.analyze(zoo.Blocks(), [(2, 6, zoo.DIM)], fake=True).network.total
    assert fake.counts["mac.matmul"] == 2 * 2 * 2 * 6 * 6 * zoo.DIM
    assert fake.params == sum(p.numel() for p in zoo.Blocks().parameters())
    assert torch.nn.Linear(4, 4).weight.device.type == "cpu"
