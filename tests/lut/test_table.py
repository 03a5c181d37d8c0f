"""The table layouts and loading errors; the Single-Path layout against the original Pixel 1 table."""

import json

import pytest

from attncost.errors import LutError
from attncost.lut.predict import predict_table
from attncost.lut.table import load_singlepath, load_table

# A few rows of the original Pixel 1 table, nas-search/pixel1_runtime_model.json in
# github.com/dstamoulis/single-path-nas (commit f3a84617), copied by hand: layer index (string) ->
# option index (string; 0 = k3e3, 1 = k3e6, 2 = k5e3, 3 = k5e6) -> milliseconds. The file has the 22
# layers "0".."21" (fixed layers 0 and 21 included), each with the four option keys.
PIXEL1_EXCERPT = {
    "0": {"1": 3.9452, "0": 3.9844, "3": 3.9277, "2": 3.8584},
    "1": {"1": 9.2015, "0": 4.4905, "3": 11.5892, "2": 5.9248},
    "20": {"1": 4.9216999999999995, "0": 2.4381, "3": 5.410299999999999, "2": 2.6649},
    "21": {"1": 6.499499999999999, "0": 6.0662, "3": 7.0644, "2": 6.3308},
}
PIXEL1_LAYER_KEYS = {str(i) for i in range(22)}
PIXEL1_OPTION_KEYS = {"0", "1", "2", "3"}

PROFILE = {"format": "attncost-device-profile", "version": 1, "name": "test", "macs_per_s": 2e10,
           "other_ops_per_s": 5e9, "bytes_per_s": 1e10, "seconds_per_op": 5e-6}


def _official_loader(table):
    """How singlepath_supernet.py reads the file: runtimes of layer b = [lut[str(b)][str(i)] for i in
    range(len(lut[str(b)]))]; the 5x5 superkernel reads indices 1, 2, 3."""
    return {b: [table[str(b)][str(i)] for i in range(len(table[str(b)]))] for b in range(22)}


def test_singlepath_layout_has_the_key_layout_of_the_pixel1_table(full_space, tmp_path):
    ours = json.loads(predict_table(full_space, PROFILE).text("singlepath"))
    assert set(ours) == PIXEL1_LAYER_KEYS
    assert set(PIXEL1_EXCERPT) <= set(ours)
    for layer, row in ours.items():
        assert set(row) == PIXEL1_OPTION_KEYS == set(PIXEL1_EXCERPT["0"])
        assert all(isinstance(v, float) and v > 0 for v in row.values())
    runtimes = _official_loader(ours)
    assert all(len(r) == 4 for r in runtimes.values())
    assert len(set(runtimes[0])) == 1                      # fixed layer 0: one value under every index
    path = tmp_path / "sp.json"
    path.write_text(json.dumps(ours))
    assert load_singlepath(path, full_space)[(1, 3)] == ours["1"]["3"]


def test_the_original_excerpt_reads_like_ours(full_space, tmp_path):
    """Our Single-Path reader accepts the original's shape (all 22 layers, filled from the excerpt)."""
    table = {str(i): PIXEL1_EXCERPT.get(str(i), PIXEL1_EXCERPT["1"]) for i in range(22)}
    path = tmp_path / "pixel1.json"
    path.write_text(json.dumps(table))
    assert load_singlepath(path, full_space)[(20, 2)] == 2.6649


def test_round_trip_and_architecture_sum(tiny_measured_table, tiny_space):
    path, lut = tiny_measured_table
    loaded = load_table(path, tiny_space)
    ms = loaded.ms
    arch = [("k3e1", "none"), ("k5e6", "se"), ("skip", "none"), ("k3e6", "none")]
    constant = ms("stem") + ms("layer0:k3e1") + ms("layer3:k3e6") + ms("head")
    assert loaded.constant_ms == pytest.approx(constant)
    assert loaded.architecture_ms(arch) == pytest.approx(constant + ms("layer1:k5e6") + ms("layer1+se"))
    assert loaded.data["timing"] == "in-context"
    assert loaded.data["environment"]["MALLOC_MMAP_THRESHOLD_"] == str(32 * 1024 * 1024)
    with pytest.raises(LutError, match="no calibration"):
        loaded.architecture_ms(arch, calibrated=True)
    loaded.data["calibration"] = {"scale": 2.0, "offset_ms": 1.0}
    assert loaded.architecture_ms(arch, calibrated=True) == pytest.approx(2 * loaded.architecture_ms(arch) + 1)


def _broken(tmp_path, text):
    path = tmp_path / "broken.json"
    path.write_text(text)
    return path


@pytest.mark.parametrize("damage, words", [
    (lambda text: text[: len(text) // 2], "truncated"),
    (lambda text: text[: text.index("}", len(text) // 2) + 1], "truncated"),     # cut right after a '}'
    (lambda text: text[: text.index('"median_ms"', len(text) // 2) + 4], "truncated"),   # inside a string
    (lambda text: "{" + text[5:], "corrupt"),
    (lambda text: "[1, 2]", "not an attncost latency table"),
    (lambda text: json.dumps({"0": {"0": 1.0}}), "Single-Path layout"),
    (lambda text: text.replace('"layer1:k5e6"', '"layer1:k7e6"'), "lacks 1 of the"),
    (lambda text: text.replace('"version": 1', '"version": 7'), "version"),
])
def test_damaged_tables_give_one_clear_error(tiny_measured_table, tmp_path, damage, words):
    path, _ = tiny_measured_table
    with pytest.raises(LutError, match=words):
        load_table(_broken(tmp_path, damage(path.read_text())))


def test_table_of_another_space(tiny_measured_table, full_space):
    path, _ = tiny_measured_table
    with pytest.raises(LutError, match="built for space 'singlepath-tiny'"):
        load_table(path, full_space)


def test_missing_entries_are_named(tiny_measured_table, tmp_path):
    path, _ = tiny_measured_table
    data = json.loads(path.read_text())
    for key in ["layer1:k3e3", "layer2:k5e6", "layer2+cbam"]:
        del data["entries"][key]
    # stem + layer0 + (4 options + 3 attention) x layers 1, 2 + layer3 + head = 1 + 1 + 14 + 1 + 1 = 18
    with pytest.raises(LutError, match=r"lacks 3 of the 18 entries .*layer1:k3e3, layer2:k5e6, layer2\+cbam"):
        load_table(_broken(tmp_path, json.dumps(data)))


def test_tampered_space_and_missing_file(tiny_measured_table, tmp_path):
    path, _ = tiny_measured_table
    data = json.loads(path.read_text())
    data["space"]["head_channels"] = 65
    with pytest.raises(LutError, match="does not match its digest"):
        load_table(_broken(tmp_path, json.dumps(data)))
    with pytest.raises(LutError, match="cannot read"):
        load_table(tmp_path / "nothing.json")


def test_unknown_statistic_is_corrupt(tiny_measured_table, tmp_path):
    path, _ = tiny_measured_table
    data = json.loads(path.read_text())
    data["statistic"] = "mean"
    with pytest.raises(LutError, match="statistic 'mean' is not median, min or p10"):
        load_table(_broken(tmp_path, json.dumps(data)))


# -- the fields on a table's own quality (precision, twins, controls, the machine) --------------------

QUALITY_FIELDS = ("precision", "twins", "controls", "interference", "machine", "pinning", "timer", "backend", "cuda")
ENTRY_FIELDS = ("p10_ms", "ci_low_ms", "ci_high_ms", "precision_pct", "rel_iqr_pct", "cv_pct")


def test_a_measured_table_keeps_its_quality_and_old_tables_still_load(tiny_measured_table, tmp_path):
    path, lut = tiny_measured_table
    data = json.loads(path.read_text())
    assert set(QUALITY_FIELDS) <= set(data) and data["backend"] == "cpu" and data["timer"]["name"] == "perf_counter"
    assert all(set(ENTRY_FIELDS) <= set(entry) for entry in data["entries"].values())
    assert data["precision"]["statistic"] == "median" and data["precision"]["reached"] is None
    old = {k: v for k, v in data.items() if k not in QUALITY_FIELDS}
    old["entries"] = {k: {f: v for f, v in e.items() if f not in ENTRY_FIELDS} for k, e in data["entries"].items()}
    loaded = load_table(_broken(tmp_path, json.dumps(old)))
    assert loaded.backend == "cpu" and loaded.ms("stem") == data["entries"]["stem"]["median_ms"]


def _with(path: str, value):
    def mutate(data):
        keys = path.split("/")
        target = data
        for key in keys[:-1]:
            target = target[int(key)] if isinstance(target, list) else target[key]
        target[keys[-1]] = value
        return data
    return mutate


@pytest.mark.parametrize("damage, where", [
    (_with("entries/stem/precision_pct", -1.0), "entries.stem.precision_pct"),
    (_with("entries/stem/p10_ms", float("nan")), "entries.stem.p10_ms"),
    (_with("entries/stem/ci_low_ms", "low"), "entries.stem.ci_low_ms"),
    (_with("entries/stem/cv_pct", True), "entries.stem.cv_pct"),
    (_with("precision", [1]), "precision"),
    (_with("precision/target_pct", 0), "precision.target_pct"),
    (_with("precision/reached", "yes"), "precision.reached"),
    (_with("precision/imprecise", [{"entry": 3}]), r"precision.imprecise\[0\].entry"),
    (_with("twins", {"a": 1}), "twins"),
    (_with("twins", [{"entries": ["layer9:k3e3"], "spread_pct": 1.0, "agree": True}]), r"twins\[0\].entries\[0\]"),
    (_with("twins", [{"entries": ["stem", "head"], "spread_pct": -2.0, "agree": True}]), r"twins\[0\].spread_pct"),
    (_with("twins", [{"entries": ["stem", "head"], "spread_pct": 2.0}]), r"twins\[0\].agree"),
    (_with("controls/stem/drift_pct", float("inf")), "controls.stem.drift_pct"),
    (_with("controls/stem/windows_ms", [1.0, -1.0]), r"controls.stem.windows_ms\[1\]"),
    (_with("interference", [{"sign": "load average", "value": "high", "limit": 2}]), r"interference\[0\].value"),
    (_with("machine/load_before", [1.0, "x", 2.0]), r"machine.load_before\[1\]"),
    (_with("machine/involuntary_switches", -3), "machine.involuntary_switches"),
    (_with("pinning/cpus", [-1]), r"pinning.cpus\[0\]"),
    (_with("backend", "tpu"), "backend"),
    (_with("timer", {"clock": "x"}), "timer.name"),
])
def test_malformed_quality_fields_are_refused(tiny_measured_table, tmp_path, damage, where):
    path, _ = tiny_measured_table
    data = json.loads(path.read_text())
    data.setdefault("twins", [])
    with pytest.raises(LutError, match=rf"broken.json: {where} "):
        load_table(_broken(tmp_path, json.dumps(damage(data))))


def test_a_p10_table_estimates_with_its_10th_percentiles(tiny_measured_table, tmp_path):
    path, _ = tiny_measured_table
    data = json.loads(path.read_text())
    data["statistic"] = "p10"
    loaded = load_table(_broken(tmp_path, json.dumps(data)))
    assert loaded.ms("layer1:k5e6") == data["entries"]["layer1:k5e6"]["p10_ms"] <= data["entries"]["layer1:k5e6"]["median_ms"]
    del data["entries"]["stem"]["p10_ms"]
    with pytest.raises(LutError, match="entries.stem.p10_ms must be a non-negative finite time in ms .missing."):
        load_table(_broken(tmp_path, json.dumps(data)))
