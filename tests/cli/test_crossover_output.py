"""``attncost crossover --format json|csv`` is data (docs/JSON.md): a schema_version, fixed snake_case
keys (the module names are values, never part of a key), numbers as numbers; the table stays human."""

import json
import re

import pytest
from click.testing import CliRunner

import attncost
from attncost.cli.main import cli

SNAKE = re.compile(r"[a-z][a-z0-9]*(_[a-z0-9]+)*")
ARGS = ["crossover", "nonlocal", "ccnet", "--shape", "512xHxW"]


def run(*args):
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


def strict_json(text: str):
    def refuse(constant):
        raise AssertionError(f"non-finite number {constant} in the JSON")

    return json.loads(text, parse_constant=refuse)


def keys(value):
    if isinstance(value, dict):
        for key, inner in value.items():
            yield key
            yield from keys(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from keys(inner)


@pytest.fixture(scope="module")
def doc():
    return strict_json(run(*ARGS, "--format", "json"))


def test_json_has_a_schema_version_and_snake_case_keys(doc):
    assert doc["schema_version"] == 1 and doc["command"] == "crossover"
    assert all(SNAKE.fullmatch(key) for key in keys(doc)), [k for k in keys(doc) if not SNAKE.fullmatch(k)]
    assert not any("nonlocal" in key or "ccnet" in key for key in keys(doc))       # names are values
    assert doc["modules"] == ["nonlocal", "ccnet"]


def test_json_carries_the_crossing_and_roots_as_numbers(doc):
    # docs/API.md: nonlocal and ccnet at 512xHxW cross at H = 44; the floor-free root is 42.24
    assert doc["points"] == [44] and all(type(p) is int for p in doc["points"])
    assert len(doc["symbolic_roots"]) == 1 and isinstance(doc["symbolic_roots"][0], float)
    assert round(doc["symbolic_roots"][0], 2) == 42.24
    assert doc["segments"][-1] == {"from": 44, "to": 1024, "cheaper": "ccnet"}
    assert not any(isinstance(v, str) and re.fullmatch(r"[-0-9., ]+|[A-Z] = [0-9]+", v) for v in doc.values())


def test_json_is_the_api_dict_and_its_rows():
    result = attncost.crossover("nonlocal", "ccnet", "512xHxW")
    printed = strict_json(run(*ARGS, "--format", "json"))
    assert printed == {**result.to_dict(), "rows": result.to_dict()["segments"]}
    assert json.loads(result.render("json")) == printed


def test_csv_rows_are_the_segments_after_typed_metadata():
    text = run(*ARGS, "--format", "csv")
    lines = text.splitlines()
    meta = dict(line[2:].split(": ", 1) for line in lines if line.startswith("# "))
    assert meta["schema_version"] == "1" and meta["command"] == "crossover"
    assert all(SNAKE.fullmatch(key) for key in meta)
    assert json.loads(meta["points"]) == [44] and json.loads(meta["modules"]) == ["nonlocal", "ccnet"]
    rows = [line for line in lines if not line.startswith("#")]
    assert rows[0] == "from,to,cheaper" and rows[-1] == "44,1024,ccnet"


def test_the_table_stays_human():
    text = run(*ARGS)
    assert "crossing: H = 44" in text and "real roots (floors dropped): 42.24" in text
    assert "schema_version" not in text
