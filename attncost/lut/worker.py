"""The measurement worker: a separate Python process that times segments and whole networks.

Run as ``python -m attncost.lut.worker``, started by :mod:`attncost.lut.harness` with the malloc and
thread settings in its environment *from process start* (glibc reads ``MALLOC_MMAP_THRESHOLD_`` and
``MALLOC_TRIM_THRESHOLD_`` once, when malloc initialises, so setting them later in a running process
does nothing). It reads one JSON request on stdin, writes one JSON result on stdout, and reports
progress on stderr. Every result carries the worker's own view of its environment and the minor page
faults it took while timing, so a reader can check that the settings were in effect.

Timing rules (all jobs): ``torch.inference_mode()``, ``torch.set_num_threads(threads)``, warm-up rounds
before timed ones, and every round visits all configurations in a fresh random order, so drift (other
load, frequency changes) hits all entries alike.
"""

from __future__ import annotations

import json
import os
import random
import resource
import statistics
import sys
import time

MALLOC_ENV = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")
THREAD_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")
STATUS_ENV = "ATTNCOST_WORKER_STATUS"     # a file where the worker notes what it is doing, and its error
STATUS_BYTES = 1024                        # the "doing" record at offset 0; the error after it

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


def _faults() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def _progress(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _forward_with_stamps(chain, x, clock=time.perf_counter_ns):
    """Run the chain; the time of each segment from consecutive timestamps (in context)."""
    stamps = [clock()]
    for _, module in chain:
        x = module(x)
        stamps.append(clock())
    return [b - a for a, b in zip(stamps, stamps[1:])]


def _forward(chain, x, clock=time.perf_counter_ns):
    start = clock()
    for _, module in chain:
        x = module(x)
    return clock() - start


def _rounds(request, visits: list) -> float:
    """Warm-up then timed rounds, each calling every visit once in a fresh random order (so drift hits
    all alike); a visit is ``visit(timed)``. Returns the minor page faults per timed visit."""
    rng = random.Random(request.get("seed", 0))
    order = list(visits)
    rounds = request["warmup"] + request["repeats"]
    faults, calls = 0, 0
    for r in range(rounds):
        timed = r >= request["warmup"]
        rng.shuffle(order)
        before = _faults()
        for visit in order:
            _doing(f"timing {visit.what} (round {r + 1}/{rounds}{'' if timed else ', warm-up'})")
            visit(timed)
        if timed:
            faults += _faults() - before
            calls += len(order)
        _progress(f"  round {r + 1}/{rounds}{'' if timed else ' (warm-up)'}")
    return faults / max(calls, 1)


def _architecture_visits(request, cache, x) -> tuple:
    """Visits that run ``request['archs']`` end to end (interleaved with the segment timing, for the
    build-time calibration of the sum), and the list of their timed totals per architecture."""
    totals = [[] for _ in request.get("archs", [])]

    def visit_for(chain, out, i):
        def visit(timed):
            elapsed = _forward(chain, x)
            if timed:
                out.append(elapsed / 1e6)
        visit.what = f"architecture {i + 1} end to end ({_segments(key for key, _ in chain)})"
        return visit

    return [visit_for(cache.chain(keys), out, i)
            for i, (keys, out) in enumerate(zip(request.get("archs", []), totals))], totals


def segments_in_context(request, cache, torch) -> dict:
    """Time every segment inside the networks ``request['configs']`` (each a list of segment keys):
    per round, each network once in random order, per-segment times from timestamps between segments."""
    x = torch.randn(*request["input_shape"])
    samples: dict = {}

    def visit_for(chain, i):
        def visit(timed):
            times = _forward_with_stamps(chain, x)
            if timed:
                for (key, _), t in zip(chain, times):
                    samples.setdefault(key, []).append(t / 1e6)
        visit.what = f"network {i + 1} of {len(request['configs'])} ({_segments(key for key, _ in chain)})"
        return visit

    archs, totals = _architecture_visits(request, cache, x)
    faults = _rounds(request, [visit_for(cache.chain(keys), i) for i, keys in enumerate(request["configs"])] + archs)
    return {"samples": samples, "architectures_ms": totals, "faults_per_call": faults}


def segments_isolated(request, cache, torch) -> dict:
    """Time every segment alone on a fixed input: per round, each segment in random order, one
    untimed call then one timed call (warm caches: what an isolated micro-benchmark sees)."""
    inputs = {key: torch.randn(*shape) for key, shape in zip(request["segments"], request["input_shapes"])}
    samples: dict = {}

    def visit_for(key):
        def visit(timed):
            module = cache[key]
            module(inputs[key])
            start = time.perf_counter_ns()
            module(inputs[key])
            if timed:
                samples.setdefault(key, []).append((time.perf_counter_ns() - start) / 1e6)
        visit.what = f"segment {key}"
        return visit

    archs, totals = _architecture_visits(request, cache, torch.randn(*request["input_shape"]))
    faults = _rounds(request, [visit_for(key) for key in request["segments"]] + archs)
    return {"samples": samples, "architectures_ms": totals, "faults_per_call": faults}


def end_to_end(request, cache, torch) -> dict:
    """Each architecture end to end, in ``passes`` separate passes over the whole set (random order
    per pass); per pass and architecture: ``warmup`` untimed forwards, then ``repeats`` timed ones, of
    which ``passes`` keeps the median and ``passes_min`` the minimum."""
    rng = random.Random(request.get("seed", 0))
    chains = [cache.chain(keys) for keys in request["archs"]]
    x = torch.randn(*request["input_shape"])
    passes = [[0.0] * len(chains) for _ in range(request["passes"])]
    passes_min = [[0.0] * len(chains) for _ in range(request["passes"])]
    faults, forwards = 0, 0
    for p in range(request["passes"]):
        order = list(range(len(chains)))
        rng.shuffle(order)
        for done, i in enumerate(order, 1):
            _doing(f"timing architecture {i + 1} of {len(chains)} end to end (pass {p + 1}/{request['passes']}: "
                   f"{_segments(key for key, _ in chains[i])})")
            for _ in range(request["warmup"]):
                _forward(chains[i], x)
            before = _faults()
            times = [_forward(chains[i], x) / 1e6 for _ in range(request["repeats"])]
            faults += _faults() - before
            forwards += request["repeats"]
            passes[p][i] = statistics.median(times)
            passes_min[p][i] = min(times)
            if done % 10 == 0 or done == len(order):
                _progress(f"  pass {p + 1}/{request['passes']}: {done}/{len(order)} architectures")
    return {"passes": passes, "passes_min": passes_min, "faults_per_call": faults / max(forwards, 1)}


JOBS = {"in-context": segments_in_context, "isolated": segments_isolated, "end-to-end": end_to_end}


def _run() -> None:
    _doing("starting (importing torch)")
    import torch

    from .network import SegmentCache
    from .space import Space

    _doing("reading its request")
    request = json.load(sys.stdin)
    threads = request["threads"]
    _doing(f"setting {threads} torch threads")
    torch.set_num_threads(threads)
    space = Space.from_dict(request["space"])
    cache = SegmentCache(space, request["batch"], on_build=lambda key: _doing(f"building segment {key}"))
    started = time.perf_counter()
    with torch.inference_mode():
        result = JOBS[request["job"]](request, cache, torch)
    _doing("writing its result")
    result.update({
        "environment": {name: os.environ.get(name) for name in MALLOC_ENV + THREAD_ENV},
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "seconds": time.perf_counter() - started,
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
