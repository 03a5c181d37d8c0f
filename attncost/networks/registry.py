"""The reference networks' definitions and specs (YAML, loaded safely).

Three words, one thing each: a **definition** is a file of ``definitions/`` (``name``, ``family`` and
that family's fields: one network without attention); a **spec** (``NetworkSpec``: a family's spec
class, e.g. ``ResNetSpec``) is what a definition loads to, plus attention placements and overrides;
a **spec file** names a definition and adds those:
``{network: resnet50, attention: {module: cbam, where: every_block}}``. ``networks.forward`` writes a
spec's forward into a Program; ``graph.walk`` turns that into a ``WalkResult``."""

from __future__ import annotations

import dataclasses
import difflib
from pathlib import Path
from typing import Union

from .. import specfile
from ..errors import SpecError, UnknownModuleError
from .attention import check_placement, placement_from_node
from .efficientnet import EfficientNetSpec
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
STRIDE_PLACES = ("1x1", "3x3")                           # ResNet v1 (the papers') and v1.5 (torchvision)


#: the multipliers of a network's sizes a definition or spec may give, and their bounds: far beyond
#: the papers' (widths 0.35 to 2, EfficientNet-B7's depth 3.1, MLP ratios 4, RegNet's bottleneck 1),
#: and small enough that every size they multiply stays within 2^31: a width scales its family's fixed
#: channel tables, whose widest layer at width 1 has 1,280 channels (the heads), so at most about
#: 1,280 x 1,024 < 2^21 at the bound (tests/networks/test_specs.py walks each family there); the MLP
#: ratio's is the catalogue's (vit-layer.mlp_ratio); RegNet's ``se_ratio`` (SE's channels per input
#: channel) may be 0, no SE (a RegNetX). EfficientNet's ``depth`` multiplies its stages' repeats, so
#: the work grows with it; RegNet's and ViT's ``depth`` are numbers of blocks, not multipliers.
MULTIPLIERS = {"width": 1024, "mlp_ratio": 1024, "bottleneck_multiplier": 1024, "se_ratio": 1024, "depth": 64}


def load_definition(path) -> NetworkSpec:
    """A network definition file (``name``, ``family`` and that family's fields) -> its spec."""
    root = specfile.read(path)
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
    with root.at():
        return cls(**values)


def _multipliers(cls) -> list:
    """The fields of ``cls`` that are multipliers (:data:`MULTIPLIERS`, typed float)."""
    return [f.name for f in dataclasses.fields(cls) if f.name in MULTIPLIERS and f.type in (float, "float")]


def _multiplier(node, key: str) -> float:
    """A multiplier's value, a number in (0, its bound] (:data:`MULTIPLIERS`), else an error at its line."""
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
    """A spec file -> its spec; every error names the file and line."""
    return spec_from_node(specfile.read(path))


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
    with (fields["attention"] if "attention" in fields else node).at():
        return with_attention(type(spec)(**{**spec.__dict__, **changes}), placements)

