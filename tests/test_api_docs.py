"""docs/API.md's examples are doctests: run them, so the page says what the code answers."""

from __future__ import annotations

import doctest
from pathlib import Path

DOC = Path(__file__).parents[1] / "docs" / "API.md"


def test_the_api_page_runs(monkeypatch):
    monkeypatch.chdir(DOC.parents[1])                     # spec paths in the examples are the repository's
    failures, tried = doctest.testfile(str(DOC), module_relative=False, optionflags=doctest.ELLIPSIS
                                       | doctest.NORMALIZE_WHITESPACE, raise_on_error=False, verbose=False,
                                       report=True)
    assert tried > 40, f"docs/API.md has only {tried} examples"
    assert failures == 0, f"{failures} of docs/API.md's {tried} examples fail (doctest's report is above)"
