"""Concrete answers load neither sympy nor torch (docs/ARCHITECTURE.md, "Concrete and symbolic sizes").

Importing sympy is about half the start-up of a command (``import sympy`` alone takes longer than
``compare`` does), so ``compare``, ``network`` on reference networks and spec files and ``list`` must
not load it when every size is concrete; ``formula`` and ``crossover`` load it because they need it.
Each case runs the CLI in a fresh interpreter (the pattern of tests/cli/test_cli.py's torch check:
``python -c``, then a look at ``sys.modules``), so nothing this test process imported can hide an
import.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: modules a concrete answer must not load
HEAVY = ("sympy", "torch")

#: the commands that answer with numbers only (the README's, and variants of their options)
CONCRETE = [
    ["compare", "se", "eca", "cbam", "--shape", "256x14x14"],
    ["compare", "se", "eca", "cbam", "nonlocal", "--shape", "256x56x56", "--convention", "macs", "--format",
     "markdown"],
    ["compare", "se", "--shape", "8x512x28x28", "--hp", "se.r=8", "--dtype", "float16", "--format", "json"],
    ["network", "resnet50-v1", "--attn", "cbam"],
    ["network", "resnet50", "--attn", "nonlocal", "--where", "after_blocks", "--stages", "3", "--blocks", "1,3,5",
     "--group-by", "kind"],
    ["network", "mobilenet-v2", "--attn", "se"],
    ["network", "mobilenet-v2", "--attn", "se", "--format", "json"],
    ["network", "vit-b16"],
    ["network", "specs/resnet50-gc.yaml"],
    ["network", "specs/resnet50-gc.yaml", "--group-by", "block", "--format", "csv"],
    ["network", "resnet18", "--attn", "gc", "--depth", "2"],
    ["list"],
    ["list", "cbam*"],
    ["list", "--format", "json"],
]


def run_cli(commands: list[list[str]], fallbacks: dict | None = None) -> list[dict]:
    """Run each command through ``attncost.cli.main.cli`` in one fresh interpreter, in order; for
    each: its exit code and which of HEAVY were loaded after it. ``fallbacks`` {index: [argv, ...]}:
    where a command exits non-zero, the next of these is run instead (an entry that needs a specific
    shape)."""
    code = f"""
import contextlib, io, json, sys
from attncost.cli.main import cli

def once(argv):
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()) as err:
        try:
            cli.main(argv, standalone_mode=False)
            code = 0
        except SystemExit as exit:
            code = exit.code or 0
    return code, err.getvalue()

out = []
commands, fallbacks = json.loads(sys.argv[1]), json.loads(sys.argv[2])
for i, argv in enumerate(commands):
    tried = [argv] + fallbacks.get(str(i), [])
    for argv in tried:
        code, err = once(argv)
        if code == 0:
            break
    out.append({{"argv": argv, "exit": code, "stderr": err[-300:],
                "loaded": [m for m in {HEAVY!r} if m in sys.modules]}})
print(json.dumps(out))
"""
    proc = subprocess.run([sys.executable, "-c", code, json.dumps(commands),
                           json.dumps({str(k): v for k, v in (fallbacks or {}).items()})],
                          capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _first_loading(results: list[dict], refused: str | None = None) -> list[str]:
    """Every command that failed (but those refused with ``refused`` in their error), and the first
    after which one of HEAVY was loaded."""
    problems = [f"{' '.join(r['argv'])}: exit {r['exit']}: {r['stderr']}" for r in results
                if r["exit"] != 0 and not (refused and r["exit"] == 2 and refused in r["stderr"])]
    loading = next((r for r in results if r["loaded"]), None)
    if loading is not None:
        problems.append(f"{' '.join(loading['argv'])} loaded {', '.join(loading['loaded'])}")
    return problems


@pytest.mark.parametrize("argv", CONCRETE, ids=[" ".join(c) for c in CONCRETE])
def test_a_concrete_command_loads_neither_sympy_nor_torch(argv):
    assert _first_loading(run_cli([argv])) == []


def test_comparing_every_catalogue_entry_at_a_concrete_shape_loads_no_sympy():
    """Every entry, one ``compare`` each in one interpreter (the first that loads sympy is named), at
    256x14x14 or, where an entry refuses that shape (a ViT layer's 12 heads, a 16-pixel patch, pooling
    three times), at 768x32x32; then all of them at once, under every convention."""
    from attncost import catalogue

    names = [e.name for e in catalogue.entries()]
    commands = [["compare", name, "--shape", "256x14x14"] for name in names]
    fallbacks = {i: [["compare", name, "--shape", "768x32x32"], ["compare", name, "--shape", "2x768x32x32"]]
                 for i, name in enumerate(names)}
    commands += [["compare", *names, "--shape", "768x32x32", "--convention", c, "--format", "json"]
                 for c in ("macs", "fvcore", "flopcounter", "full")]
    commands.append(["compare", *names, "--shape", "2x768x32x32"])
    assert _first_loading(run_cli(commands, fallbacks)) == []


def test_every_reference_network_and_spec_file_loads_no_sympy():
    """Every definition plain and with SE and CBAM in every block (a transformer, which has no CNN
    stages to put them in, refuses), and the ResNet-50 spec files."""
    from attncost.networks import DEFINITIONS

    commands = [["network", name, *attn] for name in sorted(DEFINITIONS)
                for attn in ([], ["--attn", "se,cbam", "--group-by", "block"])]
    commands += [["network", str(path.relative_to(ROOT))] for path in sorted((ROOT / "specs").glob("resnet50-*.yaml"))]
    assert _first_loading(run_cli(commands), refused="attention placements apply to CNN stages") == []


@pytest.mark.parametrize("argv", [
    ["formula", "nonlocal"],
    ["crossover", "nonlocal", "ccnet", "--shape", "512xHxW", "--range", "2", "64"],
])
def test_symbolic_commands_load_sympy_and_not_torch(argv):
    """The check above can fail: a command that needs sympy is seen loading it."""
    [result] = run_cli([argv])
    assert result["exit"] == 0, result["stderr"]
    assert result["loaded"] == ["sympy"]


def test_importing_the_formula_side_loads_no_sympy_until_a_symbol_is_asked_for():
    code = ("import sys; import attncost, attncost.api, attncost.catalogue, attncost.symbols, attncost.networks, "
            "attncost.graph; before = 'sympy' in sys.modules; from attncost.symbols import H; "
            "from attncost.catalogue.families.nas import D5X5; "
            "print(before, 'sympy' in sys.modules, H.is_positive and H.is_integer, D5X5.is_nonnegative)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.stdout.split() == ["False", "True", "True", "True"], proc.stderr[-2000:]
