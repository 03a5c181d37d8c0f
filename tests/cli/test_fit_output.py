"""``fit --format json|csv`` follows docs/JSON.md: ``schema_version`` first, ``snake_case`` keys, numbers
as numbers, rows ``{size, peak_bytes, budget_bytes, fits}`` with the varied dimensions named by
``vary``; CSV's metadata ``# key: value`` lines with the JSON's keys and exact values, as
``network --format csv`` writes them. The table stays human (``H=W`` over the sizes, the caption)."""

from __future__ import annotations

import csv
import json
import re

import pytest
from click.testing import CliRunner

from attncost.cli.main import cli

ARGS = ("fit", "nonlocal", "--shape", "8x512xHxW", "--budget", "1GiB")
GIB = 2 ** 30                       # 1GiB = 1,073,741,824 bytes
TOP_LEVEL = ["schema_version", "command", "module", "shape", "vary", "range", "budget_bytes", "mode", "peak",
             "largest", "peak_bytes", "next_size", "next_peak_bytes"]
ROW = ["size", "peak_bytes", "budget_bytes", "fits"]
SNAKE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)?$")


def run(*args):
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


def test_json_has_a_schema_version_and_snake_case_rows():
    doc = json.loads(run(*ARGS, "--format", "json"))
    assert list(doc)[:len(TOP_LEVEL)] == TOP_LEVEL and list(doc)[-2:] == ["dtype", "rows"]
    assert (doc["schema_version"], doc["command"], doc["module"]) == (1, "fit", "nonlocal")
    assert doc["shape"] == [8, 512, "H", "W"] and doc["vary"] == "H=W" and doc["range"] == [1, 4096]
    assert doc["budget_bytes"] == GIB and doc["mode"] == "eval" and doc["dtype"] == "float32"
    first, second = doc["rows"]
    assert list(first) == ROW and list(second) == ROW
    # the largest size that fits and the one after it, as the top-level fields say
    assert first == {"size": doc["largest"], "peak_bytes": doc["peak_bytes"], "budget_bytes": GIB, "fits": True}
    assert second == {"size": doc["largest"] + 1, "peak_bytes": doc["next_peak_bytes"], "budget_bytes": GIB,
                      "fits": False}
    assert doc["next_size"] == doc["largest"] + 1 and doc["peak_bytes"] <= GIB < doc["next_peak_bytes"]
    assert all(isinstance(doc[key], int) for key in ("largest", "peak_bytes", "next_size", "next_peak_bytes"))


def test_json_of_a_training_step_names_its_options():
    doc = json.loads(run(*ARGS, "--mode", "train", "--optimizer", "adam", "--format", "json"))
    assert list(doc)[0] == "schema_version" and doc["mode"] == "train" and "dtype" not in doc
    assert doc["training"] == {"optimizer": "adam", "precision": "fp32", "checkpoint": [], "train_only": []}
    assert all(list(row) == ROW for row in doc["rows"])


@pytest.mark.parametrize("extra", [(), ("--mode", "train")])
def test_csv_metadata_is_key_value_lines_of_the_json(extra):
    doc = json.loads(run(*ARGS, *extra, "--format", "json"))
    lines = run(*ARGS, *extra, "--format", "csv").splitlines()
    comments = [line for line in lines if line.startswith("#")]
    meta = dict(line[2:].split(": ", 1) for line in comments)
    assert all(SNAKE.match(key) for key in meta), list(meta)
    assert comments[:2] == ["# schema_version: 1", "# command: fit"]
    assert meta["shape"] == "8x512xHxW" and meta["vary"] == "H=W" and meta["range"] == "[1, 4096]"
    assert meta["budget_bytes"] == str(GIB)
    for key in ("largest", "peak_bytes", "next_size", "next_peak_bytes"):
        assert meta[key] == str(doc[key])                      # exact integers, no separators or units
    if extra:
        assert meta["training.optimizer"] == "sgd" and meta["training.checkpoint"] == "[]"
    rows = list(csv.DictReader(line for line in lines if not line.startswith("#")))
    assert [list(row) for row in rows] == [ROW, ROW]
    assert [int(row["size"]) for row in rows] == [doc["largest"], doc["largest"] + 1]
    assert [row["fits"] for row in rows] == ["True", "False"]


def test_the_table_keeps_the_size_named_and_the_caption_human():
    text = run(*ARGS)
    assert text.splitlines()[0].split() == ["H=W", "peak", "budget", "fits"]
    assert "largest that fits: H=W = " in text and "budget: 1,073,741,824 bytes (1.000 GiB)" in text
