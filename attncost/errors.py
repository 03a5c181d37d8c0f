"""The one family of errors a user can cause.

The CLI turns every :class:`AttncostError` into a single line on stderr and exit code 2;
any other exception is a bug and may show a traceback.
"""


class AttncostError(Exception):
    """Base class for errors caused by user input."""


class ShapeError(AttncostError):
    """A malformed or impossible input shape."""


class UnknownModuleError(AttncostError):
    """A catalogue name that is not registered."""


class HyperparameterError(AttncostError):
    """An unknown, malformed or impossible hyperparameter."""


class SpecError(AttncostError):
    """A malformed spec file; the message names the file and line."""


class LutError(AttncostError):
    """A latency table that cannot be used: corrupt, truncated, for another space, or incomplete."""
