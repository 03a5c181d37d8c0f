"""One self-contained HTML page: sections of escaped text, tables, MathML and plotly figures.

plotly's JavaScript is embedded once in the page (no CDN, nothing fetched), each figure is a div
with a deterministic id, and nothing time- or machine-dependent is written, so the same inputs give
the same bytes.
"""

from __future__ import annotations

import html
import json

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0 auto; max-width: 1200px;
       padding: 0 24px 48px; color: #222; }
h1 { margin-top: 24px; } h2 { border-bottom: 1px solid #ddd; padding-bottom: 4px; margin-top: 40px; }
table { border-collapse: collapse; margin: 12px 0; font-size: 13px; }
th, td { border: 1px solid #ddd; padding: 4px 8px; text-align: right; vertical-align: top; }
th { background: #f4f4f4; } td.text, th.text { text-align: left; }
.meta { color: #555; font-size: 13px; } .note { color: #555; font-size: 13px; max-width: 900px; }
nav ul { columns: 2; font-size: 14px; } math[display="block"] { margin: 4px 0; }
.formula { table-layout: fixed; width: 100%; } .formula td { text-align: left; }
.formula td > div { overflow-x: auto; max-width: 100%; }
.pair { display: grid; grid-template-columns: 1fr 1fr; gap: 12px; } .pair > div { min-width: 0; }
@media (max-width: 900px) { .pair { grid-template-columns: 1fr; } }
"""


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


def table(rows: list[dict], columns: list[str] | None = None, raw_columns: tuple = (), css_class: str = "",
          widths: tuple = ()) -> str:
    """An HTML table of ``rows``; every cell is escaped except those in ``raw_columns`` (markup the
    report made itself, such as MathML)."""
    if not rows:
        return '<p class="note">(nothing to show)</p>'
    columns = columns or list(rows[0])
    text_columns = {c for c in columns if any(isinstance(r.get(c), str) for r in rows)}

    def cell(row, column, tag):
        value = row.get(column, "")
        content = f"<div>{value}</div>" if column in raw_columns else esc(number(value))
        cls = ' class="text"' if column in text_columns or column in raw_columns else ""
        return f"<{tag}{cls}>{content}</{tag}>"

    head = "".join(f'<th{" class=text" if c in text_columns else ""}' + (f' style="width:{esc(w)}"' if w else "")
                   + f">{esc(c)}</th>" for c, w in zip(columns, list(widths) + [""] * len(columns)))
    body = "".join("<tr>" + "".join(cell(r, c, "td") for c in columns) + "</tr>" for r in rows)
    cls = f' class="{esc(css_class)}"' if css_class else ""
    return f"<table{cls}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


class Page:
    """Collects sections and figures, then renders the whole page."""

    def __init__(self, title: str, meta: dict):
        self.title = title
        self.meta = meta
        self.sections: list[tuple[str, str, str]] = []     # (anchor, heading, html)
        self._figures = 0

    def figure(self, fig) -> str:
        """A plotly figure as a div (deterministic id) plus the call that draws it."""
        self._figures += 1
        div_id = f"figure-{self._figures}"
        spec = fig.to_plotly_json()
        payload = json.dumps({"data": spec.get("data", []), "layout": spec.get("layout", {})},
                             cls=_plotly_encoder(), sort_keys=True)
        payload = payload.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
        config = '{"displaylogo": false, "responsive": true}'
        return (f'<div id="{div_id}" class="plotly-graph-div" style="width:100%;min-height:420px"></div>\n'
                f'<script>(function(){{var f={payload};Plotly.newPlot("{div_id}",f.data,f.layout,{config});}})();'
                f"</script>")

    @property
    def figure_count(self) -> int:
        return self._figures

    def add(self, anchor: str, heading: str, body: str) -> None:
        self.sections.append((anchor, heading, body))

    def render(self) -> str:
        from plotly.offline import get_plotlyjs

        meta = "".join(f"<li><b>{esc(k)}</b>: {esc(v)}</li>" for k, v in self.meta.items())
        nav = "".join(f'<li><a href="#{esc(a)}">{esc(h)}</a></li>' for a, h, _ in self.sections)
        sections = "".join(f'<section id="{esc(a)}"><h2>{esc(h)}</h2>{body}</section>\n'
                           for a, h, body in self.sections)
        return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                f"<title>{esc(self.title)}</title><style>{STYLE}</style>\n"
                f'<script type="text/javascript">{get_plotlyjs()}</script>\n</head><body>\n'
                f"<h1>{esc(self.title)}</h1><ul class=\"meta\">{meta}</ul><nav><ul>{nav}</ul></nav>\n"
                f"{sections}</body></html>\n")


def _plotly_encoder():
    from plotly.utils import PlotlyJSONEncoder

    return PlotlyJSONEncoder
