"""Validation of a latency table against end-to-end measurements of sampled architectures.

The architectures are those of :mod:`attncost.lut.sampling` (the extremes, wide-range and uniform
samples, seeded). Each architecture is measured end to end in ``passes`` separate passes (random order
per pass); the table's sum (Single-Path Eq. 7 at 0/1 indicators) is compared with the mean over
passes, raw and calibrated (scale and offset from ``calibrate-sum``), and so is the analytic prediction.
"""

from __future__ import annotations

from .calibrate import fit_profile, fit_sum
from .harness import measure_architectures, pass_series
from .metrics import accuracy, noise_floor
from .predict import predict_table
from .sampling import extreme_architectures, mean_over_passes, sample_architectures

__all__ = ["evaluate", "extreme_architectures", "judge", "mean_over_passes", "noise_check", "sample_architectures",
           "validate"]

DEFAULT_MIN_TAU = 0.8          # the ranking a NAS needs (issue 6's target), part of a verdict with --max-mape
EXIT_FAIL = 1                  # lut validate --max-mape: the errors are above the target (a check failed)
EXIT_INCONCLUSIVE = 5          # lut validate --max-mape: the noise floor is above the target (or unmeasured)


def _calibrated(values, calibration) -> list:
    return [calibration["scale"] * v + calibration["offset_ms"] for v in values]


def evaluate(archs, passes, estimates: dict, calibrations: dict) -> dict:
    """Noise floor of ``passes`` (P lists of per-architecture ms) and, per estimator name -> list of
    estimates, its accuracy against the mean of the passes, raw and (where ``calibrations`` has one
    for it) calibrated."""
    measured = mean_over_passes(passes)
    report = {"architectures": len(archs), "noise": noise_floor(passes),
              "measured_ms": {"min": min(measured), "max": max(measured)}, "accuracy": {}}
    for name, values in estimates.items():
        report["accuracy"][name] = accuracy(values, measured)
        if calibrations.get(name):
            report["accuracy"][f"{name} calibrated"] = accuracy(_calibrated(values, calibrations[name]), measured)
    report["calibrations"] = calibrations
    report["rows"] = [{"arch": i, "measured_ms": m, **{name: values[i] for name, values in estimates.items()}}
                      for i, m in enumerate(measured)]
    return report


def validate(lut, samples: int, *, passes: int = 3, repeats: int = 3, seed: int = 0, profile=None,
             calibrate_archs: int = 8, fit: str = "scale", threads: int | None = None, quiet: bool = False) -> dict:
    """Sample, measure end to end, and compare the table's sum and the analytic prediction.

    The table's calibration is the one stored in it (``calibrate-sum`` or ``build``); without one, and
    for the prediction, a calibration is fitted on ``calibrate_archs`` further architectures (another
    seed, no extremes) measured in the same passes, never on the validation set."""
    space = lut.space
    archs = sample_architectures(space, samples, seed)
    held_out = sample_architectures(space, calibrate_archs, seed + 1000, extremes=False) if calibrate_archs else []
    threads = threads or lut.data.get("threads") or 1
    measurement = measure_architectures(space, archs + held_out, threads=threads, batch=lut.data.get("batch", 1),
                                        passes=passes, repeats=repeats, seed=seed, quiet=quiet, device=lut.backend)
    runs = pass_series(measurement, lut.statistic)
    validation_runs = [run[:len(archs)] for run in runs]
    held_out_ms = mean_over_passes([run[len(archs):] for run in runs]) if held_out else []
    profile = profile or fit_profile(lut)
    predicted = predict_table(space, profile, lut.data.get("batch", 1))
    estimates = {"lut": [lut.architecture_ms(a) for a in archs], "predicted": [predicted.architecture_ms(a) for a in archs]}
    calibrations = {"lut": lut.calibration, "predicted": None}
    if held_out:
        if not lut.calibration:
            calibrations["lut"] = {**fit_sum([lut.architecture_ms(a) for a in held_out], held_out_ms, fit),
                                   "source": "fitted by validate on held-out architectures"}
        calibrations["predicted"] = {**fit_sum([predicted.architecture_ms(a) for a in held_out], held_out_ms, fit),
                                     "source": "fitted by validate on held-out architectures"}
    report = evaluate(archs, validation_runs, estimates, calibrations)
    report["noise_check"] = noise_check(report)
    report.update({"profile": profile, "faults_per_call": measurement["faults_per_call"],
                   "environment": measurement["environment"], "measure_seconds": measurement["seconds"],
                   "held_out": len(held_out), "passes": passes, "repeats": repeats, "seed": seed,
                   "statistic": lut.statistic})
    return report


def judged_estimate(report: dict) -> str:
    """The estimate a verdict is about: the table's sum with its calibration where there is one."""
    return "lut calibrated" if "lut calibrated" in report["accuracy"] else "lut"


def noise_check(report: dict) -> dict:
    """Whether the table's errors are below the noise floor the same measurements show: its MAPE
    against the pass-vs-pass MAPE (``None`` with one pass, which measures no noise)."""
    name = judged_estimate(report)
    mape = report["accuracy"][name]["mape_pct"]
    noise = report["noise"]["pass_vs_pass_mape_pct"] if report["noise"]["passes"] > 1 else None
    return {"estimate": name, "mape_pct": mape, "noise_floor_pct": noise,
            "below_noise": mape <= noise if noise is not None else None}


def judge(report: dict, max_mape: float, min_tau: float = DEFAULT_MIN_TAU) -> dict:
    """A verdict on a validation: ``pass`` (the table's calibrated MAPE at most ``max_mape`` percent,
    its Kendall tau at least ``min_tau``), ``fail``, or ``inconclusive`` when the noise floor is above
    ``max_mape`` or unmeasured (one pass): measurements that noisy cannot show an error that small,
    so no pass is reported. With its exit code (0, ``EXIT_FAIL``, ``EXIT_INCONCLUSIVE``)."""
    check = noise_check(report)
    metrics = report["accuracy"][check["estimate"]]
    noise = check["noise_floor_pct"]
    base = {"estimate": check["estimate"], "max_mape_pct": max_mape, "min_tau": min_tau, "mape_pct": metrics["mape_pct"],
            "kendall_tau": metrics["kendall_tau"], "noise_floor_pct": noise}
    if noise is None or noise > max_mape:
        why = ("one pass measures no noise (give --passes 2 or more)" if noise is None else
               f"the noise floor {noise:.2f}% is above the target {max_mape:g}%")
        return {**base, "result": "inconclusive", "reason": why, "exit_code": EXIT_INCONCLUSIVE}
    failed = []
    if metrics["mape_pct"] > max_mape:
        failed.append(f"MAPE {metrics['mape_pct']:.2f}% > {max_mape:g}%")
    if not metrics["kendall_tau"] >= min_tau:                 # NaN (constant estimates) fails too
        failed.append(f"Kendall tau {metrics['kendall_tau']:.3f} < {min_tau:g}")
    if failed:
        return {**base, "result": "fail", "reason": "; ".join(failed), "exit_code": EXIT_FAIL}
    return {**base, "result": "pass", "reason": f"MAPE {metrics['mape_pct']:.2f}% <= {max_mape:g}%, Kendall tau "
                                                f"{metrics['kendall_tau']:.3f} >= {min_tau:g}, noise floor "
                                                f"{noise:.2f}% <= {max_mape:g}%", "exit_code": 0}
