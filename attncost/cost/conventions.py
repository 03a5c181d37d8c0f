"""Named FLOP conventions: weights per op kind, applied only when a cost is printed.

Each op kind carries its weight under every convention (``OpKind.weights``, written once with the
primitive that defines it in :mod:`attncost.ops`); the table in docs/CONVENTIONS.md is generated from
those definitions.

- ``macs``: conv+linear+matmul MACs only (thop, ptflops; what the SE/CBAM/BAM/GC/ECA papers call
  "GFLOPs").
- ``fvcore``: fvcore 0.1.5's FlopCountAnalysis defaults as seen at the aten level: MACs without bias,
  batch norm 1 per element (+1 affine), layer/group norm 4 (+1 affine), global average pooling 1 per
  input element, nearest upsampling 1 and bilinear 4 per output element; nothing else.
- ``flopcounter``: torch.utils.flop_counter.FlopCounterMode: 2 x MACs, bias excluded.
- ``full``: every arithmetic op: 2 x MACs + bias adds + 1 per elementwise/reduction/pooling element,
  softmax 5 per element (max, subtract, exp, sum, divide), batch norm 2 + affine 2, layer/group
  norm 5 + affine 2, bilinear interpolation 7 per output element (4 products, 3 sums), nearest 0.
- ``thop-0.0.31``: thop 0.0.31's forward hooks (the counter of ECA-Net's release): conv MACs + conv
  bias, linear (2 in - 1) per output, batch norm 4 per element, average pooling (window + 1) per
  output, LeakyReLU 1, bilinear upsampling 13 per output; everything else 0. A derived convention
  (:class:`attncost.ops.primitive.DerivedConvention`): its rule is written once, in
  :mod:`attncost.ops.primitive`, and reads the kinds of category ``tally`` (a conv's bias adds, a
  linear layer's in - 1 additions per output, a pooling's division per output), which weigh 0 in the
  base conventions.

Neither peer sees the bmm inside aten.affine_grid_generator (``mac.affine_grid``: 0 in fvcore and
flopcounter); fvcore counts aten::grid_sampler as 4 per output element whatever its mode.
"""

from __future__ import annotations

import enum

from ..ops.primitive import CONVENTIONS, op_kind
from .cost import Cost

Convention = enum.Enum("Convention", {name.upper().replace("-", "_").replace(".", "_"): name for name in CONVENTIONS},
                       type=str)
Convention.__str__ = lambda self: self.value
Convention.__doc__ = "The named conventions (ops.CONVENTIONS), as a str enum for click.Choice."


def weight(convention: Convention | str, kind_name: str) -> int:
    """The FLOPs one unit of ``kind_name`` is worth under ``convention`` (the kind's own weights)."""
    return op_kind(kind_name).weights[Convention(convention).value]


def flops(cost: Cost, convention: Convention | str = Convention.FULL):
    """FLOPs of ``cost`` under ``convention``: an int for a concrete cost, else a sympy expression."""
    total = cost.zero()
    for name, count in cost.counts.items():
        w = weight(convention, name)
        if w:
            total += w * count
    return total


def flops_by_kind(cost: Cost, convention: Convention | str = Convention.FULL) -> dict:
    """FLOPs per op kind under ``convention`` (kinds worth 0 left out)."""
    out = {}
    for name, count in cost.counts.items():
        w = weight(convention, name)
        if w:
            out[name] = w * count
    return out
