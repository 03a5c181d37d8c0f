"""click choices taken from the domain constants they name, never copied into the CLI.

A constant of a module the CLI imports anyway (``Convention``, ``FORMATS``, ``catalogue.FAMILIES``,
``shapes.DTYPE_BYTES``, ``shapes.MODES``) goes straight into :class:`click.Choice`. One of a module the
CLI imports only for the commands that need it goes into :class:`DomainChoice`, which reads it when
click first needs the choices (parsing a value, printing help): ``crossover.VARY`` and ``METRICS``
(numpy), ``networks.POLICIES`` (the definition files), ``graph.GROUP_BY`` (networkx) and the ``lut``
constants, so that starting the CLI imports none of them.
"""

from __future__ import annotations

from typing import Callable

import click


class DomainChoice(click.Choice):
    """A :class:`click.Choice` over what ``load()`` returns, read on first use."""

    def __init__(self, load: Callable, case_sensitive: bool = True):
        self._load = load
        self._choices = None
        self.case_sensitive = case_sensitive

    @property
    def choices(self) -> tuple:
        if self._choices is None:
            self._choices = tuple(self._load())
        return self._choices
