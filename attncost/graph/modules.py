"""The per-module cost table: one row per module (scope) of a walked network, parents summing their
children (no torch).

A network's op records carry the scope they ran in: ``("stage2", "block1", "attention:se")`` for a
reference network, the module path (``layer1.0.se`` as ``("layer1", "0", "attention:se")``) for a
user's model. The scopes form a tree; the row of a node aggregates every record whose scope starts
with the node's path:

- ``params``, op ``counts`` (so MACs and FLOPs under any convention) and ``activation_elements``
  (elements of every tensor its ops allocate) are sums: a parent is the sum of its children plus
  the ops it runs itself, outside any child (``out += identity`` in a residual block, a functional
  ``torch.relu``). Where a shown row has shown children and such ops of its own, those appear as an
  extra child row, ``own=True`` (printed ``NAME (own)``), so that the children of every parent add
  up to it exactly and the rows without children add up to the network's totals.
- ``peak_live_elements`` of a module is the largest sum of live tensors (by the liveness rule of
  :mod:`attncost.cost.liveness`: the whole network's, the input and tensors held for later, such as
  a residual's identity, included) at any step at which one of the module's ops runs: the
  high-water mark while the module runs. A parent's peak is the largest of its children's (and its
  own ops'); the network's peak is the largest of its top rows' (the input alone aside, before any
  op runs). A module that runs no op has none (``None``).
- ``attention_map_elements`` is the largest attention map marked inside the module (0 if none),
  so also a maximum over children.

Peaks and attention maps need the walk's inputs, outputs and attention-map scopes (``WalkResult``
has them from :func:`attncost.graph.walk` and :func:`attncost.analyze`); where they are missing, or
the liveness replayed from the records does not give the walk's own peak, rows carry ``None`` and
only the totals have a peak.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..cost import Convention, Cost, flops

OWN = "(own)"          # last path component of a row holding a module's own ops


@dataclass
class ModuleRow:
    """One module's cost, its descendants included (or, for ``own`` rows, only the ops a module runs
    outside its children)."""

    path: tuple                     # scope components from the root; own rows end with OWN
    name: str                       # "stage2/block1/attention:se", "layer1.0.se", "layer1.0 (own)"
    type: str                       # nn.Module class name (user models) or the scope's kind (reference networks)
    depth: int                      # len(path): 1 for the top modules
    own: bool
    params: int
    counts: dict                    # op kind -> count
    activation_elements: int
    peak_live_elements: int | None
    attention_map_elements: int | None

    @property
    def macs(self):
        return sum(v for k, v in self.counts.items() if k.startswith("mac."))

    def flops(self, convention=Convention.FULL):
        return flops(Cost(counts=self.counts), convention)

    def as_dict(self, convention=Convention.FULL, bytes_per_element: int = 4) -> dict:
        """The row as numbers: FLOPs under ``convention``, memory in bytes (None where unknown)."""
        def nbytes(elements):
            return None if elements is None else _int(elements) * bytes_per_element

        return {"module": self.name, "type": self.type, "depth": self.depth, "scope": list(self.path),
                "own": self.own, "params": _int(self.params), "macs": _int(self.macs),
                "flops": _int(self.flops(convention)), "activation_bytes": nbytes(self.activation_elements),
                "peak_bytes": nbytes(self.peak_live_elements),
                "attention_map_bytes": nbytes(self.attention_map_elements)}


@dataclass
class _Sums:
    params: object = 0
    counts: dict = field(default_factory=dict)
    activation: object = 0
    peak: object = None
    attention: object = 0
    steps: int = 0                  # op records (liveness steps) counted here

    def add(self, other: _Sums) -> None:
        self.params += other.params
        for kind, value in other.counts.items():
            self.counts[kind] = self.counts.get(kind, 0) + value
        self.activation += other.activation
        self.peak = _max(self.peak, other.peak)
        self.attention = _max(self.attention, other.attention)
        self.steps += other.steps


@dataclass
class _Node:
    path: tuple
    children: list = field(default_factory=list)
    own: _Sums = field(default_factory=_Sums)
    total: _Sums | None = None


def _max(a, b):
    if a is None:
        return b
    if b is None:
        return a
    return a if a >= b else b


def _int(value):
    try:
        return int(value)
    except TypeError:               # symbolic: leave it to the caller
        return value


def _has_ops(sums: _Sums) -> bool:
    return bool(sums.steps or sums.params or any(sums.counts.values()) or sums.activation)


def live_sums(network) -> list | None:
    """The sum of live elements at each liveness step 0..S of the walk (step k is the k-th op record;
    parameter-only records, with negative index, are no step), or None where the network does not
    carry its inputs or the replayed liveness misses the walk's peak."""
    if not network.inputs:
        return None
    steps = [rec for rec in network.records if rec.index >= 0]
    size, born, last = {}, {}, {}
    for key, elements in network.inputs.items():
        size[key], born[key], last[key] = elements, 0, 0
    for step, rec in enumerate(steps, 1):
        for key in rec.uses:
            if key in last:
                last[key] = step
        for key, elements in rec.allocations:
            size[key], born[key], last[key] = elements, step, step
    end = len(steps)
    for key in network.outputs:
        if key in last:
            last[key] = end
    try:
        delta = [0] * (end + 2)
        for key, elements in size.items():
            delta[born[key]] += int(elements)
            delta[last[key] + 1] -= int(elements)
    except TypeError:               # symbolic sizes: no per-module peaks
        return None
    running, live = 0, []
    for value in delta[:end + 1]:
        running += value
        live.append(running)
    if max(live) != network.total.peak_live_elements:
        return None
    return live


def module_tree(network) -> dict:
    """The scope tree of ``network``'s records: path -> node (``()`` is the root), each node with the
    sums of its own records (``own``) and of its subtree (``total``) and its children's paths."""
    live = live_sums(network)
    nodes: dict = {(): _Node(())}

    def node(path: tuple) -> _Node:
        found = nodes.get(path)
        if found is None:
            parent = node(path[:-1])
            found = nodes[path] = _Node(path)
            parent.children.append(path)
        return found

    step = 0
    for rec in network.records:
        own = node(tuple(rec.scope)).own
        own.params += rec.params
        for kind, value in rec.counts.items():
            own.counts[kind] = own.counts.get(kind, 0) + value
        for _, elements in rec.allocations:
            own.activation += elements
        if rec.index >= 0:
            step += 1
            own.steps += 1
            if live is not None:
                own.peak = _max(own.peak, live[step])
    for scope, elements in network.attention_maps or ():
        own = node(tuple(scope)).own
        own.attention = _max(own.attention, elements)
    if network.attention_maps is None:
        for n in nodes.values():
            n.own.attention = None

    def total(n: _Node) -> _Sums:
        sums = _Sums(attention=None)
        sums.add(n.own)
        for child in n.children:
            sums.add(total(nodes[child]))
        n.total = sums
        return sums

    total(nodes[()])
    return nodes


_KINDS = {"block+": "after block", "after": "after stage"}


def scope_kind(part: str) -> str:
    """The kind of a reference network's scope component: "attention:se" -> "se", "stage2" -> "stage",
    "block3" -> "block", "block3+" (attention after block 3) -> "after block"."""
    if part.startswith("attention:"):
        return part.split(":", 1)[1]
    base = re.sub(r"\d+", "", part)
    return _KINDS.get(base, base)


def module_table(network, depth: int | None = None, names: dict | None = None,
                 root_type: str = "network") -> list[ModuleRow]:
    """Rows of ``network``'s modules down to ``depth`` (None: every level), parents before their
    children, children in the order they first ran (with ``names``: in the order ``names`` lists them,
    a model's definition order), a parent's own ops after its children.

    ``names`` maps a scope tuple to ``(name, type)`` (user models: the module path and class name,
    :meth:`attncost.usermodels.Analysis.modules`); otherwise a row is named by its scope joined with
    "/" and typed by :func:`scope_kind`. ``root_type`` types the row of ops run at the top level."""
    if depth is not None and depth < 1:
        raise ValueError("depth must be at least 1")
    nodes = module_tree(network)
    names = names or {}
    if names:                       # a model's modules in definition order (stable: others as they ran)
        order = {path: i for i, path in enumerate(names)}
        for n in nodes.values():
            n.children.sort(key=lambda path: order.get(path, len(order)))

    def label(path: tuple) -> tuple:
        if path in names:
            return names[path]
        return "/".join(path), scope_kind(path[-1]) if path else root_type

    def row(path: tuple, sums: _Sums, name: str, kind: str, own: bool) -> ModuleRow:
        return ModuleRow(path, name, kind, len(path), own, sums.params, dict(sums.counts), sums.activation,
                         sums.peak, sums.attention)

    rows: list[ModuleRow] = []

    def visit(n: _Node) -> None:
        shown = depth is None or len(n.path) < depth
        if n.path:
            name, kind = label(n.path)
            rows.append(row(n.path, n.total, name, kind, False))
        if not shown or (n.path and not n.children):
            return
        for child in n.children:
            visit(nodes[child])
        if _has_ops(n.own):
            name, kind = label(n.path)
            rows.append(row(n.path + (OWN,), n.own, f"{name} {OWN}" if n.path else "(top level)", kind, True))

    visit(nodes[()])
    return rows
