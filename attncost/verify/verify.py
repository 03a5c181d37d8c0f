"""verify: every catalogue formula equals what its reference implementation executes.

For each configuration: the formula's cost and output shape (the entry's Program on concrete
numbers) equal the tracer's count of the real forward, field by field, to the last integer; the
parameters also equal ``sum(p.numel())``; and the symbolic formula, with the configuration's values
substituted, gives the same numbers. Where torch can run the reference on FakeTensors with symbolic
N, H, W, the symbolic formula is also proved equal to the symbolic trace.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sympy
import torch

from ..catalogue import Entry
from ..cost.compare import differences
from ..errors import HyperparameterError
from ..reference import build
from ..symbols import SHAPE_SYMBOLS, N, C, H, W
from ..trace import trace_module
from ..trace.symbolic import trace_symbolic
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


def check_symbolic(entry: Entry, shape: tuple, hp: dict) -> str:
    """Prove the formula equal to a FakeTensor trace with symbolic N, H, W (C fixed)."""
    try:
        traced, traced_shape, specialised = trace_symbolic(lambda: build(entry.name, shape, hp), shape)
    except Exception as error:  # torch cannot run this module symbolically
        return f"not applicable ({type(error).__name__})"
    formula = entry.cost((N, shape[1], H, W), hp).subs(specialised)
    diffs = differences(formula, traced)
    if diffs:
        name, expected, actual = diffs[0]
        return f"FAILED: {name} formula={expected} traced={actual}"
    free = [str(s) for s in (N, H, W) if s not in specialised]
    fixed = [f"{s}={v}" for s, v in specialised.items()]
    return f"proved in {','.join(free)}" + (f" ({', '.join(fixed)} fixed by the module)" if fixed else "")


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
        report.symbolic = "not run: no valid default configuration"
        for shape in SYMBOLIC_HINT_SHAPES:
            try:
                hp = entry.resolve(shape, {})
            except HyperparameterError:
                continue
            report.symbolic = check_symbolic(entry, shape, hp)
            break
    return report
