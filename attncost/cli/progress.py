"""Progress of long work (``verify``, ``report``, ``lut build|validate|calibrate-sum``) on stderr.

On a terminal: one line rewritten in place, ``[3/44] verifying cbam  0:12 elapsed, ~2:40 left``, the
estimate from the mean time per finished step. When stderr is not a terminal (a pipe, a CI log, a
test): nothing, so logs and captured output hold only results and errors. ``ATTNCOST_PROGRESS=1``
forces the lines on (one per step, no carriage returns: for logs that want them), ``=0`` off.
The LUT's measuring worker reads the same variable, set for it by the harness.
"""

from __future__ import annotations

import os
import sys
import time

#: environment variable that forces progress on (``1``) or off (``0``); unset: on a terminal only
ENVIRONMENT = "ATTNCOST_PROGRESS"


def mode(stream=None) -> str:
    """``"terminal"`` (rewrite one line), ``"lines"`` (one line per step, forced) or ``"off"``."""
    forced = os.environ.get(ENVIRONMENT, "").strip().lower()
    if forced in ("1", "true", "yes", "on"):
        return "lines"
    if forced in ("0", "false", "no", "off"):
        return "off"
    stream = stream or sys.stderr
    try:
        return "terminal" if stream.isatty() else "off"
    except (AttributeError, ValueError):
        return "off"


def enabled(stream=None) -> bool:
    return mode(stream) != "off"


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}" if seconds >= 3600 \
        else f"{seconds // 60}:{seconds % 60:02d}"


class Progress:
    """Steps of known number: ``step(description)`` before each, ``done()`` at the end.

    ``clock`` is injectable so the estimate can be tested without waiting."""

    def __init__(self, total: int, stream=None, clock=time.monotonic):
        self.total = total
        self.stream = stream or sys.stderr
        self.mode = mode(self.stream)
        self.clock = clock
        self.started = clock()
        self.count = 0
        self._width = 0

    def line(self, description: str) -> str:
        """The text shown before step ``count + 1`` starts."""
        elapsed = self.clock() - self.started
        text = f"[{self.count + 1}/{self.total}] {description}  {_clock(elapsed)} elapsed"
        if self.count:
            text += f", ~{_clock(elapsed / self.count * (self.total - self.count))} left"
        return text

    def step(self, description: str) -> None:
        if self.mode != "off":
            text = self.line(description)
            if self.mode == "terminal":
                self.stream.write("\r" + text.ljust(self._width))
                self._width = len(text)
            else:
                self.stream.write(text + "\n")
            self.stream.flush()
        self.count += 1

    def note(self, text: str) -> None:
        """A line that stays (a warning, a phase), shown whenever progress is."""
        if self.mode != "off":
            self.stream.write(("\r" + " " * self._width + "\r" if self._width else "") + text + "\n")
            self._width = 0
            self.stream.flush()

    def done(self) -> None:
        if self.mode == "terminal" and self._width:
            self.stream.write("\r" + " " * self._width + "\r")
            self.stream.flush()
            self._width = 0


def note(text: str, stream=None) -> None:
    """One line of progress outside a counted loop (``measuring ... end to end``)."""
    stream = stream or sys.stderr
    if enabled(stream):
        stream.write(text + "\n")
        stream.flush()
