"""Registry of reference PyTorch implementations, keyed by catalogue name.

Constructors take ``channels`` and the entry's hyperparameters as keyword arguments; ``build``
fills the defaults from the catalogue entry (the single source of truth) and validates them.
The family files register themselves; ``attncost.reference`` imports them all.
"""

from __future__ import annotations

from typing import Callable

from .. import catalogue

REFERENCES: dict[str, Callable] = {}


def reference(name: str):
    """Register the decorated nn.Module class as the reference of catalogue entry ``name``."""

    def decorate(cls):
        if name in REFERENCES:
            raise ValueError(f"reference {name!r} registered twice")
        REFERENCES[name] = cls
        return cls

    return decorate


def build(name: str, shape, hp: dict | None = None):
    """The reference module of entry ``name`` for input ``shape`` (N, C, H, W), in eval mode."""
    entry = catalogue.get(name)
    values = entry.resolve(shape, hp)
    try:
        cls = REFERENCES[entry.name]
    except KeyError:
        raise KeyError(f"catalogue entry {entry.name!r} has no reference implementation") from None
    if getattr(cls, "needs_spatial_size", False):
        values["spatial_size"] = (int(shape[2]), int(shape[3]))
    return cls(int(shape[1]), **values).eval()

