"""Parsing input shapes such as ``256x14x14`` (C x H x W, N = 1) or ``8x256x14x14``."""

from __future__ import annotations

import re

import sympy

from .errors import ShapeError
from .symbols import SHAPE_SYMBOLS

_DIM = re.compile(r"^(\d+|[NCHW])$")


def parse_shape(text: str, allow_symbols: bool = False) -> tuple:
    """``CxHxW`` or ``NxCxHxW`` -> (N, C, H, W). Each size a positive integer; with
    ``allow_symbols`` a dimension may be its own letter (``1024xHxW``) to stay symbolic."""
    parts = text.strip().lower().replace("×", "x").split("x")
    if len(parts) not in (3, 4) or not all(parts):
        raise ShapeError(f"shape {text!r} must be CxHxW or NxCxHxW, e.g. 256x14x14")
    if len(parts) == 3:
        parts = ["1"] + parts
    dims = []
    for part, symbol in zip(parts, SHAPE_SYMBOLS):
        if part.isdigit():
            value = int(part)
            if value <= 0:
                raise ShapeError(f"shape {text!r}: {symbol} must be a positive integer, got {value}")
            dims.append(value)
        elif allow_symbols and part.upper() == str(symbol):
            dims.append(symbol)
        else:
            raise ShapeError(f"shape {text!r}: {part!r} is not a positive integer"
                             + (f" or the letter {symbol}" if allow_symbols else ""))
    return tuple(dims)


def format_shape(shape) -> str:
    return "x".join(str(sympy.sympify(s)) for s in shape)
