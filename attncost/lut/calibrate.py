"""Fitting to measurements: the end-to-end scale/offset of a table (``calibrate-sum``) and the device
profile of the analytic predictor (``calibrate``). numpy only, no torch.

calibrate-sum: a table's sum misses what lies between segments (allocator, dispatch, cache effects of
the real neighbours); one scale s (and optionally an offset o) fitted on a few measured architectures
corrects it: T = s * sum + o, minimising the squared *relative* error sum_i ((s L_i + o - m_i) / m_i)^2.

calibrate: the predictor (:mod:`attncost.lut.predict`) is an additive roofline,
t_op = max((macs + other / kappa) / P, bytes / B) + t_0 per op; for a grid of ridge points rho = P / B
and ratios kappa, 1/P and t_0 enter linearly and are fitted by non-negative least squares on the
table's measured entries (relative error); the best grid point is the profile.
"""

from __future__ import annotations

import datetime

import numpy as np

from ..errors import LutError
from .harness import measure_architectures, pass_series
from .sampling import mean_over_passes, sample_architectures
from .segments import segment_work

FITS = ("scale", "scale+offset")
RIDGES = np.logspace(-1.5, 2.5, 41)           # MACs per byte
OTHER_RATIOS = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0)


def fit_sum(estimates, measured, fit: str = "scale") -> dict:
    """Scale (and offset, ms) minimising the squared relative error of scale * estimate + offset; a
    scale+offset fit whose scale comes out non-positive falls back to the scale alone (``fit`` says
    which was used)."""
    estimates, measured = np.asarray(estimates, float), np.asarray(measured, float)
    if len(estimates) < (2 if fit == "scale+offset" else 1):
        raise LutError(f"calibrate-sum: {fit} needs at least {2 if fit == 'scale+offset' else 1} architectures")
    columns = [estimates / measured] + ([1.0 / measured] if fit == "scale+offset" else [])
    solution, *_ = np.linalg.lstsq(np.column_stack(columns), np.ones_like(measured), rcond=None)
    if fit == "scale+offset" and not solution[0] > 0:
        # a non-positive scale (few, noisy architectures) is no latency model: the offset has absorbed
        # everything; fall back to the scale alone, which is positive for positive times
        return fit_sum(estimates, measured, "scale")
    return {"scale": float(solution[0]), "offset_ms": float(solution[1]) if fit == "scale+offset" else 0.0,
            "fit": fit, "archs": len(measured),
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}


def nnls(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Non-negative least squares for few columns: the best unconstrained fit over every subset of
    columns whose solution is non-negative (exact for the 2 columns used here)."""
    best, best_residual = np.zeros(a.shape[1]), float(np.sum(b ** 2))
    for mask in range(1, 2 ** a.shape[1]):
        cols = [j for j in range(a.shape[1]) if mask >> j & 1]
        solution, *_ = np.linalg.lstsq(a[:, cols], b, rcond=None)
        if np.all(solution >= 0):
            residual = float(np.sum((a[:, cols] @ solution - b) ** 2))
            if residual < best_residual:
                best = np.zeros(a.shape[1])
                best[cols] = solution
                best_residual = residual
    return best


def _features(works, ridge: float, other_ratio: float) -> np.ndarray:
    """Per segment: sum over ops of max(macs + other / kappa, rho * bytes) [MAC-equivalents], and op count."""
    return np.array([[sum(max(op.macs + op.other / other_ratio, ridge * op.bytes) for op in work.ops), len(work.ops)]
                     for work in works], float)


def fit_profile(lut, name: str | None = None) -> dict:
    """A device profile fitted on a measured table's entries."""
    keys = list(lut.entries)
    works = [segment_work(lut.space, key, lut.data.get("batch", 1)) for key in keys]
    seconds = np.array([lut.ms(key) / 1e3 for key in keys])
    best = None
    for ridge in RIDGES:
        for other_ratio in OTHER_RATIOS:
            features = _features(works, ridge, other_ratio)
            coefficients = nnls(features / seconds[:, None], np.ones_like(seconds))
            error = float(np.mean(np.abs(features @ coefficients / seconds - 1)))
            if best is None or error < best[0]:
                best = (error, ridge, other_ratio, coefficients)
    error, ridge, other_ratio, (inverse_peak, overhead) = best
    if inverse_peak <= 0:
        raise LutError("calibrate: the table's entries do not grow with work; cannot fit a throughput")
    peak = 1.0 / inverse_peak
    return {"format": "attncost-device-profile", "version": 1,
            "name": name or lut.data.get("device", {}).get("cpu", "device"),
            "macs_per_s": float(peak), "other_ops_per_s": float(peak * other_ratio), "bytes_per_s": float(peak / ridge),
            "seconds_per_op": float(overhead), "dtype_bytes": 4,
            "fitted_on": {"space": lut.space.name, "entries": len(keys), "threads": lut.data.get("threads"),
                          "batch": lut.data.get("batch"), "timing": lut.data.get("timing"),
                          "mape_pct": float(100 * error)}}


def calibrate_sum(lut, archs: int = 8, *, passes: int = 3, repeats: int = 3, seed: int = 2000, fit: str = "scale",
                  quiet: bool = False) -> dict:
    """Measure ``archs`` sampled architectures end to end and fit the table's scale (and offset)."""
    sampled = sample_architectures(lut.space, archs, seed, extremes=False)
    measurement = measure_architectures(lut.space, sampled, threads=lut.data.get("threads") or 1,
                                        batch=lut.data.get("batch", 1), passes=passes, repeats=repeats, seed=seed,
                                        quiet=quiet, device=lut.backend)
    measured = mean_over_passes(pass_series(measurement, lut.statistic))
    calibration = fit_sum([lut.architecture_ms(a) for a in sampled], measured, fit)
    calibration.update({"seed": seed, "passes": passes, "repeats": repeats,
                        "measured_ms": measured, "lut_ms": [lut.architecture_ms(a) for a in sampled]})
    return calibration
