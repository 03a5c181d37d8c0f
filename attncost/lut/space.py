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

from .. import catalogue, specfile
from ..catalogue.families.nas import ACTIVATIONS
from ..errors import AttncostError, SpecError

SKIP = "skip"
NO_ATTENTION = "none"
KERNELS = (3, 5)                    # the mbconv catalogue entry's choices
EXPANSIONS = (1, 3, 6)              # 3 and 6: the mbconv entry; 1: MnasNet's first (separable) layer
_OPTION = re.compile(r"^k(\d+)e(\d+)$")
STRIDES = (1, 2)
DEFAULT_OPTIONS = ("k3e3", "k3e6", "k5e3", "k5e6")   # Single-Path NAS's table order
SPACE_KEYS = ("name", "input", "stem", "head", "options", "attention", "layers", "activation", "notes")
STEM_KEYS = ("channels", "kernel", "stride")
HEAD_KEYS = ("channels", "classes")
LAYER_KEYS = ("in", "out", "stride", "resolution", "options", "skip", "attention")


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


def load_space(path) -> Space:
    """A search-space YAML file -> :class:`Space`; errors carry the file and line."""
    root = specfile.read(path)
    fields = root.mapping("a search space", known=SPACE_KEYS, required=("name", "input", "stem", "head", "layers"))
    c, h, w = _input(fields["input"])
    stem = fields["stem"].mapping("stem", known=STEM_KEYS, required=("channels",))
    head = fields["head"].mapping("head", known=HEAD_KEYS, required=("channels",))
    stem_channels = stem["channels"].positive_int("stem.channels")
    stem_kernel = stem["kernel"].positive_int("stem.kernel") if "kernel" in stem else 3
    stem_stride = stem["stride"].positive_int("stem.stride") if "stride" in stem else 2
    head_channels = head["channels"].positive_int("head.channels")
    classes = head["classes"].positive_int("head.classes") if "classes" in head else 1000
    options = _option_names(fields["options"], "options") if "options" in fields else DEFAULT_OPTIONS
    attention = _attention_names(fields["attention"], "attention") if "attention" in fields else (NO_ATTENTION,)
    activation = fields["activation"].choice("activation", tuple(ACTIVATIONS)) if "activation" in fields else "relu"
    channels, resolution = stem_channels, -(-h // stem_stride)
    layers = []
    for index, item in enumerate(fields["layers"].items("layers", non_empty=True)):
        layer = _layer(index, item, options, attention, channels, resolution)
        layers.append(layer)
        channels, resolution = layer.out_channels, layer.out_resolution
    return Space(name=fields["name"].text("name"), input=(c, h, w), stem_channels=stem_channels,
                 stem_kernel=stem_kernel, stem_stride=stem_stride, head_channels=head_channels, classes=classes,
                 options=options, layers=tuple(layers), activation=activation)


def _input(node) -> tuple:
    """(C, H, W) of the space's input: one square image, ``CxHxW``."""
    n, c, h, w = node.shape("input")
    if n != 1:
        raise node.error(f"input {node.value!r}: a space's input is one image, CxHxW (the batch is --batch)")
    if h != w:
        raise node.error(f"input {node.value!r}: the space needs a square input (H == W)")
    return c, h, w


def _attention_names(node, what: str) -> tuple:
    names = []
    for item in node.items(f"{what} (a list such as [none, se, eca, cbam])", non_empty=True):
        name = NO_ATTENTION if str(item.value).lower() == NO_ATTENTION else item.module().name
        if name in names:
            raise item.error(f"{what} lists {name} twice")
        names.append(name)
    return tuple(names)


def _option_names(node, what: str) -> tuple:
    names = []
    for item in node.items(f"{what} (a list such as [k3e3, k3e6, k5e3, k5e6])", non_empty=True):
        with item.at():
            name = parse_option(item.value).name
        if name in names:
            raise item.error(f"{what} lists {name} twice")
        names.append(name)
    return tuple(names)


def _layer(index, item, options, attention, channels, resolution) -> Layer:
    fields = item.mapping(f"layer {index}", known=LAYER_KEYS, required=("in", "out", "stride", "resolution"))
    in_channels = fields["in"].positive_int(f"layer {index}: in")
    out_channels = fields["out"].positive_int(f"layer {index}: out")
    stride = fields["stride"].value
    if stride not in STRIDES or isinstance(stride, bool):
        raise fields["stride"].error(f"layer {index}: stride must be 1 or 2 (got {stride!r})")
    if in_channels != channels:
        raise fields["in"].error(f"layer {index}: in={in_channels} but the previous layer gives {channels} channels")
    if fields["resolution"].positive_int(f"layer {index}: resolution") != resolution:
        raise fields["resolution"].error(f"layer {index}: resolution={fields['resolution'].value} but the input to "
                                         f"this layer is {resolution}x{resolution}")
    layer_options = _option_names(fields["options"], f"layer {index}: options") if "options" in fields else options
    skippable = fields["skip"].boolean(f"layer {index}: skip") if "skip" in fields else False
    if skippable and not (stride == 1 and in_channels == out_channels):
        raise fields["skip"].error(f"layer {index}: skip needs stride 1 and in == out (an identity); got stride "
                                   f"{stride}, {in_channels} -> {out_channels}")
    layer_attention = (_attention_names(fields["attention"], f"layer {index}: attention") if "attention" in fields
                       else (attention if len(layer_options) > 1 or skippable else (NO_ATTENTION,)))
    out_resolution = -(-resolution // stride)
    for name in layer_attention:                 # each candidate must take the layer's output
        if name != NO_ATTENTION:
            with (fields["attention"] if "attention" in fields else item).at():
                try:
                    catalogue.get(name).resolve((1, out_channels, out_resolution, out_resolution))
                except AttncostError as error:
                    raise type(error)(f"layer {index}: attention {name} on its {out_channels}x{out_resolution}x"
                                      f"{out_resolution} output: {error}") from None
    return Layer(index, in_channels, out_channels, stride, resolution, layer_options, skippable, layer_attention)
