"""Render results as a table (:mod:`.grid`, tabulate's layouts), JSON, CSV or Markdown.

Results are data (numbers, lists, dicts); everything about how they read happens here: units
(:mod:`.units`, by the column kinds of :mod:`.columns`), percentages, the total row and the lines
under a table. ``render`` prints rows with their metadata; ``render_result`` prints a result
document of ``network`` or ``compare`` (the schema of docs/JSON.md).

- **table, markdown**: human units by default (``25.56 M``, ``393.0 KiB``; ``--units exact``: every
  digit, with thousands separators), ratios with 3 significant digits, then the metadata one
  ``key: value`` a line (markdown: a list), wrapped at :data:`WIDTH` characters, then a line saying
  what the units are;
- **JSON, CSV**: exact numbers always. CSV starts with the metadata as ``# key: value`` comment lines
  (``pandas.read_csv(path, comment="#")`` skips them), then one header line and the rows.

A document with a training step (``mode: train``, docs/TRAINING.md) reads the same way, with its
``training`` object as lines under the table (options, forward/backward/step counts, memory); a
``compare`` of training steps has too many columns for a terminal, so its table and markdown are
transposed: one row per quantity, one column per module (CSV and JSON keep one row per module).
"""

from __future__ import annotations

import csv
import enum
import io
import json
import textwrap

from ..shapes import DTYPE_BYTES
from . import columns
from .grid import grid
from .units import Units, human_bytes, human_count, legend, percent


class OutputFormat(str, enum.Enum):
    TABLE = "table"
    JSON = "json"
    CSV = "csv"
    MARKDOWN = "markdown"


FORMATS = [f.value for f in OutputFormat]
#: the longest line of the metadata under a table (longer values wrap, continuation lines indented)
WIDTH = 100
#: formats that print numbers as data (exact), where ``--units`` has no effect
DATA_FORMATS = (OutputFormat.JSON, OutputFormat.CSV)


class OutputStyle(str):
    """How to print: the format and, for table and markdown, the units (``--format``, ``--units``).

    It is the format's string (``"table"``, ``"json"``, ...) with ``units`` on it, so code written for
    a format name (``fmt == "json"``, ``OutputFormat(fmt)``) reads a style unchanged."""

    format: OutputFormat
    units: Units

    def __new__(cls, format: OutputFormat | str = OutputFormat.TABLE, units: Units | str = Units.HUMAN):
        fmt = OutputFormat(format)
        style = super().__new__(cls, fmt.value)
        style.format, style.units = fmt, Units(units)
        return style

    def __eq__(self, other):
        if isinstance(other, OutputStyle):
            return (self.format, self.units) == (other.format, other.units)
        return str.__eq__(self, other)

    def __ne__(self, other):
        return not self == other

    __hash__ = str.__hash__

    def __repr__(self):
        return f"OutputStyle({self.format.value!r}, {self.units.value!r})"

    @classmethod
    def of(cls, fmt: OutputStyle | OutputFormat | str = OutputFormat.TABLE, units: Units | str | None = None):
        """``fmt`` as a style: a style as it is (``units`` overriding its units), a format with ``units``
        (default human)."""
        if isinstance(fmt, OutputStyle):
            return fmt if units is None else cls(fmt.format, units)
        return cls(OutputFormat(fmt), Units.HUMAN if units is None else units)


# -- pieces ----------------------------------------------------------------------------------------------

def _cell(value, units: Units = Units.HUMAN, name: str = ""):
    """One value as a table prints it (by its column's kind: see :mod:`.columns`)."""
    return columns.cell(name, value, units)


def _comment(value) -> str:
    """A metadata value on a CSV comment line: text as it is, anything else as JSON (exact numbers)."""
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return " ".join(text.split("\n"))


def _csv_cell(value):
    """A CSV cell: a list or an object as JSON (``[]``, ``["aten.foo.default"]``), so a reader parses it
    back with ``json.loads``; None an empty cell; anything else as it is."""
    return json.dumps(value, default=str) if isinstance(value, (list, tuple, dict)) else value


def _csv(rows: list[dict], meta: list[tuple[str, object]] = (), columns: list[str] | None = None) -> str:
    """``# key: value`` lines, then the header and the rows; ``columns``: the header where there are no
    rows (so that a reader still finds the columns)."""
    out = io.StringIO()
    for key, value in meta:
        out.write(f"# {key}: {_comment(value)}\n")
    fieldnames = list(rows[0]) if rows else list(columns or [])
    if fieldnames:
        writer = csv.DictWriter(out, fieldnames=fieldnames, lineterminator="\n")
        writer.writeheader()
        writer.writerows({key: _csv_cell(value) for key, value in row.items()} for row in rows)
    return out.getvalue().rstrip("\n")


def _table(rows: list[dict], style: OutputStyle, total: dict | None = None, keys: list[str] | None = None) -> str:
    """Rows (dicts with the same keys) as a table or markdown; ``total`` a last row under a rule;
    ``keys``: the columns where there are no rows (a breakdown of a forward that ran no op: its
    header and total row)."""
    keys = list(rows[0]) if rows else list(keys or (total or {}))
    shown = rows + ([total] if total else [])
    basis = rows or shown                                  # no rows: the total row says which are numbers
    body = [[_cell(r.get(k), style.units, k) for k in keys] for r in shown]
    numeric = [bool(basis) and all(isinstance(r.get(k), (int, float)) or r.get(k) is None for r in basis)
               and any(r.get(k) is not None for r in basis) for k in keys]
    markdown = style.format is OutputFormat.MARKDOWN
    if total and markdown:
        body[-1][0] = f"**{body[-1][0]}**"
    text = grid(body, [columns.header(k) for k in keys], markdown, ["right" if n else "left" for n in numeric])
    if total and rows and not markdown:                   # a rule above the total row, as under the header
        lines = text.split("\n")
        text = "\n".join(lines[:-1] + [lines[1], lines[-1]])
    return text


def units_line(keys, units: Units = Units.HUMAN, texts=()) -> str | None:
    """The line saying what a table's units are, if it prints any (counts or bytes): in human units
    the prefixes ``texts`` (the table and the lines under it) print (:func:`units.legend`), in exact
    units which columns are bytes."""
    if not columns.has_units(keys):
        return None
    if Units(units) is Units.HUMAN:
        return legend(texts)
    in_bytes = [columns.header(k) for k in keys if columns.kind(k) is columns.Kind.BYTES]
    return "units: exact integers" + (f"; {', '.join(in_bytes)} in bytes" if in_bytes else "")


def _footer(items: list[tuple[str, object]], markdown: bool) -> str:
    """Metadata, one ``key: value`` a line of at most :data:`WIDTH` characters (markdown: a list)."""
    lead = "- " if markdown else ""
    lines = []
    for key, value in items:
        text = f"{lead}{key}: {value}" if key else f"{lead}{value}"
        lines.append(textwrap.fill(text, width=WIDTH, subsequent_indent="  ", break_long_words=False,
                                   break_on_hyphens=False))
    return "\n".join(lines)


#: the most characters of a text cell in a plain table (a terminal's line; markdown, JSON and CSV keep
#: texts whole): ``list``'s summaries and papers, ``list --networks``' sources run to hundreds
TEXT_CELL_WIDTH = 80


def _cut_text(value):
    """A text longer than :data:`TEXT_CELL_WIDTH` cut at a word boundary and ended ``...``; any other
    value itself (the same object, so a caller can tell whether anything was cut)."""
    if not isinstance(value, str) or len(value) <= TEXT_CELL_WIDTH:
        return value
    head = value[:TEXT_CELL_WIDTH - 3]
    if " " in head[TEXT_CELL_WIDTH // 2:]:
        head = head[:head.rindex(" ")]
    return head.rstrip(" ,;:(") + "..."


def render(rows: list[dict], fmt: OutputStyle | OutputFormat | str = OutputFormat.TABLE, meta: dict | None = None,
           *, units: Units | str | None = None, cut_texts: bool = False) -> str:
    """Rows (dicts with the same keys) in ``fmt`` (a format, or an :class:`OutputStyle` with the units).
    ``meta`` (e.g. the convention) goes into JSON, as ``# key: value`` lines before CSV's header, and
    under tables one ``key: value`` a line, with the units line last. ``cut_texts``: a plain table
    cuts prose longer than :data:`TEXT_CELL_WIDTH` (never a formula: ``formula`` keeps them whole)."""
    style = OutputStyle.of(fmt, units)
    meta = meta or {}
    if style.format is OutputFormat.JSON:
        return json.dumps({**meta, "rows": rows}, indent=2, default=str)
    if style.format is OutputFormat.CSV:
        return _csv(rows, list(meta.items()))
    cut = cut_texts and style.format is OutputFormat.TABLE and any(_cut_text(v) is not v for row in rows for v in row.values())
    text = _table([{k: _cut_text(v) for k, v in row.items()} for row in rows] if cut else rows, style)
    items = [(key, _cell(value)) for key, value in meta.items()]
    if cut:
        items.append(("", f"texts longer than {TEXT_CELL_WIDTH} characters are cut (...); --format markdown, json "
                          "or csv gives them whole"))
    line = units_line(list(rows[0]) if rows else [], style.units, [text, *(value for _, value in items)])
    if line:
        items.append(("", line))
    if items:
        text += "\n\n" + _footer(items, style.format is OutputFormat.MARKDOWN)
    return text


# -- result documents (network, compare) ---------------------------------------------------------------

#: columns of a result's rows that only JSON carries (lists and flags that read badly in a table)
JSON_ONLY = ("scope", "own")
#: fields the lines under a result's table say otherwise (the table, the total row, the summary)
_CAPTION_SKIP = {"schema_version", "command", "rows", "modules", "totals", "attention_share", "incomplete",
                 "unsupported_ops", "group_by", "reported", "training"}
_CAPTION_HEAD = ("network", "shape", "convention", "dtype")
#: the CSV comment lines leave out only the rows themselves
_CSV_SKIP = ("rows", "modules")
_MEMORY = (("activation_bytes", "activation"), ("peak_bytes", "peak"), ("attention_map_bytes", "attention map"))


def _shape(value) -> str:
    return "x".join(str(v) for v in value) if isinstance(value, (list, tuple)) else str(value)


def _dtype(dtype) -> str:
    size = DTYPE_BYTES.get(dtype)
    return f"{dtype} ({size} byte{'s' if size != 1 else ''} per element)" if size else str(dtype)


def _count(value, units: Units) -> str:
    return human_count(value) if units is Units.HUMAN and isinstance(value, int) else _cell(value, Units.EXACT)


def _bytes(value, units: Units) -> str:
    if units is Units.HUMAN and isinstance(value, int):
        return human_bytes(value)
    return f"{_cell(value, Units.EXACT)} B"


def summary(doc: dict, units: Units | str = Units.HUMAN) -> list[tuple[str, str]]:
    """The lines under a result's table as ``(key, text)``: what was counted (network, shape,
    convention, dtype), the totals (FLOPs under the convention), memory in bytes, the attention
    share, the reported top-1 (where a source reports one for the build), and the rest (``note``,
    ``traced_with``, ...)."""
    units = Units(units)
    items = [(key, _shape(doc[key]) if key == "shape" else _dtype(doc[key]) if key == "dtype" else str(doc[key]))
             for key in _CAPTION_HEAD if doc.get(key) is not None]
    totals = doc.get("totals") or {}
    counted = [(label, totals[key]) for key, label in (("params", "params"), ("macs", "MACs"), ("flops", "FLOPs"))
               if key in totals]
    if counted:
        convention = f" ({doc['convention']})" if doc.get("convention") and "flops" in totals else ""
        items.append(("total", ", ".join(f"{_count(value, units)} {label}" for label, value in counted) + convention))
    memory = [(label, totals[key]) for key, label in _MEMORY if key in totals]
    if memory:
        items.append(("memory", ", ".join(f"{label} {_bytes(value, units)}" for label, value in memory)))
    share = doc.get("attention_share")
    if share:
        items.append(("attention share", ", ".join(
            f"{key} {percent(share[f'{key}_share'])}" for key in ("params", "macs", "flops") if f"{key}_share" in share)))
    reported = doc.get("reported")
    if reported:
        items.append(("reported top-1", reported_text(reported)))
    if doc.get("training"):
        items += training_lines(doc["training"], doc.get("convention"), units)
    items += [(key.replace("_", " "), _cell(value, units)) for key, value in doc.items()
              if key not in _CAPTION_SKIP and key not in _CAPTION_HEAD and value is not None]
    return items


#: the memory of a training step, as the lines under a table name it
_TRAINING_MEMORY = (("saved_activation_bytes", "saved for backward"),
                    ("activation_peak_bytes", "activations + gradients at peak"), ("parameter_bytes", "parameters"),
                    ("gradient_bytes", "gradients"), ("master_weight_bytes", "master weights"),
                    ("optimizer_state_bytes", "optimizer state"))


def training_lines(training: dict, convention=None, units: Units | str = Units.HUMAN) -> list[tuple[str, str]]:
    """A document's ``training`` object as lines: its options, and where it has them, the step's
    forward, backward and total counts and its memory (``train peak`` last: the whole step's peak)."""
    units = Units(units)
    options = f"{training['optimizer']}, {training['precision']}"
    if training.get("checkpoint"):
        options += f", checkpointed: {', '.join(training['checkpoint'])}"
    if training.get("train_only"):
        options += f", only {', '.join(training['train_only'])} trained"
    if "trainable_params" in training:
        options += f", {_count(training['trainable_params'], units)} trainable params"
    if training.get("counted_by"):
        options += f" ({'one step traced' if training['counted_by'] == 'traced' else 'from the formula'})"
    items = [("training", options)]
    if "step_flops" in training:
        conv = f" ({convention})" if convention else ""
        items.append(("training step", "; ".join(
            f"{phase} {_count(training[f'{phase}_macs'], units)} MACs, "
            f"{_count(training[f'{phase}_flops'], units)} FLOPs" for phase in ("forward", "backward", "step")) + conv))
        memory = ", ".join(f"{label} {_bytes(training[key], units)}" for key, label in _TRAINING_MEMORY
                           if training.get(key))
        items.append(("training memory", f"{memory}; train peak {_bytes(training['train_peak_bytes'], units)}"))
    return items


def reported_text(reported: dict) -> str:
    """A ``reported`` object (docs/JSON.md) as the line under a table: the primary source's top-1, its
    resolution and source, and the other sources' top-1 (JSON has their sources and settings)."""
    text = f"{reported['top1']:g}% at {reported['resolution']}x{reported['resolution']} ({reported['source']})"
    others = reported.get("also") or []
    if others:
        text += "; other sources: " + ", ".join(f"{o['top1']:g}%" for o in others)
    return text


def caption(doc: dict, units: Units | str = Units.HUMAN) -> str:
    """The lines under a result's table (:func:`summary`), one ``key: value`` a line."""
    return _footer(summary(doc, units), markdown=False)


def csv_metadata(doc: dict) -> list[tuple[str, object]]:
    """A result document's fields as CSV comment lines, exact: top-level fields by their JSON key (null
    ones left out), those of ``totals`` and ``attention_share`` as ``totals.params``,
    ``attention_share.flops_share``; ``shape`` as ``1x3x224x224``, other values as JSON."""
    items = []
    for key, value in doc.items():
        if key in _CSV_SKIP or value is None:
            continue
        if isinstance(value, dict):
            items += [(f"{key}.{inner}", v) for inner, v in value.items()]
        else:
            items.append((key, _shape(value) if key == "shape" else value))
    return items


def incomplete_line(doc: dict) -> str | None:
    """The warning a result with uncounted ops ends with, in every format but JSON (which has
    ``incomplete`` and ``unsupported_ops``); None for a complete one."""
    if not doc.get("incomplete"):
        return None
    ops = doc.get("unsupported_ops") or []
    named = ", ".join(f"{op['op']} (x{op['calls']:,}, first in {op['scope']})" for op in ops)
    return (f"INCOMPLETE: {len(ops)} aten op{'s' if len(ops) != 1 else ''} "
            f"{'have' if len(ops) != 1 else 'has'} no formula: {named} - totals undercount")


#: the columns of a network's breakdown rows after its ``group_by`` key (docs/JSON.md), and those a
#: training step adds
BREAKDOWN_COLUMNS = ("params", "macs", "flops")
TRAINING_COLUMNS = ("forward_flops", "backward_flops", "step_flops")


def breakdown_columns(doc: dict, rows: list[dict]) -> list[str]:
    """The columns of a result's rows: the first row's keys, or for a network breakdown without rows
    (a forward that ran no op, or none with an op kind under ``--group-by op``) the breakdown's."""
    if rows:
        return list(rows[0])
    if doc.get("command") != "network" or not doc.get("group_by"):
        return []
    return [doc["group_by"], *BREAKDOWN_COLUMNS, *(TRAINING_COLUMNS if doc.get("training") else ())]


def _shown_rows(doc: dict) -> list[dict]:
    """The rows a result's table and CSV show: the per-module rows where there are any (``--depth``),
    else the breakdown; without the columns only JSON carries."""
    rows = doc.get("modules") or doc.get("rows") or []
    return [{k: v for k, v in row.items() if k not in JSON_ONLY} for row in rows]


def total_row(doc: dict, rows: list[dict]) -> dict | None:
    """The breakdown's total row: ``totals`` under the breakdown's columns, labelled ``total`` (also
    under a breakdown without rows, so a forward that ran no op still shows its zeros). None for
    ``compare`` (its rows are alternatives) and for the per-module table (its rows nest: parents
    are the sums of their children, so a column's sum counts everything more than once)."""
    totals, group_by = doc.get("totals"), doc.get("group_by")
    keys = breakdown_columns(doc, rows)
    if not totals or doc.get("modules") or group_by not in keys:
        return None
    known = {**(doc.get("training") or {}), **totals}
    return {key: ("total" if key == group_by else known.get(key)) for key in keys}


def transposed(rows: list[dict], key: str) -> list[dict]:
    """Rows of alternatives (one per ``rows[i][key]``) as one row per quantity: ``{quantity: header,
    <key value>: value, ...}``; each value printed by its quantity's column kind (:func:`columns.cell`)."""
    names = [str(row[key]) for row in rows]
    quantities = [k for k in (rows[0] if rows else {}) if k != key and k not in JSON_ONLY]
    return [{"quantity": q, **{name: row.get(q) for name, row in zip(names, rows)}} for q in quantities]


#: how a transposed table labels its quantities (others: :func:`columns.header`)
QUANTITY_LABELS = {"macs": "inference MACs", "flops": "inference FLOPs", "activation_bytes": "inference activations",
                   "peak_bytes": "inference peak", "attention_map_bytes": "attention map",
                   "flops_vs_first": "inference FLOPs / first", "forward_macs": "forward MACs",
                   "forward_flops": "forward FLOPs", "backward_macs": "backward MACs",
                   "backward_flops": "backward FLOPs",
                   "step_macs": "step MACs", "step_flops": "step FLOPs", "trainable_params": "trainable params",
                   "saved_activation_bytes": "saved for backward",
                   "activation_peak_bytes": "activations + gradients peak", "parameter_bytes": "parameters",
                   "gradient_bytes": "gradients", "master_weight_bytes": "master weights",
                   "optimizer_state_bytes": "optimizer state", "train_peak_bytes": "train peak (whole step)"}


def _transposed_table(rows: list[dict], key: str, style: OutputStyle) -> str:
    names = [str(row[key]) for row in rows]
    body = [[QUANTITY_LABELS.get(line["quantity"], columns.header(line["quantity"]))]
            + [columns.cell(line["quantity"], line[n], style.units) for n in names] for line in transposed(rows, key)]
    return grid(body, ["quantity", *names], style.format is OutputFormat.MARKDOWN, ["left"] + ["right"] * len(names))


def render_result(doc: dict, fmt: OutputStyle | OutputFormat | str = OutputFormat.TABLE, *,
                  units: Units | str | None = None) -> str:
    """A result document in ``fmt``: JSON as it is; otherwise its ``modules`` rows where present (the
    per-module table), else its ``rows`` with a total row (table, markdown), then the summary lines
    and the units line (table, markdown) or, before the header, the metadata as ``#`` comment lines
    (CSV); for an incomplete result the INCOMPLETE line last (CSV: a ``#`` comment line)."""
    style = OutputStyle.of(fmt, units)
    if style.format is OutputFormat.JSON:
        return json.dumps(doc, indent=2)
    rows = _shown_rows(doc)
    keys = breakdown_columns(doc, rows)
    warning = incomplete_line(doc)
    if style.format is OutputFormat.CSV:
        return _csv(rows, csv_metadata(doc), keys) + (f"\n# {warning}" if warning else "")
    markdown = style.format is OutputFormat.MARKDOWN
    items = summary(doc, style.units)
    if doc.get("command") == "compare" and doc.get("training") and rows:
        table = _transposed_table(rows, "module", style)
    else:
        table = _table(rows, style, total_row(doc, rows), keys)
    line = units_line(keys or ["params"], style.units, [table, *(text for _, text in items)])
    if line:
        items.append(("", line))
    text = table + "\n\n" + _footer(items, markdown)
    if warning:
        text += f"\n\n**{warning}**" if markdown else f"\n\n{warning}"
    return text
