"""Render results as a table (tabulate), JSON, CSV or Markdown.

Results are data (numbers, lists, dicts); everything about how they read (thousands separators,
percentages, the caption and footer lines) happens here. ``render`` prints rows with a caption;
``render_result`` prints a result document of ``network`` or ``compare`` (the schema of docs/JSON.md).
"""

from __future__ import annotations

import csv
import enum
import io
import json

from tabulate import tabulate


class OutputFormat(str, enum.Enum):
    TABLE = "table"
    JSON = "json"
    CSV = "csv"
    MARKDOWN = "markdown"


FORMATS = [f.value for f in OutputFormat]


def _cell(value):
    if value is None:
        return "-"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.3g}"
    return value


def render(rows: list[dict], fmt: OutputFormat | str = OutputFormat.TABLE, meta: dict | None = None) -> str:
    """Rows (dicts with the same keys) in ``fmt``. ``meta`` (e.g. the convention) goes into JSON
    and as a caption line under tables."""
    fmt = OutputFormat(fmt)
    if fmt is OutputFormat.JSON:
        return json.dumps({**(meta or {}), "rows": rows}, indent=2, default=str)
    if fmt is OutputFormat.CSV:
        out = io.StringIO()
        if rows:
            writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
        return out.getvalue().rstrip("\n")
    headers = list(rows[0]) if rows else []
    body = [[_cell(r[h]) for h in headers] for r in rows]
    numeric = [bool(rows) and all(isinstance(r[h], (int, float)) or r[h] is None for r in rows)
               and any(r[h] is not None for r in rows) for h in headers]
    text = tabulate(body, headers=headers, tablefmt="github" if fmt is OutputFormat.MARKDOWN else "simple",
                    disable_numparse=True, colalign=["right" if n else "left" for n in numeric])
    if meta:
        text += "\n\n" + "; ".join(f"{k}: {v}" for k, v in meta.items())
    return text


# -- result documents (network, compare) ---------------------------------------------------------------

#: columns of a result's rows that only JSON carries (lists and flags that read badly in a table)
JSON_ONLY = ("scope", "own")
_CAPTION_SKIP = {"schema_version", "command", "rows", "modules", "totals", "attention_share", "incomplete",
                 "unsupported_ops", "group_by"}
_CAPTION_HEAD = ("network", "shape", "convention", "dtype")


def _shape(value) -> str:
    return "x".join(str(v) for v in value) if isinstance(value, (list, tuple)) else str(value)


def caption(doc: dict) -> str:
    """The line under a result's table: what was counted, in which convention, and the totals."""
    head = [key for key in _CAPTION_HEAD if doc.get(key) is not None]
    rest = [key for key, value in doc.items() if key not in _CAPTION_SKIP and key not in head and value is not None]
    items = [f"{key}: {_shape(doc[key]) if key == 'shape' else _cell(doc[key])}" for key in head]
    for key, value in (doc.get("totals") or {}).items():
        items.append(f"{key}: {_cell(value)}")
    share = doc.get("attention_share")
    if share:
        items.append("attention share: " + ", ".join(
            f"{key} {share[f'{key}_share']:.2%}" for key in ("params", "macs", "flops") if f"{key}_share" in share))
    items += [f"{key.replace('_', ' ')}: {_cell(doc[key])}" for key in rest]
    return "; ".join(items)


def incomplete_line(doc: dict) -> str | None:
    """The warning a result with uncounted ops ends with, in every format but JSON (which has
    ``incomplete`` and ``unsupported_ops``); None for a complete one."""
    if not doc.get("incomplete"):
        return None
    ops = doc.get("unsupported_ops") or []
    named = ", ".join(f"{op['op']} (x{op['calls']:,}, first in {op['scope']})" for op in ops)
    return (f"INCOMPLETE: {len(ops)} aten op{'s' if len(ops) != 1 else ''} "
            f"{'have' if len(ops) != 1 else 'has'} no formula: {named} - totals undercount")


def render_result(doc: dict, fmt: OutputFormat | str = OutputFormat.TABLE) -> str:
    """A result document in ``fmt``: JSON as it is; otherwise its ``modules`` rows where present (the
    per-module table), else its ``rows``, with the caption (table, markdown) and, for an incomplete
    result, the INCOMPLETE line last (CSV: as a ``#`` comment line)."""
    fmt = OutputFormat(fmt)
    if fmt is OutputFormat.JSON:
        return json.dumps(doc, indent=2)
    rows = doc.get("modules") if doc.get("modules") is not None else doc.get("rows", [])
    rows = [{k: v for k, v in row.items() if k not in JSON_ONLY} for row in rows]
    warning = incomplete_line(doc)
    if fmt is OutputFormat.CSV:
        text = render(rows, fmt)
        return text + (f"\n# {warning}" if warning else "")
    text = render(rows, fmt) + "\n\n" + caption(doc)
    if warning:
        text += f"\n\n**{warning}**" if fmt is OutputFormat.MARKDOWN else f"\n\n{warning}"
    return text
