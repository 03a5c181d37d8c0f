"""Each segment's Program cost equals what its PyTorch module runs (the aten tracer), and hand counts."""

import pytest
import torch

from attncost.lut.network import SegmentCache, build_segment
from attncost.lut.segments import (HEAD, STEM, all_segments, architecture_segments, input_shape, segment_work)
from attncost.trace import trace_module


def test_every_segment_of_the_tiny_space_matches_the_tracer(tiny_space):
    for key in all_segments(tiny_space):
        work = segment_work(tiny_space, key)
        module = build_segment(tiny_space, key)
        with torch.no_grad():
            traced, _, unsupported = trace_module(module, torch.randn(*input_shape(tiny_space, key)),
                                                  allow_unsupported=True)
        assert not unsupported, key
        assert work.cost.fields() == traced.fields(), key
        assert work.cost.params == sum(p.numel() for p in module.parameters()), key


def test_stem_and_head_counts_by_hand(full_space):
    stem = segment_work(full_space, STEM).cost
    assert stem.macs == 32 * 112 * 112 * 3 * 3 * 3                    # Cout Hout Wout Cin k k = 10,838,016
    assert stem.params == 32 * 3 * 3 * 3 + 2 * 32                     # conv weight + BN affine = 928
    head = segment_work(full_space, HEAD).cost
    assert head.macs == 1280 * 7 * 7 * 320 + 1280 * 1000              # 1x1 conv + FC
    assert head.params == 320 * 1280 + 2 * 1280 + 1280 * 1000 + 1000  # 1,693,160


def test_op_bytes_of_the_stem_by_hand(tiny_space):
    conv = segment_work(tiny_space, STEM).ops[0]
    # input 3x32x32, weight 8x3x3x3, output 8x16x16, float32
    assert conv.bytes == 4 * (3 * 32 * 32 + 8 * 3 * 3 * 3 + 8 * 16 * 16)
    assert conv.macs == 8 * 16 * 16 * 3 * 9


def test_architecture_segments_drop_skipped_layers_and_keep_attention(tiny_space):
    arch = [("k3e1", "none"), ("k5e6", "se"), ("skip", "none"), ("k3e6", "none")]
    assert architecture_segments(tiny_space, arch) == [STEM, "layer0:k3e1", "layer1:k5e6", "layer1+se",
                                                       "layer3:k3e6", HEAD]


@pytest.mark.parametrize("arch, words", [
    ([("k3e1", "none")], "has 4 layers"),
    ([("k3e1", "none"), ("skip", "none"), ("skip", "none"), ("k3e6", "none")], "'skip' is not one of"),
    ([("k3e1", "none"), ("k3e3", "none"), ("skip", "se"), ("k3e6", "none")], "not allowed"),
])
def test_bad_architectures(tiny_space, arch, words):
    from attncost.errors import LutError

    with pytest.raises(LutError, match=words):
        architecture_segments(tiny_space, arch)


def test_a_chain_of_segments_is_the_network(tiny_space):
    """The chain of cached modules runs, and the same key gives the same module."""
    cache = SegmentCache(tiny_space)
    keys = architecture_segments(tiny_space, [("k3e1", "none"), ("k5e3", "cbam"), ("k3e6", "eca"), ("k3e6", "none")])
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        for _, module in cache.chain(keys):
            x = module(x)
    assert x.shape == (1, 10)
    assert cache["layer1:k5e3"] is cache.chain(["layer1:k5e3"])[0][1]
