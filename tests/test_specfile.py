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
