"""The report's plotly figures, built from plain numbers (no cost logic here).

Every label that comes from a user (module aliases, network names) is HTML-escaped before it reaches
plotly, because plotly renders a small HTML subset inside its SVG text; escaped, ``<script>`` shows
as text.
"""

from __future__ import annotations

import plotly.graph_objects as go

from .page import esc

#: One colour per op category, so that every bar chart uses the same colours for the same work.
CATEGORY_COLOURS = {
    "mac": "#1f77b4", "bias": "#aec7e8", "elementwise": "#ff7f0e", "reduce": "#ffbb78", "pool": "#2ca02c",
    "softmax": "#d62728", "norm": "#9467bd", "interpolate": "#8c564b", "copy": "#7f7f7f",
}
LAYOUT = dict(template="plotly_white", font=dict(size=12), margin=dict(l=60, r=20, t=50, b=50))


def _kind_colour(kind: str, index: int) -> str:
    """The category's colour, lightened a step for each further kind of the same category."""
    base = CATEGORY_COLOURS.get(kind.split(".", 1)[0], "#17becf")
    mix = min(0.15 * index, 0.75)
    rgb = [int(base[i:i + 2], 16) for i in (1, 3, 5)]
    return "#" + "".join(f"{round(c + (255 - c) * mix):02x}" for c in rgb)


def resolution_sweep(values, series: dict, crossings: list, title: str, y_title: str) -> go.Figure:
    """Cost versus H = W on log-log axes, one line per module; ``crossings`` are dicts with x, y and
    label, drawn as labelled markers."""
    fig = go.Figure()
    for label, ys in series.items():
        fig.add_trace(go.Scatter(x=list(map(int, values)), y=[None if y != y else float(y) for y in ys],
                                 mode="lines", name=esc(label)))
    if crossings:
        fig.add_trace(go.Scatter(
            x=[c["x"] for c in crossings], y=[c["y"] for c in crossings], mode="markers+text",
            marker=dict(symbol="x", size=10, color="black"), name="crossovers",
            text=[esc(c["short"]) for c in crossings], textposition="top left", textfont=dict(size=9),
            hovertext=[esc(c["label"]) for c in crossings], hoverinfo="text"))
    fig.update_layout(title=esc(title), xaxis=dict(type="log", title="H = W"),
                      yaxis=dict(type="log", title=esc(y_title)), **LAYOUT)
    return fig


def stacked_by_kind(labels: list, by_kind: dict, title: str, y_title: str) -> go.Figure:
    """One stacked bar per module; ``by_kind`` maps op kind -> value per module. A button switches
    the y axis between linear and log (modules differ by orders of magnitude)."""
    fig = go.Figure()
    counters: dict = {}
    for kind in sorted(by_kind):
        category = kind.split(".", 1)[0]
        counters[category] = counters.get(category, -1) + 1
        fig.add_trace(go.Bar(x=[esc(label) for label in labels], y=by_kind[kind], name=esc(kind),
                             marker_color=_kind_colour(kind, counters[category])))
    fig.update_layout(barmode="stack", title=esc(title), yaxis=dict(title=esc(y_title)), **LAYOUT,
                      updatemenus=[_axis_buttons()])
    return fig


def memory_bars(labels: list, series: dict, title: str) -> go.Figure:
    """Grouped bars (log y): peak live memory next to the attention map (and activations) per module."""
    fig = go.Figure()
    for name, ys in series.items():
        fig.add_trace(go.Bar(x=[esc(label) for label in labels], y=ys, name=esc(name)))
    fig.update_layout(barmode="group", title=esc(title), yaxis=dict(type="log", title="bytes"), **LAYOUT)
    return fig


def overhead_bars(networks: list, series: dict, hover: dict, title: str) -> go.Figure:
    """Grouped bars: one group per network, one bar per metric (``series``: metric -> Δ % per
    network), ``hover`` the absolute change shown on hovering a bar."""
    fig = go.Figure()
    for metric, ys in series.items():
        fig.add_trace(go.Bar(x=[esc(n) for n in networks], y=ys, name=esc(metric),
                             hovertext=[esc(h) for h in hover[metric]], hoverinfo="text"))
    fig.update_layout(barmode="group", title=esc(title), yaxis=dict(title="change (%)", zeroline=True),
                      legend=dict(orientation="h", y=-0.25), height=480, **LAYOUT)
    return fig


def accuracy_vs_cost(panels: list, title: str) -> go.Figure:
    """Reported top-1 against each cost of ``panels`` (dicts: title, x, y, labels, hover, front), side by
    side: every network a labelled point (filled when on the Pareto front), the front a step line
    through its points in order of cost. A cost axis is logarithmic when its values span a factor of
    more than 10; labels sit right of their point, left of it in the upper part of the axis, and are
    never clipped at a panel's edge."""
    import math

    from plotly.subplots import make_subplots

    fig = make_subplots(rows=1, cols=len(panels), shared_yaxes=True, horizontal_spacing=0.07,
                        subplot_titles=[esc(p["title"]) for p in panels])
    for col, panel in enumerate(panels, start=1):
        xs = panel["x"]
        positive = [x for x in xs if x > 0]
        log = len(positive) == len(xs) and max(xs) > 10 * min(xs)
        scale = (lambda v: math.log10(v)) if log else (lambda v: v)
        lo, hi = min(map(scale, xs)), max(map(scale, xs))
        pad = 0.12 * (hi - lo) or (0.05 * abs(hi) if hi else 1.0)
        fig.add_trace(go.Scatter(
            x=xs, y=panel["y"], mode="markers+text", name="networks", legendgroup="networks",
            showlegend=col == 1, text=[esc(label) for label in panel["labels"]], cliponaxis=False,
            textposition=["middle left" if scale(x) > lo + 0.6 * (hi - lo) else "middle right" for x in xs],
            textfont=dict(size=10), hovertext=[esc(h) for h in panel["hover"]], hoverinfo="text",
            marker=dict(size=9, color=["#d62728" if f else "#ffffff" for f in panel["front"]],
                        line=dict(width=1.5, color=["#d62728" if f else "#7f7f7f" for f in panel["front"]]))),
            row=1, col=col)
        front = sorted((x, y) for x, y, f in zip(xs, panel["y"], panel["front"]) if f)
        fig.add_trace(go.Scatter(x=[x for x, _ in front], y=[y for _, y in front], mode="lines",
                                 line=dict(shape="hv", color="#d62728", dash="dot"), name="Pareto front",
                                 legendgroup="front", showlegend=col == 1, hoverinfo="skip"), row=1, col=col)
        fig.update_xaxes(title_text=esc(panel["title"]), type="log" if log else "linear",
                         range=[lo - pad, hi + pad], row=1, col=col)
    fig.update_yaxes(title_text="reported top-1 (%)", row=1, col=1)
    fig.update_layout(title=esc(title), height=520, legend=dict(orientation="h", y=-0.2), **LAYOUT)
    return fig


def cost_sunburst(ids: list, labels: list, parents: list, values: list, title: str) -> go.Figure:
    """Network cost as a sunburst: stage, block, body or attention module, op kind."""
    fig = go.Figure(go.Sunburst(ids=[esc(i) for i in ids], labels=[esc(label) for label in labels],
                                parents=[esc(p) for p in parents], values=values, branchvalues="total",
                                maxdepth=3))
    fig.update_layout(title=esc(title), height=560, **{**LAYOUT, "margin": dict(l=10, r=10, t=50, b=10)})
    return fig


def lut_heatmap(rows: list, columns: list, z: list, title: str) -> go.Figure:
    """A latency lookup table: layers down, options across, milliseconds as colour and text."""
    fig = go.Figure(go.Heatmap(z=z, x=[esc(c) for c in columns], y=[esc(r) for r in rows], colorscale="Viridis",
                               colorbar=dict(title="ms"),
                               text=[[("" if v is None else f"{v:.3g}") for v in row] for row in z],
                               texttemplate="%{text}"))
    fig.update_layout(title=esc(title), height=max(360, 22 * len(rows) + 120),
                      yaxis=dict(autorange="reversed", title="layer"), xaxis=dict(title="option"), **LAYOUT)
    return fig


def predicted_vs_measured(series: dict, title: str) -> go.Figure:
    """Scatter of each estimate (``series``: label -> rows of name, predicted_ms, measured_ms) against
    measured latency, with the y = x line."""
    values = [v for rows in series.values() for r in rows for v in (r["predicted_ms"], r["measured_ms"])]
    lo, hi = min(values), max(values)
    fig = go.Figure()
    for label, rows in series.items():
        fig.add_trace(go.Scatter(x=[r["measured_ms"] for r in rows], y=[r["predicted_ms"] for r in rows],
                                 mode="markers", name=esc(label), hovertext=[esc(r["name"]) for r in rows],
                                 hoverinfo="text+x+y"))
    fig.add_trace(go.Scatter(x=[lo, hi], y=[lo, hi], mode="lines", name="estimate = measured",
                             line=dict(dash="dash", color="grey")))
    fig.update_layout(title=esc(title), xaxis=dict(title="measured (ms)"), yaxis=dict(title="estimated (ms)"),
                      **LAYOUT)
    return fig


def _axis_buttons() -> dict:
    return dict(type="buttons", direction="right", x=0.0, xanchor="left", y=1.0, yanchor="bottom",
                buttons=[dict(label="linear", method="relayout", args=[{"yaxis.type": "linear"}]),
                         dict(label="log", method="relayout", args=[{"yaxis.type": "log"}])])
