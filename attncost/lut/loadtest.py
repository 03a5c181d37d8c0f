"""A table built under competing load, compared with one built without it: what
``tests/lut/test_under_load.py`` and ``benchmarks/lut_under_load.py`` check (docs/LUT.md).

- :func:`competing_load`: a busy loop on every core (``multiprocessing`` processes, spawned), for
  as long as the ``with`` block lasts, checked to be running; the processes are terminated (then
  killed if need be) on the way out, whatever happened inside.
- :func:`scaled_agreement`: one scale factor fitted between two tables (relative least squares:
  s = sum r / sum r^2 over r = loaded / quiet), then every entry's error after it.
- :func:`twin_spread`: the widest disagreement among entries that must be equal.
- :func:`judge`: the issue's bounds: after one scale, every entry within 10% of the quiet table,
  twins within 5%, Kendall tau >= 0.8 against quiet end-to-end measurements; or a build that said it
  could not reach its precision (exit code 4), which is an answer too.

No torch (the builds and measurements run in the worker).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import time

from .precision import EXIT_IMPRECISE

ENTRY_BOUND = 0.10          # after one scale factor, each entry within this of the quiet table
TWIN_BOUND = 0.05           # entries that must be equal, within this of each other
TAU_BOUND = 0.8             # Kendall tau of the loaded table's sums against quiet end-to-end times


def _spin() -> None:                                     # pragma: no cover (runs in the load processes)
    while True:
        pass


class Load:
    """The running load: its processes' ids, and whether every one is still spinning."""

    def __init__(self, spinners):
        self.spinners = spinners

    @property
    def pids(self) -> list:
        return [spinner.pid for spinner in self.spinners]

    def alive(self) -> bool:
        return all(spinner.is_alive() for spinner in self.spinners)


@contextlib.contextmanager
def competing_load(processes: int | None = None, settle_s: float = 0.2):
    """A busy loop in ``processes`` processes (default: one per logical CPU) while the block runs;
    yields a :class:`Load`. The processes are spawned (not forked: nothing of ours runs in them but
    the loop) and must still be alive ``settle_s`` later, else RuntimeError: a load that died at
    start would make a comparison meaningless. Spawning re-imports the ``__main__`` module of a
    script in each process, so a script that uses this needs ``if __name__ == "__main__":``."""
    context = multiprocessing.get_context("spawn")
    spinners = [context.Process(target=_spin, daemon=True, name=f"attncost-load-{i}")
                for i in range(processes or os.cpu_count() or 1)]
    started = []
    try:
        for spinner in spinners:
            spinner.start()
            started.append(spinner)
        time.sleep(settle_s)
        load = Load(started)
        if not load.alive():
            raise RuntimeError("the competing load died as it started (a script without "
                               "'if __name__ == \"__main__\":'?)")
        yield load
    finally:
        for spinner in started:
            if spinner.is_alive():
                spinner.terminate()
        for spinner in started:
            spinner.join(timeout=5)
            if spinner.is_alive():
                spinner.kill()
                spinner.join(timeout=5)


def scaled_agreement(quiet, loaded) -> dict:
    """``scale`` fitted so that scale * loaded ~ quiet over all entries, then the worst entry
    (``max_err_pct``, ``worst``) and every entry's error (``errors_pct``)."""
    keys = list(quiet.entries)
    ratios = {key: loaded.ms(key) / quiet.ms(key) for key in keys}
    scale = sum(ratios.values()) / sum(r * r for r in ratios.values())
    errors = {key: 100 * abs(scale * r - 1) for key, r in ratios.items()}
    worst = max(errors, key=errors.get)
    return {"scale": scale, "max_err_pct": errors[worst], "worst": worst, "errors_pct": errors}


def twin_spread(lut) -> dict:
    """The widest spread (%) among the table's entries that must be equal, and which they are."""
    from .harness import precision_rule

    rule = precision_rule(lut.space, timing=lut.data.get("timing", "in-context"))
    spreads = [(100 * (max(values) / min(values) - 1), group) for group in rule.twins
               for values in [[lut.ms(key) for key in group]]]
    if not spreads:
        return {"max_spread_pct": None, "entries": []}
    spread, group = max(spreads)
    return {"max_spread_pct": spread, "entries": list(group)}


def judge(quiet, loaded, tau: float, exit_codes=(0, 0)) -> dict:
    """The verdict on one run: ``agree`` (every bound held), ``reported`` (a build exited with
    ``EXIT_IMPRECISE``: it said it could not reach its precision) or ``fail``."""
    agreement = scaled_agreement(quiet, loaded)
    twins = twin_spread(loaded)
    bounds = {"entries": agreement["max_err_pct"] <= 100 * ENTRY_BOUND,
              "twins": twins["max_spread_pct"] is None or twins["max_spread_pct"] <= 100 * TWIN_BOUND,
              "tau": tau >= TAU_BOUND}
    if EXIT_IMPRECISE in exit_codes:
        verdict = "reported"
    else:
        verdict = "agree" if all(bounds.values()) else "fail"
    return {"verdict": verdict, "bounds": bounds, "agreement": {k: v for k, v in agreement.items() if k != "errors_pct"},
            "twins": twins, "kendall_tau": tau}
