"""Elementwise, reduction, pooling, norm and interpolation formulas, hand-derived."""

import sympy

from attncost import ops
from attncost.ops.shapes import broadcast, pool_output_size
from attncost.symbols import C, H, N, W


def test_elementwise_counts_output_elements():
    assert ops.pointwise.elementwise(ops.pointwise.SIGMOID, (2, 3, 4, 5)) == {"elementwise.sigmoid": 120}   # 2*3*4*5


def test_broadcast_shapes():
    assert broadcast((2, 3, 4, 5), (2, 3, 1, 1)) == (2, 3, 4, 5)
    assert broadcast((1,), (2, 3)) == (2, 3)


def test_reduction_reads_every_input():
    assert ops.pointwise.reduce(ops.pointwise.REDUCE_MEAN, (2, 8, 3, 3)) == {"reduce.mean": 144}   # 2*8*3*3


def test_pool_reads_window_per_output():
    # 2x2 max pool, 2*4*3*3 outputs, 4 reads each = 288
    assert ops.pointwise.pool(ops.pointwise.POOL_MAX, (2, 4, 3, 3), (2, 2)) == {"pool.max": 288}


def test_norm_affine_counts_twice():
    assert ops.pointwise.norm(ops.pointwise.NORM_BATCH, (N, C, H, W), True) == {"norm.batch": N * C * H * W,
                                                                  "norm.affine": N * C * H * W}
    assert ops.pointwise.norm(ops.pointwise.NORM_LAYER, (2, 5), False) == {"norm.layer": 10}


def test_pool_output_size_floor_and_ceil():
    assert pool_output_size(7, 2, 2) == 3                     # floor((7-2)/2)+1
    assert pool_output_size(7, 2, 2, ceil_mode=True) == 4     # ceil((7-2)/2)+1
    assert pool_output_size(H, 2, 2) == sympy.floor((H - 2) / 2) + 1


def test_ceil_mode_pool_sizes_match_pytorch_exhaustively():
    import itertools

    import torch
    import torch.nn.functional as F

    for size, k, s, p, d in itertools.product(range(1, 12), range(1, 5), range(1, 4), range(0, 3), range(1, 3)):
        if p > k // 2 or size + 2 * p < d * (k - 1) + 1:
            continue
        out = F.max_pool2d(torch.zeros(1, 1, size, size), k, s, p, d, ceil_mode=True).shape[-1]
        assert pool_output_size(size, k, s, p, d, ceil_mode=True) == out
        assert pool_output_size(H, k, s, p, d, ceil_mode=True).subs(H, size) == out
