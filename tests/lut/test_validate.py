"""Sampling architectures, and a small real validation; the full one is marked slow."""

import time

import pytest

from attncost.lut.segments import architecture_segments
from attncost.lut.validate import extreme_architectures, sample_architectures, validate


def test_samples_are_valid_deterministic_and_start_with_the_extremes(full_space):
    archs = sample_architectures(full_space, 50, seed=3)
    assert len(archs) == 50 and archs == sample_architectures(full_space, 50, seed=3)
    for arch in archs:
        architecture_segments(full_space, arch)                     # raises on an invalid one
    smallest, largest, no_skip = extreme_architectures(full_space)
    assert [list(p) for p in smallest] == archs[0] and [list(p) for p in largest] == archs[1]
    assert all(choice == "skip" for (choice, _), layer in zip(smallest, full_space.layers) if layer.skippable)
    assert all(choice == "k3e3" for (choice, _), layer in zip(no_skip, full_space.layers) if layer.searchable)
    assert all(choice == "k5e6" for (choice, _), layer in zip(largest, full_space.layers) if layer.searchable)


def test_wide_range_samples_span_the_space(full_space):
    """The biased samples run from mostly-skipped to mostly-k5e6 networks."""
    archs = sample_architectures(full_space, 20, seed=0)[3:11]
    skipped = [sum(choice == "skip" for choice, _ in arch) for arch in archs]
    assert skipped[0] > 10 and skipped[-1] < 3


def test_small_real_validation(tiny_measured_table):
    _, lut = tiny_measured_table
    report = validate(lut, 6, passes=2, repeats=2, calibrate_archs=3, quiet=True)
    assert report["architectures"] == 6 and report["noise"]["passes"] == 2
    assert set(report["accuracy"]) == {"lut", "lut calibrated", "predicted", "predicted calibrated"}
    assert report["calibrations"]["lut"]["archs"] == 3
    rows = report["rows"]
    assert [row["arch"] for row in rows] == list(range(6))
    measured = [row["measured_ms"] for row in rows]
    assert report["measured_ms"] == {"min": min(measured), "max": max(measured)}
    for label, calibration in (("lut", None), ("predicted", None), ("lut calibrated", report["calibrations"]["lut"]),
                               ("predicted calibrated", report["calibrations"]["predicted"])):
        estimates = [row[label.split()[0]] for row in rows]
        if calibration:
            estimates = [calibration["scale"] * e + calibration["offset_ms"] for e in estimates]
        errors = [100 * abs(e - m) / m for e, m in zip(estimates, measured)]
        metrics = report["accuracy"][label]
        assert metrics["mape_pct"] == pytest.approx(sum(errors) / len(errors)), label
        assert metrics["max_err_pct"] == pytest.approx(max(errors)), label
        assert metrics["kendall_tau"] == pytest.approx(_kendall_tau_b(estimates, measured)), label


def _kendall_tau_b(a, b):
    """Kendall's tau-b by its definition: (concordant - discordant) / sqrt((n0 - ties a)(n0 - ties b))."""
    n = len(a)
    pairs = [(a[i] - a[j], b[i] - b[j]) for i in range(n) for j in range(i + 1, n)]
    concordant = sum(x * y > 0 for x, y in pairs)
    discordant = sum(x * y < 0 for x, y in pairs)
    tied_a, tied_b = sum(x == 0 for x, _ in pairs), sum(y == 0 for _, y in pairs)
    return (concordant - discordant) / ((len(pairs) - tied_a) * (len(pairs) - tied_b)) ** 0.5


@pytest.mark.slow
def test_full_space_build_and_validation_meet_the_targets(full_space):
    """The issue's targets on the 22-layer space (run with -m slow; figures depend on machine load)."""
    from attncost.lut.build import build_table

    started = time.perf_counter()
    lut, _ = build_table(full_space, quiet=True)
    assert time.perf_counter() - started < 60
    report = validate(lut, 50, passes=3, quiet=True)
    assert report["accuracy"]["lut"]["kendall_tau"] >= 0.8
    assert report["accuracy"]["lut"]["spearman"] >= 0.95
    assert report["accuracy"]["predicted"]["kendall_tau"] >= 0.7


# -- the verdict: below the noise floor or not, pass, fail, inconclusive -----------------------------

def _report(estimates, passes):
    from attncost.lut.validate import evaluate, noise_check

    report = evaluate(list(range(len(estimates))), passes, {"lut": estimates}, {"lut": None})
    report["noise_check"] = noise_check(report)
    return report


MEASURED = [10.0, 12.0, 14.0, 16.0, 18.0, 20.0]


def _passes(spread):
    """Two passes, each architecture +-spread around MEASURED: pass vs pass MAPE ~ 2 spread."""
    return [[m * (1 + spread) for m in MEASURED], [m * (1 - spread) for m in MEASURED]]


@pytest.mark.parametrize("estimates, spread, result, code", [
    ([m * 1.02 for m in MEASURED], 0.005, "pass", 0),             # 2% off; noise floor 1%
    ([m * 1.10 for m in MEASURED], 0.005, "fail", 1),             # 10% > 5%, and the noise could show it
    (list(reversed(MEASURED)), 0.005, "fail", 1),                 # the ranking is upside down (tau -1)
    (MEASURED, 0.04, "inconclusive", 5),                          # noise floor 8.0% > 5%: no pass
])
def test_verdicts(estimates, spread, result, code):
    from attncost.lut.validate import judge

    verdict = judge(_report(estimates, _passes(spread)), 5.0)
    assert (verdict["result"], verdict["exit_code"]) == (result, code), verdict["reason"]
    assert verdict["estimate"] == "lut"


def test_noise_floor_statement_and_one_pass():
    from attncost.lut.validate import judge

    report = _report([m * 1.02 for m in MEASURED], _passes(0.005))
    # |(1.005 - 0.995) / 0.995| = 1.005% and |(0.995 - 1.005) / 1.005| = 0.995%, averaged: 1.000025%
    assert report["noise_check"]["noise_floor_pct"] == pytest.approx(1.000025, rel=1e-4)
    assert report["noise_check"]["mape_pct"] == pytest.approx(2.0) and report["noise_check"]["below_noise"] is False
    single = _report(MEASURED, [MEASURED])
    assert single["noise_check"]["noise_floor_pct"] is None and single["noise_check"]["below_noise"] is None
    verdict = judge(single, 5.0)
    assert verdict["result"] == "inconclusive" and "one pass measures no noise" in verdict["reason"]


def test_validate_cli_exit_codes_on_a_fake_machine(twin_space, monkeypatch, tmp_path):
    """Built and validated on fake segments (tests/lut/lut_fakes.py): a quiet machine passes (0); the
    same table against measurements preempted half the time is inconclusive (5), with a warning."""
    import json

    from click.testing import CliRunner

    from attncost.cli.main import cli
    from attncost.lut import harness
    from attncost.lut.segments import all_segments
    from lut_fakes import fake_worker

    base = {key: 0.1 + 0.02 * i for i, key in enumerate(all_segments(twin_space))}
    table = tmp_path / "fake.json"
    monkeypatch.setattr(harness, "run_worker", fake_worker(base, jitter=0.002))
    runner = CliRunner()
    built = runner.invoke(cli, ["lut", "build", "tests/lut/singlepath-twins.yaml", "-o", str(table), "--repeats", "8"])
    assert built.exit_code == 0, built.output
    args = ["lut", "validate", str(table), "--samples", "8", "--passes", "2", "--calibrate-archs", "2"]
    quiet = runner.invoke(cli, [*args, "--max-mape", "5%", "--report", str(tmp_path / "v.json")])
    assert quiet.exit_code == 0, quiet.output
    assert "verdict: pass" in quiet.stdout and "the noise floor" in quiet.stdout
    report = json.loads((tmp_path / "v.json").read_text())
    assert report["verdict"]["result"] == "pass" and report["noise_check"]["estimate"] == "lut calibrated"
    monkeypatch.setattr(harness, "run_worker", fake_worker(base, jitter=0.002, preempt=0.5, preempt_ms=2.0))
    noisy = runner.invoke(cli, [*args, "--max-mape", "5%"])
    assert noisy.exit_code == 5, noisy.output
    assert "verdict: inconclusive" in noisy.stdout and "warning: no pass reported" in noisy.stderr
    plain = runner.invoke(cli, args)                              # no target: figures only, exit 0
    assert plain.exit_code == 0 and "errors vs noise" in plain.stdout and "verdict" not in plain.stdout
    lonely = runner.invoke(cli, [*args, "--min-tau", "0.9"])
    assert lonely.exit_code == 2 and "--min-tau 0.9 has no effect without --max-mape" in lonely.stderr
