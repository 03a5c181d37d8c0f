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
from .attention import check_placement, placement_from_dict
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
    with root.at():
        return cls(**values)


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
    readers = {"width": _width, "num_classes": lambda n: n.positive_int("num_classes"),
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
            with item.at():
                if not item.is_mapping:
                    raise SpecError("attention is a mapping such as {module: cbam, where: every_block}")
                placements.append(placement_from_dict(item.value, source=f"{item.path}:{item.line}"))
    with (fields["attention"] if "attention" in fields else node).at():
        return with_attention(type(spec)(**{**spec.__dict__, **changes}), placements)


def _width(node) -> float:
    value = node.value
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < float("inf"):
        raise node.error(f"width must be a positive number (got {value!r})")
    return float(value)
