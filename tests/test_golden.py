"""Golden outputs of the README's deterministic commands: a regression guard for refactoring.

These expectations are attncost's own earlier output, on purpose and only here: they prove that a
change meant to move no number moves none (every number in them is proven elsewhere against an
independent witness). Regenerate after an intended change with
``ATTNCOST_UPDATE_GOLDEN=1 python -m pytest tests/test_golden.py`` and review the diff.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from attncost.cli.main import cli

GOLDEN = Path(__file__).parent / "golden"
ROOT = Path(__file__).resolve().parents[1]

# Commands from the README (Use) whose output depends on nothing but attncost (no timing, no torch).
COMMANDS = [
    "list",
    "list cbam*",
    "compare se eca cbam --shape 256x14x14",
    "compare se eca cbam nonlocal --shape 256x56x56 --convention macs --format markdown",
    "compare se --shape 8x512x28x28 --hp se.r=8 --dtype float16 --format json",
    "formula nonlocal",
    "formula nonlocal --leading",
    "formula eca --hp k=5 --latex",
    "crossover nonlocal ccnet --shape 512xHxW",
    "crossover mhsa conv --shape 256xHxW --metric flops",
    "network resnet50-v1 --attn cbam --convention macs",
    "network resnet50 --attn nonlocal --where after_blocks --stages 3 --blocks 1,3,5 --group-by kind",
    "network specs/resnet50-gc.yaml --group-by block --format csv",
    "network mobilenet-v2 --attn se --format json",
    "network vit-b16",
    # every digit: the human-unit tables above round to 4 significant digits, these guard the rest
    "compare se eca cbam nonlocal --shape 256x56x56 --units exact",
    "network resnet50-v1 --attn cbam --convention macs --units exact",
    "network resnet50 --attn nonlocal --where after_blocks --stages 3 --blocks 1,3,5 --group-by kind --units exact",
]


def _file(command: str) -> Path:
    return GOLDEN / (re.sub(r"[^A-Za-z0-9]+", "_", command).strip("_") + ".txt")


@pytest.mark.parametrize("command", COMMANDS)
def test_output_is_unchanged(command, monkeypatch):
    monkeypatch.chdir(ROOT)
    result = CliRunner().invoke(cli, command.split(), catch_exceptions=False)
    text = f"exit {result.exit_code}\n{result.output}"
    path = _file(command)
    if os.environ.get("ATTNCOST_UPDATE_GOLDEN"):
        path.write_text(text)
    assert path.exists(), f"no golden output for {command!r}: run with ATTNCOST_UPDATE_GOLDEN=1"
    assert text == path.read_text()
