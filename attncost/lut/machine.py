"""Watching the machine a measurement runs on, and pinning the worker to CPUs. No torch.

- :func:`usage`: the process's CPU time, involuntary and voluntary context switches and minor page
  faults (``resource.getrusage(RUSAGE_SELF)``); differences over the timed rounds give the worker's
  share of the CPU (CPU time over wall time: 1.0 for a single thread that nobody interrupted) and
  how often the scheduler took the CPU away from it (``ru_nivcsw``).
- :func:`load_average`: ``os.getloadavg()`` where the OS has it.
- :func:`pin`: ``os.sched_setaffinity`` to the ``threads`` least busy allowed CPUs (busy time from
  ``/proc/stat`` over 0.1 s; the highest-numbered on a tie, CPU 0 taking more interrupts). A pinned
  worker is not migrated between cores, so its caches stay warm across a preemption: with a busy loop
  on each of this machine's two cores, unpinned, the 10th percentiles of layer 1 (k3e6, k5e6) came
  out 23-24% above quiet after one scale factor; pinned, every entry's was within 3-9% in three runs
  of four, 18.5% in the fourth (docs/LUT.md). Where the OS has no affinity call (macOS, Windows) nothing is done and the table
  says so.
"""

from __future__ import annotations

import os
import time

try:
    import resource
except ImportError:                                   # not POSIX: no rusage
    resource = None

PIN_SAMPLE_S = 0.1


def usage() -> dict:
    """This process's CPU seconds, context switches and minor faults so far."""
    if resource is None:
        return {"cpu_s": time.process_time(), "involuntary": 0, "voluntary": 0, "minor_faults": 0}
    r = resource.getrusage(resource.RUSAGE_SELF)
    return {"cpu_s": r.ru_utime + r.ru_stime, "involuntary": r.ru_nivcsw, "voluntary": r.ru_nvcsw,
            "minor_faults": r.ru_minflt}


def load_average():
    """The 1, 5 and 15 minute load averages, or ``None``."""
    try:
        return list(os.getloadavg())
    except (AttributeError, OSError):
        return None


def _cpu_times() -> dict:
    """cpu -> (busy, total) jiffies from /proc/stat ({} where there is none)."""
    times = {}
    try:
        with open("/proc/stat") as handle:
            for line in handle:
                name, *values = line.split()
                if name.startswith("cpu") and name[3:].isdigit():
                    numbers = [int(v) for v in values]
                    idle = numbers[3] + (numbers[4] if len(numbers) > 4 else 0)     # idle + iowait
                    times[int(name[3:])] = (sum(numbers) - idle, sum(numbers))
    except (OSError, ValueError, IndexError):
        return {}
    return times


def cpu_busy(seconds: float = PIN_SAMPLE_S, sleep=time.sleep) -> dict:
    """cpu -> share of ``seconds`` it was busy (``{}`` without /proc/stat)."""
    before = _cpu_times()
    if not before:
        return {}
    sleep(seconds)
    after = _cpu_times()
    busy = {}
    for cpu, (b0, t0) in before.items():
        if cpu in after and after[cpu][1] > t0:
            busy[cpu] = (after[cpu][0] - b0) / (after[cpu][1] - t0)
    return busy


def pin(threads: int, enabled: bool = True, busy=None) -> dict:
    """Pin this process to ``threads`` CPUs where the OS allows; what was done, as data."""
    if not enabled:
        return {"cpus": None, "how": "not pinned (--no-pin)"}
    if not hasattr(os, "sched_setaffinity"):
        return {"cpus": None, "how": "not pinned: this OS has no os.sched_setaffinity"}
    allowed = sorted(os.sched_getaffinity(0))
    if threads >= len(allowed):
        return {"cpus": allowed, "allowed": allowed,
                "how": f"not pinned: {threads} thread(s) and {len(allowed)} allowed CPU(s), so every one is used"}
    busy = cpu_busy() if busy is None else busy
    chosen = sorted(sorted(allowed, key=lambda cpu: (round(busy.get(cpu, 0.0), 2), -cpu))[:threads])
    try:
        os.sched_setaffinity(0, chosen)
    except OSError as error:
        return {"cpus": None, "allowed": allowed, "how": f"not pinned: os.sched_setaffinity failed ({error.strerror})"}
    return {"cpus": chosen, "allowed": allowed, "busy_pct": {str(cpu): round(100 * busy[cpu], 1) for cpu in sorted(busy)},
            "how": f"os.sched_setaffinity to the least busy CPU(s) over {PIN_SAMPLE_S} s (/proc/stat)"
            if busy else "os.sched_setaffinity to the highest-numbered CPU(s) (no /proc/stat)"}


def watch(before: dict, after: dict, wall_s: float, visits: int, preempted: int, load_before, load_after) -> dict:
    """The machine's figures over the timed rounds, from two :func:`usage` snapshots."""
    cpu = after["cpu_s"] - before["cpu_s"]
    return {"load_before": load_before, "load_after": load_after, "wall_s": wall_s, "cpu_s": cpu,
            "cpu_share": cpu / wall_s if wall_s > 0 else None,
            "involuntary_switches": after["involuntary"] - before["involuntary"],
            "voluntary_switches": after["voluntary"] - before["voluntary"],
            "timed_runs": visits, "preempted_runs": preempted,
            "preempted_share": preempted / visits if visits else None}
