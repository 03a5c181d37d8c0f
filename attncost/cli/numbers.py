"""click parameter types for the integers options take, read by :mod:`attncost.numbers` (ASCII
digits only, bounded) so that an option and a ``--hp`` value reject the same things the same way."""

from __future__ import annotations

import click

from ..errors import AttncostError
from ..numbers import MAX_INT, parse_int


class Integer(click.ParamType):
    """An integer in [minimum, maximum] (both inclusive; ``maximum`` at most 2^31 by default)."""

    name = "INTEGER"

    def __init__(self, minimum: int | None = None, maximum: int | None = MAX_INT):
        self.minimum = minimum
        self.maximum = maximum

    def convert(self, value, param, ctx):
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        try:
            return parse_int(value, repr(value), minimum=self.minimum, maximum=self.maximum, error=AttncostError)
        except AttncostError as error:
            self.fail(str(error), param, ctx)
