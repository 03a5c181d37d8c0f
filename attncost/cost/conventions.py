"""Named FLOP conventions: weights per op kind, applied only when a cost is printed.

Each convention is a weight per op kind (exact name first, then its category, else 0); the
project's exact definitions, with the reasons, are in docs/CONVENTIONS.md.

- ``macs``: conv+linear+matmul MACs only (thop, ptflops; what the SE/CBAM/BAM/GC/ECA papers call
  "GFLOPs").
- ``fvcore``: fvcore 0.1.5's FlopCountAnalysis defaults as seen at the aten level: MACs without bias,
  batch norm 1 per element (+1 affine), layer/group norm 4 (+1 affine), global average pooling 1 per
  input element, nearest upsampling 1 and bilinear 4 per output element; nothing else.
- ``flopcounter``: torch.utils.flop_counter.FlopCounterMode: 2 x MACs, bias excluded.
- ``full``: every arithmetic op: 2 x MACs + bias adds + 1 per elementwise/reduction/pooling element,
  softmax 5 per element (max, subtract, exp, sum, divide), batch norm 2 + affine 2, layer/group
  norm 5 + affine 2, bilinear interpolation 7 per output element (4 products, 3 sums), nearest 0.

Neither peer sees the bmm inside aten.affine_grid_generator (``mac.affine_grid``: 0 in fvcore and
flopcounter); fvcore counts aten::grid_sampler as 4 per output element whatever its mode.
"""

from __future__ import annotations

import enum
from typing import Mapping

import sympy

from .cost import Cost
from .opkinds import OP_KINDS


class Convention(str, enum.Enum):
    MACS = "macs"
    FVCORE = "fvcore"
    FLOPCOUNTER = "flopcounter"
    FULL = "full"

    def __str__(self) -> str:
        return self.value


WEIGHTS: dict[Convention, Mapping[str, int]] = {
    Convention.MACS: {"mac": 1},
    Convention.FVCORE: {
        "mac": 1,
        "norm.batch": 1,
        "norm.layer": 4,
        "norm.group": 4,
        "norm.affine": 1,
        "pool.global_avg": 1,
        "pool.adaptive_avg": 1,
        "interpolate.nearest": 1,
        "interpolate.bilinear": 4,
        "interpolate.grid_bilinear": 4,
        "interpolate.grid_nearest": 4,
        "mac.affine_grid": 0,
    },
    Convention.FLOPCOUNTER: {"mac": 2, "mac.affine_grid": 0},
    Convention.FULL: {
        "mac": 2,
        "bias": 1,
        "elementwise": 1,
        "reduce": 1,
        "pool": 1,
        "softmax": 5,
        "norm.batch": 2,
        "norm.layer": 5,
        "norm.group": 5,
        "norm.affine": 2,
        "interpolate.nearest": 0,
        "interpolate.bilinear": 7,
        "interpolate.grid_bilinear": 7,
        "interpolate.grid_nearest": 0,
        "copy": 0,
    },
}


def weight(convention: Convention | str, kind_name: str) -> int:
    """The FLOPs one unit of ``kind_name`` is worth under ``convention``."""
    weights = WEIGHTS[Convention(convention)]
    if kind_name in weights:
        return weights[kind_name]
    return weights.get(OP_KINDS[kind_name].category, 0)


def flops(cost: Cost, convention: Convention | str = Convention.FULL) -> sympy.Expr:
    """FLOPs of ``cost`` under ``convention``."""
    total = sympy.Integer(0)
    for name, count in cost.counts.items():
        w = weight(convention, name)
        if w:
            total += w * count
    return total


def flops_by_kind(cost: Cost, convention: Convention | str = Convention.FULL) -> dict[str, sympy.Expr]:
    """FLOPs per op kind under ``convention`` (kinds worth 0 left out)."""
    out = {}
    for name, count in cost.counts.items():
        w = weight(convention, name)
        if w:
            out[name] = w * count
    return out
