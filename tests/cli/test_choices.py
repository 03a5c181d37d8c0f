"""Every choice the CLI offers is the domain constant it names, never a copy (docs/ARCHITECTURE.md)."""

import ast
from pathlib import Path

import click

from attncost import catalogue, crossover, graph, networks
from attncost.cli.main import cli
from attncost.cost import Convention
from attncost.format import FORMATS
from attncost.lut import calibrate, harness, runtime, table
from attncost.shapes import DTYPE_BYTES, MODES

CONVENTIONS = tuple(c.value for c in Convention)
EXPECTED = {
    ("list", "family"): tuple(catalogue.FAMILIES),
    ("compare", "dtype"): tuple(DTYPE_BYTES),
    ("crossover", "vary"): tuple(crossover.VARY),
    ("crossover", "metric"): tuple(crossover.METRICS),
    ("network", "where"): tuple(networks.POLICIES),
    ("network", "group_by"): tuple(graph.GROUP_BY),
    ("network", "network_dtype"): tuple(DTYPE_BYTES),
    ("network", "mode"): MODES,
    ("formula", "mode"): MODES,
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
