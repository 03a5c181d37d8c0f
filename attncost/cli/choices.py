"""click choices taken from the domain constants they name, never copied into the CLI; every one
matched regardless of case.

A constant of a module the CLI imports anyway (``Convention``, ``FORMATS``, ``catalogue.FAMILIES``,
``shapes.DTYPE_BYTES``, ``shapes.MODES``) goes straight into :class:`click.Choice`. One of a module the
CLI imports only for the commands that need it goes into :class:`DomainChoice`, which reads it when
click first needs the choices (parsing a value, printing help): ``crossings.VARY`` and ``METRICS``
(numpy), ``networks.POLICIES`` (the definition files), ``graph.GROUP_BY`` (networkx) and the ``lut``
constants, so that starting the CLI imports none of them.

Names are case-insensitive everywhere (modules, networks), and so are choices: ``--convention MACS``,
``--format JSON``, ``--where Every_Block``, ``--vary h=w``. :class:`Choice` matches case-insensitively
and hands the command the canonical spelling (the domain constant's); help and errors show the choices
as the constants spell them. :func:`case_insensitive` makes every plain ``click.Choice`` of a command
group one, so no option can be left case-sensitive.
"""

from __future__ import annotations

from typing import Callable

import click


class Choice(click.Choice):
    """A :class:`click.Choice` that matches regardless of case and returns the choice as spelt."""

    def __init__(self, choices, case_sensitive: bool = False):
        super().__init__(choices, case_sensitive=True)      # shown (help, errors) as the constant spells them

    def convert(self, value, param, ctx):
        if isinstance(value, str):
            folded = value.casefold()
            for choice in self.choices:
                if str(choice).casefold() == folded:
                    return choice
        return super().convert(value, param, ctx)


class DomainChoice(Choice):
    """A :class:`Choice` over what ``load()`` returns, read on first use."""

    def __init__(self, load: Callable, case_sensitive: bool = False):
        self._load = load
        self._choices = None
        self.case_sensitive = True

    @property
    def choices(self) -> tuple:
        if self._choices is None:
            self._choices = tuple(self._load())
        return self._choices


def case_insensitive(group: click.Group) -> None:
    """Every plain ``click.Choice`` of ``group``'s commands (and sub-groups') becomes a :class:`Choice`
    over the same constants: matched regardless of case, the canonical spelling handed on."""
    for command in group.commands.values():
        if isinstance(command, click.Group):
            case_insensitive(command)
        for param in command.params:
            if type(param.type) is click.Choice:
                param.type = Choice(param.type.choices)
