"""Build a report page from a :class:`ReportSpec`, step by step, telling ``progress`` about each."""

from __future__ import annotations

from typing import Callable

from ..version import __version__
from ..shapes import format_shape
from . import latency, modules, networks
from .page import Page, esc, table


def report_steps(spec) -> list[tuple[str, Callable]]:
    """(description, step) pairs; each step takes the Page and returns nothing."""
    steps: list = []
    parts: dict = {"summary": [], "formulas": [], "sweep": [], "kinds": [], "networks": [], "latency": []}

    def add(kind, description, make):
        steps.append((description, lambda page: parts[kind].append(make(page))))

    for shape in spec.shapes if spec.modules else ():
        add("summary", f"summary at {format_shape(shape)}", lambda page, s=shape: modules.summary(spec, s))
    for module in spec.modules:
        add("formulas", f"formulas of {module.label}", lambda page, m=module: modules.formulas(m))
    for channels in spec.sweep.channels if spec.sweep and spec.modules else ():
        add("sweep", f"resolution sweep at C={channels}", lambda page, c=channels: modules.sweep(spec, c, page))
    for shape in spec.shapes if spec.modules else ():
        add("kinds", f"op kinds and memory at {format_shape(shape)}",
            lambda page, s=shape: modules.op_kinds_and_memory(spec, s, page))
    if spec.networks:
        walked: list = []
        network_shape = spec.network_input
        for choice in spec.networks:
            steps.append((f"walking {choice.label}",
                          lambda page, c=choice: walked.append((c, networks.walk_network(c, network_shape)))))
        steps.append(("attention share",
                      lambda page: parts["networks"].append(_share_table(spec, walked, network_shape))))
        for i, choice in enumerate(spec.networks):
            add("networks", f"sunburst of {choice.label}",
                lambda page, i=i: networks.sunburst(walked[i][0], walked[i][1], spec.convention, page))
    if spec.latency.lut:
        add("latency", "lookup-table heatmap", lambda page: latency.lut_section(spec.latency.lut, page))
    if spec.latency.measurements:
        add("latency", "predicted versus measured",
            lambda page: latency.measurement_section(spec.latency.measurements, page))
    steps.append(("assembling the page", lambda page: _assemble(page, parts, spec)))
    return steps


def _share_table(spec, walked, shape) -> str:
    rows = []
    for choice, result in walked:
        rows.append(networks.share_row(choice, result, spec.conventions, spec.dtype, rows[0] if rows else None))
    return (f"<h3>Totals and attention share at {esc(format_shape(shape))}</h3>" + table(rows) +
            '<p class="note">Δ columns are against the first network listed. The SE/CBAM/BAM/GC/ECA papers '
            "report conv+FC MACs as \"GFLOPs\" and used ResNets with the stride on the first 1x1 (the -v1 "
            "networks); torchvision's v1.5 puts it on the 3x3 (about 0.23 G more MACs at 224).</p>")


def _assemble(page: Page, parts: dict, spec) -> None:
    headings = [
        ("summary", "Summary", "The numbers of <code>attncost compare</code> at each shape."),
        ("formulas", "Formulas", "Exact formulas in N, C, H, W and the hyperparameters left symbolic, each "
                                 "proved against the reference PyTorch implementation by <code>attncost verify</code>; "
                                 "the dominant term keeps the highest total degree in H and W (floors dropped)."),
        ("sweep", "Cost versus resolution", "Log-log; crossings are where the cheaper module changes, found "
                                            "exactly on the integers and labelled with the symbolic root."),
        ("kinds", "Cost by op kind and memory", ""),
        ("networks", "Networks", "Walked by attncost's graph walker (exactly what the tracer counts on the "
                                 "PyTorch network)."),
        ("latency", "Latency", ""),
    ]
    for key, heading, note in headings:
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
            "attncost": __version__}
    page = Page(spec.title, meta)
    steps = report_steps(spec)
    for i, (description, step) in enumerate(steps, 1):
        if progress:
            progress(i, len(steps), description)
        step(page)
    return page.render()
