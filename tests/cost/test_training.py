"""Training costs of small Programs derived by hand from the shapes and from what PyTorch's autograd
runs (tools/autograd/derivatives.yaml, torch/csrc/autograd/engine.cpp, accumulate_grad.h), without
torch: each expected number is written out next to the arithmetic."""

import pytest

from attncost.cost import Program
from attncost.cost.autograd import TrainingError
from attncost.cost.training import forward_training_cost, only_scopes, training_cost
from attncost.errors import ShapeError
from attncost.networks import definition, forward

N, CIN, H, W, COUT, F, K = 2, 3, 5, 5, 4, 6, 3


def _small(g: Program):
    """conv 3x3 (same padding, no bias) -> relu -> global average pool -> flatten -> linear (bias)."""
    x = g.input((N, CIN, H, W))
    y = g.relu(g.conv(x, COUT, K, padding=1, bias=False, name="conv"))
    y = g.view(g.global_avg_pool(y), (N, COUT))
    return g.linear(y, F, name="fc")


def _training(fn, **options):
    g = Program(training=True, **options)
    return training_cost(g, fn(g))


def _ops(counts) -> dict:
    """Counts of ops, without the tallies (work counted again under another name, ops/conv.py)."""
    return {k: v for k, v in counts.items() if not k.startswith("tally.")}


def test_backward_counts_by_hand():
    cost = _training(_small)
    conv_macs = N * COUT * H * W * CIN * K * K          # 2*4*5*5*3*3*3 = 5400
    assert cost.forward.counts["mac.conv"] == conv_macs
    assert _ops(cost.backward_counts) == {
        "mac.conv": conv_macs,                          # the weight gradient only: the input needs none
        "elementwise.relu_backward": N * COUT * H * W,  # threshold_backward, 200
        "elementwise.div": N * COUT * H * W,            # mean's backward: expand, then / (H*W), 200
        "mac.linear": N * F * COUT,                     # grad_input = grad @ W, 48
        "mac.matmul": F * COUT * N,                     # grad_W = grad^T @ x, 48
        "reduce.sum": N * F,                            # grad_bias = grad summed over rows, 12
    }


def test_input_gradient_adds_the_grad_input_product():
    cost = _training(_small, input_requires_grad=True)
    assert cost.backward_counts["mac.conv"] == 2 * N * COUT * H * W * CIN * K * K     # grad-input and grad-weight


def test_saved_elements_by_hand():
    cost = _training(_small)
    # conv saves its input; relu its result; mean nothing (sizes); addmm its input (W.t() is a parameter)
    assert cost.saved_elements == N * CIN * H * W + N * COUT * H * W + N * COUT      # 150 + 200 + 8


def test_trainable_params_and_frozen_scopes():
    cost = _training(_small)
    assert cost.trainable_params == COUT * CIN * K * K + F * COUT + F == cost.forward.params

    def small_scoped(g):
        x = g.input((N, CIN, H, W))
        y = g.relu(g.conv(x, COUT, K, padding=1, bias=False, name="conv"))
        with g.scope("attention:head"):
            y = g.linear(g.view(g.global_avg_pool(y), (N, COUT)), F, name="fc")
        return y

    frozen = _training(small_scoped, trainable=only_scopes("attention:"))
    assert frozen.trainable_params == F * COUT + F
    assert "mac.conv" not in frozen.backward_counts            # no weight gradient, no input gradient
    assert "elementwise.relu_backward" not in frozen.backward_counts


def test_peak_of_relu_by_hand():
    """x (n) -> relu (out of place) -> out. Forward: x and y live (2n). Backward: the output gradient
    (n) is allocated reading y; threshold_backward reads it and y (relu saves its result) and writes
    x's gradient (n), which AccumulateGrad keeps as x.grad: y + g + dx = 3n. x itself died after relu."""
    n = 7 * 3

    def relu(g):
        return g.relu(g.input((7, 3)))

    cost = _training(relu, input_requires_grad=True)
    assert cost.peak_elements == 3 * n
    assert cost.saved_elements == n
    assert _ops(cost.backward_counts) == {"elementwise.relu_backward": n}


def test_shared_input_gradients_are_added():
    """y = x * x: MulBackward0 writes grad * x twice; the second reaching x is added to the first."""
    def square(g):
        x = g.input((4, 5))
        return g.mul(x, x)

    cost = _training(square, input_requires_grad=True)
    assert _ops(cost.backward_counts) == {"elementwise.mul": 2 * 20, "elementwise.add": 20}


def test_output_gradient_reaching_a_parameter_is_copied():
    """out = x + b with b of out's shape: AddBackward0 hands the output gradient itself to b, and the
    caller holds it, so AccumulateGrad copies it (new_empty_strided + copy_: 'copy', 20 elements)."""
    def biased(g):
        x = g.input((4, 5))
        return g.add(x, g.parameter("b", (4, 5)))

    cost = _training(biased)
    assert _ops(cost.backward_counts) == {"copy": 20}
    assert cost.trainable_params == 20


def test_broadcast_operand_gradient_is_summed():
    """out = x * s with s (4, 1): s's gradient grad * x (20) summed over the broadcast dim (sum_to)."""
    def gated(g):
        x = g.input((4, 5))
        return g.mul(x, g.parameter("s", (4, 1)))

    cost = _training(gated)
    assert _ops(cost.backward_counts) == {"elementwise.mul": 20, "reduce.sum": 20}


def test_training_forward_differs_only_by_batch_statistics():
    """ResNet-50 (53 batch norms) in train mode: each BN normalises with batch statistics
    (norm.batch_stats instead of norm.batch), adds 1 to num_batches_tracked, and writes its saved mean
    and inverse std (2 C elements)."""
    spec, shape = definition("resnet50"), (2, 3, 64, 64)
    g = Program()
    inference = g.finish(forward(g, g.input(shape), spec))
    cost = forward_training_cost(lambda g, x: forward(g, x, spec), shape)
    train = dict(cost.forward.counts)
    assert train.pop("norm.batch_stats") == inference.counts["norm.batch"]
    assert train.pop("elementwise.add") == inference.counts["elementwise.add"] + 53
    expected = dict(inference.counts)
    del expected["norm.batch"], expected["elementwise.add"]
    assert train == expected
    assert cost.forward.params == inference.params == cost.trainable_params


def test_inference_programs_unchanged():
    g = Program()
    x = g.input((N, CIN, H, W))
    assert g.tape is None and x.grad_fn is None
    assert g.relu(x).grad_fn is None


def test_an_op_without_backward_is_named():
    g = Program(training=True, input_requires_grad=True)
    x = g.input((2, 3, 4, 4))
    with pytest.raises(TrainingError, match="Program.diag has no backward"):
        g.diag(g.view(x, (96,)))
    with pytest.raises(TrainingError, match="Program.where has no backward"):
        g.where(g.input((2, 3, 4, 4)), x, x)


def test_an_inplace_activation_on_a_view_by_hand():
    """relu_ on a view of a (2, 3, 4, 4) relu output (96 elements): autograd wraps its node in CopySlices
    (torch/csrc/autograd/functions/tensor.cpp) and gives the view an AsStridedBackward0. Backward, by
    hand: AsStridedBackward0 makes zeros of the base (96 copied) and copies the grad in (96);
    CopySlices copies the grad into a base-shaped result (96), clones the view's slice (96), runs
    threshold_backward on it (96) and copies the result back (96); the first relu's backward (96).
    Copies 5 * 96, relu backward 2 * 96; saved: the one storage both relus save (96)."""
    g = Program(training=True, input_requires_grad=True)
    x = g.relu(g.input((2, 3, 4, 4)))
    cost = training_cost(g, g.relu(g.view(x, (2, 48)), inplace=True))
    assert cost.backward_counts == {"copy": 5 * 96, "elementwise.relu_backward": 2 * 96}
    assert cost.saved_elements == 96


def test_no_output_requiring_grad_is_an_error():
    g = Program(training=True)
    out = g.relu(g.input((2, 3)))
    with pytest.raises(TrainingError, match="no output requires grad"):
        training_cost(g, out)


def test_batch_norm_needs_more_than_one_value_per_channel():
    g = Program(training=True)
    with pytest.raises(ShapeError, match="more than one value per channel"):
        g.batch_norm(g.input((1, 8, 1, 1)), name="bn")


def test_training_cost_needs_a_training_program():
    g = Program()
    with pytest.raises(TrainingError, match="training program"):
        training_cost(g, g.input((2, 3)))


def test_checkpointed_region_by_hand():
    """conv -> [checkpoint: conv 3x3 (bias) -> BN -> relu_ -> conv 1x1] -> conv. The region saves only
    its input; in backward it is recomputed from its first op to the relu_ (the last op that saves a
    tensor it wrote: relu's result; the 1x1 conv saves only its input, so it is not rerun: torch's
    early stop), counted in backward, batch norm's num_batches_tracked add included."""
    n, h, w = 2, 6, 6

    def net(g, checkpoint):
        t = g.conv(g.input((n, 3, h, w)), 4, 3, padding=1, bias=False, name="c0")

        def region(t):
            t = g.conv(t, 4, 3, padding=1, name="c1")
            t = g.relu(g.batch_norm(t, name="bn"), inplace=True)
            return g.conv(t, 4, 1, name="c3")
        t = g.checkpoint(region, t) if checkpoint else region(t)
        return g.conv(t, 2, 1, name="c4")

    plain, ckpt = _training(lambda g: net(g, False)), _training(lambda g: net(g, True))
    act = n * 4 * h * w                                      # 288: each 4-channel map
    # plain: c0's input, c1's input, BN's input, mean and invstd, relu's result, c3's input (= it), c4's input
    assert plain.saved_elements == n * 3 * h * w + act + act + 2 * 4 + act + act
    # checkpointed: c0's input, the region's input (c1's), c4's input (the region's output)
    assert ckpt.saved_elements == n * 3 * h * w + act + act
    extra = {k: ckpt.backward_counts[k] - plain.backward_counts.get(k, 0) for k in ckpt.backward_counts}
    assert _ops({k: v for k, v in extra.items() if v}) == {
        "mac.conv": act * 4 * 3 * 3, "bias.add": act,         # c1 again (4*3*3 MACs per output)
        "elementwise.add": 1, "norm.batch_stats": act, "norm.affine": act, "elementwise.relu": act}


@pytest.mark.parametrize("name", ["se", pytest.param("nonlocal", marks=pytest.mark.slow)])
def test_symbolic_training_cost_is_the_concrete_one_substituted(name):
    """One program serves both: on N, C, H, W (and symbolic hyperparameters) the training cost is a
    formula, which at a concrete shape gives the concrete program's integers."""
    from attncost import catalogue, symbols

    entry = catalogue.get(name)
    shape_symbols = (symbols.N, symbols.C, symbols.H, symbols.W)
    hp = entry.resolve(shape_symbols, entry.symbolic_hp({}))
    formula = forward_training_cost(lambda g, x: entry.program(g, x, **hp), shape_symbols, input_requires_grad=True)
    for shape in [(2, 32, 8, 8), (3, 64, 6, 10)]:
        concrete_hp = entry.resolve(shape, {})
        concrete = forward_training_cost(lambda g, x: entry.program(g, x, **concrete_hp), shape,
                                         input_requires_grad=True)
        values = dict(zip(shape_symbols, shape))
        values.update({s: concrete_hp[s.name] for s in formula.saved_elements.free_symbols if s.name in concrete_hp})
        for field in ("saved_elements", "peak_elements", "trainable_params"):
            assert getattr(formula, field).subs(values) == getattr(concrete, field)
        assert {k: v.subs(values) for k, v in formula.backward_counts.items()} == concrete.backward_counts


def test_a_checkpoint_pattern_matching_no_scope_is_an_error():
    with pytest.raises(TrainingError, match="matches no scope"):
        forward_training_cost(lambda g, x: g.relu(g.conv(x, 4, 1, name="c")), (2, 3, 4, 4), checkpoint=("attention:*",))
