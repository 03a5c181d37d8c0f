"""Backward primitives of pooling, interpolation, grid sampling and padding modes (torch 2.13, CPU).

Each of these aten ops writes a gradient shaped like the forward input by scattering the incoming
gradient back onto the positions the forward read: the CPU kernels zero the input gradient first
(``gradInput.zero_()`` in DilatedMaxPool2d.cpp; every kernel here accumulates, since windows and
sources overlap), counted as ``copy`` (one per input element), then add every contribution, counted
per grad-output element in the unit of the kind. fvcore counts no backward op (weight 0); FlopCounterMode counts none of these (weight 0).
"""

from __future__ import annotations

from .pointwise import COPY_KIND, REDUCE_SUM, adaptive_window_sum
from .primitive import Aten, define, kind
from .shapes import numel


def _backward_kind(name: str, description: str, unit: str, full: int = 1):
    return kind(name, description, unit, macs=0, fvcore=0, flopcounter=0, full=full)


POOL_MAX_BACKWARD = _backward_kind("pool.max_backward", "max-pooling gradient: each grad-output element added at "
                                   "its saved argmax", "grad-output elements")
POOL_AVG_BACKWARD = _backward_kind("pool.avg_backward", "average-pooling gradient: each grad-output element "
                                   "(divided) added to every element of its window",
                                   "grad-output elements × window size (padding included)")
POOL_ADAPTIVE_AVG_BACKWARD = _backward_kind("pool.adaptive_avg_backward", "adaptive average-pooling gradient: each "
                                            "grad-output element (divided) added over its adaptive window",
                                            "window elements written (the input once when the output size divides "
                                            "it)")
POOL_ADAPTIVE_MAX_BACKWARD = _backward_kind("pool.adaptive_max_backward", "adaptive max-pooling gradient: each "
                                            "grad-output element added at its saved argmax", "grad-output elements")
INTERPOLATE_NEAREST_BACKWARD = _backward_kind("interpolate.nearest_backward", "nearest upsampling gradient: each "
                                              "grad-output element added to its source", "grad-output elements")
INTERPOLATE_BILINEAR_BACKWARD = _backward_kind("interpolate.bilinear_backward", "bilinear interpolation gradient: "
                                               "each grad-output element weighed and added to its 4 sources (4 "
                                               "products, 4 adds)", "grad-output elements", full=8)
INTERPOLATE_BICUBIC_BACKWARD = _backward_kind("interpolate.bicubic_backward", "bicubic interpolation gradient: each "
                                              "grad-output element weighed and added to its 4x4 sources (16 "
                                              "products, 16 adds)", "grad-output elements", full=32)
INTERPOLATE_BACKWARD_MODES = {"nearest": INTERPOLATE_NEAREST_BACKWARD, "bilinear": INTERPOLATE_BILINEAR_BACKWARD,
                              "bicubic": INTERPOLATE_BICUBIC_BACKWARD}
GRID_BILINEAR_BACKWARD = _backward_kind("interpolate.grid_bilinear_backward", "bilinear grid-sampling gradient of "
                                        "the input: each grad-output element weighed and added to its 4 corners (4 "
                                        "products, 4 adds)", "grad-output elements", full=8)
GRID_NEAREST_BACKWARD = _backward_kind("interpolate.grid_nearest_backward", "nearest grid-sampling gradient of the "
                                       "input: each grad-output element added to its source", "grad-output elements")
GRID_COORD_BACKWARD = _backward_kind("interpolate.grid_coord_backward", "bilinear grid-sampling gradient of the grid: "
                                     "per channel, the 4 corner values times the other axis' distance times the "
                                     "gradient, summed for x and for y (16 products, 8 adds)", "grad-output elements",
                                     full=24)
GRID_BACKWARD_MODES = {"bilinear": GRID_BILINEAR_BACKWARD, "nearest": GRID_NEAREST_BACKWARD}
GRID_SAMPLER_MODES = {0: "bilinear", 1: "nearest", 2: "bicubic"}   # aten's interpolation_mode enum


def _ntuple(v, n: int):
    v = list(v) if isinstance(v, (list, tuple)) else [v]
    return tuple(v * n if len(v) == 1 else v)


def _pool_binding(name: str, mode: str, dims: int) -> Aten:
    """<mode>_pool<dims>d[_with_indices]_backward(grad_output, self, kernel_size, ...)."""
    return Aten((name,), lambda c: pool_backward(mode, c.shape(c.args[1]), c.shape(c.args[0]),
                                                 _ntuple(c.args[2], dims)))


@define("pool_backward", kinds=(POOL_MAX_BACKWARD, POOL_AVG_BACKWARD, COPY_KIND),
        aten=(_pool_binding("max_pool2d_with_indices_backward", "max", 2),
              _pool_binding("max_pool3d_with_indices_backward", "max", 3),
              _pool_binding("avg_pool2d_backward", "avg", 2), _pool_binding("avg_pool3d_backward", "avg", 3)))
def pool_backward(mode: str, x_shape, out_shape, kernel) -> dict:
    """Gradient of windowed max ("max") or average ("avg") pooling of an input of ``x_shape`` to
    ``out_shape`` with window ``kernel``: the input gradient zeroed, then max pooling adds each
    grad-output element once (at its argmax), average pooling once per window element."""
    counts = {COPY_KIND.name: numel(x_shape)}
    if mode == "max":
        counts[POOL_MAX_BACKWARD.name] = numel(out_shape)
    elif mode == "avg":
        counts[POOL_AVG_BACKWARD.name] = numel(out_shape) * numel(kernel)
    else:
        raise ValueError(f"pooling mode {mode!r} has no backward kind (known: max, avg)")
    return counts


@define("adaptive_pool_backward", kinds=(POOL_ADAPTIVE_AVG_BACKWARD, POOL_ADAPTIVE_MAX_BACKWARD, COPY_KIND),
        aten=(Aten(("_adaptive_avg_pool2d_backward",),
                   lambda c: adaptive_pool_backward("avg", c.shape(c.args[1]), c.shape(c.args[0]), spatial=2)),
              Aten(("_adaptive_avg_pool3d_backward",),
                   lambda c: adaptive_pool_backward("avg", c.shape(c.args[1]), c.shape(c.args[0]), spatial=3)),
              Aten(("adaptive_max_pool2d_backward",),
                   lambda c: adaptive_pool_backward("max", c.shape(c.args[1]), c.shape(c.args[0]), spatial=2)),
              Aten(("adaptive_max_pool3d_backward",),
                   lambda c: adaptive_pool_backward("max", c.shape(c.args[1]), c.shape(c.args[0]), spatial=3))))
def adaptive_pool_backward(mode: str, x_shape, out_shape, spatial: int = 2) -> dict:
    """Gradient of adaptive average ("avg") or max ("max") pooling over the last ``spatial`` dims:
    the input gradient zeroed, then average pooling adds each grad-output element over its adaptive
    window (the windows of :func:`attncost.ops.pointwise.adaptive_avg_pool`, overlapping when the
    sizes do not divide), max pooling once, at its argmax."""
    counts = {COPY_KIND.name: numel(x_shape)}
    if mode == "avg":
        writes = numel(x_shape[:-spatial])
        for n, m in zip(x_shape[-spatial:], out_shape[-spatial:]):
            writes = writes * adaptive_window_sum(n, m)
        counts[POOL_ADAPTIVE_AVG_BACKWARD.name] = writes
    elif mode == "max":
        counts[POOL_ADAPTIVE_MAX_BACKWARD.name] = numel(out_shape)
    else:
        raise ValueError(f"adaptive pooling mode {mode!r} has no backward kind (known: avg, max)")
    return counts


def _upsample_binding(mode: str) -> Aten:
    """upsample_<mode>2d_backward(grad_output, output_size, input_size, ...) -> the input gradient."""
    return Aten((f"upsample_{mode}2d_backward",),
                lambda c: interpolate_backward(mode, c.out_shape, c.shape(c.args[0])),
                (INTERPOLATE_BACKWARD_MODES[mode], COPY_KIND))


@define("interpolate_backward", kinds=tuple(INTERPOLATE_BACKWARD_MODES.values()) + (COPY_KIND,),
        aten=tuple(_upsample_binding(mode) for mode in INTERPOLATE_BACKWARD_MODES))
def interpolate_backward(mode, x_shape, out_shape) -> dict:
    """Gradient of F.interpolate from ``x_shape`` to ``out_shape`` ("nearest", "bilinear",
    "bicubic"): the input gradient zeroed, then every grad-output element scattered onto the 1, 4 or
    16 inputs the forward read (UpSampleKernel.cpp's ``cpu_upsample_*_backward``)."""
    if mode not in INTERPOLATE_BACKWARD_MODES:
        known = ", ".join(INTERPOLATE_BACKWARD_MODES)
        raise ValueError(f"interpolate mode {mode!r} has no backward kind (known: {known})")
    return {COPY_KIND.name: numel(x_shape), INTERPOLATE_BACKWARD_MODES[mode].name: numel(out_shape)}


def _grid_sampler_backward(c):
    """grid_sampler_2d_backward(grad_output, input, grid, interpolation_mode, padding_mode,
    align_corners, output_mask)."""
    grad_out, x, grid = c.args[:3]
    mask = [bool(m) for m in c.args[6]]
    return grid_sample_backward(GRID_SAMPLER_MODES[int(c.args[3])], c.shape(x), c.shape(grid), c.shape(grad_out),
                                grad_input=mask[0], grad_grid=mask[1])


@define("grid_sample_backward", kinds=(GRID_BILINEAR_BACKWARD, GRID_NEAREST_BACKWARD, GRID_COORD_BACKWARD, COPY_KIND),
        aten=(Aten(("grid_sampler_2d_backward",), _grid_sampler_backward),))
def grid_sample_backward(mode: str, x_shape, grid_shape, out_shape, *, grad_input: bool = True,
                         grad_grid: bool = True) -> dict:
    """Gradients of F.grid_sample(x, grid) -> ``out_shape`` (N, C, Hout, Wout), following
    GridSamplerKernel.cpp: the input gradient is zeroed (a copy per input element) and every
    grad-output element added to the corners it was read from; the grid gradient, per output element
    (channels summed into each grid point), weighs the corner values by the distances (bilinear) or is
    written as zeros (nearest: a copy per grid element)."""
    if mode not in GRID_BACKWARD_MODES:
        raise ValueError(f"grid_sample mode {mode!r} has no backward kind (known: {', '.join(GRID_BACKWARD_MODES)})")
    counts = {}
    copies = 0
    if grad_input:
        copies += numel(x_shape)
        counts[GRID_BACKWARD_MODES[mode].name] = numel(out_shape)
    if grad_grid:
        if mode == "bilinear":
            counts[GRID_COORD_BACKWARD.name] = numel(out_shape)
        else:
            copies += numel(grid_shape)
    if copies:
        counts[COPY_KIND.name] = copies
    return counts


_PADS = tuple(f"{mode}_pad{dims}d_backward" for mode in ("reflection", "replication") for dims in (1, 2, 3))


@define("pad_backward", kinds=(COPY_KIND, REDUCE_SUM),
        aten=(Aten(_PADS, lambda c: pad_backward(c.shape(c.args[1]), c.shape(c.args[0]))),))
def pad_backward(x_shape, out_shape) -> dict:
    """Gradient of reflection or replication padding from ``x_shape`` to ``out_shape``: the input
    gradient zeroed, then each grad-output element added to the input element it copied (a read into
    a sum: ``reduce.sum``, input elements read). Constant padding's gradient is a ``constant_pad_nd``
    with negative pads, a copy counted by the forward primitive."""
    return {COPY_KIND.name: numel(x_shape), REDUCE_SUM.name: numel(out_shape)}
