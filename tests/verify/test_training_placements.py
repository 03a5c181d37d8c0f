"""Every catalogue module that keeps its input's shape, inserted into every block of ResNet-18's
stages 3 and 4, costs the same on the formula side as the tracer measures on the PyTorch build, in
training (forward, backward by op kind, saved, peak, trainable) and at inference (the walker).

The placements are where a module meets what its neighbours do to memory layouts: a self-attention
module's (N, HW, C) result viewed back to (N, C, H, W) is channels last, so the residual ``add_`` and
``relu_`` run in place on a view (autograd's CopySlices), and every convolution, batch norm and pool
after it computes in channels last, its weight gradient too (which AccumulateGrad then copies into the
parameter's layout). The witness is torch itself: the tracer's counts come from the aten ops the step
really runs and the layouts they really produce."""

import pytest
import torch

from attncost import catalogue
from attncost.cost import Program
from attncost.cost.compare import differences
from attncost.errors import ShapeError
from attncost.networks import AttentionPlacement, definition, forward, with_attention
from attncost.reference.networks import build_network
from attncost.trace import trace_module

from test_training_formula_vs_tracer import mismatches, network_costs  # tests/verify/

#: modules that do not keep their input's shape (DANet's head), or are token modules (ViT's layer and
#: patch embedding), take no place in a ResNet block
NOT_PLACEABLE = {"danet", "patch-embed", "vit-layer"}
#: hyperparameters a 256- and 512-channel map at 4 x 4 and 2 x 2 needs (the defaults want 3 heads, or
#: three 2x max-pools)
HYPERPARAMETERS = {"swin-wmsa": {"heads": 4, "window_size": 2}, "swin-swmsa": {"heads": 4, "window_size": 2},
                   "pan-fpa": {"pool": "ceil"}}
MODULES = sorted(e.name for e in catalogue.entries() if e.name not in NOT_PLACEABLE)
SHAPE = (2, 3, 64, 64)        # stage 3 at 4 x 4, stage 4 at 2 x 2


def placed(module, where="every_block", stages=(3, 4), blocks=()):
    placement = AttentionPlacement(module, where=where, stages=stages, blocks=blocks,
                                   hp=HYPERPARAMETERS.get(module, {}))
    return with_attention(definition("resnet18"), [placement])


def inference_mismatches(spec) -> list:
    """The walker's inference cost against the tracer's on the PyTorch build (no op unknown)."""
    g = Program()
    walked = g.finish(forward(g, g.input(SHAPE), spec))
    torch.manual_seed(0)
    traced, _, unsupported = trace_module(build_network(spec, SHAPE[2:]).eval(), torch.randn(*SHAPE))
    return [f"unsupported: {dict(unsupported)}"] if unsupported else differences(walked, traced)


@pytest.mark.parametrize("module", MODULES)
def test_training_step(module):
    formula, traced = network_costs(placed(module), SHAPE)
    assert not mismatches(formula, traced)


@pytest.mark.parametrize("module", MODULES)
def test_inference(module):
    assert inference_mismatches(placed(module)) == []


@pytest.mark.parametrize("module", ["mhsa", "sdpa", "ccnet"])
def test_after_one_block(module):
    """One block only (stage 4, block 1), so the network's head (its global pool's channels-last
    ``as_strided_`` and the classifier) follows the module directly."""
    formula, traced = network_costs(placed(module, "after_blocks", (4,), (1,)), SHAPE)
    assert not mismatches(formula, traced)


def test_a_self_attention_result_is_channels_last():
    """What the placements rest on, in torch: sdpa's result viewed back to (N, C, H, W) is channels
    last, and a convolution after it computes in channels last, its weight gradient too."""
    x = torch.randn(2, 8, 3, 3)
    tokens = x.flatten(2).transpose(1, 2)                          # (N, HW, C)
    result = torch.nn.functional.scaled_dot_product_attention(tokens, tokens, tokens)
    back = result.transpose(1, 2).view(2, 8, 3, 3)
    assert back.is_contiguous(memory_format=torch.channels_last) and not back.is_contiguous()
    conv = torch.nn.Conv2d(8, 8, 3, padding=1)
    out = conv(back.detach().requires_grad_())
    assert out.is_contiguous(memory_format=torch.channels_last)
    grads = {}
    conv.weight.register_hook(lambda g: grads.setdefault("weight", g))
    out.sum().backward()
    assert grads["weight"].is_contiguous(memory_format=torch.channels_last) and not grads["weight"].is_contiguous()


@pytest.mark.parametrize("network", ["mobilenet-v2", "mnasnet-a1", "efficientnet-b0", "mobilenet-v3-large",
                                     "regnet-y-400mf", "resnext50-32x4d"])
def test_self_attention_in_every_block_of(network):
    """sdpa in every block of networks with squeeze-excitation inside theirs: torchvision's
    SqueezeExcitation pools with nn.AdaptiveAvgPool2d(1) (on a channels-last map, a restrided mean),
    MnasNet's reference with ``x.mean((2, 3))`` (not restrided)."""
    spec = with_attention(definition(network), [AttentionPlacement("sdpa")])
    formula, traced = network_costs(spec, SHAPE)
    assert not mismatches(formula, traced)
    assert inference_mismatches(spec) == []


#: modules whose code ``.view``s its input, which torch refuses for channels-last strides
VIEWING_THEIR_INPUT = ["cgnl", "condconv", "deform-conv", "dynamic-conv"]


def behind_sdpa(module):
    return with_attention(definition("resnet18"), [
        AttentionPlacement("sdpa", where="every_block", stages=(3,)),
        AttentionPlacement(module, where="every_block", stages=(4,), hp=HYPERPARAMETERS.get(module, {}))])


@pytest.mark.parametrize("module", [m for m in MODULES if m not in VIEWING_THEIR_INPUT])
def test_behind_a_channels_last_map(module):
    """sdpa in every block of stage 3, the module in every block of stage 4: its input is channels
    last (the layout stays through the convolutions between), as torch runs it."""
    spec = behind_sdpa(module)
    formula, traced = network_costs(spec, SHAPE)
    assert not mismatches(formula, traced)
    assert inference_mismatches(spec) == []


@pytest.mark.parametrize("module", VIEWING_THEIR_INPUT)
def test_a_view_torch_refuses_is_refused(module):
    """Behind a channels-last map, a module whose code views its input fails in PyTorch; the formula
    side refuses it the same way (a one-line ShapeError, exit 2 in the CLI) instead of counting a view
    that cannot exist."""
    spec = behind_sdpa(module)
    with pytest.raises(RuntimeError, match="view size is not compatible"):
        build_network(spec, SHAPE[2:]).eval()(torch.randn(*SHAPE))
    g = Program()
    with pytest.raises(ShapeError, match=r"\(channels last\) as .* as PyTorch cannot"):
        forward(g, g.input(SHAPE), spec)
