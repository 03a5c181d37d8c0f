"""What a primitive is, and the one registry every count, weight and aten handler derives from.

A :class:`Primitive` is one op's whole definition: the op kinds it counts (each with its unit, its
description and its weight under every convention), the formula (a pure function of shapes and
static arguments, no torch), and the aten overloads it handles with the function that maps a traced
call's arguments onto the formula. Everything else is derived from the registry:

- the op-kind registry (:data:`OP_KINDS`), which :class:`attncost.cost.Cost` validates against;
- the convention weights (:func:`attncost.cost.conventions.weight` reads ``OpKind.weights``);
- the tracer's handlers (:mod:`attncost.trace.handlers` resolves the overload names to torch ops);
- the op-kind table of docs/CONVENTIONS.md (:mod:`attncost.ops.docs`; a test regenerates it).

Ops attncost does not define (a user's ``torch.library`` custom op, an aten op the tracer lacks) get
a formula at run time through :func:`custom` (public as :func:`attncost.register_op`, whose torch half
lives in :mod:`attncost.trace.handlers`); such a primitive has no aten binding of its own.

Modelled on ``torch.utils.flop_counter`` (a small pure formula registered for the aten ops it
covers; registering a key twice raises) without its flaw of re-listing the formulas in a second
literal dict. Adding a primitive is one :func:`define` call plus its independent test.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Protocol

# The conventions every op kind weighs where it is defined: kind(..., macs=, fvcore=, flopcounter=, full=).
BASE_CONVENTIONS = ("macs", "fvcore", "flopcounter", "full")

CATEGORIES = ("mac", "bias", "elementwise", "reduce", "pool", "softmax", "norm", "interpolate", "copy",
              "attention", "tally")


@dataclass(frozen=True)
class DerivedConvention:
    """A convention written as a rule, in one place, instead of at every kind: a kind weighs what it
    weighs under ``base`` (every kind 0 when ``base`` is None), except the kinds named in
    ``overrides``. A kind defined later (a new primitive, a user's :func:`custom` op) follows the
    rule without naming the convention. ``counter``: the tool whose rules these are."""

    name: str
    counter: str
    base: str | None
    overrides: Mapping[str, int]

    def weight(self, kind_name: str, base_weights: Mapping[str, int]) -> int:
        if kind_name in self.overrides:
            return self.overrides[kind_name]
        return base_weights[self.base] if self.base is not None else 0


#: thop 0.0.31's forward hooks (Lyken17/pytorch-OpCounter, thop/count_hooks.py and profile.py at
#: 55efdec, Sep 2019; the rules in docs/CONVENTIONS.md, "thop-0.0.31"), read as weights of attncost's
#: kinds: only these kinds count, so matmuls, attention, activations other than LeakyReLU, max pooling,
#: softmax, layer/group norm, elementwise arithmetic and every backward kind weigh 0, as thop's
#: unregistered modules and functional calls do.
THOP_0_0_31 = DerivedConvention("thop-0.0.31", "thop 0.0.31 (thop.profile)", None, {
    "mac.conv": 1,                    # Conv*d: output elements x (in_channels / groups x prod(kernel)
    "tally.conv_bias": 1,             #   + 1 if bias)
    "mac.linear": 1,                  # Linear: (in + in - 1) per output element, its bias not counted
    "tally.linear_adds": 1,
    "norm.batch": 4,                  # BatchNorm*d: 4 per element ("subtract, divide, gamma, beta")
    "elementwise.leaky_relu": 1,      # LeakyReLU 1 per element (ReLU, ReLU6: 0)
    "pool.avg": 1,                    # AvgPool*d: (prod(kernel) + 1) per output element
    "pool.global_avg": 1,             # AdaptiveAvgPool*d: (prod(in // out) + 1) per output element:
    "pool.adaptive_avg": 1,           #   the inputs read when the sizes divide,
    "tally.avg_pool_outputs": 1,      #   and the "+ 1" per output
    "interpolate.bilinear": 13,       # Upsample: bilinear 13 per output element (6 muls, 7 adds),
    "interpolate.bicubic": 224 + 35,  #   bicubic 259; nearest 0
})

#: Conventions derived by a rule, by name.
DERIVED_CONVENTIONS = {c.name: c for c in (THOP_0_0_31,)}

# The named conventions, in the order tables print them (attncost.cost.conventions.Convention).
CONVENTIONS = BASE_CONVENTIONS + tuple(DERIVED_CONVENTIONS)


def weights(*, macs: int, fvcore: int, flopcounter: int, full: int) -> dict[str, int]:
    """An op kind's FLOPs per unit under every base convention; every one must be given (the derived
    conventions follow from these and the kind's name, :func:`with_derived`)."""
    return {"macs": macs, "fvcore": fvcore, "flopcounter": flopcounter, "full": full}


def with_derived(kind_name: str, base_weights: Mapping[str, int]) -> dict[str, int]:
    """``base_weights`` (one per base convention) with every derived convention's weight added."""
    out = {c: base_weights[c] for c in BASE_CONVENTIONS}
    for name, convention in DERIVED_CONVENTIONS.items():
        out[name] = convention.weight(kind_name, out)
    return out


@dataclass(frozen=True, eq=False)
class OpKind:
    """A counted quantity: ``category.name`` (``mac.conv``, ``elementwise.sigmoid``), the unit one
    count stands for, and what one unit weighs in FLOPs under each convention (given for the base
    conventions; the derived ones are filled in by their rules). Each kind is one object, compared
    by identity."""

    name: str
    description: str
    unit: str
    weights: Mapping[str, int]

    def __post_init__(self):
        if self.category not in CATEGORIES:
            raise ValueError(f"op kind {self.name!r} has unknown category {self.category!r}")
        if tuple(self.weights) == BASE_CONVENTIONS:
            object.__setattr__(self, "weights", with_derived(self.name, self.weights))
        if tuple(self.weights) != CONVENTIONS:
            raise ValueError(f"op kind {self.name!r} must weigh every base convention {BASE_CONVENTIONS}")

    @property
    def category(self) -> str:
        return self.name.split(".", 1)[0]


class TracedCall(Protocol):
    """What an aten mapping receives from the tracer (attncost.trace.handlers.Call): the op's
    arguments and output, and helpers that turn tensors into shapes without importing torch here."""

    args: tuple
    kwargs: dict
    out: Any
    out_shape: tuple

    def shape(self, tensor) -> tuple: ...
    def is_parameter(self, tensor) -> bool: ...
    def is_tensor(self, value) -> bool: ...


@dataclass(frozen=True)
class Aten:
    """aten overload packets (by name, ``"add_"`` for ``torch.ops.aten.add_``) and how a call's
    arguments map onto the primitive's formula: ``counts(call) -> {kind name: count}``, computed by
    calling primitives only (no arithmetic of its own). ``kinds``: the kinds these overloads can count
    where they are not exactly the primitive's (for the docs table)."""

    overloads: tuple[str, ...]
    counts: Callable[[TracedCall], dict]
    kinds: tuple[OpKind, ...] = ()


@dataclass(frozen=True)
class Primitive:
    """One op: the kinds its formula counts, the formula and its aten bindings. ``formula`` is also
    what the symbolic :class:`attncost.cost.Program` calls, so catalogue and tracer share one
    arithmetic."""

    name: str
    formula: Callable[..., dict]
    kinds: tuple[OpKind, ...]
    aten: tuple[Aten, ...] = ()
    doc: str = ""

    def __call__(self, *args, **kwargs) -> dict:
        return self.formula(*args, **kwargs)


PRIMITIVES: dict[str, Primitive] = {}
OP_KINDS: dict[str, OpKind] = {}
ATEN_OVERLOADS: dict[str, tuple[Primitive, Callable]] = {}
_KIND_OWNER: dict[str, str] = {}


def kind(name: str, description: str, unit: str, **convention_weights: int) -> OpKind:
    """An op kind (registered when the primitive that declares it first is defined)."""
    return OpKind(name, description, unit, weights(**convention_weights))


def define(name: str, kinds, aten=(), doc: str = ""):
    """Register ``fn`` as the formula of primitive ``name`` (decorator). Its kinds join the op-kind
    registry (a kind shared by several primitives must be the same object, defined once); its aten
    overloads join the tracer's table. Any name registered twice raises."""

    def decorate(fn):
        if name in PRIMITIVES:
            raise ValueError(f"primitive {name!r} defined twice")
        primitive = Primitive(name, fn, tuple(kinds), tuple(aten), doc or (fn.__doc__ or "").strip())
        for k in primitive.kinds:
            if k.name in OP_KINDS and OP_KINDS[k.name] is not k:
                raise ValueError(f"op kind {k.name!r} defined twice (by {_KIND_OWNER[k.name]!r} and {name!r})")
        overloads = [overload for binding in primitive.aten for overload in binding.overloads]
        for binding in primitive.aten:
            if any(OP_KINDS.get(k.name) is not k and k not in primitive.kinds for k in binding.kinds):
                raise ValueError(f"primitive {name!r}: an aten binding counts kinds that are not defined")
        for overload in overloads:
            if overload in ATEN_OVERLOADS or overloads.count(overload) > 1:
                first = ATEN_OVERLOADS[overload][0].name if overload in ATEN_OVERLOADS else name
                raise ValueError(f"aten.{overload} handled twice ({first!r}, {name!r})")
        for k in primitive.kinds:                         # all checked: now register
            OP_KINDS.setdefault(k.name, k)
            _KIND_OWNER.setdefault(k.name, name)
        for binding in primitive.aten:
            for overload in binding.overloads:
                ATEN_OVERLOADS[overload] = (primitive, binding.counts)
        PRIMITIVES[name] = primitive
        return primitive

    return decorate


def op_kind(name: str) -> OpKind:
    try:
        return OP_KINDS[name]
    except KeyError:
        raise KeyError(f"op kind {name!r} is not registered") from None


def owner(kind_name: str) -> Primitive:
    """The primitive that defines ``kind_name``."""
    return PRIMITIVES[_KIND_OWNER[kind_name]]


def overloads_counting(kind_name: str) -> list[str]:
    """The aten overloads whose mapping can count ``kind_name``, in definition order."""
    out = []
    for primitive in PRIMITIVES.values():
        for binding in primitive.aten:
            if any(k.name == kind_name for k in binding.kinds or primitive.kinds):
                out.extend(binding.overloads)
    return out


# -- formulas for ops attncost does not define (a user's custom op, an aten op the tracer lacks) -----

#: op name ("mylib::scaled_gate", "aten::topk") -> the primitive registered for it at run time
CUSTOM_OPS: dict[str, Primitive] = {}


def custom(op_name: str, counts: Callable[[TracedCall], Mapping], kinds) -> Primitive:
    """Register ``counts`` as the formula of op ``op_name``, which attncost does not define: the
    op-independent half of :func:`attncost.register_op` (the torch half resolves the op and adds it
    to the tracer's table, :mod:`attncost.trace.handlers`).

    ``counts(call)`` receives the traced call (:class:`TracedCall`: ``args``, ``kwargs``, ``out``,
    ``out_shape``, ``shape(t)``, ``is_parameter(t)``, ``is_tensor(v)``) and returns ``{kind name:
    count}``; shapes are ints on real tensors and sympy expressions on symbolic ones, so a formula
    written with ``+ - * //`` and :func:`attncost.ops.numel` serves both. ``kinds``: the op kinds it
    may count, each an :class:`OpKind` (an existing one, or a new one made with :func:`kind`) or the
    name of a registered kind; it must return no other. An op registered twice raises."""
    if op_name in CUSTOM_OPS or op_name in PRIMITIVES:
        raise ValueError(f"op {op_name!r} already has a formula; registering an op twice is an error "
                         f"(unregister it first)")
    if not callable(counts):
        raise TypeError(f"op {op_name!r}: counts must be a function of the traced call, not {counts!r}")
    if isinstance(kinds, (str, OpKind)):
        kinds = (kinds,)
    resolved = tuple(k if isinstance(k, OpKind) else op_kind(k) for k in kinds)
    if not resolved:
        raise ValueError(f"op {op_name!r}: name the op kinds its formula counts (kinds=...)")
    allowed = {k.name for k in resolved}

    def formula(call) -> dict:
        result = dict(counts(call))
        stray = sorted(set(result) - allowed)
        if stray:
            raise ValueError(f"the formula registered for {op_name!r} counted {stray}, which are not among its "
                             f"kinds {sorted(allowed)}")
        return result

    formula.__doc__ = counts.__doc__
    primitive = define(op_name, kinds=resolved, doc=(counts.__doc__ or f"registered formula of {op_name}"))(formula)
    CUSTOM_OPS[op_name] = primitive
    return primitive


def remove_custom(op_name: str) -> Primitive:
    """Undo :func:`custom`: the op's primitive goes, and with it the op kinds it introduced."""
    if op_name not in CUSTOM_OPS:
        raise KeyError(f"no formula was registered for op {op_name!r}")
    primitive = CUSTOM_OPS.pop(op_name)
    del PRIMITIVES[op_name]
    for name in [name for name, owner_name in _KIND_OWNER.items() if owner_name == op_name]:
        users = [other.name for other in PRIMITIVES.values() if any(k.name == name for k in other.kinds)]
        if users:                                   # another registered op counts it too: it stays
            _KIND_OWNER[name] = users[0]
        else:
            del OP_KINDS[name], _KIND_OWNER[name]
    return primitive


@dataclass(frozen=True)
class ZeroCost:
    """aten ops that cost nothing by decision, with the reason (fvcore's *ignored* set, kept apart
    from unsupported ops): their memory effects are still tracked by storage."""

    overloads: tuple[str, ...]
    reason: str
    names: tuple[str, ...] = field(default=())
