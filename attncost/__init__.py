"""attncost: exact, symbolic costs of computer-vision attention modules, proven against PyTorch.

The formula side (this package's ``cost``, ``ops``, ``catalogue``) never imports torch; the torch
side (``reference``, ``trace``, ``verify``) is imported only by what needs it.
"""

__version__ = "0.1.0"


def analyze(model, input_shape, method: str = "eager"):
    """Count a user's ``nn.Module`` on ``input_shape`` (N, C, H, W): its op graph, totals and
    breakdowns (see :mod:`attncost.usermodels`; imports torch)."""
    from .usermodels import analyze as _analyze

    return _analyze(model, input_shape, method)
