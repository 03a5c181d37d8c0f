"""The symbols every formula is written in.

All are positive integers, which lets sympy simplify ``floor``/``Max`` and decide
dominance between candidate peaks.

``N``, ``C``, ``H``, ``W`` and ``SHAPE_SYMBOLS`` are made on first use (a module ``__getattr__``),
so that importing this module, or the catalogue that uses it, does not import sympy: concrete
answers never need it (see :mod:`attncost.algebra`). ``from attncost.symbols import H`` works as
before and imports sympy then.
"""

from __future__ import annotations

_SHAPE_NAMES = ("N", "C", "H", "W")


def __getattr__(name: str):
    if name in _SHAPE_NAMES or name == "SHAPE_SYMBOLS":
        import sympy

        made = sympy.symbols("N C H W", positive=True, integer=True)
        globals().update(zip(_SHAPE_NAMES, made), SHAPE_SYMBOLS=tuple(made))
        return globals()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), *_SHAPE_NAMES, "SHAPE_SYMBOLS"])


def shape_symbols() -> tuple:
    """(N, C, H, W) as sympy symbols (imports sympy)."""
    return globals().get("SHAPE_SYMBOLS") or __getattr__("SHAPE_SYMBOLS")


def symbol(name: str):
    """A positive-integer symbol for a hyperparameter (e.g. ``r`` or ``k``)."""
    import sympy

    return sympy.Symbol(name, positive=True, integer=True)
