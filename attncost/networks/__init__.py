"""Reference networks described declaratively, run as Programs (no torch)."""

from .attention import POLICIES, AttentionPlacement, placement_from_dict
from .mnasnet import MnasNetSpec, mnasnet
from .mobilenet import MobileNetV2Spec, mobilenet_v2
from .registry import NETWORKS, get_network, load_spec, spec_from_node, with_attention
from .resnet import ResNetSpec, resnet
from .vit import ViTSpec, vit

BUILDERS = {ResNetSpec: resnet, MobileNetV2Spec: mobilenet_v2, MnasNetSpec: mnasnet, ViTSpec: vit}


def run_network(g, x, spec):
    """Write ``spec``'s forward into Program ``g`` on input ``x``."""
    return BUILDERS[type(spec)](g, x, spec)


__all__ = ["NETWORKS", "POLICIES", "AttentionPlacement", "MnasNetSpec", "MobileNetV2Spec", "ResNetSpec", "ViTSpec",
           "get_network", "load_spec", "placement_from_dict", "run_network", "spec_from_node",
           "with_attention"]
