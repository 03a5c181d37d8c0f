"""The precision rules, deterministically: a fake clock that moves only when a fake segment runs, and
a fake machine that injects noise (jitter, preemptions, a transient or lasting slowdown of one twin).
The worker's own job functions and rounds run in this process (tests/lut/lut_fakes.py); nothing is
timed for real."""

import json

import pytest
from click.testing import CliRunner

from attncost.cli.lut import build_warnings
from attncost.cli.main import cli
from attncost.lut import harness
from attncost.lut.precision import (EXIT_IMPRECISE, Rule, assess, busy, configuration, drift, interference,
                                    reached, twin_groups)
from attncost.lut.segments import all_segments
from lut_fakes import fake_worker

TWINS = "tests/lut/singlepath-twins.yaml"


def _base(space) -> dict:
    """A base time per segment (ms): one per configuration (so twins are equal), 0.1 ms and up."""
    times: dict = {}
    return {key: times.setdefault(configuration(space, key), 0.1 + 0.01 * len(times)) for key in all_segments(space)}


def _measure(space, monkeypatch, machine=None, **kwargs):
    monkeypatch.setattr(harness, "run_worker", fake_worker(kwargs.pop("base", _base(space)), **(machine or {})))
    return harness.measure_segments(space, **{"warmup": 1, "repeats": 15, "quiet": True, **kwargs})


def test_twins_are_equal_configurations_with_equal_predecessors(twin_space, tiny_space):
    """In context, layers 3 and 4 (each after an identical layer) are twins, layer 2 (after the
    stride-2 layer 1) is not; SE on layers 2-4 are (each after an identical layer at k3e3), SE on
    layer 1 is not. Timed alone, every equal configuration is."""
    in_context = harness.precision_rule(twin_space).twins
    assert set(in_context) == {("layer2+se", "layer3+se", "layer4+se"),
                               *((f"layer3:{o}", f"layer4:{o}") for o in ("k3e3", "k3e6", "k5e3", "k5e6"))}
    alone = twin_groups(twin_space, all_segments(twin_space))
    assert ("layer1+se", "layer2+se", "layer3+se", "layer4+se") in map(tuple, alone)
    assert ("layer2:k3e3", "layer3:k3e3", "layer4:k3e3") in map(tuple, alone)
    assert harness.precision_rule(tiny_space).twins == ()            # no layer repeats in the tiny space


def test_a_quiet_machine_reaches_the_target_in_the_fixed_rounds(twin_space, monkeypatch):
    m = _measure(twin_space, monkeypatch, {"jitter": 0.005}, precision=0.03)
    info = m["quality"]["precision"]
    assert info["reached"] is True and info["stopped"] == "precision reached"
    assert info["extra_rounds"] == 0 and info["rounds"] == 15
    assert info["worst_pct"] <= 3 and info["imprecise"] == []
    assert all(twin["agree"] for twin in m["quality"]["twins"])
    assert m["rounds"]["warmup"] == 1


def test_noise_adds_rounds_only_to_the_networks_that_need_them(twin_space, monkeypatch):
    """Jitter of 0-60% on layer 1 at k5e6 (in network 4 only): its median's interval needs more than
    15 samples; only that network runs again, so a segment of network 1 alone keeps its 16 runs."""
    calls = {}
    base = _base(twin_space)

    def worker(request, quiet=False, malloc=True):
        from lut_fakes import FakeMachine

        run = fake_worker(base, jitter=0.005, seed=1)
        original = FakeMachine.run

        def counting(self, key):
            calls[key] = calls.get(key, 0) + 1
            if key == "layer1:k5e6":
                self.clock.advance(self.rng.uniform(0, 0.6) * self.base[key] / 1e3)
            original(self, key)

        monkeypatch.setattr(FakeMachine, "run", counting)
        return run(request, quiet, malloc)

    monkeypatch.setattr(harness, "run_worker", worker)
    m = harness.measure_segments(twin_space, warmup=1, repeats=15, precision=0.03, budget_s=30, quiet=True)
    info = m["quality"]["precision"]
    assert info["reached"] is True and info["extra_rounds"] > 0
    assert m["stats"]["layer1:k5e6"]["n"] == info["rounds"] > 15
    # layer 1 at k3e6 runs in network 2 only: 1 warm-up + 15 rounds, never again
    assert calls["layer1:k3e6"] == 16 and m["stats"]["layer1:k3e6"]["n"] == 15
    assert m["stats"]["layer1:k5e6"]["precision_pct"] <= 3


def test_a_spent_budget_writes_the_precision_reached_and_names_the_noisiest(twin_space, monkeypatch, tmp_path):
    """Preempted a third of the time (5 ms each on 0.1 ms segments), the median cannot get within 3%
    in 0.2 s of fake time: the build stops, says so, names the noisiest entries, and exits with 4."""
    monkeypatch.setattr(harness, "run_worker", fake_worker(_base(twin_space), jitter=0.01, preempt=0.35))
    out = tmp_path / "noisy.json"
    result = CliRunner().invoke(cli, ["lut", "build", TWINS, "-o", str(out), "--precision", "3%", "--budget", "0.2",
                                      "--repeats", "6", "--warmup", "1"])
    assert result.exit_code == EXIT_IMPRECISE == 4, result.output
    data = json.loads(out.read_text())                              # written all the same
    info = data["precision"]
    assert info["reached"] is False and info["stopped"] == "budget spent" and info["target_pct"] == 3
    assert info["missed"][0] == "imprecise" and info["missed"][-1] == "busy"
    worst = max(data["entries"], key=lambda k: data["entries"][k]["precision_pct"] or float("inf"))
    assert all(entry["precision_pct"] is None or entry["precision_pct"] >= 0 for entry in data["entries"].values())
    warning = [line for line in result.stderr.splitlines() if line.startswith("warning: precision not reached")]
    assert len(warning) == 1 and worst in warning[0] and "exit code 4" in warning[0]
    assert info["imprecise"][0]["entry"] in warning[0]
    # the fake's preemptions are involuntary context switches and no CPU time: the machine was busy
    assert {sign["sign"] for sign in data["interference"]} >= {"cpu share", "preempted runs"}
    assert "other processes competed" in result.stderr


def test_p10_resists_preemptions_the_median_does_not(twin_space, monkeypatch):
    """60% of the runs preempted for 5 ms: every 10th percentile stays within 3% of the segment's own
    time, every interval within the target; the medians of the same noise are tens of times too large
    for most entries (with 37 samples, a median still lands on a clean run now and then). The target
    still counts as missed: the worker had a few percent of the CPU (the fake's preemptions take no
    CPU time), and on a real machine that biases what no interval shows."""
    base = _base(twin_space)
    noise = {"jitter": 0.01, "preempt": 0.6}
    m = _measure(twin_space, monkeypatch, noise, statistic="p10", precision=0.03, budget_s=30, base=base)
    info = m["quality"]["precision"]
    assert info["imprecise"] == [] and info["stopped"] == "precision reached"
    assert info["reached"] is False and info["missed"] == ["busy"] and m["machine"]["cpu_share"] < 0.75
    for key, stats in m["stats"].items():
        assert stats["p10_ms"] == pytest.approx(base[key], rel=0.03), key
    far = [key for key, stats in m["stats"].items() if stats["median_ms"] > 10 * base[key]]
    assert len(far) >= 0.75 * len(m["stats"])


def test_twins_apart_for_a_while_are_measured_again(twin_space, monkeypatch):
    """Layer 3 at k3e6 ran 40% slow for its first 30 runs (load that went away): at first it disagrees
    with layer 4, so its network runs again until the medians agree."""
    m = _measure(twin_space, monkeypatch, {"jitter": 0.005, "transient": {"layer3:k3e6": (30, 1.4)}}, precision=0.03)
    info = m["quality"]["precision"]
    assert info["reached"] is True and info["extra_rounds"] > 0
    twin = next(t for t in m["quality"]["twins"] if t["entries"] == ["layer3:k3e6", "layer4:k3e6"])
    assert twin["agree"] and twin["spread_pct"] <= 5


def test_twins_that_stay_apart_fail_the_build(twin_space, monkeypatch, tmp_path):
    """Layer 4 at k5e6 is 12% slower than its twin for good: re-measuring cannot help, so it stops once
    each has 10x the fixed rounds' samples (not at the budget); the table is written, the warning
    names the pair, the exit code is 4."""
    monkeypatch.setattr(harness, "run_worker",
                        fake_worker(_base(twin_space), jitter=0.005, slower={"layer4:k5e6": 1.12}))
    out = tmp_path / "apart.json"
    result = CliRunner().invoke(cli, ["lut", "build", TWINS, "-o", str(out), "--precision", "3%", "--budget", "60",
                                      "--repeats", "10", "--warmup", "1", "--calibrate-archs", "0"])
    assert result.exit_code == 4, result.output
    data = json.loads(out.read_text())
    twin = next(t for t in data["twins"] if t["entries"] == ["layer3:k5e6", "layer4:k5e6"])
    assert not twin["agree"] and twin["spread_pct"] == pytest.approx(12, abs=1)
    assert data["precision"]["stopped"] == "twins settled apart" and data["precision"]["missed"] == ["twins"]
    # 10 x 10 rounds, and up to 5% more: past the fixed rounds, the samples are looked at every 5%
    assert 100 <= data["entries"]["layer4:k5e6"]["n"] == data["precision"]["rounds"] <= 105
    assert "layer3:k5e6 / layer4:k5e6 12." in result.stderr and "disagree beyond 5%" in result.stderr


def test_no_target_means_fixed_rounds_exit_0_and_warnings(twin_space, monkeypatch, tmp_path):
    """Without --precision the rounds are the --repeats asked for and the exit code 0, but a table
    with wide intervals, twins apart or a busy machine still says so on stderr."""
    monkeypatch.setattr(harness, "run_worker", fake_worker(_base(twin_space), jitter=0.01, preempt=0.35,
                                                           slower={"layer4:k3e3": 1.3}))
    out = tmp_path / "plain.json"
    result = CliRunner().invoke(cli, ["lut", "build", TWINS, "-o", str(out), "--repeats", "8", "--warmup", "1"])
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert data["precision"]["reached"] is None and data["precision"]["rounds"] == 8
    assert data["precision"]["stopped"] == "fixed rounds"
    stderr = result.stderr
    assert "not known to within +-5%" in stderr and "give --precision 3%" in stderr
    assert "layer3:k3e3 / layer4:k3e3" in stderr and "other processes competed" in stderr
    assert build_warnings(data) == [line[len("warning: "):] for line in stderr.splitlines()
                                    if line.startswith("warning: ")]


def test_assessment_rules():
    samples = {"a": [1.0] * 10, "b": [1.0 + 0.1 * i for i in range(10)], "c": [1.2] * 10, "d": [1.0] * 3}
    rule = Rule(statistic="median", target=0.03, entries=("a", "b", "c", "d"), twins=(("a", "c"),))
    found = assess(samples, rule)
    # b: median 1.45, ranks (2, 9) -> [1.1, 1.8]: +-24%; d: 3 samples, no interval (first)
    assert found.imprecise == ["d", "b"]
    assert found.precision["a"] == 0 and found.precision["d"] is None
    assert found.precision["b"] == pytest.approx(0.35 / 1.45)
    assert found.twins == [{"entries": ["a", "c"], "spread_pct": pytest.approx(20), "agree": False}]
    assert found.pending == {"a", "b", "c", "d"} and not found.done
    relaxed = Rule(statistic="median", target=0.3, entries=("a", "c"), twins=(("a", "c"),))
    assert relaxed.twin_tolerance == 0.3 and assess(samples, relaxed).done   # the target is wider than 5%
    no_target = Rule(entries=("b",), twins=(("a", "c"),))
    assert assess(samples, no_target).done                        # nothing is pending without a target
    assert reached({"precision": {"reached": False}}) is False and reached({}) is None


def test_drift_and_interference():
    steady = drift([1.0] * 50, "median")
    assert steady["drift_pct"] == 0 and len(steady["windows_ms"]) == 5
    rising = drift([1.0] * 10 + [1.1] * 10 + [1.2] * 10 + [1.3] * 10 + [1.4] * 10, "median")
    assert rising["drift_pct"] == pytest.approx(100 * 0.4 / 1.2)            # (1.4 - 1.0) / median of windows
    assert drift([1.0] * 9, "median")["drift_pct"] is None                   # under 2 samples a window
    loaded = {"load_before": [6.2, 5, 4], "load_after": [7.0, 5, 4], "cpu_share": 0.55, "preempted_share": 0.34}
    assert [s["sign"] for s in interference(loaded, 1, 2)] == ["load average", "cpu share", "preempted runs"]
    assert interference(loaded, 1, 2)[0]["value"] == 7.0
    assert interference({"load_before": [0.3] * 3, "cpu_share": 0.99, "preempted_share": 0.01}, 1, 2) == []
    assert [s["sign"] for s in interference({"cpu_share": 1.6}, 2, 2)] == []   # two threads: the share is not one CPU's
    assert busy({"cpu_share": 0.5}, 1) and not busy({"cpu_share": 0.8}, 1) and not busy({"cpu_share": 0.5}, 2)
