"""verify --mode train: every catalogue entry's training step on the formula side equals the one torch runs.

The formula side is :func:`attncost.cost.training.forward_training_cost` (the entry's Program in
training mode, its autograd graph run backwards, no torch); the other side is the training tracer,
:func:`attncost.trace.training.trace_training` (the reference module's real forward in train mode and
``backward()``, saved tensors from ``saved_tensors_hooks``). They share the op formulas, not the graph:
which backward ops run, on which shapes, what is saved and when each storage dies come from torch.
The module is trained as inside a network: its input requires grad, every parameter trains, the
backward starts from a gradient of ones of the output's shape (the loss is the user's).

What is compared, each difference one mismatch line (:func:`training_differences`): the train-mode
forward's Cost field by field, the backward's counts by op kind, saved elements, the step's peak
elements and the trainable parameters, to the last integer.

- **Random configurations**: the forward verify's sampler (:func:`attncost.verify.sampling.sample_config`),
  the batch raised to at least 2 (batch norm in train mode needs more than one value per channel).
- **Symbolic** (``symbolic=True``): at the forward verify's first valid hint shape, the formula side
  run on sympy symbols N, H, W (C and the hyperparameters fixed) against the training tracer on
  FakeTensors with symbolic N, H, W: equal expressions (:func:`attncost.cost.compare.expressions_equal`)
  prove the two sides agree for every N, H, W at which torch's trace takes the same branches as at the
  hint (the guards torch records; sizes it specialises are substituted on both sides and named in the
  verdict). The symbolic trace is a witness only if it is torch's real step: at the hint it must equal
  the eager step, number for number (on FakeTensors with SymInt sizes torch may make copies the eager
  step does not, as in efficient attention's backward). Peaks that are maxima of different arguments
  (equal as functions, perhaps, but not provably by comparing arguments) are compared at every size of
  :data:`MAXIMA_RANGE` the module takes and the guards allow, and the verdict says "checked, not proved"
  for them. Where torch cannot trace the module on symbolic sizes, for one of its named reasons
  (:func:`attncost.verify.verify.torch_limitation`), or its symbolic step is not its real one, the
  symbolic formula is instead evaluated at :data:`FALLBACK_SIZES` drawn sizes and compared with real
  traces there: a check at those points, not a proof, and the verdict says so.
- **Not covered**: where the formula side cannot differentiate an op yet it raises
  :class:`attncost.cost.autograd.TrainingError`. Such a configuration is counted as not covered, with
  the reason, never as a pass; an entry none of whose configurations (nor its symbolic check) is
  covered has the result ``n/a``. Not covered is not a failure: only a mismatch, an op the tracer
  cannot count, or a failed symbolic check fails the entry.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import sympy
import torch

from ..catalogue import Entry
from ..cost.autograd import TrainingError
from ..cost.compare import expressions_equal
from ..cost.training import forward_training_cost
from ..errors import HyperparameterError
from ..reference import build
from ..symbols import N, H, W
from ..trace.fake_log import quiet_fake_tensor_log
from ..trace.symbolic import SymbolicInputs
from ..trace.training import trace_training
from .grid import exact_evaluator
from .sampling import RandomPick, sample_config
from .verify import NO_HINT_CONFIG, NOT_APPLICABLE, first_line, symbolic_hint_config, torch_limitation

#: the results an entry can have: every checked number agrees; something differs (exit 1); nothing
#: could be checked because the formula side has no backward for one of the entry's ops yet
PASS, FAIL, NOT_COVERED = "pass", "FAIL", "n/a"
NOT_COVERED_PREFIX = "not covered: "
#: how many drawn sizes the symbolic formula is checked at where torch cannot trace symbolically
FALLBACK_SIZES = 4
#: the drawn sizes of that fallback: N, and H and W away from 1 (where a size of 1 may spare a copy)
FALLBACK_N, FALLBACK_HW = (2, 3), (6, 12)
#: batch norm in train mode needs more than one value per channel (torch raises for a batch of 1 at 1x1)
MIN_TRAINING_BATCH = 2


@dataclass
class TrainingReport:
    """What ``verify --mode train`` found for one entry. ``configs``: configurations compared;
    ``not_covered``: reason -> number of configurations the formula side could not differentiate."""

    name: str
    configs: int = 0
    mismatches: list = field(default_factory=list)
    differs: set = field(default_factory=set)    # the fields that differed ("... (symbolic)": in N, H, W)
    unsupported: set = field(default_factory=set)
    not_covered: dict = field(default_factory=dict)
    symbolic: str = "not run"
    route: str = "-"           # "symbolic trace", "sampled sizes", or "-" (not run, not covered)

    @property
    def failed(self) -> bool:
        return bool(self.mismatches or self.unsupported or self.symbolic.startswith("FAILED"))

    @property
    def covered(self) -> bool:
        """Whether anything was compared: a configuration, or the symbolic check."""
        return self.configs > 0 or self.route != "-"

    @property
    def result(self) -> str:
        if self.failed:
            return FAIL
        return PASS if self.covered else NOT_COVERED

    @property
    def passed(self) -> bool:
        return self.result == PASS

    def not_covered_text(self) -> str:
        """``-``, or each reason with how many configurations it left out."""
        if not self.not_covered:
            return "-"
        return "; ".join(f"{n} config{'s' if n != 1 else ''}: {reason}" for reason, n in self.not_covered.items())


class Verdict(str):
    """A symbolic check's verdict as text, and ``field``: the number whose difference failed it (None
    when none did), for the report's ``differs``."""

    def __new__(cls, text: str, field: str | None = None):
        verdict = super().__new__(cls, text)
        verdict.field = field
        return verdict


def training_fields(cost) -> dict:
    """Every compared number of a :class:`~attncost.cost.training_cost.TrainingCost` by name:
    ``forward <field>`` (the train-mode forward's :meth:`Cost.fields`), ``backward <kind>``,
    ``saved_elements``, ``peak_elements``, ``trainable_params``."""
    out = {f"forward {k}": v for k, v in cost.forward.fields().items()}
    out.update({f"backward {k}": v for k, v in cost.backward_counts.items()})
    out.update(saved_elements=cost.saved_elements, peak_elements=cost.peak_elements,
               trainable_params=cost.trainable_params)
    return out


def training_differences(formula, traced, values: dict | None = None) -> list[tuple[str, object, object]]:
    """(field, formula, traced) for every number of :func:`training_fields` that differs; a kind one
    side lacks counts 0. ``values`` (symbol -> int) are substituted on both sides first."""
    mapping = {sympy.sympify(k): sympy.Integer(v) for k, v in (values or {}).items()}

    def at(v):
        return sympy.sympify(v).xreplace(mapping) if mapping and isinstance(v, sympy.Basic) else v

    f, t = training_fields(formula), training_fields(traced)
    return [(name, at(f.get(name, 0)), at(t.get(name, 0))) for name in sorted(set(f) | set(t))
            if not expressions_equal(at(f.get(name, 0)), at(t.get(name, 0)))]


def formula_training_cost(entry: Entry, shape: tuple, hp: dict):
    """The formula side's step: the entry's Program with ``hp``, its input requiring grad."""
    return forward_training_cost(lambda g, x: entry.program(g, x, **hp), shape, input_requires_grad=True)


def traced_training_step(entry: Entry, shape: tuple, hp: dict, x=None, size_to_expr=None):
    """The training tracer's step of the entry's reference module (seeded), on ``x`` (default a random
    input of ``shape``) requiring grad, unsupported ops collected rather than raised."""
    torch.manual_seed(0)
    module = build(entry.name, shape, hp)
    if x is None:
        x = torch.randn(*shape)
    return trace_training(module, x.requires_grad_(True), size_to_expr=size_to_expr, allow_unsupported=True)


def _where(entry: Entry, shape: tuple, hp: dict) -> str:
    return f"{entry.name} shape={'x'.join(map(str, shape))} hp={hp}"


def check_training_config(entry: Entry, shape: tuple, hp: dict) -> tuple[list, set, set]:
    """(mismatch lines, fields that differ, unsupported ops) for one configuration. Raises
    :class:`TrainingError` when the formula side cannot differentiate the entry here."""
    formula = formula_training_cost(entry, shape, hp)
    traced = traced_training_step(entry, shape, hp)
    where = _where(entry, shape, hp)
    diffs = training_differences(formula, traced.cost)
    lines = [f"{where}: {name} formula={a} traced={b}" for name, a, b in diffs]
    return lines, {name for name, _, _ in diffs}, set(traced.unsupported)


def check_training_symbolic(entry: Entry, shape: tuple, hp: dict) -> str:
    """The formula side on symbols N, H, W (C = ``shape[1]``, ``hp`` fixed) against the training
    tracer on FakeTensors with symbolic N, H, W traced at ``shape``. ``proved in ...``, ``FAILED:
    ...``, ``not covered: <reason>`` (the formula side raised TrainingError) or ``not applicable:
    <reason>``: torch cannot trace the module on symbolic sizes (:func:`torch_limitation`), or its
    symbolic step is not its real one (at the hint sizes it differs from the eager step, so it proves
    nothing about torch). Peaks whose maxima differ in form are compared at :func:`_maxima_points`."""
    symbolic_shape = (N, shape[1], H, W)
    try:
        formula = formula_training_cost(entry, symbolic_shape, hp)
    except TrainingError as error:
        return NOT_COVERED_PREFIX + first_line(error)
    inputs = SymbolicInputs(dict(zip(("N", "C", "H", "W"), shape)))
    try:
        x = inputs.tensor(symbolic_shape)
        with quiet_fake_tensor_log():
            traced = traced_training_step(entry, shape, hp, x=x, size_to_expr=inputs.size_to_expr)
    except Exception as error:
        reason = torch_limitation(error)
        if reason is not None:
            return NOT_APPLICABLE + reason
        return f"FAILED: symbolic training trace raised {type(error).__name__}: {first_line(error)}"
    if traced.unsupported:
        return f"FAILED: the symbolic training trace met ops without a formula: {', '.join(sorted(traced.unsupported))}"
    hint = {N: shape[0], H: shape[2], W: shape[3]}
    unfaithful = training_differences(traced.cost, traced_training_step(entry, shape, hp).cost, hint)
    if unfaithful:
        name, symbolic_value, eager = unfaithful[0]
        return (NOT_APPLICABLE + f"torch's symbolic step is not its real one: at the hint N,H,W={shape[0]},{shape[2]},"
                                 f"{shape[3]} {name} is {symbolic_value} symbolically, {eager} eagerly")
    specialised = inputs.specialised()
    diffs = training_differences(formula, traced.cost, specialised)
    maxima = [d for d in diffs if isinstance(d[1], sympy.Max) and isinstance(d[2], sympy.Max)]
    others = [d for d in diffs if d not in maxima]
    if others:
        name, expected, actual = others[0]
        return Verdict(f"FAILED: {name} formula={expected} traced={actual}", name)
    free = [s for s in (N, H, W) if s not in specialised]
    fixed = [f"{s}={v}" for s, v in specialised.items()]
    verdict = f"proved in {','.join(map(str, free))}" + (f" ({', '.join(fixed)} fixed by the module)" if fixed else "")
    if not maxima:
        return verdict
    points = _maxima_points(entry, shape, hp, free, specialised, inputs.guards())
    evaluate = exact_evaluator([e for _, a, b in maxima for e in (a, b)], free)
    for point in points:
        values = evaluate(*point)
        for i, (name, _, _) in enumerate(maxima):
            if values[2 * i] != values[2 * i + 1]:
                at = ",".join(f"{s}={v}" for s, v in zip(free, point))
                return Verdict(f"FAILED: at {at}: {name} formula={values[2 * i]} traced={values[2 * i + 1]}", name)
    names = ", ".join(name for name, _, _ in maxima)
    return (f"{verdict} except {names}: maxima different in form, equal at {len(points)} sizes "
            f"({', '.join(f'{s}<={MAXIMA_RANGE[s][1]}' for s in free)}; checked, not proved)")


#: where two maxima that differ in form are compared: N from 2 (torch specialises 0 and 1), H and W from 1
MAXIMA_RANGE = {N: (2, 4), H: (1, 16), W: (1, 16)}


def _maxima_points(entry: Entry, shape: tuple, hp: dict, free: list, specialised: dict, guards: list) -> list:
    """Every (``free`` symbols') size of :data:`MAXIMA_RANGE` the module takes (``entry.resolve``) and
    at which torch's symbolic trace holds (its guards)."""
    ranges = [range(MAXIMA_RANGE[s][0], MAXIMA_RANGE[s][1] + 1) for s in free]
    points = []
    for point in itertools.product(*ranges):
        values = {**specialised, **dict(zip(free, point))}
        size = (values[N], shape[1], values[H], values[W])
        try:
            entry.resolve(size, hp)
        except HyperparameterError:
            continue
        mapping = {s: sympy.Integer(v) for s, v in values.items()}
        if all(bool(g.xreplace(mapping)) for g in guards):
            points.append(point)
    return points


def check_training_at_sizes(entry: Entry, shape: tuple, hp: dict, seed: int) -> str:
    """Where torch cannot trace symbolically: the symbolic formula (C = ``shape[1]``, ``hp`` fixed)
    evaluated at :data:`FALLBACK_SIZES` drawn (N, H, W), each compared with a real training trace
    there. A check at those points, not a proof."""
    try:
        formula = formula_training_cost(entry, (N, shape[1], H, W), hp)
    except TrainingError as error:
        return NOT_COVERED_PREFIX + first_line(error)
    pick = RandomPick(seed)
    checked = []
    for _ in range(8 * FALLBACK_SIZES):
        if len(checked) == FALLBACK_SIZES:
            break
        size = (pick.choice(FALLBACK_N), shape[1], pick.integer(*FALLBACK_HW), pick.integer(*FALLBACK_HW))
        try:
            entry.resolve(size, hp)
        except HyperparameterError:
            continue
        traced = traced_training_step(entry, size, hp)
        diffs = training_differences(formula, traced.cost, dict(zip((N, H, W), (size[0], size[2], size[3]))))
        if diffs:
            name, expected, actual = diffs[0]
            return Verdict(f"FAILED: at N,H,W={size[0]},{size[2]},{size[3]}: {name} formula={expected} "
                           f"traced={actual}", name)
        checked.append(f"{size[0]},{size[2]},{size[3]}")
    if not checked:
        return "not run: no valid size to check at"
    return f"symbolic formula = trace at N,H,W in {{{'; '.join(checked)}}} (checked, not proved)"


def prove_training_in_sizes(entry: Entry, shape: tuple, hp: dict, seed: int = 0) -> tuple[str, str]:
    """(route, verdict): the symbolic trace where torch can run it, else the drawn sizes, whose
    verdict then also says why the symbolic trace was not applicable; route ``-`` when the formula
    side cannot differentiate the entry on symbols."""
    verdict = check_training_symbolic(entry, shape, hp)
    if verdict.startswith(NOT_COVERED_PREFIX):
        return "-", verdict
    if not verdict.startswith(NOT_APPLICABLE):
        return "symbolic trace", verdict
    at_sizes = check_training_at_sizes(entry, shape, hp, seed)
    return "sampled sizes", Verdict(f"{at_sizes} (symbolic trace {verdict})", getattr(at_sizes, "field", None))


def verify_training_entry(entry: Entry, samples: int = 50, seed: int = 0, symbolic: bool = True) -> TrainingReport:
    """Prove ``entry``'s training step on the formula side against the training tracer: ``samples``
    random configurations (seeded by ``seed``), then, with ``symbolic``, in N, H, W (module docstring)."""
    report = TrainingReport(entry.name)
    pick = RandomPick(seed)
    for _ in range(samples):
        shape, hp = sample_config(entry, pick)
        shape = (max(MIN_TRAINING_BATCH, shape[0]), *shape[1:])
        hp = entry.resolve(shape, hp)
        try:
            lines, differs, unsupported = check_training_config(entry, shape, hp)
        except TrainingError as error:
            reason = first_line(error)
            report.not_covered[reason] = report.not_covered.get(reason, 0) + 1
            continue
        report.configs += 1
        report.mismatches.extend(lines)
        report.differs |= differs
        report.unsupported |= unsupported
    if symbolic:
        config = symbolic_hint_config(entry)
        if config is None:
            report.symbolic = NO_HINT_CONFIG
        else:
            report.route, report.symbolic = prove_training_in_sizes(entry, *config, seed)
            if getattr(report.symbolic, "field", None):
                report.differs.add(f"{report.symbolic.field} (symbolic)")
    return report
