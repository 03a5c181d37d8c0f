"""Training costs on the formula side (attncost/cost/training.py: a training Program's forward run
backwards through its autograd graph, no torch) equal the training tracer's (attncost/trace/training.py:
a real forward and ``backward()`` of the reference modules under the dispatch mode, saved tensors from
``saved_tensors_hooks``), to the last integer: forward counts and memory, backward counts by op kind,
saved elements, training peak, trainable parameters. The tracer shares the op formulas with the
formula side, not the graph: which ops autograd runs, on which shapes, in which order, what it saves
and when each storage dies all come from torch itself."""

import pytest
import torch
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from attncost import catalogue
from attncost.catalogue.families.self_attention.transformer import aa_depths
from attncost.cost import Program
from attncost.cost.autograd import TrainingError
from attncost.cost.compare import differences
from attncost.cost.training import forward_training_cost, only_scopes
from attncost.networks import AttentionPlacement, definition, forward, with_attention
from attncost.reference import build
from attncost.reference.networks import build_network
from attncost.trace.training import trace_training

from picks import HypothesisPick  # tests/verify/picks.py


def mismatches(formula, traced) -> list:
    found = [f"forward {name}: formula={a} traced={b}" for name, a, b in differences(formula.forward, traced.forward)]
    kinds = set(formula.backward_counts) | set(traced.backward_counts)
    found += [f"backward {k}: formula={formula.backward_counts.get(k)} traced={traced.backward_counts.get(k)}"
              for k in sorted(kinds) if formula.backward_counts.get(k) != traced.backward_counts.get(k)]
    for field in ("saved_elements", "peak_elements", "trainable_params"):
        if getattr(formula, field) != getattr(traced, field):
            found.append(f"{field}: formula={getattr(formula, field)} traced={getattr(traced, field)}")
    return found


def network_costs(spec, shape, trainable=None, frozen_torch=None):
    formula = forward_training_cost(lambda g, x: forward(g, x, spec), shape, trainable=trainable)
    torch.manual_seed(0)
    module = build_network(spec, shape[2:])
    for name, p in module.named_parameters():
        if frozen_torch is not None and frozen_torch(name):
            p.requires_grad_(False)
    return formula, trace_training(module, torch.randn(*shape)).cost


def entry_costs(name, shape, hp, input_requires_grad):
    entry = catalogue.get(name)
    formula = forward_training_cost(lambda g, x: entry.program(g, x, **hp), shape,
                                    input_requires_grad=input_requires_grad)
    torch.manual_seed(0)
    x = torch.randn(*shape, requires_grad=input_requires_grad)
    return formula, trace_training(build(name, shape, hp), x).cost


def with_placement(network, module):
    spec = definition(network)
    return with_attention(spec, [AttentionPlacement(module)]) if module else spec


@pytest.mark.parametrize("module", [None, "cbam", "se"])
def test_resnet18_small(module):
    formula, traced = network_costs(with_placement("resnet18", module), (2, 3, 32, 32))
    assert not mismatches(formula, traced)


@pytest.mark.slow
@pytest.mark.parametrize("module", [None, "cbam", "se"])
def test_resnet50_64x64(module):
    formula, traced = network_costs(with_placement("resnet50", module), (2, 3, 64, 64))
    assert not mismatches(formula, traced)


@pytest.mark.slow
def test_resnet50_224():
    formula, traced = network_costs(definition("resnet50"), (1, 3, 224, 224))
    assert not mismatches(formula, traced)


#: networks beyond ResNet, each at a small input (Swin-T at 64: a 2 x 2 map in its last stage); their
#: classifier dropouts (EfficientNet, MobileNetV3: in place, on a view for EfficientNet: CopySlices),
#: computed convolution weights (CondConv, dynamic convolution), Swin's channels-last average pool
#: (ATen's ``as_strided_``), BoTNet's ``torch.split``, AA-ResNet's in-place adds and repeat
NETWORKS = {"efficientnet-b0": 32, "efficientnet-condconv-b0": 32, "mobilenet-v3-large": 32, "mobilenet-v2": 32,
            "mnasnet-a1": 32, "regnet-y-400mf": 32, "resnest50": 32, "sknet50": 32, "resnext50-32x4d": 32,
            "botnet50": 32, "swin-t": 64, "dy-resnet18": 32, "dy-mobilenet-v2": 32, "aa-resnet50": 32}


@pytest.mark.parametrize("network", sorted(NETWORKS))
def test_network(network):
    size = NETWORKS[network]
    formula, traced = network_costs(definition(network), (2, 3, size, size))
    assert not mismatches(formula, traced)


@pytest.mark.slow
@pytest.mark.parametrize("network", ["efficientnet-b0", "mobilenet-v3-large", "swin-t"])
def test_network_224(network):
    formula, traced = network_costs(definition(network), (1, 3, 224, 224))
    assert not mismatches(formula, traced)


def test_vit_b16_one_image():
    """ViT-B/16 on one 224 x 224 image: the position embedding (1, 197, 768) gets the very gradient
    ``z + pos_embed``'s backward also hands to the concatenation, still held there when its
    AccumulateGrad runs, so ``.grad`` is a copy of it (197 * 768 copied elements more than a stolen
    gradient; with two images the sum over the batch makes a fresh one)."""
    formula, traced = network_costs(definition("vit-b16"), (1, 3, 224, 224))
    assert not mismatches(formula, traced)


def test_dropout_is_the_identity_at_inference():
    """The classifiers' dropout runs no op at inference and three in training (bernoulli_, div_, mul_
    on the noise and the input): the training forward counts each on the classifier's input."""
    g = Program()
    x = g.input((2, 1280))
    assert g.dropout(x, 0.2, inplace=True) is x and not g.records
    cost = forward_training_cost(lambda g, x: g.dropout(g.linear(x, 10, name="fc"), 0.2, inplace=True), (2, 1280))
    assert cost.forward.counts["elementwise.random"] == cost.forward.counts["elementwise.div"] == 2 * 10
    assert cost.forward.counts["elementwise.mul"] == 2 * 10
    assert cost.backward_counts["elementwise.mul"] == 2 * 10          # grad * noise


def _not_attention(torch_name: str) -> bool:
    return ".attention." not in torch_name


def test_frozen_backbone_trains_attention_only():
    """Every parameter frozen but the SE modules' (``attention:`` scopes; ``.attention.`` in torch):
    the frozen convolutions compute no weight gradient, so fewer backward MACs, and only the
    attention's parameters are trainable."""
    spec = with_placement("resnet18", "se")
    formula, traced = network_costs(spec, (2, 3, 32, 32), trainable=only_scopes("attention:"),
                                    frozen_torch=_not_attention)
    assert not mismatches(formula, traced)
    full, _ = network_costs(spec, (2, 3, 32, 32))
    assert formula.trainable_params < full.trainable_params
    assert formula.backward_counts["mac.conv"] < full.backward_counts["mac.conv"]


@pytest.mark.parametrize("module", ["se", "cbam"])
def test_checkpointed_attention_scopes_in_a_network(module):
    """``checkpoint=("attention:*",)`` on the formula side, every attention submodule checkpointed in
    torch (``layers.N.attention.0``): the same saved elements, peak and recomputed backward."""
    spec = with_placement("resnet18", module)
    shape = (2, 3, 32, 32)
    formula = forward_training_cost(lambda g, x: forward(g, x, spec), shape, checkpoint=("attention:*",))
    torch.manual_seed(0)
    network = build_network(spec, shape[2:])
    names = tuple(n for n, _ in network.named_modules() if n.endswith(".attention.0"))
    traced = trace_training(network, torch.randn(*shape), checkpoint=names).cost
    assert not mismatches(formula, traced)
    plain, _ = network_costs(spec, shape)
    assert formula.saved_elements < plain.saved_elements


@pytest.mark.slow
def test_frozen_resnet50_cbam():
    formula, traced = network_costs(with_placement("resnet50", "cbam"), (2, 3, 64, 64),
                                    trainable=only_scopes("attention:"), frozen_torch=_not_attention)
    assert not mismatches(formula, traced)


@pytest.mark.parametrize("input_requires_grad", [False, True])
@pytest.mark.parametrize("mode", ["embedded", "gaussian", "dot"])
def test_nonlocal(mode, input_requires_grad):
    shape = (2, 16, 8, 8)
    hp = catalogue.get("nonlocal").resolve(shape, {"mode": mode})
    formula, traced = entry_costs("nonlocal", shape, hp, input_requires_grad)
    assert not mismatches(formula, traced)


def checkpointed_entry_costs(name, shape, hp, input_requires_grad):
    """The entry's whole forward under activation checkpointing: the reference wrapped in a Sequential
    whose child ``0`` the tracer checkpoints (torch.utils.checkpoint, use_reentrant=False)."""
    entry = catalogue.get(name)
    formula = forward_training_cost(lambda g, x: entry.program(g, x, **hp), shape,
                                    input_requires_grad=input_requires_grad, checkpoint=True)
    torch.manual_seed(0)
    x = torch.randn(*shape, requires_grad=input_requires_grad)
    traced = trace_training(torch.nn.Sequential(build(name, shape, hp)), x, checkpoint=("0",)).cost
    return formula, traced


@pytest.mark.parametrize("input_requires_grad", [False, True])
@pytest.mark.parametrize("name", ["nonlocal", "cbam", "se"])
def test_checkpointed_entry(name, input_requires_grad):
    """Checkpointed: only the input is saved, the forward is recomputed during backward (up to the op
    that saved the region's last tensor) and counted there; both sides agree on every number."""
    shape = (2, 16, 8, 8)
    hp = catalogue.get(name).resolve(shape, {})
    formula, traced = checkpointed_entry_costs(name, shape, hp, input_requires_grad)
    assert not mismatches(formula, traced)
    plain, _ = entry_costs(name, shape, hp, input_requires_grad)
    assert formula.saved_elements == 2 * 16 * 8 * 8          # the input, nothing else
    assert formula.saved_elements < plain.saved_elements
    if name == "nonlocal":      # the attention map's softmax is recomputed in backward
        assert formula.backward_counts["softmax"] == formula.forward.counts["softmax"]
        assert plain.saved_elements - formula.saved_elements >= formula.forward.attention_map_elements


#: catalogue entries whose every op has a backward on the formula side, proven equal to the tracer
COVERED = ["aa-conv", "axial-attention", "bam", "bam-channel", "bam-spatial", "botnet-mhsa", "cbam", "cbam-channel",
           "cbam-spatial", "ccnet", "cgnl", "condconv", "conv", "coord-attention", "cse", "danet", "danet-cam",
           "danet-pam", "deform-conv", "dynamic-conv", "eca", "efficient-attention", "ese", "gc", "ge-theta",
           "ge-theta-minus", "ge-theta-plus", "mbconv", "mhsa", "nonlocal", "ocnet", "pan-fpa", "pan-gau",
           "residual-attention", "scse", "sdpa", "se", "se-var1", "se-var2", "se-var3", "simam", "sk", "snl",
           "sparse-attention", "split-attention", "sse", "stn", "swin-swmsa", "swin-wmsa", "triplet-attention",
           "patch-embed", "vit-layer"]


def _not_modelled(name, shape, hp) -> bool:
    """The one covered configuration whose training program raises TrainingError (its program says why):
    aa-conv's relative logits with dk / heads = 1, where torch's einsum is a broadcast multiply."""
    if name != "aa-conv" or not hp["relative"]:
        return False
    fout = hp["out_channels"] if hp["out_channels"] is not None else shape[1]
    dk, _ = aa_depths(fout, hp["heads"], hp["dk"], hp["dv"], hp["kappa"], hp["upsilon"], hp["min_key_head_dim"])
    return dk // hp["heads"] == 1


def test_aa_conv_with_one_key_dim_per_head_is_refused():
    shape = (2, 8, 4, 4)
    hp = catalogue.get("aa-conv").resolve(shape, {"heads": 1, "dk": 1})
    assert _not_modelled("aa-conv", shape, hp)
    with pytest.raises(TrainingError, match="dk / heads = 1"):
        entry_costs("aa-conv", shape, hp, False)


@pytest.mark.parametrize("kernel", [1, 3])
def test_aa_conv_at_stride_2_with_an_input_needing_grad(kernel):
    """The official code runs the strided conv before it pools the attention's input; which runs first
    decides what is live when the input's two gradients are made (the formula side once pooled first:
    a peak of 6,680 elements against the tracer's 6,320 at 2x21x4x9, out_channels 3, kernel 3)."""
    shape = (2, 21, 4, 9)
    hp = catalogue.get("aa-conv").resolve(shape, {"out_channels": 3, "kernel": kernel, "heads": 1,
                                                  "min_key_head_dim": 30, "stride": 2})
    formula, traced = entry_costs("aa-conv", shape, hp, True)
    assert not mismatches(formula, traced)


@pytest.mark.parametrize("name", COVERED)
@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much], database=None)
@given(data=st.data())
def test_catalogue_entry(name, data):
    from attncost.verify import sample_config

    entry = catalogue.get(name)
    shape, hp = sample_config(entry, HypothesisPick(data.draw), channels=(8, 32), spatial=(4, 10))
    shape = (max(2, shape[0]), *shape[1:])      # batch norm in training needs more than one value per channel
    hp = entry.resolve(shape, hp)
    assume(not _not_modelled(name, shape, hp))
    # a module without parameters has a backward only where its input needs a gradient
    input_requires_grad = data.draw(st.booleans()) or entry.cost(shape, hp).params == 0
    formula, traced = entry_costs(name, shape, hp, input_requires_grad)
    assert not mismatches(formula, traced)
