"""The tracer's aten table, derived from the primitives (:mod:`attncost.ops`): nothing is written here.

Each primitive names the aten overload packets it handles and how a call's arguments map onto its
formula; this module resolves those names to torch's packets (a misspelt name fails at import) and
hands the mapping a :class:`Call`. Ops that cost nothing by decision come from ``ops.ZERO_COST``,
with their reasons; anything else without a handler is reported as unsupported by the tracer, never
counted as zero.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import torch

from .. import ops

aten = torch.ops.aten


@dataclass
class Call:
    """One traced aten call: its arguments, outputs, and the helpers ``ops.primitive.TracedCall``
    promises (shapes as sympy/ints, parameter storages, tensor tests)."""

    packet: Any               # the aten overload packet (aten.add, aten.convolution, ...)
    args: tuple
    kwargs: dict
    out: Any
    shape: Callable           # tensor -> tuple of sympy/int sizes
    is_parameter: Callable    # tensor -> bool (its storage belongs to a module parameter)

    @property
    def out_shape(self):
        out = self.out[0] if isinstance(self.out, (tuple, list)) else self.out
        return self.shape(out)

    @staticmethod
    def is_tensor(value) -> bool:
        return isinstance(value, torch.Tensor)


def _packet(name: str):
    try:
        return getattr(aten, name)
    except AttributeError:
        raise ValueError(f"a primitive handles aten.{name}, which torch {torch.__version__} does not have") from None


HANDLERS: dict = {_packet(name): counts for name, (_, counts) in ops.ATEN_OVERLOADS.items()}
PRIMITIVE_OF: dict = {_packet(name): primitive for name, (primitive, _) in ops.ATEN_OVERLOADS.items()}
IGNORED = {_packet(name) for zero in ops.ZERO_COST for name in zero.overloads}
IGNORED_NAMES = {name for zero in ops.ZERO_COST for name in zero.names}
