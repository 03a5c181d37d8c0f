"""The spec-file layer: every reader fails with FILE:LINE at the value at fault."""

import pytest

from attncost import specfile
from attncost.errors import HyperparameterError, SpecError


def _root(tmp_path, text):
    path = tmp_path / "s.yaml"
    path.write_text(text)
    return path, specfile.read(path)


@pytest.mark.parametrize("text, read, line, message", [
    ("a: 1\nb: 2\n", lambda r: r.mapping("x", known=("a",)), 2, "unknown key 'b' in x (known: a)"),
    ("colour: 1\n", lambda r: r.mapping("x", known=("color",)), 1, "did you mean 'color'?"),
    ("a: 1\n", lambda r: r.mapping("x", required=("a", "b")), 1, "x needs 'a' and 'b' ('b' missing)"),
    ("a: 1\n\na: 2\n", lambda r: r.mapping("x"), 3, "x gives 'a' twice (first at line 1)"),
    ("- 1\n", lambda r: r.mapping("x"), 1, "x must be a mapping"),
    ("", lambda r: r.mapping("x"), 1, "x must be a mapping (the file is empty)"),
    ("a:\n  - 1\n  - 0\n", lambda r: [i.positive_int("n") for i in r.mapping("x")["a"].items("a")], 3,
     "n must be a positive integer (got 0)"),
    ("a: []\n", lambda r: r.mapping("x")["a"].items("a", non_empty=True), 1, "a must be a non-empty list"),
    ("a: yes please\n", lambda r: r.mapping("x")["a"].boolean("a"), 1, "a must be true or false"),
    ("a: mac\n", lambda r: r.mapping("x")["a"].choice("a", ("macs", "full")), 1,
     "a 'mac' is not one of: macs, full; did you mean 'macs'?"),
    ("\n\nshape: 3x32\n", lambda r: r.mapping("x")["shape"].shape("shape"), 3, "shape: shape '3x32' must be CxHxW"),
    ("m: cbma\n", lambda r: r.mapping("x")["m"].module(), 1, "unknown module 'cbma'; did you mean 'cbam'"),
    ("m: {a: 1}\n", lambda r: r.mapping("x")["m"].text("m"), 1, "m must be a single value, not a mapping"),
])
def test_readers_fail_at_the_line_of_the_value(tmp_path, text, read, line, message):
    path, root = _root(tmp_path, text)
    with pytest.raises(SpecError) as error:
        read(root)
    assert str(error.value).startswith(f"{path}:{line}: ") and message in str(error.value), str(error.value)


def test_values_lines_and_merge_keys(tmp_path):
    _, root = _root(tmp_path, "base: &b {k: 3}\nlayer:\n  <<: *b\n  s: 2\n")
    fields = root.mapping("x")
    layer = fields["layer"].mapping("layer", known=("k", "s"))
    assert fields["layer"].value == {"k": 3, "s": 2} and layer["k"].value == 3 and layer["s"].line == 4
    assert root.value == {"base": {"k": 3}, "layer": {"k": 3, "s": 2}} and root.line == 1


def test_at_puts_user_errors_at_the_node_and_passes_located_ones(tmp_path):
    path, root = _root(tmp_path, "a: 1\nb: 2\n")
    fields = root.mapping("x")
    with pytest.raises(SpecError, match=f"^{path}:2: r must be odd$"):
        with fields["b"].at():
            raise HyperparameterError("r must be odd")
    with pytest.raises(SpecError, match=f"^{path}:1: first$"):
        with fields["b"].at():
            raise fields["a"].error("first")


def test_reading_fails_with_the_file_and_line(tmp_path):
    with pytest.raises(SpecError, match="cannot read"):
        specfile.read(tmp_path / "missing.yaml")
    with pytest.raises(SpecError, match=r"s\.yaml:2: malformed YAML"):
        _root(tmp_path, "a: 1\nb: c: d\n")


# -- keys given twice below the top level (QA: nested duplicates were accepted, the last one winning) --

@pytest.mark.parametrize("text, line, message", [
    # flow style: both r on line 2; the top level already said "gives 'network' twice (first at line 1)"
    ("network: resnet50\nattention: {module: gc, hp: {r: 16, r: 8}}\n", 2, "attention.hp gives 'r' twice (first at line 2)"),
    # block style
    ("network: resnet50\nattention:\n  module: gc\n  where: every_block\n  module: se\n", 5,
     "attention gives 'module' twice (first at line 3)"),
    # in a list item, and deeper
    ("networks:\n  - {network: resnet18}\n  - network: resnet34\n    alias: A\n    alias: B\n", 5,
     "networks[1] gives 'alias' twice (first at line 4)"),
    ("a:\n  b:\n    - c:\n        d: 1\n        e: 2\n        d: 3\n", 6, "a.b[0].c gives 'd' twice (first at line 4)"),
])
def test_a_key_given_twice_at_any_depth_fails_at_its_line(tmp_path, text, line, message):
    path = tmp_path / "s.yaml"
    path.write_text(text)
    with pytest.raises(SpecError) as error:
        specfile.read(path)                      # before any reader: nothing can read the value leniently
    assert str(error.value) == f"{path}:{line}: {message}"


def test_the_top_level_keeps_the_readers_wording(tmp_path):
    # a top-level repeat is reported by the reader, which names the kind of file
    path, root = _root(tmp_path, "network: resnet50\nnetwork: resnet18\n")
    with pytest.raises(SpecError, match=f"^{path}:2: a network spec gives 'network' twice \\(first at line 1\\)$"):
        root.mapping("a network spec")


def test_an_explicit_key_may_override_a_merged_one(tmp_path):
    # YAML merge keys: an explicit key overrides the one merged in from the anchor (not a repeat)
    _, root = _root(tmp_path, "base: &b {r: 16, k: 3}\nhp:\n  <<: *b\n  r: 8\n")
    fields = root.mapping("x")
    hp = fields["hp"].mapping("hp")
    assert fields["hp"].value == {"r": 8, "k": 3} and hp["r"].value == 8 and hp["r"].line == 4


def _loader(kind):
    from attncost.lut.space import load_space
    from attncost.networks import load_spec
    from attncost.networks.accuracy import load_accuracy
    from attncost.networks.registry import load_definition
    from attncost.report import load_report_spec

    return {"network spec": load_spec, "report spec": load_report_spec, "search space": load_space,
            "definition": load_definition, "accuracy file": load_accuracy}[kind]


@pytest.mark.parametrize("kind, text, line, where", [
    ("network spec", "network: resnet50\nattention: {module: gc, hp: {r: 16, r: 8}}\n", 2, "attention.hp"),
    ("report spec", "modules: [{module: se, hp: {r: 16, r: 8}}]\nshapes: [64x8x8]\n", 1, "modules[0].hp"),
    ("search space", "name: s\ninput: 3x32x32\nstem:\n  channels: 16\n  channels: 8\nhead: {channels: 32}\n",
     5, "stem"),
    ("definition", "name: x\nfamily: resnet\nblock: bottleneck\nlayers: [1, 1, 1, 1]\n"
                   "replace_conv: {module: sk, hp: {r: 16, r: 8}}\n", 5, "replace_conv.hp"),
    ("accuracy file", "networks:\n  - network: resnet18\n    reported:\n      - {top1: 70, top1: 71}\n", 4,
     "networks[0].reported[0]"),
])
def test_every_kind_of_spec_file_refuses_nested_repeats(tmp_path, kind, text, line, where):
    path = tmp_path / "s.yaml"
    path.write_text(text)
    with pytest.raises(SpecError) as error:
        _loader(kind)(path)
    assert str(error.value).startswith(f"{path}:{line}: {where} gives "), str(error.value)
    assert " twice (first at line " in str(error.value)


# -- numbers YAML 1.1 reads as strings (QA: width: 1e-3 was "must be a positive number (got '1e-3')") --

@pytest.mark.parametrize("written, value", [("1e-3", 0.001), ("1e3", 1000.0), ("2.5E4", 25000.0), ("1.5e3", 1500.0),
                                            ("-.5", -0.5), ("+1e+2", 100.0), ("1.0e+3", 1000.0)])
def test_exponent_numbers_are_numbers(tmp_path, written, value):
    _, root = _root(tmp_path, f"a: {written}\nb: [{written}]\nc: {{d: {written}}}\n")
    fields = root.mapping("x")
    assert fields["a"].value == value and root.value == {"a": value, "b": [value], "c": {"d": value}}
    assert isinstance(fields["a"].value, float)


def test_quoted_numbers_keys_and_words_stay_strings(tmp_path):
    _, root = _root(tmp_path, "a: '1e-3'\nb: \"1e3\"\n1e3: x\nc: e3\nd: 1e\ne: 3x224x224\n")
    assert root.value == {"a": "1e-3", "b": "1e3", "1e3": "x", "c": "e3", "d": "1e", "e": "3x224x224"}


def test_number_reads_a_bounded_positive_number(tmp_path):
    path, root = _root(tmp_path, "a: 1e-3\nb: 2048\nc: .inf\nd: x\ne: true\nf: 0\n")
    fields = root.mapping("x")
    assert fields["a"].number("a", 1024) == 0.001 and fields["b"].number("b") == 2048.0
    for key in "bcdef":
        with pytest.raises(SpecError, match=f"^{path}:{'abcdef'.index(key) + 1}: {key} must be a number above 0"):
            fields[key].number(key, 1024)
    with pytest.raises(SpecError, match="and at most 1024 \\(got 2048\\); why$"):
        fields["b"].number("b", 1024, "; why")


def test_positive_int_is_at_most_2_to_the_31(tmp_path):
    # the product's rule: a size is 1 to 2^31
    path, root = _root(tmp_path, f"a: {2 ** 31}\nb: {2 ** 31 + 1}\n")
    fields = root.mapping("x")
    assert fields["a"].positive_int("a") == 2 ** 31
    with pytest.raises(SpecError, match=f"^{path}:2: b must be at most 2147483648 \\(2\\^31\\)"):
        fields["b"].positive_int("b")


def test_the_whole_file_check_is_linear(tmp_path):
    # the walk of read() (repeats, numbers) over 150,000 values, the QA case's size, in under 3 s:
    # linear (a quadratic walk would take hours); YAML's own parse is io's, and linear too
    import time

    from attncost.io import read_yaml

    path = tmp_path / "s.yaml"
    path.write_text("a:\n" + "".join(f"  k{i}: {i}e0\n" for i in range(25_000)) + "b: [" +
                    ", ".join(["1"] * 100_000) + "]\n")
    _, node = read_yaml(path)
    start = time.perf_counter()
    assert specfile._check_tree(path, node)              # numbers retagged, so the value is rebuilt
    assert time.perf_counter() - start < 3
    root = specfile.read(path)
    assert len(root.value["a"]) == 25_000 and root.value["a"]["k7"] == 7.0 and len(root.value["b"]) == 100_000
