"""The graph of a network's ops and the one walker over it (networkx, imported when a graph is first
built; no torch, no sympy for concrete shapes).

Nodes are the ops a Program ran (views folded away), each carrying its scope (stage, block,
attention module), counts and parameters; edges are tensors, from the op that allocated a storage to
each op that reads it. The walker gives totals, breakdowns by stage / block / module kind / op kind,
the share spent in attention, peak live memory (from the Program's liveness) and the critical path
for any per-node weight. Run on a Program with symbolic N, H, W, every number is an expression, so a
resolution sweep is one compiled function rather than a loop of walks.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING

from ..cost import Convention, Cost, OpRecord, Program, flops

if TYPE_CHECKING:
    import networkx as nx

#: what a breakdown groups by (``--group-by``): stage, block, module kind (attention or conv body), op kind
GROUP_BY = ("stage", "block", "kind", "op")


@dataclass
class WalkResult:
    """What :func:`walk` gives for a Program (a reference network's, a user model's traced ops): its
    total cost, the op records behind it and (built on first use) its op graph.

    ``inputs`` (storage -> elements: tensors live from the start), ``outputs`` (storages kept live to
    the end) and ``attention_maps`` ((scope, elements) of each attention map marked) let
    :func:`attncost.graph.modules.module_table` give every module its own peak and attention map;
    without them it reports those only for the whole network."""

    total: Cost
    records: list
    inputs: dict = field(default_factory=dict)
    outputs: tuple = ()
    attention_maps: list | None = None

    @functools.cached_property
    def graph(self) -> nx.DiGraph:
        """The op graph of the records; built when first asked for, since totals and breakdowns
        need only the records (about a quarter of a ResNet-50 walk's time goes to networkx)."""
        return build_graph(self.records)

    # -- breakdowns --------------------------------------------------------------------------------
    def breakdown(self, group_by: str = "stage", convention=Convention.FULL) -> list[dict]:
        """Rows of params, MACs and FLOPs per group: ``stage``, ``block``, ``kind`` (attention module
        or "conv body"), or ``op`` (op kind)."""
        groups: dict = {}
        for rec in self.records:
            if group_by == "op":
                for kind, value in rec.counts.items():
                    row = groups.setdefault(kind, {"params": 0, "counts": {}})
                    row["counts"][kind] = row["counts"].get(kind, 0) + value
                continue
            key = _group_key(rec.scope, group_by)
            row = groups.setdefault(key, {"params": 0, "counts": {}})
            row["params"] += rec.params
            for kind, value in rec.counts.items():
                row["counts"][kind] = row["counts"].get(kind, 0) + value
        rows = []
        for key, row in groups.items():
            cost = Cost(counts=row["counts"], params=row["params"])
            rows.append({group_by: key, "params": cost.params, "macs": cost.macs, "flops": flops(cost, convention)})
        return rows

    def attention_share(self, convention=Convention.FULL) -> dict:
        """Params, MACs and FLOPs inside attention modules, and their share of the total."""
        counts: dict = {}
        params = 0
        for rec in self.records:
            if any(s.startswith("attention:") for s in rec.scope):
                params += rec.params
                for kind, value in rec.counts.items():
                    counts[kind] = counts.get(kind, 0) + value
        inside = Cost(counts=counts, params=params)
        out = {"params": inside.params, "macs": inside.macs, "flops": flops(inside, convention)}
        totals = {"params": self.total.params, "macs": self.total.macs, "flops": flops(self.total, convention)}
        for key in list(out):
            out[f"{key}_share"] = _fraction(out[key], totals[key]) if totals[key] != 0 else 0
        return out

    def critical_path(self, weight: str = "macs") -> tuple[list[int], object]:
        """The heaviest chain of dependent ops for a per-node weight (``macs`` or ``elements``)."""
        import networkx as nx

        weighted = nx.DiGraph()          # networkx weighs edges: carry each node's weight on its in-edges
        weighted.add_nodes_from(self.graph.nodes)
        weighted.add_weighted_edges_from((u, v, self.graph.nodes[v][weight]) for u, v in self.graph.edges)
        path = nx.dag_longest_path(weighted)
        return path, sum(self.graph.nodes[n][weight] for n in path)


def _fraction(part, whole):
    """``part / whole`` exactly: a Fraction of two ints, else a sympy quotient."""
    if isinstance(part, int) and isinstance(whole, int):
        return Fraction(part, whole)
    return part / whole


def _group_key(scope: tuple, group_by: str) -> str:
    stage = next((s for s in scope if s.startswith(("stage", "stem", "head"))), None)
    stage = stage or (scope[0] if scope and not scope[0].startswith("attention:") else "other")
    if group_by == "stage":
        return stage
    if group_by == "block":
        return "/".join(s for s in scope if not s.startswith("attention:")) or "other"
    if group_by == "kind":
        return next((s.split(":", 1)[1] for s in scope if s.startswith("attention:")), "conv body")
    raise ValueError(f"unknown grouping {group_by!r}")


def build_graph(records: list[OpRecord]) -> nx.DiGraph:
    """Op records -> DiGraph: one node per op that computes or allocates, edges along storages."""
    import networkx as nx

    graph = nx.DiGraph()
    producer: dict = {}
    for rec in records:
        if not rec.counts and not rec.allocations:
            continue                                  # a view: no node
        macs = sum(v for k, v in rec.counts.items() if k.startswith("mac."))
        graph.add_node(rec.index, scope="/".join(rec.scope), counts=rec.counts, params=rec.params,
                       macs=macs, elements=sum(e for _, e in rec.allocations))
        for storage in rec.uses:
            if storage in producer and producer[storage] != rec.index:
                graph.add_edge(producer[storage], rec.index)
        for storage, _ in rec.allocations:
            producer[storage] = rec.index
    return graph


def walk(program: Program, outputs) -> WalkResult:
    """Finish ``program`` and build its graph."""
    outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
    total = program.finish(*outputs)
    return WalkResult(total, list(program.records), program.inputs(), tuple(o.storage for o in outputs),
                       program.attention_maps())
