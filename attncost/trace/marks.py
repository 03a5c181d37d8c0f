"""The tracer's marker protocol: what a model declares so that tracers see what aten ops cannot say.

``attention_map(t)`` declares ``t`` an attention map (the torch side's ``Program.mark_attention_map``).
It returns ``t`` unchanged and costs nothing; each active tracer records its element count. The
reference modules call it, and so may users' own models (``from attncost.trace.marks import
attention_map``). It lives with the tracer, which defines the protocol and listens, not with the
models that call it (docs/ARCHITECTURE.md, "Layers"). Plain Python: no torch import of its own.
"""

from __future__ import annotations

_LISTENERS: list = []


def attention_map(tensor):
    for listener in _LISTENERS:
        listener(tensor)
    return tensor


def add_listener(fn) -> None:
    _LISTENERS.append(fn)


def remove_listener(fn) -> None:
    _LISTENERS.remove(fn)
