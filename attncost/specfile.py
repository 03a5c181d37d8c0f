"""Spec files: the one reading layer of network definitions and specs (``networks/registry.py``),
search spaces (``lut/space.py``) and report specs (``report/spec.py``). No torch.

:func:`read` loads a YAML file safely (:func:`attncost.io.read_yaml`) and returns its root as a
:class:`Node`: a value that knows the file and the line it was written at, which is the line of its
key in a mapping (the key at fault) or of the item in a list (the whole file, line 1, for the root).
Every reader of a node raises ``SpecError("FILE:LINE: ...")`` at that line:

- structure: :meth:`Node.mapping` (known keys, with the closest one suggested; required keys; a key
  given twice) and :meth:`Node.items`;
- types: :meth:`Node.text`, :meth:`Node.positive_int`, :meth:`Node.boolean`, :meth:`Node.choice`
  (the closest choice suggested), :meth:`Node.shape` (:func:`attncost.shapes.parse_shape`) and
  :meth:`Node.module` (a catalogue name, the closest names suggested);
- anything else: ``with node.at(): ...`` turns a user error raised while reading the node (a
  placement, a hyperparameter, a network name) into one at the node's line.

Example::

    root = read("specs/resnet50-gc.yaml")
    fields = root.mapping("a network spec", known=("network", "attention"), required=("network",))
    entry = fields["attention"].mapping("attention")["module"].module()
"""

from __future__ import annotations

import contextlib
import difflib
from pathlib import Path

import yaml

from . import catalogue
from .errors import AttncostError, SpecError
from .io import read_yaml
from .shapes import parse_shape

_CONSTRUCT = yaml.constructor.SafeConstructor()
_UNREAD = object()


def read(path) -> Node:
    """The root node of the YAML file at ``path`` (line 1: errors about the whole file)."""
    try:
        data, node = read_yaml(path)
    except SpecError as error:                      # already names the file (and line)
        error.located = True
        raise
    return Node(path, node, line=1, value=data)


class Node:
    """A YAML value with the file and line it came from; its readers fail at that line."""

    def __init__(self, path, node, line: int | None = None, value=_UNREAD):
        self.path = Path(path)
        self.node = node                                # the yaml node (None: an empty file)
        self.line = line if line is not None else (node.start_mark.line + 1 if node is not None else 1)
        self._value = value

    def __repr__(self) -> str:
        return f"Node({self.path}:{self.line}: {self.value!r})"

    @property
    def value(self):
        """The plain Python value (dicts, lists, scalars), as ``yaml.safe_load`` gives it."""
        if self._value is _UNREAD:
            self._value = _CONSTRUCT.construct_document(self.node) if self.node is not None else None
        return self._value

    @property
    def is_mapping(self) -> bool:
        return isinstance(self.node, yaml.MappingNode)

    @property
    def is_list(self) -> bool:
        return isinstance(self.node, yaml.SequenceNode)

    @property
    def is_scalar(self) -> bool:
        return isinstance(self.node, yaml.ScalarNode)

    # -- errors ---------------------------------------------------------------------------------------
    def error(self, message: str) -> SpecError:
        """The one-line error ``FILE:LINE: message`` at this node."""
        return located(self.path, self.line, message)

    @contextlib.contextmanager
    def at(self):
        """User errors raised inside (attncost's, ``ValueError``, ``TypeError``) become errors at this
        node's line; an error that already names a file and line passes unchanged."""
        try:
            yield self
        except (AttncostError, ValueError, TypeError) as error:
            if getattr(error, "located", False):
                raise
            message = str(error.args[0]) if len(error.args) == 1 else str(error)
            raise self.error(message) from None

    # -- structure ------------------------------------------------------------------------------------
    def mapping(self, what: str, known=None, required=()) -> dict:
        """{key: Node} of a mapping, whose keys must be among ``known`` (any, if None) and include
        ``required``; ``what`` names it in errors ("the report spec", "stem")."""
        if not self.is_mapping:
            empty = " (the file is empty)" if self.node is None else ""
            raise self.error(f"{what} must be a mapping{empty}")
        _CONSTRUCT.flatten_mapping(self.node)            # YAML merge keys (<<: *anchor)
        fields: dict = {}
        for key_node, value_node in self.node.value:
            key = _CONSTRUCT.construct_object(key_node, deep=True)
            key_line = key_node.start_mark.line + 1
            if known is not None and key not in known:
                names = [str(k) for k in known]
                listed = sorted(names) if isinstance(known, (set, frozenset)) else names
                raise located(self.path, key_line, f"unknown key {key!r} in {what} (known: {', '.join(listed)})"
                                                   f"{_suggest(str(key), names)}")
            if key in fields:
                raise located(self.path, key_line, f"{what} gives {key!r} twice (first at line {fields[key].line})")
            fields[key] = Node(self.path, value_node, line=key_line)
        missing = [key for key in required if key not in fields]
        if missing:
            wanted = _and(f"'{key}'" for key in required)
            raise self.error(f"{what} needs {wanted}" +
                             (f" ({_and(repr(key) for key in missing)} missing)" if len(required) > 1 else ""))
        return fields

    def items(self, what: str, non_empty: bool = False) -> list:
        """The items of a list, each a Node at its own line."""
        if not self.is_list or (non_empty and not self.node.value):
            raise self.error(f"{what} must be a {'non-empty ' if non_empty else ''}list")
        return [Node(self.path, node) for node in self.node.value]

    # -- typed values ---------------------------------------------------------------------------------
    def text(self, what: str) -> str:
        if not self.is_scalar:
            raise self.error(f"{what} must be a single value, not a {'mapping' if self.is_mapping else 'list'}")
        return str(self.value)

    def positive_int(self, what: str) -> int:
        value = self.value
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise self.error(f"{what} must be a positive integer (got {value!r})")
        return value

    def boolean(self, what: str) -> bool:
        if not isinstance(self.value, bool):
            raise self.error(f"{what} must be true or false (got {self.value!r})")
        return self.value

    def choice(self, what: str, allowed):
        """The value, which must be one of ``allowed`` (a sequence or mapping of choices), matched
        regardless of case as on the command line; the choice as ``allowed`` spells it."""
        value = self.value
        if not isinstance(value, (list, dict)):
            if value in allowed:
                return value
            if isinstance(value, str):
                match = next((a for a in allowed if isinstance(a, str) and a.casefold() == value.casefold()), None)
                if match is not None:
                    return match
        names = [str(a) for a in allowed]
        raise self.error(f"{what} {value!r} is not one of: {', '.join(names)}{_suggest(str(value), names)}")

    def shape(self, what: str | None = None, allow_symbols: bool = False) -> tuple:
        """(N, C, H, W) of ``CxHxW`` or ``NxCxHxW`` (:func:`attncost.shapes.parse_shape`)."""
        with self.at():
            try:
                return parse_shape(str(self.value), allow_symbols)
            except AttncostError as error:
                raise type(error)(f"{what}: {error}" if what else str(error)) from None

    def module(self):
        """The catalogue entry this names (an alias too); else the closest names are suggested."""
        with self.at():
            return catalogue.get(self.text("a module name"))


def located(path, line: int, message: str) -> SpecError:
    """``SpecError("FILE:LINE: message")``, marked so that :meth:`Node.at` passes it on unchanged."""
    error = SpecError(f"{path}:{line}: {message}")
    error.located = True
    return error


def _and(names) -> str:
    names = list(names)
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _suggest(value: str, names) -> str:
    close = difflib.get_close_matches(value, list(names), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""
