"""attncost/cli/once.py: a one-value option given twice is an error, repeatable options repeat."""

import pytest
from click.testing import CliRunner

from attncost.cli.main import cli


@pytest.mark.parametrize("args, option", [
    (["network", "resnet50", "--attn", "se", "--stages", "1", "--stages", "2"], "--stages"),
    (["compare", "se", "--shape", "256x14x14", "--shape", "512x7x7"], "--shape"),
    (["network", "resnet18", "--fake", "--no-fake"], "--fake/--no-fake"),
    (["lut", "predict", "t.json", "--format", "json", "--format", "csv"], "--format"),
])
def test_a_one_value_option_given_twice_is_refused(args, option):
    # click keeps the last value and drops the first silently; --stages 1 --stages 2 meant both stages
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2
    assert f"{option} is given more than once" in result.output


def test_repeatable_options_stay_repeatable():
    result = CliRunner().invoke(cli, ["compare", "se", "eca", "--shape", "256x14x14", "--hp", "se.r=8", "--hp", "eca.k=3"])
    assert result.exit_code == 0, result.output
