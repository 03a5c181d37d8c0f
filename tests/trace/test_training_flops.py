"""The training tracer's backward products against torch's FlopCounterMode (torch/utils/flop_counter.py),
which counts ``convolution_backward`` (grad-input and grad-weight, 2 FLOPs per MAC, no bias) and
``mm``/``addmm``/``bmm``/``baddbmm`` wherever they run, so also in backward. The oracle runs the real
module on its own: the forward, then ``backward()`` from ones under FlopCounterMode.

Compared exactly, per family: 2 x backward (``mac.linear`` + ``mac.matmul``) = FlopCounterMode's mm,
addmm, bmm and baddbmm; backward ``mac.conv`` = a hand formula per ``convolution_backward`` call seen by
this file's own dispatch mode (each output asked for, grad-input and grad-weight, costs the forward
conv's N·Cout·Hout·Wout·(Cin/groups)·kh·kw MACs), and 2 x that = FlopCounterMode's count where every conv
has groups = 1. For grouped convolutions torch 2.13's FlopCounterMode counts grad-weight ``groups``
times over (its ``conv_backward_flop`` transposes the shapes and loses the group division; see
pytorch/pytorch#183405): the test states that excess exactly. Fused attention on CPU
(``_scaled_dot_product_flash_attention_for_cpu`` and its backward) has no FlopCounterMode formula, so
``mac.attention`` is not compared here (the fused-attention primitives have their own oracles).
"""

from __future__ import annotations

import math

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import FlopCounterMode

from attncost import catalogue
from attncost.networks import DEFINITIONS, AttentionPlacement, definition, with_attention
from attncost.reference import build
from attncost.reference.networks import build_network
from attncost.trace.training import trace_training

aten = torch.ops.aten
PRODUCTS = (aten.mm, aten.addmm, aten.bmm, aten.baddbmm)


class ConvBackwardCalls(TorchDispatchMode):
    """Records each ``convolution_backward`` call's hand MACs: (grad-input, grad-weight, groups)."""

    def __init__(self):
        super().__init__()
        self.calls: list = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if func.overloadpacket is aten.convolution_backward:
            grad_out, x, w = args[0], args[1], args[2]
            transposed, groups, mask = args[7], args[9], args[10]     # native_functions.yaml order
            assert not transposed, "no transposed convolution in these modules"
            n, cout, *out_spatial = grad_out.shape
            _, cin_per_group, *kernel = w.shape
            macs = n * cout * math.prod(out_spatial) * cin_per_group * math.prod(kernel)
            self.calls.append((macs if mask[0] else 0, macs if mask[1] else 0, groups))
        return func(*args, **(kwargs or {}))


def peers_backward(module, x) -> tuple[dict, list]:
    """FlopCounterMode's FLOPs of ``backward()`` alone, by op packet, and the conv calls by hand."""
    module.train()
    out = module(x)
    calls = ConvBackwardCalls()
    with FlopCounterMode(display=False) as counter, calls:
        torch.autograd.backward(out, torch.ones_like(out))
    for p in list(module.parameters()) + [x]:
        p.grad = None
    return counter.get_flop_counts().get("Global", {}), calls.calls          # nothing counted: no key


def check_backward_products(module, x) -> dict:
    torch.manual_seed(0)
    traced = trace_training(module, x).backward_counts
    peer, calls = peers_backward(module, x)
    by_hand = sum(grad_input + grad_weight for grad_input, grad_weight, _ in calls)
    assert traced.get("mac.conv", 0) == by_hand
    overcount = sum((groups - 1) * grad_weight for _, grad_weight, groups in calls)     # torch 2.13's
    assert peer.get(aten.convolution_backward, 0) in (2 * by_hand, 2 * (by_hand + overcount))
    assert 2 * (traced.get("mac.linear", 0) + traced.get("mac.matmul", 0)) == sum(peer.get(op, 0) for op in PRODUCTS)
    return traced


def test_flopcounter_overcounts_grouped_grad_weight():
    """The excess above, on one grouped conv: N=2, Cin=4, Cout=8, groups=2, 3x3 on 5x5 (padding 1):
    forward 2*8*25*(4/2)*9 = 7,200 MACs; backward grad-input + grad-weight = 14,400 MACs = 28,800 FLOPs;
    torch 2.13's FlopCounterMode: 14,400 + 2 x 14,400 = 43,200."""
    conv = torch.nn.Conv2d(4, 8, 3, padding=1, groups=2, bias=False)
    x = torch.randn(2, 4, 5, 5, requires_grad=True)
    assert trace_training(conv, x).backward_counts["mac.conv"] == 2 * 7_200
    peer, _ = peers_backward(conv, x)
    assert peer[aten.convolution_backward] in (28_800, 43_200)


SAMPLE = ("se", "cbam", "nonlocal", "gc", "mhsa", "sk", "ccnet", "danet", "vit-layer", "botnet-mhsa", "bam",
          "coord-attention", "condconv", "dynamic-conv", "mbconv", "patch-embed", "split-attention", "conv",
          "efficient-attention", "cgnl", "residual-attention", "triplet-attention", "eca", "deform-conv", "aa-conv")


def _entry(name):
    entry = catalogue.get(name)
    for shape in ((2, 16, 9, 11), (2, 64, 10, 12), (2, 48, 9, 11), (1, 48, 16, 16), (2, 16, 32, 17)):
        try:
            hp = entry.resolve(shape, {})
        except Exception:
            continue
        return build(name, shape, hp), shape
    raise AssertionError(name)


def test_the_sample_and_the_rest_cover_the_catalogue():
    assert set(SAMPLE) | set(REST) == {entry.name for entry in catalogue.entries()}


#: the other entries: compared in the slow run (CI runs the sample above)
REST = tuple(entry.name for entry in catalogue.entries() if entry.name not in SAMPLE)


@pytest.mark.parametrize("name", SAMPLE + tuple(pytest.param(name, marks=pytest.mark.slow) for name in REST))
def test_catalogue_entry_backward_products(name):
    module, shape = _entry(name)
    x = torch.randn(*shape, requires_grad=True)          # inside a network: the block passes a gradient on
    check_backward_products(module, x)


def _resnet50(attention=None, size=32):
    placements = [AttentionPlacement(attention)] if attention else []
    return build_network(with_attention(definition("resnet50"), placements), (size, size))


@pytest.mark.parametrize("attention", [None, "cbam"])
def test_resnet50_backward_products(attention):
    traced = check_backward_products(_resnet50(attention), torch.randn(2, 3, 32, 32))   # batch 2: BN at 1x1
    assert traced["mac.conv"] > 0 and traced["mac.linear"] > 0


NETWORK_SIZES = {"vit-b16": 224, "swin-t": 224, "botnet50": 64}      # ViT's position embedding is for 224


@pytest.mark.slow
@pytest.mark.parametrize("network", sorted(DEFINITIONS))
def test_every_reference_network_backward_products(network):
    size = NETWORK_SIZES.get(network, 64)
    module = build_network(definition(network), (size, size))
    traced = check_backward_products(module, torch.randn(2, 3, size, size))
    assert traced.get("mac.conv", 0) + traced.get("mac.linear", 0) > 0


def test_resnet50_backward_is_twice_the_forward_but_the_stem():
    """Every conv but the stem's runs grad-input and grad-weight, each as many MACs as its forward; the
    stem (its input needs no gradient) runs grad-weight only: backward conv MACs = 2 x forward - stem."""
    module = _resnet50()
    r = trace_training(module, torch.randn(2, 3, 32, 32))
    # stem: 7x7 conv, stride 2, 3 -> 64 channels, 32x32 -> 16x16: 2*64*16*16*3*7*7
    stem = 2 * 64 * 16 * 16 * 3 * 7 * 7
    assert r.backward_counts["mac.conv"] == 2 * r.forward.counts["mac.conv"] - stem


def backbone_conv_macs(module, x) -> int:
    """Forward MACs of the convs outside attention modules, by hand from each call's shapes (a forward
    hook per nn.Conv2d): what their grad-weight products cost when they are trainable."""
    found = []

    def hook(conv, args, out):
        n, cout, h, w = out.shape
        found.append(n * cout * h * w * (conv.in_channels // conv.groups) * math.prod(conv.kernel_size))

    handles = [m.register_forward_hook(hook) for name, m in module.named_modules()
               if isinstance(m, torch.nn.Conv2d) and ".attention." not in f".{name}."]
    with torch.no_grad():
        module.train()(x)
    for h in handles:
        h.remove()
    return sum(found)


def test_frozen_backbone_with_trainable_attention():
    """ResNet-50 + CBAM, every parameter frozen but CBAM's: the backbone's convs run no grad-weight (and
    nothing runs before the first CBAM); exact per call against the hand oracle and FlopCounterMode."""
    module = _resnet50("cbam")
    x = torch.randn(2, 3, 32, 32)
    full = trace_training(module, x)
    for name, p in module.named_parameters():
        p.requires_grad_(".attention." in name)
    frozen = check_backward_products(module, x)
    result = trace_training(module, x)
    trainable = sum(p.numel() for p in module.parameters() if p.requires_grad)
    assert result.cost.trainable_params == trainable < full.cost.trainable_params
    assert frozen["mac.conv"] <= full.backward_counts["mac.conv"] - backbone_conv_macs(module, x)
    assert result.cost.peak_elements < full.cost.peak_elements


@pytest.mark.slow
@pytest.mark.parametrize("attention", [None, "cbam"])
def test_resnet50_backward_products_at_224(attention):
    check_backward_products(_resnet50(attention, 224), torch.randn(1, 3, 224, 224))
