"""The latency section of a report: a heatmap of a lookup table and predicted versus measured latency.

A table is read as a matrix of milliseconds, layers down and options (and attention modules)
across, from either layout ``attncost lut build`` writes: the Single-Path NAS one (``{layer: {option:
ms}}``) or attncost's own (checked by ``attncost.lut.table.load_table``; entries such as
``layer3:k5e6``, ``layer3+se``, ``stem``, ``head``). Measurements are a JSON list of
``{"name", "predicted_ms", "measured_ms"}`` rows, or an object holding one under ``"architectures"``
(what ``attncost lut validate --output`` writes).
"""

from __future__ import annotations

from pathlib import Path

from ..errors import SpecError
from . import charts
from .page import table


def _read_json(path: Path):
    from ..lut.schema import read

    return read(path, SpecError)


def lut_matrix(path: Path) -> tuple[list, list, list]:
    """(layer labels, option labels, milliseconds[layer][option] or None); the file is checked by
    :mod:`attncost.lut.schema` (one line naming the file and the JSON path of a bad value)."""
    from ..lut.schema import check_singlepath

    data = _read_json(path)
    cells: dict = {}
    if isinstance(data, dict) and data.get("format") == "attncost-lut":
        from ..lut.table import Lut
        from ..lut.schema import check_table

        lut = Lut(data, check_table(data, path))
        for key in lut.entries:
            row, column = _segment_cell(key)
            cells[(row, column)] = lut.ms(key)
    elif isinstance(data, dict) and data and all(isinstance(v, dict) for v in data.values()):
        cells = check_singlepath(data, path, SpecError)
    else:
        raise SpecError(f"{path}: not a latency lookup table (attncost's layout, or {{layer: {{option: ms}}}})")
    layers = sorted({k[0] for k in cells}, key=_natural)
    options = sorted({k[1] for k in cells}, key=_natural)
    return layers, options, [[cells.get((layer, option)) for option in options] for layer in layers]


def _segment_cell(key: str) -> tuple[str, str]:
    """A segment key of attncost's layout as (row, column): ``layer3:k5e6`` -> (3, k5e6),
    ``layer3+se`` -> (3, +se), ``stem``/``head`` -> (stem/head, fixed)."""
    if key.startswith("layer"):
        rest = key[len("layer"):]
        for separator in (":", "+"):
            if separator in rest:
                index, name = rest.split(separator, 1)
                return index, (name if separator == ":" else f"+{name}")
    return key, "fixed"


def measurements(path: Path) -> dict:
    """{estimator: [{"name", "predicted_ms", "measured_ms"}]}: from ``attncost lut validate --report``
    (rows of ``measured_ms`` with one column per estimator: the table's sum ``lut``, the analytic
    ``predicted``; their calibrated versions when the report holds calibrations), or a plain list of
    ``{name, predicted_ms, measured_ms}`` rows; checked by
    :func:`attncost.lut.schema.check_measurements` (finite, non-negative times)."""
    from ..lut.schema import check_measurements

    return check_measurements(_read_json(path), path, SpecError)


def lut_section(path: Path, page) -> str:
    layers, options, z = lut_matrix(path)
    fig = charts.lut_heatmap(layers, options, z, f"Latency lookup table {Path(path).name} (ms)")
    return page.figure(fig)


def measurement_section(path: Path, page) -> str:
    series = measurements(path)
    fig = charts.predicted_vs_measured(series, "Estimated versus measured latency")
    summary = []
    for label, rows in series.items():
        errors = [(r["predicted_ms"] - r["measured_ms"]) / r["measured_ms"] for r in rows if r["measured_ms"] > 0]
        summary.append({"estimate": label, "architectures": len(rows),
                        "MAPE": f"{100 * sum(map(abs, errors)) / len(errors):.2f}%" if errors else "-",
                        "max error": f"{100 * max(map(abs, errors)):.2f}%" if errors else "-",
                        "within ±10%": f"{100 * sum(abs(e) <= 0.10 for e in errors) / len(errors):.0f}%" if errors else "-"})
    return page.figure(fig) + table(summary)


def _natural(text: str):
    order = {"stem": (0, -1, ""), "head": (2, 0, "")}
    return order.get(text) or ((1, int(text), "") if text.isdigit() else (1, 10 ** 9, text))
