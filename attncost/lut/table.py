"""The latency lookup table: attncost's self-describing JSON layout, the Single-Path NAS layout, and
loading with clear errors.

attncost layout (``"format": "attncost-lut"``): the space itself (and its sha256), how it was timed
(``in-context`` or ``isolated``), device, torch version, threads, batch, warm-up and repeats, date, the
worker's malloc/thread environment and page faults, per-segment statistics (median, quartiles, min,
max, n; milliseconds), the constant term (stem, fixed layers and head, Stamoulis et al. 2019 Eq. 7's
"rest of the network"), and an optional end-to-end calibration (scale and offset; ``calibrate-sum``).

Single-Path layout (``--layout singlepath``): the file the official code loads unchanged
(``nas-search/pixel1_runtime_model.json``, read by ``singlepath_supernet.py``): a JSON object mapping
the layer index (as a string, "0".."21") to an object mapping the option index (as a string, "0".."3";
0 = k3e3, 1 = k3e6, 2 = k5e3, 3 = k5e6) to milliseconds. Fixed layers repeat their one value under every
option index. It has no constant (the official code writes it into the source: ``total_runtime =
19.5999``) and no attention entries.
"""

from __future__ import annotations

import datetime
import os
import platform
from pathlib import Path

from ..errors import LutError
from .schema import TABLE_FORMAT, TABLE_VERSION, check_singlepath, check_table, dumps, read
from .segments import HEAD, STEM, all_segments, architecture_segments, attention_key, layer_key
from .space import NO_ATTENTION, Space

FORMAT, VERSION = TABLE_FORMAT, TABLE_VERSION
LAYOUTS = ("attncost", "singlepath")


def device_description() -> dict:
    """What the table was measured on."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": model, "machine": platform.machine(), "logical_cpus": os.cpu_count(), "system": platform.system()}


def constant_segments(space: Space) -> list[str]:
    """The segments every architecture runs: stem, fixed layers (with their fixed attention), head."""
    keys = [STEM]
    for layer in space.fixed:
        option, attention = space.fixed_choice(layer)
        keys.append(layer_key(layer.index, option))
        if attention != NO_ATTENTION:
            keys.append(attention_key(layer.index, attention))
    return keys + [HEAD]


class Lut:
    """A loaded table: the space, per-segment milliseconds, the constant and the calibration."""

    def __init__(self, data: dict, space: Space):
        self.data, self.space = data, space

    @property
    def entries(self) -> dict:
        return self.data["entries"]

    @property
    def statistic(self) -> str:
        """Which statistic of a segment's samples the table's estimates use: median (default), min or
        p10 (the 10th percentile)."""
        return self.data.get("statistic", "median")

    @property
    def backend(self) -> str:
        """Where it was measured: ``cpu`` (tables older than the field too) or ``cuda``."""
        return self.data.get("backend") or "cpu"

    def ms(self, key: str) -> float:
        return self.entries[key][f"{self.statistic}_ms"]

    @property
    def constant_ms(self) -> float:
        return sum(self.ms(key) for key in constant_segments(self.space))

    @property
    def calibration(self) -> dict | None:
        return self.data.get("calibration")

    def architecture_ms(self, arch, calibrated: bool = False) -> float:
        """The Single-Path runtime model: the constant plus every chosen segment (a skip costs 0);
        ``calibrated``: scale * that + offset from ``calibrate-sum``."""
        constant = set(constant_segments(self.space))
        total = self.constant_ms + sum(self.ms(k) for k in architecture_segments(self.space, arch) if k not in constant)
        if calibrated:
            if not self.calibration:
                raise LutError("this table has no calibration: run 'attncost lut calibrate-sum' first")
            total = self.calibration["scale"] * total + self.calibration["offset_ms"]
        return total

    def singlepath(self) -> dict:
        """The Single-Path NAS layout: {"layer": {"option index": ms}}."""
        table = {}
        for layer in self.space.layers:
            row = {}
            for j, option in enumerate(self.space.options):
                chosen = option if option in layer.options else (layer.options[0] if len(layer.options) == 1 else None)
                if chosen is None:
                    raise LutError(f"layer {layer.index} lacks option {option}: the Single-Path layout needs every "
                                   f"option index on every searched layer")
                row[str(j)] = self.ms(layer_key(layer.index, chosen))
            table[str(layer.index)] = row
        return table

    def text(self, layout: str = "attncost") -> str:
        """The file in ``layout``; a NaN or infinite number in it is refused (:func:`schema.dumps`), so a
        table attncost writes is one it reads back."""
        if layout == "singlepath":
            return dumps(self.singlepath(), "the Single-Path table")
        return dumps(self.data, "the table")


def new_table(space: Space, measurement: dict, settings: dict) -> Lut:
    """A table from the harness's measurement of every segment: the settings, the device and the
    worker's environment, each entry's statistics, and what the measurement knows of its own quality
    (``precision``, ``twins``, ``controls``, ``interference``, ``machine``, ``pinning``, ``timer``,
    ``backend`` and, on a GPU, ``cuda``)."""
    quality = measurement.get("quality", {})
    data = {
        "format": FORMAT, "version": VERSION, "unit": "ms",
        "space_name": space.name, "space_digest": space.digest,
        **settings,
        "device": device_description(), "torch": measurement["torch"],
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "environment": measurement["environment"], "faults_per_call": measurement["faults_per_call"],
        "measure_seconds": round(measurement["seconds"], 3),
        "backend": measurement.get("device", "cpu"), "timer": measurement.get("timer"),
        "cuda": measurement.get("cuda"), "pinning": measurement.get("pinning"), "machine": measurement.get("machine"),
        **{key: quality[key] for key in ("precision", "twins", "controls", "interference") if key in quality},
        "entries": {key: measurement["stats"][key] for key in all_segments(space)},
        "calibration": None,
        "space": space.to_dict(),
    }
    lut = Lut(data, space)
    data["constant_ms"] = lut.constant_ms
    return lut


def _fail(path, message):
    raise LutError(f"{path}: {message}")


def load_table(path, space: Space | None = None) -> Lut:
    """Read a table; a missing, corrupt or truncated file, a table of another space, one that lacks
    entries or holds a value of the wrong type (a negative or NaN time, a calibration that is not a
    positive finite scale) raises :class:`LutError` with one line naming the file and the JSON path
    (:func:`attncost.lut.schema.check_table`)."""
    data = read(path)
    return Lut(data, check_table(data, path, space))


def load_singlepath(path, space: Space) -> dict:
    """A Single-Path layout file -> {(layer, option index): ms}, checked against ``space``'s layers."""
    cells = check_singlepath(read(path), path)
    expected = {str(layer.index) for layer in space.layers}
    layers = {layer for layer, _ in cells}
    if layers != expected:
        _fail(path, f"layers {sorted(layers, key=lambda k: (not k.isdigit(), int(k) if k.isdigit() else k))} are "
                    f"not the {len(expected)} layers of {space.name}")
    options = {str(j) for j in range(len(space.options))}
    for layer in sorted(layers):
        if {option for row, option in cells if row == layer} != options:
            _fail(path, f"layer {layer}: option keys must be {sorted(options)}")
    return {(int(layer), int(option)): ms for (layer, option), ms in cells.items()}
