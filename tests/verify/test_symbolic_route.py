"""Which route proves a formula in N, H, W, and that no route passes on an exception it does not name.

check_symbolic says "not applicable" only for torch's named reasons for not running a module on
symbolic sizes; anything else fails verify. Entries torch cannot trace symbolically (their
F.interpolate to a size reaches a C++ kernel that takes only concrete sizes) are checked on a dense
grid instead, which must catch a formula wrong at a single H.
"""

import dataclasses

import pytest
import sympy
import torch
from click.testing import CliRunner
from torch import nn
from torch._subclasses.fake_tensor import (DataDependentOutputException, DynamicOutputShapeException,
                                           UnsupportedOperatorException)

from attncost import catalogue
from attncost.catalogue.registry import Entry
from attncost.cli.main import cli
from attncost.symbols import SHAPE_SYMBOLS, H
from attncost.verify import check_symbolic, verify_entry
from attncost.verify import verify as verify_module
from attncost.verify.grid import check_dense_grid, exact_evaluator, floor_period
from attncost.verify.verify import NOT_APPLICABLE, prove_in_sizes, torch_limitation

NOT_TRACEABLE = ("pan-fpa", "pan-gau", "residual-attention")
#: F.pad to a multiple of the window passes symbolic pads to constant_pad_nd (tests/verify/test_swin_dense_grid.py)
PADDED = ("swin-swmsa", "swin-wmsa")
SHAPE = (2, 16, 9, 11)
UPSAMPLE_REASON = ("torch.nn.functional.interpolate -> torch._C._nn.upsample_bilinear2d accepts only concrete "
                   "sizes (C++: 'SymIntArrayRef expected to contain only concrete integers')")


def _default(name):
    entry = catalogue.get(name)
    return entry, entry.resolve(SHAPE, {})


# -- an exception that is not a named torch limitation fails ------------------------------------

def test_unexpected_exception_in_symbolic_trace_fails(monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(verify_module, "trace_symbolic", boom)
    entry, hp = _default("se")
    verdict = check_symbolic(entry, SHAPE, hp)
    assert verdict == "FAILED: symbolic trace raised RuntimeError: boom"
    report = verify_entry(entry, samples=0)
    assert report.symbolic.startswith("FAILED") and report.route == "symbolic trace"
    assert not report.passed


def test_unexpected_exception_fails_the_cli(monkeypatch):
    def boom(*args, **kwargs):
        raise ValueError("not a torch limitation")

    monkeypatch.setattr(verify_module, "trace_symbolic", boom)
    result = CliRunner().invoke(cli, ["verify", "se", "--samples", "1", "--format", "json"])
    assert result.exit_code == 1
    assert "FAILED: symbolic trace raised ValueError: not a torch limitation" in result.output
    assert '"result": "FAIL"' in result.output


class _Unique(nn.Module):
    def forward(self, x):
        return torch.unique(x)          # a tracer gap (no formula for the aten op), not torch's


def test_tracer_gap_is_a_failure_not_a_torch_limitation(monkeypatch):
    monkeypatch.setattr(verify_module, "build", lambda *args: _Unique())
    entry, hp = _default("se")
    verdict = check_symbolic(entry, SHAPE, hp)
    assert verdict.startswith("FAILED: symbolic trace raised UnsupportedOpsError"), verdict


# -- torch's named reasons give "not applicable: <reason>" --------------------------------------

class _DataDependentBranch(nn.Module):
    def forward(self, x):
        return x if x.sum() > 0 else -x     # a guard on tensor data: no symbolic answer


def test_data_dependent_guard_is_not_applicable_with_its_reason(monkeypatch):
    monkeypatch.setattr(verify_module, "build", lambda *args: _DataDependentBranch())
    entry, hp = _default("se")
    verdict = check_symbolic(entry, SHAPE, hp)
    assert verdict.startswith(NOT_APPLICABLE + "control flow depends on tensor data (GuardOnDataDependentSymNode: "
                              "Could not guard on data-dependent expression"), verdict


@pytest.mark.parametrize("error, reason", [
    (DynamicOutputShapeException(torch.ops.aten.nonzero.default),
     "aten.nonzero.default has an output shape that depends on tensor data (DynamicOutputShapeException)"),
    (DataDependentOutputException(torch.ops.aten._local_scalar_dense.default),
     "aten._local_scalar_dense.default returns a value that depends on tensor data (DataDependentOutputException)"),
    (UnsupportedOperatorException(torch.ops.aten.nonzero.default),
     "aten.nonzero.default has no FakeTensor kernel (UnsupportedOperatorException)"),
])
def test_named_fake_tensor_exceptions(error, reason):
    assert torch_limitation(error) == reason


@pytest.mark.parametrize("error", [RuntimeError("shape mismatch"), TypeError("bad"), KeyError("x"),
                                   ValueError("SymIntArrayRef expected to contain only concrete integers")])
def test_other_exceptions_are_not_torch_limitations(error):
    assert torch_limitation(error) is None


def test_limitation_behind_a_wrapping_exception():
    try:
        try:
            raise DynamicOutputShapeException(torch.ops.aten.nonzero.default)
        except RuntimeError as inner:
            raise RuntimeError("while tracing") from inner
    except RuntimeError as outer:
        assert torch_limitation(outer).startswith("aten.nonzero.default has an output shape")


def test_concrete_only_message_from_attncost_itself_is_a_failure(monkeypatch):
    """The C++ message alone is not enough: raised from attncost's tracer (a bug there, simulated by
    code compiled as attncost/trace/tracer.py), it is a failure."""
    import os
    import attncost.trace.tracer
    namespace = {}
    source = ("def tracer_bug(*args, **kwargs):\n"
              "    raise RuntimeError('x.cpp:1: SymIntArrayRef expected to contain only concrete integers')\n")
    exec(compile(source, os.path.abspath(attncost.trace.tracer.__file__), "exec"), namespace)
    monkeypatch.setattr(verify_module, "trace_symbolic", namespace["tracer_bug"])
    entry, hp = _default("se")
    assert check_symbolic(entry, SHAPE, hp).startswith("FAILED: symbolic trace raised RuntimeError: x.cpp:1: ")


class _InterpolateNearest(nn.Module):
    def forward(self, x):
        return nn.functional.interpolate(x, size=x.shape[2:], mode="nearest")


def test_concrete_only_kernel_called_by_a_module_is_not_applicable(monkeypatch):
    monkeypatch.setattr(verify_module, "build", lambda *args: _InterpolateNearest())
    entry, hp = _default("se")
    assert check_symbolic(entry, SHAPE, hp) == (
        NOT_APPLICABLE + "torch.nn.functional.interpolate -> torch._C._nn.upsample_nearest2d accepts only "
        "concrete sizes (C++: 'SymIntArrayRef expected to contain only concrete integers')")


@pytest.mark.parametrize("name", NOT_TRACEABLE)
def test_symbolic_trace_not_applicable_for_interpolate_to_a_size(name):
    entry, hp = _default(name)
    assert check_symbolic(entry, SHAPE, hp) == NOT_APPLICABLE + UPSAMPLE_REASON


def test_only_the_interpolating_entries_are_not_applicable():
    """Every other entry is traced symbolically (checked in test_catalogue_vs_tracer); these (the
    interpolating three, and Swin's padded window attention) are the ones the dense grid covers."""
    from attncost.verify.verify import SYMBOLIC_HINT_SHAPES
    from attncost.errors import HyperparameterError

    not_applicable = []
    for entry in catalogue.entries():
        for shape in SYMBOLIC_HINT_SHAPES:
            try:
                hp = entry.resolve(shape, {})
            except HyperparameterError:
                continue
            if check_symbolic(entry, shape, hp).startswith(NOT_APPLICABLE):
                not_applicable.append(entry.name)
            break
    assert sorted(not_applicable) == sorted(NOT_TRACEABLE + PADDED)


# -- the dense-grid route -----------------------------------------------------------------------

@pytest.mark.parametrize("name", NOT_TRACEABLE)
def test_dense_grid_proves_the_untraceable_entries(name):
    report = verify_entry(catalogue.get(name), samples=0)
    assert report.passed, report.symbolic
    assert report.route == "dense grid"
    assert report.symbolic.startswith("dense grid: formula = program at every valid (H,W)"), report.symbolic
    assert "every H and W mod" in report.symbolic
    assert report.symbolic.endswith(f"(symbolic trace {NOT_APPLICABLE}{UPSAMPLE_REASON})")


def test_traceable_entries_keep_the_symbolic_trace_route():
    entry, hp = _default("se")
    route, verdict = prove_in_sizes(entry, SHAPE, hp)
    assert (route, verdict) == ("symbolic trace", "proved in N,H,W")


def _add_at(cost, kind, extra):
    return dataclasses.replace(cost, counts={**cost.counts, kind: cost.counts[kind] + extra})


@pytest.mark.parametrize("name", NOT_TRACEABLE)
def test_dense_grid_catches_a_formula_wrong_at_one_h(name, monkeypatch):
    """The symbolic formula gains 1 in one count at H = 13 only; the concrete program is untouched."""
    entry, hp = _default(name)
    original = Entry.cost

    def wrong(self, shape=SHAPE_SYMBOLS, hp=None):
        cost = original(self, shape, hp)
        if self.name != name or not isinstance(shape[2], sympy.Basic) or shape[2].is_Number:
            return cost
        kind = sorted(cost.counts)[0]
        return _add_at(cost, kind, sympy.Piecewise((1, sympy.Eq(H, 13)), (0, True)))

    monkeypatch.setattr(Entry, "cost", wrong)
    verdict = check_dense_grid(entry, SHAPE, hp)
    assert verdict.startswith("FAILED: dense grid at N,H,W="), verdict
    assert ",13," in verdict and "program=" in verdict
    kind = sorted(original(entry, SHAPE, hp).counts)[0]
    assert f"count:{kind} formula=" in verdict


def test_dense_grid_catches_formula_and_program_both_wrong_at_one_residue(monkeypatch):
    """Formula and program agree (both wrong at odd H), so only the traced points can catch it:
    they hold every residue of H."""
    entry, hp = _default("pan-gau")
    original = Entry.program_result

    def wrong(self, shape, hp=None):
        cost, out_shape, degenerate = original(self, shape, hp)
        if self.name != "pan-gau":
            return cost, out_shape, degenerate
        h = sympy.sympify(shape[2])
        extra = sympy.Piecewise((1, sympy.Eq(sympy.Mod(H, 2), 1)), (0, True)) if not h.is_Number else int(h) % 2
        return _add_at(cost, "elementwise.mul", extra), out_shape, degenerate

    monkeypatch.setattr(Entry, "program_result", wrong)
    verdict = check_dense_grid(entry, SHAPE, hp)
    assert verdict.startswith("FAILED: dense grid at N,H,W="), verdict
    assert "count:elementwise.mul" in verdict and "traced=" in verdict


def test_wrong_output_shape_is_caught(monkeypatch):
    entry, hp = _default("pan-gau")
    original = Entry.output_shape

    def wrong(self, shape, hp=None):
        out = original(self, shape, hp)
        return out[:3] + (out[3] + 1,) if self.name == "pan-gau" else out

    monkeypatch.setattr(Entry, "output_shape", wrong)
    verdict = check_dense_grid(entry, SHAPE, hp)
    assert verdict.startswith("FAILED: dense grid at N,H,W=") and "output shape" in verdict, verdict


# -- the exact evaluator --------------------------------------------------------------------------

def test_exact_evaluator_agrees_with_sympy():
    from attncost.symbols import N, W
    exprs = [sympy.floor(H / 2 - sympy.Rational(1, 2)), sympy.ceiling(H / 3) * W, H * W / 3,
             sympy.Max(H * W, 2 * H + 7), sympy.Piecewise((H, H >= 8), (W, True)), N * H / W,
             sympy.floor(sympy.floor(H / 2) / 2) + sympy.Mod(W, 3)]
    evaluate = exact_evaluator(exprs, (N, H, W))
    for n, h, w in [(1, 1, 1), (2, 7, 13), (3, 49, 3), (1, 8, 40)]:
        expected = [e.xreplace({N: n, H: h, W: w}) for e in exprs]
        assert list(evaluate(n, h, w)) == expected


def test_floor_period():
    assert floor_period([sympy.floor(sympy.floor(sympy.floor(H / 2) / 2) / 2)]) == 8
    assert floor_period([sympy.floor(H / 2) + sympy.floor(H / 3)]) == 6
    assert floor_period([H ** 2]) == 1
