"""Op formulas: the only place where a primitive's arithmetic is written. No torch here."""

from . import conv, pointwise  # noqa: F401  (registers the formulas)
from . import sampling  # noqa: F401  (registers the formulas)
from .registry import FORMULAS, formula, op_formula
from .shapes import broadcast, conv_output_size, numel, pool_output_size

__all__ = ["FORMULAS", "formula", "op_formula", "broadcast", "conv_output_size", "numel", "pool_output_size"]
