"""The catalogue registry: one :class:`Entry` per attention module, registered by decorator.

CLI, reports and verification all read this single list. An entry's program is a function
``(g: Program, x: Tensor, **hyperparameters) -> Tensor`` that writes the module's forward pass
op by op; its cost, output shape and formulas all come from running that program.
"""

from __future__ import annotations

import difflib
import fnmatch
import functools
import re
from dataclasses import dataclass, field
from typing import Any, Callable

from .. import symbols
from ..algebra import is_symbolic, normalize
from ..cost import Cost, Program
from ..errors import HyperparameterError, UnknownModuleError
from ..numbers import MAX_INT, check_number, parse_float, parse_int
from .common import require_hidden

#: The one list of families, in listing order. Each has one file named after it (``family_module``)
#: in ``catalogue/families/`` (its entries) and in ``reference/`` (their nn.Modules); both packages
#: import exactly these, so a family is added here and nowhere else.
FAMILIES = {
    "channel": "channel attention (squeeze-excitation style gates and global context)",
    "spatial": "spatial and channel-spatial gates",
    "self-attention": "pairwise self-attention over positions",
    "branch": "branch / dynamic-kernel attention",
    "other": "other attention mechanisms",
    "nas": "neural architecture search building blocks",
    "baseline": "plain layers to weigh attention against",
}


def family_module(family: str) -> str:
    """The module name of ``family``'s file (or package): ``self-attention`` -> ``self_attention``."""
    return family.replace("-", "_")


@dataclass(frozen=True)
class Paper:
    """Where a module comes from, and which code its reference implementation follows."""

    title: str
    authors: str
    venue: str
    year: int
    equation: str
    code: str
    follows: str


@dataclass(frozen=True)
class Hyperparameter:
    """A hyperparameter with its default and validation.

    ``symbolic``: may appear as a sympy symbol in formulas (``attncost formula``).
    ``choices``: allowed values for categorical ones. ``minimum``: the smallest allowed number,
    ``above``: a bound it must exceed (``0.0``: positive floats). ``maximum``: the largest allowed
    number; an int is never above 2^31 (:data:`attncost.numbers.MAX_INT`), and one the work grows with
    (a branch, group or application the program writes out one by one) declares a smaller maximum, in
    its help. Floats must be finite. ``odd``: must be odd (kernel sizes). ``optional``: ``None`` is
    allowed (derived from C).
    """

    name: str
    default: Any
    help: str
    type: type = int
    minimum: float | None = None
    choices: tuple | None = None
    odd: bool = False
    optional: bool = False
    symbolic: bool = False
    maximum: float | None = None
    above: float | None = None

    def parse(self, text: str, entry_name: str | None = None):
        """Convert a CLI string into this hyperparameter's type (``entry_name`` names it in errors).
        Numbers are ASCII digits only; floats finite."""
        label = f"{entry_name + '.' if entry_name else 'hyperparameter '}{self.name}={text!r}"
        if self.optional and text.strip().lower() in ("none", "auto"):
            return None
        if self.type is bool:
            if text.lower() in ("true", "1", "yes"):
                return True
            if text.lower() in ("false", "0", "no"):
                return False
        elif self.type is int:
            return parse_int(text, label, maximum=self.maximum or MAX_INT, error=HyperparameterError)
        elif self.type is float:
            return parse_float(text, label, error=HyperparameterError)
        else:
            try:
                return self.type(text)
            except ValueError:
                pass
        raise HyperparameterError(f"{label} is not a valid {self.type.__name__}"
                                  + (" (or none)" if self.optional else ""))

    def check(self, value, entry_name: str):
        where = f"{entry_name}.{self.name}"
        if value is None:
            if self.optional:
                return value
            raise HyperparameterError(f"{where} must be given")
        if is_symbolic(value):
            return value
        if self.type in (int, float) and isinstance(value, bool):
            raise HyperparameterError(f"{where}={value!r} must be a number")
        if self.type is int and isinstance(value, float) and value.is_integer():
            value = int(value)
        if self.type is float and isinstance(value, int):
            if abs(value) > MAX_INT:
                raise HyperparameterError(f"{where}={value!r} must be at most {MAX_INT} (2^31)")
            value = float(value)
        if not isinstance(value, self.type):
            raise HyperparameterError(f"{where}={value!r} must be {self.type.__name__}")
        if self.choices is not None and value not in self.choices:
            allowed = ", ".join(map(str, self.choices))
            raise HyperparameterError(f"{where}={value!r} is not one of: {allowed}")
        if self.type in (int, float):
            maximum = self.maximum if self.maximum is not None else MAX_INT
            check_number(value, f"{where}={value!r}", minimum=self.minimum, maximum=maximum, above=self.above,
                         error=HyperparameterError)
        if self.odd and value % 2 == 0:
            raise HyperparameterError(f"{where}={value!r} must be odd")
        return value


@dataclass(frozen=True)
class Entry:
    name: str
    family: str
    summary: str
    paper: Paper
    program: Callable
    hyperparameters: tuple[Hyperparameter, ...] = ()
    aliases: tuple[str, ...] = ()
    check: Callable | None = None
    notes: str = ""
    doc: str = field(default="", compare=False)
    symbolic_channels: bool = True
    hidden: str | None = None

    # -- hyperparameters ---------------------------------------------------------------------------
    def hp(self, name: str) -> Hyperparameter:
        for h in self.hyperparameters:
            if h.name == name:
                return h
        known = ", ".join(h.name for h in self.hyperparameters) or "none"
        raise HyperparameterError(f"{self.name} has no hyperparameter {name!r} (known: {known})")

    def resolve(self, shape, hp: dict | None = None) -> dict:
        """Defaults filled in, every value validated, cross-checks against the shape run."""
        hp = dict(hp or {})
        for key in hp:
            self.hp(key)
        values = {h.name: h.check(hp.get(h.name, h.default), self.name) for h in self.hyperparameters}
        if self.hidden is not None:
            require_hidden(self.name, shape[1], values[self.hidden])
        if self.check is not None:
            self.check(tuple(shape), values)
        return values

    def symbolic_hp(self, hp: dict | None = None) -> dict:
        """Hyperparameters for formulas: the given ones, symbols for symbolic ones, else defaults."""
        hp = dict(hp or {})
        for h in self.hyperparameters:
            if h.name not in hp and h.symbolic:
                hp[h.name] = symbols.symbol(h.name)
        return hp

    # -- costs -------------------------------------------------------------------------------------
    def run(self, shape, hp: dict | None = None) -> tuple[Cost, tuple]:
        """Cost and output shape for input ``shape`` (N, C, H, W; ints or symbols)."""
        return self.program_result(shape, hp)[:2]

    def program_result(self, shape, hp: dict | None = None) -> tuple[Cost, tuple, bool]:
        """Cost, output shape, and whether a size of 1 spared a copy (see Program.contiguous)."""
        return _run(self, tuple(normalize(s) for s in shape), tuple(sorted(self.resolve(shape, hp).items())))

    def cost(self, shape=None, hp: dict | None = None) -> Cost:
        """The cost at ``shape`` (default: the symbols N, C, H, W): ints for a concrete shape."""
        return self.run(symbols.SHAPE_SYMBOLS if shape is None else shape, hp)[0]

    def output_shape(self, shape, hp: dict | None = None) -> tuple:
        return self.run(shape, hp)[1]

    def formula(self, hp: dict | None = None) -> Cost:
        """The symbolic cost in N, C, H, W and the symbolic hyperparameters."""
        return self.cost(symbols.SHAPE_SYMBOLS, self.symbolic_hp(hp))


@functools.lru_cache(maxsize=4096)
def _run(entry: Entry, shape: tuple, hp_items: tuple) -> tuple[Cost, tuple, bool]:
    g = Program()
    x = g.input(shape)
    out = entry.program(g, x, **dict(hp_items))
    return g.finish(out), tuple(out.shape), g.degenerate


REGISTRY: dict[str, Entry] = {}
_ALIASES: dict[str, str] = {}


def _key(name: str) -> str:
    return name.lower().replace("_", "-")


def register(name: str, *, family: str, summary: str, paper: Paper, hyperparameters=(), aliases=(),
             check=None, notes: str = "", symbolic_channels: bool = True, hidden: str | None = None):
    """Register the decorated program as catalogue entry ``name``. Names and aliases are unique.

    ``hidden="r"`` declares that the module reduces C to C // r hidden channels, so C // r >= 1 is
    checked (``common.require_hidden``, one error text for all) before ``check`` runs.
    ``symbolic_channels=False`` says the module's structure depends on the value of C (e.g. a
    residual only when C equals the output channels), so its formulas are checked with C fixed."""
    if family not in FAMILIES:
        raise ValueError(f"unknown family {family!r}")
    hyperparameters = tuple(hyperparameters)

    def decorate(program):
        if hidden is not None and hidden not in {h.name for h in hyperparameters}:
            raise ValueError(f"{name}: hidden={hidden!r} names no hyperparameter")
        entry = Entry(name=name, family=family, summary=summary, paper=paper, program=program,
                      hyperparameters=tuple(hyperparameters), aliases=tuple(aliases), check=check,
                      notes=notes, doc=program.__doc__ or "", symbolic_channels=symbolic_channels,
                      hidden=hidden)
        for key in (name, *aliases):
            if _key(key) in _ALIASES:
                raise ValueError(f"catalogue name {key!r} registered twice")
            _ALIASES[_key(key)] = name
        REGISTRY[name] = entry
        return program

    return decorate


def get(name: str) -> Entry:
    """The entry called ``name`` (or an alias), else a one-line error with the closest names."""
    key = _key(name)
    if key in _ALIASES:
        return REGISTRY[_ALIASES[key]]
    close = difflib.get_close_matches(key, list(_ALIASES), n=8, cutoff=0.5)
    suggestions = list(dict.fromkeys(_ALIASES[c] for c in close))[:3]
    hint = f"; did you mean {' or '.join(map(repr, suggestions))}?" if suggestions else ""
    raise UnknownModuleError(f"unknown module {name!r}{hint} (see 'attncost list')")


def _natural(name: str):
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def entries(pattern: str | None = None, family: str | None = None) -> list[Entry]:
    """All entries, by family then natural name order, filtered by a wildcard and family."""
    order = list(FAMILIES)
    found = [e for e in REGISTRY.values()
             if (pattern is None or fnmatch.fnmatch(e.name, pattern)
                 or any(fnmatch.fnmatch(a, pattern) for a in e.aliases))
             and (family is None or e.family == family)]
    return sorted(found, key=lambda e: (order.index(e.family), _natural(e.name)))
