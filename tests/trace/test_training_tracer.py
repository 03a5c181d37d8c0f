"""The training tracer (attncost/trace/training.py): saved tensors, phases, checkpointing, frozen parts,
precision, symbolic sizes, and that the user's module comes back as it was.

Expected values come from outside the tracer: hand derivations from the tensors' shapes (written next to
each number), and this file's own ``saved_tensors_hooks`` count, which keys storages by data pointer and
sizes them by bytes (the tracer keys by the storage object and sizes from its own records).
"""

from __future__ import annotations

import pytest
import sympy
import torch
from torch import nn
from torch.utils.checkpoint import set_checkpoint_early_stop

from attncost import catalogue
from attncost.errors import AttncostError, ShapeError
from attncost.networks import AttentionPlacement, definition, with_attention
from attncost.reference import build
from attncost.reference.networks import build_network
from attncost.trace import UnsupportedOpsError
from attncost.trace.training import BACKWARD, FORWARD, OUTPUT_GRADIENT_SCOPE, trace_training, trace_training_symbolic


def conv_bn_relu(cin=3, cout=8):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU())


def hooks_saved_elements(module, x) -> int:
    """What autograd saves in one train-mode forward, by this test's own pack hook: every storage once
    (by data pointer), parameters and buffers left out, elements = storage bytes / element size."""
    module.train()
    own = {t.untyped_storage().data_ptr() for t in list(module.parameters()) + list(module.buffers())}
    seen: dict = {}

    def pack(t):
        ptr = t.untyped_storage().data_ptr()
        if ptr not in own:
            seen[ptr] = t.untyped_storage().nbytes() // t.element_size()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = module(x)
    del out
    return sum(seen.values())


# -- saved tensors -----------------------------------------------------------------------------------

def test_conv_bn_relu_saved_tensors_by_hand():
    x = torch.randn(2, 3, 8, 8)
    r = trace_training(conv_bn_relu(), x, allow_unsupported=True)
    # conv saves its input x: 2*3*8*8 = 384 (its weight is a parameter); batch norm saves its input, the
    # conv's output, 2*8*8*8 = 1024, and save_mean, save_invstd: 8 + 8; relu saves its result: 1024
    assert r.cost.saved_elements == 384 + 1024 + 8 + 8 + 1024
    assert r.saved_by_scope == {"0": 384, "1": 1024 + 8 + 8, "2": 1024}


def test_pool_and_linear_saved_tensors_by_hand():
    m = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(4 * 4 * 4, 5),
                      nn.Sigmoid())
    r = trace_training(m, torch.randn(2, 3, 8, 8), allow_unsupported=True)
    # conv: x, 2*3*8*8 = 384; max pool: its input 2*4*8*8 = 512 and int64 indices 2*4*4*4 = 128 (one
    # element each); linear: its input, the flattened pool output (a view: its storage, 128); sigmoid: its
    # result 2*5 = 10
    assert r.cost.saved_elements == 384 + 512 + 128 + 128 + 10


SAMPLE = ("se", "cbam", "nonlocal", "mhsa", "sk", "gc", "ccnet", "coord-attention", "vit-layer", "bam")


def _entry(name):
    entry = catalogue.get(name)
    for shape in ((2, 16, 9, 11), (2, 64, 10, 12), (2, 48, 9, 11), (1, 48, 16, 16)):
        try:
            hp = entry.resolve(shape, {})
        except Exception:
            continue
        return build(name, shape, hp), shape
    raise AssertionError(name)


@pytest.mark.parametrize("name", SAMPLE)
def test_saved_elements_equal_an_own_hooks_count(name):
    module, shape = _entry(name)
    torch.manual_seed(0)
    x = torch.randn(*shape, requires_grad=True)
    r = trace_training(module, x, allow_unsupported=True)
    assert r.cost.saved_elements == hooks_saved_elements(module, x)
    assert sum(r.saved_by_scope.values()) == r.cost.saved_elements


@pytest.mark.parametrize("attention", [None, "cbam"])
def test_resnet50_saved_elements_equal_an_own_hooks_count(attention):
    placements = [AttentionPlacement(attention)] if attention else []
    module = build_network(with_attention(definition("resnet50"), placements), (32, 32))
    x = torch.randn(2, 3, 32, 32)
    r = trace_training(module, x)
    assert r.cost.saved_elements == hooks_saved_elements(module, x)


# -- phases, output gradient, the user's module --------------------------------------------------------

def test_phases_and_output_gradient_step():
    x = torch.randn(2, 3, 8, 8)
    r = trace_training(conv_bn_relu(), x, allow_unsupported=True)
    start = r.backward_start
    assert r.phases[:start] == (FORWARD,) * start and set(r.phases[start:]) == {BACKWARD}
    assert r.funcs[start] is None and r.records[start].scope == OUTPUT_GRADIENT_SCOPE
    # the gradient of the 2x8x8x8 output is allocated there, outside any op's count
    assert [n for _, n in r.records[start].allocations] == [2 * 8 * 8 * 8] and r.records[start].counts == {}
    assert str(r.funcs[0]) == "aten.convolution.default"
    assert any(str(f) == "aten.convolution_backward.default" for f in r.funcs[start + 1:])
    # a backward op takes the scope of the module whose forward made its autograd node
    scopes = {str(f): rec.scope for f, rec in zip(r.funcs[start + 1:], r.records[start + 1:])}
    assert scopes["aten.convolution_backward.default"] == ("0",)
    assert scopes["aten.threshold_backward.default"] == ("2",)


def test_the_users_module_is_left_as_it_was():
    m = conv_bn_relu().eval()
    x = torch.randn(2, 3, 8, 8)
    stats = m[1].running_mean.clone()
    trace_training(m, x, allow_unsupported=True)
    assert not m.training and not any(mod.training for mod in m.modules())
    assert all(p.grad is None for p in m.parameters())
    assert torch.equal(m[1].running_mean, stats) and int(m[1].num_batches_tracked) == 0
    assert all(isinstance(p, nn.Parameter) for p in m.parameters()) and x.grad is None


def test_forward_is_in_train_mode():
    r = trace_training(conv_bn_relu(), torch.randn(2, 3, 8, 8), allow_unsupported=True)
    assert "norm.batch_stats" in r.forward.counts          # batch statistics: train mode


def test_output_grad_checked_and_used():
    m, x = conv_bn_relu(), torch.randn(2, 3, 8, 8)
    with pytest.raises(ShapeError):
        trace_training(m, x, output_grad=torch.ones(2, 8, 8, 7), allow_unsupported=True)
    given = trace_training(m, x, output_grad=torch.randn(2, 8, 8, 8), allow_unsupported=True)
    ones = trace_training(m, x, allow_unsupported=True)
    assert given.cost == ones.cost


def test_all_frozen_is_an_error():
    m = conv_bn_relu().requires_grad_(False)
    with pytest.raises(AttncostError, match="no output requires grad"):
        trace_training(m, torch.randn(2, 3, 8, 8), allow_unsupported=True)


def test_unknown_checkpoint_name_is_an_error():
    with pytest.raises(AttncostError, match="no submodule 'conv'"):
        trace_training(conv_bn_relu(), torch.randn(2, 3, 8, 8), checkpoint=["conv"], allow_unsupported=True)


def test_unknown_precision_is_an_error():
    with pytest.raises(AttncostError, match="precision"):
        trace_training(conv_bn_relu(), torch.randn(2, 3, 8, 8), precision="fp8", allow_unsupported=True)


def test_trainable_params_and_gradients_kept_to_the_end():
    m = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 4, 1))
    m[0].requires_grad_(False)
    r = trace_training(m, torch.randn(1, 3, 6, 6), allow_unsupported=True)
    assert r.cost.trainable_params == 8 * 4 + 4                       # the 1x1 conv's weight and bias
    assert r.cost.params == 8 * 3 * 9 + 8 + 8 * 4 + 4


# -- counts --------------------------------------------------------------------------------------------

def _conv_macs(n, cout, hout, wout, cin, k):
    return n * cout * hout * wout * cin * k * k


def test_frozen_first_conv_runs_no_backward_of_its_own():
    """conv1 frozen, conv2 trainable: backward runs conv2's grad-weight only (conv2's input needs no
    gradient: nothing before it is trainable), and no backward of conv1 at all."""
    m = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.Conv2d(8, 4, 3, padding=1))
    m[0].requires_grad_(False)
    r = trace_training(m, torch.randn(2, 3, 6, 6))
    # grad-weight of conv2 = conv2's forward MACs: 2*4*6*6*8*3*3 = 20,736; grad-bias: a sum over 2*4*6*6
    assert r.backward_counts["mac.conv"] == _conv_macs(2, 4, 6, 6, 8, 3) == 20_736
    assert r.backward_counts["reduce.sum"] == 2 * 4 * 6 * 6


def test_frozen_second_conv_passes_its_input_gradient():
    """conv1 trainable, conv2 frozen: conv2's grad-input (as many MACs as its forward) and conv1's
    grad-weight; conv1's grad-input is not asked for (the data needs none)."""
    m = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.Conv2d(8, 4, 3, padding=1))
    m[1].requires_grad_(False)
    r = trace_training(m, torch.randn(2, 3, 6, 6))
    assert r.backward_counts["mac.conv"] == _conv_macs(2, 4, 6, 6, 8, 3) + _conv_macs(2, 8, 6, 6, 3, 3)
    assert r.backward_counts["reduce.sum"] == 2 * 8 * 6 * 6          # conv1's bias gradient


def test_linear_backward_by_hand():
    m = nn.Linear(6, 5)
    x = torch.randn(4, 6, requires_grad=True)
    r = trace_training(m, x)
    # grad-input: (4x5) @ (5x6): 4*5*6 = 120 MACs with the weight (mac.linear); grad-weight: (5x4) @ (4x6),
    # 120 MACs of two activations (mac.matmul); grad-bias: a sum over 4*5 elements
    assert r.backward_counts["mac.linear"] == 120
    assert r.backward_counts["mac.matmul"] == 120
    assert r.backward_counts["reduce.sum"] == 20


# -- activation checkpointing: Non-local ----------------------------------------------------------------

def _nonlocal():
    entry = catalogue.get("nonlocal")
    shape = (2, 64, 10, 12)
    return build("nonlocal", shape, entry.resolve(shape, {})), torch.randn(*shape, requires_grad=True)


def test_checkpointing_nonlocal_saves_less_by_its_attention_map():
    module, x = _nonlocal()
    plain = trace_training(module, x)
    ckpt = trace_training(module, x, checkpoint=[""])
    attention_map = plain.forward.attention_map_elements
    # embedded Gaussian with sub-sampling: N x HW x HW/4 = 2 * 120 * 30 = 7,200 logits (softmax's result)
    assert attention_map == 2 * 120 * 30
    assert plain.cost.saved_elements - ckpt.cost.saved_elements >= attention_map
    # only the block's input is saved (for the recompute), besides nothing of its own
    assert ckpt.cost.saved_elements == x.numel()
    assert ckpt.forward.counts == plain.forward.counts


def test_checkpointing_nonlocal_recomputes_its_forward_in_backward():
    module, x = _nonlocal()
    plain = trace_training(module, x)
    with set_checkpoint_early_stop(False):
        full = trace_training(module, x, checkpoint=[""])
    recomputed = {k: full.backward_counts.get(k, 0) - plain.backward_counts.get(k, 0)
                  for k in set(full.backward_counts) | set(plain.backward_counts)}
    assert {k: v for k, v in recomputed.items() if v} == plain.forward.counts
    early = trace_training(module, x, checkpoint=[""])      # torch's default: stops at the last saved tensor
    for kind, count in plain.forward.counts.items():
        assert plain.backward_counts.get(kind, 0) <= early.backward_counts.get(kind, 0) <= \
            plain.backward_counts.get(kind, 0) + count
    assert early.backward_counts["mac.matmul"] > plain.backward_counts["mac.matmul"]   # the affinity again


def test_checkpointing_lowers_the_peak_of_a_stack():
    blocks = nn.Sequential(*[conv_bn_relu(8, 8) for _ in range(4)])
    x = torch.randn(2, 8, 16, 16)
    plain = trace_training(blocks, x, allow_unsupported=True)
    ckpt = trace_training(blocks, x, checkpoint=["1", "2"], allow_unsupported=True)
    # plain: x, then per block the BN input, save_mean + save_invstd and the ReLU result (the next block's
    # conv input is that same storage): 2*8*16*16 = 4,096 per tensor, 8 + 8 of statistics. Checkpointing
    # blocks 1 and 2 drops their BN inputs and statistics; their ReLU results stay saved, now as the
    # inputs of block 2's checkpoint and of block 3's conv
    tensor, stats = 2 * 8 * 16 * 16, 16
    assert plain.cost.saved_elements == tensor + 4 * (2 * tensor + stats)
    assert plain.cost.saved_elements - ckpt.cost.saved_elements == 2 * (tensor + stats)
    assert ckpt.cost.peak_elements < plain.cost.peak_elements


# -- precision and symbolic sizes -----------------------------------------------------------------------

@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_low_precision_runs_on_cpu_with_the_same_counts(precision):
    m, x = conv_bn_relu(), torch.randn(2, 3, 8, 8)
    fp32 = trace_training(m, x, allow_unsupported=True)
    low = trace_training(m, x, precision=precision, allow_unsupported=True)
    assert low.cost == fp32.cost
    assert low.bytes("adam")["saved_activations"] == 2 * fp32.cost.saved_elements
    assert low.bytes("adam")["master_weights"] == 4 * fp32.cost.trainable_params
    assert next(m.parameters()).dtype == torch.float32


def test_symbolic_sizes_equal_the_concrete_trace():
    N, H, W = sympy.symbols("N H W", positive=True, integer=True)
    m = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                      nn.Flatten(), nn.Linear(8, 4))
    symbolic = trace_training_symbolic(m, (N, 3, H, W), {"H": 16, "W": 12}, allow_unsupported=True)
    assert symbolic.cost.symbolic
    assert symbolic.cost.saved_elements.free_symbols == {N, H, W}
    concrete = trace_training(m, torch.randn(3, 3, 10, 14), allow_unsupported=True)
    at = {N: 3, H: 10, W: 14}
    assert sympy.sympify(symbolic.cost.saved_elements).subs(at) == concrete.cost.saved_elements
    assert sympy.sympify(symbolic.cost.peak_elements).subs(at) == concrete.cost.peak_elements
    for kind, count in concrete.backward_counts.items():
        assert sympy.sympify(symbolic.backward_counts[kind]).subs(at) == count, kind


# -- what cannot be counted, several inputs ---------------------------------------------------------------

@torch.library.custom_op("attncost_training_test::twice", mutates_args=())
def twice(x: torch.Tensor) -> torch.Tensor:
    return 2 * x


@torch.library.custom_op("attncost_training_test::twice_backward", mutates_args=())
def twice_backward(g: torch.Tensor) -> torch.Tensor:
    return 2 * g


twice.register_autograd(lambda ctx, g: twice_backward(g))


class Twice(nn.Module):
    def __init__(self):
        super().__init__()
        self.proj = nn.Linear(4, 4)

    def forward(self, x):
        return twice(self.proj(x))


def test_an_op_without_formula_in_backward_is_named():
    with pytest.raises(UnsupportedOpsError, match="twice_backward"):
        trace_training(Twice(), torch.randn(3, 4))
    r = trace_training(Twice(), torch.randn(3, 4), allow_unsupported=True)
    assert set(r.unsupported) == {"attncost_training_test.twice.default",
                                  "attncost_training_test.twice_backward.default"}
    assert r.backward_counts["mac.matmul"] == 3 * 4 * 4            # the linear's grad-weight still counted


class Pair(nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Linear(4, 5), nn.Linear(6, 5)

    def forward(self, x, y):
        return self.a(x) * self.b(y)


def test_several_inputs():
    r = trace_training(Pair(), (torch.randn(3, 4), torch.randn(3, 6)))
    # grad-weights only (the inputs need no gradient): (5x3) @ (3x4) and (5x3) @ (3x6)
    assert r.backward_counts["mac.matmul"] == 5 * 3 * 4 + 5 * 3 * 6
    # saved: x and y (the linears' inputs), both linear outputs (the product's operands)
    assert r.cost.saved_elements == 3 * 4 + 3 * 6 + 3 * 5 + 3 * 5


@pytest.mark.parametrize("name", ["se", "nonlocal", "mhsa"])
def test_symbolic_catalogue_entries_equal_the_concrete_trace(name):
    N, H, W = sympy.symbols("N H W", positive=True, integer=True)
    shape = (2, 64, 10, 12)
    module = build(name, shape, catalogue.get(name).resolve(shape, {}))
    symbolic = trace_training_symbolic(module, (N, 64, H, W), {"H": 10, "W": 12})
    concrete = trace_training(module, torch.randn(*shape))
    at = {N: 2, H: 10, W: 12}
    assert sympy.sympify(symbolic.cost.saved_elements).subs(at) == concrete.cost.saved_elements
    assert sympy.sympify(symbolic.cost.peak_elements).subs(at) == concrete.cost.peak_elements
    assert {k: sympy.sympify(v).subs(at) for k, v in symbolic.backward_counts.items()} == concrete.backward_counts
