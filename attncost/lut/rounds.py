"""Rounds of timing: warm-up, the fixed rounds, then extra rounds until the precision rule holds.

Every round runs each of its *visits* (a network, a segment, an architecture end to end) once, in a
fresh random order, so drift (other load, frequency changes) hits every entry alike; a visit is
short (a network of the 22-layer space runs for 12-25 ms), so a round takes a fraction of a second
and a change of load lands in every entry's samples. After the warm-up rounds (and, on a GPU, at
least ``min_warmup_s`` seconds of them, so clocks have ramped up) and the ``repeats`` timed rounds,
a build with a precision target (:class:`attncost.lut.precision.Rule`) looks at the samples: the
visits that hold an entry outside the target, or one of twins that disagree, run again (the others
are done), until none is left, the budget of seconds (counted from the first warm-up round) is
spent or ``max_rounds`` is reached; which of those ended it is recorded. It looks again once the
rounds have grown by 5% since its last look (after every round while 5% is one round or less):
sorting every entry's samples after each of thousands of rounds of a small space would cost more
than the rounds, and a build runs at most about 5% more rounds than it needed.

The clock, the resource usage and the load average are injected, so the rules run in tests with a
fake clock and fake visits. No torch.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from typing import Callable

from . import machine
from .precision import MAX_ROUNDS, Rule, assess

LOOK_EVERY = 0.05           # after the fixed rounds, the samples are assessed again after 5% more rounds


@dataclass
class Visit:
    """One thing a round runs: ``run()`` does it once and returns its samples, ``[(key, ms)]``;
    ``keys``: every key it samples (a visit runs again when one of them needs more samples)."""

    name: str
    keys: frozenset
    run: Callable[[], list]


def _nothing(text: str) -> None:
    pass


def run_rounds(visits, *, warmup: int, repeats: int, seed: int = 0, rule: Rule | None = None,
               clock=time.monotonic, usage=machine.usage, load=machine.load_average, doing=_nothing,
               progress=_nothing, min_warmup_s: float = 0.0, max_rounds: int = MAX_ROUNDS) -> dict:
    """Time ``visits``: ``samples`` (key -> ms, in the order taken), what the rounds did
    (``rounds``), the machine over the timed rounds (``machine``) and minor faults per timed visit."""
    rng = random.Random(seed)
    visits = list(visits)
    samples: dict = {}
    started = clock()
    warm = 0
    while warm < warmup or (visits and clock() - started < min_warmup_s):
        order = list(visits)
        rng.shuffle(order)
        for visit in order:
            doing(f"timing {visit.name} (warm-up round {warm + 1})")
            visit.run()
        warm += 1
        progress(f"  round {warm} (warm-up)")
    counts = {"visits": 0, "preempted": 0, "faults": 0}
    load_before, before, timed_from = load(), usage(), clock()

    def timed(selection: list, label: str) -> None:
        rng.shuffle(selection)
        for visit in selection:
            doing(f"timing {visit.name} ({label})")
            first = usage()
            taken = visit.run()
            last = usage()
            for key, ms in taken:
                samples.setdefault(key, []).append(ms)
            counts["visits"] += 1
            counts["preempted"] += last["involuntary"] > first["involuntary"]
            counts["faults"] += last["minor_faults"] - first["minor_faults"]

    for r in range(repeats):
        timed(list(visits), f"round {r + 1}/{repeats}")
        progress(f"  round {r + 1}/{repeats}")
    extra, stopped = 0, "fixed rounds"
    if rule is not None and rule.target is not None:
        found, looked = assess(samples, rule), repeats
        while True:
            if found.done:
                stopped = ("twins settled apart" if any(not twin["agree"] for twin in found.twins)
                           else "precision reached")
                break
            if rule.budget_s is not None and clock() - started >= rule.budget_s:
                stopped = "budget spent"
                break
            if repeats + extra >= max_rounds:
                stopped = "round limit"
                break
            selection = [visit for visit in visits if visit.keys & found.pending]
            if not selection:
                stopped = "nothing measures what is missing"
                break
            extra += 1
            timed(selection, f"extra round {extra}, {len(found.pending)} entries short of the target")
            progress(f"  extra round {extra}: {len(selection)} of {len(visits)} visits for "
                     f"{len(found.pending)} entries short of the target")
            if repeats + extra - looked >= LOOK_EVERY * looked:     # look again after 5% more rounds
                found, looked = assess(samples, rule), repeats + extra
    wall = clock() - timed_from
    figures = machine.watch(before, usage(), wall, counts["visits"], counts["preempted"], load_before, load())
    return {"samples": samples,
            "rounds": {"warmup": warm, "timed": repeats + extra, "extra": extra, "stopped": stopped,
                       "seconds": clock() - started},
            "machine": figures, "faults_per_call": counts["faults"] / max(counts["visits"], 1)}
