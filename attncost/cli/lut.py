"""``attncost lut``: latency lookup tables for Single-Path NAS (build, predict, calibrate, validate).

Only the commands that measure (``build``, ``calibrate-sum``, ``validate``) run PyTorch, and they run it
in a worker process (:mod:`attncost.lut.worker`); ``predict``, ``calibrate`` and ``runtime`` never
import torch. Files are written atomically.
"""

from __future__ import annotations

import os
import types

import click

from ..errors import LutError
from ..format import FORMATS, render
from ..io import atomic_write, check_outputs
from .choices import DomainChoice

#: the most --threads a measurement takes: this machine's logical CPUs (lut.harness.max_threads)
MAX_THREADS = max(1, os.cpu_count() or 1)


def _lut():
    """The lut modules whose constants the options offer (imported when click needs them)."""
    from ..lut import calibrate, harness, runtime, table

    return types.SimpleNamespace(calibrate=calibrate, harness=harness, runtime=runtime, table=table)


FORMAT = click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True,
                      help="output format of the printed summary")
LAYOUT = click.option("--format", "layout", type=DomainChoice(lambda: _lut().table.LAYOUTS), default="attncost",
                      show_default=True,
                      help="file layout: attncost's self-describing JSON, or the Single-Path NAS table "
                           "(layer -> option index -> ms) its code loads unchanged")


def _progress(text: str) -> None:
    click.echo(text, err=True)


def _space(path: str):
    from ..lut.space import load_space

    return load_space(path)


def _table_rows(lut) -> list[dict]:
    """One row per layer: each option's ms (and each attention candidate's)."""
    from ..lut.segments import attention_key, layer_key
    from ..lut.space import NO_ATTENTION

    rows = []
    for layer in lut.space.layers:
        row = {"layer": layer.index, "in": layer.in_channels, "out": layer.out_channels, "stride": layer.stride,
               "res": layer.resolution, "skip": "yes" if layer.skippable else "-"}
        for option in lut.space.options:
            row[option] = lut.ms(layer_key(layer.index, option)) if option in layer.options else "-"
        for module in lut.space.attention_modules:
            row[f"+{module}"] = (lut.ms(attention_key(layer.index, module))
                                 if module in layer.attention and module != NO_ATTENTION else "-")
        if len(layer.options) == 1 and layer.options[0] not in lut.space.options:
            row[lut.space.options[0]] = f"{lut.ms(layer_key(layer.index, layer.options[0])):.3g} ({layer.options[0]})"
        rows.append(row)
    return rows


def _save(lut, output: str, layout: str, option: str = "-o") -> None:
    atomic_write(output, lut.text(layout), option)
    if layout == "singlepath":
        _progress(f"note: the Single-Path layout has no constant term; stem, head and fixed layers take "
                  f"{lut.constant_ms:.4g} ms here (the official code hardcodes total_runtime = 19.5999 for the "
                  f"Pixel 1 in singlepath_supernet.py)")


@click.group("lut")
def lut():
    """Latency lookup tables for Single-Path NAS: measure, predict, calibrate, validate (docs/LUT.md)."""


@lut.command()
@click.argument("space", type=click.Path(dir_okay=False))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="table file to write")
@click.option("--threads", default=1, show_default=True, type=click.IntRange(1, MAX_THREADS),
              help=f"PyTorch threads (1..{MAX_THREADS}, the logical CPUs)")
@click.option("--repeats", default=15, show_default=True, type=click.IntRange(1), help="timed rounds")
@click.option("--warmup", default=3, show_default=True, type=click.IntRange(0), help="untimed rounds first")
@click.option("--batch", default=1, show_default=True, type=click.IntRange(1))
@click.option("--timing", type=DomainChoice(lambda: _lut().harness.TIMINGS), default="in-context", show_default=True,
              help="time each layer inside whole networks, or alone on a fixed input")
@click.option("--calibrate-archs", default=8, show_default=True, type=click.IntRange(0),
              help="architectures measured end to end to fit the table's scale (0: none)")
@click.option("--fit", type=DomainChoice(lambda: _lut().calibrate.FITS), default="scale", show_default=True)
@click.option("--statistic", type=DomainChoice(lambda: _lut().harness.STATISTICS), default="median", show_default=True,
              help="the table's estimate of each entry (and of networks in validation); all statistics are "
                   "stored; min resists load from other processes")
@click.option("--seed", default=0, show_default=True)
@LAYOUT
def build(space, output, threads, repeats, warmup, batch, timing, calibrate_archs, fit, statistic, seed, layout):
    """Measure every (layer, option) and attention entry of SPACE on this machine and write the table."""
    from ..lut.build import build_table
    from ..lut.harness import context_architectures

    check_outputs([("-o", output)], [("SPACE", space)])
    spec = _space(space)
    how = (f"in {len(context_architectures(spec))} networks" if timing == "in-context" else "alone")
    _progress(f"measuring the segments of {spec.name} {how} and {calibrate_archs} architectures end to end "
              f"({warmup} warm-up + {repeats} rounds, {threads} thread(s), batch {batch}) ...")
    table, measurement = build_table(spec, threads=threads, batch=batch, warmup=warmup, repeats=repeats,
                                     timing=timing, seed=seed, calibrate_archs=calibrate_archs, fit=fit,
                                     statistic=statistic)
    _save(table, output, layout)
    calibration = table.calibration
    click.echo(render(_table_rows(table), "table", {
        "space": spec.name, "timing": timing, "unit": f"ms ({statistic})", "constant_ms": f"{table.constant_ms:.4g}",
        "scale": f"{calibration['scale']:.4f}" if calibration else "none",
        "page faults per timed call": f"{measurement['faults_per_call']:.2f}",
        "build seconds": f"{table.data['build_seconds']:.1f}", "written": output}))


@lut.command()
@click.argument("space", type=click.Path(dir_okay=False))
@click.option("--device-profile", "profile", required=True, type=click.Path(dir_okay=False),
              help="device profile (from 'attncost lut calibrate')")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="also write the predicted table")
@click.option("--batch", default=1, show_default=True, type=click.IntRange(1))
@LAYOUT
def predict(space, profile, output, batch, layout):
    """Predict SPACE's table from op counts and memory traffic with a device profile (no measuring)."""
    from ..lut.predict import load_profile, predict_table

    check_outputs([("-o", output)], [("SPACE", space), ("--device-profile", profile)])
    table = predict_table(_space(space), load_profile(profile), batch)
    if output:
        _save(table, output, layout)
    click.echo(render(_table_rows(table), "table", {"space": table.space.name, "timing": "predicted",
                                                "device profile": table.data["device_profile"].get("name", profile),
                                                "constant_ms": f"{table.constant_ms:.4g}"}))


@lut.command()
@click.argument("table", type=click.Path(dir_okay=False))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="device profile to write")
@click.option("--name", help="name of the device (default: the table's CPU)")
def calibrate(table, output, name):
    """Fit a device profile (throughputs, bandwidth, per-op overhead) to a measured TABLE."""
    from ..lut.calibrate import fit_profile
    from ..lut.predict import profile_text
    from ..lut.table import load_table

    check_outputs([("-o", output)], [("TABLE", table)])
    loaded = load_table(table)
    if loaded.data.get("timing") == "predicted":
        raise LutError(f"{table}: a predicted table; calibrate needs a measured one")
    profile = fit_profile(loaded, name)
    atomic_write(output, profile_text(profile), "-o")
    click.echo(render([{"quantity": k, "value": profile[k]} for k in
                       ("macs_per_s", "other_ops_per_s", "bytes_per_s", "seconds_per_op")],
                      "table", {"fit MAPE on the table's entries": f"{profile['fitted_on']['mape_pct']:.1f}%",
                                "written": output}))


@lut.command("calibrate-sum")
@click.argument("table", type=click.Path(dir_okay=False))
@click.option("--archs", default=8, show_default=True, type=click.IntRange(1), help="architectures to measure")
@click.option("--passes", default=3, show_default=True, type=click.IntRange(1))
@click.option("--repeats", default=3, show_default=True, type=click.IntRange(1), help="timed runs per pass")
@click.option("--fit", type=DomainChoice(lambda: _lut().calibrate.FITS), default="scale", show_default=True)
@click.option("--seed", default=2000, show_default=True)
def calibrate_sum(table, archs, passes, repeats, fit, seed):
    """Measure a few architectures end to end and store a scale (and offset) for TABLE's sums in it."""
    from ..lut.calibrate import calibrate_sum as fit_table_sum
    from ..lut.table import load_table

    check_outputs([("TABLE", table)])                # written in place: it must be writable
    loaded = load_table(table)
    if loaded.data.get("timing") == "predicted":
        raise LutError(f"{table}: a predicted table; calibrate-sum needs a measured one")
    from ..lut.harness import check_threads

    check_threads(loaded.data.get("threads") or 1, f"{table}: threads (the table's)")
    _progress(f"measuring {archs} architectures of {loaded.space.name} end to end ({passes} passes) ...")
    loaded.data["calibration"] = fit_table_sum(loaded, archs, passes=passes, repeats=repeats, seed=seed, fit=fit)
    atomic_write(table, loaded.text(), "TABLE")
    calibration = loaded.calibration
    click.echo(f"scale {calibration['scale']:.4f}, offset {calibration['offset_ms']:.4g} ms "
               f"({fit}, {archs} architectures); written to {table}")


ESTIMATOR_COLUMNS = ("mape_pct", "max_err_pct", "bias_pct", "within5_pct", "within10_pct", "kendall_tau", "spearman")


@lut.command()
@click.argument("table", type=click.Path(dir_okay=False))
@click.option("--samples", default=50, show_default=True, type=click.IntRange(2), help="architectures to validate on")
@click.option("--passes", default=3, show_default=True, type=click.IntRange(1), help="separate end-to-end passes")
@click.option("--repeats", default=3, show_default=True, type=click.IntRange(1), help="timed runs per pass")
@click.option("--space", "space", type=click.Path(dir_okay=False), help="check the table belongs to this space")
@click.option("--device-profile", "profile", type=click.Path(dir_okay=False),
              help="for the analytic prediction (default: fitted on TABLE)")
@click.option("--calibrate-archs", default=8, show_default=True, type=click.IntRange(0),
              help="held-out architectures for calibrations the table lacks")
@click.option("--seed", default=0, show_default=True)
@click.option("--threads", type=click.IntRange(1, MAX_THREADS), help=f"1..{MAX_THREADS} [default: the table's]")
@click.option("--report", "report_path", type=click.Path(dir_okay=False), help="also write the full report (JSON)")
@FORMAT
def validate(table, samples, passes, repeats, space, profile, calibrate_archs, seed, threads, report_path, fmt):
    """Compare TABLE's sums (and the analytic prediction) with end-to-end measurements of sampled
    architectures: MAPE, max error, bias, share within 5 and 10 percent, Kendall tau, Spearman."""
    import json

    from ..lut.predict import load_profile
    from ..lut.table import load_table
    from ..lut.validate import validate as run

    check_outputs([("--report", report_path)], [("TABLE", table), ("--space", space), ("--device-profile", profile)])
    loaded = load_table(table, _space(space) if space else None)
    profile_data = load_profile(profile) if profile else None
    if threads is None:
        from ..lut.harness import check_threads

        check_threads(loaded.data.get("threads") or 1, f"{table}: threads (the table's; give --threads)")
    _progress(f"measuring {samples} + {calibrate_archs} architectures of {loaded.space.name} end to end "
              f"({passes} passes x {repeats} runs) ...")
    report = run(loaded, samples, passes=passes, repeats=repeats, seed=seed, profile=profile_data,
                 calibrate_archs=calibrate_archs, threads=threads)
    if report_path:
        atomic_write(report_path, json.dumps(report, indent=1), "--report")
    rows = [{"estimate": name, **{k: round(v, 4) for k, v in metrics.items() if k in ESTIMATOR_COLUMNS}}
            for name, metrics in report["accuracy"].items()]
    noise = report["noise"]
    click.echo(render(rows, fmt, {
        "architectures": report["architectures"], "passes": passes, "statistic": report["statistic"],
        "measured": f"{report['measured_ms']['min']:.3g}..{report['measured_ms']['max']:.3g} ms",
        "noise floor (pass vs pass MAPE)": f"{noise['pass_vs_pass_mape_pct']:.2f}%",
        "noise (pass vs mean MAPE)": f"{noise['pass_vs_mean_mape_pct']:.2f}%",
        "page faults per run": f"{report['faults_per_call']:.2f}"}))


@lut.command()
@click.argument("table", type=click.Path(dir_okay=False))
@click.option("--model", type=DomainChoice(lambda: _lut().runtime.MODELS), default="singlepath", show_default=True)
def runtime(table, model):
    """Print TABLE's runtime model (ms) as an expression of the superkernel indicators (Eq. 7)."""
    import sympy

    from ..lut.runtime import expression
    from ..lut.table import load_table

    click.echo(sympy.sstr(expression(load_table(table), model)))
