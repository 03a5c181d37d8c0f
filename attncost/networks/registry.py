"""The reference networks' definitions and specs (YAML, loaded safely).

Three words, one thing each: a **definition** is a file of ``definitions/`` (``name``, ``family`` and
that family's fields: one network without attention); a **spec** (``NetworkSpec``: a family's spec
class, e.g. ``ResNetSpec``) is what a definition loads to, plus attention placements and overrides;
a **spec file** names a definition and adds those:
``{network: resnet50, attention: {module: cbam, where: every_block}}``. ``networks.forward`` writes a
spec's forward into a Program; ``graph.walk`` turns that into a ``WalkResult``."""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
from pathlib import Path
from typing import Union

from .. import specfile
from ..errors import AttncostError, SpecError, UnknownModuleError
from .attention import check_placement, placement_from_node
from .efficientnet import EfficientNetSpec
from .fields import MULTIPLIERS, STRIDE_PLACES
from .mnasnet import MnasNetSpec
from .mobilenet import MobileNetV2Spec
from .mobilenetv3 import MobileNetV3Spec
from .regnet import RegNetSpec
from .resnet import ResNetSpec
from .swin import SwinSpec
from .vit import ViTSpec

#: network family (a definition's ``family``) -> its spec class; the one list of network families
FAMILIES = {"resnet": ResNetSpec, "mobilenet-v2": MobileNetV2Spec, "mnasnet": MnasNetSpec, "vit": ViTSpec,
            "efficientnet": EfficientNetSpec, "mobilenet-v3": MobileNetV3Spec, "regnet": RegNetSpec,
            "swin": SwinSpec}
NetworkSpec = Union[tuple(FAMILIES.values())]            # any family's spec (for annotations)
DEFINITIONS_DIR = Path(__file__).parent / "definitions"  # also reachable as specs/networks/


def load_definition(path) -> NetworkSpec:
    """A network definition file (``name``, ``family`` and that family's fields) -> its spec."""
    return definition_from_node(specfile.read(path))


#: fields that do something only with another's: given without it, a definition's field is an error
#: (their defaults, 4 and 30, are there all the same)
APPLIES_WITH = {"dynamic_reduction": "dynamic_experts", "dynamic_temperature": "dynamic_experts"}


def definition_from_node(root) -> NetworkSpec:
    """The spec a definition's YAML mapping (a :class:`attncost.specfile.Node`) describes; every field
    is checked (``networks.fields``), an error at the line of the field at fault."""
    fields = root.mapping("a network definition", required=("name", "family"))
    family = fields["family"].choice("family", FAMILIES)
    cls = FAMILIES[family]
    known = ["family"] + sorted(f.name for f in dataclasses.fields(cls) if f.name != "attention")
    fields = root.mapping(f"a {family} definition", known=known)
    values = {key: tuple(node.value) if isinstance(node.value, list) else node.value
              for key, node in fields.items() if key != "family"}
    for key in _multipliers(cls):
        if key in fields:
            values[key] = _multiplier(fields[key], key)
    for key, needs in APPLIES_WITH.items():
        if key in fields and not values.get(needs):
            raise fields[key].error(f"{key} applies to dynamic convolutions, and no {needs} is given (0: static "
                                    f"convs): give {needs} (DY-CNN: 4), or leave {key} out")
    with at_fields(fields, root):
        return cls(**values)


@contextlib.contextmanager
def at_fields(fields: dict, node):
    """An error a spec raises about one of its fields (``networks.fields.field_error``) at the line of
    that field in ``fields`` ({key: Node}; of its item, for a list; of the first field the file gives,
    where the error names several), any other at ``node``'s."""
    try:
        yield
    except (AttncostError, ValueError, TypeError) as error:
        if getattr(error, "located", False):
            raise
        keys = getattr(error, "field", None) or ()
        given = [key for key in keys if key in fields]
        detail = getattr(error, "detail", None) or str(error)
        if not given:
            raise node.error(detail) from None
        field = fields[given[0]]
        index = getattr(error, "index", None) if given[0] == keys[0] else None
        if index is not None and field.is_list and index < len(field.node.value):
            field = field.items(given[0])[index]
        raise field.error(detail) from None


def _multipliers(cls) -> list:
    """The fields of ``cls`` that are multipliers (``fields.MULTIPLIERS``, typed float)."""
    return [f.name for f in dataclasses.fields(cls) if f.name in MULTIPLIERS and f.type in (float, "float")]


def _multiplier(node, key: str) -> float:
    """A multiplier's value, a number in (0, its bound] (``fields.MULTIPLIERS``), else an error at its line."""
    why = ("; depth multiplies the blocks of each stage" if key == "depth"
           else f"; {key} multiplies the network's sizes, which stay within 2^31")
    return node.number(key, MULTIPLIERS[key], why, zero=key == "se_ratio")


def definition_source(path) -> str:
    """What a definition file's comment header says the network is and where it comes from: the
    header's first sentence (ending at a full stop outside parentheses and not after "et al.",
    "Sec.", "Fig.", "Eq." or "e.g."), its lines joined; the whole first paragraph where no sentence
    ends in it; ``""`` for a file without a header."""
    lines = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            break
        text = line.lstrip("#").strip()
        if not text:
            if lines:
                break                                   # the end of the first paragraph
            continue
        lines.append(text)
    text = " ".join(lines)
    depth = 0
    for i, ch in enumerate(text):
        depth += {"(": 1, "[": 1, ")": -1, "]": -1}.get(ch, 0)
        if ch == "." and depth <= 0 and (i + 1 == len(text) or text[i + 1] == " "):
            word = text[:i].rsplit(" ", 1)[-1].lstrip("(")
            if word not in _ABBREVIATIONS:
                return text[:i + 1]
    return text


#: words a full stop follows without ending a sentence (``He et al. 2016``, ``Sec. 3.2``)
_ABBREVIATIONS = {"al", "Sec", "Secs", "Fig", "Figs", "Eq", "Eqs", "e.g", "i.e", "cf", "vs", "No", "Tab"}


def load_definitions(folder) -> dict[str, NetworkSpec]:
    """Every definition file (``*.yaml``) of ``folder``, by name, as the spec it loads to."""
    specs = (load_definition(path) for path in sorted(Path(folder).glob("*.yaml")))
    return {spec.name: spec for spec in specs}


#: the built-in networks: the files of ``definitions/``, read as they are, so adding a network of an
#: existing family is adding a file there
DEFINITIONS: dict[str, NetworkSpec] = load_definitions(DEFINITIONS_DIR)

SPEC_KEYS = ("network", "attention", "width", "num_classes", "stride_on")


def definition(name: str) -> NetworkSpec:
    """The spec of the definition called ``name`` (``_`` read as ``-``), else a one-line error."""
    key = name.lower().replace("_", "-")
    if key in DEFINITIONS:
        return DEFINITIONS[key]
    close = difflib.get_close_matches(key, list(DEFINITIONS), n=3, cutoff=0.5)
    hint = f"; did you mean {' or '.join(map(repr, close))}?" if close else ""
    raise UnknownModuleError(f"unknown network {name!r}{hint} (known: {', '.join(DEFINITIONS)})")


def with_attention(spec: NetworkSpec, placements) -> NetworkSpec:
    """``spec`` with attention placements; a policy the network has no place for, or a placement that
    would insert nothing (:func:`attncost.networks.attention.check_placement`), is an error."""
    supported = getattr(type(spec), "supported_placements", None)
    for placement in placements:
        if supported == ():
            raise SpecError(f"{spec.name}: attention placements apply to CNN stages; {spec.name} has none to "
                            f"insert {placement.module} into")
        if supported is not None and placement.where not in supported:
            raise SpecError(f"{spec.name}: where={placement.where} is not supported "
                            f"(supported: {', '.join(supported) or 'none'})")
        check_placement(placement, spec.name, spec.stage_blocks())
    return type(spec)(**{**spec.__dict__, "attention": tuple(placements)})


def load_spec(path) -> NetworkSpec:
    """A spec file -> its spec; a definition file (``name``, ``family`` and that family's fields, and
    no ``network``: your own network, e.g. a copy of one of ``definitions/`` changed) -> the network it
    defines. Every error names the file and line."""
    root = specfile.read(path)
    if isinstance(root.value, dict) and "family" in root.value and "network" not in root.value:
        return definition_from_node(root)
    return spec_from_node(root)


def spec_from_node(node, extra_keys=()) -> NetworkSpec:
    """The spec a YAML mapping (a :class:`attncost.specfile.Node`) describes; also used for
    the network entries of report specs (``extra_keys`` are allowed and ignored)."""
    fields = node.mapping("a network spec", known=(*SPEC_KEYS, *extra_keys), required=("network",))
    with fields["network"].at():
        spec = definition(fields["network"].text("network"))
    readers = {"width": lambda n: _multiplier(n, "width"), "num_classes": lambda n: n.positive_int("num_classes"),
               "stride_on": lambda n: n.choice("stride_on", STRIDE_PLACES)}
    changes = {}
    for key, read in readers.items():
        if key in fields:
            if key not in spec.__dict__:
                raise fields[key].error(f"{key} does not apply to {spec.name}")
            changes[key] = read(fields[key])
    placements = []
    if "attention" in fields and fields["attention"].value:
        attention = fields["attention"]
        for item in attention.items("attention") if attention.is_list else [attention]:
            placements.append(placement_from_node(item))
    with at_fields(fields, node):
        spec = type(spec)(**{**spec.__dict__, **changes})
    with (fields["attention"] if "attention" in fields else node).at():
        return with_attention(spec, placements)

