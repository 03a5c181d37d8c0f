"""The primitive registry: one definition per op, everything else derived from it."""

from pathlib import Path

import pytest

from attncost import ops
from attncost.ops import docs
from attncost.ops.primitive import Aten, define, kind

CONVENTIONS_MD = Path(__file__).resolve().parents[2] / "docs" / "CONVENTIONS.md"


def test_docs_table_is_generated_from_the_definitions():
    text = CONVENTIONS_MD.read_text()
    assert docs.rewrite(text) == text, "regenerate with: python -m attncost.ops.docs docs/CONVENTIONS.md"


def test_every_kind_weighs_every_convention():
    for k in ops.OP_KINDS.values():
        assert tuple(k.weights) == ops.CONVENTIONS, k.name


def test_a_kind_needs_every_convention_weight():
    with pytest.raises(TypeError):
        kind("copy.other", "x", "elements", macs=0, fvcore=0, full=0)


def test_a_primitive_name_a_kind_and_an_aten_op_are_each_defined_once():
    with pytest.raises(ValueError, match="defined twice"):
        define("conv", kinds=())(lambda: {})
    impostor = kind("copy", "another copy", "elements", macs=0, fvcore=0, flopcounter=0, full=0)
    with pytest.raises(ValueError, match="defined twice"):
        define("test-impostor", kinds=(impostor,))(lambda: {})
    with pytest.raises(ValueError, match="handled twice"):
        define("test-second-relu", kinds=(ops.pointwise.RELU,),
               aten=(Aten(("relu",), lambda c: {}),))(lambda: {})
    assert "test-impostor" not in ops.PRIMITIVES and "test-second-relu" not in ops.PRIMITIVES


def test_an_aten_binding_counts_only_defined_kinds():
    stray = kind("copy.stray", "never defined by a primitive", "elements", macs=0, fvcore=0, flopcounter=0, full=0)
    with pytest.raises(ValueError, match="not defined"):
        define("test-stray", kinds=(ops.pointwise.RELU,),
               aten=(Aten(("test_stray_op",), lambda c: {}, (stray,)),))(lambda: {})
    assert "test-stray" not in ops.PRIMITIVES and "copy.stray" not in ops.OP_KINDS


def test_the_tracer_table_is_the_primitives_table():
    from attncost.trace import handlers

    assert {str(p).split(".")[-1] for p in handlers.HANDLERS} == set(ops.ATEN_OVERLOADS)
