"""Reference networks described declaratively, run as Programs (no torch)."""

from .attention import POLICIES, AttentionPlacement, placement_from_dict
from .mobilenet import MobileNetV2Spec, mobilenet_v2
from .registry import NETWORKS, get_network, load_spec, with_attention
from .resnet import ResNetSpec, resnet


def run_network(g, x, spec):
    """Write ``spec``'s forward into Program ``g`` on input ``x``."""
    return resnet(g, x, spec) if isinstance(spec, ResNetSpec) else mobilenet_v2(g, x, spec)


__all__ = ["NETWORKS", "POLICIES", "AttentionPlacement", "MobileNetV2Spec", "ResNetSpec", "get_network",
           "load_spec", "placement_from_dict", "run_network", "with_attention"]
