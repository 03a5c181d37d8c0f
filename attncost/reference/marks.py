"""Markers that reference modules call so tracers can see what aten ops cannot say.

``attention_map(t)`` declares ``t`` an attention map (mirrors ``Program.mark_attention_map``). It
returns ``t`` unchanged and costs nothing; active tracers record its element count.
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
