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

The worker pins itself to the least busy CPU(s) (:mod:`attncost.lut.machine`), watches the machine,
and with a precision target adds rounds (:mod:`attncost.lut.rounds`) under the rule this module
builds (:func:`precision_rule`: every entry, the calibration architectures, the twins); what the
samples show of their own quality is :func:`attncost.lut.precision.report`, stored in the table. On a
GPU (``device="cuda"``) it times with CUDA events (:mod:`attncost.lut.timers`).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from ..errors import LutError
from ..io import terminating
from ..numbers import check_number
from . import stats
from .precision import (DEFAULT_BUDGET_S, TWIN_ROUNDS, Rule, architecture_estimate, architecture_key, report,
                        twin_groups)
from .segments import all_segments, architecture_segments, input_shape
from .space import NO_ATTENTION, Space
from .worker import STATUS_BYTES, STATUS_ENV

MALLOC_SETTINGS = {"MALLOC_MMAP_THRESHOLD_": str(32 << 20), "MALLOC_TRIM_THRESHOLD_": str(1 << 30)}
TIMINGS = ("in-context", "isolated")
STATISTICS = stats.STATISTICS         # what a table's estimate of a segment (and of a network) is
DEVICES = ("cpu", "cuda")


def worker_environment(threads: int, malloc: bool = True) -> dict:
    """The worker's environment: ours plus the thread settings and (unless ``malloc`` is False, for
    comparisons only) the malloc settings; without them glibc's defaults apply."""
    env = {key: value for key, value in os.environ.items() if key not in MALLOC_SETTINGS}
    return {**env, **(MALLOC_SETTINGS if malloc else {}), "OMP_NUM_THREADS": str(threads),
            "MKL_NUM_THREADS": str(threads)}


def max_threads() -> int:
    """The most threads a measurement may use: this machine's logical CPUs (``os.cpu_count()``).
    More would only oversubscribe the cores, and OpenMP dies creating tens of thousands of threads."""
    return max(1, os.cpu_count() or 1)


def check_threads(threads, source: str = "--threads") -> int:
    """``threads`` if it is 1..max_threads(), else a :class:`LutError` naming ``source``."""
    limit = max_threads()
    if isinstance(threads, bool) or not isinstance(threads, int) or not 1 <= threads <= limit:
        raise LutError(f"{source}: cannot measure with {threads!r} threads; this machine has {limit} logical "
                       f"CPUs (1..{limit})")
    return threads


def run_worker(request: dict, quiet: bool = False, malloc: bool = True) -> dict:
    """Run one job in a fresh worker process; its progress goes to our stderr. A worker that dies (a
    signal, an exception, no result) is one :class:`LutError` line with its exit status or signal
    and what it was doing; on SIGINT or SIGTERM the worker is stopped before we end."""
    check_threads(request["threads"], "measurement worker")
    process = None
    with terminating():
        fd, status = tempfile.mkstemp(prefix="attncost-worker-", suffix=".status")
        try:
            os.close(fd)
            env = {**worker_environment(request["threads"], malloc), STATUS_ENV: status}
            try:
                process = subprocess.Popen([sys.executable, "-m", "attncost.lut.worker"], stdin=subprocess.PIPE,
                                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL if quiet else None,
                                           text=True, env=env)
                output, _ = process.communicate(json.dumps(request))
            finally:
                if process is not None and process.poll() is None:      # interrupted: stop the worker
                    process.kill()
                    process.wait()
            doing, failure = _read_status(status)
        finally:
            with contextlib.suppress(OSError):
                os.unlink(status)
    where = f" while {doing or 'starting (before it could say what it was doing)'}"
    if process.returncode < 0:
        number = -process.returncode
        try:
            name = signal.Signals(number).name
        except ValueError:
            name = f"signal {number}"
        hint = " (the out-of-memory killer, or someone, killed it)" if number == signal.SIGKILL else ""
        raise LutError(f"measurement worker died of {name} (signal {number}){where}{hint}")
    if process.returncode != 0:
        raise LutError(f"measurement worker failed with exit status {process.returncode}{where}"
                       f"{': ' + failure if failure else ''}")
    try:
        return json.loads(output)
    except ValueError:
        raise LutError(f"measurement worker exited without a result{where}") from None


def _read_status(path) -> tuple:
    """(what the worker was doing, its error) from its status file."""
    try:
        data = Path(path).read_bytes()
    except OSError:
        return "", ""

    def record(raw: bytes) -> str:
        return raw.split(b"\0", 1)[0].decode("utf-8", "replace").strip()

    return record(data[:STATUS_BYTES]), record(data[STATUS_BYTES:])


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


def summarize(samples: list, statistic: str = "median") -> dict:
    """One entry's figures (:func:`attncost.lut.stats.summarize`): median, quartiles, 10th percentile,
    min, max, n (ms), the confidence interval and precision of ``statistic``, the relative IQR and the
    coefficient of variation."""
    return stats.summarize(samples, statistic)


def precision_rule(space: Space, statistic: str = "median", target: float | None = None,
                   budget_s: float | None = None, timing: str = "in-context", archs=(), repeats: int = 15) -> Rule:
    """The :class:`~attncost.lut.precision.Rule` of a build: every entry, the calibration
    architectures and the groups of entries that must be equal (in context: with equal predecessors
    in the networks that time them). A target and a budget are finite and positive (a NaN budget is
    never spent: the rounds would run to the round limit)."""
    for label, value in (("precision", target), ("budget_s", budget_s)):
        if value is not None:
            check_number(float(value), f"{label} {value!r}", above=0, error=LutError)
    keys = all_segments(space)
    networks = ([architecture_segments(space, arch) for arch in context_architectures(space)]
                if timing == "in-context" else None)
    return Rule(statistic=statistic, target=target, budget_s=budget_s if target is not None else None,
                entries=tuple(keys), archs=tuple(tuple(architecture_segments(space, arch)) for arch in archs),
                twins=tuple(tuple(group) for group in twin_groups(space, keys, networks)),
                twin_samples=TWIN_ROUNDS * repeats)


def measure_segments(space: Space, *, threads: int = 1, batch: int = 1, warmup: int = 3, repeats: int = 15,
                     timing: str = "in-context", seed: int = 0, quiet: bool = False, archs=(),
                     statistic: str = "median", precision: float | None = None, budget_s: float | None = None,
                     pin: bool = True, device: str = "cpu") -> dict:
    """Every segment's statistics, plus the worker's report (environment, page faults, seconds, the
    machine, pinning, timer) and the measurement's quality (``quality``: precision, twins, controls,
    interference; :func:`attncost.lut.precision.report`). ``archs``: architectures also run end to
    end in the same rounds (``architectures_ms``: the statistics of their times;
    ``architecture_estimates``: their ``statistic`` and its precision, what a scale is fitted on).
    ``precision``: a target (a fraction) for every entry's confidence interval, reached by extra
    rounds within ``budget_s`` seconds (:mod:`attncost.lut.rounds`)."""
    rule = precision_rule(space, statistic, precision, budget_s if budget_s is not None else DEFAULT_BUDGET_S,
                          timing, archs, repeats)
    request = {"space": space.to_dict(), "threads": threads, "batch": batch, "warmup": warmup,
               "repeats": repeats, "seed": seed, "job": timing, "input_shape": [batch, *space.input],
               "archs": [architecture_segments(space, arch) for arch in archs], "rule": rule.to_dict(),
               "pin": pin, "device": device}
    if timing == "in-context":
        request["configs"] = [architecture_segments(space, arch) for arch in context_architectures(space)]
    else:
        request["segments"] = all_segments(space)
        request["input_shapes"] = [list(input_shape(space, key, batch)) for key in request["segments"]]
    result = run_worker(request, quiet)
    return finish_segments(space, result, rule, threads)


def finish_segments(space: Space, result: dict, rule: Rule, threads: int) -> dict:
    """The worker's result of a segment job made into statistics and the measurement's quality."""
    samples = dict(result["samples"])
    for i, (totals, segments) in enumerate(zip(result["architectures_ms"], result["architecture_segments_ms"])):
        samples[architecture_key(i)] = totals
        samples.update({f"{architecture_key(i)}/{key}": values for key, values in segments.items()})
    result["quality"] = report(samples, rule, result.get("rounds", {}), result.get("machine", {}), threads,
                               max_threads())
    result["architecture_estimates"] = [
        dict(zip(("ms", "precision"), architecture_estimate(samples, i, segments, rule.statistic, rule.confidence)))
        for i, segments in enumerate(rule.archs)]
    result["stats"] = {key: summarize(values, rule.statistic) for key, values in result.pop("samples").items()}
    result["architectures_ms"] = [summarize(times, rule.statistic) for times in result["architectures_ms"]]
    result.pop("architecture_segments_ms", None)
    return result


def measure_architectures(space: Space, archs, *, threads: int = 1, batch: int = 1, passes: int = 3,
                          repeats: int = 3, warmup: int = 1, seed: int = 0, quiet: bool = False,
                          malloc: bool = True, pin: bool = True, device: str = "cpu") -> dict:
    """End-to-end times of ``archs``: ``passes`` (``passes_min``, ``passes_p10``) lists of
    per-architecture medians (minima, 10th percentiles) of the pass's repeats (ms), and the machine."""
    request = {"space": space.to_dict(), "threads": threads, "batch": batch, "warmup": warmup, "repeats": repeats,
               "passes": passes, "seed": seed, "job": "end-to-end", "input_shape": [batch, *space.input],
               "archs": [architecture_segments(space, arch) for arch in archs], "pin": pin, "device": device}
    return run_worker(request, quiet, malloc)


def pass_series(measurement: dict, statistic: str) -> list:
    """The per-pass times of an end-to-end measurement that match a table's ``statistic``."""
    return measurement[{"median": "passes", "min": "passes_min", "p10": "passes_p10"}[statistic]]
