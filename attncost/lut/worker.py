"""The measurement worker: a separate Python process that times segments and whole networks.

Run as ``python -m attncost.lut.worker``, started by :mod:`attncost.lut.harness` with the malloc and
thread settings in its environment *from process start* (glibc reads ``MALLOC_MMAP_THRESHOLD_`` and
``MALLOC_TRIM_THRESHOLD_`` once, when malloc initialises, so setting them later in a running process
does nothing). It reads one JSON request on stdin, writes one JSON result on stdout, and reports
progress on stderr. Every result carries the worker's own view of its environment, the minor page
faults it took while timing, the CPUs it was pinned to and what the machine did meanwhile (CPU share,
involuntary context switches, load average: :mod:`attncost.lut.machine`).

Timing rules (all jobs): ``torch.inference_mode()``, ``torch.set_num_threads(threads)``, the worker
pinned to CPUs unless asked not to, warm-up rounds before timed ones, and every round visits all
configurations in a fresh random order, so drift hits all entries alike (:mod:`attncost.lut.rounds`,
which also adds the rounds a precision target needs). Stamps come from a timer
(:mod:`attncost.lut.timers`): ``perf_counter_ns`` on the CPU, CUDA events on a GPU.

On a GPU (``"device": "cuda"``): the modules and inputs live on ``cuda:0``;
``torch.backends.cudnn.benchmark`` is set to False (cuDNN picks its algorithm by heuristics, the
same in every run, and no first call per shape is an autotuning one) and recorded with the cuDNN
version, TF32 settings, device name and capability and, where ``torch.cuda`` can read them
(pynvml), the SM clock before and after timing; the warm-up lasts at least ``CUDA_WARMUP_S``
seconds so the clocks have ramped up before the first timed round.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time

from . import machine
from .precision import Rule, architecture_key
from .rounds import Visit, run_rounds
from .stats import quantile
from .timers import CpuTimer, CudaEventTimer, run_chain

MALLOC_ENV = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")
THREAD_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")
STATUS_ENV = "ATTNCOST_WORKER_STATUS"     # a file where the worker notes what it is doing, and its error
STATUS_BYTES = 1024                        # the "doing" record at offset 0; the error after it
CUDA_WARMUP_S = 1.0                        # the least warm-up on a GPU, whatever --warmup says
PROGRESS_EVERY_S = 0.5                     # round lines at most this often

_status_fd = None


def _open_status() -> None:
    global _status_fd
    path = os.environ.get(STATUS_ENV)
    if path:
        try:
            _status_fd = os.open(path, os.O_WRONLY)
        except OSError:
            _status_fd = None


def _doing(text: str) -> None:
    """Note what the worker is on (outside every timed region: one pwrite), so that the harness can
    say where a worker that dies (a segfault, the OOM killer) was."""
    if _status_fd is not None:
        data = text.encode("utf-8", "replace")[:STATUS_BYTES - 1]
        os.pwrite(_status_fd, data + b"\0" * (STATUS_BYTES - len(data)), 0)


def _failed(text: str) -> None:
    if _status_fd is not None:
        os.pwrite(_status_fd, text.encode("utf-8", "replace")[:4096] + b"\0", STATUS_BYTES)


def _segments(keys) -> str:
    keys = list(keys)
    return ", ".join(keys) if len(keys) <= 4 else f"{', '.join(keys[:3])}, ... {keys[-1]} ({len(keys)} segments)"


class _Progress:
    """Round lines on stderr, at most one per ``PROGRESS_EVERY_S`` (a tiny space runs hundreds of
    rounds a second)."""

    def __init__(self, clock=time.monotonic):
        self.clock, self.last = clock, None

    def __call__(self, text: str) -> None:
        now = self.clock()
        if self.last is None or now - self.last >= PROGRESS_EVERY_S:
            self.last = now
            print(text, file=sys.stderr, flush=True)


def chain_visit(name: str, chain, x, timer, prefix: str = "", total: str | None = None) -> Visit:
    """A visit running ``chain`` ([(key, module)]) on ``x``: one sample per segment (``prefix + key``)
    from the stamps between segments, and, if ``total`` is given, the whole run under that key."""
    stamps = timer.stamps(len(chain) + 1)
    keys = [prefix + key for key, _ in chain]

    def run():
        run_chain(chain, x, stamps)
        times = stamps.read_ms()
        taken = list(zip(keys, times))
        return taken + [(total, sum(times))] if total is not None else taken

    return Visit(name, frozenset(keys + ([total] if total is not None else [])), run)


def isolated_visit(key: str, module, x, timer) -> Visit:
    """A visit running one segment alone on a fixed input: one untimed call (warm caches), one timed."""
    stamps = timer.stamps(2)

    def run():
        module(x)
        stamps.mark(0)
        module(x)
        stamps.mark(1)
        return [(key, stamps.read_ms()[0])]

    return Visit(f"segment {key}", frozenset([key]), run)


def architecture_visits(request, cache, x, timer) -> list:
    """Visits that run ``request['archs']`` end to end (interleaved with the segment timing, for the
    build-time calibration of the sum): the total under ``archI``, each segment under ``archI/KEY``."""
    return [chain_visit(f"architecture {i + 1} end to end ({_segments(keys)})", cache.chain(keys), x, timer,
                        prefix=f"{architecture_key(i)}/", total=architecture_key(i))
            for i, keys in enumerate(request.get("archs", []))]


def _segment_result(request, timed: dict) -> dict:
    """Split the rounds' samples into the entries and the architectures' totals and segments."""
    samples = timed.pop("samples")
    archs = request.get("archs", [])
    totals = [samples.pop(architecture_key(i), []) for i in range(len(archs))]
    segments = [{key: samples.pop(f"{architecture_key(i)}/{key}", []) for key in keys} for i, keys in enumerate(archs)]
    return {"samples": samples, "architectures_ms": totals, "architecture_segments_ms": segments, **timed}


def _rule(request) -> Rule | None:
    return Rule.from_dict(request["rule"]) if request.get("rule") else None


def segments_in_context(request, cache, make_input, timer, clock=time.monotonic, **watch) -> dict:
    """Time every segment inside the networks ``request['configs']`` (each a list of segment keys):
    per round, each network once in random order, per-segment times from stamps between segments."""
    x = make_input(request["input_shape"])
    configs = request["configs"]
    visits = [chain_visit(f"network {i + 1} of {len(configs)} ({_segments(keys)})", cache.chain(keys), x, timer)
              for i, keys in enumerate(configs)]
    timed = run_rounds(visits + architecture_visits(request, cache, x, timer), warmup=request["warmup"],
                       repeats=request["repeats"], seed=request.get("seed", 0), rule=_rule(request), clock=clock,
                       min_warmup_s=request.get("min_warmup_s", 0.0), **watch)
    return _segment_result(request, timed)


def segments_isolated(request, cache, make_input, timer, clock=time.monotonic, **watch) -> dict:
    """Time every segment alone on a fixed input: per round, each segment in random order, one
    untimed call then one timed call (warm caches: what an isolated micro-benchmark sees)."""
    visits = [isolated_visit(key, cache[key], make_input(shape), timer)
              for key, shape in zip(request["segments"], request["input_shapes"])]
    x = make_input(request["input_shape"])
    timed = run_rounds(visits + architecture_visits(request, cache, x, timer), warmup=request["warmup"],
                       repeats=request["repeats"], seed=request.get("seed", 0), rule=_rule(request), clock=clock,
                       min_warmup_s=request.get("min_warmup_s", 0.0), **watch)
    return _segment_result(request, timed)


def end_to_end(request, cache, make_input, timer, clock=time.monotonic, usage=machine.usage,
               load=machine.load_average, doing=_doing, progress=None) -> dict:
    """Each architecture end to end, in ``passes`` separate passes over the whole set (random order
    per pass); per pass and architecture: ``warmup`` untimed forwards, then ``repeats`` timed ones, of
    which ``passes`` keeps the median, ``passes_min`` the minimum and ``passes_p10`` the 10th
    percentile. Before the first pass every architecture runs once untimed (the first pass was the
    slowest: 14% on a 0.4 ms network), and on a GPU the first one runs for ``min_warmup_s`` seconds."""
    import random

    rng = random.Random(request.get("seed", 0))
    chains = [cache.chain(keys) for keys in request["archs"]]
    x = make_input(request["input_shape"])
    whole = timer.stamps(2)
    warm = timer.stamps(2)
    started = clock()
    while chains and clock() - started < request.get("min_warmup_s", 0.0):
        doing("warming up (the GPU's clocks)")
        _timed_forward(chains[0], x, warm)
    for i, chain in enumerate(chains):                       # one untimed forward of each first: the
        doing(f"warming up architecture {i + 1} of {len(chains)}")   # first pass is no slower than the rest
        _timed_forward(chain, x, warm)
    series = {name: [[0.0] * len(chains) for _ in range(request["passes"])]
              for name in ("passes", "passes_min", "passes_p10")}
    forwards = preempted = faults = 0
    load_before, before, started = load(), usage(), clock()
    for p in range(request["passes"]):
        order = list(range(len(chains)))
        rng.shuffle(order)
        for done, i in enumerate(order, 1):
            doing(f"timing architecture {i + 1} of {len(chains)} end to end (pass {p + 1}/{request['passes']}: "
                  f"{_segments(key for key, _ in chains[i])})")
            for _ in range(request["warmup"]):
                _timed_forward(chains[i], x, warm)
            times = []
            for _ in range(request["repeats"]):
                first = usage()
                times.append(_timed_forward(chains[i], x, whole))
                last = usage()
                preempted += last["involuntary"] > first["involuntary"]
                faults += last["minor_faults"] - first["minor_faults"]
            forwards += len(times)
            ordered = sorted(times)
            series["passes"][p][i] = statistics.median(ordered)
            series["passes_min"][p][i] = ordered[0]
            series["passes_p10"][p][i] = quantile(ordered, 0.1)
            if progress is not None and (done % 10 == 0 or done == len(order)):
                progress(f"  pass {p + 1}/{request['passes']}: {done}/{len(order)} architectures")
    figures = machine.watch(before, usage(), clock() - started, forwards, preempted, load_before, load())
    return {**series, "faults_per_call": faults / max(forwards, 1), "machine": figures}


def _timed_forward(chain, x, stamps) -> float:
    """One forward of ``chain`` with a mark before and after it only (ms)."""
    stamps.mark(0)
    for _, module in chain:
        x = module(x)
    stamps.mark(1)
    return stamps.read_ms()[0]


JOBS = {"in-context": segments_in_context, "isolated": segments_isolated, "end-to-end": end_to_end}


def cuda_setup(torch) -> dict:
    """Check the GPU, fix cuDNN's benchmark mode off, and describe what the table will state."""
    if not torch.cuda.is_available():
        raise RuntimeError(f"no CUDA device (torch {torch.__version__}, built with CUDA "
                           f"{torch.version.cuda or 'none'}: torch.cuda.is_available() is False); measure without --cuda")
    torch.backends.cudnn.benchmark = False
    index = torch.cuda.current_device()
    capability = torch.cuda.get_device_capability(index)
    return {"device": torch.cuda.get_device_name(index), "index": index, "capability": f"{capability[0]}.{capability[1]}",
            "cuda": torch.version.cuda, "cudnn": torch.backends.cudnn.version(),
            "cudnn_benchmark": torch.backends.cudnn.benchmark, "cudnn_deterministic": torch.backends.cudnn.deterministic,
            "tf32_matmul": torch.backends.cuda.matmul.allow_tf32, "tf32_cudnn": torch.backends.cudnn.allow_tf32,
            "min_warmup_s": CUDA_WARMUP_S, "sm_clock_mhz_before": _clock_mhz(torch)}


def _clock_mhz(torch):
    """The SM clock where ``torch.cuda.clock_rate`` can read it (it needs pynvml), else ``None``."""
    try:
        return torch.cuda.clock_rate()
    except Exception:                                      # noqa: BLE001 (no pynvml, no NVML, old torch)
        return None


def _run() -> None:
    _doing("starting (importing torch)")
    import torch

    from .network import SegmentCache
    from .space import Space

    _doing("reading its request")
    request = json.load(sys.stdin)
    threads = request["threads"]
    _doing(f"pinning to {threads} CPU(s)")
    pinning = machine.pin(threads, request.get("pin", True))
    _doing(f"setting {threads} torch threads")
    torch.set_num_threads(threads)
    space = Space.from_dict(request["space"])
    device = request.get("device", "cpu")
    cuda = None
    if device == "cuda":
        _doing("checking the CUDA device")
        cuda = cuda_setup(torch)
        request["min_warmup_s"] = max(request.get("min_warmup_s", 0.0), CUDA_WARMUP_S)
    timer = CudaEventTimer(torch.cuda) if device == "cuda" else CpuTimer()
    cache = SegmentCache(space, request["batch"], on_build=lambda key: _doing(f"building segment {key}"),
                         device=device)

    def make_input(shape):
        return torch.randn(*shape).to(device)

    started = time.perf_counter()
    with torch.inference_mode():
        result = JOBS[request["job"]](request, cache, make_input, timer, doing=_doing, progress=_Progress())
    if cuda is not None:
        torch.cuda.synchronize()
        cuda["sm_clock_mhz_after"] = _clock_mhz(torch)
    _doing("writing its result")
    result.update({
        "environment": {name: os.environ.get(name) for name in MALLOC_ENV + THREAD_ENV},
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "seconds": time.perf_counter() - started,
        "pinning": pinning, "device": device, "timer": timer.describe(), "cuda": cuda,
    })
    json.dump(result, sys.stdout)


def main() -> None:
    """Run the request; an exception is noted in the status file (the harness reports it in one
    line) instead of a traceback on the user's terminal, and the exit status is 3 (130: interrupted)."""
    _open_status()
    try:
        _run()
    except KeyboardInterrupt:
        _failed("interrupted")
        sys.exit(130)
    except BaseException as error:           # noqa: BLE001 (MemoryError, RuntimeError from torch, ...)
        if isinstance(error, SystemExit) and error.code in (0, None):
            raise
        message = " ".join(str(error).split()) or "no message"
        _failed(f"{type(error).__name__}: {message}")
        if os.environ.get("ATTNCOST_WORKER_TRACEBACK"):
            import traceback

            traceback.print_exc()
        sys.exit(3)


if __name__ == "__main__":
    main()
