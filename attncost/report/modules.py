"""The module sections of a report: summary tables, formulas, cost versus resolution with the
crossovers, cost by op kind and memory. Numbers come from the catalogue's formulas (no torch)."""

from __future__ import annotations

import numpy as np
import sympy

from .. import catalogue, query
from ..cost import Convention, flops
from ..cost.conventions import weight
from ..crossings import difference_signs, metric_series, real_roots, sign_changes
from ..shapes import DTYPE_BYTES, format_shape
from ..symbols import H, W
from . import charts
from .mathml import to_flow
from .page import esc, table

METRIC_TITLES = {"macs": "MACs", "flops": "FLOPs", "params": "parameters", "peak": "peak live elements",
                 "attention-map": "attention-map elements", "activation": "activation elements"}


#: what a formula table calls each quantity (the API's names: attention_map_elements, ...)
QUANTITY_LABELS = {"params": "params", "macs": "MACs", "flops (full)": "FLOPs (full)",
                   "activation_elements": "activations", "peak_live_elements": "peak live",
                   "attention_map_elements": "attention map"}
#: the summary table's headings and units (page.table ``units``)
SUMMARY_HEADERS = {"macs": "MACs", "flops_vs_first": "FLOPs ÷ first", "activation_bytes": "activations",
                   "peak_bytes": "peak live", "attention_map_bytes": "attention map"}


def lead_key(spec) -> str:
    """The summary rows' column of FLOPs under the report's first convention (its verdicts and ratios)."""
    return f"flops ({spec.convention.value})"


def summary_rows(spec, shape) -> list[dict]:
    """The ``compare`` numbers of every module at one shape, with FLOPs under each convention and
    ``flops_vs_first`` under the first (exact integers; the ratio a float)."""
    rows = []
    for module in spec.modules:
        entry = catalogue.get(module.name)
        row = query.compare_row(entry, shape, module.hp, spec.convention, spec.dtype, module.label)
        row[lead_key(spec)] = row.pop("flops")
        for convention in spec.conventions[1:]:
            row[f"flops ({convention.value})"] = int(flops(entry.cost(shape, module.hp), convention))
        rows.append(row)
    lead = lead_key(spec)
    first = rows[0][lead] if rows else 0
    for row in rows:
        row["flops_vs_first"] = row[lead] / first if first else (1.0 if row[lead] == 0 else float("inf"))
    return rows


def flops_columns(spec, rows) -> list[str]:
    """The rows' FLOPs columns, one per convention, less ``flops (macs)`` where it equals MACs in
    every row (the macs convention counts the MACs once each)."""
    columns = [f"flops ({c.value})" for c in spec.conventions]
    if "flops (macs)" in columns and all(r["flops (macs)"] == r["macs"] for r in rows):
        columns.remove("flops (macs)")
    return columns


def summary(spec, shape, rows=None, note: bool = True) -> str:
    """The summary table at one shape: human units, the exact integer in each cell's title; the
    note under it (what the columns are) when ``note``."""
    rows = summary_rows(spec, shape) if rows is None else rows
    flops_cols = flops_columns(spec, rows)
    columns = (["module", "params", "macs"] + flops_cols
               + ["flops_vs_first", "activation_bytes", "peak_bytes", "attention_map_bytes"])
    units = {"params": "count", "macs": "count", **{c: "count" for c in flops_cols}, "flops_vs_first": "ratio",
             "activation_bytes": "bytes", "peak_bytes": "bytes", "attention_map_bytes": "bytes"}
    headers = {**SUMMARY_HEADERS, **{f"flops ({c.value})": f"FLOPs ({c.value})" for c in spec.conventions}}
    named = ", ".join(c.value for c in spec.conventions)
    lead = "MACs" if lead_key(spec) not in flops_cols else headers[lead_key(spec)]
    text = (f'<p class="note">FLOPs under the <b>{esc(named)}</b> convention(s) (docs/CONVENTIONS.md)'
            + ("; under macs they are the MACs" if "flops (macs)" not in flops_cols and "macs" in named.split(", ")
               else "")
            + f"; memory in bytes of {esc(spec.dtype)} (activations: every tensor the forward allocates; peak "
            f"live: the most alive at once; attention map: the attention weights); FLOPs ÷ first is each "
            f"module's {esc(lead)} over the first's. Hover a cell for its exact value.</p>")
    return (f"<h3>{esc(format_shape(shape))}</h3>" + table(rows, columns, units=units, headers=headers)
            + (text if note else ""))


def formulas(module) -> str:
    """Every quantity of one module in N, C, H, W (and its symbolic hyperparameters) as MathML,
    with the dominant term as H and W grow; long formulas wrap (``mathml.to_flow``)."""
    entry = catalogue.get(module.name)
    cost = entry.formula(module.hp)
    full = query.formula_rows(cost, Convention.FULL)
    leading = query.formula_rows(cost, Convention.FULL, leading=True)
    rows = [{"quantity": QUANTITY_LABELS[f["quantity"]], "formula": to_flow(f["expression"]),
             "dominant term": to_flow(d["expression"])}
            for f, d in zip(full, leading) if f["quantity"] in QUANTITY_LABELS]
    hp = ", ".join(f"{k}={v}" for k, v in sorted(module.hp.items())) or "defaults"
    paper = entry.paper
    return (f"<h3>{esc(module.label)}</h3>"
            f'<p class="note">{esc(entry.summary)}. {esc(paper.title)} ({esc(paper.venue)}), {esc(paper.equation)}. '
            f"Hyperparameters: {esc(hp)}; symbols: {esc(', '.join(sorted(str(s) for s in cost.free_symbols)))}.</p>"
            + table(rows, ["quantity", "formula", "dominant term"], raw_columns=("formula", "dominant term"),
                    css_class="formula", widths=("14%", "56%", "30%")))


def sweep_data(spec, channels: int) -> dict:
    """Cost versus H = W at ``channels`` channels: ``values`` (the sizes), ``series`` (label -> cost,
    NaN where a module cannot run), ``crossings`` (every size where the cheaper of two modules
    changes, with the root of the floor-free equality: the symbolic solution) and ``cheapest``
    (the runs of sizes over which one module, or a tie, is the cheapest of all)."""
    metric = spec.sweep.metric
    batch = spec.shapes[0][0] if spec.shapes else 1
    values = np.arange(spec.sweep.lo, spec.sweep.hi + 1)
    t = sympy.Symbol("t", positive=True, integer=True)
    shape = [batch, channels, H, W]
    series, exprs, valid = {}, {}, {}
    for module in spec.modules:
        entry = catalogue.get(module.name)
        expr, ys, ok = metric_series(entry, shape, (H, W), module.hp, values, metric, spec.convention, t)
        series[module.label], exprs[module.label], valid[module.label] = ys, expr, ok
    crossings = []
    labels = list(series)
    for i, a in enumerate(labels):
        for b in labels[i + 1:]:
            changes = sign_changes(values, difference_signs(series[a], series[b], valid[a] & valid[b]))
            if not changes:
                continue
            roots = real_roots(exprs[a] - exprs[b], t)[0] if exprs[a] is not None and exprs[b] is not None else []
            for point, before in changes:
                cheaper_after = b if before < 0 else a
                root = min(roots, key=lambda r: abs(r - point)) if roots else None
                solved = f"root {root:.4g} of the floor-free equality" if root is not None else "no closed form"
                crossings.append({
                    "x": point, "y": float(series[a][point - values[0]]), "a": a, "b": b,
                    "short": f"{a}={b}", "H=W": point, "cheaper from here": cheaper_after,
                    "symbolic": solved,
                    "label": f"{a} = {b} at H=W={point} ({solved}); {cheaper_after} is cheaper from here"})
    return {"channels": channels, "batch": batch, "metric": metric, "values": values, "series": series,
            "crossings": crossings, "cheapest": cheapest_runs(values, series)}


def cheapest_runs(values, series: dict) -> list[dict]:
    """``[{"from": H, "to": H, "modules": [labels]}]``: consecutive sizes with the same cheapest
    module(s) (several on a tie); sizes where no module can run are left out."""
    runs: list[dict] = []
    for i, size in enumerate(values):
        costs = {label: ys[i] for label, ys in series.items() if ys[i] == ys[i]}       # NaN: cannot run
        if not costs:
            continue
        low = min(costs.values())
        best = [label for label, cost in costs.items() if cost == low]
        if runs and runs[-1]["modules"] == best and runs[-1]["to"] == int(values[i - 1]):
            runs[-1]["to"] = int(size)
        else:
            runs.append({"from": int(size), "to": int(size), "modules": best})
    return runs


def sweep(spec, channels: int, page, data=None) -> str:
    """The sweep's log-log chart with every crossing marked and labelled, and the crossings' table."""
    data = sweep_data(spec, channels) if data is None else data
    metric, values, crossings = data["metric"], data["values"], data["crossings"]
    title = f"{METRIC_TITLES[metric]} versus resolution at C={channels}"
    if metric == "flops":
        title += f" ({spec.convention.value} convention)"
    fig = charts.resolution_sweep(values, data["series"], crossings, title, METRIC_TITLES[metric])
    rows = [{"modules": f"{c['a']} / {c['b']}", "H=W": c["H=W"], "cheaper from here on": c["cheaper from here"],
             "symbolic solution": c["symbolic"]} for c in crossings]
    return (f"<h3>C = {channels}, N = {data['batch']}, H = W from {values[0]} to {values[-1]}</h3>" + page.figure(fig)
            + (table(rows) if rows else '<p class="note">No two modules cross in this range.</p>'))


def op_kinds_and_memory(spec, shape, page) -> str:
    """Stacked bars of each module's FLOPs by op kind (every op counted: the ``full`` convention, so
    elementwise, softmax and norm work shows) and memory bars: peak live versus the attention map."""
    labels, costs = [], []
    for module in spec.modules:
        labels.append(module.label)
        costs.append(catalogue.get(module.name).cost(shape, module.hp))
    kinds = sorted({k for cost in costs for k in cost.counts if weight(Convention.FULL, k)})
    by_kind = {k: [int(weight(Convention.FULL, k) * cost.counts.get(k, 0)) for cost in costs] for k in kinds}
    nbytes = DTYPE_BYTES[spec.dtype]
    memory = {
        "peak live": [int(c.peak_live_elements) * nbytes for c in costs],
        "attention map": [int(c.attention_map_elements) * nbytes for c in costs],
        "all activations": [int(c.activation_elements) * nbytes for c in costs],
    }
    where = format_shape(shape)
    bars = charts.stacked_by_kind(labels, by_kind, f"FLOPs by op kind at {where} (full convention)", "FLOPs")
    mem = charts.memory_bars(labels, memory, f"Memory at {where} ({spec.dtype})")
    return f'<h3>{esc(where)}</h3><div class="pair"><div>{page.figure(bars)}</div><div>{page.figure(mem)}</div></div>'

