"""The measurement harness: what is timed, how, and under which process settings.

Measurements run in a worker process (:mod:`attncost.lut.worker`) started with

- ``MALLOC_MMAP_THRESHOLD_`` = 32 MiB (glibc's largest accepted value, HEAP_MAX/2 on 64-bit) and
  ``MALLOC_TRIM_THRESHOLD_`` = 1 GiB: with glibc's defaults every large activation is mmap-ed and
  returned at free, so each network run page-faults thousands of times (a Non-local block at 56x56
  ran 2.6x slower on this machine); glibc reads these variables only at process start;
- ``OMP_NUM_THREADS`` = ``MKL_NUM_THREADS`` = the thread count (and ``torch.set_num_threads`` inside).

Two ways to time a segment (the table records which):

- ``in-context`` (default): inside whole networks, from timestamps between consecutive segments, so
  each segment's input comes hot from the previous one and its working set evicts the next one's,
  as in an end-to-end run. One network per option index (every searched layer at that option) and
  one per attention candidate cover every segment; per round each network runs once, in random order.
- ``isolated``: each segment alone on a fixed input, one untimed then one timed call per round (warm
  caches; what a per-layer micro-benchmark measures, and lower than in context).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys

from .segments import all_segments, architecture_segments, input_shape
from .space import NO_ATTENTION, Space

MALLOC_SETTINGS = {"MALLOC_MMAP_THRESHOLD_": str(32 << 20), "MALLOC_TRIM_THRESHOLD_": str(1 << 30)}
TIMINGS = ("in-context", "isolated")
STATISTICS = ("median", "min")       # what a table's estimate of a segment (and of a network) is


def worker_environment(threads: int, malloc: bool = True) -> dict:
    """The worker's environment: ours plus the thread settings and (unless ``malloc`` is False, for
    comparisons only) the malloc settings; without them glibc's defaults apply."""
    env = {key: value for key, value in os.environ.items() if key not in MALLOC_SETTINGS}
    return {**env, **(MALLOC_SETTINGS if malloc else {}), "OMP_NUM_THREADS": str(threads),
            "MKL_NUM_THREADS": str(threads)}


def run_worker(request: dict, quiet: bool = False, malloc: bool = True) -> dict:
    """Run one job in a fresh worker process; its progress goes to our stderr."""
    process = subprocess.run([sys.executable, "-m", "attncost.lut.worker"], input=json.dumps(request), text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL if quiet else None,
                             env=worker_environment(request["threads"], malloc))
    if process.returncode != 0:
        raise RuntimeError(f"measurement worker failed (exit {process.returncode}); see its traceback above")
    return json.loads(process.stdout)


def context_architectures(space: Space) -> list:
    """Networks that together contain every segment of ``space``: one per option index (each layer
    at its j-th option, or its last one), then one per attention module (on every layer allowing it)."""
    width = max(len(layer.options) for layer in space.layers)
    archs = [[(layer.options[min(j, len(layer.options) - 1)], NO_ATTENTION) for layer in space.layers]
             for j in range(width)]
    for i, module in enumerate(space.attention_modules):
        archs.append([(layer.options[i % len(layer.options)], module if module in layer.attention else NO_ATTENTION)
                      for layer in space.layers])
    return archs


def summarize(samples: list) -> dict:
    """Median and spread of one entry's samples (ms)."""
    q1, _, q3 = statistics.quantiles(samples, n=4) if len(samples) > 1 else (samples[0],) * 3
    return {"median_ms": statistics.median(samples), "q1_ms": q1, "q3_ms": q3, "min_ms": min(samples),
            "max_ms": max(samples), "n": len(samples)}


def measure_segments(space: Space, *, threads: int = 1, batch: int = 1, warmup: int = 3, repeats: int = 15,
                     timing: str = "in-context", seed: int = 0, quiet: bool = False, archs=()) -> dict:
    """Every segment's statistics, plus the worker's report (environment, page faults, seconds).
    ``archs``: architectures also run end to end in the same rounds (``architectures_ms``: the
    statistics of their times), so a scale fitted on them sees the same machine state as the table."""
    request = {"space": space.to_dict(), "threads": threads, "batch": batch, "warmup": warmup,
               "repeats": repeats, "seed": seed, "job": timing, "input_shape": [batch, *space.input],
               "archs": [architecture_segments(space, arch) for arch in archs]}
    if timing == "in-context":
        request["configs"] = [architecture_segments(space, arch) for arch in context_architectures(space)]
    else:
        request["segments"] = all_segments(space)
        request["input_shapes"] = [list(input_shape(space, key, batch)) for key in request["segments"]]
    result = run_worker(request, quiet)
    result["stats"] = {key: summarize(values) for key, values in result.pop("samples").items()}
    result["architectures_ms"] = [summarize(times) for times in result["architectures_ms"]]
    return result


def measure_architectures(space: Space, archs, *, threads: int = 1, batch: int = 1, passes: int = 3,
                          repeats: int = 3, warmup: int = 1, seed: int = 0, quiet: bool = False,
                          malloc: bool = True) -> dict:
    """End-to-end times of ``archs``: ``passes`` (and ``passes_min``) lists of per-architecture medians
    (and minima) of the pass's repeats (ms)."""
    request = {"space": space.to_dict(), "threads": threads, "batch": batch, "warmup": warmup, "repeats": repeats,
               "passes": passes, "seed": seed, "job": "end-to-end", "input_shape": [batch, *space.input],
               "archs": [architecture_segments(space, arch) for arch in archs]}
    return run_worker(request, quiet, malloc)
