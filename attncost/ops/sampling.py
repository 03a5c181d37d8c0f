"""Sampling-grid formulas: affine_grid (the STN grid generator) and grid_sample (its sampler).

Spatial transformers (Jaderberg et al., NeurIPS 2015, Eq. 1-5) and pure-PyTorch deformable
convolution both read an input at computed, fractional positions. ATen runs each as one op:
``affine_grid_generator`` and ``grid_sampler_2d``.
"""

from __future__ import annotations

from .registry import op_formula
from .shapes import numel

GRID_SAMPLE_MODES = ("bilinear", "nearest")


@op_formula("affine_grid")
def affine_grid(theta_shape, out_shape) -> dict:
    """F.affine_grid(theta, (N, C, H, W)) -> grid (N, H, W, 2), as ATen's affine_grid_generator runs it.

    ATen fills a base grid (N, H, W, 3) with (x, y, 1) per output position (``copy``, N*H*W*3
    elements), then multiplies its (N, H*W, 3) view by theta^T (N, 3, 2) in one bmm: N*H*W*2
    outputs x 3 MACs, counted as ``mac.affine_grid`` rather than ``mac.matmul`` because
    FlopCounterMode and fvcore see only the one aten op and count none of them. The two linspaces it
    writes before (W + H elements) are left out.
    """
    n, h, w = out_shape[:3]
    positions = n * h * w
    return {"copy": positions * theta_shape[-1], "mac.affine_grid": positions * theta_shape[-2] * theta_shape[-1]}


@op_formula("grid_sample")
def grid_sample(mode: str, out_shape) -> dict:
    """F.grid_sample(x, grid) -> (N, C, Hout, Wout): one count per output element (per channel and
    grid point). Bilinear reads the 4 neighbours and weighs them (4 products + 3 sums, the arithmetic
    of the DCN and STN CUDA kernels); nearest reads one element."""
    if mode not in GRID_SAMPLE_MODES:
        raise ValueError(f"grid_sample mode {mode!r} has no op kind (known: {', '.join(GRID_SAMPLE_MODES)})")
    return {f"interpolate.grid_{mode}": numel(out_shape)}
