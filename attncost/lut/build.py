"""Building a measured table: time every segment and, in the same rounds, a few sampled architectures
end to end, whose times fit the table's scale (``calibrate-sum`` at build time).

Fitting the scale on architectures measured in the same rounds as the segments means both saw the same
machine state (load from other processes, frequency), so the scale holds only the systematic difference
between a sum of segments and a whole network, not the drift between two measuring sessions.
"""

from __future__ import annotations

import time

from .calibrate import fit_sum
from .harness import measure_segments
from .table import new_table
from .sampling import sample_architectures

CALIBRATION_SEED = 2000


def build_table(space, *, threads: int = 1, batch: int = 1, warmup: int = 3, repeats: int = 15,
                timing: str = "in-context", seed: int = 0, calibrate_archs: int = 8, fit: str = "scale",
                statistic: str = "median", precision: float | None = None, budget_s: float | None = None,
                pin: bool = True, device: str = "cpu", quiet: bool = False):
    """A measured :class:`~attncost.lut.table.Lut` of ``space``, calibrated on ``calibrate_archs``
    architectures (0: none); its estimates use ``statistic`` (median, min or p10) of each entry's
    samples, and so does the calibration of the architectures' times
    (:func:`attncost.lut.precision.architecture_estimate`). ``precision`` (a fraction) asks for
    extra rounds until every entry's confidence interval is within it, for at most ``budget_s``
    seconds of timing (default 60); whether it was reached is ``table.data["precision"]["reached"]``.
    ``pin``: pin the worker to the least busy CPU(s); ``device``: ``cpu`` or ``cuda``."""
    started = time.perf_counter()
    archs = sample_architectures(space, calibrate_archs, CALIBRATION_SEED, extremes=False) if calibrate_archs else []
    measurement = measure_segments(space, threads=threads, batch=batch, warmup=warmup, repeats=repeats,
                                   timing=timing, seed=seed, quiet=quiet, archs=archs, statistic=statistic,
                                   precision=precision, budget_s=budget_s, pin=pin, device=device)
    lut = new_table(space, measurement, {"timing": timing, "threads": threads, "batch": batch, "warmup": warmup,
                                         "repeats": repeats, "seed": seed, "statistic": statistic})
    if archs:
        sums = [lut.architecture_ms(arch) for arch in archs]
        measured = [estimate["ms"] for estimate in measurement["architecture_estimates"]]
        source = ("architectures run end to end in the build's rounds" + (
            ": the sum of each segment's 10th percentile in their own runs" if statistic == "p10" else ""))
        lut.data["calibration"] = {**fit_sum(sums, measured, fit), "source": source,
                                   "seed": CALIBRATION_SEED, "measured_ms": measured, "lut_ms": sums}
    lut.data["build_seconds"] = round(time.perf_counter() - started, 3)
    return lut, measurement
