"""attncost: exact, symbolic costs of computer-vision attention modules, proven against PyTorch.

The formula side (this package's ``cost``, ``ops``, ``catalogue``) never imports torch; the torch
side (``reference``, ``trace``, ``verify``) is imported only by what needs it.
"""

from .version import __version__  # noqa: F401


def analyze(model, inputs=None, method: str = "eager", **options):
    """Count a user's ``nn.Module`` on ``inputs`` (a tensor, a shape such as ``(1, 3, 224, 224)``
    or ``(3, 224, 224)`` for batch 1, or a list of them, one per argument): its op graph, totals and
    breakdowns. ``options``: ``attention=(MyBlock,)``, ``attention_modules=("blocks.*.attn",)``,
    ``fake=True`` (FakeTensors), ``dtype="float16"``, ``mode="train"``, ``exact_shape=True`` (see
    :func:`attncost.usermodels.analyze`; imports torch)."""
    from .usermodels import analyze as _analyze

    return _analyze(model, inputs, method, **options)


def formula(model, inputs, hints=None, **options):
    """A user's ``nn.Module``'s cost as expressions in the letters of ``inputs`` (``"3xHxW"``, or
    shapes with sympy symbols): traced on FakeTensors with symbolic sizes (see
    :func:`attncost.usermodels.formula`; imports torch)."""
    from .usermodels import formula as _formula

    return _formula(model, inputs, hints, **options)


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
