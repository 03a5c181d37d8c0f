"""What each column of a result holds, read from its name: counts, bytes, ratios or anything else.

One registry for every command, so ``compare``, ``network`` (breakdown and ``--depth`` table),
``formula``, ``crossover``, ``verify``, ``list`` and ``lut`` print the same column the same way:

- **bytes**: names ending ``_bytes`` (``peak_bytes``, ``activation_bytes``, ``attention_map_bytes``):
  binary prefixes in human units (``393.0 KiB``);
- **counts**: ``params``, ``macs``, ``flops``, names starting ``count:`` (an op count,
  ``count:mac.conv``), ending ``_params``, ``_macs``, ``_flops`` or ``_elements``, and op kinds
  (dotted names, ``mac.conv``, ``elementwise.add``): SI prefixes (``25.56 M``);
- **ratios**: names ending ``_vs_first``, ``_share`` or ``_ratio``: :func:`units.ratio`, 3
  significant digits, positional;
- **percentages**: names ending ``_percent`` (a reported top-1 accuracy, ``top1_percent``): the
  value as given with two decimals and ``%`` (``77.34%``), in every unit;
- **other**: everything else (a size such as ``from``/``to``, ``depth``, ``configs``): integers with
  thousands separators, floats with 3 significant digits, text as it is.

JSON and CSV keep every key and every number as it is; only table and markdown headers read more
human (``peak_bytes`` is headed ``peak``: its cells, or the units line, say bytes; :func:`header`).
"""

from __future__ import annotations

import enum
import re

from . import units as _units
from .units import Units


class Kind(str, enum.Enum):
    COUNT = "count"
    BYTES = "bytes"
    RATIO = "ratio"
    PERCENT = "percent"
    OTHER = "other"


COUNT_NAMES = frozenset({"params", "macs", "flops"})
COUNT_SUFFIXES = ("_params", "_macs", "_flops", "_elements")
BYTES_SUFFIX = "_bytes"
RATIO_SUFFIXES = ("_vs_first", "_share", "_ratio")
PERCENT_SUFFIX = "_percent"
_OP_KIND = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$")      # mac.conv, elementwise.add, pool.max


def kind(name: str) -> Kind:
    """The kind of column ``name`` (see the module docstring)."""
    name = str(name)
    if name.endswith(BYTES_SUFFIX):
        return Kind.BYTES
    if name.endswith(RATIO_SUFFIXES):
        return Kind.RATIO
    if name.endswith(PERCENT_SUFFIX):
        return Kind.PERCENT
    if name in COUNT_NAMES or name.startswith("count:") or name.endswith(COUNT_SUFFIXES) or _OP_KIND.match(name):
        return Kind.COUNT
    return Kind.OTHER


#: headers shorter than the rules below give, so that the README's tables fit in 100 characters
HEADERS = {"attention_map_bytes": "attn map"}


def header(name: str) -> str:
    """A column's header in a table or markdown: ``peak_bytes`` -> ``peak``, ``activation_bytes`` ->
    ``activation``, ``attention_map_bytes`` -> ``attn map``, ``flops_vs_first`` -> ``flops/first``;
    other names unchanged."""
    name = str(name)
    if name in HEADERS:
        return HEADERS[name]
    if name.endswith(BYTES_SUFFIX):
        return name[:-len(BYTES_SUFFIX)].replace("_", " ")
    if name.endswith("_vs_first"):
        return name[:-len("_vs_first")] + "/first"
    if name.endswith(PERCENT_SUFFIX):
        return name[:-len(PERCENT_SUFFIX)].replace("_", " ")
    return name


def cell(name: str, value, units: Units | str = Units.HUMAN) -> str:
    """One value of column ``name`` as a table prints it."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return str(value)
    column = kind(name)
    if isinstance(value, str) or _units.as_number(value) is None:
        return str(value)                 # text, an expression, or a symbolic size
    value = _units.as_number(value)       # numpy's and sympy's numbers too
    if column is Kind.RATIO:
        return _units.ratio(value)
    if column is Kind.PERCENT:
        return f"{float(value):.2f}%"
    if column in (Kind.COUNT, Kind.BYTES) and Units(units) is Units.HUMAN:
        return _units.human_bytes(value) if column is Kind.BYTES else _units.human_count(value)
    return _units.exact(value)


def has_units(names) -> bool:
    """Whether a table of these columns prints anything in units (a count or a byte column)."""
    return any(kind(n) in (Kind.COUNT, Kind.BYTES) for n in names)
