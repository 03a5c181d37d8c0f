"""Registry of op formulas: one small pure function per primitive, registered by name.

Modelled on ``torch.utils.flop_counter``: a formula takes the shapes of an op's inputs and outputs
(plus the op's static arguments) and returns its counts by op kind. The catalogue (through
:class:`attncost.cost.program.Program`) and the tracer (through its aten handlers) call the same
functions, so a primitive's arithmetic is written exactly once.
"""

from __future__ import annotations

from typing import Callable

FORMULAS: dict[str, Callable] = {}


def op_formula(name: str):
    """Register ``fn`` as the formula for primitive ``name``; a second registration raises."""

    def decorate(fn):
        if name in FORMULAS:
            raise ValueError(f"op formula {name!r} registered twice")
        FORMULAS[name] = fn
        return fn

    return decorate


def formula(name: str) -> Callable:
    return FORMULAS[name]
