"""The latency table predicted without measuring: op counts and memory traffic through a device profile.

Each op of a segment (from its attncost Program: exact MACs, other arithmetic and bytes read and
written) takes an additive-roofline time (Williams, Waterman, Patterson, CACM 2009, with a per-op
dispatch cost added for eager frameworks):

    t_op = max((macs / P_mac + other / P_other), bytes / B) + t_0

with the profile's peak MAC rate P_mac, rate of other arithmetic P_other, memory bandwidth B and per-op
overhead t_0; a segment's time is the sum over its ops. ``attncost lut calibrate`` fits a profile to a
measured table. No torch.

A profile is a JSON (or YAML) object (YAML read as spec files are, with ``FILE:LINE`` errors)::

    {"format": "attncost-device-profile", "version": 1, "name": "...",
     "macs_per_s": 2.1e10, "other_ops_per_s": 4e9, "bytes_per_s": 1.2e10, "seconds_per_op": 6e-6}
"""

from __future__ import annotations

import datetime
import json

from ..errors import LutError, SpecError
from .schema import PROFILE_FORMAT, RATES, check_profile, dumps      # the profile's format lives with its checks
from .segments import all_segments, segment_work
from .space import Space
from .table import FORMAT, VERSION, Lut


def load_profile(path) -> dict:
    """A device profile file, checked by :func:`attncost.lut.schema.check_profile`: positive finite
    rates, a non-negative finite overhead; one line naming the file and key else. JSON (a key given
    twice is refused), or YAML read as every spec file is (:func:`attncost.specfile.read`: safely, with
    the limits of :mod:`attncost.io`, a key given twice refused, ``2e10`` a number), its errors at
    ``FILE:LINE``."""
    from ..io import parse_json, read_text

    text = read_text(path, LutError)                 # a regular UTF-8 file of at most 64 MiB
    repeated: list = []
    try:
        data = parse_json(text, path, LutError, object_pairs_hook=lambda pairs: _object(pairs, repeated))
    except LutError as json_error:
        if not str(json_error).startswith(f"{path}: not a complete JSON file"):
            raise
        return _yaml_profile(path)                    # JSON is YAML; YAML profiles too
    if repeated:
        raise LutError(f"{path}: gives {json.dumps(repeated[0])} twice in one object; give each key once")
    return check_profile(data, path)


def _yaml_profile(path) -> dict:
    """A YAML device profile, read by :func:`attncost.specfile.read`; every error ``FILE:LINE: ...``."""
    from .. import specfile

    try:
        root = specfile.read(path)
        lines = {key: node.line for key, node in root.mapping("a device profile").items()}
    except SpecError as error:
        where, malformed, detail = str(error).partition(": malformed YAML (")
        raise LutError(f"{where}: not a JSON/YAML device profile ({detail}" if malformed else str(error)) from None
    return check_profile(root.value, path, lines)


def _object(pairs: list, repeated: list) -> dict:
    """A JSON object of ``pairs``, each key given twice in it noted in ``repeated`` (``json`` would
    keep the last one silently; the whole file parsed, :func:`load_profile` refuses it)."""
    seen = set()
    for key, _ in pairs:
        if key in seen:
            repeated.append(key)
        seen.add(key)
    return dict(pairs)


def segment_seconds(space: Space, key: str, profile: dict, batch: int = 1) -> float:
    work = segment_work(space, key, batch)
    return sum(max(op.macs / profile["macs_per_s"] + op.other / profile["other_ops_per_s"],
                   op.bytes / profile["bytes_per_s"]) + profile["seconds_per_op"] for op in work.ops)


def predict_table(space: Space, profile: dict, batch: int = 1) -> Lut:
    """A table of ``space`` (attncost layout, ``"timing": "predicted"``) from ``profile``."""
    entries = {key: {"median_ms": 1e3 * segment_seconds(space, key, profile, batch)} for key in all_segments(space)}
    data = {"format": FORMAT, "version": VERSION, "unit": "ms", "space_name": space.name,
            "space_digest": space.digest, "timing": "predicted", "batch": batch, "threads": None,
            "device_profile": profile, "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "entries": entries, "calibration": None, "space": space.to_dict()}
    lut = Lut(data, space)
    data["constant_ms"] = lut.constant_ms
    return lut


def profile_text(profile: dict) -> str:
    return dumps(profile, "the device profile")
