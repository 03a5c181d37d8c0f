"""``attncost``: what an attention module costs before you train it.

Each command is a small function whose docstring is its help. Errors users can cause
(:class:`attncost.errors.AttncostError`) become one line on stderr and exit code 2.
torch is imported only by the commands that run real PyTorch (``verify``).
"""

from __future__ import annotations

import os
import sys
import traceback

import click
import sympy

from .. import api, catalogue
from ..cost import Convention
from ..errors import AttncostError, one_line
from ..format import FORMATS, render, render_result
from ..io import atomic_write, check_outputs
from ..numbers import parse_int
from ..shapes import DTYPE_BYTES, MODES, format_inputs, format_shape, parse_inputs, parse_shape
from .choices import DomainChoice
from .numbers import Integer


class ShapeType(click.ParamType):
    """CxHxW or NxCxHxW, positive integers. With ``inputs``: the inputs of a user's model, checked
    and kept as text (``SHAPE[:DTYPE][,SHAPE[:DTYPE]...]`` of any rank, read by
    :func:`attncost.shapes.parse_inputs`); a reference network reads the text as CxHxW or NxCxHxW."""

    name = "SHAPE"

    def __init__(self, allow_symbols: bool = False, inputs: bool = False):
        self.allow_symbols = allow_symbols
        self.inputs = inputs

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        try:
            if self.inputs:
                parse_inputs(value, self.allow_symbols)
                return value
            return parse_shape(value, self.allow_symbols)
        except AttncostError as error:
            self.fail(str(error), param, ctx)


def _crossover():
    """The modules whose constants the options below offer, imported when click needs them."""
    from .. import crossover

    return crossover


def _networks():
    from .. import networks

    return networks


def _graph():
    from .. import graph

    return graph


def _is_user_model(name: str) -> bool:
    """``FILE.py:FUNCTION``: a user's own model (counted by the tracer, imports torch)."""
    return ".py:" in name


def _user_options(command):
    """Options for counting a user's own model (FILE.py:FN)."""
    for option in reversed([
        click.option("--attention-modules", "attention_modules", multiple=True, metavar="PATTERN[,PATTERN]",
                     help="FILE.py:FN: module paths (fnmatch, e.g. 'blocks.*.attn') whose ops count as attention"),
        click.option("--mode", type=click.Choice(MODES), default=MODES[0], show_default=True,
                     help="FILE.py:FN: count the eval- or the train-mode forward (dropout, batch-norm statistics)"),
        click.option("--exact-shape", is_flag=True,
                     help="FILE.py:FN: take a single 3-dim --shape as the full input shape (no batch of 1 added)"),
    ]):
        command = option(command)
    return command


def _patterns(values) -> tuple:
    return tuple(p.strip() for value in values for p in value.split(",") if p.strip())


#: the most random configurations ``verify --samples`` checks per entry: each one runs the reference
#: module in PyTorch (about 10 ms), so 10,000 is minutes per entry, the whole catalogue hours
MAX_SAMPLES = 10_000
#: exit code of an unexpected exception (a bug in attncost, not the input): EX_SOFTWARE
INTERNAL_ERROR = 70


class Group(click.Group):
    """Turns user errors (ours and click's) into one line of at most 200 characters
    (:func:`attncost.errors.one_line`) and exit code 2, and any other exception (a bug) into one line
    and exit code 70. ``--debug`` (or ``ATTNCOST_DEBUG=1``) prints the full traceback first, for bug
    reports, and lets a bug's exception through."""

    debug = False

    def main(self, *args, **kwargs):
        kwargs["standalone_mode"] = False
        Group.debug = os.environ.get("ATTNCOST_DEBUG", "").strip().lower() in ("1", "true", "yes")
        try:
            return super().main(*args, **kwargs)
        except (AttncostError, click.ClickException) as error:
            message = error.format_message() if isinstance(error, click.ClickException) else str(error)
            if Group.debug:
                traceback.print_exc()
            click.echo(one_line(f"Error: {message}"), err=True)
            sys.exit(2)
        except click.exceptions.Abort:
            click.echo("Aborted.", err=True)
            sys.exit(1)
        except Exception as error:
            if Group.debug:
                raise
            click.echo(one_line(f"Error: internal error (a bug in attncost, please report it with the output of "
                                f"--debug): {type(error).__name__}: {error}"), err=True)
            sys.exit(INTERNAL_ERROR)


def _debug(ctx, param, value):
    if value:
        Group.debug = True


CONVENTION = click.option("--convention", type=click.Choice([c.value for c in Convention]), default="full",
                          show_default=True, help="how op counts are weighed into FLOPs (docs/CONVENTIONS.md)")
FORMAT = click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True,
                      help="output format")


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="attncost")
@click.option("--debug", is_flag=True, is_eager=True, expose_value=False, callback=_debug,
              help="on an error, print the full traceback too (for bug reports); also ATTNCOST_DEBUG=1")
def cli():
    """Exact parameters, MACs, FLOPs and memory of CV attention modules, proven against PyTorch."""


@cli.command("list")
@click.argument("pattern", required=False)
@click.option("--family", type=click.Choice(list(catalogue.FAMILIES)), help="only this family")
@FORMAT
def list_command(pattern, family, fmt):
    """List catalogue entries (optionally matching a wildcard PATTERN such as 'se*'), by family."""
    rows = [{"family": e.family, "name": e.name, "aliases": ", ".join(e.aliases), "summary": e.summary,
             "paper": f"{e.paper.title} ({e.paper.venue})"} for e in catalogue.entries(pattern, family)]
    if not rows:
        raise AttncostError(f"no catalogue entry matches {pattern!r}")
    click.echo(render(rows, fmt))


@cli.command()
@click.argument("name")
@click.option("--hp", "hps", multiple=True, metavar="KEY=VALUE", help="fix a hyperparameter (repeatable)")
@click.option("--leading", is_flag=True, help="show only the dominant term as H, W grow")
@click.option("--latex", is_flag=True, help="print LaTeX instead of plain expressions")
@click.option("--shape", type=ShapeType(allow_symbols=True, inputs=True), default=None,
              help="FILE.py:FN: the input with letters for the sizes that stay symbolic, e.g. 3xHxW, "
                   "NxCxHxW, 1xLx768 (with --exact-shape)")
@click.option("--hint", "hints", multiple=True, metavar="LETTER=VALUE",
              help="FILE.py:FN: the size a letter is traced at [default: N=2, others 224]")
@_user_options
@CONVENTION
@FORMAT
def formula(name, hps, leading, latex, shape, hints, attention_modules, mode, exact_shape, convention, fmt):
    """Symbolic formulas of NAME in N, C, H, W and its symbolic hyperparameters.

    NAME may be your own model, FILE.py:FUNCTION with --shape 3xHxW: its params, MACs, FLOPs and
    memory as expressions in the shape's letters, traced once on FakeTensors with symbolic sizes
    (imports torch)."""
    if _is_user_model(name):
        return _user_formula(name, shape, hints, hps, leading, latex, attention_modules, mode, exact_shape,
                             convention, fmt)
    for given, option in ((shape, "--shape"), (hints, "--hint"), (attention_modules, "--attention-modules"),
                          (mode != MODES[0], "--mode"), (exact_shape, "--exact-shape")):
        if given:
            raise AttncostError(f"{option} applies to your own model (FILE.py:FN); {name} is a catalogue entry")
    entry = catalogue.get(name)
    hp = api.typed_hp(entry, api.parse_hp_assignments(hps, scoped=False))
    for key, value in hp.items():
        if value is None and entry.hp(key).symbolic:   # derived from C (ECA's k), which a formula keeps symbolic
            raise AttncostError(f"--hp {key}=none: {entry.name}.{key} derived from C needs a number for C; in a "
                                f"formula give {key} a number, or leave it out to keep it the symbol {key}")
    cost = entry.formula(hp)
    rows = api.formula_rows(cost, convention, leading)
    printer = sympy.latex if latex else sympy.sstr
    for row in rows:
        row["expression"] = printer(row["expression"])
    free = sorted(str(s) for s in cost.free_symbols)
    meta = {"module": entry.name, "symbols": ", ".join(free), "paper": f"{entry.paper.title}, {entry.paper.equation}"}
    if leading:
        meta["leading"] = "highest total degree in H, W (floors dropped)"
    click.echo(render(rows, fmt, meta))


def _user_formula(reference, shape, hints, hps, leading, latex, attention_modules, mode, exact_shape, convention,
                  fmt):
    """``attncost formula FILE.py:FN --shape 3xHxW``: a user's model's cost in the shape's letters."""
    from ..usermodels import formula as symbolic, load_model, naming

    if hps:
        raise AttncostError("--hp applies to catalogue entries; your own model fixes its own hyperparameters")
    if shape is None:
        raise AttncostError(f"{reference}: give --shape with letters for the symbolic sizes, e.g. --shape 3xHxW")
    values = {}
    for item in hints:
        letter, _, value = item.partition("=")
        if not (len(letter.strip()) == 1 and letter.strip().isascii() and letter.strip().isalpha()):
            raise AttncostError(f"--hint {item!r} must be LETTER=VALUE with VALUE >= 2, e.g. H=512")
        values[letter.strip().upper()] = parse_int(value, f"--hint {item!r}", minimum=2, error=AttncostError)
    model = load_model(reference)
    with naming(reference):
        analysis = symbolic(model, shape, values, attention_modules=_patterns(attention_modules), mode=mode,
                            exact_shape=exact_shape)
    cost = analysis.network.total
    grow = tuple(sorted((s for s in analysis.hints if str(s) != "N"), key=str)) or tuple(analysis.hints)
    rows = api.formula_rows(cost, convention, leading, grow or (sympy.Symbol("H"), sympy.Symbol("W")))
    printer = sympy.latex if latex else sympy.sstr
    for row in rows:
        row["expression"] = printer(row["expression"])
    meta = {"model": reference, "inputs": format_inputs(analysis.inputs),
            "symbols": ", ".join(sorted(str(s) for s in cost.free_symbols)) or "none",
            "mode": analysis.mode, "traced with": analysis.method,
            "traced at": ", ".join(f"{k}={v}" for k, v in sorted(analysis.hints.items(), key=str)) or "-"}
    if analysis.specialised:
        meta["fixed by the model"] = ", ".join(f"{k}={v}" for k, v in sorted(analysis.specialised.items(), key=str))
    if analysis.equalities:
        meta["holds where"] = ", ".join(f"{sympy.sstr(g.lhs)} = {sympy.sstr(g.rhs)}" for g in analysis.equalities)
    if analysis.unsupported:
        meta["unsupported ops (not counted)"] = ", ".join(sorted(analysis.unsupported))
    if leading:
        meta["leading"] = f"highest total degree in {', '.join(map(str, grow)) or 'the sizes'} (floors dropped)"
    click.echo(render(rows, fmt, meta))


@cli.command()
@click.argument("names", nargs=-1, required=True)
@click.option("--shape", type=ShapeType(), required=True, help="CxHxW or NxCxHxW, e.g. 256x14x14")
@click.option("--hp", "hps", multiple=True, metavar="NAME.KEY=VALUE", help="set a module's hyperparameter")
@click.option("--dtype", type=click.Choice(list(DTYPE_BYTES)), default="float32", show_default=True,
              help="element type for memory in bytes")
@CONVENTION
@FORMAT
def compare(names, shape, hps, dtype, convention, fmt):
    """Compare the costs of NAMES at one input shape; ratios are to the first module."""
    from ..graph.document import document

    rows = api.compare(names, shape, api.parse_hp_assignments(hps, scoped=True), convention, dtype)
    click.echo(render_result(document("compare", shape=shape, convention=convention, dtype=dtype, rows=rows,
                                      group_by="module"), fmt))


@cli.command()
@click.argument("module_a")
@click.argument("module_b")
@click.option("--shape", type=ShapeType(allow_symbols=True), required=True,
              help="fixed sizes, the varied ones as letters, e.g. 1024xHxW")
@click.option("--vary", type=DomainChoice(lambda: _crossover().VARY), default="H=W", show_default=True)
@click.option("--metric", type=DomainChoice(lambda: _crossover().METRICS), default="macs", show_default=True)
@click.option("--range", "value_range", nargs=2, type=Integer(1), default=(1, 1024), show_default=True,
              help="integer range of the varied size: LO HI, 1 <= LO < HI <= 2^31, at most 65,536 sizes")
@click.option("--hp", "hps", multiple=True, metavar="NAME.KEY=VALUE", help="set a module's hyperparameter")
@CONVENTION
@FORMAT
def crossover(module_a, module_b, shape, vary, metric, value_range, hps, convention, fmt):
    """Where MODULE_A and MODULE_B cost the same as one size grows, and which is cheaper on each side."""
    from ..crossover import crossover as solve

    raw = api.parse_hp_assignments(hps, scoped=True)
    hp = {name: api.typed_hp(catalogue.get(name), values) for name, values in raw.items()}
    result = solve(module_a, module_b, shape, vary, metric, convention, hp, *value_range)
    rows = [{"from": lo, "to": hi, "cheaper": who} for lo, hi, who in result.segments]
    click.echo(render(rows, fmt, {
        "metric": metric if metric != "flops" else f"flops ({convention})", "vary": vary,
        "crossing": ", ".join(f"{vary.split('=')[0]} = {p}" for p in result.points) or "none in range",
        "real roots (floors dropped)": ", ".join(f"{r:.4g}" for r in result.symbolic_roots) or "none",
        **({f"{module_a} - {module_b} (t = {vary})": sympy.sstr(result.difference),
            "inequality": f"{module_a} costs more than {module_b} when {sympy.sstr(result.difference)} > 0"}
           if result.difference is not None else {})}))


@cli.command()
@click.argument("network")
@click.option("--attn", "attn", default="", metavar="NAME[,NAME]", help="attention module(s) to insert")
@click.option("--where", type=DomainChoice(lambda: _networks().POLICIES), default="every_block",
              show_default=True, help="insertion policy for --attn")
@click.option("--stages", default="1,2,3,4", show_default=True, help="stages (1..4) that get attention")
@click.option("--blocks", default="", help="block indices for --where after_blocks, e.g. 1,3,5")
@click.option("--shape", type=ShapeType(inputs=True), default=None,
              help="input CxHxW or NxCxHxW [default: 3x224x224]; FILE.py:FN: any rank (196x768), several inputs "
                   "comma-separated, each as written, a dtype each if not --dtype (1x3x224x224,1x77:int64) "
                   "[default: the example inputs FN returns, else 3x224x224]")
@click.option("--group-by", type=DomainChoice(lambda: _graph().GROUP_BY), default="stage", show_default=True)
@click.option("--graphml", type=click.Path(dir_okay=False), help="also write the op graph as GraphML")
@click.option("--depth", type=click.IntRange(min=1), metavar="K",
              help="per-module table down to depth K (parents sum their children); shown instead of the "
                   "breakdown, which stays in JSON's rows")
@click.option("--dtype", "network_dtype", type=click.Choice(list(DTYPE_BYTES)), default=None,
              help="element type for memory in bytes [default: float32; FILE.py:FN: the model's]")
@click.option("--strict", is_flag=True,
              help="exit with code 3 when the totals are incomplete (aten ops without a formula)")
@click.option("--fake/--no-fake", default=None,
              help="FILE.py:FN: count on FakeTensors (no allocation, no arithmetic, the same numbers) "
                   "[default: when the inputs have more than 2^20 elements]")
@_user_options
@CONVENTION
@FORMAT
def network(network, attn, where, stages, blocks, shape, group_by, graphml, depth, network_dtype, strict,
            fake, attention_modules, mode, exact_shape, convention, fmt):
    """Cost of a whole network, with attention inserted by policy and a breakdown.

    NETWORK is a reference network (resnet50, resnet50-v1, mobilenet-v2, vit-b16, ...), a spec file, or
    your own model as FILE.py:FUNCTION (which returns an nn.Module; traced, imports torch). Breakdown
    by stage, block, module kind or op kind; --depth K gives one row per module instead.

    Where the model ran aten ops attncost has no formula for, the totals undercount: every format
    says so (JSON: incomplete, unsupported_ops) and --strict makes the exit code 3."""
    from .. import networks
    from ..cost import Program
    from ..graph import walk

    check_outputs([("--graphml", graphml)], [("NETWORK", _input_file(network))])
    if _is_user_model(network):
        return _user_network(network, attn, shape, group_by, graphml, convention, fmt, depth=depth,
                             dtype=network_dtype, strict=strict, fake=fake, mode=mode, exact_shape=exact_shape,
                             attention_modules=_patterns(attention_modules))
    for given, option in ((fake is not None, "--fake"), (attention_modules, "--attention-modules"),
                          (mode != MODES[0], "--mode"), (exact_shape, "--exact-shape")):
        if given:
            raise AttncostError(f"{option} applies to your own model (FILE.py:FN), not to {network}")
    shape = parse_shape(shape or "3x224x224")
    if network.endswith((".yaml", ".yml")):
        spec = networks.load_spec(network)
    else:
        spec = networks.definition(network)
    if attn:
        stage_list = tuple(parse_int(s, f"--stages {stages!r}: {s!r}", error=AttncostError)
                           for s in stages.split(",") if s.strip())
        block_list = tuple(parse_int(b, f"--blocks {blocks!r}: {b!r}", error=AttncostError)
                           for b in blocks.split(",") if b.strip())
        if not stage_list:
            raise AttncostError(f"--stages {stages!r} names no stage: give comma-separated stages, e.g. 3,4")
        placements = [networks.placement_from_dict({"module": name, "where": where, "stages": list(stage_list),
                                                     **({"blocks": list(block_list)} if block_list else {})},
                                                    "--attn") for name in attn.split(",")]
        spec = networks.with_attention(spec, list(spec.attention) + placements)
    if shape[1] != 3:
        raise AttncostError(f"--shape {format_shape(shape)}: the reference networks take 3 input channels")
    g = Program()
    result = walk(g, networks.forward(g, g.input(shape), spec))
    _print_network(result, spec.name, shape, group_by, graphml, convention, fmt, _paper_note(spec, shape, result),
                   depth=depth, dtype=network_dtype or "float32")


def _input_file(network: str):
    """The file NETWORK reads, if it names one (a spec file, or FILE.py of FILE.py:FN)."""
    if _is_user_model(network):
        return network.rsplit(":", 1)[0]
    return network if network.endswith((".yaml", ".yml")) else None


def _paper_note(spec, shape, result) -> dict:
    """Why a ResNet's number may differ from a paper's: the stride placement (v1 or torchvision's
    v1.5) and the convention; the other variant's MACs are walked so the note can say by how much."""
    from .. import networks
    from ..cost import Program

    if getattr(spec, "stride_on", None) not in ("1x1", "3x3") or getattr(spec, "block", None) != "bottleneck":
        return {}                     # a basic block has no 1x1 to move the stride to
    other = type(spec)(**{**spec.__dict__, "stride_on": "1x1" if spec.stride_on == "3x3" else "3x3"})
    g = Program()
    other_macs = int(g.finish(networks.forward(g, g.input(shape), other)).macs)
    here = "the first 1x1 (the original ResNet, as the SE/CBAM/BAM/GC papers used)" if spec.stride_on == "1x1" \
        else "the 3x3 (torchvision's v1.5)"
    return {"note": f"stride on {here}; with it on the {'3x3' if spec.stride_on == '1x1' else 'first 1x1'} "
                    f"MACs would be {other_macs:,} ({(other_macs - int(result.total.macs)) / 1e9:+.3f} G). Papers of "
                    f"that era print conv+FC MACs as 'GFLOPs': compare with --convention macs"}


def _user_network(reference, attn, shape, group_by, graphml, convention, fmt, depth=None, dtype=None, strict=False,
                  fake=None, mode="eval", exact_shape=False, attention_modules=()):
    """``attncost network FILE.py:FN``: a user's own model, counted by the tracer (imports torch)."""
    from ..usermodels import analyze, load_model, naming

    if attn:
        raise AttncostError("--attn applies to reference networks; put attention in your own model")
    model, example = load_model(reference, with_inputs=True)
    inputs = shape or (example if example is not None else "3x224x224")
    with naming(reference):
        analysis = analyze(model, inputs, fake=fake, dtype=dtype, mode=mode, exact_shape=exact_shape,
                           attention_modules=attention_modules)
    shape = analysis.inputs[0][0]
    extra = {"inputs": format_inputs(analysis.inputs), "mode": analysis.mode, "fake_tensors": analysis.fake}
    where = getattr(analysis, "module_name", lambda scope: scope)
    for op, (calls, scope) in sorted(analysis.unsupported.items()):
        click.echo(f"Warning: no formula for {op} (x{calls}, first in {where(scope) if scope else '<top>'}): "
                   "not counted", err=True)
    _print_network(analysis.network, reference, shape, group_by, graphml, convention, fmt,
                   {"traced_with": analysis.method, **extra}, depth=depth, dtype=getattr(analysis, "dtype", "float32"),
                   names=getattr(analysis, "modules", None), root_type="model",
                   unsupported=analysis.unsupported, where=where, strict=strict)


def _print_network(result, name, shape, group_by, graphml, convention, fmt, extra=None, *, depth=None,
                   dtype="float32", names=None, root_type="network", unsupported=None, where=lambda scope: scope,
                   strict=False):
    """Print a walked network's result document (docs/JSON.md); --strict: exit 3 if it is incomplete."""
    from ..graph.document import document, share, totals, unsupported_ops

    nbytes = DTYPE_BYTES.get(dtype, 4)
    rows = [{k: (v if k == group_by else _number(v)) for k, v in row.items()}
            for row in result.breakdown(group_by, convention)]
    modules = None
    if depth is not None:
        from ..graph.modules import module_table

        modules = [row.as_dict(convention, nbytes) for row in module_table(result, depth, names, root_type)]
    doc = document("network", network=name, shape=shape, convention=convention, dtype=dtype, group_by=group_by,
                   rows=rows, total=totals(result.total, convention, nbytes),
                   attention_share=share(result, convention), modules=modules,
                   unsupported=unsupported_ops(unsupported or {}, where), **(extra or {}))
    if graphml:
        import networkx as nx

        graph = result.graph.copy()
        for _, data in graph.nodes(data=True):
            data["counts"] = ";".join(f"{k}={v}" for k, v in data["counts"].items())
            for key in ("params", "macs", "elements"):
                data[key] = int(data[key])
        atomic_write(graphml, "\n".join(nx.generate_graphml(graph)), "--graphml")
    click.echo(render_result(doc, fmt))
    if strict and doc["incomplete"]:
        sys.exit(3)


def _number(value):
    try:
        return int(value)
    except TypeError:
        return value


@cli.command()
@click.argument("spec", required=False, type=click.Path(dir_okay=False))
@click.option("-o", "--output", type=click.Path(dir_okay=False),
              help="the HTML file to write (default: reports/SPEC_NAME.html)")
@click.option("--modules", default="", metavar="NAME[,NAME]", help="without a SPEC: modules to compare")
@click.option("--shape", "shapes", type=ShapeType(), multiple=True, help="without a SPEC: a shape (repeatable)")
@click.option("--networks", "network_names", default="", metavar="NAME[,NAME]", help="without a SPEC: networks")
@click.option("--lut", type=click.Path(exists=True, dir_okay=False), help="without a SPEC: a latency LUT to show")
@click.option("--measurements", type=click.Path(exists=True, dir_okay=False),
              help="without a SPEC: 'attncost lut validate --report' output to plot against the estimates")
@click.option("--convention", type=click.Choice([c.value for c in Convention]), default="macs", show_default=True,
              help="without a SPEC: the FLOP convention of the tables (a SPEC names its own)")
@click.option("--title", help="without a SPEC: the page title")
def report(spec, output, modules, shapes, network_names, lut, measurements, convention, title):
    """Render an offline HTML design report from a report SPEC (YAML, e.g. specs/attention-review.yaml)
    or from --modules/--shape/--networks: summary tables, MathML formulas, cost versus resolution with
    crossovers, cost by op kind, memory, network sunbursts and attention share, LUT heatmaps."""
    import os

    from ..report import build_report, load_report_spec, spec_from_options

    if spec and (modules or shapes or network_names or lut or measurements or title):
        raise AttncostError("give either a SPEC file or --modules/--shape/--networks/--lut/--measurements/--title, "
                            "not both")
    if spec:
        report_spec = load_report_spec(spec)
    elif modules or network_names or lut or measurements:
        if modules and not shapes:
            raise AttncostError("--modules needs at least one --shape")
        report_spec = spec_from_options([m for m in modules.split(",") if m], list(shapes), convention,
                                        [n for n in network_names.split(",") if n], title, lut, measurements)
    else:
        raise AttncostError("give a report SPEC file, or --modules with --shape (or --networks)")
    if output is None:
        name = os.path.splitext(os.path.basename(spec))[0] if spec else "report"
        output = os.path.join("reports", f"{name}.html")
    check_outputs([("-o", output)], [("SPEC", spec), ("--lut", lut), ("--measurements", measurements),
                                     *(("a file the spec names", path) for path in report_spec.inputs)])

    def progress(step, total, description):
        click.echo(f"[{step}/{total}] {description}", err=True)

    atomic_write(output, build_report(report_spec, progress), "-o")
    click.echo(f"wrote {output}", err=True)


@cli.command()
@click.argument("names", nargs=-1)
@click.option("--samples", default=50, show_default=True, type=Integer(1, MAX_SAMPLES),
              help=f"random configurations per entry (1 to {MAX_SAMPLES:,})")
@click.option("--seed", default=0, show_default=True)
@click.option("--symbolic/--no-symbolic", default=True, show_default=True,
              help="also prove the formula against a FakeTensor trace with symbolic N, H, W "
                   "(a dense grid of H, W where torch cannot trace the module symbolically)")
@FORMAT
def verify(names, samples, seed, symbolic, fmt):
    """Prove catalogue formulas equal to what the reference PyTorch code executes (imports torch).

    Exits 1 if any entry mismatches."""
    from ..verify import verify_entry

    entries = [catalogue.get(n) for n in names] if names else catalogue.entries()
    rows, failed = [], []
    for i, entry in enumerate(entries, 1):
        click.echo(f"[{i}/{len(entries)}] verifying {entry.name} ...", err=True)
        report = verify_entry(entry, samples=samples, seed=seed, symbolic=symbolic)
        rows.append({"module": entry.name, "configs": report.configs, "mismatches": len(report.mismatches),
                     "unsupported_ops": ", ".join(sorted(report.unsupported)) or "-",
                     "proof": report.route, "symbolic": report.symbolic,
                     "result": "pass" if report.passed else "FAIL"})
        if not report.passed:
            failed.append(report)
    click.echo(render(rows, fmt))
    for report in failed:
        for line in report.mismatches[:5]:
            click.echo(f"  {line}", err=True)
    if failed:
        sys.exit(1)


from .lut import lut as lut_group; cli.add_command(lut_group)  # noqa: E402,E702 (attncost lut)


def main():
    cli(prog_name="attncost")
