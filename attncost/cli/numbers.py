"""click parameter types for the numbers options take, read by :mod:`attncost.numbers` (ASCII digits
only, bounded; floats finite) so that an option and a ``--hp`` value reject the same things the same
way. Every integer or float option of the CLI uses one of these (``tests/cli/test_numbers.py`` walks
every command to check): :class:`Integer` (at most 2^31), :class:`Float` (finite: ``nan``, ``inf``
and ``1e400`` are errors, before any work starts) and :class:`Percent`."""

from __future__ import annotations

import click

from ..errors import AttncostError
from ..numbers import MAX_INT, check_number, parse_float, parse_int


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


#: a seed (``--seed``): any integer from 0 to 2^31
SEED = Integer(0)


class Float(click.ParamType):
    """A finite float in [minimum, maximum] (inclusive), or above ``above`` (exclusive)."""

    name = "FLOAT"

    def __init__(self, minimum: float | None = None, maximum: float | None = None, above: float | None = None):
        self.minimum, self.maximum, self.above = minimum, maximum, above

    def convert(self, value, param, ctx):
        try:
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return float(check_number(float(value), repr(value), minimum=self.minimum, maximum=self.maximum,
                                          above=self.above, error=AttncostError))
            return parse_float(value, repr(value), minimum=self.minimum, maximum=self.maximum, above=self.above,
                               error=AttncostError)
        except AttncostError as error:
            self.fail(str(error), param, ctx)


class Percent(click.ParamType):
    """A percentage: ``3%`` or ``3`` (3 percent), finite and strictly between 0 and 100."""

    name = "PCT"

    def convert(self, value, param, ctx):
        text = str(value).strip()
        try:
            number = parse_float(text[:-1] if text.endswith("%") else text, repr(value), error=AttncostError)
        except AttncostError as error:
            if "finite" in str(error):
                self.fail(f"{value!r}: a percentage must be a finite number strictly between 0 and 100 (such as 3%)",
                          param, ctx)
            self.fail(f"{value!r} is not a percentage (such as 3%)", param, ctx)
        if not 0 < number < 100:
            self.fail(f"{value!r}: a percentage strictly between 0 and 100 (such as 3%)", param, ctx)
        return number
