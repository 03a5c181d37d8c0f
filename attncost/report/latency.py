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


def measurements(path: Path) -> list[dict]:
    data = _read_json(path)
    rows = data.get("architectures") if isinstance(data, dict) else data
    if not isinstance(rows, list) or not rows:
        raise SpecError(f"{path}: expected a list of {{name, predicted_ms, measured_ms}} rows")
    out = []
    for i, row in enumerate(rows):
        try:
            out.append({"name": str(row.get("name", i)), "predicted_ms": float(row["predicted_ms"]),
                        "measured_ms": float(row["measured_ms"])})
        except (AttributeError, KeyError, TypeError, ValueError):
            raise SpecError(f"{path}: row {i} needs predicted_ms and measured_ms (got {row!r})") from None
    return out


def lut_section(path: Path, page) -> str:
    layers, options, z = lut_matrix(path)
    fig = charts.lut_heatmap(layers, options, z, f"Latency lookup table {Path(path).name} (ms)")
    return page.figure(fig)


def measurement_section(path: Path, page) -> str:
    rows = measurements(path)
    fig = charts.predicted_vs_measured([r["name"] for r in rows], [r["predicted_ms"] for r in rows],
                                       [r["measured_ms"] for r in rows], "Predicted versus measured latency")
    errors = [abs(r["predicted_ms"] - r["measured_ms"]) / r["measured_ms"] for r in rows if r["measured_ms"] > 0]
    summary = [{"architectures": len(rows), "MAPE": f"{100 * sum(errors) / len(errors):.2f}%" if errors else "-",
                "max error": f"{100 * max(errors):.2f}%" if errors else "-"}]
    return page.figure(fig) + table(summary)


def _natural(text: str):
    order = {"stem": (0, -1, ""), "head": (2, 0, "")}
    return order.get(text) or ((1, int(text), "") if text.isdigit() else (1, 10 ** 9, text))
