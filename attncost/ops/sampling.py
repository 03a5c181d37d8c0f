"""Sampling-grid formulas: affine_grid (the STN grid generator) and grid_sample (its sampler).

Spatial transformers (Jaderberg et al., NeurIPS 2015, Eq. 1-5) and pure-PyTorch deformable
convolution both read an input at computed, fractional positions. ATen runs each as one op:
``affine_grid_generator`` and ``grid_sampler_2d``.
"""

from __future__ import annotations

from .pointwise import COPY_KIND
from .primitive import Aten, define, kind
from .shapes import numel

MAC_AFFINE_GRID = kind("mac.affine_grid", "multiply-accumulates of the base grid x theta^T bmm inside "
                       "aten.affine_grid_generator", "N·H·W·6 (the base grid times θᵀ; FlopCounterMode and fvcore "
                       "count none)", macs=1, fvcore=0, flopcounter=0, full=2)
GRID_BILINEAR = kind("interpolate.grid_bilinear", "bilinear grid sampling (4 reads, 4 products, 3 sums each)",
                     "output elements", macs=0, fvcore=4, flopcounter=0, full=7)
GRID_NEAREST = kind("interpolate.grid_nearest", "nearest grid sampling (1 read each)", "output elements",
                    macs=0, fvcore=4, flopcounter=0, full=0)
GRID_SAMPLE_MODES = {"bilinear": GRID_BILINEAR, "nearest": GRID_NEAREST}
GRID_SAMPLER_MODES = {0: "bilinear", 1: "nearest", 2: "bicubic"}   # aten's interpolation_mode enum


@define("affine_grid", kinds=(COPY_KIND, MAC_AFFINE_GRID),
        aten=(Aten(("affine_grid_generator",), lambda c: affine_grid(c.shape(c.args[0]), c.out_shape)),))
def affine_grid(theta_shape, out_shape) -> dict:
    """F.affine_grid(theta, (N, C, H, W)) -> grid (N, H, W, 2), as ATen's affine_grid_generator runs it
    (3-D: theta (N, 3, 4), grid (N, D, H, W, 3), the same with one more coordinate).

    ATen fills a base grid (N, H, W, 3) with (x, y, 1) per output position (``copy``, N*H*W*3
    elements), then multiplies its (N, H*W, 3) view by theta^T (N, 3, 2) in one bmm: N*H*W*2
    outputs x 3 MACs, counted as ``mac.affine_grid`` rather than ``mac.matmul`` because
    FlopCounterMode and fvcore see only the one aten op and count none of them. The two linspaces it
    writes before (W + H elements) are left out.
    """
    positions = numel(out_shape[:-1])          # N·H·W (2-D grids) or N·D·H·W (3-D)
    return {COPY_KIND.name: positions * theta_shape[-1],
            MAC_AFFINE_GRID.name: positions * theta_shape[-2] * theta_shape[-1]}


@define("grid_sample", kinds=(GRID_BILINEAR, GRID_NEAREST),
        aten=(Aten(("grid_sampler_2d",), lambda c: grid_sample(GRID_SAMPLER_MODES[int(c.args[2])], c.out_shape)),))
def grid_sample(mode: str, out_shape) -> dict:
    """F.grid_sample(x, grid) -> (N, C, Hout, Wout): one count per output element (per channel and
    grid point). Bilinear reads the 4 neighbours and weighs them (4 products + 3 sums, the arithmetic
    of the DCN and STN CUDA kernels); nearest reads one element."""
    if mode not in GRID_SAMPLE_MODES:
        raise ValueError(f"grid_sample mode {mode!r} has no op kind (known: {', '.join(GRID_SAMPLE_MODES)})")
    return {GRID_SAMPLE_MODES[mode].name: numel(out_shape)}
