"""Where two modules' costs cross as one dimension grows (`attncost crossover`, `attncost.crossover`), and
the largest size that fits a memory budget (`attncost fit`, `attncost.fit`). No torch.

The two costs are taken symbolically in the varied dimension (the others fixed), their difference is
compiled once and evaluated vectorised over every integer of the range, exactly (integer arithmetic,
floors included), and the crossing points are where its sign changes. The floor-free difference is
also solved with sympy, to show the crossing as a closed form and the inequality in words.

With ``training`` (:class:`TrainingOptions`, ``--mode train``) each metric is the training step's
(:func:`entry_training_cost`, docs/TRAINING.md): ``macs`` and ``flops`` forward plus backward,
``params`` the trainable parameters, ``activation`` the bytes saved for backward, ``peak`` the step's
peak in bytes (activations and gradients at their peak, plus parameters, master weights and
optimizer state); ``attention-map`` has no training meaning and is refused. :func:`fit` scans one
module's peak bytes over the range, vectorised like a crossover, and checks the answer exactly.

Either module may be a user's own model, ``FILE.py:FUNCTION``: its cost in the varied size is the
symbolic formula of :func:`attncost.usermodels.formula` (one FakeTensor trace with symbolic sizes;
this imports torch, catalogue names never do), taken as valid over the whole range.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field

from . import catalogue
from .cost import Convention, Cost, flops
from .cost.training_cost import FP32, PRECISIONS, Optimizer, Precision, TrainingCost
from .errors import AttncostError, HyperparameterError
from .shapes import MAX_SIZE

#: the most sizes one crossover evaluates (``--range``): every size is checked for validity, and
#: where a default derives from the varied size (ECA's k from C) counted, one by one (65,536 such
#: sizes take about 10 s), and each is an element of the arrays compared
MAX_RANGE = 2 ** 16
METRICS = ("macs", "flops", "params", "peak", "attention-map", "activation")
#: what ``--vary`` varies: the letters of the shape's sizes (:func:`varied_symbols` gives the symbols)
VARY = {"H=W": ("H", "W"), "H": ("H",), "W": ("W",), "C": ("C",), "N": ("N",)}


def varied_symbols(vary: str) -> tuple:
    """The symbols (:mod:`attncost.symbols`) of the sizes ``vary`` varies."""
    return _symbols(VARY[vary])


def _symbols(letters) -> tuple:
    """N, C, H, W by letter, made (with sympy) only when a crossing or a fit needs them: the training
    step of a concrete shape (``compare --mode train``) loads neither sympy nor numpy."""
    from . import symbols

    return tuple(getattr(symbols, letter) for letter in letters)


def _varied_shape(shape, varied, vary: str) -> list:
    """``shape`` (N, C, H, W) with the varied sizes as their symbols; a symbol left in a size that
    ``--vary`` does not vary is an error."""
    import sympy

    shape = list(shape)
    for i, sym in enumerate(_symbols("NCHW")):
        if sym in varied:
            shape[i] = sym
        elif isinstance(shape[i], sympy.Symbol):
            raise AttncostError(f"--shape leaves {sym} symbolic but --vary {vary} does not vary it")
    return shape


#: metrics a training step has (``attention-map`` is the forward's alone)
TRAINING_METRICS = ("macs", "flops", "params", "peak", "activation")


def metric_expr(cost, metric: str, convention=Convention.FULL, training=None):
    """``metric`` of ``cost``: a forward's :class:`Cost`, or with ``training`` (:class:`TrainingOptions`)
    a :class:`TrainingCost`, whose peak and activation are bytes (see the module docstring)."""
    if training is not None:
        return training_metric(cost, metric, convention, training)
    return {
        "macs": lambda: cost.macs,
        "flops": lambda: flops(cost, convention),
        "params": lambda: cost.params,
        "peak": lambda: cost.peak_live_elements,
        "attention-map": lambda: cost.attention_map_elements,
        "activation": lambda: cost.activation_elements,
    }[metric]()


# -- training ------------------------------------------------------------------------------------------

class TrainingError(AttncostError):
    """A training option that cannot apply (a pattern matching nothing, an unknown optimizer)."""


@dataclass(frozen=True)
class TrainingOptions:
    """How a training step is set up (``--mode train`` and its options; docs/TRAINING.md):
    ``optimizer`` (its state per trainable element), ``precision`` (bytes per element of each kind
    of tensor), ``checkpoint`` (scopes recomputed in backward instead of saved) and ``train_only``
    (fnmatch patterns: only parameters under a matching scope train; empty: every parameter)."""

    optimizer: Optimizer = Optimizer.SGD
    precision: Precision = FP32
    checkpoint: tuple = ()
    train_only: tuple = ()

    def to_dict(self) -> dict:
        return {"optimizer": self.optimizer.value, "precision": self.precision.name,
                "checkpoint": list(self.checkpoint), "train_only": list(self.train_only)}

    def trainable(self):
        """The ``trainable`` predicate of a training Program, or None (every parameter trains)."""
        return ScopePatterns(self.train_only) if self.train_only else None


def training_options(optimizer=None, precision=None, checkpoint=(), train_only=()) -> TrainingOptions:
    """Checked :class:`TrainingOptions` from what a user gives (names as text, patterns as text or lists)."""
    try:
        chosen = Optimizer(str(optimizer if optimizer is not None else "sgd").lower())
    except ValueError:
        raise TrainingError(f"optimizer {optimizer!r} must be one of {', '.join(o.value for o in Optimizer)}") from None
    name = precision.name if isinstance(precision, Precision) else str(precision if precision is not None else "fp32")
    if name.lower() not in PRECISIONS:
        raise TrainingError(f"precision {precision!r} must be one of {', '.join(PRECISIONS)}")
    return TrainingOptions(chosen, PRECISIONS[name.lower()], _patterns(checkpoint, "checkpoint"),
                           _patterns(train_only, "train_only"))


def _patterns(values, what: str) -> tuple:
    """Names or patterns given as ``"a,b"``, ``["a", "b"]`` (or a mix): a tuple, none empty."""
    if values is None:
        return ()
    if isinstance(values, str):
        values = [values]
    if not isinstance(values, (list, tuple)) or not all(isinstance(v, str) for v in values):
        raise TrainingError(f"{what}={values!r} must be scope names or patterns, e.g. 'stage4/*'")
    out = []
    for value in values:
        parts = [part.strip() for part in value.split(",")]
        if not all(parts):
            raise TrainingError(f"{what} {value!r} has an empty name: list them as 'a,b'")
        out += parts
    return tuple(out)


class ScopePatterns:
    """A training Program's ``trainable`` predicate: a parameter trains when a pattern (fnmatch, ``*``
    crossing ``/``) matches its path (``stage4/block2/attention:cbam/mlp1``), the path of one of its
    scopes (``stage4/block2``), or one name on it (``attention:cbam``, ``head``). It remembers which
    patterns matched, so a pattern that matches no parameter is an error, not a silent no-op."""

    def __init__(self, patterns):
        self.patterns = tuple(patterns)
        self.matched: set = set()
        self.names: list = []

    def __call__(self, name: tuple) -> bool:
        parts = [str(p) for p in name]
        self.names.append("/".join(parts))
        candidates = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)] + parts
        hits = {p for p in self.patterns if any(fnmatch.fnmatchcase(c, p) for c in candidates)}
        self.matched |= hits
        return bool(hits)

    def check(self, option: str = "--train-only") -> None:
        unmatched = [p for p in self.patterns if p not in self.matched]
        if unmatched:
            example = ", ".join(self.names[:3]) or "none"
            raise TrainingError(f"{option} {unmatched[0]!r} matches no parameter (parameters are named like "
                                f"{example}): it would freeze everything")


def program_training_cost(forward, shape, options: TrainingOptions, input_requires_grad: bool,
                          whole: bool = False) -> TrainingCost:
    """The training step of ``forward(g, x)`` on an input of ``shape`` with ``options`` (the formula
    side's :func:`attncost.cost.training.forward_training_cost`). ``whole``: the forward runs under
    activation checkpointing as a whole (a catalogue module named by ``--checkpoint``); else
    ``options.checkpoint`` are patterns of the forward's scopes (``stage4/block2/attention:nonlocal``,
    ``attention:*``), each of which must match a scope: one matching none would do nothing."""
    from .cost.training import forward_training_cost

    trainable = options.trainable()
    ran = {}

    def run(g, x):
        ran["program"] = g
        return forward(g, x)

    cost = forward_training_cost(run, shape, trainable=trainable, input_requires_grad=input_requires_grad,
                                 checkpoint=True if whole else options.checkpoint)
    if trainable is not None:
        trainable.check()
    if options.checkpoint and not whole:
        _check_scopes(options.checkpoint, ran["program"].records)
    return cost


def _check_scopes(patterns, records) -> None:
    """Each ``--checkpoint`` pattern matches a scope path or a scope's name the forward ran in."""
    names = set()
    for record in records:
        scope = [str(s) for s in record.scope]
        names.update("/".join(scope[:i]) for i in range(1, len(scope) + 1))
        names.update(scope)
    for pattern in patterns:
        if not any(fnmatch.fnmatchcase(name, pattern) for name in names):
            example = ", ".join(sorted(n for n in names if "/" in n)[:2]) or "none"
            raise TrainingError(f"--checkpoint {pattern!r} matches no scope of the forward (scopes are named like "
                                f"{example}): it would checkpoint nothing")


def checkpoints(entry, options: TrainingOptions) -> bool:
    """Whether ``options.checkpoint`` names ``entry`` (its name, an alias, or a pattern matching one):
    the module then runs under activation checkpointing as a whole."""
    names = (entry.name, *getattr(entry, "aliases", ()))
    return any(fnmatch.fnmatchcase(name, pattern.lower()) for pattern in options.checkpoint for name in names)


def check_checkpoints(names, options: TrainingOptions | None) -> None:
    """Every ``--checkpoint`` pattern names one of the modules given (one that names none would do nothing)."""
    if options is None:
        return
    entries = [catalogue.get(n) for n in names if ".py:" not in n]
    for pattern in options.checkpoint:
        if not any(checkpoints(e, TrainingOptions(checkpoint=(pattern,))) for e in entries):
            raise TrainingError(f"--checkpoint {pattern} names none of the modules given "
                                f"({', '.join(e.name for e in entries)}): give a module's name to recompute it "
                                "in backward")


def entry_training_cost(entry, shape, hp=None, options: TrainingOptions = TrainingOptions()) -> TrainingCost:
    """One catalogue entry's training step at ``shape`` (ints or symbols). The module is trained as it
    sits in a network: its input requires grad, so its backward computes the input's gradient too.
    Named by ``options.checkpoint``, it runs as ``torch.utils.checkpoint.checkpoint(module, x)``
    (``Program.checkpoint``): only its input is saved, its forward recomputed in backward."""
    resolved = entry.resolve(shape, hp or {})
    return program_training_cost(lambda g, x: entry.program(g, x, **resolved), tuple(shape),
                                 TrainingOptions(options.optimizer, options.precision, (), options.train_only), True,
                                 whole=checkpoints(entry, options))


def step_counts(cost: TrainingCost, convention=Convention.FULL) -> dict:
    """Forward, backward and whole-step MACs and FLOPs under ``convention`` of a training step."""
    backward = cost.backward
    step = Cost(counts=cost.total_counts)
    return {"forward_macs": cost.forward.macs, "forward_flops": flops(cost.forward, convention),
            "backward_macs": backward.macs, "backward_flops": flops(backward, convention),
            "step_macs": step.macs, "step_flops": flops(step, convention)}


def step_bytes(cost: TrainingCost, options: TrainingOptions) -> dict:
    """The step's memory in bytes under ``options`` (:meth:`TrainingCost.bytes`, named as documents
    name them): saved activations, the activation-and-gradient peak, parameters, gradients, master
    weights, optimizer state and the whole step's peak."""
    parts = cost.bytes(options.optimizer, options.precision)
    return {"saved_activation_bytes": parts["saved_activations"],
            "activation_peak_bytes": parts["peak_activations_and_gradients"],
            "parameter_bytes": parts["parameters"], "gradient_bytes": parts["gradients"],
            "master_weight_bytes": parts["master_weights"], "optimizer_state_bytes": parts["optimizer_state"],
            "train_peak_bytes": parts["peak"]}


def check_training_metric(metric: str) -> None:
    if metric not in TRAINING_METRICS:
        raise TrainingError(f"--metric {metric} has no training meaning (the attention map is the forward's): "
                            f"with --mode train give one of {', '.join(TRAINING_METRICS)}")


def training_fields(cost: TrainingCost, options: TrainingOptions, convention=Convention.FULL) -> dict:
    """A training step as ints, named as the documents name them (docs/JSON.md, ``training``):
    :func:`step_counts`, ``trainable_params``, then :func:`step_bytes`."""
    fields = {**step_counts(cost, convention), "trainable_params": cost.trainable_params, **step_bytes(cost, options)}
    return {key: _int(value) for key, value in fields.items()}


def _int(value):
    try:
        return int(value)
    except TypeError:               # symbolic: kept as it is
        return value


def training_metric(cost: TrainingCost, metric: str, convention, options: TrainingOptions):
    """``metric`` of a training step (see the module docstring)."""
    check_training_metric(metric)
    if metric == "params":
        return cost.trainable_params
    if metric in ("macs", "flops"):
        return step_counts(cost, convention)[f"step_{metric}"]
    parts = step_bytes(cost, options)
    return parts["train_peak_bytes"] if metric == "peak" else parts["saved_activation_bytes"]


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
              convention=Convention.FULL, hp_by_module: dict | None = None, lo: int = 1, hi: int = 1024,
              training: TrainingOptions | None = None) -> Crossover:
    """Crossing points of ``metric`` between modules A and B as ``vary`` runs over [lo, hi]; with
    ``training``, of the training step's ``metric`` (the module docstring)."""
    if vary not in VARY:
        raise AttncostError(f"--vary {vary!r} must be one of: {', '.join(VARY)}")
    if metric not in METRICS:
        raise AttncostError(f"--metric {metric!r} must be one of: {', '.join(METRICS)}")
    if training is not None:
        check_training_metric(metric)
    import numpy as np
    import sympy

    _check_range(lo, hi)
    hp_by_module = hp_by_module or {}
    varied = varied_symbols(vary)
    t = sympy.Symbol("t", positive=True, integer=True)
    entries = [_entry(name_a, training), _entry(name_b, training)]
    check_checkpoints([e.name for e in entries], training)
    for name in hp_by_module:
        if name not in [e.name for e in entries]:
            keys = ", ".join(f"{name}.{key}" for key in hp_by_module[name])
            raise HyperparameterError(f"--hp {keys}: {name} is not among the modules given "
                                      f"({entries[0].name}, {entries[1].name})")
    shape = _varied_shape(shape, varied, vary)
    for entry in entries:                       # a value wrong at every size is named, not "not valid"
        for key, value in hp_by_module.get(entry.name, {}).items():
            if isinstance(entry, catalogue.Entry):
                entry.hp(key).check(value, entry.name)
    values = np.arange(lo, hi + 1)
    valid = np.ones(len(values), dtype=bool)
    exprs, series = [], []
    for entry in entries:
        expr, values_of, valid_of = metric_series(entry, shape, varied, hp_by_module.get(entry.name, {}), values,
                                                  metric, convention, t, training)
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


def _check_range(lo, hi) -> None:
    import numpy as np

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


def _entry(name: str, training=None):
    if ".py:" in name:
        if training is not None:
            raise TrainingError(f"{name}: --mode train is for catalogue modules here (a model of yours is traced "
                                "at one concrete shape: attncost network FILE.py:FN --mode train)")
        return UserModelEntry(name)
    return catalogue.get(name)


def _cost(entry, shape, hp, training):
    """The forward's Cost, or with ``training`` the training step's TrainingCost."""
    if training is None:
        return entry.cost(tuple(shape), hp)
    return entry_training_cost(entry, tuple(shape), hp, training)


def metric_series(entry, shape, varied, hp, values, metric, convention, t, training=None):
    """(expression in ``t`` or None, exact values on ``values``, validity mask) of ``metric`` of one
    module as the ``varied`` sizes of ``shape`` run over ``values`` (with ``training``: its training
    step's). The expression is compiled once and evaluated vectorised; an entry whose defaults depend
    on the varied size (ECA's k from C) has no single expression and is evaluated size by size.
    Invalid sizes are NaN."""
    import numpy as np
    import sympy

    valid = _valid(entry, shape, varied, hp, values)
    try:
        expr = metric_expr(_cost(entry, shape, hp, training), metric, convention, training)
        expr = sympy.sympify(expr).subs({v: t for v in varied})
    except TypeError:   # a default derived from the varied size (ECA's k from C): evaluate per size
        expr = None
    series = (_evaluate(expr, t, values) if expr is not None else
              _evaluate_each(entry, shape, varied, hp, values, valid, metric, convention, training)).astype(np.float64)
    series[~valid] = np.nan
    return expr, series, valid


def difference_signs(series_a, series_b, valid) -> np.ndarray:
    """sign(a - b) at every size (NaN where either is invalid): +1 where A costs more."""
    import numpy as np

    signs = np.sign(np.rint(np.nan_to_num(series_a) - np.nan_to_num(series_b)))
    signs[~valid] = np.nan
    return signs


def sign_changes(values, signs) -> list:
    """[(t, sign just below t)] at each size where the cheaper module changes (ties skipped)."""
    import numpy as np

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
    import numpy as np

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
    import numpy as np
    import sympy

    from .symbolic_terms import drop_floors

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
    import numpy as np
    import sympy

    compiled = sympy.lambdify(t, expr, modules="numpy")
    return np.broadcast_to(np.asarray(compiled(values.astype(np.float64)), dtype=np.float64), values.shape)


def _evaluate_each(entry, shape, varied, hp, values, valid, metric, convention, training=None) -> np.ndarray:
    import numpy as np

    out = np.zeros(len(values), dtype=np.float64)
    for i, value in enumerate(values):
        if valid[i]:
            concrete = tuple(int(value) if s in varied else s for s in shape)
            out[i] = float(metric_expr(_cost(entry, concrete, hp, training), metric, convention, training))
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
    import numpy as np

    ok = np.ones(len(values), dtype=bool)
    for i, value in enumerate(values):
        concrete = tuple(int(value) if s in varied else s for s in shape)
        try:
            entry.resolve(concrete, hp)
        except HyperparameterError:
            ok[i] = False
    return ok


# -- fitting a memory budget ---------------------------------------------------------------------------

@dataclass
class Fit:
    """The largest size of ``variable`` in ``lo..hi`` at which ``module``'s peak fits ``budget`` bytes:
    ``largest`` (None if even ``lo`` does not fit) is the end of the run of sizes from ``lo`` that all
    fit; ``peak`` the exact peak bytes there, ``next_size`` and ``next_peak`` the first size after it
    and its exact peak (None when every size up to ``hi`` fits). ``training``: the step's options, or
    None for the inference peak (activations in ``dtype``, as ``compare``'s ``peak_bytes``)."""

    module: str
    variable: str
    lo: int
    hi: int
    budget: int
    largest: int | None
    peak: int | None
    next_size: int | None
    next_peak: int | None
    training: TrainingOptions | None = None
    dtype: str = "float32"
    shape: tuple = field(default_factory=tuple)


def fit(name: str, shape, budget: int, vary: str = "H=W", hp: dict | None = None, lo: int = 1, hi: int = 4096,
        training: TrainingOptions | None = None, dtype: str = "float32") -> Fit:
    """The largest ``vary`` size in ``lo..hi`` whose peak bytes (the training step's with
    ``training``, else the inference peak in ``dtype``) are at most ``budget``: the peak is evaluated
    vectorised over the whole range from the formula, and the answer and the size after it are then
    evaluated exactly (integer arithmetic on the concrete shape), so float rounding cannot move it."""
    import numpy as np
    import sympy

    from .shapes import DTYPE_BYTES

    if vary not in VARY:
        raise AttncostError(f"--vary {vary!r} must be one of: {', '.join(VARY)}")
    if isinstance(budget, bool) or not isinstance(budget, int) or budget < 1:
        raise AttncostError(f"budget {budget!r} must be a positive number of bytes, e.g. 16GiB")
    _check_range(lo, hi)
    if ".py:" in name:
        raise AttncostError(f"{name}: fit takes a catalogue module (a model of yours is traced at one concrete "
                            "shape: attncost network FILE.py:FN --mode train gives its peak there)")
    entry = catalogue.get(name)
    check_checkpoints([entry.name], training)
    hp = dict(hp or {})
    varied = varied_symbols(vary)
    shape = _varied_shape(shape, varied, vary)
    for key, value in hp.items():
        entry.hp(key).check(value, entry.name)
    nbytes = DTYPE_BYTES[dtype]

    def peak_of(cost):
        return metric_expr(cost, "peak", Convention.FULL, training) if training is not None \
            else cost.peak_live_elements * nbytes

    def exact(size: int) -> int:
        concrete = tuple(size if s in varied else s for s in shape)
        return int(peak_of(_cost(entry, concrete, hp, training)))

    values = np.arange(lo, hi + 1)
    valid = _valid(entry, shape, varied, hp, values)
    if not valid.any():
        reason = _first_reason([entry], shape, varied, {entry.name: hp}, lo)
        raise HyperparameterError(f"{entry.name} is not valid for {vary} in {lo}..{hi}"
                                  + (f" (at {vary} = {lo}: {reason})" if reason else ""))
    t = sympy.Symbol("t", positive=True, integer=True)
    try:
        expr = sympy.sympify(peak_of(_cost(entry, shape, hp, training))).subs({v: t for v in varied})
        series = _evaluate(expr, t, values).astype(np.float64)
    except TypeError:   # a default derived from the varied size: size by size
        series = np.array([float(exact(int(v))) if ok else np.nan for v, ok in zip(values, valid)])
    sizes = [int(v) for v, ok in zip(values, valid) if ok]
    peaks = [p for p, ok in zip(series, valid) if ok]
    fits = [p <= budget for p in peaks]
    count = next((i for i, ok in enumerate(fits) if not ok), len(fits))   # sizes from the first that all fit
    index = count - 1
    while index >= 0 and exact(sizes[index]) > budget:     # exact at the answer: rounding cannot move it
        index -= 1
    while index + 1 < len(sizes) and exact(sizes[index + 1]) <= budget:
        index += 1
    largest = sizes[index] if index >= 0 else None
    following = sizes[index + 1] if index + 1 < len(sizes) else None
    return Fit(entry.name, vary, lo, hi, budget, largest, exact(largest) if largest is not None else None,
               following, exact(following) if following is not None else None, training, dtype, tuple(shape))
