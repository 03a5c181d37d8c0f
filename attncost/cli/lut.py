"""``attncost lut``: latency lookup tables for Single-Path NAS (build, predict, calibrate, validate).

Only the commands that measure (``build``, ``calibrate-sum``, ``validate``) run PyTorch, and they run it
in a worker process (:mod:`attncost.lut.worker`); ``predict``, ``calibrate`` and ``runtime`` never
import torch. Files are written atomically.
"""

from __future__ import annotations

import os
import sys
import types

import click

from ..errors import LutError, one_line
from ..format import DATA_FORMATS, FORMATS, render, render_result
from ..io import atomic_write, check_outputs
from . import progress
from .choices import Choice, DomainChoice
from .numbers import SEED, Float, Integer, Percent

#: the most --threads a measurement takes: this machine's logical CPUs (lut.harness.max_threads)
MAX_THREADS = max(1, os.cpu_count() or 1)
#: the longest --budget: a day of timing (a build stops after lut.precision.MAX_ROUNDS rounds anyway)
MAX_BUDGET_S = 86_400


def _lut():
    """The lut modules whose constants the options offer (imported when click needs them)."""
    from ..lut import calibrate, harness, runtime, table

    return types.SimpleNamespace(calibrate=calibrate, harness=harness, runtime=runtime, table=table)


class OutputFormat(Choice):
    """``--format``, the output format as in every command; a file layout given there (``--format
    singlepath``, which ``lut build`` once took) is an error pointing to ``--layout``."""

    def convert(self, value, param, ctx):
        if isinstance(value, str) and value.casefold() not in FORMATS and value.casefold() in _lut().table.LAYOUTS:
            self.fail(f"{value!r} is a file layout: use --layout {value.casefold()} (--format is the output format: "
                      f"{', '.join(FORMATS)})", param, ctx)
        return super().convert(value, param, ctx)


FORMAT = click.option("--format", "fmt", type=OutputFormat(FORMATS), default="table", show_default=True,
                      help="output format of the printed summary")
LAYOUT = click.option("--layout", "layout", type=DomainChoice(lambda: _lut().table.LAYOUTS), default="attncost",
                      show_default=True,
                      help="file layout: attncost's self-describing JSON, or the Single-Path NAS table "
                           "(layer -> option index -> ms) its code loads unchanged")


def _given(name: str) -> bool:
    """Whether the option whose parameter is ``name`` was given, not left at its default."""
    source = click.get_current_context().get_parameter_source(name)
    return source in (click.core.ParameterSource.COMMANDLINE, click.core.ParameterSource.ENVIRONMENT)


def _progress(text: str) -> None:
    """A phase of measuring, on a terminal only (attncost.cli.progress)."""
    progress.note(text)


def _quiet() -> bool:
    """The measuring worker's own progress lines go where ours go: nowhere when stderr is no terminal."""
    return not progress.enabled()


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


def _entry_rows(lut) -> list[dict]:
    """``--format json``/``csv``: one row per entry of the table (each layer's options, then its
    attention candidates), with fixed keys (docs/JSON.md): the option or module is a value
    (``choice``), never a key, so the columns do not depend on the space."""
    from ..lut.segments import attention_key, layer_key
    from ..lut.space import NO_ATTENTION

    rows = []
    for layer in lut.space.layers:
        where = {"layer": layer.index, "in_channels": layer.in_channels, "out_channels": layer.out_channels,
                 "stride": layer.stride, "resolution": layer.resolution, "skippable": layer.skippable,
                 "searchable": layer.searchable}
        for option in layer.options:
            key = layer_key(layer.index, option)
            rows.append({**where, "kind": "option", "choice": option, "entry": key, "ms": lut.ms(key)})
        for module in layer.attention:
            if module != NO_ATTENTION:
                key = attention_key(layer.index, module)
                rows.append({**where, "kind": "attention", "choice": module, "entry": key, "ms": lut.ms(key)})
    return rows


#: ``schema_version`` of the documents the ``lut`` commands print with ``--format json`` (docs/JSON.md)
SCHEMA_VERSION = 1


def _document(command: str, fields: dict, rows: list[dict]) -> dict:
    """The document ``lut COMMAND --format json`` prints (and ``csv``, as comment lines and rows):
    ``schema_version``, ``command``, ``fields``, ``rows``; numbers as numbers, an undefined figure (a NaN,
    such as Kendall's tau of constant estimates) as null."""
    from ..lut.schema import finite_or_none

    return finite_or_none({"schema_version": SCHEMA_VERSION, "command": f"lut {command}", **fields, "rows": rows})


def _echo(fmt: str, rows, meta: dict, document) -> None:
    """Tables and markdown: ``rows`` with the lines of ``meta`` under them (human); JSON and CSV: the
    ``document()`` (:func:`_document`), rendered as ``network`` and ``compare`` render theirs."""
    if fmt in DATA_FORMATS:
        click.echo(render_result(document(), fmt))
    else:
        click.echo(render(rows, fmt, meta))


def _calibration_fields(calibration: dict | None) -> dict | None:
    if not calibration:
        return None
    return {key: calibration[key] for key in ("scale", "offset_ms", "fit", "archs") if key in calibration}


def _precision_fields(data: dict) -> dict:
    info = data.get("precision") or {}
    return {"statistic": info.get("statistic", data.get("statistic", "median")),
            "confidence": info.get("confidence"), "worst_pct": info.get("worst_pct"),
            "without_interval": info.get("without_interval"), "target_pct": info.get("target_pct"),
            "budget_s": info.get("budget_s"), "reached": info.get("reached"), "rounds": info.get("rounds"),
            "stopped": info.get("stopped")}


def _machine_fields(data: dict) -> dict:
    figures = data.get("machine") or {}
    return {"load_before": (figures.get("load_before") or [None])[0],
            "load_after": (figures.get("load_after") or [None])[0], "cpu_share": figures.get("cpu_share"),
            "preempted_share": figures.get("preempted_share"),
            "pinned_cpus": (data.get("pinning") or {}).get("cpus") or []}


def _save(lut, output: str, layout: str, option: str = "-o") -> None:
    atomic_write(output, lut.text(layout), option)
    if layout == "singlepath":
        click.echo(f"note: the Single-Path layout has no constant term; stem, head and fixed layers take "
                  f"{lut.constant_ms:.4g} ms here (the official code hardcodes total_runtime = 19.5999 for the "
                  f"Pixel 1 in singlepath_supernet.py)", err=True)


@click.group("lut")
def lut():
    """Latency lookup tables for Single-Path NAS: measure, predict, calibrate, validate (docs/LUT.md)."""


#: the most entries a warning names
NAMED = 5


def _named(pairs) -> str:
    """``layer1:k5e6 +-7.1%, layer2:k3e6 (no interval)``."""
    return ", ".join(f"{_entry(key)} +-{value:.1f}%" if value is not None else f"{_entry(key)} (no interval)"
                     for key, value in pairs)


def _entry(key: str) -> str:
    """A sample key as a user reads it: entries as they are, ``arch3`` as the calibration architecture."""
    return f"calibration architecture {int(key[4:]) + 1}" if key.startswith("arch") and key[4:].isdigit() else key


def build_warnings(data: dict) -> list[str]:
    """The warnings a measured table's own figures call for (attncost.lut.precision): the precision
    target missed (naming the noisiest entries), entries that must be equal but disagree, no target
    and wide or missing intervals, control segments that drifted, other processes competing."""
    from ..lut import precision as rules

    out = []
    info = data.get("precision") or {}
    entries = data.get("entries", {})
    target = info.get("target_pct")
    statistic = info.get("statistic", data.get("statistic", "median"))
    if target is not None and info.get("reached") is False:
        missed = info.get("missed") or ["imprecise"]
        found = [(item["entry"], item.get("precision_pct")) for item in info.get("imprecise", [])]
        archs = sum(key not in entries for key, _ in found)
        reasons = []
        if "imprecise" in missed:
            reasons.append(f"{len(found) - archs} of {len(entries)} entries"
                           f"{f' and {archs} calibration architecture(s)' if archs else ''} outside +-{target:g}% "
                           f"(95% confidence interval of the {statistic}) after {info.get('rounds')} rounds "
                           f"({info.get('stopped')}, budget {info.get('budget_s'):g} s)")
        if "twins" in missed:
            reasons.append("entries that must be equal disagree (below)")
        if "busy" in missed:
            share = (data.get("machine") or {}).get("cpu_share") or 0
            reasons.append(f"the worker had {100 * share:.0f}% of the wall time (under {100 * rules.BUSY_SHARE:g}%): "
                           f"segments with large working sets run slower after every preemption, a bias no "
                           f"interval shows")
        noisiest = found or rules.noisiest(data, NAMED)
        out.append(f"precision not reached: {'; '.join(reasons)}; noisiest: {_named(noisiest[:NAMED])}"
                   f"{' ...' if len(noisiest) > NAMED else ''}; the table is written with each entry's "
                   f"precision_pct, exit code {rules.EXIT_IMPRECISE}")
    elif target is None:
        wide = [(key, value) for key, value in rules.noisiest(data, len(entries))
                if value is None or value > 100 * rules.TWIN_TOLERANCE]
        if wide:
            missing = sum(value is None for _, value in wide)
            out.append(f"{len(wide)} of {len(entries)} entries are not known to within +-{100 * rules.TWIN_TOLERANCE:g}% "
                       f"(95% confidence interval of the {statistic}"
                       f"{f'; {missing} have too few samples for one' if missing else ''}): {_named(wide[:NAMED])}"
                       f"{' ...' if len(wide) > NAMED else ''}; give --precision 3% to measure until they are")
    apart = [twin for twin in data.get("twins") or [] if not twin["agree"]]
    if apart:
        tolerance = info.get("twin_tolerance_pct", 100 * rules.TWIN_TOLERANCE)
        shown = "; ".join(f"{' / '.join(twin['entries'])} {twin['spread_pct']:.1f}% apart" for twin in apart[:3])
        alike = "same configuration, same predecessors" if data.get("timing") == "in-context" else "same configuration"
        out.append(f"entries that must be equal ({alike}) disagree beyond {tolerance:g}%: {shown}"
                   f"{' ...' if len(apart) > 3 else ''}")
    for name, control in (data.get("controls") or {}).items():
        limit = max(100 * rules.TWIN_TOLERANCE, target or 0)
        if control.get("drift_pct") is not None and control["drift_pct"] > limit:
            out.append(f"control segment {name} drifted {control['drift_pct']:.1f}% over the build (its estimate "
                       f"per fifth of the rounds: {', '.join(f'{v:.4g}' for v in control['windows_ms'])} ms)")
    signs = data.get("interference") or []
    if signs:
        words = {"load average": lambda s: f"load average {s['value']:.1f} on {s['limit']:g} logical CPUs",
                 "cpu share": lambda s: f"the worker ran {100 * s['value']:.0f}% of the wall time it was timing",
                 "preempted runs": lambda s: f"{100 * s['value']:.0f}% of the timed runs were preempted"}
        pinned = (data.get("pinning") or {}).get("cpus")
        out.append("other processes competed with the measurement: "
                   + "; ".join(words.get(s["sign"], lambda s: f"{s['sign']} {s['value']:g}")(s) for s in signs)
                   + (f" (the worker was pinned to CPU {', '.join(map(str, pinned))})" if pinned else "")
                   + ("" if target is not None else "; --statistic p10 --precision 3% resists this (docs/LUT.md)"))
    return out


def _precision_line(data: dict) -> str:
    info = data.get("precision") or {}
    worst = info.get("worst_pct")
    text = f"worst +-{worst:.3g}%" if worst is not None else "no interval"
    if info.get("without_interval"):
        text += f", {info['without_interval']} entries without an interval"
    text += f" (95% CI of the {info.get('statistic', data.get('statistic', 'median'))})"
    if info.get("target_pct") is not None:
        text += (f", target +-{info['target_pct']:g}%: {'reached' if info.get('reached') else 'NOT reached'} after "
                 f"{info.get('rounds')} rounds ({info.get('stopped')})")
    return text


def _machine_line(data: dict) -> str:
    figures = data.get("machine") or {}
    parts = []
    if figures.get("load_before"):
        parts.append(f"load {figures['load_before'][0]:.2f} before, {figures['load_after'][0]:.2f} after")
    if figures.get("cpu_share") is not None:
        parts.append(f"worker ran {100 * figures['cpu_share']:.0f}% of the wall time")
    if figures.get("preempted_share") is not None:
        parts.append(f"{100 * figures['preempted_share']:.1f}% of runs preempted")
    pinned = (data.get("pinning") or {}).get("cpus")
    parts.append(f"pinned to CPU {', '.join(map(str, pinned))}" if pinned else "not pinned")
    return ", ".join(parts)


@lut.command()
@click.argument("space", type=click.Path(dir_okay=False))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="table file to write")
@click.option("--threads", default=1, show_default=True, type=Integer(1, MAX_THREADS),
              help=f"PyTorch threads (1..{MAX_THREADS}, the logical CPUs)")
@click.option("--repeats", default=15, show_default=True, type=Integer(1),
              help="timed rounds (the least, with --precision)")
@click.option("--warmup", default=3, show_default=True, type=Integer(0), help="untimed rounds first")
@click.option("--batch", default=1, show_default=True, type=Integer(1))
@click.option("--timing", type=DomainChoice(lambda: _lut().harness.TIMINGS), default="in-context", show_default=True,
              help="time each layer inside whole networks, or alone on a fixed input")
@click.option("--calibrate-archs", default=8, show_default=True, type=Integer(0),
              help="architectures measured end to end to fit the table's scale (0: none)")
@click.option("--fit", type=DomainChoice(lambda: _lut().calibrate.FITS), default="scale", show_default=True)
@click.option("--statistic", type=DomainChoice(lambda: _lut().harness.STATISTICS), default="median", show_default=True,
              help="the table's estimate of each entry (and of networks in validation); all statistics are "
                   "stored; p10 (the 10th percentile) and min resist load from other processes")
@click.option("--precision", "target", type=Percent(),
              help="measure until every entry's 95% confidence interval is within this (e.g. 3%), or the budget "
                   "is spent; exit code 4 if it is not reached (the table is still written)")
@click.option("--budget", type=Float(above=0, maximum=MAX_BUDGET_S),
              help=f"seconds of timing after which --precision adds no more rounds, above 0 and at most "
                   f"{MAX_BUDGET_S:,} (a day) [default: 60]")
@click.option("--pin/--no-pin", default=True, show_default=True,
              help="pin the worker to the least busy CPU(s) where the OS allows")
@click.option("--cuda", is_flag=True, help="measure on the CUDA GPU (CUDA events; cuDNN benchmark mode off)")
@click.option("--seed", default=0, show_default=True, type=SEED, help="0..2^31")
@LAYOUT
@FORMAT
def build(space, output, threads, repeats, warmup, batch, timing, calibrate_archs, fit, statistic, target, budget, pin,
          cuda, seed, layout, fmt):
    """Measure every (layer, option) and attention entry of SPACE on this machine and write the table
    (--layout: attncost's or the Single-Path NAS layout); --format is the printed summary's.

    Exit codes: 0 written; 4 written, but --precision was not reached (the warning names the noisiest
    entries); 2 bad input.

    Example: attncost lut build specs/singlepath-space.yaml -o lut.json --statistic p10 --precision 3%"""
    from ..lut.build import build_table
    from ..lut.harness import context_architectures
    from ..lut.precision import DEFAULT_BUDGET_S, EXIT_IMPRECISE, reached

    if calibrate_archs == 0 and _given("fit"):
        raise LutError(f"--fit {fit} has no effect with --calibrate-archs 0: it fits the calibration on those "
                       "architectures; give --calibrate-archs N, or leave --fit out")
    if budget is not None and target is None:
        raise LutError(f"--budget {budget:g} has no effect without --precision: it bounds the rounds a precision "
                       "target adds; give --precision PCT, or leave --budget out")
    if target is not None and statistic == "min":
        raise LutError("--precision needs a confidence interval, and the minimum has none (where it lies depends on "
                       "the number of runs): use --statistic p10 (the 10th percentile), which resists load as well")
    check_outputs([("-o", output)], [("SPACE", space)])
    spec = _space(space)
    how = (f"in {len(context_architectures(spec))} networks" if timing == "in-context" else "alone")
    goal = (f", until +-{target:g}% or {budget or DEFAULT_BUDGET_S:g} s" if target is not None else "")
    _progress(f"measuring the segments of {spec.name} {how} and {calibrate_archs} architectures end to end "
              f"({warmup} warm-up + {repeats} rounds{goal}, {threads} thread(s), batch {batch}"
              f"{', on CUDA' if cuda else ''}) ...")
    table, measurement = build_table(spec, threads=threads, batch=batch, warmup=warmup, repeats=repeats,
                                     timing=timing, seed=seed, calibrate_archs=calibrate_archs, fit=fit,
                                     statistic=statistic, precision=target / 100 if target is not None else None,
                                     budget_s=budget, pin=pin, device="cuda" if cuda else "cpu", quiet=_quiet())
    _save(table, output, layout)
    calibration = table.calibration
    _echo(fmt, _table_rows(table), {
        "space": spec.name, "timing": timing, "unit": f"ms ({statistic})", "constant_ms": f"{table.constant_ms:.4g}",
        "scale": f"{calibration['scale']:.4f}" if calibration else "none",
        "precision": _precision_line(table.data), "machine": _machine_line(table.data),
        **({"device": table.data["cuda"]["device"]} if table.data.get("cuda") else {}),
        "page faults per timed call": f"{measurement['faults_per_call']:.2f}",
        "build seconds": f"{table.data['build_seconds']:.1f}", "written": output},
        lambda: _document("build", {
            "space": spec.name, "timing": timing, "statistic": statistic, "backend": table.backend,
            "cuda_device": (table.data.get("cuda") or {}).get("device"), "constant_ms": table.constant_ms,
            "calibration": _calibration_fields(calibration), "precision": _precision_fields(table.data),
            "machine": _machine_fields(table.data), "page_faults_per_timed_call": measurement["faults_per_call"],
            "build_seconds": table.data["build_seconds"], "layout": layout, "written": output}, _entry_rows(table)))
    for line in build_warnings(table.data):
        click.echo(one_line(f"warning: {line}", 1000), err=True)
    if reached(table.data) is False:
        sys.exit(EXIT_IMPRECISE)


@lut.command()
@click.argument("space", type=click.Path(dir_okay=False))
@click.option("--device-profile", "profile", required=True, type=click.Path(dir_okay=False),
              help="device profile (from 'attncost lut calibrate')")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="also write the predicted table")
@click.option("--batch", default=1, show_default=True, type=Integer(1))
@LAYOUT
@FORMAT
def predict(space, profile, output, batch, layout, fmt):
    """Predict SPACE's table from op counts and memory traffic with a device profile (no measuring);
    -o also writes it (--layout: attncost's or the Single-Path NAS layout)."""
    from ..lut.predict import load_profile, predict_table

    if output is None and _given("layout"):
        raise LutError(f"--layout {layout} is the layout of the file -o writes, and no -o is given: add -o FILE, "
                       "or leave --layout out")
    check_outputs([("-o", output)], [("SPACE", space), ("--device-profile", profile)])
    table = predict_table(_space(space), load_profile(profile), batch)
    if output:
        _save(table, output, layout)
    device = table.data["device_profile"].get("name", profile)
    _echo(fmt, _table_rows(table),
          {"space": table.space.name, "timing": "predicted", "device profile": device,
           "constant_ms": f"{table.constant_ms:.4g}"},
          lambda: _document("predict", {"space": table.space.name, "timing": "predicted", "device_profile": device,
                                        "batch": batch, "constant_ms": table.constant_ms,
                                        "layout": layout if output else None, "written": output},
                            _entry_rows(table)))


@lut.command()
@click.argument("table", type=click.Path(dir_okay=False))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="device profile to write")
@click.option("--name", help="name of the device (default: the table's CPU)")
@FORMAT
def calibrate(table, output, name, fmt):
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
    rows = [{"quantity": k, "value": profile[k]} for k in
            ("macs_per_s", "other_ops_per_s", "bytes_per_s", "seconds_per_op")]
    fitted = profile["fitted_on"]
    _echo(fmt, rows, {"fit MAPE on the table's entries": f"{fitted['mape_pct']:.1f}%", "written": output},
          lambda: _document("calibrate", {"table": table, "device": profile["name"], "space": fitted["space"],
                                          "entries": fitted["entries"], "fit_mape_pct": fitted["mape_pct"],
                                          "written": output}, rows))


@lut.command("calibrate-sum")
@click.argument("table", type=click.Path(dir_okay=False))
@click.option("--archs", default=8, show_default=True, type=Integer(1), help="architectures to measure")
@click.option("--passes", default=3, show_default=True, type=Integer(1))
@click.option("--repeats", default=3, show_default=True, type=Integer(1), help="timed runs per pass")
@click.option("--fit", type=DomainChoice(lambda: _lut().calibrate.FITS), default="scale", show_default=True)
@click.option("--seed", default=2000, show_default=True, type=SEED, help="0..2^31")
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
    loaded.data["calibration"] = fit_table_sum(loaded, archs, passes=passes, repeats=repeats, seed=seed, fit=fit,
                                                 quiet=_quiet())
    atomic_write(table, loaded.text(), "TABLE")
    calibration = loaded.calibration
    click.echo(f"scale {calibration['scale']:.4f}, offset {calibration['offset_ms']:.4g} ms "
               f"({fit}, {archs} architectures); written to {table}")


ESTIMATOR_COLUMNS = ("mape_pct", "max_err_pct", "bias_pct", "within5_pct", "within10_pct", "kendall_tau", "spearman")


@lut.command()
@click.argument("table", type=click.Path(dir_okay=False))
@click.option("--samples", default=50, show_default=True, type=Integer(2), help="architectures to validate on")
@click.option("--passes", default=3, show_default=True, type=Integer(1), help="separate end-to-end passes")
@click.option("--repeats", default=3, show_default=True, type=Integer(1), help="timed runs per pass")
@click.option("--space", "space", type=click.Path(dir_okay=False), help="check the table belongs to this space")
@click.option("--device-profile", "profile", type=click.Path(dir_okay=False),
              help="for the analytic prediction (default: fitted on TABLE)")
@click.option("--calibrate-archs", default=8, show_default=True, type=Integer(0),
              help="held-out architectures for calibrations the table lacks")
@click.option("--seed", default=0, show_default=True, type=SEED, help="0..2^31")
@click.option("--threads", type=Integer(1, MAX_THREADS), help=f"1..{MAX_THREADS} [default: the table's]")
@click.option("--max-mape", "max_mape", type=Percent(),
              help="the error target (e.g. 5%): pass, fail (exit 1) or, when the noise floor is above it, "
                   "inconclusive (exit 5)")
@click.option("--min-tau", "min_tau", type=Float(-1, 1),
              help="with --max-mape, the Kendall tau a pass needs, -1 to 1 [default: 0.8]")
@click.option("--report", "report_path", type=click.Path(dir_okay=False), help="also write the full report (JSON)")
@FORMAT
def validate(table, samples, passes, repeats, space, profile, calibrate_archs, seed, threads, max_mape, min_tau,
             report_path, fmt):
    """Compare TABLE's sums (and the analytic prediction) with end-to-end measurements of sampled
    architectures: MAPE, max error, bias, share within 5 and 10 percent, Kendall tau, Spearman; and
    whether the table's errors are below the noise floor of those measurements.

    Exit codes with --max-mape: 0 pass; 1 fail (errors above the target); 5 inconclusive (the noise
    floor is above the target, or one pass measured none: no pass is reported); 2 bad input.

    Example: attncost lut validate lut.json --samples 50 --max-mape 5%"""
    import json

    from ..lut.predict import load_profile
    from ..lut.schema import finite_or_none
    from ..lut.table import load_table
    from ..lut.validate import DEFAULT_MIN_TAU, judge
    from ..lut.validate import validate as run

    if min_tau is not None and max_mape is None:
        raise LutError(f"--min-tau {min_tau:g} has no effect without --max-mape: both make the verdict; give "
                       "--max-mape PCT, or leave --min-tau out")
    check_outputs([("--report", report_path)], [("TABLE", table), ("--space", space), ("--device-profile", profile)])
    loaded = load_table(table, _space(space) if space else None)
    profile_data = load_profile(profile) if profile else None
    if threads is None:
        from ..lut.harness import check_threads

        check_threads(loaded.data.get("threads") or 1, f"{table}: threads (the table's; give --threads)")
    _progress(f"measuring {samples} + {calibrate_archs} architectures of {loaded.space.name} end to end "
              f"({passes} passes x {repeats} runs{', on CUDA' if loaded.backend == 'cuda' else ''}) ...")
    report = run(loaded, samples, passes=passes, repeats=repeats, seed=seed, profile=profile_data,
                 calibrate_archs=calibrate_archs, threads=threads, quiet=_quiet())
    verdict = None
    if max_mape is not None:
        verdict = report["verdict"] = judge(report, max_mape, DEFAULT_MIN_TAU if min_tau is None else min_tau)
    if report_path:
        atomic_write(report_path, json.dumps(finite_or_none(report), indent=1, allow_nan=False), "--report")
    noise = report["noise"]
    check = report["noise_check"]
    if check["noise_floor_pct"] is None:
        versus = f"{check['estimate']}: MAPE {check['mape_pct']:.2f}%; one pass measures no noise floor"
    else:
        versus = (f"{check['estimate']}: MAPE {check['mape_pct']:.2f}% is "
                  f"{'below' if check['below_noise'] else 'above'} the noise floor {check['noise_floor_pct']:.2f}%")
    _echo(fmt, [{"estimate": name, **{k: round(v, 4) for k, v in metrics.items() if k in ESTIMATOR_COLUMNS}}
                for name, metrics in report["accuracy"].items()], {
        "architectures": report["architectures"], "passes": passes, "statistic": report["statistic"],
        "measured": f"{report['measured_ms']['min']:.3g}..{report['measured_ms']['max']:.3g} ms",
        "noise floor (pass vs pass MAPE)": f"{noise['pass_vs_pass_mape_pct']:.2f}%",
        "noise (pass vs mean MAPE)": f"{noise['pass_vs_mean_mape_pct']:.2f}%",
        "errors vs noise": versus,
        **({"verdict": f"{verdict['result']}: {verdict['reason']}"} if verdict else {}),
        "page faults per run": f"{report['faults_per_call']:.2f}"},
        lambda: _document("validate", {
            "table": table, "space": loaded.space.name, "architectures": report["architectures"],
            "held_out": report["held_out"], "passes": passes, "repeats": repeats, "seed": seed,
            "statistic": report["statistic"], "measured_ms": dict(report["measured_ms"]),
            "noise": dict(noise), "noise_check": dict(check), "verdict": dict(verdict) if verdict else None,
            "page_faults_per_run": report["faults_per_call"], "report": report_path},
            [{"estimate": name, **{k: v for k, v in metrics.items() if k in ESTIMATOR_COLUMNS}}
             for name, metrics in report["accuracy"].items()]))
    if verdict and verdict["result"] == "inconclusive":
        click.echo(one_line(f"warning: no pass reported: {verdict['reason']}; the errors cannot be told from the "
                            f"noise of the measurements (exit code {verdict['exit_code']})", 1000), err=True)
    if verdict and verdict["exit_code"]:
        sys.exit(verdict["exit_code"])


@lut.command()
@click.argument("table", type=click.Path(dir_okay=False))
@click.option("--model", type=DomainChoice(lambda: _lut().runtime.MODELS), default="singlepath", show_default=True)
def runtime(table, model):
    """Print TABLE's runtime model (ms) as an expression of the superkernel indicators (Eq. 7)."""
    import sympy

    from ..lut.runtime import expression
    from ..lut.table import load_table

    click.echo(sympy.sstr(expression(load_table(table), model)))
