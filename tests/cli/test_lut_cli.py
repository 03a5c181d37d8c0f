"""``attncost lut`` through click's CliRunner on the tiny space (real measurements, few rounds); bad
input gives one line and exit code 2; the commands that do not measure never import torch."""

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from attncost.cli.main import cli

TINY = "specs/singlepath-tiny.yaml"
QUICK = ["--repeats", "3", "--warmup", "1"]


def run(*args, env=None):
    return CliRunner(env=env).invoke(cli, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    folder = tmp_path_factory.mktemp("lutcli")
    # progress lines show on a terminal only; ATTNCOST_PROGRESS=1 forces them into the captured stderr
    result = run("lut", "build", TINY, "-o", folder / "tiny.json", *QUICK, "--calibrate-archs", "2",
                 env={"ATTNCOST_PROGRESS": "1"})
    assert result.exit_code == 0, result.output
    return folder, result


def test_build_writes_a_table_and_shows_progress(built):
    folder, result = built
    data = json.loads((folder / "tiny.json").read_text())
    assert data["format"] == "attncost-lut" and data["timing"] == "in-context" and data["threads"] == 1
    assert data["calibration"]["archs"] == 2 and data["calibration"]["fit"] == "scale"
    assert data["environment"]["MALLOC_MMAP_THRESHOLD_"] == "33554432"
    assert "measuring the segments of singlepath-tiny" in result.stderr
    assert "constant_ms" in result.stdout and "k5e6" in result.stdout
    assert not list(folder.glob(".attncost-*"))                     # no temporary left behind


def test_build_singlepath_layout_and_isolated_timing(tmp_path):
    out = tmp_path / "sp.json"
    result = run("lut", "build", TINY, "-o", out, *QUICK, "--calibrate-archs", "0", "--timing", "isolated",
                 "--layout", "singlepath")
    assert result.exit_code == 0, result.output
    table = json.loads(out.read_text())
    assert set(table) == {"0", "1", "2", "3"} and all(set(row) == {"0", "1", "2", "3"} for row in table.values())
    assert "no constant term" in result.stderr


def test_calibrate_predict_runtime_and_calibrate_sum(built):
    folder, _ = built
    profile = folder / "profile.json"
    assert run("lut", "calibrate", folder / "tiny.json", "-o", profile).exit_code == 0
    assert json.loads(profile.read_text())["format"] == "attncost-device-profile"
    predicted = folder / "predicted.json"
    result = run("lut", "predict", TINY, "--device-profile", profile, "-o", predicted)
    assert result.exit_code == 0 and "timing: predicted" in result.stdout
    assert json.loads(predicted.read_text())["timing"] == "predicted"
    result = run("lut", "runtime", folder / "tiny.json", "--model", "multilinear")
    assert "d5x5_1" in result.stdout and "d50c_2" in result.stdout and "w_cbam_1" in result.stdout
    result = run("lut", "calibrate-sum", folder / "tiny.json", "--archs", "2", "--passes", "1", "--repeats", "1",
                 "--fit", "scale+offset")
    assert result.exit_code == 0 and "scale" in result.stdout
    calibration = json.loads((folder / "tiny.json").read_text())["calibration"]
    # two noisy architectures can fit a non-positive scale exactly; then the scale alone is used
    # (calibrate.fit_sum), so the table stays readable by its own loader
    assert calibration["scale"] > 0
    assert calibration["fit"] == "scale+offset" or (calibration["fit"] == "scale" and calibration["offset_ms"] == 0)


def test_validate_small(built):
    folder, _ = built
    report = folder / "report.json"
    result = run("lut", "validate", folder / "tiny.json", "--samples", "4", "--passes", "2", "--repeats", "1",
                 "--calibrate-archs", "2", "--space", TINY, "--report", report)
    assert result.exit_code == 0, result.output
    assert "kendall_tau" in result.stdout and "noise floor" in result.stdout
    assert json.loads(report.read_text())["architectures"] == 4


def _damaged(folder, name, text):
    path = folder / name
    path.write_text(text)
    return path


@pytest.mark.parametrize("args, words", [
    (lambda f: ["validate", _damaged(f, "cut.json", (f / "tiny.json").read_text()[:200])], "truncated"),
    (lambda f: ["validate", _damaged(f, "junk.json", "{not json}")], "corrupt"),
    (lambda f: ["validate", f / "tiny.json", "--space", "specs/singlepath-space.yaml"], "built for space"),
    (lambda f: ["validate", _damaged(f, "short.json", json.dumps(
        {**json.loads((f / "tiny.json").read_text()),
         "entries": {k: v for k, v in json.loads((f / "tiny.json").read_text())["entries"].items()
                     if not k.startswith("layer2")}}))], "lacks 7 of the 18 entries"),
    (lambda f: ["calibrate-sum", f / "missing.json"], "cannot read"),
    (lambda f: ["build", _damaged(f, "bad.yaml", open(TINY).read().replace("stride: 2, resolution: 16}",
                                                                            "stride: 4, resolution: 16}")),
                "-o", f / "x.json"], "bad.yaml:10: layer 1: stride must be 1 or 2"),
    (lambda f: ["predict", TINY, "--device-profile", _damaged(f, "p.json", "{}")], "not a device profile"),
    (lambda f: ["predict", TINY], "Missing option '--device-profile'"),
    (lambda f: ["build", TINY, "-o", f / "x.json", "--budget", "10"], "--budget 10 has no effect without --precision"),
    (lambda f: ["build", TINY, "-o", f / "x.json", "--precision", "3%", "--statistic", "min"],
     "the minimum has none"),
    (lambda f: ["build", TINY, "-o", f / "x.json", "--precision", "0"], "strictly between 0 and 100"),
    (lambda f: ["build", TINY, "-o", f / "x.json", "--precision", "fast%"], "'fast%' is not a percentage"),
    (lambda f: ["validate", f / "tiny.json", "--max-mape", "150%"], "strictly between 0 and 100"),
])
def test_bad_input_is_one_line_and_exit_2(built, args, words):
    folder, _ = built
    result = run("lut", *args(folder))
    assert result.exit_code == 2
    assert words in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_commands_that_do_not_measure_import_no_torch(built):
    folder, _ = built
    profile = folder / "profile.json"
    if not profile.exists():
        assert run("lut", "calibrate", folder / "tiny.json", "-o", profile).exit_code == 0
    code = ("import sys; from click.testing import CliRunner; from attncost.cli.main import cli; "
            "r = CliRunner(); "
            f"a = r.invoke(cli, ['lut', 'predict', {TINY!r}, '--device-profile', {str(profile)!r}]); "
            f"b = r.invoke(cli, ['lut', 'calibrate', {str(folder / 'tiny.json')!r}, '-o', {str(profile)!r}]); "
            f"c = r.invoke(cli, ['lut', 'runtime', {str(folder / 'tiny.json')!r}]); "
            "d = r.invoke(cli, ['--help']); "
            "print(a.exit_code, b.exit_code, c.exit_code, d.exit_code, 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["0", "0", "0", "0", "False"]
