"""Numbers a user types (shape sizes, hyperparameters, option values), read and bounded in one place.

Only ASCII decimal digits are numbers here: ``str.isdigit`` and ``int`` accept ``²``, ``٣`` and
``1_000``, which no attncost input means. Floats must be finite (``nan``, ``inf`` and ``1e400`` are
errors, not values that poison a formula or a loop), and every number has bounds; where the work grows
with a value (a shape's elements on real tensors, a module's repeated branches), the bound says so.
Each function raises ``error`` (the caller's :class:`attncost.errors.AttncostError` subclass: this
module imports nothing of the package, so the lowest layer can use it) with a message that starts
with ``label``, the input as the user gave it (``--samples 0``, ``vit-layer.mlp_ratio='nan'``).
"""

from __future__ import annotations

import math
import re

#: the largest integer a user may type anywhere (a size, a hyperparameter, an option): 2^31, which
#: every real tensor dimension and kernel size is far below, and whose products stay exact integers
MAX_INT = 2 ** 31

_INT = re.compile(r"[+-]?[0-9]+")
_FLOAT = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_NON_FINITE = {"nan", "+nan", "-nan", "inf", "+inf", "-inf", "infinity", "+infinity", "-infinity"}
_MAX_DIGITS = 40                        # longer digit strings are "too large" without converting them


def _show(number) -> str:
    """2147483648 -> '2147483648 (2^31)'; 0.5 -> '0.5'."""
    if isinstance(number, float) and number.is_integer() and abs(number) < 2 ** 53:
        number = int(number)
    if isinstance(number, int) and number > 1024 and number & (number - 1) == 0:
        return f"{number} (2^{number.bit_length() - 1})"
    return f"{number:g}" if isinstance(number, float) else str(number)


def is_ascii_int(text: str) -> bool:
    """``text`` is an optionally signed run of ASCII digits (``12``, ``-3``; not ``²``, ``1_0``, ``1.0``)."""
    return isinstance(text, str) and _INT.fullmatch(text) is not None


def parse_int(text: str, label: str, *, error, minimum=None, maximum=MAX_INT) -> int:
    """``text`` as an integer in [minimum, maximum], else ``error`` naming ``label``."""
    text = str(text).strip()
    if not is_ascii_int(text):
        raise error(f"{label} is not an integer")
    if len(text.lstrip("+-")) > _MAX_DIGITS:
        raise error(f"{label} is too large" + (f" (at most {_show(maximum)})" if maximum is not None else ""))
    return check_number(int(text), label, minimum=minimum, maximum=maximum, error=error)


def parse_float(text: str, label: str, *, error, minimum=None, maximum=None, above=None) -> float:
    """``text`` as a finite float in the bounds (``above``: strictly greater), else ``error``."""
    text = str(text).strip()
    if text.lower() in _NON_FINITE:
        raise error(f"{label} must be a finite number")
    if _FLOAT.fullmatch(text) is None:
        raise error(f"{label} is not a number")
    return check_number(float(text), label, minimum=minimum, maximum=maximum, above=above, error=error)


def check_number(value, label: str, *, error, minimum=None, maximum=None, above=None):
    """``value`` (an int or a float) if it is finite and within the bounds, else ``error``:
    ``minimum``/``maximum`` inclusive, ``above`` exclusive."""
    if isinstance(value, float) and not math.isfinite(value):
        raise error(f"{label} must be a finite number")
    if above is not None and not value > above:
        raise error(f"{label} must be above {_show(above)}")
    if minimum is not None and value < minimum:
        raise error(f"{label} must be at least {_show(minimum)}")
    if maximum is not None and value > maximum:
        raise error(f"{label} must be at most {_show(maximum)}")
    return value
