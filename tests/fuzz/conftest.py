"""The fuzz suites' shared pieces: the cases run are counted by kind and printed at the end of the run
(tests marked ``slow``, more examples, are deselected by tests/conftest.py unless ``-m slow``)."""

from collections import Counter

import pytest

_CASES = Counter()


@pytest.fixture(scope="session")
def fuzz_cases() -> Counter:
    """kind -> how many bad inputs were run (``in-process`` and ``process`` counted apart)."""
    return _CASES


def pytest_terminal_summary(terminalreporter):
    if _CASES:
        total = sum(_CASES.values())
        terminalreporter.write_line(f"fuzz cases: {total} ("
                                    + ", ".join(f"{kind} {n}" for kind, n in sorted(_CASES.items())) + ")")
