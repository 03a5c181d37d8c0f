"""Helpers shared by the family files: exact integer arithmetic on ints or symbols (``fdiv`` and
``is_concrete`` are :mod:`attncost.algebra`'s, no sympy for ints), and checks."""

from __future__ import annotations

import math

from ..algebra import floor_div as fdiv, is_concrete
from ..errors import HyperparameterError

__all__ = ["eca_kernel", "fdiv", "is_concrete", "require_divisible", "require_hidden"]


def require_hidden(name: str, channels, reduction, minimum: int = 1) -> None:
    """C // r must leave at least ``minimum`` hidden channels."""
    if is_concrete(channels, reduction) and fdiv(int(channels), int(reduction)) < minimum:
        raise HyperparameterError(
            f"{name}: C={channels} with r={reduction} leaves {fdiv(int(channels), int(reduction))} "
            f"hidden channels (need C // r >= {minimum})")


def require_divisible(name: str, what: str, value, divisor, divisor_name: str) -> None:
    if is_concrete(value, divisor) and int(value) % int(divisor) != 0:
        raise HyperparameterError(f"{name}: {what}={value} is not divisible by {divisor_name}={divisor}")


def eca_kernel(channels: int, gamma: int, b: int) -> int:
    """ECA-Net Eq. 12: k = |log2(C)/gamma + b/gamma|_odd, rounded as the paper's code does:
    t = int(abs((log2(C) + b) / gamma)); k = t if t is odd else t + 1."""
    t = int(abs((math.log2(channels) + b) / gamma))
    return t if t % 2 else t + 1
