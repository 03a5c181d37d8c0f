"""Every number an option takes is finite and bounded (attncost.cli.numbers): ``nan``, ``inf`` and
``1e400`` are refused, integers are at most 2^31 (README, "Bad input"), each with one line and exit
code 2 before any work starts; no option of any command is a plain click number type that lets
those through."""

import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from attncost.cli.main import cli
from attncost.cli.numbers import Float, Integer, Percent

TINY = "specs/singlepath-tiny.yaml"
NON_FINITE = ["nan", "NaN", "inf", "-inf", "Infinity", "1e400"]


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def _commands(group, prefix=()):
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from _commands(command, (*prefix, name))
        else:
            yield (*prefix, name), command


def test_every_numeric_option_of_every_command_is_checked():
    plain = (click.types.IntParamType, click.types.FloatParamType, click.IntRange, click.FloatRange)
    unchecked = [(" ".join(path), param.name) for path, command in _commands(cli) for param in command.params
                 if isinstance(param.type, plain)]
    assert unchecked == []
    numeric = {(" ".join(path), param.name) for path, command in _commands(cli) for param in command.params
               if isinstance(param.type, (Integer, Float, Percent))}
    assert {("lut build", "budget"), ("lut validate", "min_tau"), ("lut build", "seed"), ("verify", "seed"),
            ("lut validate", "seed"), ("lut calibrate-sum", "seed")} <= numeric


@pytest.mark.parametrize("text", NON_FINITE)
def test_float_type_refuses_non_finite(text):
    with pytest.raises(click.BadParameter, match="finite"):
        Float(above=0).convert(text, None, None)
    with pytest.raises(click.BadParameter, match="finite"):
        Percent().convert(text + "%", None, None)


def test_float_type_bounds_and_plain_numbers():
    assert Float(-1, 1).convert("0.5", None, None) == 0.5
    assert Float(-1, 1).convert(-1, None, None) == -1.0
    for bad, words in (("1.5", "at most 1"), ("-2", "at least -1"), ("fast", "not a number"), ("٣", "not a number")):
        with pytest.raises(click.BadParameter, match=words):
            Float(-1, 1).convert(bad, None, None)
    with pytest.raises(click.BadParameter, match="above 0"):
        Float(above=0).convert("0", None, None)
    with pytest.raises(click.BadParameter, match="finite"):
        Float().convert(float("nan"), None, None)


def _refused(result, option):
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and option in lines[0]
    assert "Traceback" not in result.output


@pytest.mark.parametrize("value", NON_FINITE + ["-1", "0", "86401"])
def test_lut_build_budget_must_be_finite_and_in_range(tmp_path, value):
    good = tmp_path / "l.json"
    good.write_text('{"a good table": true}')
    result = run("lut", "build", TINY, "-o", good, "--precision", "0.01%", "--budget", value,
                 "--calibrate-archs", "0")
    _refused(result, "--budget")
    assert good.read_text() == '{"a good table": true}'                 # the previous file is left alone


@pytest.mark.parametrize("args, option", [
    (["lut", "build", TINY, "-o", "{out}", "--precision", "nan%"], "--precision"),
    (["lut", "build", TINY, "-o", "{out}", "--precision", "inf"], "--precision"),
    (["lut", "validate", "{out}", "--samples", "2", "--max-mape", "5%", "--min-tau", "nan"], "--min-tau"),
    (["lut", "validate", "{out}", "--samples", "2", "--max-mape", "5%", "--min-tau", "inf"], "--min-tau"),
    (["lut", "validate", "{out}", "--samples", "2", "--max-mape", "5%", "--min-tau", "-inf"], "--min-tau"),
    (["lut", "validate", "{out}", "--samples", "2", "--max-mape", "5%", "--min-tau", "1.5"], "--min-tau"),
    (["lut", "validate", "{out}", "--samples", "2", "--max-mape", "nan%"], "--max-mape"),
])
def test_lut_float_options_must_be_finite(tmp_path, args, option):
    _refused(run(*[a.format(out=tmp_path / "l.json") for a in args]), option)


HUGE = "99999999999999999999999"


@pytest.mark.parametrize("args", [
    ["verify", "eca", "--samples", "1", "--seed", HUGE],
    ["verify", "eca", "--samples", "1", "--seed", str(2 ** 31 + 1)],
    ["verify", "eca", "--samples", "1", "--seed", "-1"],
    ["lut", "build", TINY, "-o", "{out}", "--seed", HUGE],
    ["lut", "validate", "{out}", "--samples", "2", "--seed", HUGE],
    ["lut", "calibrate-sum", "{out}", "--seed", HUGE],
])
def test_seeds_are_bounded(tmp_path, args):
    _refused(run(*[a.format(out=tmp_path / "l.json") for a in args]), "--seed")


@pytest.mark.parametrize("args, option", [
    (["lut", "build", TINY, "-o", "{out}", "--repeats", HUGE], "--repeats"),
    (["lut", "build", TINY, "-o", "{out}", "--warmup", HUGE], "--warmup"),
    (["lut", "validate", "{out}", "--samples", HUGE], "--samples"),
    (["lut", "predict", TINY, "--device-profile", "{out}", "--batch", HUGE], "--batch"),
    (["network", "resnet18", "--depth", HUGE], "--depth"),
])
def test_other_integers_are_at_most_2_31(tmp_path, args, option):
    result = run(*[a.format(out=tmp_path / "l.json") for a in args])
    _refused(result, option)
    assert "2^31" in result.stderr


def test_the_nan_budget_that_ran_forever_is_refused_at_once(tmp_path):
    """The QA report's command, in a real process with a deadline: it ran forever."""
    out = tmp_path / "x" / "l.json"
    done = subprocess.run([sys.executable, "-m", "attncost.cli", "lut", "build", TINY, "-o", str(out),
                           "--precision", "0.01%", "--budget", "nan", "--calibrate-archs", "0"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1 and "--budget" in done.stderr
    assert done.stdout == "" and not out.exists()


def test_a_loose_precision_with_an_infinite_budget_writes_nothing(tmp_path):
    out = tmp_path / "l.json"
    _refused(run("lut", "build", TINY, "-o", out, "--precision", "50%", "--budget", "inf", "--calibrate-archs", "0",
                 "--format", "json"), "--budget")
    assert not out.exists()
