"""The fuzz suites' shared pieces: tests marked ``slow`` (more examples) run only when asked for with
``-m slow``, and the cases run are counted by kind and printed at the end of the run."""

from collections import Counter

import pytest

_CASES = Counter()


def pytest_collection_modifyitems(config, items):
    if config.option.markexpr:
        return
    slow = [item for item in items if item.get_closest_marker("slow")]
    if slow:
        config.hook.pytest_deselected(items=slow)
        items[:] = [item for item in items if not item.get_closest_marker("slow")]


@pytest.fixture(scope="session")
def fuzz_cases() -> Counter:
    """kind -> how many bad inputs were run (``in-process`` and ``process`` counted apart)."""
    return _CASES


def pytest_terminal_summary(terminalreporter):
    if _CASES:
        total = sum(_CASES.values())
        terminalreporter.write_line(f"fuzz cases: {total} ("
                                    + ", ".join(f"{kind} {n}" for kind, n in sorted(_CASES.items())) + ")")
