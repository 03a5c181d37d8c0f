"""An architecture of a search space as a chain of *segments*, and each segment's op-level cost.

A segment is the unit a latency table stores: ``stem``, ``layer3:k5e6`` (layer 3 as an MBConv with a 5x5
depthwise kernel and expansion 6), ``layer3+se`` (SE on layer 3's output) and ``head`` (1x1 conv to the
head channels, BN, ReLU, global average pooling, FC). A skipped layer has no segment: in the Single-Path
runtime model (Stamoulis et al. 2019, Eq. 7) it costs nothing.

The costs come from attncost Programs (the shared blocks of attncost/catalogue/blocks.py for the
stem, the MBConv layers, separable first layer included, and the head; the catalogue's entries for
attention), replayed op by op, so the analytic predictor sees every op's MACs, other arithmetic and
memory traffic. No torch here.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from .. import catalogue
from ..catalogue.blocks import conv_bn_act, mbconv
from ..cost import Cost, Program
from ..ops import op_kind as kind
from ..errors import LutError
from .space import NO_ATTENTION, SKIP, Layer, Space, parse_option

STEM, HEAD = "stem", "head"
DTYPE_BYTES = 4


def layer_key(index: int, option: str) -> str:
    return f"layer{index}:{option}"


def attention_key(index: int, module: str) -> str:
    return f"layer{index}+{module}"


def architecture_segments(space: Space, arch) -> list[str]:
    """Segment keys of ``arch`` (one ``(choice, attention)`` pair per layer) in execution order."""
    check_architecture(space, arch)
    keys = [STEM]
    for layer, (choice, attention) in zip(space.layers, arch):
        if choice == SKIP:
            continue
        keys.append(layer_key(layer.index, choice))
        if attention != NO_ATTENTION:
            keys.append(attention_key(layer.index, attention))
    return keys + [HEAD]


def check_architecture(space: Space, arch) -> None:
    if len(arch) != len(space.layers):
        raise LutError(f"an architecture of {space.name} has {len(space.layers)} layers, not {len(arch)}")
    for layer, (choice, attention) in zip(space.layers, arch):
        if choice not in layer.choices:
            raise LutError(f"layer {layer.index}: {choice!r} is not one of {', '.join(layer.choices)}")
        if attention not in layer.attention or (choice == SKIP and attention != NO_ATTENTION):
            raise LutError(f"layer {layer.index}: attention {attention!r} is not allowed with {choice!r}")


def all_segments(space: Space) -> list[str]:
    """Every segment a table of ``space`` holds."""
    keys = [STEM]
    for layer in space.layers:
        keys += [layer_key(layer.index, option) for option in layer.options]
        keys += [attention_key(layer.index, a) for a in layer.attention if a != NO_ATTENTION]
    return keys + [HEAD]


def parse_segment(space: Space, key: str) -> tuple:
    """``key`` -> (kind, layer or None, option or attention module)."""
    if key in (STEM, HEAD):
        return key, None, None
    if "+" in key:
        head, module = key.split("+", 1)
        return "attention", space.layers[int(head[len("layer"):])], module
    head, option = key.split(":", 1)
    return "layer", space.layers[int(head[len("layer"):])], option


def input_shape(space: Space, key: str, batch: int = 1) -> tuple:
    what, layer, _ = parse_segment(space, key)
    if what == STEM:
        return (batch, *space.input)
    if what == HEAD:
        last = space.layers[-1]
        return (batch, last.out_channels, last.out_resolution, last.out_resolution)
    if what == "attention":
        return (batch, layer.out_channels, layer.out_resolution, layer.out_resolution)
    return (batch, layer.in_channels, layer.resolution, layer.resolution)


# -- Programs ------------------------------------------------------------------------------------------

def _stem(g: Program, x, space: Space):
    """MnasNet stem: conv kxk / stride s (no bias), BN, act."""
    return conv_bn_act(g, x, space.stem_channels, space.stem_kernel, space.stem_stride, act=space.activation_kind,
                       name="stem")


def _head(g: Program, x, space: Space):
    """1x1 conv to the head channels (no bias), BN, act, global average pooling, flatten, FC."""
    y = conv_bn_act(g, x, space.head_channels, 1, act=space.activation_kind, name="head")
    y = g.view(g.global_avg_pool(y), (y.shape[0], space.head_channels))
    return g.linear(y, space.classes, name="fc")


def mbconv_layer(layer: Layer, option: str) -> dict:
    """The MBConv arguments of ``layer`` run as ``option`` (kXeY), shared with the torch segments
    (lut/network.py): expansion 1 is MnasNet's separable layer, no expand conv (the official
    MBConvBlock skips it when e = 1)."""
    opt = parse_option(option)
    return {"out_channels": layer.out_channels, "hidden": layer.in_channels * opt.expansion, "kernel": opt.kernel,
            "stride": layer.stride}


def _run_segment(g: Program, x, space: Space, key: str):
    what, layer, choice = parse_segment(space, key)
    if what == STEM:
        return _stem(g, x, space)
    if what == HEAD:
        return _head(g, x, space)
    if what == "attention":
        entry = catalogue.get(choice)
        return entry.program(g, x, **entry.resolve(x.shape))
    return mbconv(g, x, **mbconv_layer(layer, choice), act=space.activation_kind)


@dataclass(frozen=True)
class OpWork:
    """One op's work: multiply-accumulates, other arithmetic (elementwise, norm, pool, ... elements),
    and bytes moved (inputs read, parameters read, outputs written; float32)."""

    macs: int
    other: int
    bytes: int


@dataclass(frozen=True)
class SegmentWork:
    key: str
    cost: Cost
    ops: tuple                  # OpWork per executed op (views excluded)

    @property
    def macs(self) -> int:
        return sum(op.macs for op in self.ops)

    @property
    def bytes(self) -> int:
        return sum(op.bytes for op in self.ops)


@functools.lru_cache(maxsize=4096)
def segment_work(space: Space, key: str, batch: int = 1) -> SegmentWork:
    """The segment's exact Cost and its per-op work, from one Program run on concrete shapes."""
    g = Program()
    x = g.input(input_shape(space, key, batch))
    out = _run_segment(g, x, space, key)
    cost = g.finish(out)
    sizes = {x.storage: x.numel}
    ops = []
    for record in g.records:
        for storage, elements in record.allocations:
            sizes[storage] = elements
        if not record.counts and not record.allocations:
            continue                                       # a view: no work
        macs = sum(int(v) for k, v in record.counts.items() if kind(k).category == "mac")
        other = sum(int(v) for k, v in record.counts.items() if kind(k).category not in ("mac", "copy", "tally"))
        elements = (sum(int(sizes.get(s, 0)) for s in record.uses if not isinstance(s, tuple))
                    + int(record.params) + sum(int(e) for _, e in record.allocations))
        ops.append(OpWork(macs, other, elements * DTYPE_BYTES))
    return SegmentWork(key, cost, tuple(ops))
