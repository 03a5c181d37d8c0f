"""Every choice the CLI offers is the domain constant it names, never a copy (docs/ARCHITECTURE.md)."""

import ast
from pathlib import Path

import click
import pytest

from attncost import catalogue, crossings, graph, networks
from attncost.cli.main import cli
from attncost.cost import Convention
from attncost.format import FORMATS
from attncost.lut import calibrate, harness, runtime, table
from attncost.api import MODES
from attncost.cost.training_cost import PRECISIONS, Optimizer
from attncost.shapes import DTYPE_BYTES

CONVENTIONS = tuple(c.value for c in Convention)
#: the training step's choices (--mode train), on every command that takes them
TRAINING = {key: value for command in ("compare", "crossover", "network", "report", "fit")
            for key, value in (((command, "mode"), MODES), ((command, "optimizer"), tuple(o.value for o in Optimizer)),
                               ((command, "precision"), tuple(PRECISIONS)))}
EXPECTED = {
    **TRAINING,
    ("fit", "vary"): tuple(crossings.VARY),
    ("fit", "dtype"): tuple(DTYPE_BYTES),
    ("list", "family"): tuple(catalogue.FAMILIES),
    ("compare", "dtype"): tuple(DTYPE_BYTES),
    ("crossover", "vary"): tuple(crossings.VARY),
    ("crossover", "metric"): tuple(crossings.METRICS),
    ("network", "where"): tuple(networks.POLICIES),
    ("network", "group_by"): tuple(graph.GROUP_BY),
    ("network", "network_dtype"): tuple(DTYPE_BYTES),
    ("formula", "mode"): MODES,
    ("verify", "mode"): MODES,
    ("report", "convention"): CONVENTIONS,
    ("lut build", "timing"): tuple(harness.TIMINGS),
    ("lut build", "statistic"): tuple(harness.STATISTICS),
    ("lut build", "fit"): tuple(calibrate.FITS),
    ("lut calibrate-sum", "fit"): tuple(calibrate.FITS),
    ("lut build", "layout"): tuple(table.LAYOUTS),
    ("lut predict", "layout"): tuple(table.LAYOUTS),
    ("lut runtime", "model"): tuple(runtime.MODELS),
}


def _choices(group, prefix=""):
    for name, command in group.commands.items():
        path = f"{prefix}{name}"
        if isinstance(command, click.Group):
            yield from _choices(command, path + " ")
            continue
        for param in command.params:
            if isinstance(param.type, click.Choice):
                yield (path, param.name), tuple(param.type.choices)


def test_every_choice_is_its_domain_constant():
    found = dict(_choices(cli))
    for key, choices in found.items():
        if key[1] == "convention":
            assert choices == CONVENTIONS, key
        elif key[1] == "fmt":
            assert choices == tuple(FORMATS), key
        elif key[1] == "units":
            from attncost.format import UNITS

            assert choices == tuple(UNITS), key
        else:
            assert key in EXPECTED, f"{key}: a choice this test does not know; add its domain constant"
            assert choices == EXPECTED[key], key
    assert set(EXPECTED) <= set(found)


def test_no_choice_list_is_written_out():
    """No ``click.Choice([...])`` with a literal list in the CLI's source."""
    for path in sorted((Path(__file__).parents[2] / "attncost" / "cli").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")).endswith("Choice"):
                assert not (node.args and isinstance(node.args[0], (ast.List, ast.Tuple, ast.Set))), \
                    f"{path.name}:{node.lineno}: a choice list copied into the CLI"


def test_starting_the_cli_imports_none_of_the_modules_it_takes_choices_from_lazily():
    """DomainChoice reads crossover's, the networks', graph's and lut's constants only when needed."""
    import subprocess
    import sys

    heavy = ("numpy", "networkx", "torch", "attncost.crossover", "attncost.networks", "attncost.graph",
             "attncost.lut.calibrate")
    code = f"import sys, attncost.cli.main; print([m for m in {heavy!r} if m in sys.modules])"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "[]"


def test_every_choice_is_case_insensitive():
    """Every choice of every command matches regardless of case (as names do) and hands the command
    the canonical spelling."""
    from attncost.cli.choices import Choice

    for key, _ in _choices(cli):
        command = cli
        for part in key[0].split():
            command = command.commands[part]
        param = next(p for p in command.params if p.name == key[1])
        assert isinstance(param.type, Choice), f"{key}: a case-sensitive choice"
        for choice in param.type.choices:
            for typed in (str(choice).upper(), str(choice).title(), str(choice)):
                assert param.type.convert(typed, param, None) == choice, (key, typed)


@pytest.mark.parametrize("args, key, expected", [
    (["compare", "se", "--shape", "64x8x8", "--convention", "MACS", "--format", "JSON"], "convention", "macs"),
    (["compare", "se", "--shape", "64x8x8", "--dtype", "Float16", "--format", "Json"], "dtype", "float16"),
    (["network", "resnet18", "--attn", "SE", "--where", "Every_Block", "--format", "JSON", "--convention", "Full"],
     "convention", "full"),
    (["crossover", "se", "eca", "--shape", "64xHxW", "--vary", "h=w", "--range", "2", "8", "--format", "json"],
     None, None),
    (["list", "--family", "Channel", "--format", "CSV"], None, None),
])
def test_choices_in_any_case_reach_the_command_canonical(args, key, expected):
    import json

    from click.testing import CliRunner

    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    if key is not None:
        assert json.loads(result.output)[key] == expected
    if args[0] == "crossover":
        assert json.loads(result.output)["vary"] == "H=W"
    if args[0] == "list":
        assert result.output.startswith("family,") and "channel," in result.output
