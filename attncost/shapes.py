"""Parsing input shapes such as ``256x14x14`` (C x H x W, N = 1) or ``8x256x14x14``.

Every shape any command or :func:`attncost.analyze` reads is checked here, once: each size is a
positive integer of ASCII digits (not ``²56``, whose ``str.isdigit`` is true) of at most
:data:`MAX_SIZE` (2^31), and a shape has at most :data:`MAX_ELEMENTS` (2^62) elements, so its numel
fits torch's int64 with room for the products a cost takes of it. Nothing a formula does loops over a
size, so larger is not slower, only absurd; on real tensors, where the work and memory do grow with the
elements, :data:`attncost.usermodels.REAL_MAX_ELEMENTS` bounds them further.
"""

from __future__ import annotations

import re

from . import symbols
from .algebra import text as _size_text
from .errors import ShapeError, elide
from .numbers import MAX_INT, is_ascii_int

#: the largest size of one dimension
MAX_SIZE = MAX_INT
#: the most elements one shape may have (the product of its concrete sizes)
MAX_ELEMENTS = 2 ** 62


def _size(part: str, where: str, plural: bool = False) -> int | None:
    """A size as typed -> a positive int, or None if ``part`` is no integer at all (the caller's
    message says what else it may be). ``where`` starts the error: ``shape '0x14x14': C`` (one size)
    or ``input shape '0x3'`` with ``plural`` (sizes)."""
    if not is_ascii_int(part) or part.startswith("+"):
        return None
    subject = f"{where}: sizes must be" if plural else f"{where} must be"
    if part.startswith("-") or not part.strip("0"):
        raise ShapeError(f"{subject} {'positive integers' if plural else 'a positive integer'}, got "
                         f"{elide(part, 24)}")
    if len(part.lstrip("0")) > len(str(MAX_SIZE)) or int(part) > MAX_SIZE:
        raise ShapeError(f"{subject} at most {MAX_SIZE} (2^31), got {elide(part, 24)}")
    return int(part)


def check_elements(dims, text: str) -> None:
    """At most :data:`MAX_ELEMENTS` elements in the concrete sizes of ``dims`` (``text`` names the shape)."""
    total = 1
    for d in dims:
        if isinstance(d, int):
            total *= d
            if total > MAX_ELEMENTS:
                raise ShapeError(f"shape {text!r} has more than {MAX_ELEMENTS} (2^62) elements")


def parse_shape(text: str, allow_symbols: bool = False) -> tuple:
    """``CxHxW`` or ``NxCxHxW`` -> (N, C, H, W). Each size a positive integer; with
    ``allow_symbols`` a dimension may be its own letter (``1024xHxW``) to stay symbolic."""
    parts = text.strip().lower().replace("×", "x").split("x")
    if len(parts) not in (3, 4) or not all(parts):
        raise ShapeError(f"shape {text!r} must be CxHxW or NxCxHxW, e.g. 256x14x14")
    if len(parts) == 3:
        parts = ["1"] + parts
    dims = []
    for part, letter in zip(parts, "NCHW"):         # the names of symbols.SHAPE_SYMBOLS (made only if used)
        value = _size(part, f"shape {text!r}: {letter}")
        if value is not None:
            dims.append(value)
        elif allow_symbols and part.upper() == letter:
            dims.append(getattr(symbols, letter))
        else:
            raise ShapeError(f"shape {text!r}: {part!r} is not a positive integer"
                             + (f" or the letter {letter}" if allow_symbols else ""))
    check_elements(dims, text)
    return tuple(dims)


def format_shape(shape) -> str:
    return "x".join(_size_text(s) for s in shape)


# -- the channels-last guard ----------------------------------------------------------------------------

def channels_last_guess(sizes) -> tuple | None:
    """The channels-first sizes that ``sizes`` (an image shape as typed, CxHxW or NxCxHxW, integers)
    were likely meant as, if they look channels-last (HxWxC, NxHxWxC); else None.

    The rule reads the last three sizes ``a x b x c`` as written. They look channels-last when either

    - ``c >= 16``, ``a == b`` and ``c >= 4 * a``: a square map with its channels last (``14x14x256``,
      ``7x7x2048``, ``8x14x14x256``); read as written it would be C = H and W four times the height,
      which no network's feature map is; or
    - ``c`` is 3 or 4 and ``a, b >= 32``, or ``c == 1`` and ``a == b >= 32``: an RGB(A) or grayscale
      image (``224x224x3``, ``480x640x3``, ``64x64x1``); as written, a map 1 to 4 pixels wide.

    Every CxHxW shape of the README, specs/ and the tests passes (``256x14x14``, ``3x224x224``,
    ``2048x7x7``, ``64x56x56``; tests/cli/test_cli.py checks them all). It is for image inputs of
    catalogue modules and reference networks only: a user's model takes inputs of any meaning
    (``1x197x768`` tokens), which are never guessed at."""
    sizes = tuple(sizes)
    if len(sizes) not in (3, 4) or not all(isinstance(s, int) and not isinstance(s, bool) for s in sizes):
        return None
    a, b, c = sizes[-3:]
    if (c >= 16 and a == b and c >= 4 * a) or (c in (3, 4) and min(a, b) >= 32) or (c == 1 and a == b >= 32):
        return sizes[:-3] + (c, a, b)
    return None


def check_channels_first(text: str, what: str = "--shape", override: str | None = None) -> None:
    """A one-line :class:`ShapeError` if the shape typed as ``text`` looks channels-last
    (:func:`channels_last_guess`), naming the shape it likely meant and ``override``, the way to take
    it as written (a flag), where there is one."""
    parts = text.strip().lower().replace("×", "x").split("x")
    if not all(is_ascii_int(p) and not p.startswith(("+", "-")) for p in parts):
        return
    guess = channels_last_guess(int(p) for p in parts)
    if guess is None:
        return
    batch = "Nx" if len(parts) == 4 else ""
    hint = f" ({override} to take it as written)" if override else ""
    raise ShapeError(f"{what} {text.strip()} looks channels-last ({batch}HxWxC); attncost takes {batch}CxHxW: "
                     f"did you mean {'x'.join(map(str, guess))}?{hint}")


#: bytes per element of the element types memory is given in (``--dtype``)
DTYPE_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2, "float64": 8, "int8": 1}


# -- inputs of users' own models ----------------------------------------------------------------------

#: element types an input may be given in (``1x77:int64``); ``--dtype`` takes the floating ones
INPUT_DTYPES = ("float32", "float16", "bfloat16", "float64", "int64", "int32", "int16", "int8", "uint8", "bool")
FLOAT_DTYPES = ("float32", "float16", "bfloat16", "float64")
#: the forward a user's model is counted in (``--mode``)
MODES = ("eval", "train")
_LETTER = re.compile(r"^[A-Za-z]$")


def letter_symbol(letter: str):
    """The symbol a shape letter stands for: attncost's N, C, H, W, or a positive integer ``L``, ``T``..."""
    upper = letter.upper()
    return next((s for s in symbols.SHAPE_SYMBOLS if str(s) == upper), None) or symbols.symbol(upper)


def parse_inputs(text: str, allow_symbols: bool = False, exact: bool = False) -> tuple:
    """The inputs of a user's model, ``SHAPE[:DTYPE][,SHAPE[:DTYPE]...]``, one shape per positional
    argument, of any rank: ``196x768`` (tokens), ``1x3x224x224,1x77:int64`` (two inputs). Each
    shape is the input's full shape, except one 3-dim shape given alone, which is ``CxHxW`` with a
    batch of 1 (as for the catalogue) unless ``exact``; several inputs are each taken as written. With ``allow_symbols`` a size may be a letter (``3xHxW``:
    N, C, H, W are attncost's symbols, any other letter a positive integer of its own).
    Returns ((shape, dtype or None), ...)."""
    if not text or not text.strip():
        raise ShapeError("an input shape is empty: give e.g. 3x224x224, 196x768 or 1x3x224x224,1x77:int64")
    inputs = []
    for item in text.split(","):
        item = item.strip()
        shape_text, _, dtype = item.partition(":")
        dtype = dtype.strip().lower() or None
        if dtype is not None and dtype not in INPUT_DTYPES:
            raise ShapeError(f"input {item!r}: unknown dtype {dtype!r} (one of {', '.join(INPUT_DTYPES)})")
        parts = shape_text.strip().replace("×", "x").replace("X", "x").split("x")
        if not all(p.strip() for p in parts):
            raise ShapeError(f"input shape {item!r} must be sizes joined by x, e.g. 3x224x224 or 196x768")
        dims = []
        for part in (p.strip() for p in parts):
            value = _size(part, f"input shape {item!r}", plural=True)
            if value is not None:
                dims.append(value)
            elif allow_symbols and _LETTER.match(part):
                dims.append(letter_symbol(part))
            else:
                raise ShapeError(f"input shape {item!r}: {part!r} is not a positive integer"
                                 + (" or a letter" if allow_symbols else ""))
        check_elements(dims, item)
        inputs.append((tuple(dims), dtype))
    if len(inputs) == 1 and len(inputs[0][0]) == 3 and not exact:
        inputs[0] = ((1,) + inputs[0][0], inputs[0][1])
    return tuple(inputs)


def format_inputs(inputs) -> str:
    """((shape, dtype), ...) -> ``1x3x224x224,1x77:int64``."""
    return ",".join(format_shape(shape) + (f":{dtype}" if dtype else "") for shape, dtype in inputs)
