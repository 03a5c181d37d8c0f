"""Spec files: the one reading layer of network definitions and specs (``networks/registry.py``),
search spaces (``lut/space.py``) and report specs (``report/spec.py``). No torch.

:func:`read` loads a YAML file safely (:func:`attncost.io.read_yaml`) and returns its root as a
:class:`Node`: a value that knows the file and the line it was written at, which is the line of its
key in a mapping (the key at fault) or of the item in a list (the whole file, line 1, for the root).
Every reader of a node raises ``SpecError("FILE:LINE: ...")`` at that line:

- structure: :meth:`Node.mapping` (known keys, with the closest one suggested; required keys; a key
  given twice) and :meth:`Node.items`;
- types: :meth:`Node.text`, :meth:`Node.positive_int` (1 to 2^31), :meth:`Node.number`,
  :meth:`Node.boolean`, :meth:`Node.choice` (the closest choice suggested), :meth:`Node.shape`
  (:func:`attncost.shapes.parse_shape`) and :meth:`Node.module` (a catalogue name, the closest names
  suggested);
- anything else: ``with node.at(): ...`` turns a user error raised while reading the node (a
  placement, a hyperparameter, a network name) into one at the node's line.

:func:`read` also checks the whole file once, before any reader runs, so that no value is read
leniently because no reader looked at it: a key given twice in any mapping, at any depth (``hp: {r:
16, r: 8}``), is ``FILE:LINE: attention.hp gives 'r' twice (first at line N)``, naming the mapping by
its path (``networks[1].attention``; the top-level mapping's own keys are :meth:`Node.mapping`'s to
report, with what the file is); an explicit key overriding one merged in with ``<<: *anchor`` is
not a repeat. And an unquoted number in the exponent forms YAML 1.1 reads as a string (``1e-3``,
``1e3``, ``2.5E4``, ``-.5``) is a number, as YAML 1.2 and JSON read it, wherever a spec number is
read; a quoted one stays a string.

Example::

    root = read("specs/resnet50-gc.yaml")
    fields = root.mapping("a network spec", known=("network", "attention"), required=("network",))
    entry = fields["attention"].mapping("attention")["module"].module()
"""

from __future__ import annotations

import contextlib
import difflib
import math
import re
from pathlib import Path

import yaml

from . import catalogue
from .errors import AttncostError, SpecError, elide
from .io import read_yaml
from .numbers import MAX_INT
from .shapes import parse_shape

_CONSTRUCT = yaml.constructor.SafeConstructor()
_UNREAD = object()
_STR, _FLOAT, _MERGE = "tag:yaml.org,2002:str", "tag:yaml.org,2002:float", "tag:yaml.org,2002:merge"
#: YAML 1.2's (and JSON's) floats; YAML 1.1 wants a dot and a signed exponent, so ``1e-3`` is a string
_YAML12_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?")


def read(path) -> Node:
    """The root node of the YAML file at ``path`` (line 1: errors about the whole file), checked
    once for keys given twice in nested mappings, and with YAML 1.2 numbers read as numbers."""
    try:
        data, node = read_yaml(path)
    except SpecError as error:                      # already names the file (and line)
        error.located = True
        raise
    if node is not None and _check_tree(path, node):
        data = _CONSTRUCT.construct_document(node)  # some strings became numbers
    return Node(path, node, line=1, value=data)


def _check_tree(path, root) -> bool:
    """Refuse a key given twice in any mapping below the root; retag the unquoted scalars YAML 1.1
    reads as strings but YAML 1.2 as floats (:data:`_YAML12_FLOAT`). Whether any was retagged.
    Each node is visited once (an alias is the node it names), so this is linear in the file."""
    constructor = yaml.constructor.SafeConstructor()         # for keys; dropped afterwards
    retagged, seen, todo = False, set(), [(root, "")]
    while todo:
        node, where = todo.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.ScalarNode):
            if node.tag == _STR and node.style is None and _YAML12_FLOAT.fullmatch(node.value):
                node.tag, retagged = _FLOAT, True
        elif isinstance(node, yaml.SequenceNode):
            todo.extend((item, f"{where}[{index}]") for index, item in reversed(list(enumerate(node.value))))
        elif isinstance(node, yaml.MappingNode):
            if node is not root:
                _entries(path, node, where or "the file", constructor)
            for key_node, value_node in reversed(node.value):
                key = constructor.construct_object(key_node, deep=True) if key_node.tag != _MERGE else "<<"
                todo.append((value_node, _join(where, key)))
    return retagged


def _entries(path, node, what: str, constructor=_CONSTRUCT) -> list:
    """[(key, key node, value node)] of a mapping (merge keys flattened; a key repeated only
    through a merge, or overriding a merged one, given once: the last, as YAML builds it); a key
    written twice in the mapping itself is ``FILE:LINE: WHAT gives 'KEY' twice (first at line N)``."""
    constructor.flatten_mapping(node)                        # YAML merge keys (<<: *anchor)
    entries: dict = {}
    for key_node, value_node in node.value:
        key = constructor.construct_object(key_node, deep=True)
        if key in entries:
            first = entries[key][1]
            if _written_in(first, node) and _written_in(key_node, node):
                raise located(path, key_node.start_mark.line + 1,
                              f"{what} gives {key!r} twice (first at line {first.start_mark.line + 1})")
            del entries[key]                                 # a merged one, overridden: the later wins
        entries[key] = (key, key_node, value_node)
    return list(entries.values())


def _written_in(key_node, mapping) -> bool:
    """Whether a key node was written inside ``mapping``'s text, not merged in from an anchor elsewhere."""
    return mapping.start_mark.index <= key_node.start_mark.index <= mapping.end_mark.index


def _join(where: str, key) -> str:
    """The path of ``key`` under ``where`` in messages: ``attention.hp``, ``networks[1]``."""
    return f"{where}.{key}" if where else str(key)


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
        fields: dict = {}
        built = self._value if isinstance(self._value, dict) else {}   # values already built, not built again
        for key, key_node, value_node in _entries(self.path, self.node, what):
            key_line = key_node.start_mark.line + 1
            if known is not None and key not in known:
                names = [str(k) for k in known]
                listed = sorted(names) if isinstance(known, (set, frozenset)) else names
                raise located(self.path, key_line, f"unknown key {key!r} in {what} (known: {', '.join(listed)})"
                                                   f"{suggest(str(key), names)}")
            fields[key] = Node(self.path, value_node, line=key_line, value=built.get(key, _UNREAD))
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
        built = self._value if isinstance(self._value, list) and len(self._value) == len(self.node.value) else None
        return [Node(self.path, node, value=built[i] if built is not None else _UNREAD)
                for i, node in enumerate(self.node.value)]

    # -- typed values ---------------------------------------------------------------------------------
    def text(self, what: str) -> str:
        if not self.is_scalar:
            raise self.error(f"{what} must be a single value, not a {'mapping' if self.is_mapping else 'list'}")
        return str(self.value)

    def positive_int(self, what: str) -> int:
        """An integer from 1 to 2^31 (a size, a count)."""
        value = self.value
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise self.error(f"{what} must be a positive integer (got {_shown(value)})")
        if value > MAX_INT:
            raise self.error(f"{what} must be at most {MAX_INT} (2^31) (got {_shown(value)})")
        return value

    def number(self, what: str, maximum: float | None = None, why: str = "", zero: bool = False) -> float:
        """A finite number above 0 (from 0 with ``zero``) and at most ``maximum`` (an int or a float,
        as a float; ``1e-3`` too, see :func:`read`); ``why`` says what the bound is for, in its error."""
        value = self.value
        bound = f" and at most {maximum:g}" if maximum is not None else ""
        if (isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value)
                or not (value >= 0 if zero else value > 0) or (maximum is not None and value > maximum)):
            raise self.error(f"{what} must be a number {'of at least 0' if zero else 'above 0'}{bound} "
                             f"(got {_shown(value)}){why}")
        return float(value)

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
        raise self.error(f"{what} {value!r} is not one of: {', '.join(names)}{suggest(str(value), names)}")

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


def suggest(value: str, names) -> str:
    """``"; did you mean 'where'?"`` for the name among ``names`` closest to ``value``, or ``""``:
    the one suggestion of spec files' unknown keys and choices, at every level."""
    close = difflib.get_close_matches(str(value), [str(n) for n in names], n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def _shown(value) -> str:
    """A value for a message: its repr, a long one elided in the middle."""
    return elide(repr(value), 40)
