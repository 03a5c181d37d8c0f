"""The tracer's aten table, derived from the primitives (:mod:`attncost.ops`): nothing is written here.

Each primitive names the aten overload packets it handles and how a call's arguments map onto its
formula; this module resolves those names to torch's packets (a misspelt name fails at import) and
hands the mapping a :class:`Call`. Ops that cost nothing by decision come from ``ops.ZERO_COST``,
with their reasons; anything else without a handler is reported as unsupported by the tracer, never
counted as zero, until a formula is registered for it (:func:`register_op`, public as
``attncost.register_op``), which adds it to ``HANDLERS`` at run time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import torch

from .. import ops

aten = torch.ops.aten


@dataclass
class Call:
    """One traced aten call: its arguments, outputs, and the helpers ``ops.primitive.TracedCall``
    promises (shapes as sympy/ints, parameter storages, tensor tests)."""

    packet: Any               # the aten overload packet (aten.add, aten.convolution, ...)
    args: tuple
    kwargs: dict
    out: Any
    shape: Callable           # tensor -> tuple of sympy/int sizes
    is_parameter: Callable    # tensor -> bool (its storage belongs to a module parameter)

    @property
    def out_shape(self):
        out = self.out[0] if isinstance(self.out, (tuple, list)) else self.out
        return self.shape(out)

    @staticmethod
    def is_tensor(value) -> bool:
        return isinstance(value, torch.Tensor)


def _packet(name: str):
    try:
        return getattr(aten, name)
    except AttributeError:
        raise ValueError(f"a primitive handles aten.{name}, which torch {torch.__version__} does not have") from None


HANDLERS: dict = {_packet(name): counts for name, (_, counts) in ops.ATEN_OVERLOADS.items()}
PRIMITIVE_OF: dict = {_packet(name): primitive for name, (primitive, _) in ops.ATEN_OVERLOADS.items()}
IGNORED = {_packet(name) for zero in ops.ZERO_COST for name in zero.overloads}
IGNORED_NAMES = {name for zero in ops.ZERO_COST for name in zero.names}


# -- formulas registered at run time (attncost.register_op) --------------------------------------------

def _resolve(op):
    """The overload packet and qualified name ("mylib::myop") of ``op``: a name ("mylib::myop",
    "mylib.myop", or a bare aten name such as "topk"), a ``torch.ops`` packet or overload, or the
    object ``torch.library.custom_op`` returns."""
    if hasattr(op, "_opoverload"):                      # torch.library.custom_op's CustomOpDef
        op = op._opoverload
    if isinstance(op, torch._ops.OpOverload):
        op = op.overloadpacket
    if isinstance(op, str):
        namespace, _, name = op.replace("::", ".").rpartition(".")
        try:
            op = getattr(getattr(torch.ops, namespace or "aten"), name)
        except (AttributeError, RuntimeError):
            raise ValueError(f"no torch op is called {op!r} (a custom op must be defined, with torch.library, "
                             f"before its formula is registered)") from None
    if not isinstance(op, torch._ops.OpOverloadPacket):
        raise TypeError(f"register_op wants an op name, a torch.ops packet or overload, or a custom op; got {op!r}")
    return op, op._qualified_op_name


def register_op(op, counts=None, *, kinds):
    """Give the tracer a formula for ``op``, a ``torch.library`` custom op or an aten op attncost does
    not count: ``counts(call) -> {kind name: count}`` (see :func:`attncost.ops.primitive.custom` for
    what ``call`` offers), counting only the op kinds ``kinds``. Every overload of the op is counted
    with it from then on, in this process. Without ``counts`` it is a decorator. Registering an op
    that already has a formula (its own, or one registered before) raises, and so does an op that
    costs nothing by decision (views, allocations). Returns the op's primitive."""
    if counts is None:
        return lambda fn: register_op(op, fn, kinds=kinds)
    packet, name = _resolve(op)
    if packet in HANDLERS:
        raise ValueError(f"{name} already has a formula (primitive {PRIMITIVE_OF[packet].name!r}); registering an "
                         f"op twice is an error")
    if packet in IGNORED or name.replace("::", ".") in IGNORED_NAMES:
        raise ValueError(f"{name} costs nothing by decision (docs/CONVENTIONS.md): it takes no formula")
    primitive = ops.primitive.custom(name, counts, kinds)
    HANDLERS[packet] = lambda call: primitive(call)
    PRIMITIVE_OF[packet] = primitive
    return primitive


def unregister_op(op) -> None:
    """Remove a formula :func:`register_op` gave (the op is unsupported again); attncost's own raise."""
    packet, name = _resolve(op)
    if name not in ops.CUSTOM_OPS:
        raise KeyError(f"{name} has no registered formula to remove"
                       + (" (its formula is attncost's own)" if packet in HANDLERS else ""))
    ops.primitive.remove_custom(name)
    del HANDLERS[packet], PRIMITIVE_OF[packet]
