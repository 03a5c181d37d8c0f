"""The latency section of a report: a heatmap of a lookup table and predicted versus measured latency.

A table is read as a matrix of milliseconds, layers down and options (and attention modules)
across, from either layout ``attncost lut build`` writes: the Single-Path NAS one (``{layer: {option:
ms}}``) or attncost's own (checked by ``attncost.lut.table.load_table``; entries such as
``layer3:k5e6``, ``layer3+se``, ``stem``, ``head``). Measurements are a JSON list of
``{"name", "predicted_ms", "measured_ms"}`` rows, or an object holding one under ``"architectures"``
(what ``attncost lut validate --output`` writes).
"""

from __future__ import annotations

import json
from pathlib import Path

from ..errors import SpecError
from . import charts
from .page import table


def _read_json(path: Path):
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError) as error:
        raise SpecError(f"{path}: not a readable JSON file ({error})") from None


def lut_matrix(path: Path) -> tuple[list, list, list]:
    """(layer labels, option labels, milliseconds[layer][option] or None)."""
    data = _read_json(path)
    cells: dict = {}
    if isinstance(data, dict) and data.get("format") == "attncost-lut":
        from ..lut.table import load_table

        lut = load_table(path)                    # validates the file: one clear line if it is not usable
        for key in lut.entries:
            row, column = _segment_cell(key)
            cells[(row, column)] = lut.ms(key)
    elif isinstance(data, dict) and data and all(isinstance(v, dict) for v in data.values()):
        for layer, options in data.items():
            for option, ms in options.items():
                if not isinstance(ms, (int, float)) or isinstance(ms, bool):
                    raise SpecError(f"{path}: layer {layer} option {option}: {ms!r} is not milliseconds")
                cells[(str(layer), str(option))] = float(ms)
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
    ``{name, predicted_ms, measured_ms}`` rows."""
    data = _read_json(path)
    if isinstance(data, dict) and isinstance(data.get("rows"), list):
        return _validation_series(path, data)
    rows = data.get("architectures") if isinstance(data, dict) else data
    if not isinstance(rows, list) or not rows:
        raise SpecError(f"{path}: expected a 'lut validate --report' file or a list of "
                        f"{{name, predicted_ms, measured_ms}} rows")
    out = []
    for i, row in enumerate(rows):
        try:
            out.append({"name": str(row.get("name", i)), "predicted_ms": float(row["predicted_ms"]),
                        "measured_ms": float(row["measured_ms"])})
        except (AttributeError, KeyError, TypeError, ValueError):
            raise SpecError(f"{path}: row {i} needs predicted_ms and measured_ms (got {row!r})") from None
    return {"predicted": out}


def _validation_series(path, data) -> dict:
    calibrations = data.get("calibrations") or {}
    series: dict = {}
    for i, row in enumerate(data["rows"]):
        if not isinstance(row, dict) or not isinstance(row.get("measured_ms"), (int, float)):
            raise SpecError(f"{path}: validation row {i} has no measured_ms")
        for name, value in row.items():
            if name in ("arch", "measured_ms") or not isinstance(value, (int, float)):
                continue
            estimates = {name: value}
            calibration = calibrations.get(name)
            if calibration:
                estimates[f"{name} calibrated"] = calibration["scale"] * value + calibration["offset_ms"]
            for label, estimate in estimates.items():
                series.setdefault(label, []).append({"name": f"architecture {row.get('arch', i)}",
                                                     "predicted_ms": float(estimate),
                                                     "measured_ms": float(row["measured_ms"])})
    if not series:
        raise SpecError(f"{path}: the validation report has no estimates")
    return series


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
