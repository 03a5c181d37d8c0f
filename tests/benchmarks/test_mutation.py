"""benchmarks/mutation.py in a small, real form: a mutant of each kind the full run checks is applied
through the script's own pytest plugin and the test that the full run found killing it fails (it
passes unmutated: the suite runs it). The full run (every mutant, many minutes) is
``python benchmarks/mutation.py``."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]

KILLED_BY = [
    ("softmax:softmax*2", "tests/trace/test_aten_oracles.py::test_softmax_counts_elements"),
    ("training:nothing-saved-for-backward", "tests/verify/test_training_formula_vs_tracer.py::test_resnet18_small"),
    ("liveness:outputs-not-kept-to-the-end", "tests/cost/test_liveness.py"),
]


@pytest.mark.parametrize("mutant, killer", KILLED_BY)
def test_the_mutant_is_killed(mutant, killer):
    env = dict(os.environ, ATTNCOST_MUTANT=mutant,
               PYTHONPATH=os.pathsep.join([str(ROOT / "benchmarks"), os.environ.get("PYTHONPATH", "")]))
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "mutants", "-p", "no:cacheprovider",
                             "--hypothesis-seed=0", killer], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 1, result.stdout[-2000:]
    assert "FAILED" in result.stdout


def test_every_mutant_name_is_unique_and_each_group_has_killers():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from mutants import all_mutants
        from mutation import KILLERS
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    mutants = all_mutants()
    assert len({m.name for m in mutants}) == len(mutants)
    assert {m.group for m in mutants} == set(KILLERS)
