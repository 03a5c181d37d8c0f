"""Build a report page from a :class:`ReportSpec`, step by step, telling ``progress`` about each."""

from __future__ import annotations

from typing import Callable

from ..version import __version__
from ..shapes import format_shape
from . import accuracy, latency, modules, networks, training
from .page import Page, esc
from .verdict import verdict


def report_steps(spec) -> list[tuple[str, Callable]]:
    """(description, step) pairs; each step takes the Page and returns nothing. The steps keep
    what they computed in ``found``, which the verdict at the top is written from."""
    steps: list = []
    parts: dict = {key: [] for key, _, _ in SECTIONS}
    found: dict = {"summaries": [], "sweeps": [], "networks": [], "attention only": True, "accuracy": []}

    def add(kind, description, make):
        steps.append((description, lambda page: parts[kind].append(make(page))))

    def summary(shape):
        rows = modules.summary_rows(spec, shape)
        found["summaries"].append((shape, rows))
        return modules.summary(spec, shape, rows, note=len(found["summaries"]) == 1)

    def sweep(channels, page):
        data = modules.sweep_data(spec, channels)
        found["sweeps"].append(data)
        return modules.sweep(spec, channels, page, data)

    for shape in spec.shapes if spec.modules else ():
        add("summary", f"summary at {format_shape(shape)}", lambda page, s=shape: summary(s))
    for module in spec.modules:
        add("formulas", f"formulas of {module.label}", lambda page, m=module: modules.formulas(m))
    for channels in spec.sweep.channels if spec.sweep and spec.modules else ():
        add("sweep", f"resolution sweep at C={channels}", lambda page, c=channels: sweep(c, page))
    for shape in spec.shapes if spec.modules else ():
        add("kinds", f"op kinds and memory at {format_shape(shape)}",
            lambda page, s=shape: modules.op_kinds_and_memory(spec, s, page))
    for shape in spec.shapes if spec.modules and spec.training else ():
        add("training", f"training step at {format_shape(shape)}",
            lambda page, s=shape: training.modules_section(spec, s))
    if spec.networks:
        walked: list = []
        network_shape = spec.network_input
        for choice in spec.networks:
            steps.append((f"walking {choice.label}",
                          lambda page, c=choice: walked.append((c, networks.walk_network(c, network_shape)))))
        add("networks", "attention share and overhead", lambda page: _share(spec, walked, network_shape, found, page))
        if spec.training:
            add("training", "training step of the networks", lambda page: training.networks_section(spec, walked))
        add("networks", "reported accuracy against cost", lambda page: _accuracy(spec, walked, found, page))
        sunbursts: list = []
        for i, choice in enumerate(spec.networks):
            steps.append((f"sunburst of {choice.label}", lambda page, i=i: sunbursts.append(
                networks.sunburst(walked[i][0], walked[i][1], spec.convention, page))))
        add("networks", "sunbursts", lambda page: _toggle(
            f"Sunbursts: FLOPs ({spec.convention.value}) by stage, block, module and op kind, one per network "
            f"({len(sunbursts)})", "".join(sunbursts)))
    if spec.latency.lut:
        add("latency", "lookup-table heatmap", lambda page: latency.lut_section(spec.latency.lut, page))
    if spec.latency.measurements:
        add("latency", "predicted versus measured",
            lambda page: latency.measurement_section(spec.latency.measurements, page))
    steps.append(("assembling the page", lambda page: _assemble(page, parts, spec, found)))
    return steps


def _share(spec, walked, shape, found, page) -> str:
    rows = []
    for choice, result in walked:
        rows.append(networks.share_row(choice, result, spec.conventions, spec.dtype, rows[0] if rows else None))
    found["networks"] = rows
    found["attention only"] = networks.same_backbone([choice for choice, _ in walked])
    return (f"<h3>Totals and attention share at {esc(format_shape(shape))}</h3>"
            + networks.share_table(rows, spec.conventions) +
            '<p class="note">Shares are the attention modules\' part of the network\'s total; Δ columns are '
            "against the first network listed; hover a cell for its exact value. "
            "The SE/CBAM/BAM/GC/ECA papers report conv+FC MACs as \"GFLOPs\" and used ResNets with the stride on "
            "the first 1x1 (the -v1 networks); torchvision's v1.5 puts it on the 3x3 (about 0.23 G more MACs at "
            "224).</p>" + networks.overhead_chart(rows, spec.conventions, page, found["attention only"]))


def _accuracy(spec, walked, found, page) -> str:
    text, found["accuracy"] = accuracy.section(spec, walked, found["networks"], page)
    return text


def _toggle(summary: str, body: str) -> str:
    """A section part behind a ``<details>`` toggle, closed: its figures are drawn when it opens."""
    return f'<details class="toggle"><summary>{esc(summary)}</summary>{body}</details>'


#: the page's sections, in order: (key, heading, introduction)
SECTIONS = (
    ("summary", "Summary", "The numbers of <code>attncost compare</code> at each shape."),
    ("formulas", "Formulas", "Exact formulas in N, C, H, W and the hyperparameters left symbolic, each "
                             "proved against the reference PyTorch implementation by <code>attncost verify</code>; "
                             "the dominant term keeps the highest total degree in H and W (floors dropped). "
                             "Memory quantities (activations, peak live, attention map) count elements."),
    ("sweep", "Cost versus resolution", "Log-log; crossings are where the cheaper module changes, found "
                                        "exactly on the integers and labelled with the symbolic root."),
    ("kinds", "Cost by op kind and memory", ""),
    ("networks", "Networks", "Walked by attncost's graph walker (exactly what the tracer counts on the "
                             "PyTorch network)."),
    ("training", "Training", "Forward and backward of one training step next to inference, and what it holds "
                             "in memory (docs/TRAINING.md)."),
    ("latency", "Latency", ""),
)


def _assemble(page: Page, parts: dict, spec, found: dict) -> None:
    text = verdict(spec, found["summaries"], found["sweeps"], found["networks"], found["attention only"],
                   found["accuracy"])
    if text:
        page.add("verdict", "Verdict", text, css_class="verdict")
    for key, heading, note in SECTIONS:
        if parts[key]:
            intro = f'<p class="note">{note}</p>' if note else ""
            page.add(key, heading, intro + "".join(parts[key]))


def build_report(spec, progress: Callable[[int, int, str], None] | None = None) -> str:
    """The whole page as one string (written by the caller, atomically)."""
    meta = {"spec": spec.source, "convention": ", ".join(c.value for c in spec.conventions), "dtype": spec.dtype,
            "modules": ", ".join(m.label for m in spec.modules) or "-",
            "shapes": ", ".join(format_shape(s) for s in spec.shapes) or "-",
            "networks": (", ".join(n.label for n in spec.networks) + f" at {format_shape(spec.network_input)}"
                         if spec.networks else "-"),
            **({"training": f"{spec.training.optimizer.value}, {spec.training.precision.name}"} if spec.training
               else {}),
            "attncost": __version__}
    page = Page(spec.title, meta)
    steps = report_steps(spec)
    for i, (description, step) in enumerate(steps, 1):
        if progress:
            progress(i, len(steps), description)
        step(page)
    return page.render()
