"""The module sections of a report: summary tables, formulas, cost versus resolution with the
crossovers, cost by op kind and memory. Numbers come from the catalogue's formulas (no torch)."""

from __future__ import annotations

import numpy as np
import sympy

from .. import catalogue, query
from ..cost import Convention, flops
from ..cost.conventions import weight
from ..crossover import difference_signs, metric_series, real_roots, sign_changes
from ..shapes import DTYPE_BYTES, format_shape
from ..symbols import H, W
from . import charts
from .mathml import to_mathml
from .page import esc, table

METRIC_TITLES = {"macs": "MACs", "flops": "FLOPs", "params": "parameters", "peak": "peak live elements",
                 "attention-map": "attention-map elements", "activation": "activation elements"}


def summary(spec, shape) -> str:
    """The ``compare`` numbers of every module at one shape, with FLOPs under each convention."""
    rows = []
    for module in spec.modules:
        entry = catalogue.get(module.name)
        row = query.compare_row(entry, shape, module.hp, spec.convention, spec.dtype, module.label)
        row[f"flops ({spec.convention.value})"] = row.pop("flops")
        for convention in spec.conventions[1:]:
            row[f"flops ({convention.value})"] = int(flops(entry.cost(shape, module.hp), convention))
        rows.append(row)
    lead = f"flops ({spec.convention.value})"
    first = rows[0][lead] if rows else 0
    for row in rows:
        row["flops_vs_first"] = round(row[lead] / first, 3) if first else float("nan")
    columns = (["module", "params", "macs"] + [f"flops ({c.value})" for c in spec.conventions]
               + ["flops_vs_first", "activation_bytes", "peak_bytes", "attention_map_bytes"])
    named = ", ".join(c.value for c in spec.conventions)
    return (f"<h3>{esc(format_shape(shape))}</h3>" + table(rows, columns) +
            f'<p class="note">FLOPs under the <b>{esc(named)}</b> convention(s) (docs/CONVENTIONS.md); memory in '
            f"bytes of {esc(spec.dtype)}; flops_vs_first is each module's {esc(lead)} over the first's.</p>")


def formulas(module) -> str:
    """Every quantity of one module in N, C, H, W (and its symbolic hyperparameters) as MathML,
    with the dominant term as H and W grow."""
    entry = catalogue.get(module.name)
    cost = entry.formula(module.hp)
    full = query.formula_rows(cost, Convention.FULL)
    leading = query.formula_rows(cost, Convention.FULL, leading=True)
    keep = ("params", "macs", "flops (full)", "activation_elements", "peak_live_elements", "attention_map_elements")
    rows = [{"quantity": f["quantity"], "formula": to_mathml(f["expression"]), "dominant term": to_mathml(d["expression"])}
            for f, d in zip(full, leading) if f["quantity"] in keep]
    hp = ", ".join(f"{k}={v}" for k, v in sorted(module.hp.items())) or "defaults"
    paper = entry.paper
    return (f"<h3>{esc(module.label)}</h3>"
            f'<p class="note">{esc(entry.summary)}. {esc(paper.title)} ({esc(paper.venue)}), {esc(paper.equation)}. '
            f"Hyperparameters: {esc(hp)}; symbols: {esc(', '.join(sorted(str(s) for s in cost.free_symbols)))}.</p>"
            + table(rows, ["quantity", "formula", "dominant term"], raw_columns=("formula", "dominant term"),
                    css_class="formula", widths=("12%", "58%", "30%")))


def sweep(spec, channels: int, page) -> str:
    """Cost versus H = W at ``channels`` channels, log-log, with every crossing between two modules
    marked at the size where the cheaper one changes and labelled with the root of the floor-free
    equality (the symbolic solution)."""
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
    title = f"{METRIC_TITLES[metric]} versus resolution at C={channels}"
    if metric == "flops":
        title += f" ({spec.convention.value} convention)"
    fig = charts.resolution_sweep(values, series, crossings, title, METRIC_TITLES[metric])
    rows = [{"modules": f"{c['a']} / {c['b']}", "H=W": c["H=W"], "cheaper from here on": c["cheaper from here"],
             "symbolic solution": c["symbolic"]} for c in crossings]
    return (f"<h3>C = {channels}, N = {batch}, H = W from {values[0]} to {values[-1]}</h3>" + page.figure(fig)
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

