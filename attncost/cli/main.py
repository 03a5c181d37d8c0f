"""``attncost``: what an attention module costs before you train it.

Each command is a small function whose docstring is its help. Errors users can cause
(:class:`attncost.errors.AttncostError`) become one line on stderr and exit code 2.
torch is imported only by the commands that run real PyTorch (``verify``).
"""

from __future__ import annotations

import sys

import click
import sympy

from .. import api, catalogue
from ..cost import Convention
from ..errors import AttncostError
from ..format import FORMATS, render
from ..shapes import format_shape, parse_shape


class ShapeType(click.ParamType):
    """CxHxW or NxCxHxW, positive integers."""

    name = "SHAPE"

    def __init__(self, allow_symbols: bool = False):
        self.allow_symbols = allow_symbols

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        try:
            return parse_shape(value, self.allow_symbols)
        except AttncostError as error:
            self.fail(str(error), param, ctx)


class Group(click.Group):
    """Turns user errors (ours and click's usage errors) into one line and exit code 2."""

    def main(self, *args, **kwargs):
        kwargs["standalone_mode"] = False
        try:
            return super().main(*args, **kwargs)
        except (AttncostError, click.UsageError) as error:
            message = error.format_message() if isinstance(error, click.ClickException) else str(error)
            click.echo(f"Error: {message}", err=True)
            sys.exit(2)
        except click.exceptions.Abort:
            click.echo("Aborted.", err=True)
            sys.exit(1)


CONVENTION = click.option("--convention", type=click.Choice([c.value for c in Convention]), default="full",
                          show_default=True, help="how op counts are weighed into FLOPs (docs/CONVENTIONS.md)")
FORMAT = click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True,
                      help="output format")


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="attncost")
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
@CONVENTION
@FORMAT
def formula(name, hps, leading, latex, convention, fmt):
    """Symbolic formulas of NAME in N, C, H, W and its symbolic hyperparameters."""
    entry = catalogue.get(name)
    hp = api.typed_hp(entry, api.parse_hp_assignments(hps, scoped=False))
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


@cli.command()
@click.argument("names", nargs=-1, required=True)
@click.option("--shape", type=ShapeType(), required=True, help="CxHxW or NxCxHxW, e.g. 256x14x14")
@click.option("--hp", "hps", multiple=True, metavar="NAME.KEY=VALUE", help="set a module's hyperparameter")
@click.option("--dtype", type=click.Choice(list(api.DTYPE_BYTES)), default="float32", show_default=True,
              help="element type for memory in bytes")
@CONVENTION
@FORMAT
def compare(names, shape, hps, dtype, convention, fmt):
    """Compare the costs of NAMES at one input shape; ratios are to the first module."""
    rows = api.compare(names, shape, api.parse_hp_assignments(hps, scoped=True), convention, dtype)
    meta = {"shape": format_shape(shape), "convention": convention, "dtype": dtype}
    click.echo(render(rows, fmt, meta))


@cli.command()
@click.argument("module_a")
@click.argument("module_b")
@click.option("--shape", type=ShapeType(allow_symbols=True), required=True,
              help="fixed sizes, the varied ones as letters, e.g. 1024xHxW")
@click.option("--vary", type=click.Choice(["H=W", "H", "W", "C", "N"]), default="H=W", show_default=True)
@click.option("--metric", type=click.Choice(["macs", "flops", "params", "peak", "attention-map", "activation"]),
              default="macs", show_default=True)
@click.option("--range", "value_range", nargs=2, type=int, default=(1, 1024), show_default=True,
              help="integer range of the varied size")
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
@click.option("--where", type=click.Choice(["every_block", "after_stage", "after_blocks"]), default="every_block",
              show_default=True, help="insertion policy for --attn")
@click.option("--stages", default="1,2,3,4", show_default=True, help="stages (1..4) that get attention")
@click.option("--blocks", default="", help="block indices for --where after_blocks, e.g. 1,3,5")
@click.option("--shape", type=ShapeType(), default="3x224x224", show_default=True, help="input CxHxW or NxCxHxW")
@click.option("--group-by", type=click.Choice(["stage", "block", "kind", "op"]), default="stage", show_default=True)
@click.option("--graphml", type=click.Path(dir_okay=False), help="also write the op graph as GraphML")
@CONVENTION
@FORMAT
def network(network, attn, where, stages, blocks, shape, group_by, graphml, convention, fmt):
    """Cost of a whole network, with attention inserted by policy and a breakdown.

    NETWORK is a reference network (resnet50, resnet50-v1, mobilenet-v2, vit-b16, ...), a spec file, or
    your own model as FILE.py:FUNCTION (which returns an nn.Module; traced, imports torch). Breakdown
    by stage, block, module kind or op kind."""
    from .. import networks
    from ..cost import Program
    from ..graph import walk

    if ".py:" in network:
        return _user_network(network, attn, shape, group_by, graphml, convention, fmt)
    if network.endswith((".yaml", ".yml")):
        spec = networks.load_spec(network)
    else:
        spec = networks.get_network(network)
    if attn:
        try:
            stage_list = tuple(int(s) for s in stages.split(",") if s)
            block_list = tuple(int(b) for b in blocks.split(",") if b)
        except ValueError:
            raise AttncostError("--stages and --blocks take comma-separated integers") from None
        placements = [networks.placement_from_dict({"module": name, "where": where, "stages": list(stage_list),
                                                     **({"blocks": list(block_list)} if block_list else {})},
                                                    "--attn") for name in attn.split(",")]
        spec = networks.with_attention(spec, list(spec.attention) + placements)
    if shape[1] != 3:
        raise AttncostError(f"--shape {format_shape(shape)}: the reference networks take 3 input channels")
    g = Program()
    result = walk(g, networks.run_network(g, g.input(shape), spec))
    _print_network(result, spec.name, shape, group_by, graphml, convention, fmt, _paper_note(spec, shape, result))


def _paper_note(spec, shape, result) -> dict:
    """Why a ResNet's number may differ from a paper's: the stride placement (v1 or torchvision's
    v1.5) and the convention; the other variant's MACs are walked so the note can say by how much."""
    from .. import networks
    from ..cost import Program

    if getattr(spec, "stride_on", None) not in ("1x1", "3x3"):
        return {}
    other = type(spec)(**{**spec.__dict__, "stride_on": "1x1" if spec.stride_on == "3x3" else "3x3"})
    g = Program()
    other_macs = int(g.finish(networks.run_network(g, g.input(shape), other)).macs)
    here = "the first 1x1 (the original ResNet, as the SE/CBAM/BAM/GC papers used)" if spec.stride_on == "1x1" \
        else "the 3x3 (torchvision's v1.5)"
    return {"note": f"stride on {here}; with it on the {'3x3' if spec.stride_on == '1x1' else 'first 1x1'} "
                    f"MACs would be {other_macs:,} ({(other_macs - int(result.total.macs)) / 1e9:+.3f} G). Papers of "
                    f"that era print conv+FC MACs as 'GFLOPs': compare with --convention macs"}


def _user_network(reference, attn, shape, group_by, graphml, convention, fmt):
    """``attncost network FILE.py:FN``: a user's own model, counted by the tracer (imports torch)."""
    from ..usermodels import analyze, load_model

    if attn:
        raise AttncostError("--attn applies to reference networks; put attention in your own model")
    analysis = analyze(load_model(reference), shape)
    for op, (calls, scope) in sorted(analysis.unsupported.items()):
        click.echo(f"Warning: no formula for {op} (x{calls}, first in {scope}): not counted", err=True)
    _print_network(analysis.network, reference, shape, group_by, graphml, convention, fmt,
                   {"traced with": analysis.method,
                    "unsupported ops": ", ".join(sorted(analysis.unsupported)) or "none"})


def _print_network(result, name, shape, group_by, graphml, convention, fmt, extra=None):
    rows = [{k: (int(v) if k != group_by else v) for k, v in row.items()} for row in result.breakdown(group_by, convention)]
    total = result.total
    share = result.attention_share(convention)
    meta = {"network": name, "shape": format_shape(shape), "convention": convention,
            "params": f"{int(total.params):,}", "macs": f"{int(total.macs):,}",
            "peak_live_elements": f"{int(total.peak_live_elements):,}",
            "attention share (flops)": f"{float(share['flops_share']):.2%}", **(extra or {})}
    if graphml:
        import networkx as nx

        graph = result.graph.copy()
        for _, data in graph.nodes(data=True):
            data["counts"] = ";".join(f"{k}={v}" for k, v in data["counts"].items())
            for key in ("params", "macs", "elements"):
                data[key] = int(data[key])
        atomic_write(graphml, "\n".join(nx.generate_graphml(graph)))
    click.echo(render(rows, fmt, meta))


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
    folder = os.path.dirname(os.path.abspath(output))
    if not os.path.isdir(folder):
        raise AttncostError(f"-o {output}: folder {folder} does not exist")

    def progress(step, total, description):
        click.echo(f"[{step}/{total}] {description}", err=True)

    atomic_write(output, build_report(report_spec, progress))
    click.echo(f"wrote {output}", err=True)


def atomic_write(path: str, text: str) -> None:
    """Write ``text`` to ``path`` via a temporary file and a rename: never a half-written file."""
    import os
    import tempfile

    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".attncost-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)           # mkstemp's 0600 would make reports private
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


@cli.command()
@click.argument("names", nargs=-1)
@click.option("--samples", default=50, show_default=True, help="random configurations per entry")
@click.option("--seed", default=0, show_default=True)
@click.option("--symbolic/--no-symbolic", default=True, show_default=True,
              help="also prove the formula against a FakeTensor trace with symbolic N, H, W")
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
                     "symbolic": report.symbolic, "result": "pass" if report.passed else "FAIL"})
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
