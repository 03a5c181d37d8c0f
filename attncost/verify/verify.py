"""verify: every catalogue formula equals what its reference implementation executes.

For each configuration: the formula's cost and output shape (the entry's Program on concrete
numbers) equal the tracer's count of the real forward, field by field, to the last integer; the
parameters also equal ``sum(p.numel())``; and the symbolic formula, with the configuration's values
substituted, gives the same numbers. Where torch can run the reference on FakeTensors with symbolic
N, H, W, the symbolic formula is also proved equal to the symbolic trace. Where it cannot, for a
named reason of torch's (:func:`torch_limitation`), the formula is checked on a dense grid instead
(:mod:`.grid`); any other exception from the symbolic trace is a failure, never "not applicable".
"""

from __future__ import annotations

import os
import re
import traceback
from dataclasses import dataclass, field

import sympy
import torch
from torch._subclasses.fake_tensor import (DataDependentOutputException, DynamicOutputShapeException,
                                           UnsupportedFakeTensorException, UnsupportedOperatorException)
from torch.fx.experimental.symbolic_shapes import GuardOnDataDependentSymNode

from ..catalogue import Entry
from ..cost.compare import differences
from ..errors import HyperparameterError
from .. import reference
from ..reference import build
from ..symbols import SHAPE_SYMBOLS, N, C, H, W
from ..trace import trace_module
from ..trace.symbolic import trace_symbolic
from .grid import check_dense_grid
from .sampling import RandomPick, sample_config


# Hint sizes for the FakeTensor trace: distinct, not 0/1 (torch specialises those), H != W.
SYMBOLIC_HINT_SHAPES = ((2, 16, 9, 11), (2, 48, 9, 11), (2, 64, 10, 12), (2, 256, 16, 18))


@dataclass
class EntryReport:
    name: str
    configs: int = 0
    mismatches: list = field(default_factory=list)
    unsupported: set = field(default_factory=set)
    symbolic: str = "not run"
    route: str = "-"           # what checked the formula in N, H, W: "symbolic trace" or "dense grid"

    @property
    def passed(self) -> bool:
        return not self.mismatches and not self.unsupported and not self.symbolic.startswith("FAILED")


def symbolic_formula(entry: Entry, hp: dict, channels: int):
    """The entry's formula with its symbolic hyperparameters as symbols (others as given), in
    N, C, H, W (C fixed to ``channels`` for entries whose structure depends on C)."""
    fixed = {h.name: hp[h.name] for h in entry.hyperparameters if not h.symbolic or hp.get(h.name) is None}
    if any(h.symbolic and hp.get(h.name) is None for h in entry.hyperparameters):
        return None          # a derived default (e.g. ECA's k from C) needs a concrete C
    shape = SHAPE_SYMBOLS if entry.symbolic_channels else (N, channels, H, W)
    return entry.cost(shape, entry.symbolic_hp(fixed))


def check_config(entry: Entry, shape: tuple, hp: dict) -> tuple[list[str], set]:
    """Problems found for one configuration (empty when formula, tracer and params all agree)."""
    problems = []
    module = build(entry.name, shape, hp)
    torch.manual_seed(0)
    x = torch.randn(*shape)
    traced, traced_shape, unsupported = trace_module(module, x, allow_unsupported=True)
    formula, formula_shape, degenerate = entry.program_result(shape, hp)
    where = f"{entry.name} shape={'x'.join(map(str, shape))} hp={hp}"
    for name, expected, actual in differences(formula, traced):
        problems.append(f"{where}: {name} formula={expected} traced={actual}")
    if tuple(int(s) for s in formula_shape) != tuple(int(s) for s in traced_shape):
        problems.append(f"{where}: output shape formula={formula_shape} traced={traced_shape}")
    param_sum = sum(p.numel() for p in module.parameters())
    if formula.params != param_sum:
        problems.append(f"{where}: params formula={formula.params} sum(p.numel())={param_sum}")
    general = None if degenerate else symbolic_formula(entry, hp, shape[1])
    if general is not None:
        values = dict(zip((N, C, H, W), shape))
        values.update({sympy.Symbol(h.name, positive=True, integer=True): hp[h.name]
                       for h in entry.hyperparameters if h.symbolic})
        for name, expected, actual in differences(general.subs(values), formula):
            problems.append(f"{where}: symbolic formula at these values {name}={expected}, program={actual}")
    return problems, set(unsupported)


NOT_APPLICABLE = "not applicable: "

# C++ checks that reject symbolic sizes (c10/core/SymIntArrayRef.h, TensorImpl's
# throw_cannot_call_with_symbolic): an op whose kernel needs concrete integers.
_CONCRETE_ONLY = (re.compile(r"SymIntArrayRef expected to contain only concrete integers"),
                  re.compile(r"Cannot call \w+\(\) on tensor with symbolic sizes/strides"))
_TORCH_DIR = os.path.dirname(os.path.abspath(torch.__file__))
_REFERENCE_DIR = os.path.dirname(os.path.abspath(reference.__file__))
_ATTNCOST_DIR = os.path.dirname(_REFERENCE_DIR)


def torch_limitation(error: BaseException) -> str | None:
    """Why torch cannot run a module on FakeTensors with symbolic sizes, in words, when ``error`` is
    one of torch's named reasons for that; ``None`` for any other exception (a real failure)."""
    while error is not None:
        if isinstance(error, GuardOnDataDependentSymNode):
            return f"control flow depends on tensor data (GuardOnDataDependentSymNode: {first_line(error)})"
        if isinstance(error, DataDependentOutputException):
            return f"{error.func} returns a value that depends on tensor data (DataDependentOutputException)"
        if isinstance(error, DynamicOutputShapeException):
            return f"{error.func} has an output shape that depends on tensor data (DynamicOutputShapeException)"
        if isinstance(error, UnsupportedOperatorException):
            return f"{error.func} has no FakeTensor kernel (UnsupportedOperatorException)"
        if isinstance(error, UnsupportedFakeTensorException):
            return f"an input cannot be a FakeTensor (UnsupportedFakeTensorException: {error.reason})"
        message = next((m.group(0) for p in _CONCRETE_ONLY if (m := p.search(str(error)))), None)
        if type(error) is RuntimeError and message and (caller := _torch_caller(error)):
            return f"{caller} accepts only concrete sizes (C++: {message!r})"
        error = error.__cause__
    return None


def first_line(error: BaseException) -> str:
    """The first line of an error's message, for the one-line verdicts of verify and verify --mode train."""
    text = str(error).strip()
    return text.splitlines()[0] if text else ""


def _torch_caller(error: BaseException) -> str | None:
    """Who made the call the C++ check rejected: torch's own Python code
    (``torch.nn.functional.interpolate -> torch._C._nn.upsample_bilinear2d``), the reference module
    or another library calling torch. ``None`` when it is the rest of attncost (the tracer, say):
    then it is attncost's bug, not torch's limitation."""
    frames = traceback.extract_tb(error.__traceback__)
    if not frames:
        return None
    frame = frames[-1]
    path = os.path.abspath(frame.filename)
    found = re.search(r"torch\.(?:_C|ops)\.[\w.]+|torch\.[\w.]+(?=\()", frame.line or "")
    callee = f" -> {found.group(0)}" if found else ""
    if path.startswith(_TORCH_DIR + os.sep):
        module = os.path.splitext(os.path.relpath(path, os.path.dirname(_TORCH_DIR)))[0].replace(os.sep, ".")
        return f"{module}.{frame.name}{callee}"
    if path.startswith(_ATTNCOST_DIR + os.sep) and not path.startswith(_REFERENCE_DIR + os.sep):
        return None
    return f"{frame.name} ({os.path.basename(path)}:{frame.lineno}){callee}"


def check_symbolic(entry: Entry, shape: tuple, hp: dict) -> str:
    """Prove the formula equal to a FakeTensor trace with symbolic N, H, W (C fixed).

    ``not applicable: <reason>`` only when torch cannot run the module on symbolic sizes for one of
    its named reasons (:func:`torch_limitation`); any other exception is ``FAILED: ...``."""
    try:
        traced, traced_shape, specialised = trace_symbolic(lambda: build(entry.name, shape, hp), shape)
    except Exception as error:
        reason = torch_limitation(error)
        if reason is not None:
            return NOT_APPLICABLE + reason
        return f"FAILED: symbolic trace raised {type(error).__name__}: {first_line(error)}"
    formula = entry.cost((N, shape[1], H, W), hp).subs(specialised)
    diffs = differences(formula, traced)
    if diffs:
        name, expected, actual = diffs[0]
        return f"FAILED: {name} formula={expected} traced={actual}"
    free = [str(s) for s in (N, H, W) if s not in specialised]
    fixed = [f"{s}={v}" for s, v in specialised.items()]
    return f"proved in {','.join(free)}" + (f" ({', '.join(fixed)} fixed by the module)" if fixed else "")


def prove_in_sizes(entry: Entry, shape: tuple, hp: dict) -> tuple[str, str]:
    """(route, verdict): the symbolic trace where torch can run it, else the dense grid, whose
    verdict then also says why the symbolic trace was not applicable."""
    verdict = check_symbolic(entry, shape, hp)
    if not verdict.startswith(NOT_APPLICABLE):
        return "symbolic trace", verdict
    try:
        grid = check_dense_grid(entry, shape, hp)
    except Exception as error:     # a failure like any other, reported rather than raised
        grid = f"FAILED: dense grid raised {type(error).__name__}: {first_line(error)}"
    return "dense grid", f"{grid} (symbolic trace {verdict})"


#: the symbolic verdict of an entry no hint shape takes with its default hyperparameters
NO_HINT_CONFIG = "not run: no valid default configuration"


def symbolic_hint_config(entry: Entry) -> tuple | None:
    """(shape, hp): the first of :data:`SYMBOLIC_HINT_SHAPES` the entry takes with its default
    hyperparameters (resolved), where its symbolic proof is traced; None if it takes none."""
    for shape in SYMBOLIC_HINT_SHAPES:
        try:
            return shape, entry.resolve(shape, {})
        except HyperparameterError:
            continue
    return None


def verify_entry(entry: Entry, samples: int = 50, seed: int = 0, symbolic: bool = True) -> EntryReport:
    report = EntryReport(entry.name)
    pick = RandomPick(seed)
    for _ in range(samples):
        shape, hp = sample_config(entry, pick)
        problems, unsupported = check_config(entry, shape, hp)
        report.configs += 1
        report.mismatches.extend(problems)
        report.unsupported |= unsupported
    if symbolic:
        config = symbolic_hint_config(entry)
        if config is None:
            report.symbolic = NO_HINT_CONFIG
        else:
            report.route, report.symbolic = prove_in_sizes(entry, *config)
    return report
