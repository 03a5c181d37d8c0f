"""One self-contained HTML page: sections of escaped text, tables, MathML and plotly figures.

plotly's JavaScript is embedded once in the page (no CDN, nothing fetched), each figure is a div
with a deterministic id, and nothing time- or machine-dependent is written, so the same inputs give
the same bytes.
"""

from __future__ import annotations

import html
import json
import math

from ..format.units import human_bytes, human_count, ratio

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0 auto; max-width: 1200px;
       padding: 0 24px 48px; color: #222; }
h1 { margin-top: 24px; } h2 { border-bottom: 1px solid #ddd; padding-bottom: 4px; margin-top: 40px; }
table { border-collapse: collapse; margin: 12px 0; font-size: 13px; }
th, td { border: 1px solid #ddd; padding: 4px 8px; text-align: right; vertical-align: top; }
th { background: #f4f4f4; } td { white-space: nowrap; } td.text, th.text { text-align: left; white-space: normal; }
td[title] { cursor: help; }
.table-scroll { max-width: 100%; overflow-x: auto; }
.meta { color: #555; font-size: 13px; } .note { color: #555; font-size: 13px; max-width: 900px; }
nav ul { columns: 2; font-size: 14px; }
.verdict { background: #f7f9fc; border: 1px solid #dde3ee; border-radius: 6px; padding: 4px 20px 12px; }
.verdict h3 { font-size: 15px; margin: 14px 0 4px; } .verdict ul { margin: 4px 0; padding-left: 20px; }
.verdict li { margin: 3px 0; line-height: 1.45; }
.formula { table-layout: fixed; width: 100%; } .formula td { text-align: left; overflow-wrap: anywhere; }
.formula td > div { max-width: 100%; }
table.sources td.text { overflow-wrap: anywhere; min-width: 4em; }
.mflow { display: inline-flex; flex-wrap: wrap; align-items: baseline; max-width: 100%; row-gap: 2px;
         box-sizing: border-box; padding-left: 1.5em; } .mflow > :first-child { margin-left: -1.5em; }
.mflow > .mflow:first-child { max-width: calc(100% + 1.5em); }
.pair { display: grid; grid-template-columns: 1fr 1fr; gap: 12px; } .pair > div { min-width: 0; }
details.toggle { margin: 16px 0; } details.toggle > summary { cursor: pointer; font-weight: 600; }
@media (max-width: 900px) { .pair { grid-template-columns: 1fr; } }
@page { size: A4; margin: 15mm; }
@media print {
  body { max-width: none; padding: 0; font-size: 11pt; }
  nav, details.toggle, .modebar-container, .updatemenu-container { display: none !important; }
  section { break-before: page; } section.verdict { break-before: auto; }
  h2, h3 { break-after: avoid; }
  .pair { display: block; }
  .plotly-graph-div { break-inside: avoid; width: 100% !important; }
  .table-scroll { overflow: visible; }
  table { width: 100%; font-size: 8pt; } thead { display: table-header-group; } tr, li { break-inside: avoid; }
  th, td { padding: 2px 3px; }
}
"""

#: Draws the figures (one call per figure, from its own script), lazily for those inside a closed
#: ``<details>`` (drawn when it opens; resized when it reopens), and sizes the charts for A4 paper
#: while the page prints.
RUNTIME = """
var attncost = (function () {
  "use strict";
  var config = {displaylogo: false, responsive: true}, pending = {}, PRINT_WIDTH = 680;
  function draw(id, f) { return Plotly.newPlot(id, f.data, f.layout, config); }
  function drawn() {
    return Array.prototype.filter.call(document.querySelectorAll("div.plotly-graph-div"),
                                       function (div) { return div.data && div.offsetParent !== null; });
  }
  document.addEventListener("toggle", function (event) {
    var details = event.target;
    if (!details.open || !details.querySelectorAll) { return; }
    details.querySelectorAll("div.plotly-graph-div").forEach(function (div) {
      var f = pending[div.id];
      if (f) { delete pending[div.id]; draw(div.id, f); } else if (div.data) { Plotly.Plots.resize(div); }
    });
  }, true);
  window.addEventListener("beforeprint", function () {
    drawn().forEach(function (div) { Plotly.relayout(div, {width: PRINT_WIDTH}); });
  });
  window.addEventListener("afterprint", function () {
    drawn().forEach(function (div) {
      Plotly.relayout(div, {width: null}).then(function () { Plotly.Plots.resize(div); });
    });
  });
  return {
    plot: function (id, f) {
      if (document.getElementById(id).closest("details:not([open])")) { pending[id] = f; } else { draw(id, f); }
    },
    pending: function () { return Object.keys(pending); }
  };
})();
"""

#: How :func:`table` shows a column's numbers (``units={column: kind}``); the exact value goes in
#: the cell's ``title`` (hover). A ``+`` kind is a change, shown with its sign.
UNIT_KINDS = ("count", "bytes", "ratio", "percent", "+count", "+bytes", "+percent")


def esc(text) -> str:
    return html.escape(str(text), quote=True)


def number(value) -> str:
    """Integers with thousands separators; floats to 4 significant digits; others as text."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def human(value, kind: str) -> tuple[str, str]:
    """(shown text, exact title) of a number in human units (:mod:`attncost.format.units`)."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return ("-" if value is None else str(value)), ""
    signed = kind.startswith("+")
    base = kind.lstrip("+")
    sign = "+" if signed and value > 0 else ""
    if base == "count":
        return sign + human_count(value), f"{value:+,}" if signed else f"{value:,}"
    if base == "bytes":
        exact = f"{value:+,}" if signed else f"{value:,}"
        return sign + human_bytes(value), exact + " bytes"
    if base == "ratio":
        return ratio(value), repr(float(value))
    if base == "percent":
        shown = ("-" if value < 0 else sign) + ratio(abs(100 * value)) + "%"
        return shown, f"{100 * value:{'+' if signed else ''}.9g}%"
    raise ValueError(f"unknown unit kind {kind!r} (one of {', '.join(UNIT_KINDS)})")


def table(rows: list[dict], columns: list[str] | None = None, raw_columns: tuple = (), css_class: str = "",
          widths: tuple = (), units: dict | None = None, headers: dict | None = None) -> str:
    """An HTML table of ``rows``; every cell is escaped except those in ``raw_columns`` (markup the
    report made itself, such as MathML). ``units`` maps a column to a kind of :data:`UNIT_KINDS`: its
    numbers show in human units with the exact value as the cell's title; ``headers`` maps a column
    to the heading shown. Tables other than formula tables scroll sideways on a narrow screen
    rather than overflow the page."""
    if not rows:
        return '<p class="note">(nothing to show)</p>'
    columns = columns or list(rows[0])
    units = units or {}
    headers = headers or {}
    text_columns = {c for c in columns if c not in units and any(isinstance(r.get(c), str) for r in rows)}

    def cell(row, column):
        value = row.get(column, "")
        cls = ' class="text"' if column in text_columns or column in raw_columns else ""
        if column in raw_columns:
            return f"<td{cls}><div>{value}</div></td>"
        if column in units and not isinstance(value, str):
            shown, exact = human(value, units[column])
            title = f' title="{esc(exact)}"' if exact else ""
            return f"<td{cls}{title}>{esc(shown)}</td>"
        return f"<td{cls}>{esc(number(value))}</td>"

    head = "".join(f'<th{" class=text" if c in text_columns else ""}' + (f' style="width:{esc(w)}"' if w else "")
                   + f">{esc(headers.get(c, c))}</th>" for c, w in zip(columns, list(widths) + [""] * len(columns)))
    body = "".join("<tr>" + "".join(cell(r, c) for c in columns) + "</tr>" for r in rows)
    cls = f' class="{esc(css_class)}"' if css_class else ""
    markup = f"<table{cls}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    return markup if css_class == "formula" else f'<div class="table-scroll">{markup}</div>'


class Page:
    """Collects sections and figures, then renders the whole page."""

    def __init__(self, title: str, meta: dict):
        self.title = title
        self.meta = meta
        self.sections: list[tuple[str, str, str, str]] = []     # (anchor, heading, html, class)
        self._figures = 0

    def figure(self, fig) -> str:
        """A plotly figure as a div (deterministic id) plus the call that draws it (``attncost.plot``
        of :data:`RUNTIME`: at once, or when the ``<details>`` holding it first opens)."""
        self._figures += 1
        div_id = f"figure-{self._figures}"
        spec = fig.to_plotly_json()
        payload = json.dumps({"data": spec.get("data", []), "layout": spec.get("layout", {})},
                             cls=_plotly_encoder(), sort_keys=True)
        payload = payload.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
        return (f'<div id="{div_id}" class="plotly-graph-div" style="width:100%;min-height:420px"></div>\n'
                f'<script>(function(){{var f={payload};attncost.plot("{div_id}",f);}})();</script>')

    @property
    def figure_count(self) -> int:
        return self._figures

    def add(self, anchor: str, heading: str, body: str, css_class: str = "") -> None:
        self.sections.append((anchor, heading, body, css_class))

    def render(self) -> str:
        from plotly.offline import get_plotlyjs

        meta = "".join(f"<li><b>{esc(k)}</b>: {esc(v)}</li>" for k, v in self.meta.items())
        nav = "".join(f'<li><a href="#{esc(a)}">{esc(h)}</a></li>' for a, h, _, _ in self.sections)
        sections = "".join(f'<section id="{esc(a)}"' + (f' class="{esc(c)}"' if c else "") + f"><h2>{esc(h)}</h2>{body}</section>\n"
                           for a, h, body, c in self.sections)
        return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                f"<title>{esc(self.title)}</title><style>{STYLE}</style>\n"
                f'<script type="text/javascript">{get_plotlyjs()}</script>\n<script>{RUNTIME}</script>\n</head><body>\n'
                f"<h1>{esc(self.title)}</h1><ul class=\"meta\">{meta}</ul><nav><ul>{nav}</ul></nav>\n"
                f"{sections}</body></html>\n")


def _plotly_encoder():
    from plotly.utils import PlotlyJSONEncoder

    return PlotlyJSONEncoder
