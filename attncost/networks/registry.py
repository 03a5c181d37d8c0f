"""Built-in reference networks by name, and spec files (YAML, loaded safely) that name one and add
attention: ``{network: resnet50, attention: {module: cbam, where: every_block}}``."""

from __future__ import annotations

import difflib
import dataclasses
from pathlib import Path

import yaml

from ..errors import SpecError, UnknownModuleError
from .attention import placement_from_dict
from .mnasnet import MnasNetSpec
from .mobilenet import MobileNetV2Spec
from .resnet import ResNetSpec
from .vit import ViTSpec

FAMILIES = {"resnet": ResNetSpec, "mobilenet-v2": MobileNetV2Spec, "mnasnet": MnasNetSpec, "vit": ViTSpec}
DEFINITIONS = Path(__file__).parent / "definitions"      # also reachable as specs/networks/


def read_yaml(path: Path):
    """(data, node) of a YAML file, loaded safely; errors name the file and line."""
    try:
        text = path.read_text()
    except OSError as error:
        raise SpecError(f"{path}: cannot read ({error.strerror})") from None
    try:
        return yaml.safe_load(text), yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = f":{mark.line + 1}" if mark else ""
        raise SpecError(f"{path}{line}: malformed YAML ({getattr(error, 'problem', error)})") from None


def load_definition(path) -> object:
    """A network definition file (``name``, ``family`` and that family's fields) -> its spec."""
    path = Path(path)
    data, node = read_yaml(path)
    if not isinstance(data, dict) or "name" not in data or "family" not in data:
        raise SpecError(f"{path}:1: a network definition needs 'name' and 'family'")
    cls = FAMILIES.get(data["family"])
    if cls is None:
        raise SpecError(f"{path}:{_line_of(node, 'family')}: family {data['family']!r} is not one of "
                        f"{', '.join(FAMILIES)}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    values = {}
    for key, value in data.items():
        if key == "family":
            continue
        if key not in fields or key == "attention":
            known = ", ".join(sorted(set(fields) - {"attention"}))
            raise SpecError(f"{path}:{_line_of(node, key)}: unknown key {key!r} for family {data['family']} "
                            f"(known: {known})")
        values[key] = tuple(value) if isinstance(value, list) else value
    try:
        return cls(**values)
    except TypeError as error:
        raise SpecError(f"{path}:1: {error}") from None


NETWORKS: dict = {}
for _path in sorted(DEFINITIONS.glob("*.yaml")):
    _spec = load_definition(_path)
    NETWORKS[_spec.name] = _spec

SPEC_KEYS = {"network", "attention", "width", "num_classes", "stride_on"}


def get_network(name: str):
    key = name.lower().replace("_", "-")
    if key in NETWORKS:
        return NETWORKS[key]
    close = difflib.get_close_matches(key, list(NETWORKS), n=3, cutoff=0.5)
    hint = f"; did you mean {' or '.join(map(repr, close))}?" if close else ""
    raise UnknownModuleError(f"unknown network {name!r}{hint} (known: {', '.join(NETWORKS)})")


def with_attention(spec, placements):
    """``spec`` with attention placements; a policy the network has no place for is an error."""
    supported = getattr(type(spec), "supported_placements", None)
    for placement in placements:
        if supported is not None and placement.where not in supported:
            raise SpecError(f"{spec.name}: where={placement.where} is not supported "
                            f"(supported: {', '.join(supported) or 'none'})")
    return type(spec)(**{**spec.__dict__, "attention": tuple(placements)})


def _line_of(node, key: str) -> int:
    for k, _ in node.value:
        if k.value == key:
            return k.start_mark.line + 1
    return node.start_mark.line + 1


def load_spec(path) -> object:
    """A network spec file -> network spec; every error names the file and line."""
    path = Path(path)
    data, node = read_yaml(path)
    return spec_from_mapping(data, node, path)


def spec_from_mapping(data, node, path, extra_keys=()) -> object:
    """A network spec read from YAML ``data`` (and its ``node``, for lines) found in file ``path``;
    also used for the network entries of report specs (``extra_keys`` are allowed and ignored)."""
    if not isinstance(data, dict):
        raise SpecError(f"{path}:{node.start_mark.line + 1}: a network spec is a mapping with at least 'network'")
    for key in data:
        if key not in SPEC_KEYS and key not in extra_keys:
            raise SpecError(f"{path}:{_line_of(node, key)}: unknown key {key!r} (known: {', '.join(sorted(SPEC_KEYS))})")
    if "network" not in data:
        raise SpecError(f"{path}:{node.start_mark.line + 1}: 'network' is required")

    def at(key: str, step):
        """Run one step of reading ``key``; its errors carry that key's line."""
        try:
            return step()
        except (SpecError, UnknownModuleError, ValueError, TypeError) as error:
            raise SpecError(f"{path}:{_line_of(node, key)}: {error}") from None

    def stride_on():
        if data["stride_on"] not in ("1x1", "3x3"):
            raise SpecError("stride_on must be '1x1' or '3x3'")
        return data["stride_on"]

    spec = at("network", lambda: get_network(str(data["network"])))
    readers = {"width": lambda: float(data["width"]), "num_classes": lambda: int(data["num_classes"]),
               "stride_on": stride_on}
    changes = {}
    for key, read in readers.items():
        if key in data:
            if key not in spec.__dict__:
                raise SpecError(f"{path}:{_line_of(node, key)}: {key} does not apply to {spec.name}")
            changes[key] = at(key, read)
    attention = data.get("attention") or []
    attention = [attention] if isinstance(attention, dict) else attention
    placements = at("attention", lambda: [placement_from_dict(a) for a in attention])
    return at("attention", lambda: with_attention(type(spec)(**{**spec.__dict__, **changes}), placements))
