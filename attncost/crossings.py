"""Where two modules' costs cross as one dimension grows (`attncost crossover`, `attncost.crossover`). No torch.

The two costs are taken symbolically in the varied dimension (the others fixed), their difference is
compiled once and evaluated vectorised over every integer of the range, exactly (integer arithmetic,
floors included), and the crossing points are where its sign changes. The floor-free difference is
also solved with sympy, to show the crossing as a closed form and the inequality in words.

Either module may be a user's own model, ``FILE.py:FUNCTION``: its cost in the varied size is the
symbolic formula of :func:`attncost.usermodels.formula` (one FakeTensor trace with symbolic sizes;
this imports torch, catalogue names never do), taken as valid over the whole range.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sympy

from . import catalogue
from .cost import Convention, flops
from .errors import AttncostError, HyperparameterError
from .shapes import MAX_SIZE
from .symbolic_terms import drop_floors
from .symbols import C, H, N, W

#: the most sizes one crossover evaluates (``--range``): every size is checked for validity, and
#: where a default derives from the varied size (ECA's k from C) counted, one by one (65,536 such
#: sizes take about 10 s), and each is an element of the arrays compared
MAX_RANGE = 2 ** 16
METRICS = ("macs", "flops", "params", "peak", "attention-map", "activation")
VARY = {"H=W": (H, W), "H": (H,), "W": (W,), "C": (C,), "N": (N,)}


def metric_expr(cost, metric: str, convention=Convention.FULL):
    return {
        "macs": lambda: cost.macs,
        "flops": lambda: flops(cost, convention),
        "params": lambda: cost.params,
        "peak": lambda: cost.peak_live_elements,
        "attention-map": lambda: cost.attention_map_elements,
        "activation": lambda: cost.activation_elements,
    }[metric]()


@dataclass
class Crossover:
    variable: str
    lo: int
    hi: int
    points: list            # integers t where the cheaper module changes: cheaper side flips at t
    cheaper_below: list     # which module is cheaper just below each point (and at lo)
    symbolic_roots: list    # real positive roots of the floor-free equality
    difference: object      # floor-free cost(A) - cost(B) in the variable (None if not symbolic)
    cheaper_at_lo: str
    cheaper_at_hi: str
    segments: list          # (from, to, cheaper module or "equal") over the valid range


def crossover(name_a: str, name_b: str, shape, vary: str = "H=W", metric: str = "macs",
              convention=Convention.FULL, hp_by_module: dict | None = None, lo: int = 1, hi: int = 1024) -> Crossover:
    """Crossing points of ``metric`` between modules A and B as ``vary`` runs over [lo, hi]."""
    if vary not in VARY:
        raise AttncostError(f"--vary {vary!r} must be one of: {', '.join(VARY)}")
    if metric not in METRICS:
        raise AttncostError(f"--metric {metric!r} must be one of: {', '.join(METRICS)}")
    for value in (lo, hi):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise AttncostError(f"range {lo!r}..{hi!r} must be two integers")
    if lo < 1 or hi <= lo:
        raise AttncostError(f"range {lo}..{hi} must satisfy 1 <= lo < hi")
    if hi > MAX_SIZE:
        raise AttncostError(f"range {lo}..{hi}: hi must be at most {MAX_SIZE} (2^31), the largest size")
    if hi - lo + 1 > MAX_RANGE:
        raise AttncostError(f"range {lo}..{hi} has {hi - lo + 1:,} sizes; at most {MAX_RANGE:,} (2^16) are "
                            f"evaluated: narrow --range")
    hp_by_module = hp_by_module or {}
    varied = VARY[vary]
    t = sympy.Symbol("t", positive=True, integer=True)
    entries = [_entry(name_a), _entry(name_b)]
    for name in hp_by_module:
        if name not in [e.name for e in entries]:
            keys = ", ".join(f"{name}.{key}" for key in hp_by_module[name])
            raise HyperparameterError(f"--hp {keys}: {name} is not among the modules given "
                                      f"({entries[0].name}, {entries[1].name})")
    shape = list(shape)
    for i, sym in enumerate((N, C, H, W)):
        if sym in varied:
            shape[i] = sym
        elif isinstance(shape[i], sympy.Symbol):
            raise AttncostError(f"--shape leaves {sym} symbolic but --vary {vary} does not vary it")
    for entry in entries:                       # a value wrong at every size is named, not "not valid"
        for key, value in hp_by_module.get(entry.name, {}).items():
            if isinstance(entry, catalogue.Entry):
                entry.hp(key).check(value, entry.name)
    values = np.arange(lo, hi + 1)
    valid = np.ones(len(values), dtype=bool)
    exprs, series = [], []
    for entry in entries:
        expr, values_of, valid_of = metric_series(entry, shape, varied, hp_by_module.get(entry.name, {}), values,
                                                  metric, convention, t)
        exprs.append(expr)
        series.append(values_of)
        valid &= valid_of
    if not valid.any():
        reason = _first_reason(entries, shape, varied, hp_by_module, lo)
        raise HyperparameterError(f"{entries[0].name} and {entries[1].name} are not both valid for {vary} in {lo}..{hi}"
                                  + (f" (at {vary} = {lo}: {reason})" if reason else ""))
    names = [e.name for e in entries]

    def cheaper(sign) -> str:
        return "equal" if sign == 0 else (names[1] if sign > 0 else names[0])

    signs = difference_signs(series[0], series[1], valid)
    changes = sign_changes(values, signs)
    segments = [(lo_, hi_, cheaper(sign)) for lo_, hi_, sign in sign_segments(values, signs)]
    diff = exprs[0] - exprs[1] if None not in exprs else None
    roots, free = real_roots(diff, t) if diff is not None else ([], None)
    finite = signs[~np.isnan(signs)]
    return Crossover(vary, lo, hi, [p for p, _ in changes], [cheaper(before) for _, before in changes], roots, free,
                     cheaper(finite[0]), cheaper(finite[-1]), segments)


class UserModelEntry:
    """A user's model (``FILE.py:FUNCTION``) where crossover takes a catalogue entry: its cost at a
    shape with symbols is its symbolic formula, traced once per shape (imports torch)."""

    def __init__(self, reference: str):
        from .usermodels import load_model

        self.name = reference
        self._model = load_model(reference)
        self._costs: dict = {}

    def cost(self, shape, hp=None):
        if hp:
            raise HyperparameterError(f"--hp applies to catalogue entries, not to {self.name}")
        key = tuple(shape)
        if key not in self._costs:
            from .usermodels import formula, naming

            with naming(self.name):
                analysis = formula(self._model, [key])
            if analysis.specialised:
                fixed = ", ".join(f"{s}={v}" for s, v in sorted(analysis.specialised.items(), key=str))
                raise AttncostError(f"{self.name} uses {fixed} as a fixed size (traced there): it cannot vary")
            if analysis.equalities:
                raise AttncostError(f"{self.name} took a branch that holds only where "
                                    f"{', '.join(map(str, analysis.equalities))}: its formula cannot vary")
            self._costs[key] = analysis.network.total
        return self._costs[key]

    def resolve(self, shape, hp=None):
        """Every size of the range is taken as valid for a user's model."""
        return None


def _entry(name: str):
    return UserModelEntry(name) if ".py:" in name else catalogue.get(name)


def metric_series(entry, shape, varied, hp, values, metric, convention, t):
    """(expression in ``t`` or None, exact values on ``values``, validity mask) of ``metric`` of one
    module as the ``varied`` sizes of ``shape`` run over ``values``. The expression is compiled once
    and evaluated vectorised; an entry whose defaults depend on the varied size (ECA's k from C) has
    no single expression and is evaluated size by size. Invalid sizes are NaN."""
    valid = _valid(entry, shape, varied, hp, values)
    try:
        expr = metric_expr(entry.cost(tuple(shape), hp), metric, convention).subs({v: t for v in varied})
    except TypeError:   # a default derived from the varied size (ECA's k from C): evaluate per size
        expr = None
    series = (_evaluate(expr, t, values) if expr is not None else
              _evaluate_each(entry, shape, varied, hp, values, valid, metric, convention)).astype(np.float64)
    series[~valid] = np.nan
    return expr, series, valid


def difference_signs(series_a, series_b, valid) -> np.ndarray:
    """sign(a - b) at every size (NaN where either is invalid): +1 where A costs more."""
    signs = np.sign(np.rint(np.nan_to_num(series_a) - np.nan_to_num(series_b)))
    signs[~valid] = np.nan
    return signs


def sign_changes(values, signs) -> list:
    """[(t, sign just below t)] at each size where the cheaper module changes (ties skipped)."""
    changes, previous = [], None
    for value, sign in zip(values, signs):
        if np.isnan(sign) or sign == 0:
            continue
        if previous is not None and sign != previous:
            changes.append((int(value), previous))
        previous = sign
    return changes


def sign_segments(values, signs) -> list:
    """[(from, to, sign)]: maximal runs of consecutive valid sizes with one sign."""
    segments: list = []
    for value, sign in zip(values, signs):
        if np.isnan(sign):
            continue
        if segments and segments[-1][2] == sign and segments[-1][1] == value - 1:
            segments[-1][1] = int(value)
        else:
            segments.append([int(value), int(value), sign])
    return [tuple(seg) for seg in segments]


def real_roots(diff, t) -> tuple[list, object]:
    """(sorted real positive roots of the floor-free ``diff`` = 0, ``diff`` floor-free and factored)."""
    roots = []
    free = sympy.expand(drop_floors(diff))
    try:
        coefficients = [float(c) for c in sympy.Poly(sympy.together(free).as_numer_denom()[0], t).all_coeffs()]
    except (sympy.PolynomialError, TypeError):   # not a polynomial in t (e.g. a Max): no closed form
        coefficients = []
    if len(coefficients) > 1:
        for root in np.roots(coefficients):
            if abs(root.imag) < 1e-9 * max(1.0, abs(root.real)) and root.real > 0:
                roots.append(float(root.real))
    return sorted(roots), sympy.factor(free)


def _evaluate(expr, t, values) -> np.ndarray:
    """The expression compiled once (numpy) and evaluated on all values at once."""
    compiled = sympy.lambdify(t, expr, modules="numpy")
    return np.broadcast_to(np.asarray(compiled(values.astype(np.float64)), dtype=np.float64), values.shape)


def _evaluate_each(entry, shape, varied, hp, values, valid, metric, convention) -> np.ndarray:
    out = np.zeros(len(values), dtype=np.float64)
    for i, value in enumerate(values):
        if valid[i]:
            concrete = tuple(int(value) if s in varied else s for s in shape)
            out[i] = float(metric_expr(entry.cost(concrete, hp), metric, convention))
    return out


def _first_reason(entries, shape, varied, hp_by_module, value) -> str:
    """Why the first of ``entries`` that is invalid at ``value`` is (its error message), or ""."""
    concrete = tuple(int(value) if s in varied else s for s in shape)
    for entry in entries:
        try:
            entry.resolve(concrete, hp_by_module.get(entry.name, {}))
        except HyperparameterError as error:
            return str(error)
    return ""


def _valid(entry, shape, varied, hp, values) -> np.ndarray:
    ok = np.ones(len(values), dtype=bool)
    for i, value in enumerate(values):
        concrete = tuple(int(value) if s in varied else s for s in shape)
        try:
            entry.resolve(concrete, hp)
        except HyperparameterError:
            ok[i] = False
    return ok
