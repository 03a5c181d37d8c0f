"""Reference networks described declaratively, run as Programs (no torch).

A definition file (``definitions/``) loads to a spec (``NetworkSpec``); a spec file names a definition
and adds attention; ``forward`` writes a spec's forward into a Program (see ``registry``)."""

from .attention import POLICIES, AttentionPlacement, placement_from_dict
from .efficientnet import EfficientNetSpec, efficientnet
from .mnasnet import MnasNetSpec, mnasnet
from .mobilenet import MobileNetV2Spec, mobilenet_v2
from .mobilenetv3 import MobileNetV3Spec, mobilenet_v3
from .regnet import RegNetSpec, regnet
from .registry import (DEFINITIONS, FAMILIES, NetworkSpec, definition, load_definition, load_spec, spec_from_node,
                       with_attention)
from .resnet import ResNetSpec, resnet
from .swin import SwinSpec, swin
from .vit import ViTSpec, vit

#: each family's spec class -> the function writing its forward (one per entry of ``FAMILIES``)
FORWARDS = {ResNetSpec: resnet, MobileNetV2Spec: mobilenet_v2, MnasNetSpec: mnasnet, ViTSpec: vit,
            EfficientNetSpec: efficientnet, MobileNetV3Spec: mobilenet_v3, RegNetSpec: regnet, SwinSpec: swin}


def forward(g, x, spec: NetworkSpec):
    """Write ``spec``'s forward into Program ``g`` on input ``x``; the network's output tensor."""
    return FORWARDS[type(spec)](g, x, spec)


__all__ = ["DEFINITIONS", "FAMILIES", "FORWARDS", "POLICIES", "AttentionPlacement", "EfficientNetSpec", "MnasNetSpec",
           "MobileNetV2Spec", "MobileNetV3Spec", "NetworkSpec", "RegNetSpec", "ResNetSpec", "SwinSpec", "ViTSpec",
           "definition", "forward", "load_definition", "load_spec", "placement_from_dict", "spec_from_node",
           "with_attention"]
