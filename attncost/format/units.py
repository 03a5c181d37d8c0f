"""Human units for counts, bytes and ratios, as fvcore, ptflops and torchinfo print them.

Counts (params, MACs, FLOPs, op counts) take SI prefixes, powers of 1000 (``25.56 M``, ``4.089 G``);
bytes take binary prefixes, powers of 1024 (``393.0 KiB``, ``97.66 MiB``), as the allocator and
``nvidia-smi`` count them. Both keep :data:`SIGNIFICANT` significant digits, so a paper's
``3.864 G`` reads as printed. Values below one unit are printed whole (``5``, ``812 B``). Ratios keep
:data:`RATIO_DIGITS` significant digits in positional notation (``0.156``, ``3.19``, ``127,000``),
never switching to scientific notation between rows.

Integers are scaled exactly (integer arithmetic, rounded half to even), so ``human_count(n)`` is
``n`` to within half a unit of its last printed digit however large ``n`` is.

These are presentation only: results stay exact integers in data (JSON, CSV, the Python API's
``to_dict``), and ``--units exact`` prints those integers with thousands separators instead.
"""

from __future__ import annotations

import enum
import math
import re
from fractions import Fraction

from ..errors import AttncostError


class Units(str, enum.Enum):
    """How a table prints numbers: ``human`` (K/M/G, KiB/MiB/GiB) or ``exact`` (every digit)."""

    HUMAN = "human"
    EXACT = "exact"


UNITS = [u.value for u in Units]

#: significant digits of a count or a byte size in human units
SIGNIFICANT = 4
#: significant digits of a ratio
RATIO_DIGITS = 3

COUNT_PREFIXES = ("", " K", " M", " G", " T", " P", " E")
BYTE_PREFIXES = (" B", " KiB", " MiB", " GiB", " TiB", " PiB", " EiB")

#: what each prefix means: counts in powers of 1000, bytes in powers of 1024 (:func:`legend`)
COUNT_POWERS = {prefix.strip(): f"10^{3 * step}" for step, prefix in enumerate(COUNT_PREFIXES) if step}
BYTE_POWERS = {prefix.strip(): f"2^{10 * step}" for step, prefix in enumerate(BYTE_PREFIXES) if step}
#: a number printed with a prefix (``25.56 M``, ``3.864 G``, ``393.0 KiB``, ``1,000 EiB``)
_PRINTED = re.compile(r"(?<![\w.,])\d[\d,]*(?:\.\d+)? (" + "|".join([*COUNT_POWERS, *BYTE_POWERS]) + r")(?!\w)")


def legend(texts) -> str | None:
    """The line under a table printed in human units: what each prefix printed in ``texts`` (the
    table, the lines under it) means, in the order of their size, e.g. ``units: K, M = 10^3, 10^6;
    KiB, MiB = 2^10, 2^20 bytes``; None when they print none (every number below 1000, or 1 KiB)."""
    used = {match.group(1) for text in texts for match in _PRINTED.finditer(str(text))}
    parts = []
    for powers, what in ((COUNT_POWERS, ""), (BYTE_POWERS, " bytes")):
        shown = [prefix for prefix in powers if prefix in used]
        if shown:
            parts.append(f"{', '.join(shown)} = {', '.join(powers[p] for p in shown)}{what}")
    return f"units: {'; '.join(parts)}" if parts else None


def _digits_text(scaled: int, places: int) -> str:
    """``scaled / 10**places`` written out (``scaled`` >= 0): ``(2556, 2)`` -> ``"25.56"``."""
    if places <= 0:
        return f"{scaled * 10 ** -places:,}"
    whole, frac = divmod(scaled, 10 ** places)
    return f"{whole:,}.{frac:0{places}d}"


def as_number(value):
    """``value`` as an int or a float (numpy and sympy numbers too); None for anything else (a
    symbolic size, text)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return value
    try:
        return int(value.__index__()) if hasattr(value, "__index__") else float(value)
    except (TypeError, ValueError):
        return None


def _scaled(value, base: int, prefixes: tuple) -> str:
    number = as_number(value)
    if number is None:
        return str(value)                                        # a symbolic size: as it is
    value = number
    if isinstance(value, float) and not math.isfinite(value):
        return f"{value}"
    sign = "-" if value < 0 else ""
    magnitude = Fraction(abs(value))
    step = 0
    while magnitude >= base ** (step + 1) and step < len(prefixes) - 1:
        step += 1
    if step == 0:
        if isinstance(value, int):
            return f"{value:,}{prefixes[0]}"
        return f"{_significant(value, SIGNIFICANT)}{prefixes[0]}"
    unit = Fraction(base ** step)
    mantissa = magnitude / unit                                    # in [1, base) here
    places = max(0, SIGNIFICANT - len(str(int(mantissa))))
    scaled = round(mantissa * 10 ** places)                        # exact, half to even
    if places and scaled >= 10 ** SIGNIFICANT:                     # 9.9996 K rounds to 10.000 K: 10.00 K
        places -= 1
        scaled = round(mantissa * 10 ** places)
    if scaled >= base * 10 ** places and step < len(prefixes) - 1:  # 999.96 K rounds to 1000.0 K: 1.000 M
        return _scaled(-base ** (step + 1) if value < 0 else base ** (step + 1), base, prefixes)
    return f"{sign}{_digits_text(scaled, places)}{prefixes[step]}"


def human_count(value) -> str:
    """``25557032`` -> ``"25.56 M"``; ``5`` -> ``"5"`` (powers of 1000)."""
    return _scaled(value, 1000, COUNT_PREFIXES)


def human_bytes(value) -> str:
    """``402432`` -> ``"393.0 KiB"``; ``812`` -> ``"812 B"`` (powers of 1024)."""
    return _scaled(value, 1024, BYTE_PREFIXES)


def exact(value) -> str:
    """Every digit, with thousands separators: ``25557032`` -> ``"25,557,032"``; a float as a ratio."""
    if isinstance(value, bool) or value is None:
        return "-" if value is None else str(value)
    number = as_number(value)
    if number is None:
        return str(value)
    return f"{number:,}" if isinstance(number, int) else ratio(number)


def _significant(value: float, digits: int) -> str:
    """``value`` with ``digits`` significant digits, positional (never ``1.27e+05``)."""
    if not math.isfinite(value):
        return f"{value}"
    if value == 0:
        return "0"
    places = digits - 1 - int(math.floor(math.log10(abs(value))))
    if abs(round(value, places)) >= 10 ** (digits - places):     # 0.9996 rounds up to the next decade
        places -= 1
    return f"{round(value, places):,.{max(0, places)}f}"


def ratio(value: float) -> str:
    """A ratio with :data:`RATIO_DIGITS` significant digits, positional: ``0.156``, ``1.00``,
    ``3.19``, ``127,000``; ``inf`` when the reference is zero."""
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return _significant(float(value), RATIO_DIGITS)


def percent(share: float) -> str:
    """A share in 0..1 as a percentage with :data:`RATIO_DIGITS` significant digits: ``0.0902`` ->
    ``"9.02%"``, ``0.00171`` -> ``"0.171%"``, ``0`` -> ``"0%"``."""
    return f"{ratio(100 * float(share))}%"


#: what a byte size may be written in (:func:`parse_bytes`): binary and decimal prefixes, bytes
BYTE_UNITS = {"": 1, "b": 1, "kib": 2 ** 10, "mib": 2 ** 20, "gib": 2 ** 30, "tib": 2 ** 40, "pib": 2 ** 50,
              "kb": 10 ** 3, "mb": 10 ** 6, "gb": 10 ** 9, "tb": 10 ** 12, "pb": 10 ** 15}
_BYTE_SIZE = re.compile(r"^([0-9]+(?:\.[0-9]+)?)\s*([a-z]*)$")


def parse_bytes(text, what: str = "--budget") -> int:
    """A memory size as people write it, to bytes: ``16GiB`` (2^30), ``1.5 GB`` (10^9), ``512MiB``,
    ``17179869184`` (bytes); case-insensitive, ASCII digits. A fraction of a byte rounds down. The
    inverse of :func:`human_bytes` (its ``393.0 KiB`` reads back to within its rounding)."""
    if isinstance(text, int) and not isinstance(text, bool):
        if text < 1:
            raise AttncostError(f"{what} {text!r} must be a positive number of bytes, e.g. 16GiB")
        return text
    match = _BYTE_SIZE.match(str(text).strip().lower()) if isinstance(text, str) and text.isascii() else None
    if match is None or match.group(2) not in BYTE_UNITS:
        raise AttncostError(f"{what} {text!r} must be a size such as 16GiB, 1.5GB, 512MiB or a number of bytes")
    value = Fraction(match.group(1)) * BYTE_UNITS[match.group(2)]
    if value < 1 or value > 2 ** 64:
        raise AttncostError(f"{what} {text!r} must be between 1 byte and 16 EiB")
    return int(value)
