"""Built-in reference networks by name, and spec files (YAML, loaded safely) that name one and add
attention: ``{network: resnet50, attention: {module: cbam, where: every_block}}``."""

from __future__ import annotations

import difflib
from pathlib import Path

import yaml

from ..errors import SpecError, UnknownModuleError
from .attention import placement_from_dict
from .mnasnet import MnasNetSpec
from .mobilenet import MobileNetV2Spec
from .resnet import ResNetSpec
from .vit import ViTSpec

NETWORKS: dict = {}


def _add(spec) -> None:
    NETWORKS[spec.name] = spec


for _depth, _block, _layers in [(18, "basic", (2, 2, 2, 2)), (34, "basic", (3, 4, 6, 3)),
                                (50, "bottleneck", (3, 4, 6, 3)), (101, "bottleneck", (3, 4, 23, 3)),
                                (152, "bottleneck", (3, 8, 36, 3))]:
    _add(ResNetSpec(f"resnet{_depth}", _block, _layers, "3x3"))
    if _block == "bottleneck":
        _add(ResNetSpec(f"resnet{_depth}-v1", _block, _layers, "1x1"))
_add(ResNetSpec("resnext50-32x4d", "bottleneck", (3, 4, 6, 3), "3x3", groups=32, width_per_group=4))
_add(ResNetSpec("resnext50-32x4d-v1", "bottleneck", (3, 4, 6, 3), "1x1", groups=32, width_per_group=4))
_add(MobileNetV2Spec("mobilenet-v2"))
_add(MnasNetSpec("mnasnet-a1"))
_add(ViTSpec("vit-b16"))

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
    try:
        text = path.read_text()
    except OSError as error:
        raise SpecError(f"{path}: cannot read ({error.strerror})") from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = f":{mark.line + 1}" if mark else ""
        raise SpecError(f"{path}{line}: malformed YAML ({getattr(error, 'problem', error)})") from None
    if not isinstance(data, dict):
        raise SpecError(f"{path}:1: a network spec is a mapping with at least 'network'")
    for key in data:
        if key not in SPEC_KEYS:
            raise SpecError(f"{path}:{_line_of(node, key)}: unknown key {key!r} (known: {', '.join(sorted(SPEC_KEYS))})")
    if "network" not in data:
        raise SpecError(f"{path}:1: 'network' is required")
    try:
        spec = get_network(str(data["network"]))
        changes = {}
        if "width" in data:
            changes["width"] = float(data["width"])
        if "num_classes" in data:
            changes["num_classes"] = int(data["num_classes"])
        if "stride_on" in data:
            if data["stride_on"] not in ("1x1", "3x3"):
                raise SpecError("stride_on must be '1x1' or '3x3'")
            changes["stride_on"] = data["stride_on"]
        unknown = set(changes) - set(spec.__dict__)
        if unknown:
            raise SpecError(f"{', '.join(unknown)} does not apply to {spec.name}")
        attention = data.get("attention") or []
        attention = [attention] if isinstance(attention, dict) else attention
        placements = [placement_from_dict(a) for a in attention]
        return with_attention(type(spec)(**{**spec.__dict__, **changes}), placements)
    except (SpecError, UnknownModuleError, ValueError, TypeError) as error:
        key = next((k for k in ("attention", "network", "width", "num_classes", "stride_on") if k in data
                    and k in str(error)), "attention" if "attention" in data else "network")
        raise SpecError(f"{path}:{_line_of(node, key)}: {error}") from None
