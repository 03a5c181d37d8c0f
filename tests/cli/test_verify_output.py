"""``verify --format json|csv`` is data: the ops without a formula a list of names (``[]`` when none),
what differs a list, what was not covered a list of ``{reason, configs}``, a route that did not run
``null``; never the table's ``-`` placeholder. Tables and markdown stay human (``-``, joined names)."""

from __future__ import annotations

import csv
import json

import pytest
from click.testing import CliRunner

import attncost.verify.training as training
import attncost.verify.verify as verify_module
from attncost.cli.main import cli
from attncost.cost.autograd import TrainingError

#: the columns of ``verify`` (docs/JSON.md, "JSON of verify"); ``--mode train`` adds the last two
COLUMNS = ["module", "configs", "mismatches", "unsupported_ops", "proof", "symbolic", "result"]
TRAINING_COLUMNS = COLUMNS + ["differs", "not_covered"]


def run(*args):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def _values(value):
    """Every scalar inside ``value`` (dicts' values, lists' items)."""
    if isinstance(value, dict):
        return [v for inner in value.values() for v in _values(inner)]
    if isinstance(value, list):
        return [v for inner in value for v in _values(inner)]
    return [value]


def test_json_of_a_passing_entry_has_no_placeholders():
    result = run("verify", "se", "--samples", "1", "--format", "json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert list(doc) == ["schema_version", "command", "mode", "rows"]
    assert (doc["schema_version"], doc["command"], doc["mode"]) == (1, "verify", "eval")
    row = doc["rows"][0]
    assert list(row) == COLUMNS
    assert row["unsupported_ops"] == [] and row["configs"] == 1 and row["mismatches"] == 0
    assert row["proof"] == "symbolic trace" and row["result"] == "pass"
    assert "-" not in _values(doc)


def test_json_of_a_training_step_has_lists_and_counts():
    result = run("verify", "se", "--mode", "train", "--samples", "1", "--format", "json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert list(doc) == ["schema_version", "command", "mode", "passed", "failed", "not_covered",
                         "not_covered_modules", "rows"]
    assert (doc["mode"], doc["passed"], doc["failed"], doc["not_covered"]) == ("train", 1, 0, 0)
    assert doc["not_covered_modules"] == []
    row = doc["rows"][0]
    assert list(row) == TRAINING_COLUMNS
    assert row["unsupported_ops"] == [] and row["differs"] == [] and row["not_covered"] == []
    assert "-" not in _values(doc)


def test_ops_without_a_formula_are_a_list_of_names(monkeypatch):
    right = verify_module.check_config

    def with_gaps(*args, **kwargs):
        problems, unsupported = right(*args, **kwargs)
        return problems, unsupported | {"aten.foo.default", "aten.bar.default"}

    monkeypatch.setattr(verify_module, "check_config", with_gaps)
    doc = json.loads(run("verify", "se", "--samples", "1", "--no-symbolic", "--format", "json").stdout)
    row = doc["rows"][0]
    assert row["unsupported_ops"] == ["aten.bar.default", "aten.foo.default"] and row["result"] == "FAIL"
    text = run("verify", "se", "--samples", "1", "--no-symbolic", "--format", "csv").stdout
    (read,) = csv.DictReader(line for line in text.splitlines() if not line.startswith("#"))
    assert json.loads(read["unsupported_ops"]) == ["aten.bar.default", "aten.foo.default"]
    table = run("verify", "se", "--samples", "1", "--no-symbolic").stdout
    assert "aten.bar.default, aten.foo.default" in table


def _not_covered(monkeypatch):
    """SE's training step as if the formula side had no backward for one of its ops."""
    def no_backward(*args, **kwargs):
        raise TrainingError("Program.example has no backward yet")

    monkeypatch.setattr(training, "formula_training_cost", no_backward)


def test_not_covered_is_data_in_json_and_csv_and_words_in_the_table(monkeypatch):
    _not_covered(monkeypatch)
    args = ("verify", "se", "--mode", "train", "--samples", "2", "--no-symbolic")
    doc = json.loads(run(*args, "--format", "json").stdout)
    row = doc["rows"][0]
    # nothing compared: both configurations not covered, no route run
    assert row["result"] == "n/a" and row["configs"] == 0 and row["proof"] is None
    assert row["not_covered"] == [{"reason": "Program.example has no backward yet", "configs": 2}]
    assert doc["not_covered_modules"] == ["se"] and doc["not_covered"] == 1
    text = run(*args, "--format", "csv").stdout
    assert "# not_covered_modules: [\"se\"]" in text.splitlines()
    (read,) = csv.DictReader(line for line in text.splitlines() if not line.startswith("#"))
    assert read["proof"] == ""                                          # null: an empty cell
    assert json.loads(read["not_covered"]) == row["not_covered"] and json.loads(read["differs"]) == []
    table = run(*args).stdout
    assert "2 configs: Program.example has no backward yet" in table
    assert "not_covered_modules: se" in table.splitlines()


@pytest.mark.parametrize("fmt", ["table", "markdown"])
def test_tables_stay_human(fmt):
    text = run("verify", "se", "--mode", "train", "--samples", "1", "--no-symbolic", "--format", fmt).stdout
    body = [line for line in text.splitlines() if line.lstrip("|").strip().startswith("se")]
    assert body and "[]" not in body[0] and "-" in body[0].split()
    assert "not_covered_modules" not in text                            # none: left out
