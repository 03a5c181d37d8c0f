"""The harness measures for real (tiny space, few rounds), in a worker that runs with the malloc settings."""

import pytest

from attncost.lut.harness import (MALLOC_SETTINGS, context_architectures, measure_architectures,
                                  measure_segments, run_worker, worker_environment)
from attncost.lut.segments import all_segments


def test_malloc_settings_are_glibc_values():
    # glibc accepts an mmap threshold up to HEAP_MAX/2 = 32 MiB on 64-bit
    assert MALLOC_SETTINGS == {"MALLOC_MMAP_THRESHOLD_": "33554432", "MALLOC_TRIM_THRESHOLD_": "1073741824"}
    env = worker_environment(3)
    assert env["OMP_NUM_THREADS"] == "3" and env["MALLOC_TRIM_THRESHOLD_"] == "1073741824"


def test_context_networks_cover_every_segment(tiny_space):
    from attncost.lut.segments import architecture_segments

    covered = {key for arch in context_architectures(tiny_space) for key in architecture_segments(tiny_space, arch)}
    assert covered == set(all_segments(tiny_space))
    assert len(context_architectures(tiny_space)) == 4 + 3           # 4 option indices + 3 attention modules


@pytest.mark.parametrize("timing", ["in-context", "isolated"])
def test_measured_statistics_of_every_segment(tiny_space, timing):
    result = measure_segments(tiny_space, warmup=1, repeats=4, timing=timing, quiet=True)
    assert set(result["stats"]) == set(all_segments(tiny_space))
    for key, stats in result["stats"].items():
        assert 0 < stats["min_ms"] <= stats["q1_ms"] <= stats["median_ms"] <= stats["q3_ms"] <= stats["max_ms"]
        # in context, the stem runs in all 7 networks every round; layer options in one each
        expected = 4 * 7 if timing == "in-context" and key in ("stem", "head", "layer0:k3e1") else None
        assert stats["n"] == (expected or (4 if timing == "isolated" else stats["n"]))
    assert result["torch_threads"] == 1


def test_worker_runs_with_the_malloc_environment(tiny_space):
    """The worker reports the environment it was started with: glibc read these at its start."""
    result = measure_architectures(tiny_space, [[("k3e1", "none"), ("k3e3", "none"), ("skip", "none"),
                                                 ("k3e6", "none")]], passes=2, repeats=2, quiet=True)
    for name, value in MALLOC_SETTINGS.items():
        assert result["environment"][name] == value
    assert result["environment"]["OMP_NUM_THREADS"] == "1"
    assert len(result["passes"]) == 2 and all(t > 0 for t in result["passes"][0])
    assert result["faults_per_call"] >= 0


def test_a_failing_worker_is_an_error():
    with pytest.raises(RuntimeError, match="measurement worker failed"):
        run_worker({"threads": 1, "job": "nonsense"}, quiet=True)


def test_comparison_worker_runs_without_the_malloc_settings(tiny_space, monkeypatch):
    monkeypatch.setenv("MALLOC_MMAP_THRESHOLD_", "4096")             # ours must not leak into it either
    result = measure_architectures(tiny_space, [[("k3e1", "none"), ("k3e3", "none"), ("skip", "none"),
                                                 ("k3e6", "none")]], passes=1, repeats=1, quiet=True, malloc=False)
    assert result["environment"]["MALLOC_MMAP_THRESHOLD_"] is None
    assert worker_environment(1)["MALLOC_MMAP_THRESHOLD_"] == "33554432"


def test_build_fits_its_scale_on_architectures_run_in_the_same_rounds(tiny_space):
    from attncost.lut.build import build_table

    lut, measurement = build_table(tiny_space, warmup=1, repeats=3, calibrate_archs=3, quiet=True)
    calibration = lut.calibration
    assert len(measurement["architectures_ms"]) == 3 == calibration["archs"]
    # the scale is the closed-form relative least squares of the stored sums and times
    ratios = [s / m for s, m in zip(calibration["lut_ms"], calibration["measured_ms"])]
    assert calibration["scale"] == pytest.approx(sum(ratios) / sum(r * r for r in ratios))
    assert lut.data["build_seconds"] > 0


def test_min_statistic_tables_use_minima_throughout(tiny_space):
    from attncost.lut.build import build_table
    from attncost.lut.validate import validate

    lut, measurement = build_table(tiny_space, warmup=1, repeats=3, calibrate_archs=2, statistic="min", quiet=True)
    assert lut.ms("layer1:k5e6") == lut.entries["layer1:k5e6"]["min_ms"] <= lut.entries["layer1:k5e6"]["median_ms"]
    assert lut.calibration["measured_ms"] == [stats["min_ms"] for stats in measurement["architectures_ms"]]
    report = validate(lut, 3, passes=2, repeats=2, calibrate_archs=0, quiet=True)
    assert report["statistic"] == "min"
    assert report["rows"][0]["measured_ms"] > 0
