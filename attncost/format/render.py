"""Render a list of row dicts as a table (tabulate), JSON, CSV or Markdown."""

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
    numeric = [bool(rows) and all(isinstance(r[h], (int, float)) for r in rows) for h in headers]
    text = tabulate(body, headers=headers, tablefmt="github" if fmt is OutputFormat.MARKDOWN else "simple",
                    disable_numparse=True, colalign=["right" if n else "left" for n in numeric])
    if meta:
        text += "\n\n" + "; ".join(f"{k}: {v}" for k, v in meta.items())
    return text
