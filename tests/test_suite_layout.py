"""The test modules have one basename each: pytest imports them by basename (rootdir ``prepend`` import
mode, no packages), so a second ``test_x.py`` in another folder stops collection. Mirroring the package
layout (``tests/cost/``, ``tests/trace/``) makes such a clash easy to write; this catches it."""

from collections import Counter
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def test_every_test_module_has_its_own_basename():
    names = Counter(path.name for path in TESTS.rglob("test_*.py"))
    assert not [name for name, count in names.items() if count > 1]


def test_the_check_sees_the_suite():
    assert {"test_suite_layout.py", "test_training_tracer.py"} <= {p.name for p in TESTS.rglob("test_*.py")}
