"""attncost: exact, symbolic costs of computer-vision attention modules, proven against PyTorch.

The formula side (this package's ``cost``, ``ops``, ``catalogue``) never imports torch; the torch
side (``reference``, ``trace``, ``verify``) is imported only by what needs it.
"""

__version__ = "0.1.0"
