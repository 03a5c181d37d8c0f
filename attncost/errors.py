"""The one family of errors a user can cause.

The CLI turns every :class:`AttncostError` into a single line on stderr (:func:`one_line`: at most
200 characters) and exit code 2; any other exception is a bug: one line too, exit code 70, and its
traceback with ``attncost --debug`` (or ``ATTNCOST_DEBUG=1``).
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


#: the longest error line the CLI prints (``Error: ...`` included)
MAX_LINE = 200
#: a word (a run of non-blank characters) longer than this (a 5,000-digit size, not a path) is the
#: first thing elided in a long line, down to ``_ELIDED_WORD`` characters if need be
_LONG_WORD = 100
_ELIDED_WORD = 40


def elide(text: str, limit: int, head: float = 0.5) -> str:
    """``text`` cut to at most ``limit`` characters by dropping its middle (``abc...xyz``); ``head``:
    the share of what is kept that comes from the start."""
    if len(text) <= limit:
        return text
    keep = max(limit - 3, 2)
    first = max(1, min(keep - 1, round(keep * head)))
    return text[:first] + "..." + text[len(text) - (keep - first):]


def one_line(message: str, limit: int = MAX_LINE) -> str:
    """``message`` as one line of at most ``limit`` characters: its lines are joined by one space and
    other control characters escaped (``\\x1b``); if it is still too long, its words longer than 100
    characters (a 5,000-digit shape) are elided in the middle first, so the sentence around them stays
    whole, and only then the line, keeping two thirds from its start (which names the input)."""
    text = " ".join(line.strip() for line in str(message).splitlines() if line.strip())
    text = "".join(c if c.isprintable() or c == " " else c.encode("unicode_escape").decode("ascii") for c in text)
    words = text.split(" ")
    for i in sorted(range(len(words)), key=lambda i: -len(words[i])):
        excess = len(" ".join(words)) - limit
        if excess <= 0 or len(words[i]) <= _LONG_WORD:
            break
        words[i] = elide(words[i], max(_ELIDED_WORD, len(words[i]) - excess))
    return elide(" ".join(words), limit, head=2 / 3)
