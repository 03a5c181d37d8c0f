"""The verdict at the top of a report: what a design review wants to read first, as text computed
from the same data the sections show (the summary rows, the sweeps, the networks' totals).

- the cheapest module at each shape, by FLOPs under the report's first convention;
- where costs cross in each sweep: which module is cheapest over which sizes, and every crossing;
- what each network's attention adds to the first network (params, MACs, FLOPs, peak);
- which networks with a reported top-1 are on the Pareto front of accuracy against MACs.
"""

from __future__ import annotations

from ..format.units import human_bytes, human_count, ratio
from ..shapes import format_shape
from .modules import METRIC_TITLES, lead_key
from .page import esc


def verdict(spec, summaries: list, sweeps: list, networks: list, attention_only: bool = True,
            accuracy: list = ()) -> str:
    """``summaries``: (shape, summary rows) pairs; ``sweeps``: the dicts of ``modules.sweep_data``;
    ``networks``: the rows of ``networks.share_row`` (the first is the baseline; ``attention_only``:
    they differ only in attention); ``accuracy``: the rows of ``accuracy.accuracy_rows`` (networks
    with a reported top-1). Empty parts are left out; an empty string when there is nothing to say."""
    parts = [_cheapest(spec, summaries), _crossings(spec, sweeps), _networks(spec, networks, attention_only),
             _accuracy(accuracy)]
    return "".join(p for p in parts if p)


def _metric(spec) -> str:
    convention = spec.convention.value
    return "MACs (FLOPs under the macs convention)" if convention == "macs" else f"FLOPs ({convention} convention)"


def _unit(spec) -> str:
    return "MACs" if spec.convention.value == "macs" else "FLOPs"


def percent(value: float) -> str:
    """A change in percent with the sign and 3 significant digits (``+9.90%``, ``+0.000336%``)."""
    return ("+" if value > 0 else "-" if value < 0 else "") + ratio(abs(value)) + "%"


def _names(labels) -> str:
    marked = [f'<b class="module">{esc(label)}</b>' for label in labels]
    return marked[0] if len(marked) == 1 else ", ".join(marked[:-1]) + " and " + marked[-1]


def _cheapest(spec, summaries) -> str:
    if not summaries:
        return ""
    lead = lead_key(spec)
    items = []
    for shape, rows in summaries:
        ranked = sorted(rows, key=lambda r: r[lead])
        low = ranked[0][lead]
        best = [r["module"] for r in ranked if r[lead] == low]
        rest = [r for r in ranked if r[lead] != low]
        unit = _unit(spec)
        text = (f"{_names(best)} {'is' if len(best) == 1 else 'tie as'} the cheapest, "
                f'<span title="{low:,}">{esc(human_count(low))} {unit}</span>')
        if rest:
            after, top = rest[0], rest[-1]
            times = f", {esc(ratio(after[lead] / low))}×" if low else ""
            text += f"; next {esc(after['module'])} ({esc(human_count(after[lead]))}{times})"
            if top is not after:
                times = f", {esc(ratio(top[lead] / low))}×" if low else ""
                text += f"; the most expensive {esc(top['module'])} ({esc(human_count(top[lead]))}{times})"
        items.append(f'<li data-shape="{esc(format_shape(shape))}"><b>{esc(format_shape(shape))}</b>: {text}.</li>')
    return (f"<h3>Cheapest module at each shape, by {esc(_metric(spec))}</h3>"
            f'<ul class="cheapest">{"".join(items)}</ul>')


def _crossings(spec, sweeps) -> str:
    if not sweeps:
        return ""
    items = []
    for data in sweeps:
        values = data["values"]
        runs = data["cheapest"]
        where = f"C = {data['channels']}, H = W from {values[0]} to {values[-1]}"
        if len(runs) == 1:
            cheapest = f"{_names(runs[0]['modules'])} is the cheapest at every size"
        else:
            cheapest = "the cheapest is " + ", then ".join(
                f"{_names(r['modules'])} for H = W = {r['from']}" + (f"–{r['to']}" if r["to"] != r["from"] else "")
                for r in runs)
        crossings = data["crossings"]
        if crossings:
            crossed = "; ".join(f"{esc(c['a'])} and {esc(c['b'])} cross at H = W = {c['x']} "
                                f"({esc(c['cheaper from here'])} cheaper from there on)" for c in crossings)
        else:
            crossed = "no two modules cross"
        items.append(f'<li data-channels="{data["channels"]}"><b>{esc(where)}</b>, by '
                     f"{esc(METRIC_TITLES[data['metric']])}: {cheapest}; {crossed}.</li>")
    return f'<h3>Where costs cross</h3><ul class="crossings">{"".join(items)}</ul>'


def _networks(spec, rows, attention_only: bool) -> str:
    if not rows:
        return ""
    first = rows[0]
    convention = spec.convention.value
    items = []
    if len(rows) == 1 or first["attention params"] or first["attention flops"]:
        items.append(f"<li><b>{esc(first['network'])}</b>: its attention holds "
                     f"{first['attention share of params']:.2%} of its params and "
                     f"{first['attention share of flops']:.2%} of its FLOPs ({esc(convention)}).</li>")
    for row in rows[1:]:
        changes = [_change(row, first, "params", "params"), _change(row, first, "macs", "MACs")]
        changes += [_change(row, first, f"flops ({c.value})", f"FLOPs ({c.value})")
                    for c in spec.conventions if c.value != "macs"]
        changes.append(_change(row, first, "peak_bytes", "peak live memory"))
        items.append(f'<li data-network="{esc(row["network"])}"><b>{esc(row["network"])}</b> against '
                     f"{esc(first['network'])}: " + ", ".join(changes) + ".</li>")
    heading = "What each network's attention adds" if attention_only else "Each network against the first"
    return (f"<h3>{heading}</h3>"
            f'<ul class="networks">{"".join(items)}</ul>')


def _change(row, first, key: str, label: str) -> str:
    delta = row[f"Δ {key}"]
    if delta == 0:
        return f"{esc(label)} unchanged"
    text = human_bytes(delta) if key.endswith("bytes") else human_count(delta)
    pct = f" ({percent(100 * delta / first[key])})" if first[key] else ""
    exact = f"{delta:+,}" + (" bytes" if key.endswith("bytes") else "")
    return f'<span title="{esc(exact)}">{"+" if delta > 0 else ""}{esc(text)} {esc(label)}{esc(pct)}</span>'


def _accuracy(rows) -> str:
    """The networks on the Pareto front of reported top-1 against MACs, cheapest first, and the others."""
    if len(rows) < 2:
        return ""
    from .accuracy import pareto_front

    front = pareto_front([r["macs"] for r in rows], [r["top1"] for r in rows])
    on = sorted((r for r, f in zip(rows, front) if f), key=lambda r: (r["macs"], -r["top1"]))
    off = [r["network"] for r, f in zip(rows, front) if not f]
    items = [f'<li data-network="{esc(r["network"])}"><b>{esc(r["network"])}</b>: {r["top1"]:g}% top-1 at '
             f'<span title="{r["macs"]:,}">{esc(human_count(r["macs"]))} MACs</span></li>' for r in on]
    beaten = (f"<p>Off the front (another network has at most its MACs and at least its top-1): "
              f"{_names(off)}.</p>" if off else "")
    return ("<h3>Reported top-1 against MACs: the Pareto front</h3>"
            f'<ul class="accuracy">{"".join(items)}</ul>{beaten}')
