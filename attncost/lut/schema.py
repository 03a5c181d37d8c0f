"""The schema of every JSON file attncost reads: latency tables (both layouts), device profiles and
measurements (``lut validate --report`` output, or plain rows). Checked once, before anything uses a
value, by :func:`check_table`, :func:`check_singlepath`, :func:`check_profile` and
:func:`check_measurements`; every error is one line naming the file and the JSON path of the value at
fault::

    lut.json: entries.layer2:k3e3.median_ms must be a non-negative finite time in ms (got -1.0)
    profile.json: macs_per_s must be a positive number (got NaN)
    validation.json: rows[3] needs measured_ms

Times are finite and non-negative, rates and scales finite and positive (JSON's ``NaN`` and
``Infinity`` are read, then refused here), integers are not booleans, and a table's embedded space
is checked field by field (types, a chain of layers whose channels and resolutions follow, option
and attention names, attention a layer's output can take) before it is rebuilt. No torch.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

from ..errors import AttncostError, LutError

MAX_THREADS = 4096          # what a table may record; measuring checks against this machine's CPUs
TABLE_FORMAT, TABLE_VERSION = "attncost-lut", 1
PROFILE_FORMAT = "attncost-device-profile"
RATES = ("macs_per_s", "other_ops_per_s", "bytes_per_s")


class Checker:
    """Typed reads of a decoded JSON value, failing with ``FILE: PATH must be ... (got VALUE)``; with
    ``lines`` ({top-level key: line}, for a value read from YAML), ``FILE:LINE: PATH ...`` at the line
    of the top-level key the path starts with (line 1 for the whole file)."""

    def __init__(self, file, error=LutError, lines: dict | None = None):
        self.file, self.error, self.lines = file, error, lines

    def fail(self, where: str, message: str):
        file = self.file if self.lines is None else f"{self.file}:{self._line(where)}"
        raise self.error(f"{file}: {where} {message}" if where else f"{file}: {message}")

    def _line(self, where: str) -> int:
        top = re.match(r'\["((?:[^"\\]|\\.)*)"\]|[^.\[]+', where) if where else None
        if top is None:
            return 1
        key = json.loads(f'"{top.group(1)}"') if top.group(1) is not None else top.group(0)
        return self.lines.get(key, 1)

    @staticmethod
    def join(where: str, key) -> str:
        """The JSON path of ``key`` under ``where``: ``a.b``, ``a[3]`` (a list index), ``a["0"]``
        (a key that would read as something else: digits, a dot, a space, nothing)."""
        if isinstance(key, int):
            return f"{where}[{key}]"
        key = str(key)
        if not key or key.isdigit() or any(ch in key for ch in '. []"'):
            return f"{where}[{json.dumps(key)}]"
        return f"{where}.{key}" if where else key

    def mapping(self, value, where: str, what: str = "an object") -> dict:
        if not isinstance(value, dict):
            self.fail(where or "the file", f"must be {what} (got {_shown(value)})")
        return value

    def items(self, value, where: str, non_empty: bool = True) -> list:
        if not isinstance(value, list) or (non_empty and not value):
            self.fail(where, f"must be a {'non-empty ' if non_empty else ''}list (got {_shown(value)})")
        return value

    def get(self, obj: dict, key: str, where: str, what: str):
        """``obj[key]``, which must be there."""
        if key not in obj:
            self.fail(self.join(where, key), f"must be {what} (missing)")
        return obj[key]

    def known(self, obj: dict, keys, where: str, what: str) -> None:
        unknown = [k for k in obj if k not in keys]
        if unknown:
            self.fail(self.join(where, unknown[0]), f"is not a key of {what} (known: {', '.join(keys)})")

    def number(self, value, where: str, kind: str = "time"):
        """A finite number: ``time`` (>= 0, ms), ``non-negative``, ``positive`` or ``finite``."""
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        if ok and kind in ("time", "non-negative"):
            ok = value >= 0
        elif ok and kind == "positive":
            ok = value > 0
        if not ok:
            what = {"time": "a non-negative finite time in ms", "non-negative": "a non-negative number",
                    "positive": "a positive number", "finite": "a finite number"}[kind]
            self.fail(where, f"must be {what} (got {_shown(value)})")
        return value

    def integer(self, value, where: str, minimum: int = 1, maximum: int | None = None) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum \
                or (maximum is not None and value > maximum):
            bound = f"an integer >= {minimum}" if maximum is None else f"an integer in {minimum}..{maximum}"
            self.fail(where, f"must be {bound} (got {_shown(value)})")
        return value

    def text(self, value, where: str) -> str:
        if not isinstance(value, str):
            self.fail(where, f"must be a string (got {_shown(value)})")
        return value

    def optional(self, obj: dict, key: str, where: str, read, *args):
        """``read(obj[key], path, *args)`` where the key is there and not null."""
        if obj.get(key) is not None:
            return read(obj[key], self.join(where, key), *args)
        return None


def _shown(value) -> str:
    try:
        text = json.dumps(value)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


# -- latency tables ------------------------------------------------------------------------------------

TABLE_NUMBERS = ("median_ms", "q1_ms", "q3_ms", "p10_ms", "min_ms", "max_ms", "ci_low_ms", "ci_high_ms")
ENTRY_PERCENTS = ("precision_pct", "rel_iqr_pct", "cv_pct")      # non-negative, or null (no interval)
TABLE_STATISTICS = ("median", "min", "p10")                      # attncost.lut.stats.STATISTICS
BACKENDS = ("cpu", "cuda")


def check_table(data, path, space=None):
    """Check an attncost-layout table (decoded JSON) and return its rebuilt :class:`Space`. ``space``:
    the space it must belong to. Raises :class:`LutError` at the first value at fault."""
    from .segments import all_segments

    FORMAT, VERSION = TABLE_FORMAT, TABLE_VERSION
    c = Checker(path)
    if isinstance(data, dict) and data and all(str(k).isdigit() for k in data):
        c.fail("", "a Single-Path layout table (layer -> option -> ms) has no space nor statistics; "
                   "give attncost's own layout (lut build without --format singlepath)")
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        c.fail("", f"not an attncost latency table (no \"format\": \"{FORMAT}\")")
    if data.get("version") != VERSION:
        c.fail("", f"table version {data.get('version')!r} is not {VERSION}")
    stored = check_space(c, c.get(data, "space", "", "the search space (an object)"), "space")
    if stored.digest != data.get("space_digest"):
        c.fail("", "corrupt: the stored space does not match its digest")
    if space is not None and space.digest != stored.digest:
        c.fail("", f"built for space {stored.name!r} (digest {stored.digest[:12]}), not for {space.name!r} "
                   f"(digest {space.digest[:12]})")
    statistic = data.get("statistic", "median")
    if statistic not in TABLE_STATISTICS:
        c.fail("", f"corrupt: statistic {statistic!r} is not {', '.join(TABLE_STATISTICS[:-1])} or "
                   f"{TABLE_STATISTICS[-1]}")
    entries = data.get("entries")
    if not isinstance(entries, dict):
        c.fail("", "corrupt: no 'entries' object")
    expected = all_segments(stored)
    missing = [key for key in expected if key not in entries]
    if missing:
        shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        c.fail("", f"lacks {len(missing)} of the {len(expected)} entries of space {stored.name!r}: {shown}")
    allowed = set(expected)
    for key, stats in entries.items():
        where = c.join("entries", key)
        if key not in allowed:
            c.fail(where, f"is not a segment of space {stored.name!r} (its segments: stem, layerI:kKeE, "
                          f"layerI+MODULE, head)")
        c.mapping(stats, where, "an object of statistics such as {\"median_ms\": 0.12}")
        c.get(stats, f"{statistic}_ms", where, "a non-negative finite time in ms")
        for name in TABLE_NUMBERS:
            if stats.get(name) is not None or (name in stats and not name.startswith("ci_")):
                c.number(stats[name], c.join(where, name), "time")
        for name in ENTRY_PERCENTS:
            c.optional(stats, name, where, c.number, "non-negative")
        if "n" in stats:
            c.integer(stats["n"], c.join(where, "n"), 1)
    calibration = data.get("calibration")
    if calibration is not None:
        check_calibration(c, calibration, "calibration")
    c.optional(data, "batch", "", c.integer, 1)
    c.optional(data, "threads", "", c.integer, 1, MAX_THREADS)
    for key in ("timing", "date", "space_name", "unit"):
        c.optional(data, key, "", c.text)
    if data.get("unit") not in (None, "ms"):
        c.fail("unit", f"must be \"ms\" (got {_shown(data['unit'])})")
    device = c.optional(data, "device", "", c.mapping)
    if device is not None:
        c.optional(device, "cpu", "device", c.text)
    c.optional(data, "constant_ms", "", c.number, "time")
    profile = data.get("device_profile")
    if profile is not None:
        c.mapping(profile, "device_profile")
    check_quality(c, data, set(expected))
    return stored


def _boolean(c: Checker, value, where: str):
    if not isinstance(value, bool):
        c.fail(where, f"must be true or false (got {_shown(value)})")
    return value


def _numbers(c: Checker, value, where: str, kind: str = "non-negative", non_empty: bool = False) -> list:
    for i, item in enumerate(c.items(value, where, non_empty=non_empty)):
        c.number(item, c.join(where, i), kind)
    return value


def check_quality(c: Checker, data: dict, segments: set) -> None:
    """The fields a measured table keeps on its own quality (all optional; tables from before them
    load as they are): ``precision``, ``twins``, ``controls``, ``interference``, ``machine``,
    ``pinning``, ``timer``, ``backend`` and ``cuda`` (attncost.lut.precision, docs/LUT.md)."""
    backend = data.get("backend")
    if backend is not None and backend not in BACKENDS:
        c.fail("backend", f"must be {' or '.join(BACKENDS)} (got {_shown(backend)})")
    for key in ("cuda", "timer", "pinning", "machine"):
        c.optional(data, key, "", c.mapping)
    timer = data.get("timer")
    if timer is not None:
        c.text(c.get(timer, "name", "timer", "a string"), "timer.name")
    pinning = data.get("pinning")
    if pinning is not None and pinning.get("cpus") is not None:
        for i, cpu in enumerate(c.items(pinning["cpus"], "pinning.cpus")):
            c.integer(cpu, c.join("pinning.cpus", i), 0)
    machine = data.get("machine")
    if machine is not None:
        for key in ("load_before", "load_after"):
            c.optional(machine, key, "machine", _numbers_of(c))
        for key in ("wall_s", "cpu_s", "cpu_share", "preempted_share"):
            c.optional(machine, key, "machine", c.number, "non-negative")
        for key in ("involuntary_switches", "voluntary_switches", "timed_runs", "preempted_runs"):
            c.optional(machine, key, "machine", c.integer, 0)
    precision = c.optional(data, "precision", "", c.mapping)
    if precision is not None:
        if precision.get("statistic") not in (None, *TABLE_STATISTICS):
            c.fail("precision.statistic", f"must be one of {', '.join(TABLE_STATISTICS)} "
                                          f"(got {_shown(precision['statistic'])})")
        c.optional(precision, "target_pct", "precision", c.number, "positive")
        c.optional(precision, "budget_s", "precision", c.number, "positive")
        c.optional(precision, "confidence", "precision", c.number, "positive")
        c.optional(precision, "worst_pct", "precision", c.number, "non-negative")
        c.optional(precision, "twin_tolerance_pct", "precision", c.number, "non-negative")
        c.optional(precision, "seconds", "precision", c.number, "non-negative")
        for key in ("rounds", "extra_rounds", "without_interval"):
            c.optional(precision, key, "precision", c.integer, 0)
        c.optional(precision, "reached", "precision", _boolean_of(c))
        c.optional(precision, "stopped", "precision", c.text)
        for i, reason in enumerate(c.optional(precision, "missed", "precision", c.items, False) or []):
            if reason not in ("imprecise", "twins", "busy"):
                c.fail(c.join("precision.missed", i), f"must be imprecise, twins or busy (got {_shown(reason)})")
        for i, item in enumerate(c.optional(precision, "imprecise", "precision", c.items, False) or []):
            at = c.join("precision.imprecise", i)
            c.mapping(item, at, "an object {entry, precision_pct}")
            c.text(c.get(item, "entry", at, "a string"), c.join(at, "entry"))
            c.optional(item, "precision_pct", at, c.number, "non-negative")
        architectures = precision.get("architectures_pct")
        if architectures is not None:
            for i, value in enumerate(c.items(architectures, "precision.architectures_pct", non_empty=False)):
                if value is not None:
                    c.number(value, c.join("precision.architectures_pct", i), "non-negative")
    for i, twin in enumerate(c.optional(data, "twins", "", c.items, False) or []):
        at = c.join("twins", i)
        c.mapping(twin, at, "an object {entries, spread_pct, agree}")
        members = c.items(c.get(twin, "entries", at, "a list of entries"), c.join(at, "entries"))
        for j, key in enumerate(members):
            if key not in segments:
                c.fail(c.join(c.join(at, "entries"), j), f"is not an entry of the table (got {_shown(key)})")
        c.number(c.get(twin, "spread_pct", at, "a non-negative number"), c.join(at, "spread_pct"), "non-negative")
        _boolean(c, c.get(twin, "agree", at, "true or false"), c.join(at, "agree"))
    controls = c.optional(data, "controls", "", c.mapping)
    for name, control in (controls or {}).items():
        at = c.join("controls", name)
        c.mapping(control, at, "an object {windows_ms, drift_pct}")
        c.optional(control, "windows_ms", at, _numbers_of(c, "time"))
        c.optional(control, "drift_pct", at, c.number, "non-negative")
    for i, sign in enumerate(c.optional(data, "interference", "", c.items, False) or []):
        at = c.join("interference", i)
        c.mapping(sign, at, "an object {sign, value, limit}")
        c.text(c.get(sign, "sign", at, "a string"), c.join(at, "sign"))
        for key in ("value", "limit"):
            c.number(c.get(sign, key, at, "a finite number"), c.join(at, key), "finite")


def _numbers_of(c: Checker, kind: str = "non-negative"):
    return lambda value, where: _numbers(c, value, where, kind)


def _boolean_of(c: Checker):
    return lambda value, where: _boolean(c, value, where)


def check_calibration(c: Checker, value, where: str) -> dict:
    """``{"scale": s > 0, "offset_ms": finite, ...}``: what turns a table's sum into an estimate."""
    c.mapping(value, where, "null or an object with 'scale' and 'offset_ms'")
    c.number(c.get(value, "scale", where, "a positive number"), c.join(where, "scale"), "positive")
    c.number(c.get(value, "offset_ms", where, "a finite number"), c.join(where, "offset_ms"), "finite")
    for key in ("measured_ms", "lut_ms"):
        if value.get(key) is not None:
            for i, v in enumerate(c.items(value[key], c.join(where, key), non_empty=False)):
                c.number(v, c.join(c.join(where, key), i), "time")
    return value


SPACE_FIELDS = ("name", "input", "stem_channels", "stem_kernel", "stem_stride", "head_channels", "classes",
                "options", "layers", "activation")
LAYER_FIELDS = ("index", "in_channels", "out_channels", "stride", "resolution", "options", "skippable", "attention")


def check_space(c: Checker, data, where: str = "space"):
    """The :class:`Space` a table stores (``Space.to_dict``), checked as a space file is."""
    from .. import catalogue
    from ..catalogue.families.nas import ACTIVATIONS
    from .space import NO_ATTENTION, STRIDES, Layer, Space, parse_option

    c.mapping(data, where)
    c.known(data, SPACE_FIELDS, where, "a space")
    name = c.text(c.get(data, "name", where, "a string"), c.join(where, "name"))
    shape = c.items(c.get(data, "input", where, "[C, H, W]"), c.join(where, "input"))
    if len(shape) != 3:
        c.fail(c.join(where, "input"), f"must be [C, H, W] (got {_shown(shape)})")
    channels_in, h, w = (c.integer(v, c.join(c.join(where, "input"), i)) for i, v in enumerate(shape))
    if h != w:
        c.fail(c.join(where, "input"), f"must be square, H == W (got {_shown(shape)})")
    ints = {key: c.integer(c.get(data, key, where, "an integer >= 1"), c.join(where, key))
            for key in ("stem_channels", "stem_kernel", "stem_stride", "head_channels", "classes")}
    activation = data.get("activation", "relu")
    if activation not in ACTIVATIONS:
        c.fail(c.join(where, "activation"), f"must be one of {', '.join(ACTIVATIONS)} (got {_shown(activation)})")

    def options_of(value, at):
        names = []
        for i, item in enumerate(c.items(value, at)):
            try:
                names.append(parse_option(c.text(item, c.join(at, i))).name)
            except AttncostError as error:
                c.fail(c.join(at, i), str(error))
        if len(set(names)) != len(names):
            c.fail(at, f"lists an option twice ({_shown(value)})")
        return tuple(names)

    options = options_of(c.get(data, "options", where, "a list of options"), c.join(where, "options"))
    layers_at = c.join(where, "layers")
    channels, resolution = ints["stem_channels"], -(-h // ints["stem_stride"])
    layers = []
    for i, layer in enumerate(c.items(c.get(data, "layers", where, "a list of layers"), layers_at)):
        at = c.join(layers_at, i)
        c.mapping(layer, at)
        c.known(layer, LAYER_FIELDS, at, "a layer")
        values = {key: layer.get(key) for key in LAYER_FIELDS}
        for key in LAYER_FIELDS:
            c.get(layer, key, at, "set")
        if c.integer(values["index"], c.join(at, "index"), 0) != i:
            c.fail(c.join(at, "index"), f"must be {i} (got {_shown(values['index'])})")
        for key in ("in_channels", "out_channels", "resolution"):
            c.integer(values[key], c.join(at, key))
        if values["stride"] not in STRIDES or isinstance(values["stride"], bool):
            c.fail(c.join(at, "stride"), f"must be 1 or 2 (got {_shown(values['stride'])})")
        if values["in_channels"] != channels:
            c.fail(c.join(at, "in_channels"), f"must be {channels}, the previous layer's output (got "
                                             f"{values['in_channels']})")
        if values["resolution"] != resolution:
            c.fail(c.join(at, "resolution"), f"must be {resolution}, this layer's input size (got "
                                            f"{values['resolution']})")
        if not isinstance(values["skippable"], bool):
            c.fail(c.join(at, "skippable"), f"must be true or false (got {_shown(values['skippable'])})")
        if values["skippable"] and not (values["stride"] == 1 and values["in_channels"] == values["out_channels"]):
            c.fail(c.join(at, "skippable"), "needs stride 1 and in_channels == out_channels (an identity)")
        layer_options = options_of(values["options"], c.join(at, "options"))
        attention = []
        out_resolution = -(-values["resolution"] // values["stride"])
        for j, module in enumerate(c.items(values["attention"], c.join(at, "attention"))):
            here = c.join(c.join(at, "attention"), j)
            if c.text(module, here) != NO_ATTENTION:
                try:
                    entry = catalogue.get(module)
                    entry.resolve((1, values["out_channels"], out_resolution, out_resolution))
                except AttncostError as error:
                    c.fail(here, str(error))
                if entry.name != module:
                    c.fail(here, f"must be the catalogue name {entry.name!r} (got {_shown(module)})")
            if module in attention:
                c.fail(c.join(at, "attention"), f"lists {module} twice")
            attention.append(module)
        layers.append(Layer(i, values["in_channels"], values["out_channels"], values["stride"], values["resolution"],
                            layer_options, values["skippable"], tuple(attention)))
        channels, resolution = values["out_channels"], out_resolution
    return Space(name=name, input=(channels_in, h, w), options=options, layers=tuple(layers), activation=activation,
                 **ints)


def check_singlepath(data, path, error=LutError) -> dict:
    """A Single-Path layout table ``{"layer": {"option index": ms}}`` -> {(layer, option): ms}."""
    c = Checker(path, error)
    c.mapping(data, "", "a JSON object {layer: {option: ms}}")
    if not data:
        c.fail("", "the table is empty")
    cells = {}
    for layer, row in data.items():
        if not str(layer).isdigit():
            c.fail(c.join("", layer), "is not a layer index (the Single-Path layout is {\"0\": {\"0\": ms, ...}, ...})")
        c.mapping(row, c.join("", layer), "an object {option index: ms}")
        if not row:
            c.fail(c.join("", layer), "has no options")
        for option, ms in row.items():
            if not str(option).isdigit():
                c.fail(c.join(c.join("", layer), option), "is not an option index (0 = k3e3, 1 = k3e6, ...)")
            cells[(str(layer), str(option))] = float(c.number(ms, c.join(c.join("", layer), option), "time"))
    return cells


# -- device profiles -----------------------------------------------------------------------------------

def check_profile(data, path, lines: dict | None = None) -> dict:
    """A device profile: the format, positive finite rates and a non-negative per-op overhead. ``lines``
    ({key: line}) for a profile read from YAML: the errors then name the line (:class:`Checker`)."""
    c = Checker(path, lines=lines)
    if not isinstance(data, dict) or data.get("format") != PROFILE_FORMAT:
        c.fail("", f"not a device profile (no \"format\": \"{PROFILE_FORMAT}\")")
    if data.get("version", 1) != 1:
        c.fail("version", f"must be 1 (got {_shown(data['version'])})")
    for key in RATES:
        c.number(c.get(data, key, "", "a positive number"), key, "positive")
    c.number(c.get(data, "seconds_per_op", "", "a non-negative number"), "seconds_per_op", "non-negative")
    c.optional(data, "name", "", c.text)
    c.optional(data, "dtype_bytes", "", c.integer, 1)
    c.optional(data, "fitted_on", "", c.mapping)
    return data


# -- measurements --------------------------------------------------------------------------------------

def check_measurements(data, path, error=LutError) -> dict:
    """``lut validate --report`` output (``rows`` of ``measured_ms`` and one estimate per estimator,
    ``calibrations``) or rows ``[{name, predicted_ms, measured_ms}]`` (bare or under
    ``architectures``) -> {estimator: [{"name", "predicted_ms", "measured_ms"}]}."""
    c = Checker(path, error)
    if isinstance(data, dict) and "rows" in data:
        return _validation_series(c, data)
    where = "architectures" if isinstance(data, dict) else ""
    rows = data.get("architectures") if isinstance(data, dict) else data
    if not isinstance(rows, list) or not rows:
        c.fail(where, "must be a non-empty list of {name, predicted_ms, measured_ms} rows, or the file a "
                      "'lut validate --report' file" if where else
               "expected a 'lut validate --report' file or a list of {name, predicted_ms, measured_ms} rows")
    out = []
    for i, row in enumerate(rows):
        at = c.join(where, i) if where else f"[{i}]"
        c.mapping(row, at, "an object {name, predicted_ms, measured_ms}")
        name = row.get("name", i)
        if isinstance(name, bool) or not isinstance(name, (str, int)):
            c.fail(c.join(at, "name"), f"must be a string (got {_shown(name)})")
        out.append({"name": str(name),
                    "predicted_ms": float(c.number(c.get(row, "predicted_ms", at, "a time in ms"),
                                                   c.join(at, "predicted_ms"))),
                    "measured_ms": float(c.number(c.get(row, "measured_ms", at, "a time in ms"),
                                                  c.join(at, "measured_ms")))})
    return {"predicted": out}


def _validation_series(c: Checker, data: dict) -> dict:
    rows = c.items(data["rows"], "rows")
    calibrations = data.get("calibrations") or {}
    c.mapping(calibrations, "calibrations", "an object {estimator: calibration or null}")
    for name, calibration in calibrations.items():
        if calibration is not None:
            check_calibration(c, calibration, c.join("calibrations", name))
    series: dict = {}
    for i, row in enumerate(rows):
        at = c.join("rows", i)
        c.mapping(row, at, "an object {arch, measured_ms, ESTIMATOR: ms, ...}")
        measured = float(c.number(c.get(row, "measured_ms", at, "a time in ms"), c.join(at, "measured_ms")))
        arch = row.get("arch", i)
        if isinstance(arch, bool) or not isinstance(arch, (str, int)):
            c.fail(c.join(at, "arch"), f"must be an architecture number (got {_shown(arch)})")
        for name, value in row.items():
            if name in ("arch", "measured_ms"):
                continue
            estimates = {name: float(c.number(value, c.join(at, name)))}
            calibration = calibrations.get(name)
            if calibration:
                estimates[f"{name} calibrated"] = calibration["scale"] * estimates[name] + calibration["offset_ms"]
            for label, estimate in estimates.items():
                if not math.isfinite(estimate):
                    c.fail(c.join(at, name), f"gives a calibrated estimate that is not finite ({estimate})")
                series.setdefault(label, []).append({"name": f"architecture {arch}", "predicted_ms": estimate,
                                                     "measured_ms": measured})
    if not series:
        c.fail("rows", "hold no estimates (a column per estimator, e.g. \"lut\": 12.3)")
    return series


def read(path, error=LutError):
    """The decoded JSON of ``path`` (:func:`attncost.io.read_json`)."""
    from ..io import read_json

    return read_json(Path(path) if not isinstance(path, Path) else path, error)


# -- writing -----------------------------------------------------------------------------------------

def non_finite(value, where: str = "") -> str | None:
    """The JSON path of the first NaN or infinite float in ``value`` (nested dicts and lists), or None."""
    if isinstance(value, float):
        return None if math.isfinite(value) else (where or "the value")
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, (list, tuple)):
        items = enumerate(value)
    else:
        return None
    for key, inner in items:
        found = non_finite(inner, Checker.join(where, key))
        if found is not None:
            return found
    return None


def dumps(data, what: str, indent: int = 1) -> str:
    """``data`` as strict JSON (what every reader here accepts): a NaN or infinite number is refused
    with :class:`LutError` naming ``what`` and its JSON path, never written as ``NaN``/``Infinity``
    (which JSON does not have, and which :func:`check_table` refuses when it is read back)."""
    try:
        return json.dumps(data, indent=indent, allow_nan=False)
    except ValueError:              # a NaN or infinity: found again only now, for the message's path
        where = non_finite(data)
        if where is None:
            raise
        raise LutError(f"{what}: {where} is not a finite number, which a file attncost reads may not hold: "
                       "not written") from None


def finite_or_none(value):
    """``value`` with every NaN or infinite float in it (nested) made None (JSON ``null``): for reports,
    where a figure can be undefined (Kendall's tau of constant estimates)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: finite_or_none(inner) for key, inner in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite_or_none(inner) for inner in value]
    return value
