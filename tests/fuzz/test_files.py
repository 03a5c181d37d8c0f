"""Malformed input files, each run as a real ``attncost`` process with a time limit.

The corpus: report specs, network specs (alone and named by a report spec), network definitions (a
copy of a shipped one changed: counts of 0, -1, ``true``, ``2.5``, ``1e9``, sizes that would hang or
overflow, heads that do not divide), LUT search spaces, latency tables (attncost's and the Single-Path
layout), device profiles (JSON and YAML) and measurement files that are wrong in type, miss keys, give
a key twice, hold NaN, infinite or negative times, are not UTF-8, nest thousands of levels deep, are
YAML alias bombs or recursive aliases, are empty, not a mapping, a FIFO or larger than an input file
may be, or ask for huge ranges. For every file, the process must

- exit with code 2 within LIMIT seconds (nothing hangs),
- print exactly one line on stderr, which names the file at fault (``FILE:LINE`` for YAML, the JSON
  path for JSON) and holds no traceback,
- leave its folder exactly as it was (no output created, no input changed, no temporary file).

A default run takes one file of each kind of damage for each kind of file (``DEFAULT``, about 60
processes, two at a time); each LUT-table file there runs with one of the commands that read tables
(``lut calibrate``, ``runtime``, ``validate``, ``report --lut``) in turn. ``pytest -m slow
tests/fuzz/test_files.py`` runs the rest of the corpus, and every table file with every one of them.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import json
import os
import stat
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
TINY = (ROOT / "specs" / "singlepath-tiny.yaml").read_text()
LIMIT = 20                               # seconds per process
WORKERS = 2                              # processes at a time (the CI machine has 2 cores)


@dataclass(frozen=True)
class Case:
    kind: str                            # what the corpus file is
    name: str
    files: tuple                         # (file name, text, bytes, or a function of the base table dict)
    argv: tuple                          # the command line after ``attncost``
    expect: tuple                        # what the error line must hold: "FILE:LINE:", or "FILE: " and a JSON path
    fifo: str | None = None              # a FIFO to create under this name
    sparse: tuple | None = None          # (name, size): a sparse file of that size
    slow: bool = field(default=False, compare=False)

    @property
    def id(self) -> str:
        return f"{self.kind.replace(' ', '-')}:{self.name}"


# -- the corpus ---------------------------------------------------------------------------------------

def _bomb(top: str, levels: int = 9) -> str:
    """A billion-laughs document: 9 anchors of 9 aliases each (9^9 values), used at ``top``."""
    lines = ['l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, levels)]
    return "\n".join(lines) + "\n" + top.replace("BOMB", f"*l{levels - 1}") + "\n"


DEEP = "[" * 5000 + "]" * 5000
DEEP_MAP = "a: " + "{a: " * 3000 + "1" + "}" * 3000 + "\n"
HUGE_INT = "9" * 5000
LATIN1 = "title: Caf\xe9\nmodules: [se]\nshapes: [64x8x8]\n".encode("latin-1")

REPORT = [
    ("alias-bomb", _bomb("modules: BOMB\nshapes: [64x8x8]"), ":|alias bomb"),
    ("alias-bomb-in-hp", _bomb("modules: [{module: se, hp: {r: BOMB}}]\nshapes: [64x8x8]"), ":|alias bomb"),
    ("recursive-alias", "title: &t [*t]\nmodules: [se]\nshapes: [64x8x8]\n", ":1:|recursive alias"),
    ("deep-list", f"modules: {DEEP}\n", ":1:|nested more than"),
    ("deep-mapping", DEEP_MAP, ":1:|nested more than"),
    ("latin-1", LATIN1, ":1:|not UTF-8"),
    ("nul-character", "title: a\x00b\nmodules: [se]\n", ":1:"),
    ("empty", "", ":1:"),
    ("only-comments", "# nothing here\n# at all\n", ":1:"),
    ("a-list", "- se\n- eca\n", ":1:"),
    ("a-scalar", "just words\n", ":1:"),
    ("modules-not-a-list", "modules: 5\nshapes: [64x8x8]\n", ":1:"),
    ("hp-not-a-mapping", "modules:\n  - {module: se, hp: 3}\nshapes: [64x8x8]\n", ":2:"),
    ("python-tag", "title: !!python/object/apply:os.system ['true']\nmodules: [se]\n", ":1:"),
    ("tab-indent", "modules:\n\t- se\n", ":2:"),
    ("unclosed-flow", "modules: [se, eca\nshapes: [64x8x8]\n", ":"),
    ("duplicate-key", "modules: [se]\nshapes: [64x8x8]\nmodules: [eca]\n", ":3:"),
    ("merge-into-scalar", "base: &b 5\nsweep:\n  <<: *b\n", ":1:"),
    ("title-a-list", "title: [1, 2]\nmodules: [se]\nshapes: [64x8x8]\n", ":1:"),
    ("dtype-a-mapping", "dtype: {a: 1}\nmodules: [se]\nshapes: [64x8x8]\n", ":1:"),
    ("huge-integer", f"modules: [se]\nshapes: [64x8x8]\nsweep: {{channels: [{HUGE_INT}]}}\n", ":3:"),
    ("sweep-huge-range", "modules: [se]\nshapes: [64x8x8]\nsweep:\n  range: [1, 1000000000]\n", ":4:"),
    ("sweep-range-bools", "modules: [se]\nshapes: [64x8x8]\nsweep:\n  range: [true, 9]\n", ":4:"),
    ("sweep-channels-too-few", "modules: [se]\nshapes: [64x8x8]\nsweep:\n  channels: [64, 2]\n", ":4:"),
    ("networks-a-number", "networks:\n  - 5\n", ":2:"),
    ("network-missing-file", "networks:\n  - nowhere.yaml\n", ":2:"),
    ("network-hp-out-of-range", "networks:\n  - {network: resnet18, attention: {module: se, hp: {r: 0}}}\n", ":2:"),
    ("network-hp-too-large", "networks:\n  - {network: resnet18,\n     attention: {module: se, hp: {r: 1000}}}\n", ":3:"),
    ("network-stages-a-number", "networks:\n  - {network: resnet18, attention: {module: se, stages: 5}}\n", ":2:"),
    ("network-danet-changes-channels",
     "networks:\n  - {network: resnet50-v1,\n     attention: {module: danet, where: after_blocks, stages: [4], "
     "blocks: [2]}}\n", ":3:"),
    ("latency-a-list", "networks: [resnet18]\nlatency: [1]\n", ":2:"),
]

NETWORK = [
    ("alias-bomb", _bomb("network: resnet18\nattention: {module: se, hp: {r: BOMB}}"), ":|alias bomb"),
    ("deep", f"network: resnet18\nattention: {DEEP}\n", ":2:"),
    ("latin-1", "network: resnet18\n# caf\xe9\n".encode("latin-1"), ":2:"),
    ("empty", "", ":1:"),
    ("a-list", "- resnet18\n", ":1:"),
    ("attention-a-number", "network: resnet18\nattention: 5\n", ":2:"),
    ("attention-items-numbers", "network: resnet18\nattention: [5]\n", ":2:"),
    ("hp-zero", "network: resnet18\nattention:\n  module: se\n  hp: {r: 0}\n", ":2:"),
    ("hp-unknown", "network: resnet18\nattention:\n  module: se\n  hp: {q: 1}\n", ":2:"),
    ("hp-a-string", "network: resnet18\nattention: {module: se, hp: {r: abc}}\n", ":2:"),
    ("hp-too-large-for-channels", "network: resnet18\nattention: {module: se, hp: {r: 100000}}\n", ":2:"),
    ("blocks-not-numbers", "network: resnet50\nattention: {module: nonlocal, where: after_blocks, blocks: [x]}\n", ":2:"),
    ("after-blocks-without-blocks", "network: resnet50\nattention: {module: nonlocal, where: after_blocks}\n", ":2:"),
    ("danet-every-block", "network: resnet18\n\nattention: {module: danet, where: every_block}\n", ":3:"),
    ("width-nan", "network: mobilenet-v2\nwidth: .nan\n", ":2:"),
    ("num-classes-zero", "network: resnet18\nnum_classes: 0\n", ":2:"),
    ("network-a-list", "network: [resnet18]\n", ":1:"),
    ("network-unknown", "network: resnet5\n", ":1:"),
]

#: network definitions (``name``, ``family`` and its fields) given to ``attncost network FILE``: a copy of
#: a shipped one changed, each field a count, a size or a number within its bounds (networks/fields.py)
DEFINITION = [
    ("layers-zero", "name: x\nfamily: resnet\nblock: bottleneck\nlayers: [3, 0, 6, 3]\n", ":4:|layers[1]"),
    ("layers-negative", "name: x\nfamily: resnet\nblock: bottleneck\nlayers: [3, -1, 6, 3]\n", ":4:|layers[1]"),
    ("layers-a-boolean", "name: x\nfamily: resnet\nblock: bottleneck\nlayers: [true, 4, 6, 3]\n", ":4:|layers[0]"),
    ("layers-a-fraction", "name: x\nfamily: resnet\nblock: bottleneck\nlayers: [2.5, 4, 6, 3]\n", ":4:|layers[0]"),
    ("layers-huge", "name: x\nfamily: resnet\nblock: bottleneck\nlayers: [3, 1e9, 6, 3]\n", ":4:|layers[1]"),
    ("layers-too-many-blocks", "name: x\nfamily: resnet\nblock: bottleneck\nlayers: [9999, 9999, 9999, 9999]\n",
     ":4:|at most 10,000"),
    ("layers-huge-integer", f"name: x\nfamily: resnet\nblock: bottleneck\nlayers: [3, {HUGE_INT[:3000]}, 6, 3]\n",
     ":4:|layers[1]"),
    ("groups-huge", "name: x\nfamily: resnet\nblock: bottleneck\nlayers: [3, 4, 6, 3]\ngroups: 1e9\n", ":5:|groups"),
    ("block-unknown", "name: x\nfamily: resnet\nblock: dense\nlayers: [3, 4, 6, 3]\n", ":3:|block"),
    ("vit-embed-dim-zero", "name: x\nfamily: vit\nembed_dim: 0\n", ":3:|embed_dim"),
    ("vit-embed-dim-huge", "name: x\nfamily: vit\nembed_dim: 1000000000000\n", ":3:|embed_dim"),
    ("vit-heads-do-not-divide", "name: x\nfamily: vit\nembed_dim: 768\nheads: 7\n", ":4:|not divisible"),
    ("vit-depth-hangs", "name: x\nfamily: vit\ndepth: 100000\n", ":3:|depth"),
    ("swin-window-zero", "name: x\nfamily: swin\nwindow: 0\n", ":3:|window"),
    ("swin-stages-too-wide", f"name: x\nfamily: swin\ndepths: {[1] * 24}\nheads: {[1] * 24}\n", ":3:|at most 2^20"),
    ("regnet-w-m-below-1", "name: x\nfamily: regnet\ndepth: 16\nw_0: 48\nw_a: 27.89\nw_m: 0.5\ngroup_width: 8\n",
     ":6:|w_m"),
    ("regnet-w-m-huge", "name: x\nfamily: regnet\ndepth: 16\nw_0: 48\nw_a: 27.89\nw_m: 1e300\ngroup_width: 8\n",
     ":6:|w_m"),
    ("regnet-no-bottleneck", "name: x\nfamily: regnet\ndepth: 16\nw_0: 48\nw_a: 27.89\nw_m: 2.09\ngroup_width: 8\n"
                             "bottleneck_multiplier: 0.001\n", ":8:|bottleneck_multiplier"),
    ("dynamic-reduction-without-experts", "name: x\nfamily: mobilenet-v2\ndynamic_reduction: 8\n",
     ":3:|dynamic_experts"),
    ("name-a-list", "name: [x]\nfamily: mobilenet-v2\n", ":1:|name"),
]

SPACE_LINES = TINY.splitlines()


def _space(replace: dict | None = None, append: str = "") -> str:
    text = TINY
    for old, new in (replace or {}).items():
        assert old in text, old
        text = text.replace(old, new)
    return text + append


SPACE = [
    ("alias-bomb", _bomb("name: x\ninput: 3x32x32\nstem: {channels: 8}\nhead: {channels: 8}\nlayers: BOMB"), ":|alias bomb"),
    ("deep", f"name: x\nlayers: {DEEP}\n", ":2:"),
    ("latin-1", ("# caf\xe9\n" + TINY).encode("latin-1"), ":1:"),
    ("empty", "", ":1:"),
    ("a-list", "- 1\n", ":1:"),
    ("layers-a-number", _space({"layers:\n": "layers: 5\n#"}), ":"),
    ("layer-a-number", _space({"  - {in: 8, out: 8, stride: 1, resolution: 16, options: [k3e1]}": "  - 5"}), ":"),
    ("stem-a-number", _space({"stem: {channels: 8, kernel: 3, stride: 2}": "stem: 5"}), ":4:"),
    ("input-not-square", _space({"input: 3x32x32": "input: 3x32x16"}), ":3:"),
    ("unknown-option", _space({"options: [k3e3, k3e6, k5e3, k5e6]": "options: [k3e3, k9e9]"}), ":6:"),
    ("unknown-attention", _space({"attention: [none, se, eca, cbam]": "attention: [none, sqz]"}), ":7:"),
    ("channels-do-not-chain", _space({"{in: 8, out: 16, stride: 2": "{in: 9, out: 16, stride: 2"}), ":10:"),
    ("resolution-does-not-chain", _space({"stride: 2, resolution: 16}": "stride: 2, resolution: 17}"}), ":10:"),
    ("attention-the-layer-cannot-take",
     _space({"- {in: 16, out: 24, stride: 1, resolution: 8, options: [k3e6]}":
             "- {in: 16, out: 2, stride: 1, resolution: 8, options: [k3e6], attention: [none, se]}"}), ":12:"),
    ("stride-fraction", _space({"stride: 2, resolution: 16}": "stride: 2.5, resolution: 16}"}), ":10:"),
    ("skip-a-string", _space({"skip: true": "skip: sure"}), ":11:"),
    ("channels-a-boolean", _space({"head: {channels: 64": "head: {channels: true"}), ":5:"),
    ("huge-integer", _space({"head: {channels: 64": f"head: {{channels: {HUGE_INT}"}), ":5:"),
]


def _table(mutate):
    """A file made from the base table (a dict) by ``mutate`` (which edits it or returns the new content)."""
    return ("table", mutate)


def _set(path: str, value):
    """Set ``a.b.c`` (list indices as numbers) to ``value`` in the table."""
    def mutate(data):
        keys = [int(k) if k.isdigit() else k for k in path.split("/")]
        target = data
        for key in keys[:-1]:
            target = target[key]
        target[keys[-1]] = value
    return mutate


def _drop(path: str):
    def mutate(data):
        keys = [int(k) if k.isdigit() else k for k in path.split("/")]
        target = data
        for key in keys[:-1]:
            target = target[key]
        del target[keys[-1]]
    return mutate


TABLE = [
    ("negative-time", _table(_set("entries/layer2:k3e3/median_ms", -1.0)), "entries.layer2:k3e3.median_ms"),
    ("nan-time", _table(_set("entries/layer1:k5e6/median_ms", float("nan"))), "entries.layer1:k5e6.median_ms"),
    ("infinite-time", _table(_set("entries/stem/median_ms", float("inf"))), "entries.stem.median_ms"),
    ("string-time", _table(_set("entries/head/median_ms", "fast")), "entries.head.median_ms"),
    ("boolean-time", _table(_set("entries/head/median_ms", True)), "entries.head.median_ms"),
    ("entry-a-list", _table(_set("entries/stem", [1.0])), "entries.stem"),
    ("entry-missing", _table(_drop("entries/layer2+cbam")), "lacks 1 of the"),
    ("entry-extra", _table(_set("entries/layer9:k3e3", {"median_ms": 1.0})), "entries.layer9:k3e3"),
    ("entries-a-list", _table(_set("entries", [])), "'entries'"),
    ("calibration-nan", _table(_set("calibration", {"scale": float("nan"), "offset_ms": 0.0})), "calibration.scale"),
    ("calibration-negative", _table(_set("calibration", {"scale": -2.0, "offset_ms": 0.0})), "calibration.scale"),
    ("calibration-a-string", _table(_set("calibration", "yes")), "calibration"),
    ("calibration-offset-missing", _table(_set("calibration", {"scale": 1.0})), "calibration.offset_ms"),
    ("space-layers-a-number", _table(_set("space/layers", 3)), "space.layers"),
    ("space-channels-a-string", _table(_set("space/layers/1/in_channels", "8")), "space.layers[1].in_channels"),
    ("space-attention-unknown", _table(_set("space/layers/1/attention", ["none", "sqz"])),
     "space.layers[1].attention[1]"),
    ("space-key-missing", _table(_drop("space/layers/2/skippable")), "space.layers[2].skippable"),
    ("space-missing", _table(_drop("space")), "space"),
    ("device-a-string", _table(_set("device", "cpu")), "device"),
    ("threads-huge", _table(_set("threads", 100000)), "threads"),
    ("batch-a-string", _table(_set("batch", "one")), "batch"),
    ("statistic-unknown", _table(_set("statistic", "mean")), "statistic 'mean'"),
    ("format-missing", _table(_drop("format")), "latency"),
    ("a-list", _table(lambda data: [1, 2]), "latency"),
    ("truncated", _table(lambda data: json.dumps(data, indent=1)[:500]), "truncated"),
    ("corrupt", _table(lambda data: "{" + json.dumps(data)[5:]), "corrupt"),
    ("latin-1", '{"format": "caf\xe9"}'.encode("latin-1"), ":1:"),
    ("deep", DEEP, "nested more than"),
    ("huge-integer", _table(lambda data: json.dumps(data).replace('"batch": 1', f'"batch": {HUGE_INT}')),
     "digits"),
    ("empty", "", "truncated"),
]
SINGLEPATH = [                           # the Single-Path layout, read by ``report --lut``
    ("negative", json.dumps({"0": {"0": 1.0, "1": -2.0}}), '["0"]["1"]'),
    ("nan", '{"0": {"0": NaN}}', '["0"]["0"]'),
    ("not-a-layer-index", json.dumps({"stem": {"median_ms": 1.0}}), "stem"),
    ("option-a-list", json.dumps({"0": {"0": [1]}}), '["0"]["0"]'),
]

PROFILE_BASE = {"format": "attncost-device-profile", "version": 1, "name": "test", "macs_per_s": 2e10,
                "other_ops_per_s": 4e9, "bytes_per_s": 1.2e10, "seconds_per_op": 6e-6}


def _profile(**changes) -> str:
    data = {**PROFILE_BASE, **changes}
    return json.dumps({k: v for k, v in data.items() if v is not _MISSING})


_MISSING = object()
PROFILE = [
    ("nan-rate", _profile(macs_per_s=float("nan")), "macs_per_s"),
    ("zero-rate", _profile(bytes_per_s=0), "bytes_per_s"),
    ("negative-overhead", _profile(seconds_per_op=-1e-6), "seconds_per_op"),
    ("infinite-rate", _profile(other_ops_per_s=float("inf")), "other_ops_per_s"),
    ("string-rate", _profile(macs_per_s="fast"), "macs_per_s"),
    ("missing-rate", _profile(bytes_per_s=_MISSING), "bytes_per_s"),
    ("name-a-list", _profile(name=[1]), "name"),
    ("version-2", _profile(version=2), "version"),
    ("wrong-format", _profile(format="something"), "not a device profile"),
    ("a-list", "[1, 2]\n", "not a device profile"),
    ("yaml-alias-bomb", _bomb("format: attncost-device-profile\nmacs_per_s: BOMB"), ":|alias bomb"),
    ("yaml-duplicate-key", "format: attncost-device-profile\nmacs_per_s: 2e10\nother_ops_per_s: 4e9\n"
                           "bytes_per_s: 1e10\nseconds_per_op: 0\nmacs_per_s: 1\n", ":6:|twice (first at line 2)"),
    ("yaml-nan-rate", "format: attncost-device-profile\nmacs_per_s: .nan\nother_ops_per_s: 4e9\n", ":2:|macs_per_s"),
    ("duplicate-key", _profile()[:-1] + ', "macs_per_s": 1}', "twice"),
    ("empty", "", ":1:|must be a mapping"),
    ("truncated", _profile()[:40], ":1:|not a JSON/YAML device profile"),
    ("latin-1", '{"format": "caf\xe9"}'.encode("latin-1"), ":1:"),
]

VALIDATION = {"rows": [{"arch": 0, "measured_ms": 1.0, "lut": 1.1, "predicted": 0.9},
                       {"arch": 1, "measured_ms": 2.0, "lut": 2.2, "predicted": 1.8}],
              "calibrations": {"lut": {"scale": 1.0, "offset_ms": 0.0}, "predicted": None}}


def _validation(mutate) -> str:
    data = json.loads(json.dumps(VALIDATION))
    result = mutate(data)
    return json.dumps(data if result is None else result)


MEASUREMENTS = [
    ("negative-measured", _validation(_set("rows/0/measured_ms", -1.0)), "rows[0].measured_ms"),
    ("nan-estimate", _validation(_set("rows/1/lut", float("nan"))), "rows[1].lut"),
    ("infinite-estimate", _validation(_set("rows/1/predicted", float("inf"))), "rows[1].predicted"),
    ("string-estimate", _validation(_set("rows/0/predicted", "fast")), "rows[0].predicted"),
    ("measured-missing", _validation(_drop("rows/1/measured_ms")), "rows[1].measured_ms"),
    ("rows-a-number", _validation(_set("rows", 5)), "rows"),
    ("row-a-list", _validation(_set("rows/0", [1])), "rows[0]"),
    ("calibration-scale-a-string", _validation(_set("calibrations/lut/scale", "x")), "calibrations.lut.scale"),
    ("calibration-scale-negative", _validation(_set("calibrations/lut/scale", -1.0)), "calibrations.lut.scale"),
    ("plain-rows-missing-key", json.dumps([{"name": "a", "predicted_ms": 1.0}]), "[0].measured_ms"),
    ("plain-rows-negative", json.dumps({"architectures": [{"name": "a", "predicted_ms": -1, "measured_ms": 1}]}),
     "architectures[0].predicted_ms"),
    ("empty-list", "[]", "expected"),
    ("deep", DEEP, "nested more than"),
    ("huge-integer", '{"rows": [{"measured_ms": ' + HUGE_INT + "}]}", "digits"),
    ("latin-1", '{"rows": "caf\xe9"}'.encode("latin-1"), ":1:"),
]

TABLE_COMMANDS = (
    ("lut", "calibrate", "{f}", "-o", "fitted.json"),
    ("lut", "runtime", "{f}"),
    ("lut", "validate", "{f}", "--report", "validation-out.json", "--samples", "2", "--passes", "1"),
    ("report", "--lut", "{f}", "-o", "page.html"),
)


#: the cases a default run takes (one of each kind of damage for each kind of file, ~60 processes);
#: ``-m slow`` runs the whole corpus, and every table file with every command that reads tables
DEFAULT = {
    "report spec": {"alias-bomb", "recursive-alias", "deep-list", "latin-1", "nul-character", "empty", "a-list",
                    "hp-not-a-mapping", "python-tag", "huge-integer", "sweep-huge-range", "sweep-channels-too-few",
                    "network-hp-too-large", "network-danet-changes-channels", "fifo", "too-large",
                    "lut-it-names-has-nan", "measurements-it-names-negative"},
    "network spec": {"alias-bomb", "deep", "empty", "attention-a-number", "hp-unknown", "danet-every-block",
                     "width-nan"},
    "network spec named by a report": {"hp-too-large-for-channels"},
    "network definition": {"layers-zero", "layers-too-many-blocks", "vit-heads-do-not-divide", "swin-window-zero",
                           "regnet-w-m-huge"},
    "lut space": {"alias-bomb", "latin-1", "a-list", "layers-a-number", "channels-do-not-chain",
                  "attention-the-layer-cannot-take", "huge-integer", "fifo"},
    "lut table": ["negative-time", "nan-time", "string-time", "entry-missing", "calibration-nan",
                  "space-channels-a-string", "threads-huge", "truncated", "deep", "latin-1"],
    "singlepath table": {"negative"},
    "device profile": {"nan-rate", "missing-rate", "yaml-alias-bomb", "yaml-duplicate-key", "empty", "latin-1"},
    "measurements": {"negative-measured", "nan-estimate", "measured-missing", "deep", "calibration-scale-a-string"},
}


def _yaml_expect(file: str, line: str) -> tuple:
    """``FILE:LINE:`` (``:LINE:|words``: and those words)."""
    first, *words = line.split("|")
    return (file + first, *words)


def _json_expect(file: str, where: str) -> tuple:
    """What the error line must hold: the file (with its line, ``:LINE:|words``, for text that is not
    even JSON, or was read as YAML) and the JSON path or the words of the damage."""
    return _yaml_expect(file, where) if where.startswith(":") else (f"{file}: ", where)


def _cases() -> list:
    cases = []
    for name, text, line in REPORT:
        cases.append(Case("report spec", name, (("bad.yaml", text),), ("report", "bad.yaml", "-o", "page.html"),
                          _yaml_expect("bad.yaml", line)))
    cases.append(Case("report spec", "fifo", (), ("report", "bad.yaml", "-o", "page.html"), ("bad.yaml: cannot read", "FIFO"),
                      fifo="bad.yaml"))
    cases.append(Case("report spec", "too-large", (), ("report", "bad.yaml", "-o", "page.html"),
                      ("bad.yaml: cannot read", "bytes"), sparse=("bad.yaml", 65 << 20)))
    cases.append(Case("report spec", "lut-it-names-has-nan",
                      (("bad.yaml", "networks: [resnet18]\nlatency: {lut: bad-lut.json}\n"),
                       ("bad-lut.json", _table(_set("entries/stem/median_ms", float("nan"))))),
                      ("report", "bad.yaml", "-o", "page.html"), ("bad-lut.json: entries.stem.median_ms",)))
    cases.append(Case("report spec", "measurements-it-names-negative",
                      (("bad.yaml", "networks: [resnet18]\nlatency: {measurements: bad-m.json}\n"),
                       ("bad-m.json", _validation(_set("rows/0/measured_ms", -3.0)))),
                      ("report", "bad.yaml", "-o", "page.html"), ("bad-m.json: rows[0].measured_ms",)))
    for name, text, line in NETWORK:
        cases.append(Case("network spec", name, (("bad.yaml", text),), ("network", "bad.yaml", "--graphml", "g.xml"),
                          _yaml_expect("bad.yaml", line)))
        if name in ("hp-zero", "hp-too-large-for-channels", "danet-every-block", "alias-bomb"):
            cases.append(Case("network spec named by a report", name,
                              (("bad.yaml", text), ("report.yaml", "title: t\nnetworks:\n  - resnet18\n  - bad.yaml\n")),
                              ("report", "report.yaml", "-o", "page.html"), _yaml_expect("bad.yaml", line)))
    for name, text, line in DEFINITION:
        cases.append(Case("network definition", name, (("bad.yaml", text),),
                          ("network", "bad.yaml", "--graphml", "g.xml"), _yaml_expect("bad.yaml", line)))
    for name, text, line in SPACE:
        cases.append(Case("lut space", name, (("bad.yaml", text),),
                          ("lut", "predict", "bad.yaml", "--device-profile", "profile.json", "-o", "predicted.json"),
                          _yaml_expect("bad.yaml", line)))
    cases.append(Case("lut space", "fifo", (), ("lut", "build", "bad.yaml", "-o", "built.json"),
                      ("bad.yaml: cannot read", "FIFO"), fifo="bad.yaml"))
    for i, (name, content, where) in enumerate(TABLE):
        chosen = DEFAULT["lut table"].index(name) % len(TABLE_COMMANDS) if name in DEFAULT["lut table"] else None
        for j, command in enumerate(TABLE_COMMANDS):
            argv = tuple(part.format(f="bad.json") for part in command)
            cases.append(Case("lut table", f"{name}-{command[1]}", (("bad.json", content),), argv,
                              _json_expect("bad.json", where), slow=j != chosen))
    for name, content, where in SINGLEPATH:
        cases.append(Case("singlepath table", name, (("bad.json", content),),
                          ("report", "--lut", "bad.json", "-o", "page.html"), _json_expect("bad.json", where)))
    for name, content, where in PROFILE:
        file = f"bad.{'yaml' if name.startswith('yaml') else 'json'}"
        cases.append(Case("device profile", name, ((file, content),),
                          ("lut", "predict", "tiny.yaml", "--device-profile", file, "-o", "predicted.json"),
                          _json_expect(file, where)))
    for name, content, where in MEASUREMENTS:
        cases.append(Case("measurements", name, (("bad.json", content),),
                          ("report", "--measurements", "bad.json", "-o", "page.html"), _json_expect("bad.json", where)))
    return [case if case.kind == "lut table" else
            Case(case.kind, case.name, case.files, case.argv, case.expect, case.fifo, case.sparse,
                 slow=case.name not in DEFAULT[case.kind]) for case in cases]


CASES = _cases()


# -- running ------------------------------------------------------------------------------------------

@dataclass
class Result:
    returncode: int
    stderr: str
    seconds: float
    changed: list


def _base_table() -> dict:
    """A valid table of the tiny space (predicted, relabelled as measured so that calibrate takes it)."""
    from attncost.lut.predict import predict_table
    from attncost.lut.space import load_space

    table = predict_table(load_space(ROOT / "specs" / "singlepath-tiny.yaml"), PROFILE_BASE)
    data = json.loads(table.text())
    data.update({"timing": "in-context", "threads": 1, "calibration": {"scale": 1.0, "offset_ms": 0.0}})
    return data


def _write(folder: Path, case: Case, base: dict) -> None:
    (folder / "tiny.yaml").write_text(TINY)
    (folder / "profile.json").write_text(json.dumps(PROFILE_BASE))
    (folder / "table.json").write_text(json.dumps(base))
    for name, content in case.files:
        if isinstance(content, tuple) and content[0] == "table":
            data = json.loads(json.dumps(base))
            result = content[1](data)
            content = json.dumps(data) if result is None else (result if isinstance(result, str) else json.dumps(result))
        (folder / name).write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    if case.fifo:
        os.mkfifo(folder / case.fifo)
    if case.sparse:
        with open(folder / case.sparse[0], "wb") as handle:
            handle.truncate(case.sparse[1])


def snapshot(folder: Path) -> dict:
    """{relative path: (kind, size, mode, mtime, sha256)} of everything under ``folder``."""
    found = {}
    for path in sorted(folder.rglob("*")):
        info = path.lstat()
        digest = ""
        if stat.S_ISREG(info.st_mode) and info.st_size < (1 << 20):
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
        found[str(path.relative_to(folder))] = (stat.S_IFMT(info.st_mode), info.st_size, stat.S_IMODE(info.st_mode),
                                               info.st_mtime_ns, digest)
    return found


def environment() -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ATTNCOST_")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def run_attncost(argv, cwd, timeout=LIMIT) -> tuple:
    """(exit code, stdout, stderr, seconds) of ``attncost ARGV`` as a real process; a hang is
    reported as exit code None after ``timeout`` seconds (the process is killed)."""
    started = time.monotonic()
    try:
        done = subprocess.run([sys.executable, "-m", "attncost.cli", *argv], cwd=cwd, env=environment(),
                              capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as expired:
        return None, expired.stdout or "", expired.stderr or "", time.monotonic() - started
    return done.returncode, done.stdout, done.stderr, time.monotonic() - started


def _run(case: Case, folder: Path, base: dict) -> Result:
    folder.mkdir(parents=True)
    _write(folder, case, base)
    before = snapshot(folder)
    code, _, stderr, seconds = run_attncost(case.argv, folder)
    after = snapshot(folder)
    changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
    return Result(code, stderr if isinstance(stderr, str) else stderr.decode(errors="replace"), seconds, changed)


@pytest.fixture(scope="module")
def results(request, tmp_path_factory):
    """Every selected case run as a process, WORKERS at a time."""
    selected = [item.callspec.params["case"] for item in request.session.items     # slow ones deselected
                if item.module is request.module and hasattr(item, "callspec") and "case" in item.callspec.params]
    base = _base_table()
    root = tmp_path_factory.mktemp("corpus")
    with concurrent.futures.ThreadPoolExecutor(WORKERS) as pool:
        futures = {case.id: pool.submit(_run, case, root / f"case{i}", base) for i, case in enumerate(selected)}
        return {key: future.result() for key, future in futures.items()}


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id, marks=[pytest.mark.slow] if c.slow else [])
                                  for c in CASES])
def test_malformed_file_is_one_line_and_exit_2(case, results, fuzz_cases):
    fuzz_cases[f"file: {case.kind} (process)"] += 1
    result = results[case.id]
    assert result.returncode is not None, f"{case.id} hung: killed after {LIMIT} s"
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2, (result.returncode, result.stderr[-2000:])
    assert len(lines) == 1, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    assert lines[0].startswith(f"Error: {case.expect[0]}") and all(part in lines[0] for part in case.expect), \
        (case.expect, lines[0])
    assert not result.changed, f"{case.id} changed {result.changed}"


def test_corpus_counts():
    """The corpus covers every kind of file, and the failure kinds the issue names."""
    kinds = {}
    for case in CASES:
        kinds[case.kind] = kinds.get(case.kind, 0) + 1
    assert set(kinds) == {"report spec", "network spec", "network spec named by a report", "network definition",
                          "lut space", "lut table", "singlepath table", "device profile", "measurements"}
    names = " ".join(c.name for c in CASES)
    for failure in ("alias-bomb", "deep", "latin-1", "empty", "nan", "negative", "a-list", "missing", "huge"):
        assert failure in names, failure


def test_program_refuses_shapes_pytorch_would_reject(fuzz_cases):
    """The walker's binary ops broadcast as PyTorch does (each pair of sizes equal or 1) and refuse
    the rest, naming the scope; what PyTorch accepts still runs, symbolic sizes included."""
    import sympy

    from attncost.cost import Program
    from attncost.errors import ShapeError

    fuzz_cases["program: shapes PyTorch rejects (in-process)"] += 4
    g = Program()
    big, small = g.input((1, 64, 7, 7)), g.input((1, 16, 7, 7))
    with g.scope("stage1", "block0"):
        with pytest.raises(ShapeError, match=r"^stage1/block0: add of shapes \(1, 64, 7, 7\) and \(1, 16, 7, 7\) "
                                             r"does not broadcast \(dim -3: 64 vs 16"):
            g.add(big, small)
        with pytest.raises(ShapeError, match="does not broadcast"):
            g.mul(big, g.input((1, 64, 7, 6)))
        with pytest.raises(ShapeError, match="in-place add"):
            g.add(g.input((1, 64, 1, 1)), big, inplace=True)
        with pytest.raises(ShapeError, match="matmul of shapes"):
            g.matmul(g.input((2, 3, 5)), g.input((2, 4, 6)))
    assert g.add(big, g.input((1, 64, 1, 1))).shape == (1, 64, 7, 7)
    assert g.mul(big, 2.0).shape == (1, 64, 7, 7)
    n, h = sympy.Symbol("N", positive=True), sympy.Symbol("H", positive=True)
    s = Program()
    assert s.add(s.input((n, 8, h, h)), s.input((n, 8, 1, 1))).shape == (n, 8, h, h)
