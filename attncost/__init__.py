"""attncost: exact, symbolic costs of computer-vision attention modules, proven against PyTorch.

The Python API (docs/API.md) is :func:`compare`, :func:`network`, :func:`analyze`, :func:`formula`,
:func:`crossover` and :func:`fit` (:mod:`attncost.api`), each returning a result object of
:mod:`attncost.results`; :func:`register_op` counts an op attncost has no formula for. Importing
attncost imports neither torch nor sympy: the functions load what they need when called.

The formula side (this package's ``cost``, ``ops``, ``catalogue``) never imports torch; the torch
side (``reference``, ``trace``, ``verify``) is imported only by what needs it.
"""

from .version import __version__  # noqa: F401

#: the Python API's functions, defined in :mod:`attncost.api` and imported on first use
API = ("analyze", "compare", "crossover", "fit", "formula", "network")

__all__ = ["__version__", *API, "register_op", "unregister_op"]


def __getattr__(name):
    if name in API:
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(API))




def register_op(op, counts=None, *, kinds):
    """Count an op attncost has no formula for (a ``torch.library`` custom op such as
    ``"mylib::myop"``, or an aten op the tracer reports as unsupported): ``counts(call)`` returns
    ``{kind name: count}`` over the op kinds ``kinds`` (existing names like ``"elementwise.mul"``, or
    new kinds made with :func:`attncost.ops.kind`). A decorator when ``counts`` is left out;
    registering an op twice raises. See README.md, "Counting a custom op" (imports torch)."""
    from .trace.handlers import register_op as _register_op

    return _register_op(op, counts, kinds=kinds)


def unregister_op(op) -> None:
    """Remove a formula given with :func:`register_op` (imports torch)."""
    from .trace.handlers import unregister_op as _unregister_op

    _unregister_op(op)
