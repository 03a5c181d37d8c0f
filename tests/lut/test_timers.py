"""Timers and the GPU path, without a GPU: the CPU timer on a fake clock, the CUDA-event timer on fake
events that refuse to be read before they are synchronised, the worker's jobs timing through either,
the CUDA set-up against a fake torch, and pinning against a fake /proc/stat."""

import types

import pytest
from click.testing import CliRunner

from attncost.cli.main import cli
from attncost.lut import machine, worker
from attncost.lut.precision import Rule
from attncost.lut.timers import CpuTimer, CudaEventTimer, CudaStamps, run_chain
from lut_fakes import FakeCache, FakeClock, FakeCuda, FakeMachine

BASE = {"stem": 0.5, "a": 1.25, "b": 2.0, "head": 0.25}


def _chain(clock, **noise):
    fake = FakeMachine(clock, BASE, jitter=0.0, **noise)
    return fake, FakeCache(fake).chain(["stem", "a", "b", "head"])


def test_cpu_timer_differences_of_a_clock():
    clock = FakeClock()
    _, chain = _chain(clock)
    stamps = CpuTimer(clock=clock.ns).stamps(len(chain) + 1)
    run_chain(chain, None, stamps)
    assert stamps.read_ms() == pytest.approx([0.5, 1.25, 2.0, 0.25])


def test_cuda_timer_synchronises_before_reading_and_reuses_its_events():
    clock = FakeClock()
    cuda = FakeCuda(clock)
    _, chain = _chain(clock)
    stamps = CudaEventTimer(cuda).stamps(len(chain) + 1)
    assert all(event.enable_timing for event in stamps.events)
    for _ in range(3):
        run_chain(chain, None, stamps)
        assert stamps.read_ms() == pytest.approx([0.5, 1.25, 2.0, 0.25])
    assert cuda.synchronizations == 3                       # one per forward, on its last event
    assert len({id(e) for e in cuda.recorded}) == 5         # 5 events made once, recorded 3 times each


def test_reading_cuda_events_without_synchronising_is_refused():
    """The fake is as strict as CUDA: a timer that forgot to synchronise fails instead of reading
    events the GPU has not reached."""

    class Careless(CudaStamps):
        def read_ms(self):
            return [a.elapsed_time(b) for a, b in zip(self.events, self.events[1:])]

    clock = FakeClock()
    _, chain = _chain(clock)
    stamps = Careless(FakeCuda(clock), len(chain) + 1)
    run_chain(chain, None, stamps)
    with pytest.raises(RuntimeError, match="not ready"):
        stamps.read_ms()


@pytest.mark.parametrize("gpu", [False, True])
def test_the_in_context_job_times_through_either_timer(gpu):
    """The worker's in-context job with fake segments: each sample is the segment's own time, one per
    network per round, through perf_counter stamps or CUDA events alike; on a GPU the warm-up lasts at
    least ``min_warmup_s`` (1 s of fake time; a round is 2 + 2.75 + 4 = 8.75 ms: 115 rounds)."""
    clock = FakeClock()
    fake = FakeMachine(clock, BASE, jitter=0.0)
    cuda = FakeCuda(clock)
    timer = CudaEventTimer(cuda) if gpu else CpuTimer(clock=clock.ns)
    request = {"configs": [["stem", "a", "head"], ["stem", "b", "head"]], "input_shape": [1], "warmup": 2,
               "repeats": 5, "seed": 0, "archs": [["stem", "a", "b", "head"]],
               "rule": Rule(entries=("stem", "a", "b", "head"), archs=(("stem", "a", "b", "head"),)).to_dict(),
               "min_warmup_s": 1.0 if gpu else 0.0}
    result = worker.segments_in_context(request, FakeCache(fake), lambda shape: None, timer, clock=clock.monotonic,
                                        usage=fake.usage, load=fake.load)
    assert result["samples"]["a"] == pytest.approx([1.25] * 5) and result["samples"]["b"] == pytest.approx([2.0] * 5)
    assert result["samples"]["stem"] == pytest.approx([0.5] * 10)              # in both networks
    assert result["architectures_ms"] == [pytest.approx([4.0] * 5)]
    assert result["architecture_segments_ms"][0]["b"] == pytest.approx([2.0] * 5)
    warmup_rounds = result["rounds"]["warmup"]
    assert warmup_rounds == (115 if gpu else 2)                      # 8.75 ms x 115 = 1006 ms >= 1 s
    if gpu:
        assert cuda.synchronizations == 3 * (warmup_rounds + 5)                  # every visit read after a sync


def test_the_end_to_end_job_through_cuda_events_warms_up_for_a_second():
    clock = FakeClock()
    fake = FakeMachine(clock, BASE, jitter=0.0)
    cuda = FakeCuda(clock)
    request = {"archs": [["stem", "a", "head"], ["stem", "b", "head"]], "input_shape": [1], "passes": 2, "repeats": 3,
               "warmup": 1, "seed": 0, "min_warmup_s": 1.0}
    result = worker.end_to_end(request, FakeCache(fake), lambda shape: None, CudaEventTimer(cuda), clock=clock.monotonic,
                               usage=fake.usage, load=fake.load)
    assert result["passes"] == [pytest.approx([2.0, 2.75])] * 2
    assert result["passes_min"] == result["passes"] and result["passes_p10"] == result["passes"]
    assert fake.calls["a"] >= 1.0 / 2e-3 + 2 * 4                            # a second of warm-up forwards first


def _torch(available: bool):
    backends = types.SimpleNamespace(cudnn=types.SimpleNamespace(benchmark=True, deterministic=False, allow_tf32=True,
                                                                  version=lambda: 90100),
                                     cuda=types.SimpleNamespace(matmul=types.SimpleNamespace(allow_tf32=False)))
    cuda = types.SimpleNamespace(is_available=lambda: available, current_device=lambda: 0,
                                 get_device_capability=lambda i: (9, 0), get_device_name=lambda i: "Fake H200",
                                 clock_rate=lambda: 1980)
    return types.SimpleNamespace(__version__="2.13.0", version=types.SimpleNamespace(cuda="12.8" if available else None),
                                 cuda=cuda, backends=backends)


def test_cuda_setup_states_what_the_table_must_say():
    torch = _torch(True)
    info = worker.cuda_setup(torch)
    assert torch.backends.cudnn.benchmark is False and info["cudnn_benchmark"] is False   # set, and stated
    assert info["device"] == "Fake H200" and info["capability"] == "9.0" and info["cudnn"] == 90100
    assert info["tf32_matmul"] is False and info["tf32_cudnn"] is True
    assert info["min_warmup_s"] == worker.CUDA_WARMUP_S and info["sm_clock_mhz_before"] == 1980
    with pytest.raises(RuntimeError, match=r"no CUDA device .*built with CUDA none.*measure without --cuda"):
        worker.cuda_setup(_torch(False))


def test_cuda_build_on_this_machine(tmp_path):
    """``--cuda`` measures on the GPU where there is one; without one it is one line and exit 2."""
    import torch

    out = tmp_path / "gpu.json"
    result = CliRunner().invoke(cli, ["lut", "build", "specs/singlepath-tiny.yaml", "-o", str(out), "--cuda",
                                      "--repeats", "2", "--warmup", "1", "--calibrate-archs", "0"])
    if torch.cuda.is_available():
        import json

        assert result.exit_code == 0, result.output
        data = json.loads(out.read_text())
        assert data["backend"] == "cuda" and data["cuda"]["cudnn_benchmark"] is False
        assert data["timer"]["name"] == "cuda-events"
    else:
        assert result.exit_code == 2 and not out.exists()
        assert "no CUDA device" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_pinning_takes_the_least_busy_cpus(monkeypatch):
    chosen = []
    monkeypatch.setattr(machine.os, "sched_getaffinity", lambda pid: {0, 1, 2, 3}, raising=False)
    monkeypatch.setattr(machine.os, "sched_setaffinity", lambda pid, cpus: chosen.append(sorted(cpus)), raising=False)
    record = machine.pin(2, busy={0: 0.9, 1: 0.05, 2: 0.5, 3: 0.05})
    assert chosen == [[1, 3]] and record["cpus"] == [1, 3] and record["allowed"] == [0, 1, 2, 3]
    assert record["busy_pct"] == {"0": 90.0, "1": 5.0, "2": 50.0, "3": 5.0}
    assert machine.pin(1, busy={})["cpus"] == [3]                   # no /proc/stat: the highest-numbered
    assert machine.pin(4, busy={})["how"].startswith("not pinned: 4 thread(s)")
    assert machine.pin(1, enabled=False) == {"cpus": None, "how": "not pinned (--no-pin)"}
    monkeypatch.delattr(machine.os, "sched_setaffinity")
    assert machine.pin(1)["how"] == "not pinned: this OS has no os.sched_setaffinity"


def test_usage_and_watch():
    before = {"cpu_s": 1.0, "involuntary": 10, "voluntary": 3, "minor_faults": 0}
    after = {"cpu_s": 1.5, "involuntary": 40, "voluntary": 3, "minor_faults": 7}
    figures = machine.watch(before, after, 1.0, 100, 25, [2.0, 1, 1], [3.0, 1, 1])
    assert figures["cpu_share"] == 0.5 and figures["involuntary_switches"] == 30
    assert figures["preempted_share"] == 0.25 and figures["load_after"] == [3.0, 1, 1]
    assert set(machine.usage()) == {"cpu_s", "involuntary", "voluntary", "minor_faults"}
