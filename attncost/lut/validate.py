"""Validation of a latency table against end-to-end measurements of sampled architectures.

Architectures (seeded): the extremes (smallest: every skippable layer skipped and the rest at their
cheapest option; largest: every layer at its most expensive option with the heaviest attention), then
*wide-range* samples whose per-layer choices lean towards cheap or expensive ones by a bias swept
from one end to the other (so the set spans the space's latency range, where a NAS needs the ranking
to hold), then uniform samples (each choice of each layer equally likely). "Cheap" is ranked by the
segments' exact MACs, not by the table under test.

Each architecture is measured end to end in ``passes`` separate passes (random order per pass); the
table's sum (Single-Path Eq. 7 at 0/1 indicators) is compared with the mean over passes, raw and
calibrated (scale and offset from ``calibrate-sum``), and so is the analytic prediction.
"""

from __future__ import annotations

import math
import random

from .metrics import accuracy, noise_floor
from .segments import attention_key, layer_key, segment_work
from .space import NO_ATTENTION, SKIP, Space


def _choice_work(space: Space, layer, choice: str, attention: str) -> int:
    if choice == SKIP:
        return 0
    work = segment_work(space, layer_key(layer.index, choice)).macs
    return work + (segment_work(space, attention_key(layer.index, attention)).macs if attention != NO_ATTENTION else 0)


def _ranked_choices(space: Space, layer) -> list:
    """Every (choice, attention) of a layer, cheapest first by MACs."""
    pairs = [(choice, attention) for choice in layer.choices
             for attention in ((NO_ATTENTION,) if choice == SKIP else layer.attention)]
    return sorted(pairs, key=lambda pair: (_choice_work(space, layer, *pair), pair))


def extreme_architectures(space: Space) -> list:
    smallest = [_ranked_choices(space, layer)[0] for layer in space.layers]
    largest = [_ranked_choices(space, layer)[-1] for layer in space.layers]
    no_skip = [next(p for p in _ranked_choices(space, layer) if p[0] != SKIP) for layer in space.layers]
    return [smallest, largest, no_skip]


def _biased(space: Space, rng: random.Random, bias: float) -> list:
    """Each layer picks from its ranked choices with weights exp(beta * rank / (n - 1)), beta = 8 (2 bias - 1)."""
    arch = []
    for layer in space.layers:
        ranked = _ranked_choices(space, layer)
        n = len(ranked)
        weights = [math.exp(8 * (2 * bias - 1) * (i / (n - 1) if n > 1 else 0)) for i in range(n)]
        arch.append(rng.choices(ranked, weights)[0])
    return arch


def _uniform(space: Space, rng: random.Random) -> list:
    arch = []
    for layer in space.layers:
        choice = rng.choice(layer.choices)
        arch.append((choice, NO_ATTENTION if choice == SKIP else rng.choice(layer.attention)))
    return arch


def sample_architectures(space: Space, count: int, seed: int = 0, extremes: bool = True) -> list:
    """``count`` architectures: the extremes (if asked), then half wide-range, then uniform samples."""
    rng = random.Random(seed)
    archs = extreme_architectures(space)[:count] if extremes else []
    wide = (count - len(archs)) // 2
    archs += [_biased(space, rng, (i + 0.5) / wide) for i in range(wide)]
    while len(archs) < count:
        archs.append(_uniform(space, rng))
    return [[list(pair) for pair in arch] for arch in archs]


def mean_over_passes(passes) -> list:
    return [sum(run[i] for run in passes) / len(passes) for i in range(len(passes[0]))]


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
    from .calibrate import fit_profile, fit_sum
    from .harness import measure_architectures
    from .predict import predict_table

    space = lut.space
    archs = sample_architectures(space, samples, seed)
    held_out = sample_architectures(space, calibrate_archs, seed + 1000, extremes=False) if calibrate_archs else []
    threads = threads or lut.data.get("threads") or 1
    measurement = measure_architectures(space, archs + held_out, threads=threads, batch=lut.data.get("batch", 1),
                                        passes=passes, repeats=repeats, seed=seed, quiet=quiet)
    runs = measurement["passes_min" if lut.statistic == "min" else "passes"]
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
    report.update({"profile": profile, "faults_per_call": measurement["faults_per_call"],
                   "environment": measurement["environment"], "measure_seconds": measurement["seconds"],
                   "held_out": len(held_out), "passes": passes, "repeats": repeats, "seed": seed,
                   "statistic": lut.statistic})
    return report
