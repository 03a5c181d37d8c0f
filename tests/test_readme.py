"""Every ``attncost`` command the README shows runs, exits 0 and prints what the README says.

The commands are read from the README itself (its indented code blocks), so a command added there
without a line here fails :func:`test_every_readme_command_is_covered`. Each runs in a scratch folder
that holds the repository's ``specs/`` and ``examples/``, in the order that makes the files later
commands read (``lut.json``, ``validation.json``, ``profile.json``). Where the README's command
takes minutes, the test runs it on smaller inputs, named in :data:`SMALLER` (fewer samples, rounds
and repeats; the same code paths). What a command "prints" is checked against the README's own
claims: the figures in its comment (``# CBAM-ResNet-50: 28.09 M, 3.864 G MACs``) and the files it
says it writes.
"""

from __future__ import annotations

import os
import re
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner

from attncost.cli.main import cli

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"


def readme_commands() -> list[str]:
    """The ``attncost ...`` lines of the README's indented code blocks, comments dropped."""
    commands = []
    for line in README.read_text(encoding="utf-8").splitlines():
        text = line.strip()
        if line.startswith("    ") and text.startswith("attncost "):
            commands.append(" ".join(shlex.split(text, comments=True)))
        elif line.startswith("    ") and " && attncost " in text:        # the set-up command that runs the main job
            commands.append(" ".join(shlex.split(text.split(" && attncost ", 1)[1], comments=True)).join(("attncost ", "")))
    return list(dict.fromkeys(commands))


#: README command -> the smaller run the test makes (the README's own figures are for the full run)
SMALLER = {
    "attncost verify": "attncost verify --samples 1 --no-symbolic",
    "attncost verify se cbam --samples 200": "attncost verify se cbam --samples 3",
    "attncost lut build specs/singlepath-space.yaml -o lut.json":
        "attncost lut build specs/singlepath-space.yaml -o lut.json --repeats 2 --warmup 1 --calibrate-archs 2",
    "attncost lut build specs/singlepath-space.yaml -o sp.json --layout singlepath":
        "attncost lut build specs/singlepath-space.yaml -o sp.json --layout singlepath --repeats 1 --warmup 0 "
        "--calibrate-archs 0",
    "attncost lut validate lut.json --samples 50 --report validation.json":
        "attncost lut validate lut.json --samples 3 --passes 1 --repeats 1 --calibrate-archs 2 --report validation.json",
}

#: README command -> what its output must contain (from the README's comment or the text around it)
PRINTS = {
    "attncost compare se eca cbam --shape 256x14x14": ["se", "eca", "cbam", "8.464 K", "flops/first"],
    "attncost compare se nonlocal --shape 2x64x14x14 --mode train --optimizer adam":
        ["backward MACs", "2.048 K", "8.881 M", "optimizer state"],
    "attncost network resnet50 --attn cbam --mode train --train-only attention:*":
        ["2.533 M trainable params", "training step:", "saved for backward"],
    "attncost compare nonlocal --shape 2x64x14x14 --mode train --checkpoint nonlocal": ["98.00 KiB"],
    "attncost verify se cbam nonlocal --mode train --samples 5": ["se", "cbam", "nonlocal", "pass"],
    "attncost crossover nonlocal ccnet --shape 32x512xHxW --mode train --metric peak": ["crossing: H = 80"],
    "attncost fit nonlocal --shape 32x512xHxW --budget 16GiB --mode train --optimizer adam":
        ["H=W = 109", "15.29 GiB"],
    "attncost list": ["channel", "spatial", "self-attention"],
    "attncost list cbam*": ["cbam"],
    "attncost list --networks": ["resnet50", "25.56 M", "76.13%"],
    "attncost compare se eca cbam nonlocal --shape 256x56x56 --convention macs --format markdown": ["| se", "convention"],
    "attncost compare se --shape 8x512x28x28 --hp se.r=8 --dtype float16 --format json": ['"dtype": "float16"'],
    "attncost formula nonlocal": ["params", "macs"],
    "attncost formula nonlocal --leading": ["H**2*N*W**2/4"],          # N*C*(HW)^2/4, as the comment says
    "attncost formula eca --hp k=5 --latex": ["\\"],
    "attncost crossover nonlocal ccnet --shape 512xHxW": ["ccnet", "nonlocal"],
    "attncost crossover mhsa conv --shape 256xHxW --metric flops": ["mhsa", "conv"],
    "attncost network resnet50-v1 --attn cbam --convention macs": ["28.09 M", "3.864 G"],
    "attncost network examples/models/mine.py:build --shape 3x224x224": ["1x3x224x224", "total"],
    "attncost network resnet50 --attn nonlocal --where after_blocks --stages 3 --blocks 1,3,5 --group-by kind":
        ["nonlocal", "total"],
    "attncost network specs/resnet50-gc.yaml --group-by block --format csv": ["# ", "block,params"],
    "attncost network resnet18 --attn se --depth 2": ["stage1/block0", "block"],
    "attncost network examples/models/mine.py:build --depth 3 --strict": ["layer1.0.se"],
    "attncost verify": ["pass"],
    "attncost verify se cbam --samples 200": ["se", "cbam", "pass"],
    "attncost network examples/models/vit.py:build --shape 1x197x768 --exact-shape --attention-modules blocks.*.attn":
        ["blocks", "attention share"],
    "attncost network examples/models/clip.py:build --shape 1x3x224x224,1x77:int64 --dtype float16":
        ["1x3x224x224,1x77:int64", "float16"],
    "attncost network examples/models/clip.py:build": ["1x77:int64"],
    "attncost network examples/models/mine.py:build --mode train --depth 2": ["mode: train"],
    "attncost network examples/models/nonlocal.py:build --shape 3x2048x2048": ["fake tensors: True"],
    "attncost formula examples/models/mine.py:build --shape 3xHxW --leading": ["H*W"],
    "attncost crossover examples/models/nonlocal.py:block nonlocal --shape 256xHxW": ["nonlocal"],
    "attncost lut runtime lut.json": ["d5x5_1", "d100c_1"],            # Eq. 7's indicators
    "attncost lut predict specs/singlepath-space.yaml --device-profile profile.json": ["predicted"],
}

#: README command -> the file it writes (checked to exist and be non-empty)
WRITES = {
    "attncost report specs/attention-review.yaml -o reports/attention-review.html": "reports/attention-review.html",
    "attncost report --modules se,eca,cbam,nonlocal --shape 256x56x56 --shape 1024x14x14 -o reports/quick.html":
        "reports/quick.html",
    "attncost report --networks resnet50,mobilenet-v2 -o reports/nets.html": "reports/nets.html",
    "attncost report --lut lut.json --measurements validation.json -o reports/latency.html": "reports/latency.html",
    "attncost lut build specs/singlepath-space.yaml -o lut.json": "lut.json",
    "attncost lut build specs/singlepath-space.yaml -o sp.json --layout singlepath": "sp.json",
    "attncost lut validate lut.json --samples 50 --report validation.json": "validation.json",
    "attncost lut calibrate lut.json -o profile.json": "profile.json",
}

#: the files commands read, so the order puts their writers first
READS = ("lut.json", "validation.json", "profile.json")


def _order(commands: list[str]) -> list[str]:
    """README order, except that a command reading a file another command writes runs after it."""
    written = {path: command for command, path in WRITES.items()}
    ordered: list[str] = []

    def visit(command):
        if command in ordered:
            return
        words = command.split()
        for path in READS:
            writer = written.get(path)
            if path in words and writer and writer != command and path != WRITES.get(command):
                visit(writer)
        ordered.append(command)

    for command in commands:
        visit(command)
    return ordered


def test_every_readme_command_is_covered():
    """A README command the test knows nothing to check about is a README claim nobody checks."""
    unchecked = [c for c in readme_commands() if c not in PRINTS and c not in WRITES]
    assert not unchecked, f"README commands with no expectation in tests/test_readme.py: {unchecked}"
    stale = [c for c in [*PRINTS, *WRITES, *SMALLER] if c not in readme_commands()]
    assert not stale, f"expectations for commands the README no longer shows: {stale}"


@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    folder = tmp_path_factory.mktemp("readme")
    for name in ("specs", "examples"):
        os.symlink(ROOT / name, folder / name)
    (folder / "reports").mkdir()
    return folder


def test_every_readme_command_runs_and_prints_what_the_readme_says(scratch, monkeypatch):
    monkeypatch.chdir(scratch)
    runner = CliRunner()
    failures = []
    for command in _order(readme_commands()):
        run = SMALLER.get(command, command)
        result = runner.invoke(cli, shlex.split(run)[1:], catch_exceptions=False)
        if result.exit_code != 0:
            failures.append(f"{run}: exit {result.exit_code}: {result.output[-300:]}")
            continue
        missing = [text for text in PRINTS.get(command, []) if text not in result.output]
        if missing:
            failures.append(f"{run}: output lacks {missing}")
        path = WRITES.get(command)
        if path and not ((scratch / path).is_file() and (scratch / path).stat().st_size > 0):
            failures.append(f"{run}: did not write {path}")
    assert not failures, "\n".join(failures)

