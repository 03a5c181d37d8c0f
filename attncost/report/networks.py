"""The network sections of a report: the walker's totals, the attention share, and a sunburst of
cost by stage, block, body or attention module, and op kind."""

from __future__ import annotations

from ..shapes import DTYPE_BYTES
from ..cost import Program, flops
from ..cost.conventions import weight
from ..graph import walk
from ..networks import forward
from . import charts
from .page import esc


def walk_network(choice, shape):
    g = Program()
    return walk(g, forward(g, g.input(shape), choice.spec))


def share_row(choice, result, conventions, dtype, baseline=None) -> dict:
    """One network's totals and what its attention costs: absolute, as a share, and against the
    first network of the report (``baseline``, that network's row; None for the first itself). FLOPs
    under every convention in ``conventions``; the share and the Δ under the first."""
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
        "attention share of flops": f"{float(share['flops_share']):.2%}",
        "attention share of params": f"{float(share['params_share']):.2%}",
    }
    baseline = baseline or row
    key = f"flops ({convention.value})"
    row["Δ params vs first"] = row["params"] - baseline["params"]
    row["Δ flops vs first"] = row[key] - baseline[key]
    return row


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
    return f"<h3>{esc(choice.label)}</h3>" + page.figure(fig)
