"""One file per family, named after it, on both sides: the layout docs/ARCHITECTURE.md promises.

``catalogue.FAMILIES`` is the one list of families. ``catalogue/families/`` and ``reference/`` each hold
exactly one file (or one package) per family, named ``family_module(family)``; every entry's program
is defined in its family's file and every reference class in the mirroring file, so "where is X?" has
one answer and a family cannot be spread over files again unnoticed.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from attncost import catalogue, reference
from attncost.catalogue.registry import family_module

PACKAGE = Path(catalogue.__file__).parent.parent
FAMILY_DIRS = {"catalogue": PACKAGE / "catalogue" / "families", "reference": PACKAGE / "reference"}
#: the reference package's modules that are not family files
REFERENCE_INFRASTRUCTURE = {"registry", "blocks", "networks", "dynamic_networks"}


def _children(folder: Path) -> set[str]:
    """Module and package names directly in ``folder`` (``__init__`` left out)."""
    return ({p.stem for p in folder.glob("*.py") if p.stem != "__init__"}
            | {p.name for p in folder.iterdir() if (p / "__init__.py").is_file()})


def _in_family_file(module: str, root: str, family: str) -> bool:
    """``module`` is the family's file, or a module of the family's package."""
    own = f"{root}.{family_module(family)}"
    return module == own or module.startswith(own + ".")


def test_family_files_are_exactly_the_families():
    expected = {family_module(f) for f in catalogue.FAMILIES}
    assert _children(FAMILY_DIRS["catalogue"]) == expected
    assert _children(FAMILY_DIRS["reference"]) - REFERENCE_INFRASTRUCTURE == expected


def test_family_packages_mirror_each_other():
    """A family split into sub-family modules (self-attention) is split the same way on both sides."""
    for family in catalogue.FAMILIES:
        folders = [FAMILY_DIRS[side] / family_module(family) for side in ("catalogue", "reference")]
        assert folders[0].is_dir() == folders[1].is_dir(), family
        if folders[0].is_dir():
            assert _children(folders[0]) == _children(folders[1]), family


@pytest.mark.parametrize("entry", catalogue.entries(), ids=lambda e: e.name)
def test_an_entry_lives_in_its_family_file_and_so_does_its_reference(entry):
    assert _in_family_file(entry.program.__module__, "attncost.catalogue.families", entry.family), \
        f"{entry.name} ({entry.family}) is defined in {entry.program.__module__}"
    cls = reference.REFERENCES[entry.name]
    assert _in_family_file(cls.__module__, "attncost.reference", entry.family), \
        f"the reference of {entry.name} ({entry.family}) is defined in {cls.__module__}"
    # the sub-family module mirrors too: non_local entry, non_local reference
    assert cls.__module__.split(".")[2:] == entry.program.__module__.split(".")[3:], entry.name


def test_every_reference_names_an_entry():
    assert sorted(reference.REFERENCES) == sorted(catalogue.REGISTRY)
