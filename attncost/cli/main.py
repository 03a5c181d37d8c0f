"""``attncost``: what an attention module costs before you train it.

Each command is a small function whose docstring is its help. Errors users can cause
(:class:`attncost.errors.AttncostError`) become one line on stderr and exit code 2.
torch is imported only by the commands that run real PyTorch (``verify``).
"""

from __future__ import annotations

import contextlib
import functools
import os
import signal
import sys
import traceback

import click

from .. import api, catalogue
from ..cost import Convention
from ..cost.training_cost import PRECISIONS, Optimizer
from ..errors import AttncostError, one_line
from ..format import DATA_FORMATS, FORMATS, UNITS, OutputStyle, render, render_result
from ..io import atomic_write, check_outputs
from ..numbers import parse_int
from ..shapes import DTYPE_BYTES, check_channels_first, format_inputs, format_shape, parse_inputs, parse_shape
from .choices import DomainChoice, case_insensitive
from .numbers import Integer
from .once import options_once
from .progress import Progress


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
        if ctx is not None and param is not None:          # as typed, for the channels-last guard's message
            ctx.meta.setdefault("attncost.shape_texts", {}).setdefault(param.name, []).append(value)
        try:
            if self.inputs:
                parse_inputs(value, self.allow_symbols)
                return value
            return parse_shape(value, self.allow_symbols)
        except AttncostError as error:
            self.fail(str(error), param, ctx)


def _crossover():
    """The modules whose constants the options below offer, imported when click needs them."""
    from .. import crossings as crossover

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
        click.option("--exact-shape", is_flag=True,
                     help="FILE.py:FN: take a single 3-dim --shape as the full input shape (no batch of 1 added)"),
    ]):
        command = option(command)
    return command


MODE = click.option("--mode", type=click.Choice(api.MODES), default=api.MODES[0], show_default=True,
                    help="eval: the inference forward; train: one training step beside it (forward, backward, "
                         "gradients, optimizer state; docs/TRAINING.md); train-forward: FILE.py:FN's train-mode "
                         "forward alone (dropout, batch-norm statistics)")


def TRAINING(command):  # noqa: N802 (a decorator, named like the options above)
    """``--mode`` and the training step's options, handed to the command as ``mode`` and ``training``
    (an :class:`attncost.crossings.TrainingOptions`, None unless ``--mode train``). A training option
    given without ``--mode train`` is an error: it would do nothing."""
    @functools.wraps(command)
    def with_training(*args, mode, optimizer, precision, checkpoint, train_only, **kwargs):
        given = [option for name, option in (("optimizer", "--optimizer"), ("precision", "--precision"),
                                             ("checkpoint", "--checkpoint"), ("train_only", "--train-only"))
                 if _given(name)]
        if mode != "train":
            if given:
                raise AttncostError(f"{given[0]} applies to the training step (--mode train); --mode {mode} counts a "
                                    "forward: give --mode train, or leave it out")
            return command(*args, mode=mode, training=None, **kwargs)
        training = api.training_options(mode, optimizer, precision, _patterns(checkpoint, "--checkpoint"),
                                         _patterns(train_only, "--train-only"))
        return command(*args, mode=mode, training=training, **kwargs)

    for option in reversed([
        MODE,
        click.option("--optimizer", type=click.Choice([o.value for o in Optimizer]), default="sgd",
                     show_default=True, help="--mode train: the optimizer whose state is counted (sgd keeps none, "
                                             "momentum 1, adam and adamw 2 values per trainable parameter)"),
        click.option("--precision", type=click.Choice(list(PRECISIONS)), default="fp32", show_default=True,
                     help="--mode train: fp32, or bf16/fp16 activations, parameters and gradients with fp32 master "
                          "weights and optimizer state"),
        click.option("--checkpoint", multiple=True, metavar="SCOPE[,SCOPE]",
                     help="--mode train: recompute SCOPE in backward instead of saving its activations (a scope "
                          "such as stage4/block2/attention:nonlocal; FILE.py:FN: a submodule name, layer4.0) "
                          "(repeatable)"),
        click.option("--train-only", "train_only", multiple=True, metavar="PATTERN[,PATTERN]",
                     help="--mode train: only the parameters under scopes matching PATTERN train (fnmatch, e.g. "
                          "'attention:*' or 'stage4*'; FILE.py:FN: module names, 'layer4.*'); the rest is "
                          "frozen (repeatable)"),
    ]):
        with_training = option(with_training)
    return with_training


def _training_kwargs(training) -> dict:
    """The API's keyword arguments for a step's options (nothing without ``--mode train``)."""
    if training is None:
        return {}
    return {"mode": "train", "optimizer": training.optimizer.value, "precision": training.precision.name,
            "checkpoint": training.checkpoint, "train_only": training.train_only}


def _patterns(values, option: str = "a pattern option") -> tuple:
    """Patterns listed either way (``--checkpoint a,b`` or ``--checkpoint a --checkpoint b``); an
    empty one (``''``, ``a,,b``) would name nothing and do nothing, so it is an error."""
    patterns = []
    for value in values:
        parts = [p.strip() for p in value.split(",")]
        if not all(parts):
            raise AttncostError(f"{option} {value!r} holds an empty pattern: give module or scope names, e.g. "
                                f"{option} 'attention:*'")
        patterns.extend(parts)
    return tuple(patterns)


def _given(name: str) -> bool:
    """Whether the option whose parameter is ``name`` was given (command line or environment), not
    left at its default: an option given where it would do nothing is an error."""
    source = click.get_current_context().get_parameter_source(name)
    return source in (click.core.ParameterSource.COMMANDLINE, click.core.ParameterSource.ENVIRONMENT)


def _names(values, what: str) -> list:
    """Names listed either way, ``se eca cbam`` or ``se,eca,cbam`` (or ``--attn se,eca --attn cbam``):
    one grammar wherever a command takes several. A ``FILE.py:FN`` is one name, never split."""
    names = []
    for value in values:
        parts = [value.strip()] if _is_user_model(value) else [part.strip() for part in value.split(",")]
        if not all(parts):
            raise AttncostError(f"{what} {value!r} has an empty name: list names as 'se eca' or 'se,eca'")
        names += parts
    return names


def _shape_texts(name: str = "shape") -> list:
    """The values of the shape option ``name`` as typed (:class:`ShapeType` records them)."""
    return click.get_current_context().meta.get("attncost.shape_texts", {}).get(name, [])


CHANNELS_LAST_OK = click.option("--channels-last-ok", "channels_last_ok", is_flag=True,
                                help="take a --shape that looks channels-last (HxWxC such as 14x14x256 or "
                                     "224x224x3) as written, as CxHxW, instead of refusing it")


def _check_channels_first(texts, channels_last_ok: bool) -> None:
    """The channels-last guard (:func:`attncost.shapes.channels_last_guess`) on the image shapes typed;
    ``--channels-last-ok`` takes them as written, and is an error where no shape needs it."""
    if not channels_last_ok:
        for text in texts:
            check_channels_first(text, "--shape", "--channels-last-ok")
        return
    for text in texts:
        try:
            check_channels_first(text)
        except AttncostError:
            return
    shown = " ".join(texts) or "none"
    raise AttncostError(f"--channels-last-ok has no effect: no --shape ({shown}) looks channels-last; leave it out")


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
TEXT_FORMAT = click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True,
                           help="output format")


def FORMAT(command):  # noqa: N802 (a decorator, named like the options above)
    """``--format`` and ``--units``, handed to the command as one :class:`attncost.format.OutputStyle`
    (its ``fmt``), for commands that print counts or bytes. ``--units`` given with JSON or CSV, which
    always carry exact integers, is an error: it would do nothing."""
    @functools.wraps(command)
    def with_style(*args, fmt, units, **kwargs):
        style = OutputStyle(fmt, units)
        if style.format in DATA_FORMATS and _given("units"):
            raise AttncostError(f"--units {units} has no effect with --format {fmt} (JSON and CSV always carry "
                                f"exact integers)")
        return command(*args, fmt=style, **kwargs)

    units = click.option("--units", type=click.Choice(UNITS), default=UNITS[0], show_default=True,
                         help="table and markdown: human (K, M, G; KiB, MiB, GiB) or exact (every digit)")
    return TEXT_FORMAT(units(with_style))


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="attncost")
@click.option("--debug", is_flag=True, is_eager=True, expose_value=False, callback=_debug,
              help="on an error, print the full traceback too (for bug reports); also ATTNCOST_DEBUG=1")
def cli():
    """Exact parameters, MACs, FLOPs and memory of CV attention modules, proven against PyTorch."""


@cli.command("list")
@click.argument("pattern", required=False)
@click.option("--family", type=click.Choice(list(catalogue.FAMILIES)), help="only this family")
@click.option("--networks", "network_list", is_flag=True,
              help="list the reference networks instead (params and MACs at 3x224x224, reported top-1)")
@TEXT_FORMAT
def list_command(pattern, family, network_list, fmt):
    """List catalogue entries (optionally matching a wildcard PATTERN such as 'se*'), by family;
    --networks: the reference networks `attncost network NAME` walks."""
    if network_list:
        if family:
            raise AttncostError(f"--family {family} is a catalogue family and has no effect with --networks; "
                                "leave one of them out")
        click.echo(render(api.reference_networks(pattern), fmt, {"shape": "1x3x224x224"}, cut_texts=True))
        return
    rows = [{"family": e.family, "name": e.name, "aliases": ", ".join(e.aliases), "summary": e.summary,
             "paper": f"{e.paper.title} ({e.paper.venue})"} for e in catalogue.entries(pattern, family)]
    if not rows:
        raise AttncostError(f"no catalogue entry matches {pattern!r}")
    click.echo(render(rows, fmt, cut_texts=True))


@cli.command()
@click.argument("name")
@click.option("--hp", "hps", multiple=True, metavar="[NAME.]KEY=VALUE",
              help="fix a hyperparameter, e.g. k=5 or eca.k=5 (repeatable)")
@click.option("--leading", is_flag=True, help="show only the dominant term as H, W grow")
@click.option("--latex", is_flag=True, help="print LaTeX instead of plain expressions")
@click.option("--shape", type=ShapeType(allow_symbols=True, inputs=True), default=None,
              help="FILE.py:FN: the input with letters for the sizes that stay symbolic, e.g. 3xHxW, "
                   "NxCxHxW, 1xLx768 (with --exact-shape)")
@click.option("--hint", "hints", multiple=True, metavar="LETTER=VALUE",
              help="FILE.py:FN: the size a letter is traced at [default: N=2, others 224]")
@_user_options
@MODE
@CONVENTION
@TEXT_FORMAT
def formula(name, hps, leading, latex, shape, hints, attention_modules, exact_shape, mode, convention, fmt):
    """Symbolic formulas of NAME in N, C, H, W and its symbolic hyperparameters.

    NAME may be your own model, FILE.py:FUNCTION with --shape 3xHxW: its params, MACs, FLOPs and
    memory as expressions in the shape's letters, traced once on FakeTensors with symbolic sizes
    (imports torch)."""
    if mode == "train":
        raise AttncostError("--mode train: formula gives one forward's expressions; the training step is "
                            "compare, network, crossover and fit --mode train (FILE.py:FN: --mode train-forward "
                            "for the train-mode forward)")
    if _is_user_model(name):
        return _user_formula(name, shape, hints, hps, leading, latex, attention_modules,
                             "train" if mode == "train-forward" else mode, exact_shape, convention, fmt)
    for given, option in ((shape, "--shape"), (hints, "--hint"), (attention_modules, "--attention-modules"),
                          (_given("mode"), "--mode"), (exact_shape, "--exact-shape")):
        if given:
            raise AttncostError(f"{option} applies to your own model (FILE.py:FN); {name} is a catalogue entry")
    entry = catalogue.get(name)
    hp = api.parse_hp_assignments(hps, modules=[entry.name]).get(entry.name, {})
    click.echo(api.formula(entry.name, hp=hp, convention=convention).render(fmt, leading, latex))


def _check_exact_shape(shape, exact_shape: bool, allow_symbols: bool = False) -> None:
    """``--exact-shape`` changes only a single 3-dim --shape (no batch of 1 added): with any other it
    would do nothing."""
    if exact_shape and shape is not None:
        inputs = parse_inputs(shape, allow_symbols, exact=True)
        if len(inputs) != 1 or len(inputs[0][0]) != 3:
            raise AttncostError(f"--exact-shape has no effect with --shape {shape}: only a single 3-dim shape gets "
                                "a batch of 1 added (several inputs, or another rank, are taken as written); leave "
                                "it out")


def _user_formula(reference, shape, hints, hps, leading, latex, attention_modules, mode, exact_shape, convention,
                  fmt):
    """``attncost formula FILE.py:FN --shape 3xHxW``: a user's model's cost in the shape's letters."""
    if hps:
        raise AttncostError("--hp applies to catalogue entries; your own model fixes its own hyperparameters")
    if shape is None:
        raise AttncostError(f"{reference}: give --shape with letters for the symbolic sizes, e.g. --shape 3xHxW")
    _check_exact_shape(shape, exact_shape, allow_symbols=True)
    letters = {str(size) for dims, _ in parse_inputs(shape, True, exact_shape) for size in dims
               if not isinstance(size, int)}
    values = {}
    for item in hints:
        letter, _, value = item.partition("=")
        if not (len(letter.strip()) == 1 and letter.strip().isascii() and letter.strip().isalpha()):
            raise AttncostError(f"--hint {item!r} must be LETTER=VALUE with VALUE >= 2, e.g. H=512")
        letter = letter.strip().upper()
        if letter not in letters:
            raise AttncostError(f"--hint {item!r}: {letter} is not a letter of --shape {shape} (its letters: "
                                f"{', '.join(sorted(letters)) or 'none'}), so the hint would do nothing")
        if letter in values:
            raise AttncostError(f"--hint {letter} is given twice: give it once")
        values[letter] = parse_int(value, f"--hint {item!r}", minimum=2, error=AttncostError)
    with _user_prints_to_stderr():
        result = api.formula(reference, shape, values, mode=mode,
                             attention_modules=_patterns(attention_modules, "--attention-modules"),
                             exact_shape=exact_shape, convention=convention)
    click.echo(result.render(fmt, leading, latex))


@cli.command()
@click.argument("names", nargs=-1, required=True, metavar="NAMES...")
@click.option("--shape", type=ShapeType(), required=True, help="CxHxW or NxCxHxW, e.g. 256x14x14")
@click.option("--hp", "hps", multiple=True, metavar="NAME.KEY=VALUE",
              help="set a module's hyperparameter, e.g. se.r=8 (KEY=VALUE with one module; repeatable)")
@click.option("--dtype", type=click.Choice(list(DTYPE_BYTES)), default="float32", show_default=True,
              help="element type for memory in bytes")
@CHANNELS_LAST_OK
@TRAINING
@CONVENTION
@FORMAT
def compare(names, shape, hps, dtype, channels_last_ok, mode, training, convention, fmt):
    """Compare the costs of NAMES (se eca cbam, or se,eca,cbam) at one input shape; ratios are to the
    first module. --mode train adds each module's training step (forward, backward, saved activations,
    gradients, optimizer state, the step's peak), the module trained as inside a network.

    Example: attncost compare se eca cbam --shape 256x14x14 --hp se.r=8"""
    names = _names(names, "NAMES")
    _check_channels_first(_shape_texts(), channels_last_ok)
    if mode == "train-forward":
        raise AttncostError("--mode train-forward applies to your own model (FILE.py:FN); compare takes catalogue "
                            "modules: --mode train gives their training step")
    result = api.compare(names, shape, api.parse_hp_assignments(hps, modules=names), convention, dtype,
                         **_training_kwargs(training))
    click.echo(render_result(result.to_dict(), fmt))


@cli.command()
@click.argument("modules", nargs=-1, required=True, metavar="MODULE_A MODULE_B")
@click.option("--shape", type=ShapeType(allow_symbols=True), required=True,
              help="fixed sizes, the varied ones as letters (those --vary names), e.g. 1024xHxW")
@click.option("--vary", type=DomainChoice(lambda: _crossover().VARY), default="H=W", show_default=True)
@click.option("--metric", type=DomainChoice(lambda: _crossover().METRICS), default="macs", show_default=True)
@click.option("--range", "value_range", nargs=2, type=Integer(1), default=(1, 1024), show_default=True,
              help="integer range of the varied size: LO HI, 1 <= LO < HI <= 2^31, at most 65,536 sizes")
@click.option("--hp", "hps", multiple=True, metavar="NAME.KEY=VALUE",
              help="set a module's hyperparameter, e.g. nonlocal.mode=gaussian (repeatable)")
@TRAINING
@CONVENTION
@TEXT_FORMAT
def crossover(modules, shape, vary, metric, value_range, hps, mode, training, convention, fmt):
    """Where MODULE_A and MODULE_B (A B, or A,B) cost the same as one size grows, and which is cheaper
    on each side. The sizes --vary varies are letters of --shape; the others are fixed numbers.
    --mode train: the training step's metric (peak: the step's peak bytes; activation: bytes saved for
    backward; macs, flops: forward + backward; params: trainable).

    Example: attncost crossover nonlocal ccnet --shape 32x512xHxW --mode train --metric peak"""
    if mode == "train-forward":
        raise AttncostError("--mode train-forward applies to network FILE.py:FN; crossover compares formulas: "
                            "--mode train gives the training step's")
    names = _names(modules, "MODULE_A MODULE_B")
    if len(names) != 2:
        raise AttncostError(f"crossover compares two modules, MODULE_A MODULE_B (or A,B); got {len(names)}: "
                            f"{' '.join(names)}")
    module_a, module_b = names
    _check_varied(shape, (_shape_texts() or [format_shape(shape)])[0], vary)
    if metric != "flops" and _given("convention"):
        raise AttncostError(f"--convention {convention} has no effect with --metric {metric}: conventions weigh "
                            "FLOPs only; give --metric flops, or leave --convention out")
    hp = api.parse_hp_assignments(hps, modules=names)
    click.echo(api.crossover(module_a, module_b, shape, vary, metric, convention, hp, *value_range,
                             **_training_kwargs(training)).render(fmt))


class ByteSize(click.ParamType):
    """A memory size: ``16GiB``, ``1.5GB``, ``512MiB`` or bytes (:func:`attncost.format.units.parse_bytes`)."""

    name = "SIZE"

    def convert(self, value, param, ctx):
        from ..format.units import parse_bytes

        if isinstance(value, int):
            return value
        try:
            return parse_bytes(value, f"--{param.name}" if param is not None else "size")
        except AttncostError as error:
            self.fail(str(error), param, ctx)


@cli.command()
@click.argument("module")
@click.option("--shape", type=ShapeType(allow_symbols=True), required=True,
              help="fixed sizes, the varied ones as letters (those --vary names), e.g. 32x512xHxW")
@click.option("--budget", type=ByteSize(), required=True, help="the memory to fit in, e.g. 16GiB, 80GB, 512MiB")
@click.option("--vary", type=DomainChoice(lambda: _crossover().VARY), default="H=W", show_default=True)
@click.option("--range", "value_range", nargs=2, type=Integer(1), default=(1, 4096), show_default=True,
              help="integer range searched: LO HI, 1 <= LO < HI <= 2^31, at most 65,536 sizes")
@click.option("--hp", "hps", multiple=True, metavar="KEY=VALUE",
              help="fix a hyperparameter, e.g. reduction=2 (repeatable)")
@click.option("--dtype", type=click.Choice(list(DTYPE_BYTES)), default="float32", show_default=True,
              help="without --mode train: the element type of the inference peak (with it: --precision)")
@TRAINING
@FORMAT
def fit(module, shape, budget, vary, value_range, hps, dtype, mode, training, fmt):
    """The largest size (--vary, default H = W) at which MODULE's peak memory fits --budget, and the
    peak there, exactly. --mode train: the training step's peak (activations and gradients at their
    peak, parameters, master weights, optimizer state; docs/TRAINING.md); else the inference peak of
    live activations.

    Example: attncost fit nonlocal --shape 32x512xHxW --budget 16GiB --mode train --optimizer adam"""
    if mode == "train-forward":
        raise AttncostError("--mode train-forward applies to network FILE.py:FN; fit takes a catalogue module: "
                            "--mode train gives the training step's peak")
    if training is not None and _given("dtype"):
        raise AttncostError(f"--dtype {dtype} has no effect with --mode train: the step's bytes follow --precision")
    _check_varied(shape, (_shape_texts() or [format_shape(shape)])[0], vary)
    entry = catalogue.get(module)
    hp = api.parse_hp_assignments(hps, modules=[entry.name]).get(entry.name, {})
    result = api.fit(entry.name, shape, budget, vary, hp, *value_range, dtype=dtype, **_training_kwargs(training))
    click.echo(result.render(fmt))


@cli.command()
@click.argument("network")
@click.option("--attn", "attn", multiple=True, metavar="NAME[,NAME]",
              help="attention module(s) to insert, e.g. se or se,eca (repeatable)")
@click.option("--where", type=DomainChoice(lambda: _networks().POLICIES), default="every_block",
              show_default=True, help="with --attn: the insertion policy")
@click.option("--stages", default=None, metavar="S[,S]",
              help="with --attn: the stages that get attention, numbered as the breakdown's stage1, stage2, ... "
                   "(ResNets 1..4, MobileNetV2 and MnasNet 1..7) [default: all]")
@click.option("--blocks", default=None, metavar="B[,B]",
              help="with --attn --where after_blocks: block indices (0-based) within each stage, e.g. 1,3,5")
@click.option("--shape", type=ShapeType(inputs=True), default=None,
              help="input CxHxW or NxCxHxW [default: 3x224x224]; FILE.py:FN: any rank (196x768), several inputs "
                   "comma-separated, each as written, a dtype each if not --dtype (1x3x224x224,1x77:int64) "
                   "[default: the example inputs FN returns, else 3x224x224]")
@click.option("--group-by", type=DomainChoice(lambda: _graph().GROUP_BY), default="stage", show_default=True)
@click.option("--graphml", type=click.Path(dir_okay=False), help="also write the op graph as GraphML")
@click.option("--depth", type=Integer(1), metavar="K",
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
@TRAINING
@CONVENTION
@FORMAT
def network(network, attn, where, stages, blocks, shape, group_by, graphml, depth, network_dtype, strict,
            fake, attention_modules, exact_shape, mode, training, convention, fmt):
    """Cost of a whole network, with attention inserted by policy and a breakdown.

    NETWORK is a reference network (resnet50, resnet50-v1, mobilenet-v2, vit-b16, ...), a spec file, a
    definition file of your own (a copy of one in attncost/networks/definitions, changed), or
    your own model as FILE.py:FUNCTION (which returns an nn.Module; traced, imports torch). Breakdown
    by stage, block, module kind or op kind; --depth K gives one row per module instead.

    Where the model ran aten ops attncost has no formula for, the totals undercount: every format
    says so (JSON: incomplete, unsupported_ops) and --strict makes the exit code 3.

    --mode train adds one training step: forward, backward and total FLOPs per row, and the step's
    memory (saved activations, gradients, optimizer state, peak) under the table; from the formula for
    a reference network, traced once for FILE.py:FN (docs/TRAINING.md).

    Example: attncost network resnet50 --attn cbam --mode train --optimizer adam"""
    from .. import networks
    from ..cost import Program
    from ..graph import walk

    check_outputs([("--graphml", graphml)], [("NETWORK", _input_file(network))])
    attn = _names(attn, "--attn")
    _check_placement_options(attn, where, stages, blocks)
    if depth is not None and _given("group_by") and str(click.get_current_context().params.get("fmt")) != "json":
        raise AttncostError(f"--group-by {group_by} has no effect with --depth: the table shows one row per module "
                            "(the breakdown stays in --format json's rows); leave one of them out")
    if _is_user_model(network):
        _check_exact_shape(shape, exact_shape)
        if training is not None:
            return _train_network(network, attn, shape, group_by, graphml, convention, fmt, depth, network_dtype,
                                  strict, training, fake=fake, exact_shape=exact_shape,
                                  attention_modules=_patterns(attention_modules, "--attention-modules"))
        return _user_network(network, attn, shape, group_by, graphml, convention, fmt, depth=depth,
                             dtype=network_dtype, strict=strict, fake=fake,
                             mode="train" if mode == "train-forward" else mode, exact_shape=exact_shape,
                             attention_modules=_patterns(attention_modules, "--attention-modules"))
    for given, option in ((fake is not None, "--fake"), (attention_modules, "--attention-modules"),
                          (mode == "train-forward", "--mode train-forward"), (exact_shape, "--exact-shape")):
        if given:
            raise AttncostError(f"{option} applies to your own model (FILE.py:FN), not to {network}")
    text, shape = shape, parse_shape(shape or "3x224x224")
    if text is not None:
        check_channels_first(text, "--shape")      # the reference networks take 3 channels: never as written
    if network.endswith((".yaml", ".yml")):
        spec = networks.load_spec(network)
    else:
        spec = networks.definition(network)
    if attn:
        stage_list = None if stages is None else _indices(stages, "--stages", "stage", "e.g. 3,4")
        block_list = None if blocks is None else _indices(blocks, "--blocks", "block index", "e.g. 1,3,5")
        placements = [networks.placement_from_dict({"module": name, "where": where,
                                                     **({"stages": list(stage_list)} if stage_list else {}),
                                                     **({"blocks": list(block_list)} if block_list else {})},
                                                    "--attn") for name in attn]
        spec = networks.with_attention(spec, list(spec.attention) + placements)
    if shape[1] != 3:
        raise AttncostError(f"--shape {format_shape(shape)}: the reference networks take 3 input channels")
    g = Program()
    result = walk(g, networks.forward(g, g.input(shape), spec))
    from ..networks.accuracy import reported_document

    if training is not None:
        step = api.network_step(spec, shape, training)
        answer = api.NetworkResult(result, spec.name, shape, convention, network_dtype or "float32",
                                   extra={**api.paper_note(spec, shape, result),
                                          "reported": reported_document(spec, shape)}, training=step)
        return _print_result(answer, group_by, depth, graphml, fmt, strict)

    extra = {**api.paper_note(spec, shape, result), "reported": reported_document(spec, shape)}
    _print_network(result, spec.name, shape, group_by, graphml, convention, fmt, extra,
                   depth=depth, dtype=network_dtype or "float32")


#: what a --where policy does with the blocks of a stage, for the error of a --blocks it ignores
WHERE_PHRASES = {"every_block": "in every block", "after_stage": "after each", "replace_conv":
                 "in place of the 3x3 conv of every block"}


def _check_placement_options(attn, where, stages, blocks) -> None:
    """--where, --stages and --blocks describe where --attn goes: without it, or --blocks with a policy
    other than after_blocks, they would do nothing. What depends on the network (a stage it lacks, a
    placement that inserts nothing) is checked by :func:`attncost.networks.with_attention`."""
    if not attn:
        for name, option in (("where", "--where"), ("stages", "--stages"), ("blocks", "--blocks")):
            if _given(name):
                raise AttncostError(f"{option} places the modules of --attn, and no --attn is given: add --attn "
                                    f"NAME, or leave {option} out")
        return
    if blocks is not None and where != "after_blocks":
        raise AttncostError(f"--blocks applies only to --where after_blocks; --where {where} places "
                            f"{','.join(attn)} {WHERE_PHRASES.get(where, 'by its policy in each')} "
                            "of its stages: leave --blocks out, or give --where after_blocks")
    if where == "after_blocks" and blocks is None:
        raise AttncostError("--where after_blocks needs --blocks: the block indices within each stage, e.g. "
                            "--blocks 1,3,5")


def _indices(text: str, option: str, what: str, example: str) -> tuple:
    """``3,4`` -> (3, 4): comma-separated integers (stages from 1, block indices from 0)."""
    parts = [part.strip() for part in text.split(",")]
    if not any(parts) or not all(parts):
        raise AttncostError(f"{option} {text!r} must be comma-separated numbers, {example}")
    low = 1 if what == "stage" else 0
    return tuple(parse_int(part, f"{option} {text!r}: {part!r}", minimum=low, error=AttncostError)
                 for part in parts)


def _check_varied(shape, text: str, vary: str) -> None:
    """Each size ``--vary`` varies is a letter of --shape: a number there would be replaced, unused."""
    from ..crossings import varied_symbols
    from ..symbols import SHAPE_SYMBOLS

    varied = varied_symbols(vary)
    fixed = [(sym, size) for sym, size in zip(SHAPE_SYMBOLS, shape) if sym in varied and isinstance(size, int)]
    if fixed:
        example = [sym if sym in varied else size for sym, size in zip(SHAPE_SYMBOLS, shape)]
        if example[0] == 1:
            example = example[1:]
        given = ", ".join(f"{sym}={size}" for sym, size in fixed)
        raise AttncostError(f"--shape {text} fixes {given}, which --vary {vary} varies over --range: write "
                            f"{'it as its letter' if len(fixed) == 1 else 'them as letters'}, e.g. --shape "
                            f"{'x'.join(map(str, example))}")


def _input_file(network: str):
    """The file NETWORK reads, if it names one (a spec file, or FILE.py of FILE.py:FN)."""
    if _is_user_model(network):
        return network.rsplit(":", 1)[0]
    return network if network.endswith((".yaml", ".yml")) else None


def _user_prints_to_stderr():
    """While a user's model is imported, built and run: what it prints goes to stderr, so that stdout
    holds only attncost's output (a ``print`` in a model's forward would break ``--format json``)."""
    return contextlib.redirect_stdout(sys.stderr)


def _user_network(reference, attn, shape, group_by, graphml, convention, fmt, depth=None, dtype=None, strict=False,
                  fake=None, mode="eval", exact_shape=False, attention_modules=()):
    """``attncost network FILE.py:FN``: a user's own model, counted by the tracer (imports torch)."""
    from ..usermodels import analyze, load_model, naming

    if attn:
        raise AttncostError("--attn applies to reference networks; put attention in your own model")
    with _user_prints_to_stderr():
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


def _train_network(reference, attn, shape, group_by, graphml, convention, fmt, depth, dtype, strict, training, *,
                   fake=None, exact_shape=False, attention_modules=()):
    """``attncost network FILE.py:FN --mode train``: the inference forward counted as without it, and
    one training step traced (imports torch)."""
    if attn:
        raise AttncostError("--attn applies to reference networks; put attention in your own model")
    with _user_prints_to_stderr():
        result = api.network(reference, shape=shape, convention=convention, dtype=dtype, fake=fake,
                             exact_shape=exact_shape, attention_modules=attention_modules,
                             **_training_kwargs(training))
    for op, (calls, scope) in sorted({**result.unsupported, **result.training.unsupported}.items()):
        where = result.module_name(scope) if scope else "<top>"
        click.echo(f"Warning: no formula for {op} (x{calls}, first in {where}): not counted", err=True)
    _print_result(result, group_by, depth, graphml, fmt, strict)


def _print_result(result, group_by, depth, graphml, fmt, strict):
    """Print an API network result's document (docs/JSON.md); --graphml: its inference op graph;
    --strict: exit 3 if it is incomplete."""
    doc = result.to_dict(group_by, depth)
    if graphml:
        _write_graphml(result.network, graphml)
    click.echo(render_result(doc, fmt))
    if strict and doc["incomplete"]:
        sys.exit(3)


def _write_graphml(walked, path) -> None:
    import networkx as nx

    graph = walked.graph.copy()
    for _, data in graph.nodes(data=True):
        data["counts"] = ";".join(f"{k}={v}" for k, v in data["counts"].items())
        for key in ("params", "macs", "elements"):
            data[key] = int(data[key])
    atomic_write(path, "\n".join(nx.generate_graphml(graph)), "--graphml")


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
        _write_graphml(result, graphml)
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
@click.option("--modules", multiple=True, metavar="NAME[,NAME]",
              help="without a SPEC: modules to compare, e.g. se,eca,cbam (repeatable)")
@click.option("--shape", "shapes", type=ShapeType(), multiple=True,
              help="without a SPEC, with --modules: a shape to compare them at (repeatable)")
@click.option("--networks", "network_names", multiple=True, metavar="NAME[,NAME]",
              help="without a SPEC: networks, e.g. resnet50,mobilenet-v2 (repeatable)")
@click.option("--lut", type=click.Path(exists=True, dir_okay=False), help="without a SPEC: a latency LUT to show")
@click.option("--measurements", type=click.Path(exists=True, dir_okay=False),
              help="without a SPEC: 'attncost lut validate --report' output to plot against the estimates")
@click.option("--convention", type=click.Choice([c.value for c in Convention]), default="full", show_default=True,
              help="without a SPEC: the FLOP convention of the tables (a SPEC names its own, default full)")
@click.option("--title", help="without a SPEC: the page title")
@CHANNELS_LAST_OK
@TRAINING
def report(spec, output, modules, shapes, network_names, lut, measurements, convention, title, channels_last_ok,
           mode, training):
    """Render an offline HTML design report from a report SPEC (YAML, e.g. specs/attention-review.yaml)
    or from --modules/--shape/--networks: summary tables, MathML formulas, cost versus resolution with
    crossovers, cost by op kind, memory, network sunbursts and attention share, LUT heatmaps.
    --mode train (a SPEC: training:) adds the training step beside inference."""
    import os

    from ..report import build_report, load_report_spec, spec_from_options

    modules, network_names = _names(modules, "--modules"), _names(network_names, "--networks")
    given = [option for option, value in (("--modules", modules), ("--shape", shapes), ("--networks", network_names),
                                          ("--lut", lut), ("--measurements", measurements), ("--title", title),
                                          ("--convention", _given("convention")),
                                          ("--channels-last-ok", channels_last_ok), ("--mode", _given("mode")))
             if value]
    if spec and given:
        raise AttncostError(f"give either a SPEC file or options ({', '.join(given)}), not both: a SPEC names its "
                            "own modules, shapes, networks, latency files, convention, title and training")
    if mode == "train-forward":
        raise AttncostError("--mode train-forward applies to network FILE.py:FN; a report's training section is "
                            "--mode train")
    if training is not None and not (modules or network_names):
        raise AttncostError("--mode train adds the training step of --modules and --networks, and neither is "
                            "given: add one, or leave --mode out")
    if spec:
        report_spec = load_report_spec(spec)
    elif modules or network_names or lut or measurements:
        if modules and not shapes:
            raise AttncostError("--modules needs at least one --shape")
        if shapes and not modules:
            raise AttncostError("--shape sets the shapes --modules are compared at, and no --modules is given "
                                "(networks run at 3x224x224): add --modules, or leave --shape out")
        if _given("convention") and not (modules or network_names):
            raise AttncostError(f"--convention {convention} weighs the FLOPs of --modules and --networks, and "
                                "neither is given: leave it out")
        _check_channels_first(_shape_texts("shapes"), channels_last_ok)
        report_spec = spec_from_options(modules, list(shapes), convention, network_names, title, lut, measurements,
                                        training)
    else:
        raise AttncostError("give a report SPEC file, or --modules with --shape (or --networks)")
    if output is None:
        name = os.path.splitext(os.path.basename(spec))[0] if spec else "report"
        output = os.path.join("reports", f"{name}.html")
    check_outputs([("-o", output)], [("SPEC", spec), ("--lut", lut), ("--measurements", measurements),
                                     *(("a file the spec names", path) for path in report_spec.inputs)])

    shown = {}

    def step(number, total, description):
        shown.setdefault("bar", Progress(total)).step(description)

    atomic_write(output, build_report(report_spec, step), "-o")
    if "bar" in shown:
        shown["bar"].done()
    click.echo(f"wrote {output}", err=True)


#: the training step's options of other commands, refused by verify: what it proves does not depend on them
_NOT_VERIFIED = (("optimizer", "--optimizer", "the optimizer adds only its state, trainable parameters times what it "
                  "keeps per parameter, which runs no op"),
                 ("precision", "--precision", "counts and elements do not depend on the element type"),
                 ("checkpoint", "--checkpoint", "it proves the step without activation checkpointing"),
                 ("train_only", "--train-only", "it proves the step with every parameter trained"))


def _refuse_training_options(command):
    """``--optimizer``, ``--precision``, ``--checkpoint`` and ``--train-only`` (hidden) as one-line errors:
    another command's training option given to verify would do nothing."""
    @functools.wraps(command)
    def refusing(*args, optimizer, precision, checkpoint, train_only, **kwargs):
        for name, option, why in _NOT_VERIFIED:
            if _given(name):
                raise AttncostError(f"{option} has no effect on verify: {why}; leave it out")
        return command(*args, **kwargs)

    for option in (click.option("--optimizer", hidden=True), click.option("--precision", hidden=True),
                   click.option("--checkpoint", multiple=True, hidden=True),
                   click.option("--train-only", "train_only", multiple=True, hidden=True)):
        refusing = option(refusing)
    return refusing


@cli.command()
@click.argument("names", nargs=-1, metavar="[NAMES]...")
@click.option("--samples", default=50, show_default=True, type=Integer(1, MAX_SAMPLES),
              help=f"random configurations per entry (1 to {MAX_SAMPLES:,})")
@click.option("--seed", default=0, show_default=True, type=Integer(0), help="0..2^31")
@click.option("--symbolic/--no-symbolic", default=True, show_default=True,
              help="also prove the formula against a FakeTensor trace with symbolic N, H, W "
                   "(a dense grid of H, W where torch cannot trace the module symbolically; --mode train: "
                   "drawn sizes)")
@click.option("--mode", type=click.Choice(api.MODES), default=api.MODES[0], show_default=True,
              help="eval: prove the inference forward; train: prove the training step (train-mode forward, "
                   "backward by op kind, saved and peak elements, trainable parameters) against a real "
                   "backward(), the module trained as inside a network")
@_refuse_training_options
@TEXT_FORMAT
def verify(names, samples, seed, symbolic, mode, fmt):
    """Prove catalogue formulas equal to what the reference PyTorch code executes (imports torch).

    NAMES (se cbam, or se,cbam) are the entries to prove; without them, the whole catalogue.
    Exits 1 if any entry mismatches. --mode train proves the training step instead; an entry whose
    backward the formula side cannot count yet is "n/a" (not covered, with the reason), which is not a
    failure.

    Example: attncost verify se cbam nonlocal --mode train --samples 5"""
    if mode == "train-forward":
        raise AttncostError("--mode train-forward applies to your own model (FILE.py:FN); verify proves catalogue "
                            "entries: --mode train proves their training step")
    names = _names(names, "NAMES")
    entries = [catalogue.get(n) for n in names] if names else catalogue.entries()
    if mode == "train":
        _verify_training(entries, samples, seed, symbolic, fmt)
        return
    from ..verify import verify_entry

    rows, failed = [], []
    bar = Progress(len(entries))
    for entry in entries:
        bar.step(f"verifying {entry.name}")
        report = verify_entry(entry, samples=samples, seed=seed, symbolic=symbolic)
        rows.append({**_verify_columns(entry, report), "result": "pass" if report.passed else "FAIL"})
        if not report.passed:
            failed.append(report)
    bar.done()
    _echo_verify(rows, fmt, {"mode": "eval"})
    for report in failed:
        for line in report.mismatches[:5]:
            click.echo(f"  {line}", err=True)
    if failed:
        sys.exit(1)


#: ``schema_version`` of ``verify``'s document (``--format json``; docs/JSON.md)
VERIFY_SCHEMA_VERSION = 1


def _verify_columns(entry, report) -> dict:
    """The columns both verifies print for an entry, before their result, as data: the ops without a
    formula a list of names (``[]`` when none), the route that proved the formula in N, H, W ``None``
    where none ran (a training entry not covered)."""
    return {"module": entry.name, "configs": report.configs, "mismatches": len(report.mismatches),
            "unsupported_ops": sorted(report.unsupported),
            "proof": None if report.route == "-" else report.route, "symbolic": report.symbolic}


def _verify_text(value) -> object:
    """A verify cell or line as a table prints it: a list as its items joined, ``-`` when empty;
    anything else as it is (``None`` prints ``-``)."""
    if not isinstance(value, list):
        return value
    return ", ".join(str(item) for item in value) or "-"


def _echo_verify(rows: list[dict], fmt, meta: dict, texts: list[dict] = ()) -> None:
    """JSON and CSV: ``{schema_version, command: "verify", **meta, rows}``, data (lists, numbers,
    null); table and markdown: the rows, each updated by its ``texts`` (cells in words), and ``meta``
    under them as text (:func:`_verify_text`), an empty list and the forward's ``mode: eval`` left out."""
    if fmt in DATA_FORMATS:
        click.echo(render(rows, fmt, {"schema_version": VERIFY_SCHEMA_VERSION, "command": "verify", **meta}))
        return
    shown = {key: _verify_text(value) for key, value in meta.items()
             if value != [] and (key, value) != ("mode", "eval")}
    texts = list(texts) or [{}] * len(rows)
    click.echo(render([{key: _verify_text(value) for key, value in {**row, **text}.items()}
                       for row, text in zip(rows, texts)], fmt, shown))


def _verify_training(entries, samples, seed, symbolic, fmt):
    """``verify --mode train``: the forward verify's columns plus what differs and what is not covered;
    the count of each result under the table (in JSON: beside the rows). Exits 1 on a mismatch only."""
    from ..verify.training import FAIL, NOT_COVERED, PASS, verify_training_entry

    rows, texts, failed = [], [], []
    bar = Progress(len(entries))
    for entry in entries:
        bar.step(f"verifying {entry.name} (training step)")
        report = verify_training_entry(entry, samples=samples, seed=seed, symbolic=symbolic)
        rows.append({**_verify_columns(entry, report), "result": report.result,
                     "differs": sorted(report.differs),
                     "not_covered": [{"reason": reason, "configs": n} for reason, n in report.not_covered.items()]})
        texts.append({"not_covered": report.not_covered_text()})
        if report.result == FAIL:
            failed.append(report)
    bar.done()
    results = [row["result"] for row in rows]
    # n/a: the formula side has no backward for one of their ops yet
    uncovered = [row["module"] for row in rows if row["result"] == NOT_COVERED]
    _echo_verify(rows, fmt, {"mode": "train", "passed": results.count(PASS), "failed": results.count(FAIL),
                             "not_covered": results.count(NOT_COVERED), "not_covered_modules": uncovered}, texts)
    for report in failed:
        for line in report.mismatches[:5]:
            click.echo(f"  {line}", err=True)
        if report.symbolic.startswith("FAILED"):
            click.echo(f"  {report.name} symbolic: {report.symbolic}", err=True)
    if failed:
        sys.exit(1)


from .lut import lut as lut_group; cli.add_command(lut_group)  # noqa: E402,E702 (attncost lut)
case_insensitive(cli)         # every choice of every command matched regardless of case (cli/choices.py)
options_once(cli)             # a one-value option given twice is an error, not the last one silently (cli/once.py)


def main():
    """The ``attncost`` command. A Ctrl-C that lands after the command has ended (its output written,
    its exit status decided) changes nothing: SIGINT is ignored from then on, so the process does not
    die of it on its way out, and a KeyboardInterrupt in the instant between is "Aborted." and exit 1
    like one that came during the command."""
    try:
        cli(prog_name="attncost")
    except KeyboardInterrupt:
        click.echo("Aborted.", err=True)
        sys.exit(1)
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
