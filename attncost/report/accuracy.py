"""The accuracy section of a report: each network's reported ImageNet top-1 against its cost.

The figures are ``attncost/networks/accuracy.yaml``'s, for exactly the build a network of the page is
(:func:`attncost.networks.accuracy.reported_for`, at the page's input resolution); a network no source
reports is named under the chart and left out of it. One panel per cost: MACs, params, peak live memory
and, where the spec's latency measurements name the networks (rows ``{name, measured_ms}`` whose name is
a network's label or definition), measured latency. In each panel the Pareto front is marked: the
networks that no other network beats on both axes (at most the cost and at least the top-1, one of them
strictly). Every point is labelled. The papers train their own baselines, so points from different
sources compare only as far as their settings do; the table under the chart gives each one's.
"""

from __future__ import annotations

from ..format.units import human_bytes, human_count
from ..networks.accuracy import reported_for
from . import charts
from .page import esc, table

#: the costs a panel plots reported top-1 against: (row key, axis title, how a value reads)
COSTS = (("macs", "MACs", human_count), ("params", "params", human_count),
         ("peak_bytes", "peak live memory (bytes)", human_bytes), ("latency_ms", "measured latency (ms)",
                                                                   lambda v: f"{v:.4g} ms"))
TITLE = "Reported top-1 against cost"


def pareto_front(costs, accuracies) -> list[bool]:
    """For each point, whether it is on the Pareto front: no other point has at most its cost and at
    least its accuracy with one of the two strictly better. Equal points are both on the front."""
    points = list(zip(costs, accuracies))
    return [not any(c <= cost and a >= acc and (c < cost or a > acc) for c, a in points)
            for cost, acc in points]


def latency_by_name(latency) -> dict:
    """{architecture name: measured ms} of the spec's latency measurements (empty without them)."""
    if latency.measurements is None:
        return {}
    from .latency import measurements

    found: dict = {}
    for rows in measurements(latency.measurements).values():
        for row in rows:
            found.setdefault(row["name"], row["measured_ms"])
    return found


def accuracy_rows(walked, rows, shape, latency=None) -> tuple[list[dict], list[str]]:
    """(a row per network with a reported top-1: label, top1 and its source, resolution and setting, the
    other sources' top-1, MACs, params, peak bytes and, where measured, latency; the labels of the
    networks without one). ``walked`` are the page's (choice, walk result) pairs, ``rows`` their share
    rows (``networks.share_row``); ``latency`` maps a name to measured milliseconds."""
    latency = latency or {}
    found, missing = [], []
    for (choice, _), row in zip(walked, rows):
        figures = reported_for(choice.spec, shape)
        if not figures:
            missing.append(choice.label)
            continue
        primary = figures[0]
        measured = latency.get(choice.label, latency.get(getattr(choice.spec, "name", None)))
        found.append({"network": choice.label, "top1": primary.top1, "resolution": primary.resolution,
                      "source": primary.source, "setting": primary.setting,
                      "other sources": ", ".join(f"{f.top1:g}%" for f in figures[1:]) or "-",
                      "macs": row["macs"], "params": row["params"], "peak_bytes": row["peak_bytes"],
                      "latency_ms": measured})
    return found, missing


def panels(found: list[dict]) -> list[dict]:
    """One panel per cost that every network of ``found`` has a value of (latency only when each was
    measured): the cost's points, their labels and hover text, and which are on the Pareto front."""
    out = []
    for key, title, shown in COSTS:
        if not found or any(r[key] is None for r in found):
            continue
        xs, ys = [r[key] for r in found], [r["top1"] for r in found]
        out.append({"key": key, "title": title, "x": xs, "y": ys, "labels": [r["network"] for r in found],
                    "front": pareto_front(xs, ys),
                    "hover": [f"{r['network']}: {r['top1']:g}% top-1, {shown(r[key])} ({r['source']})" for r in found]})
    return out


def section(spec, walked, rows, page, latency=None) -> tuple[str, list[dict]]:
    """The chart and its table (and a note naming the networks without a reported top-1), and the rows
    it plotted; ``("", [])`` when no network of the page has a reported top-1."""
    shape = spec.network_input
    found, missing = accuracy_rows(walked, rows, shape, latency_by_name(spec.latency) if latency is None else latency)
    if not found:
        return "", []
    drawn = panels(found)
    fig = charts.accuracy_vs_cost(drawn, f"{TITLE} (ImageNet-1k top-1 at {shape[-1]}x{shape[-2]}, as each source "
                                         f"reports it)")
    on_front = {label for p in drawn if p["key"] == "macs" for label, front in zip(p["labels"], p["front"]) if front}
    table_rows = [{**r, "top-1": f"{r['top1']:g}%", "on the MACs front": "yes" if r["network"] in on_front else "no"}
                  for r in found]
    columns = ["network", "top-1", "other sources", "macs", "params", "peak_bytes", "on the MACs front", "source",
               "setting"]
    text = ('<h3 id="accuracy">Reported accuracy against cost</h3>'
            '<p class="note">Each network\'s ImageNet-1k top-1 as its source reports it for exactly this build '
            f"(attncost/networks/accuracy.yaml), against what attncost counts for it at {esc(_shape(shape))}. "
            "The line marks the Pareto front in each panel: the networks no other one beats on both cost and "
            "accuracy. Papers train their own baselines (SENet's ResNet-50 is 75.20%, torchvision's v1.5 "
            "76.13%), so points from different sources compare as far as their settings do.</p>"
            + page.figure(fig)
            + table(table_rows, columns, units={"macs": "count", "params": "count", "peak_bytes": "bytes"},
                    headers={"macs": "MACs", "peak_bytes": "peak live"}, css_class="sources"))
    if latency is None and spec.latency.lut is not None and not any(p["key"] == "latency_ms" for p in drawn):
        text += ('<p class="note">No latency panel: the lookup table holds segments of its search space, not '
                 "these networks; latency measurements whose rows are named as the networks add one.</p>")
    if missing:
        text += (f'<p class="note">No reported top-1 for these exact builds: {esc(", ".join(missing))}.</p>')
    return text, found


def _shape(shape) -> str:
    return "x".join(str(s) for s in shape)
