"""affine_grid and grid_sample formulas (STN, deformable conv), by hand and against the tracer."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from attncost import ops
from attncost.cost import Program
from attncost.trace import trace_module


def test_affine_grid_by_hand():
    counts = ops.sampling.affine_grid((2, 2, 3), (2, 5, 7, 2))
    assert counts["copy"] == 210               # base grid (x, y, 1): 2 * 5 * 7 positions * 3 = 210
    assert counts["mac.affine_grid"] == 420         # (2, 35, 3) x (2, 3, 2): 2 * 35 * 2 outputs * 3 = 420


@pytest.mark.parametrize("mode, kind", [("bilinear", "interpolate.grid_bilinear"),
                                        ("nearest", "interpolate.grid_nearest")])
def test_grid_sample_by_hand(mode, kind):
    assert ops.sampling.grid_sample(mode, (2, 3, 4, 6)) == {kind: 144}   # 2 * 3 channels * 4 * 6 = 144


def test_grid_sample_unknown_mode():
    with pytest.raises(ValueError, match="bicubic"):
        ops.sampling.grid_sample("bicubic", (1, 1, 1, 1))


class _Warp(nn.Module):
    """theta from a parameter-free view of the input, its grid, and a sample of the input."""

    def __init__(self, mode: str):
        super().__init__()
        self.mode = mode

    def forward(self, x):
        theta = x[:, 0, :2, :3]                                            # (N, 2, 3) view
        grid = F.affine_grid(theta, (x.shape[0], x.shape[1], 4, 6), align_corners=False)
        return F.grid_sample(x, grid, mode=self.mode, align_corners=False)


@pytest.mark.parametrize("mode", ["bilinear", "nearest"])
def test_matches_trace(mode):
    g = Program()
    x = g.input((2, 3, 5, 7))
    theta = g.view(x, (2, 2, 3))                                          # x[:, 0, :2, :3]
    grid = g.affine_grid(theta, (2, 3, 4, 6))
    out = g.grid_sample(x, grid, mode)
    expected = g.finish(out)
    assert out.shape == (2, 3, 4, 6)
    traced, shape, unsupported = trace_module(_Warp(mode), torch.randn(2, 3, 5, 7))
    assert not unsupported and tuple(shape) == (2, 3, 4, 6)
    assert traced.counts == expected.counts
    assert traced.counts[f"interpolate.grid_{mode}"] == 144                # 2 * 3 * 4 * 6 = 144
    assert traced.counts["mac.affine_grid"] == 288                              # 2 * 24 positions * 2 * 3 = 288
    assert traced.activation_elements == expected.activation_elements == 240   # grid 2*4*6*2 = 96 + output 144
