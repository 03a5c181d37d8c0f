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


# How many of the 7 context networks of specs/singlepath-tiny.yaml hold each segment, by hand: one per
# option index j = 0..3 (layers 1 and 2 at options[j] = k3e3, k3e6, k5e3, k5e6; fixed layers 0 and 3
# at their one option), then one per attention module i = 0..2 (se, eca, cbam on layers 1 and 2, which
# take options[i]: k3e3, k3e6, k5e3). So k3e3, k3e6 and k5e3 run in two networks, k5e6 in one.
NETWORKS_HOLDING = {"stem": 7, "head": 7, "layer0:k3e1": 7, "layer3:k3e6": 7,
                    **{f"layer{i}:{o}": 2 for i in (1, 2) for o in ("k3e3", "k3e6", "k5e3")},
                    **{f"layer{i}:k5e6": 1 for i in (1, 2)},
                    **{f"layer{i}+{m}": 1 for i in (1, 2) for m in ("se", "eca", "cbam")}}


@pytest.mark.parametrize("timing", ["in-context", "isolated"])
def test_measured_statistics_of_every_segment(tiny_space, timing):
    repeats = 4
    result = measure_segments(tiny_space, warmup=1, repeats=repeats, timing=timing, quiet=True)
    assert set(result["stats"]) == set(all_segments(tiny_space)) == set(NETWORKS_HOLDING)
    for key, stats in result["stats"].items():
        assert 0 < stats["min_ms"] <= stats["q1_ms"] <= stats["median_ms"] <= stats["q3_ms"] <= stats["max_ms"]
        # in context, one sample per round from every network holding the segment; isolated, one per round
        expected = repeats * NETWORKS_HOLDING[key] if timing == "in-context" else repeats
        assert stats["n"] == expected, key
    assert result["torch_threads"] == 1


# Batch 64 on the tiny space: the expanded activations (64 x 48 x 16 x 16 floats, 3 MiB) are far above
# glibc's default mmap threshold (128 KiB), below the harness's 32 MiB
LARGE = [("k3e1", "none"), ("k5e6", "cbam"), ("k5e6", "se"), ("k3e6", "none")]


def test_worker_runs_with_the_malloc_environment(tiny_space):
    """The worker reports the environment it was started with (glibc read these at its start), and
    they are in effect: with glibc's defaults each large activation is mmap-ed and unmapped at free,
    so every forward takes thousands of minor page faults; with the settings the heap keeps them."""
    kwargs = dict(passes=1, repeats=4, warmup=2, batch=64, quiet=True)
    result = measure_architectures(tiny_space, [LARGE], **kwargs)
    for name, value in MALLOC_SETTINGS.items():
        assert result["environment"][name] == value
    assert result["environment"]["OMP_NUM_THREADS"] == "1"
    assert len(result["passes"]) == 1 and all(t > 0 for t in result["passes"][0])
    defaults = measure_architectures(tiny_space, [LARGE], malloc=False, **kwargs)
    assert defaults["environment"]["MALLOC_MMAP_THRESHOLD_"] is None
    # 3 MiB unmapped and mapped again is 768 pages per such tensor; seen: 2,000-5,300 without, 0-112 with
    assert defaults["faults_per_call"] > 500
    assert result["faults_per_call"] < defaults["faults_per_call"] / 10


def test_a_failing_worker_is_an_error():
    """One line (a LutError, not a traceback): the exit status, what it was doing, its exception."""
    from attncost.errors import LutError

    with pytest.raises(LutError, match=r"^measurement worker failed with exit status 3 while setting 1 torch "
                                       r"threads: KeyError: 'space'$"):
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


def test_summary_quartiles_stay_within_the_samples():
    """Two samples far apart (a noisy machine): the quartiles lie between them, never below the
    fastest (the exclusive method put q1 at 1 - 0.25 * (10 - 1) = -1.25 ms)."""
    from attncost.lut.harness import summarize

    stats = summarize([1.0, 10.0])
    # inclusive quartiles of two samples: 1 + 0.25 * 9 = 3.25 and 1 + 0.75 * 9 = 7.75
    assert (stats["q1_ms"], stats["median_ms"], stats["q3_ms"]) == (3.25, 5.5, 7.75)
    assert stats["min_ms"] <= stats["q1_ms"] <= stats["q3_ms"] <= stats["max_ms"]
