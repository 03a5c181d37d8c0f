"""The registry: names, aliases, suggestions, wildcard listing, hyperparameter validation."""

import pytest

from attncost import catalogue
from attncost.errors import HyperparameterError, UnknownModuleError


def test_aliases_resolve_to_entries():
    assert catalogue.get("Squeeze-Excitation").name == "se"
    assert catalogue.get("non_local").name == "nonlocal"


def test_unknown_name_suggests_closest():
    with pytest.raises(UnknownModuleError, match="did you mean 'cbam'"):
        catalogue.get("cbma")


def test_wildcard_listing_is_filtered_and_sorted_by_family():
    # the four SE entries of the catalogue (the paper's SE block and its three variants); no other
    # name or alias starts with "se" ("senet" is an alias of se itself)
    assert [e.name for e in catalogue.entries("se*")] == ["se", "se-var1", "se-var2", "se-var3"]
    # "c*" across families, in the order of FAMILIES (channel, spatial, self-attention, branch, other,
    # nas, baseline), then by name; scse and danet-cam match through their aliases "concurrent-se" and
    # "cam"; no channel-family entry has a name or alias starting with "c"
    assert [e.name for e in catalogue.entries("c*")] == [
        "cbam", "cbam-channel", "cbam-spatial", "coord-attention", "cse", "scse",        # spatial
        "ccnet", "cgnl", "danet-cam",                                # self-attention
        "condconv",                                                  # branch
        "conv",                                                      # baseline
    ]
    # a family filter keeps the order
    assert [e.name for e in catalogue.entries("c*", "self-attention")] == ["ccnet", "cgnl", "danet-cam"]


def test_every_entry_cites_paper_and_code():
    for entry in catalogue.entries():
        assert entry.paper.title and entry.paper.equation and entry.paper.code and entry.paper.follows, entry.name
        assert entry.summary and entry.family in catalogue.FAMILIES


@pytest.mark.parametrize("name, shape, hp, message", [
    ("se", (1, 256, 7, 7), {"r": 0}, "at least 1"),
    ("se", (1, 8, 7, 7), {"r": 16}, "C // r"),
    ("eca", (1, 64, 7, 7), {"k": 4}, "odd"),
    ("nonlocal", (1, 64, 7, 7), {"mode": "cosine"}, "not one of"),
    ("cbam", (1, 64, 7, 7), {"kernel": 6}, "odd"),
    ("se", (1, 64, 7, 7), {"q": 1}, "no hyperparameter"),
])
def test_impossible_hyperparameters_raise_one_line(name, shape, hp, message):
    with pytest.raises(HyperparameterError, match=message) as info:
        catalogue.get(name).resolve(shape, hp)
    assert "\n" not in str(info.value)
