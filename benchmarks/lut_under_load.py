"""Latency tables on a busy machine (issue 17): quiet and loaded builds compared in one run.

    python benchmarks/lut_under_load.py [--space specs/singlepath-space.yaml] [--precision 3] [--budget 120]
                                        [--samples 50] [--passes 3] [--json FILE]

1. ``attncost lut build`` twice per setting, once quiet and once under its own competing load (a
   busy loop on every core, multiprocessing processes started before the build and terminated right
   after it: attncost.lut.loadtest.competing_load). Two settings: the old default (``--statistic
   median``, 15 fixed rounds) and the load-resisting one (``--statistic p10 --precision P --budget
   B``). For each build: seconds, exit code, precision reached (worst entry), rounds, the machine
   (load average, the worker's CPU share, preempted runs), the warnings it printed.
2. ``--samples`` architectures (plus 8 held out) measured end to end in ``--passes`` passes with no
   load; every table is scored against them (MAPE raw and with its build-time scale, Kendall tau,
   Spearman), and ``lut validate --max-mape 5%``'s verdict is applied.
3. Per setting, the loaded table against the quiet one: after one scale factor the worst entry, the
   widest disagreement of twins, the tau (attncost.lut.loadtest.judge: agree / reported / fail).

Prints a JSON report (``--json FILE`` also writes it) and Markdown tables.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from attncost.lut.calibrate import fit_sum
from attncost.lut.harness import measure_architectures, pass_series
from attncost.lut.loadtest import competing_load, judge
from attncost.lut.sampling import mean_over_passes, sample_architectures
from attncost.lut.space import load_space
from attncost.lut.table import load_table
from attncost.lut.validate import evaluate, judge as verdict

CLI = [sys.executable, "-c", "from attncost.cli.main import main; main()"]


def _load() -> list:
    return [round(x, 2) for x in os.getloadavg()]


def build(space: str, out: Path, args: list, loaded: bool) -> dict:
    """One ``attncost lut build`` (in a subprocess, as a user runs it), under load if ``loaded``."""
    command = [*CLI, "lut", "build", space, "-o", str(out), *args]
    load_before = _load()
    started = time.perf_counter()
    if loaded:
        with competing_load():
            done = subprocess.run(command, capture_output=True, text=True)
            load_during = _load()
    else:
        done = subprocess.run(command, capture_output=True, text=True)
        load_during = _load()
    seconds = time.perf_counter() - started
    if done.returncode not in (0, 4):
        raise SystemExit(f"build failed ({done.returncode}): {done.stderr}")
    data = json.loads(out.read_text())
    info, machine = data["precision"], data["machine"]
    return {"args": args, "loaded": loaded, "seconds": round(seconds, 1), "exit_code": done.returncode,
            "load_before": load_before, "load_end": load_during, "reached": info["reached"],
            "worst_pct": info["worst_pct"], "without_interval": info["without_interval"], "rounds": info["rounds"],
            "stopped": info["stopped"], "missed": info.get("missed"), "cpu_share": machine["cpu_share"], "preempted_share": machine["preempted_share"],
            "pinned": data["pinning"].get("cpus"), "scale": data["calibration"]["scale"] if data["calibration"] else None,
            "warnings": [line for line in done.stderr.splitlines() if line.startswith("warning:")]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--space", default="specs/singlepath-space.yaml")
    parser.add_argument("--precision", type=float, default=3.0, help="percent")
    parser.add_argument("--budget", type=float, default=120.0, help="seconds")
    parser.add_argument("--samples", type=int, default=50)
    parser.add_argument("--held-out", type=int, default=8)
    parser.add_argument("--passes", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", help="also write the report here")
    args = parser.parse_args()
    space = load_space(args.space)
    settings = {"median, 15 rounds": ["--statistic", "median"],
                f"p10, --precision {args.precision:g}%": ["--statistic", "p10", "--precision", f"{args.precision:g}%",
                                                          "--budget", f"{args.budget:g}"]}
    report = {"space": space.name, "logical_cpus": os.cpu_count(), "builds": {}, "tables": {}}
    folder = Path(tempfile.mkdtemp(prefix="lut-under-load-"))
    tables = {}
    for name, options in settings.items():
        for loaded in (False, True):
            label = f"{name}, {'loaded' if loaded else 'quiet'}"
            out = folder / f"{len(tables)}.json"
            report["builds"][label] = build(args.space, out, options, loaded)
            tables[label] = load_table(out)
            print(f"{label}: {report['builds'][label]['seconds']} s, exit {report['builds'][label]['exit_code']}",
                  file=sys.stderr, flush=True)

    archs = sample_architectures(space, args.samples, args.seed)
    held_out = sample_architectures(space, args.held_out, args.seed + 1000, extremes=False)
    load_before = _load()
    measurement = measure_architectures(space, archs + held_out, passes=args.passes, seed=args.seed, quiet=True)
    report["validation"] = {"architectures": len(archs), "passes": args.passes, "load_before": load_before,
                            "seconds": round(measurement["seconds"], 1)}
    for label, lut in tables.items():
        runs = pass_series(measurement, lut.statistic)
        validation = [run[:len(archs)] for run in runs]
        held_ms = mean_over_passes([run[len(archs):] for run in runs])
        estimates = {"lut": [lut.architecture_ms(a) for a in archs]}
        calibration = lut.calibration or fit_sum([lut.architecture_ms(a) for a in held_out], held_ms)
        result = evaluate(archs, validation, estimates, {"lut": calibration})
        check = verdict(result, 5.0)
        report["tables"][label] = {"accuracy": result["accuracy"], "noise": result["noise"],
                                   "verdict (--max-mape 5%)": check["result"], "reason": check["reason"]}
    report["comparison"] = {}
    for name in settings:
        quiet, loaded = tables[f"{name}, quiet"], tables[f"{name}, loaded"]
        accuracy = report["tables"][f"{name}, loaded"]["accuracy"]["lut"]
        codes = (report["builds"][f"{name}, quiet"]["exit_code"], report["builds"][f"{name}, loaded"]["exit_code"])
        report["comparison"][name] = judge(quiet, loaded, accuracy["kendall_tau"], codes)

    text = json.dumps(report, indent=1)
    if args.json:
        Path(args.json).write_text(text)
    print(text)
    print("\n| build | seconds | exit (missed) | precision: worst (no interval) | rounds | load before / at end | "
          "worker CPU share | preempted runs | scale |")
    print("|---|---|---|---|---|---|---|---|---|")
    for label, b in report["builds"].items():
        worst = f"{b['worst_pct']:.1f}%" if b["worst_pct"] is not None else "-"
        missed = f" ({', '.join(b['missed'])})" if b["missed"] else ""
        print(f"| {label} | {b['seconds']} | {b['exit_code']}{missed} | {worst} ({b['without_interval']}) | {b['rounds']} | "
              f"{b['load_before'][0]} / {b['load_end'][0]} | {100 * b['cpu_share']:.0f}% | "
              f"{100 * b['preempted_share']:.1f}% | {b['scale']:.3f} |")
    print("\n| table | MAPE % | MAPE % (build-time scale) | max err % (scaled) | Kendall tau | Spearman | "
          "noise floor % | --max-mape 5% |")
    print("|---|---|---|---|---|---|---|---|")
    for label, t in report["tables"].items():
        raw, scaled = t["accuracy"]["lut"], t["accuracy"]["lut calibrated"]
        print(f"| {label} | {raw['mape_pct']:.2f} | {scaled['mape_pct']:.2f} | {scaled['max_err_pct']:.1f} | "
              f"{raw['kendall_tau']:.3f} | {raw['spearman']:.3f} | {t['noise']['pass_vs_pass_mape_pct']:.2f} | "
              f"{t['verdict (--max-mape 5%)']} |")
    print("\n| setting | loaded vs quiet: scale | worst entry after it | widest twins | tau | verdict |")
    print("|---|---|---|---|---|---|")
    for name, c in report["comparison"].items():
        twins = c["twins"]
        spread = f"{twins['max_spread_pct']:.1f}% ({' / '.join(twins['entries'])})" if twins["entries"] else "-"
        print(f"| {name} | {c['agreement']['scale']:.3f} | {c['agreement']['max_err_pct']:.1f}% "
              f"({c['agreement']['worst']}) | {spread} | {c['kendall_tau']:.3f} | {c['verdict']} |")


if __name__ == "__main__":
    main()
