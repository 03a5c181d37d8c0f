"""The Single-Path NAS search space as data: a chain of MBConv layers with per-layer choices.

Single-Path NAS (Stamoulis et al., ECML-PKDD 2019, Sec. 3 and Fig. 2) searches a MobileNetV2/MnasNet-like
chain of 22 MBConv layers (the official code's block strings, ``nas-search/search_main.py``): per searched
layer the depthwise kernel k in {3, 5} and the expansion e in {3, 6}, and skipping the layer where it is
an identity (stride 1, C_in == C_out). Its latency table indexes the four (k, e) options as
0 = k3e3, 1 = k3e6, 2 = k5e3, 3 = k5e6 (``options`` below keeps that order). attncost adds an
attention candidate per layer (none, SE, ECA, CBAM on the layer's output), which the original space lacks.

A space file (YAML, loaded safely) names the input, stem, head, the option order and every layer::

    name: singlepath-nas
    input: 3x224x224
    stem: {channels: 32, kernel: 3, stride: 2}
    head: {channels: 1280, classes: 1000}
    options: [k3e3, k3e6, k5e3, k5e6]
    attention: [none, se, eca, cbam]
    layers:
      - {in: 32, out: 16, stride: 1, resolution: 112, options: [k3e1]}      # fixed: one option
      - {in: 16, out: 24, stride: 2, resolution: 112}
      - {in: 24, out: 24, stride: 1, resolution: 56, skip: true}

Every error names the file and line of the key at fault.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path

from ..errors import SpecError, UnknownModuleError

SKIP = "skip"
NO_ATTENTION = "none"
KERNELS = (3, 5)                    # the mbconv catalogue entry's choices
EXPANSIONS = (1, 3, 6)              # 3 and 6: the mbconv entry; 1: MnasNet's first (separable) layer
_OPTION = re.compile(r"^k(\d+)e(\d+)$")
SPACE_KEYS = {"name", "input", "stem", "head", "options", "attention", "layers", "activation", "notes"}
LAYER_KEYS = {"in", "out", "stride", "resolution", "options", "skip", "attention"}


@dataclass(frozen=True)
class Option:
    """One MBConv configuration: depthwise kernel size and expansion ratio (``k5e6``)."""

    kernel: int
    expansion: int

    @property
    def name(self) -> str:
        return f"k{self.kernel}e{self.expansion}"


def parse_option(text: str) -> Option:
    match = _OPTION.match(str(text))
    if not match or int(match[1]) not in KERNELS or int(match[2]) not in EXPANSIONS:
        raise SpecError(f"option {text!r} is not kKeE with a kernel K in {KERNELS} and an expansion E in "
                        f"{EXPANSIONS} (e.g. k5e6; e1 is the depthwise-separable layer without expansion)")
    return Option(int(match[1]), int(match[2]))


@dataclass(frozen=True)
class Layer:
    """One MBConv layer of the chain and the choices it allows."""

    index: int
    in_channels: int
    out_channels: int
    stride: int
    resolution: int                 # input height = width
    options: tuple                  # option names (kKeE), in the space's order
    skippable: bool
    attention: tuple                # candidate attention modules, "none" first when allowed

    @property
    def searchable(self) -> bool:
        """A layer with a choice; fixed layers are folded into the stem/head constant."""
        return len(self.options) > 1 or self.skippable or len(self.attention) > 1

    @property
    def choices(self) -> tuple:
        """Every block choice of the layer: its options, then ``skip`` where allowed."""
        return self.options + ((SKIP,) if self.skippable else ())

    @property
    def out_resolution(self) -> int:
        return -(-self.resolution // self.stride)


@dataclass(frozen=True)
class Space:
    name: str
    input: tuple                    # (C, H, W)
    stem_channels: int
    stem_kernel: int
    stem_stride: int
    head_channels: int
    classes: int
    options: tuple                  # the option order of the Single-Path table (index = position)
    layers: tuple
    activation: str = "relu"

    def to_dict(self) -> dict:
        data = asdict(self)
        data["input"] = list(self.input)
        data["options"] = list(self.options)
        data["layers"] = [{**asdict(layer), "options": list(layer.options), "attention": list(layer.attention)}
                          for layer in self.layers]
        return data

    @classmethod
    def from_dict(cls, data: dict) -> Space:
        layers = tuple(Layer(**{**layer, "options": tuple(layer["options"]), "attention": tuple(layer["attention"])})
                       for layer in data["layers"])
        return cls(**{**data, "input": tuple(data["input"]), "options": tuple(data["options"]), "layers": layers})

    @property
    def activation_kind(self):
        """The Program's unary op of the activation (ReLU6 is hardtanh), as the mbconv entry maps it."""
        from ..catalogue.families.nas import ACTIVATIONS

        return ACTIVATIONS[self.activation]

    @property
    def digest(self) -> str:
        """sha256 of the canonical JSON of the space: a table is valid for exactly this space."""
        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()

    @property
    def searchable(self) -> tuple:
        return tuple(layer for layer in self.layers if layer.searchable)

    @property
    def fixed(self) -> tuple:
        return tuple(layer for layer in self.layers if not layer.searchable)

    @property
    def attention_modules(self) -> tuple:
        names = []
        for layer in self.layers:
            names += [a for a in layer.attention if a != NO_ATTENTION and a not in names]
        return tuple(names)

    def fixed_choice(self, layer: Layer) -> tuple:
        """(option, attention) of a fixed layer."""
        return layer.options[0], layer.attention[0]


def _line_of(node, key) -> int:
    if node is not None and hasattr(node, "value") and isinstance(node.value, list):
        for k, _ in node.value:
            if getattr(k, "value", None) == key:
                return k.start_mark.line + 1
    return node.start_mark.line + 1 if node is not None else 1


def _parse_input(text) -> tuple:
    parts = str(text).lower().split("x")
    if len(parts) != 3 or not all(p.isdigit() and int(p) > 0 for p in parts):
        raise SpecError(f"input {text!r} must be CxHxW with positive integers (e.g. 3x224x224)")
    c, h, w = (int(p) for p in parts)
    if h != w:
        raise SpecError(f"input {text!r}: the space needs a square input (H == W)")
    return c, h, w


def _positive_int(value, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise SpecError(f"{what} must be a positive integer (got {value!r})")
    return value


def _attention_names(values, what: str) -> tuple:
    from .. import catalogue

    if not isinstance(values, list) or not values:
        raise SpecError(f"{what} must be a non-empty list such as [none, se, eca, cbam]")
    names = tuple(NO_ATTENTION if str(v).lower() == NO_ATTENTION else catalogue.get(str(v)).name for v in values)
    if len(set(names)) != len(names):
        raise SpecError(f"{what} lists a module twice")
    return names


def _option_names(values, what: str) -> tuple:
    if not isinstance(values, list) or not values:
        raise SpecError(f"{what} must be a non-empty list such as [k3e3, k3e6, k5e3, k5e6]")
    names = tuple(parse_option(v).name for v in values)
    if len(set(names)) != len(names):
        raise SpecError(f"{what} lists an option twice")
    return names


def _activation(value) -> str:
    if value not in ("relu", "relu6"):
        raise SpecError(f"activation {value!r} is not one of: relu, relu6")
    return value


def _mapping(value, keys: set, what: str) -> dict:
    if not isinstance(value, dict):
        raise SpecError(f"{what} must be a mapping")
    unknown = set(value) - keys
    if unknown:
        raise SpecError(f"{what}: unknown key(s) {', '.join(sorted(map(str, unknown)))} (known: {', '.join(sorted(keys))})")
    return value


def load_space(path) -> Space:
    """A search-space YAML file -> :class:`Space`; errors carry the file and line."""
    from ..networks.registry import read_yaml

    path = Path(path)
    data, node = read_yaml(path)

    def at(key_node, key, step):
        try:
            return step()
        except (SpecError, UnknownModuleError, ValueError, TypeError, KeyError) as error:
            message = error.args[0] if error.args else error
            raise SpecError(f"{path}:{_line_of(key_node, key)}: {message}") from None

    if not isinstance(data, dict):
        raise SpecError(f"{path}:1: a search space is a mapping with 'name', 'input', 'stem', 'head', 'layers'")
    for key in data:
        if key not in SPACE_KEYS:
            at(node, key, lambda: _mapping(data, SPACE_KEYS, "space"))
    for key in ("name", "input", "stem", "head", "layers"):
        if key not in data:
            raise SpecError(f"{path}:1: '{key}' is required")
    c, h, w = at(node, "input", lambda: _parse_input(data["input"]))
    stem = at(node, "stem", lambda: _mapping(data["stem"], {"channels", "kernel", "stride"}, "stem"))
    head = at(node, "head", lambda: _mapping(data["head"], {"channels", "classes"}, "head"))
    stem_channels = at(node, "stem", lambda: _positive_int(stem.get("channels"), "stem.channels"))
    stem_kernel = at(node, "stem", lambda: _positive_int(stem.get("kernel", 3), "stem.kernel"))
    stem_stride = at(node, "stem", lambda: _positive_int(stem.get("stride", 2), "stem.stride"))
    head_channels = at(node, "head", lambda: _positive_int(head.get("channels"), "head.channels"))
    classes = at(node, "head", lambda: _positive_int(head.get("classes", 1000), "head.classes"))
    options = at(node, "options", lambda: _option_names(data.get("options", ["k3e3", "k3e6", "k5e3", "k5e6"]),
                                                         "options"))
    attention = at(node, "attention", lambda: _attention_names(data.get("attention", [NO_ATTENTION]), "attention"))
    activation = at(node, "activation", lambda: _activation(data.get("activation", "relu")))
    if not isinstance(data["layers"], list) or not data["layers"]:
        raise SpecError(f"{path}:{_line_of(node, 'layers')}: 'layers' must be a non-empty list")
    layers_node = next(v for k, v in node.value if k.value == "layers")
    channels, resolution = stem_channels, -(-h // stem_stride)
    layers = []
    for index, (item, item_node) in enumerate(zip(data["layers"], layers_node.value)):
        layer = at(item_node, None, lambda: _layer(index, item, options, attention, channels, resolution))
        layers.append(layer)
        channels, resolution = layer.out_channels, layer.out_resolution
    return Space(name=str(data["name"]), input=(c, h, w), stem_channels=stem_channels, stem_kernel=stem_kernel,
                 stem_stride=stem_stride, head_channels=head_channels, classes=classes, options=options,
                 layers=tuple(layers), activation=activation)


def _layer(index, item, options, attention, channels, resolution) -> Layer:
    item = _mapping(item, LAYER_KEYS, f"layer {index}")
    for key in ("in", "out", "stride", "resolution"):
        if key not in item:
            raise SpecError(f"layer {index}: '{key}' is required")
    in_channels = _positive_int(item["in"], f"layer {index}: in")
    out_channels = _positive_int(item["out"], f"layer {index}: out")
    stride = item["stride"]
    if stride not in (1, 2):
        raise SpecError(f"layer {index}: stride must be 1 or 2 (got {stride!r})")
    if in_channels != channels:
        raise SpecError(f"layer {index}: in={in_channels} but the previous layer gives {channels} channels")
    if item["resolution"] != resolution:
        raise SpecError(f"layer {index}: resolution={item['resolution']} but the input to this layer is "
                        f"{resolution}x{resolution}")
    layer_options = _option_names(item["options"], f"layer {index}: options") if "options" in item else options
    skippable = bool(item.get("skip", False))
    if skippable and not (stride == 1 and in_channels == out_channels):
        raise SpecError(f"layer {index}: skip needs stride 1 and in == out (an identity); got stride {stride}, "
                        f"{in_channels} -> {out_channels}")
    layer_attention = (_attention_names(item["attention"], f"layer {index}: attention") if "attention" in item
                       else (attention if len(layer_options) > 1 or skippable else (NO_ATTENTION,)))
    return Layer(index, in_channels, out_channels, stride, resolution, layer_options, skippable, layer_attention)

