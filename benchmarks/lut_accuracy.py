"""Reproduce the latency-table figures of issue 6 on this machine.

    python benchmarks/lut_accuracy.py [--space specs/singlepath-space.yaml] [--samples 50] [--builds 2]

1. Build time of the table (in context, 1 thread, default repeats, with the 8-architecture sum
   calibration), ``--builds`` times, with the load average before each.
2. An isolated-timing table of the same space (also with its build-time scale).
3. ``--samples`` architectures (extremes, wide-range, uniform) plus 8 held-out ones, measured end to end
   in 3 separate passes, once; every estimator is scored against the same measurements: the
   in-context and isolated tables (raw and with their build-time scales), and the analytic prediction
   (profile fitted on the in-context table; raw and with a scale fitted on the held-out architectures).
   The same architectures are measured again in a second worker process (session-to-session drift).
4. The malloc settings: the same 10 architectures measured with and without them (minor page faults
   per forward and mean time).

Prints a JSON report (``--json FILE`` also writes it) and a Markdown summary.
"""

from __future__ import annotations

import argparse
import json
import os
import time

from attncost.lut.build import build_table
from attncost.lut.calibrate import fit_profile, fit_sum
from attncost.lut.harness import measure_architectures
from attncost.lut.metrics import noise_floor
from attncost.lut.predict import predict_table
from attncost.lut.space import load_space
from attncost.lut.validate import evaluate, mean_over_passes, sample_architectures


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def build(space, timing: str, statistic: str) -> tuple:
    """``attncost lut build SPACE --timing TIMING --statistic STATISTIC`` (1 thread, 8 calibration
    architectures)."""
    load = _load()
    lut, measurement = build_table(space, timing=timing, statistic=statistic, quiet=True)
    return lut, {"timing": timing, "seconds": lut.data["build_seconds"], "load_before": load,
                 "scale": lut.calibration["scale"], "faults_per_call": measurement["faults_per_call"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--space", default="specs/singlepath-space.yaml")
    parser.add_argument("--samples", type=int, default=50)
    parser.add_argument("--held-out", type=int, default=8)
    parser.add_argument("--passes", type=int, default=3)
    parser.add_argument("--builds", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--statistic", choices=["median", "min"], default="median")
    parser.add_argument("--json", help="also write the report here")
    args = parser.parse_args()
    space = load_space(args.space)
    report = {"space": space.name, "statistic": args.statistic, "builds": []}
    for _ in range(args.builds):
        lut, info = build(space, "in-context", args.statistic)
        report["builds"].append(info)
    isolated, info = build(space, "isolated", args.statistic)
    report["isolated_build"] = info

    archs = sample_architectures(space, args.samples, args.seed)
    held_out = sample_architectures(space, args.held_out, args.seed + 1000, extremes=False)
    load = _load()
    measurement = measure_architectures(space, archs + held_out, passes=args.passes, seed=args.seed, quiet=True)
    all_runs = measurement["passes_min" if args.statistic == "min" else "passes"]
    runs = [run[:len(archs)] for run in all_runs]
    held_ms = mean_over_passes([run[len(archs):] for run in all_runs])
    predicted = predict_table(space, fit_profile(lut))
    estimators = {"lut (in-context)": lut, "lut (isolated)": isolated, "predicted": predicted}
    estimates = {name: [table.architecture_ms(a) for a in archs] for name, table in estimators.items()}
    calibrations = {"lut (in-context)": lut.calibration, "lut (isolated)": isolated.calibration,
                    "predicted": fit_sum([predicted.architecture_ms(a) for a in held_out], held_ms)}
    result = evaluate(archs, runs, estimates, calibrations)
    result.pop("rows")
    report["validation"] = {**result, "load_before": load, "measure_seconds": measurement["seconds"],
                            "faults_per_call": measurement["faults_per_call"]}

    again = measure_architectures(space, archs, passes=1, seed=args.seed + 1, quiet=True)
    report["session_vs_session"] = noise_floor([mean_over_passes(runs),
                                                again["passes_min" if args.statistic == "min" else "passes"][0]])

    few = archs[:10]
    report["malloc"] = {}
    for setting in (True, False):
        m = measure_architectures(space, few, passes=2, repeats=5, quiet=True, malloc=setting)
        report["malloc"]["with settings" if setting else "glibc defaults"] = {
            "faults_per_forward": m["faults_per_call"], "mean_ms": sum(mean_over_passes(m["passes"])) / len(few)}

    text = json.dumps(report, indent=1)
    if args.json:
        with open(args.json, "w") as handle:
            handle.write(text)
    print(text)
    print()
    print("| estimate | MAPE % | max err % | bias % | within 5 % | within 10 % | Kendall tau | Spearman |")
    print("|---|---|---|---|---|---|---|---|")
    for name, m in result["accuracy"].items():
        print(f"| {name} | {m['mape_pct']:.2f} | {m['max_err_pct']:.2f} | {m['bias_pct']:+.2f} | {m['within5_pct']:.0f} "
              f"| {m['within10_pct']:.0f} | {m['kendall_tau']:.3f} | {m['spearman']:.3f} |")
    noise = result["noise"]
    print(f"\nnoise floor: pass vs pass {noise['pass_vs_pass_mape_pct']:.2f}% MAPE, pass vs mean "
          f"{noise['pass_vs_mean_mape_pct']:.2f}%; builds: "
          + ", ".join(f"{b['seconds']} s (load {b['load_before']})" for b in report["builds"]))


if __name__ == "__main__":
    main()
