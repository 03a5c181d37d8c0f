"""The network sections of a report: the walker's totals, the attention share, and a sunburst of
cost by stage, block, body or attention module, and op kind."""

from __future__ import annotations

import dataclasses

from ..shapes import DTYPE_BYTES
from ..cost import Program, flops
from ..cost.conventions import weight
from ..graph import walk
from ..networks import forward
from ..format.units import human_bytes, human_count
from . import charts
from .page import table


#: the totals that rows compare against the first network (and the FLOPs under each convention)
DELTA_KEYS = ("params", "macs", "peak_bytes")


def walk_network(choice, shape):
    g = Program()
    return walk(g, forward(g, g.input(shape), choice.spec))


def share_row(choice, result, conventions, dtype, baseline=None) -> dict:
    """One network's totals and what its attention costs: absolute, as a share, and against the
    first network of the report (``baseline``, that network's row; None for the first itself). FLOPs
    under every convention in ``conventions``; the share and the Δ FLOPs under the first. Numbers
    stay numbers (exact integers, shares as fractions); the page formats them."""
    total = result.total
    convention = conventions[0]
    share = result.attention_share(convention)
    row = {
        "network": choice.label,
        "params": int(total.params),
        "macs": int(total.macs),
        **{f"flops ({c.value})": int(flops(total, c)) for c in conventions},
        "peak_bytes": int(total.peak_live_elements) * DTYPE_BYTES[dtype],
        "attention params": int(share["params"]),
        "attention flops": int(share["flops"]),
        "attention share of flops": float(share["flops_share"]),
        "attention share of params": float(share["params_share"]),
    }
    baseline = baseline or row
    for key in DELTA_KEYS + tuple(f"flops ({c.value})" for c in conventions):
        row[f"Δ {key}"] = row[key] - baseline[key]
    return row


def share_table(rows: list[dict], conventions) -> str:
    """The networks' totals, attention share and change against the first, in human units."""
    convention = conventions[0].value
    lead = f"flops ({convention})"
    flops_cols = [f"flops ({c.value})" for c in conventions]
    if "flops (macs)" in flops_cols and all(r["flops (macs)"] == r["macs"] for r in rows):
        flops_cols.remove("flops (macs)")
    columns = ["network", "params", "macs", *flops_cols, "peak_bytes", "attention params", "attention share of params",
               "attention flops", "attention share of flops", "Δ params", "Δ macs"]
    if lead in flops_cols:
        columns.append(f"Δ {lead}")
    units = {"params": "count", "macs": "count", **{c: "count" for c in flops_cols}, "peak_bytes": "bytes",
             "attention params": "count", "attention flops": "count", "attention share of params": "percent",
             "attention share of flops": "percent", "Δ params": "+count", "Δ macs": "+count", f"Δ {lead}": "+count"}
    headers = {"macs": "MACs", **{c: c.replace("flops", "FLOPs") for c in flops_cols}, "peak_bytes": "peak live",
               "attention share of params": "share of params", "attention flops": f"attention FLOPs ({convention})",
               "attention share of flops": "share of FLOPs", "Δ macs": "Δ MACs", f"Δ {lead}": f"Δ FLOPs ({convention})"}
    return table(rows, columns, units=units, headers=headers)


def overhead_series(rows: list[dict], conventions) -> tuple[dict, dict]:
    """({metric: [Δ % against the first network, one per further network]}, {metric: row key}):
    what each network's attention adds to the first network's params, MACs, FLOPs (under the
    conventions other than macs) and peak live memory."""
    keys = {"params": "params", "MACs": "macs",
            **{f"FLOPs ({c.value})": f"flops ({c.value})" for c in conventions if c.value != "macs"},
            "peak live memory": "peak_bytes"}
    first = rows[0]
    return {label: [100 * row[f"Δ {key}"] / first[key] if first[key] else 0.0 for row in rows[1:]]
            for label, key in keys.items()}, keys


def same_backbone(choices) -> bool:
    """Whether the networks differ only in their attention (so that a change against the first is
    what attention adds)."""
    def backbone(spec):
        try:
            return dataclasses.replace(spec, attention=())
        except (TypeError, ValueError):
            return getattr(spec, "name", spec)

    first = backbone(choices[0].spec) if choices else None
    return all(backbone(c.spec) == first for c in choices)


def overhead_chart(rows: list[dict], conventions, page, attention_only: bool = True) -> str:
    """One grouped-bar chart: for each network after the first, its Δ params, MACs, FLOPs and peak
    in % of the first network's (``attention_only``: the networks differ only in attention)."""
    if len(rows) < 2:
        return ""
    series, keys = overhead_series(rows, conventions)
    hover = {label: [f"{row['network']}: {_signed(row[f'Δ {key}'], key)} ({pct:+.2f}%)"
                     for row, pct in zip(rows[1:], series[label])] for label, key in keys.items()}
    first = rows[0]["network"]
    title = f"What the attention adds, in % of {first}" if attention_only else f"Change against {first}, in %"
    heading = "Attention overhead against the first network" if attention_only else "Against the first network"
    fig = charts.overhead_bars([row["network"] for row in rows[1:]], series, hover, title)
    return f"<h3>{heading}</h3>" + page.figure(fig)


def _signed(value: int, key: str) -> str:
    text = human_bytes(value) if key.endswith("bytes") else human_count(value)
    return ("+" if value > 0 else "") + text


def sunburst(choice, result, convention, page) -> str:
    """Cost by stage -> block -> body/attention module -> op kind, under ``convention``."""
    totals: dict = {}
    for rec in result.records:
        stage = rec.scope[0] if rec.scope else "other"
        block = "/".join(s for s in rec.scope[:2] if not s.startswith("attention:")) or stage
        part = next((s.split(":", 1)[1] for s in rec.scope if s.startswith("attention:")), "body")
        for kind, count in rec.counts.items():
            leaf_value = int(weight(convention, kind) * count)
            if leaf_value:
                key = (stage, block, part, kind)
                totals[key] = totals.get(key, 0) + leaf_value
    ids, labels, parents, values = [], [], [], []
    nodes: dict = {}
    for (stage, block, part, kind), value in totals.items():          # execution order
        path = [stage, block if block != stage else None, part, kind]
        path = [p for p in path if p is not None]
        for depth in range(1, len(path) + 1):
            key = "/".join(path[:depth])
            nodes.setdefault(key, [path[depth - 1], "/".join(path[:depth - 1]), 0])[2] += value
    for key, (label, parent, value) in nodes.items():
        ids.append(key)
        labels.append(label.split("/")[-1])
        parents.append(parent)
        values.append(value)
    fig = charts.cost_sunburst(ids, labels, parents, values,
                               f"{choice.label}: FLOPs ({convention.value}) by stage, block, module and op kind")
    return page.figure(fig)
