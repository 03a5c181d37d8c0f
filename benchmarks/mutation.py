"""Mutation check: does the suite notice a wrong formula, weight, liveness rule or autograd rule?

Each mutant (benchmarks/mutants.py) is one change: a primitive's count of one op kind off by one
element (or softmax counted twice), one convention weight of one op kind changed by one, or one
liveness rule broken (the input not live from the start, views not extending their storage's life,
outputs not kept, storages dying a step late, uses ignored, only an op's first output allocated), or
one rule of the training side's autograd engine broken (AccumulateGrad always or never copying, later
gradients of an input buffer dropped, nothing saved, checkpointed regions saving, ready nodes run
lowest sequence number first, broadcast gradients not summed to their input's shape).
For each, the tests that should notice run in a fresh process with the mutant applied (``-x``: the
first failure kills it), and the script prints every mutant with the test that killed it and the
mutation score. Every mutant must be killed; the exit code is 1 otherwise.

    python benchmarks/mutation.py                    # all of them (several minutes on 2 cores)
    python benchmarks/mutation.py --group liveness   # one group
    python benchmarks/mutation.py --only 'softmax:softmax*2'

Weight mutants are killed by the generated docs table (the documented weights are the reference)
before the tests that weigh counts by hand or against fvcore and FlopCounterMode run.
"""

from __future__ import annotations

import argparse
import contextlib
import fnmatch
import io
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from mutants import all_mutants  # noqa: E402  (benchmarks/ is not a package)

# The tests with independent oracles, cheapest and most telling first (the first failure kills).
KILLERS = {
    "formula": ["tests/ops", "tests/trace/test_aten_oracles.py", "tests/catalogue/test_full_flops_by_hand.py",
                "tests/catalogue/test_hand_derived.py"],
    "weight": ["tests/ops/test_primitives.py::test_docs_table_is_generated_from_the_definitions",
               "tests/catalogue/test_full_flops_by_hand.py", "tests/verify/test_against_peers.py"],
    "liveness": ["tests/cost/test_liveness.py", "tests/verify/test_memory_vs_allocator.py"],
    "training": ["tests/verify/test_training_formula_vs_tracer.py", "tests/cost/test_training.py",
                 "tests/verify/test_training_memory_vs_allocator.py"],
}


def run(mutant, group: str | None = None) -> str | None:
    """The first test that fails with ``mutant`` applied (None: the unmutated code, for ``group``),
    or None when every test passes."""
    env = dict(os.environ, ATTNCOST_MUTANT=mutant.name if mutant else "",
               PYTHONPATH=os.pathsep.join([str(ROOT / "benchmarks"), os.environ.get("PYTHONPATH", "")]))
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "mutants", "-p", "no:cacheprovider",
                             "--hypothesis-seed=0", *KILLERS[mutant.group if mutant else group]],
                            cwd=ROOT, env=env, capture_output=True, text=True)
    if result.returncode == 0:
        return None
    failed = re.search(r"^FAILED (\S+)", result.stdout, re.M)
    errored = re.search(r"^ERROR (\S+)", result.stdout, re.M)
    return (failed or errored).group(1) if (failed or errored) else f"pytest exit {result.returncode}"


def run_in_process(mutant) -> str | None:
    """``run`` for a mutant that can be undone: apply, run its tests in this process, revert (the
    weight mutants: one process each would spend minutes importing torch)."""
    import pytest

    class FirstFailure:
        failed = None

        def pytest_runtest_logreport(self, report):
            if report.failed and self.failed is None:
                self.failed = report.nodeid

    mutant.apply()
    try:
        collector = FirstFailure()
        code = pytest.main(["-q", "-x", "-p", "no:cacheprovider", "--no-header", "--no-summary",
                            "--hypothesis-seed=0", *[str(ROOT / k) for k in KILLERS[mutant.group]]],
                           plugins=[collector])
    finally:
        mutant.revert()
    return None if code == 0 else (collector.failed or f"pytest exit {code}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--group", choices=sorted(KILLERS))
    parser.add_argument("--only", help="a wildcard over mutant names")
    parser.add_argument("--without-docs", action="store_true",
                        help="weights: leave out the docs-table test, to see which weights the semantic tests "
                             "(hand derivations, fvcore, FlopCounterMode) pin down on their own")
    args = parser.parse_args(argv)
    if args.without_docs:
        KILLERS["weight"] = [k for k in KILLERS["weight"] if "test_docs_table" not in k]
    mutants = [m for m in all_mutants() if (not args.group or m.group == args.group)
               and (not args.only or fnmatch.fnmatchcase(m.name, args.only))]
    if not mutants:
        parser.error("no mutant matches")
    for group in sorted({m.group for m in mutants}):
        failing = run(None, group)
        if failing:
            print(f"the {group} tests fail without any mutant ({failing}): fix them first", file=sys.stderr)
            return 2
    survivors = []
    for i, mutant in enumerate(mutants, 1):
        if mutant.revert is not None:
            with contextlib.redirect_stdout(io.StringIO()):
                killer = run_in_process(mutant)
        else:
            killer = run(mutant)
        print(f"[{i}/{len(mutants)}] {mutant.name}: {'killed by ' + killer if killer else 'SURVIVED'}", flush=True)
        if killer is None:
            survivors.append(mutant.name)
    killed = len(mutants) - len(survivors)
    print(f"mutation score: {killed}/{len(mutants)} killed ({100 * killed / len(mutants):.1f}%)")
    for name in survivors:
        print(f"survivor: {name}")
    return 1 if survivors else 0


if __name__ == "__main__":
    sys.exit(main())
