"""The fields of a network spec: what each holds and its bounds, checked once for every family, for
definition files, spec files and the Python API alike. No torch.

Every field of a family's spec class (``name`` and ``attention`` aside) is one of these (a test
checks it, so a new field is given its bounds on purpose):

- a **count** (:data:`COUNTS`): an integer from its least to its most, ``true`` and ``2.5`` refused
  (and ``1e9``, a float in YAML 1.2); a field typed ``tuple`` is a list of them (ResNet's
  ``layers``, Swin's ``depths`` and ``heads``, EfficientNet's ``condconv_stages``);
- a **multiplier** (:data:`MULTIPLIERS`) or another **number** (:data:`NUMBERS`): finite, within
  its bounds;
- a **choice** (:data:`CHOICES`), a **flag** (:data:`FLAGS`), or ResNet's ``replace_conv``
  (placements, checked as placements are).

:func:`check_fields` checks a spec's fields against these; each family's ``__post_init__`` calls it,
then checks what depends on several fields (heads that divide a width, the widest layer a ResNeXt's
groups make), raising :func:`field_error` naming the field at fault, so that the reader of a file
puts the error at that field's line (``networks.registry``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
from typing import NamedTuple

from ..errors import AttncostError, SpecError, elide
from ..numbers import MAX_INT

#: the blocks of a network, in all: far beyond the deepest networks built (ResNet-1001's 333
#: bottlenecks, ViT-22B's 48 layers); ``attncost network`` on 10,000 blocks takes about 3 s for a
#: ResNet or RegNet (whose equal blocks are replayed) and 10 to 15 s for a ViT or a Swin Transformer
MAX_BLOCKS = 10_000
#: a channel count a definition gives (``embed_dim``, ``w_0``, ...) and the widest layer the counts
#: it gives make (a ResNeXt's stage-4 bottleneck, a Swin Transformer's last stage, a RegNet's
#: stages): 2^20, far beyond any network's (ViT-22B: 6,144), so that every size stays exact
MAX_CHANNELS = 2 ** 20
#: a patch (ViT, Swin; pixels) and a window (Swin; patches): far beyond the papers' patches of 4 to
#: 32 and windows of 7 to 24 (a window's relative-position index has M^4 elements: 2^32 at 256); a
#: patch larger than the input is refused when the network runs
MAX_PATCH = 1024
MAX_WINDOW = 256
#: the experts of a dynamic convolution: far beyond the papers' 4 (DY-CNN) and 8 to 32 (CondConv);
#: the parameters grow with them
MAX_EXPERTS = 1024


class Count(NamedTuple):
    """An integer field: ``least`` to ``most``; ``what`` says what it is, in errors ("a number of
    blocks"); ``empty``: a list field that may be empty."""

    least: int
    most: int
    what: str
    empty: bool = False


#: the integer fields, by name (the same meaning in every family that has the field; a ``depth``
#: typed float is EfficientNet's multiplier, not a count)
COUNTS = {
    "layers": Count(1, MAX_BLOCKS, "a number of blocks"),
    "depths": Count(1, MAX_BLOCKS, "a number of blocks"),
    "depth": Count(1, MAX_BLOCKS, "a number of blocks"),
    "embed_dim": Count(1, MAX_CHANNELS, "a number of channels"),
    "width_per_group": Count(1, MAX_CHANNELS, "a number of channels"),
    "stem_width": Count(1, MAX_CHANNELS, "a number of channels"),
    "w_0": Count(8, MAX_CHANNELS, "a number of channels"),
    "group_width": Count(1, MAX_CHANNELS, "a number of channels"),
    "groups": Count(1, MAX_CHANNELS, "a number of groups"),
    "heads": Count(1, MAX_CHANNELS, "a number of heads"),
    "patch": Count(1, MAX_PATCH, "a size in pixels"),
    "window": Count(1, MAX_WINDOW, "a size in patches"),
    "image_size": Count(1, MAX_INT, "a size in pixels"),
    "num_classes": Count(1, MAX_INT, "a number of classes"),
    "dynamic_experts": Count(0, MAX_EXPERTS, "a number of kernels (0: static convs)"),
    "dynamic_reduction": Count(1, MAX_CHANNELS, "a channel reduction"),
    "condconv_experts": Count(0, MAX_EXPERTS, "a number of experts (0: none)"),
    "condconv_stages": Count(1, MAX_INT, "a stage number", empty=True),      # each one of the network's stages
}

#: the multipliers of a network's sizes a definition or spec may give, and their bounds: far beyond
#: the papers' (widths 0.35 to 2, EfficientNet-B7's depth 3.1, MLP ratios 4, RegNet's bottleneck 1),
#: and small enough that every size they multiply stays within 2^31: a width scales its family's fixed
#: channel tables, whose widest layer at width 1 has 1,280 channels (the heads), so at most about
#: 1,280 x 1,024 < 2^21 at the bound (tests/networks/test_specs.py walks each family there); the MLP
#: ratio's is the catalogue's (vit-layer.mlp_ratio); RegNet's ``se_ratio`` (SE's channels per input
#: channel) may be 0, no SE (a RegNetX). EfficientNet's ``depth`` multiplies its stages' repeats, so
#: the work grows with it; RegNet's and ViT's ``depth`` are numbers of blocks, not multipliers.
MULTIPLIERS = {"width": 1024, "mlp_ratio": 1024, "bottleneck_multiplier": 1024, "se_ratio": 1024, "depth": 64}


class Number(NamedTuple):
    """A real-valued field: above ``above`` (or from it, with ``inclusive``) and at most ``most``."""

    above: float
    most: float
    inclusive: bool = False


#: the other real-valued fields: RegNet's width slope (channels per block, from 0: equal widths) and
#: width multiplier between stages (above 1; the design space's 1.5 to 3), DY-CNN's temperature
#: (the paper's 30; the cost is the same at every one)
NUMBERS = {"w_a": Number(0, MAX_CHANNELS, inclusive=True), "w_m": Number(1, 1024),
           "dynamic_temperature": Number(0, 1e6)}

#: ResNet v1 (the papers', stride on the first 1x1) and v1.5 (torchvision's, on the 3x3)
STRIDE_PLACES = ("1x1", "3x3")
CHOICES = {"block": ("basic", "bottleneck"), "stride_on": STRIDE_PLACES}
FLAGS = ("deep_stem", "avg_down")
#: fields read as what they are: placements, checked as placements are
PLACEMENTS = ("replace_conv",)


def field_error(spec, key, message: str, index: int | None = None) -> SpecError:
    """``SpecError("NAME: message")`` about ``spec``'s field ``key`` (item ``index`` of a list; a tuple
    of keys: the fields at fault, the likeliest first): the reader of a file puts it at the line of
    that field (or item; the first of the keys the file gives), as ``FILE:LINE: message``."""
    error = SpecError(f"{spec.name}: {message}")
    error.field, error.index, error.detail = (key,) if isinstance(key, str) else tuple(key), index, message
    return error


@contextlib.contextmanager
def on_field(key: str):
    """A user error raised inside, not yet about a field or a line, is about field ``key``."""
    try:
        yield
    except AttncostError as error:
        if getattr(error, "field", None) is None and not getattr(error, "located", False):
            error.field, error.index = (key,), None
        raise


def _shown(value) -> str:
    return elide(repr(value), 40)


def _types(cls) -> dict:
    return {f.name: f.type for f in dataclasses.fields(cls)}


def check_fields(spec) -> None:
    """Every field of ``spec`` holds what its kind says (:data:`COUNTS`, :data:`MULTIPLIERS`,
    :data:`NUMBERS`, :data:`CHOICES`, :data:`FLAGS`), within its bounds; else :func:`field_error`."""
    name = spec.name
    if not isinstance(name, str) or not name.strip():
        raise field_error(spec, "name", f"name must be a non-empty text (got {_shown(name)})")
    for key, kind in _types(type(spec)).items():
        value = getattr(spec, key)
        if kind in ("float", float):
            if key in MULTIPLIERS:
                _check_multiplier(spec, key, value)
            elif key in NUMBERS:
                _check_number(spec, key, value, NUMBERS[key])
        elif key in COUNTS:
            if kind in ("tuple", tuple):
                _check_counts(spec, key, value, COUNTS[key])
            elif not (value is None and "None" in str(kind)):
                _check_count(spec, key, value, COUNTS[key])
        elif key in CHOICES and value not in CHOICES[key]:
            raise field_error(spec, key, f"{key} {_shown(value)} is not one of: {', '.join(CHOICES[key])}")
        elif key in FLAGS and not isinstance(value, bool):
            raise field_error(spec, key, f"{key} must be true or false (got {_shown(value)})")


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_count(spec, key: str, value, count: Count, index: int | None = None) -> None:
    label = key if index is None else f"{key}[{index}]"
    if not _is_int(value) or not count.least <= value <= count.most:
        most = f"{count.most:,}" if count.most < 2 ** 20 else f"2^{count.most.bit_length() - 1}"
        raise field_error(spec, key, f"{label} must be {count.what}, an integer from {count.least} to {most} "
                                     f"(got {_shown(value)})", index)


def _check_counts(spec, key: str, value, count: Count) -> None:
    if not isinstance(value, (tuple, list)) or not (value or count.empty):
        raise field_error(spec, key, f"{key} must be a {'' if count.empty else 'non-empty '}list, each item "
                                     f"{count.what} (got {_shown(value)})")
    for index, item in enumerate(value):
        _check_count(spec, key, item, count, index)
    if count.most == MAX_BLOCKS and sum(value) > MAX_BLOCKS:
        raise field_error(spec, key, f"{key} {list(value)} make {sum(value):,} blocks; a network has at most "
                                     f"{MAX_BLOCKS:,}")


def _check_multiplier(spec, key: str, value) -> None:
    zero = key == "se_ratio"
    if not _finite(value) or not (value >= 0 if zero else value > 0) or value > MULTIPLIERS[key]:
        raise field_error(spec, key, f"{key} must be a number {'of at least 0' if zero else 'above 0'} and at most "
                                     f"{MULTIPLIERS[key]} (got {_shown(value)})")


def _check_number(spec, key: str, value, number: Number) -> None:
    if not _finite(value) or not (value >= number.above if number.inclusive else value > number.above) \
            or value > number.most:
        most = f"2^{int(number.most).bit_length() - 1}" if number.most == MAX_CHANNELS else f"{number.most:g}"
        least = f"of at least {number.above:g}" if number.inclusive else f"above {number.above:g}"
        raise field_error(spec, key, f"{key} must be a number {least} and at most {most} (got {_shown(value)})")


def _finite(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def given_twice(spec, key: str, values) -> None:
    """A list field that names each thing once (stage numbers)."""
    seen = set()
    for index, value in enumerate(values):
        if value in seen:
            raise field_error(spec, key, f"{key} gives {value} twice", index)
        seen.add(value)


def check_mlp_hidden(spec, narrowest: int) -> None:
    """A transformer's MLP keeps a hidden channel at its narrowest width: int(C * mlp_ratio) >= 1."""
    if int(narrowest * spec.mlp_ratio) < 1:
        raise field_error(spec, ("mlp_ratio", "embed_dim"),
                          f"mlp_ratio={spec.mlp_ratio:g} leaves the MLP of {narrowest} channels no hidden channel "
                          f"(int(C * mlp_ratio) = 0)")
