"""The LUT tests' spaces (tests marked ``slow``, the full 22-layer table and a 50-architecture validation,
are deselected by tests/conftest.py unless ``-m slow``; the default run measures the tiny space)."""

import pytest


@pytest.fixture(scope="session")
def tiny_space():
    from pathlib import Path

    from attncost.lut.space import load_space

    return load_space(Path(__file__).parents[2] / "specs" / "singlepath-tiny.yaml")


@pytest.fixture(scope="session")
def full_space():
    from pathlib import Path

    from attncost.lut.space import load_space

    return load_space(Path(__file__).parents[2] / "specs" / "singlepath-space.yaml")


@pytest.fixture(scope="session")
def tiny_measured_table(tiny_space, tmp_path_factory):
    """A real (small) measured table of the tiny space, written to disk: (path, Lut)."""
    from attncost.lut.harness import measure_segments
    from attncost.lut.table import new_table

    measurement = measure_segments(tiny_space, warmup=1, repeats=5, quiet=True)
    lut = new_table(tiny_space, measurement, {"timing": "in-context", "threads": 1, "batch": 1, "warmup": 1,
                                              "repeats": 5, "seed": 0})
    path = tmp_path_factory.mktemp("lut") / "tiny.json"
    path.write_text(lut.text())
    return path, lut


@pytest.fixture(scope="session")
def twin_space():
    """Six layers, of which layers 3 and 4 (and SE on layers 2-4) must measure alike in context."""
    from pathlib import Path

    from attncost.lut.space import load_space

    return load_space(Path(__file__).parent / "singlepath-twins.yaml")
