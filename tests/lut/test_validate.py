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
