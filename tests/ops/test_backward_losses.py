"""Losses and variance reductions on a traced forward and backward, against hand counts per element
of the loss's input (n): what the kernels of aten/src/ATen/native/Loss.cpp, LossNLL.cpp and
ReduceOps.cpp compute per element (written out next to each expectation). Nothing of ``attncost.ops``
is imported; the tracer must report no unsupported op.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from backward_run import run_backward

aten = torch.ops.aten


def leaf(*shape):
    return torch.randn(*shape, requires_grad=True)


def run(forward):
    result = run_backward(forward)
    assert not result.unsupported, result.unsupported
    return result


def forward_counts_of(result, packet) -> dict:
    """The forward's counts, which are the loss op's alone (its inputs are made outside the count),
    asserting ``packet`` ran."""
    assert packet in result.forward_packets
    return dict(result.forward)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("spatial", [False, True], ids=["nll_loss", "nll_loss2d"])
def test_nll_loss(reduction, weighted, spatial):
    logp = leaf(4, 5, 3, 2) if spatial else leaf(4, 5)
    target = torch.randint(0, 5, (4, 3, 2) if spatial else (4,))
    weight = torch.rand(5) if weighted else None
    result = run(lambda: F.nll_loss(logp, target, weight, reduction=reduction))
    n = target.numel()
    # forward: each target's log-probability picked and negated (weighted: times its weight), then reduced
    expected = {"elementwise.neg": n}
    if weighted:
        expected["elementwise.mul"] = n
    if reduction != "none":
        expected["reduce.mean" if reduction == "mean" else "reduce.sum"] = n
    assert forward_counts_of(result, aten.nll_loss2d_forward if spatial else aten.nll_loss_forward) == expected
    # backward: zeros of the input's shape, -g at each target (weighted: times the weight; mean: / total weight)
    backward = {"copy": logp.numel(), "elementwise.neg": n}
    if weighted:
        backward["elementwise.mul"] = n
    if reduction == "mean":
        backward["elementwise.div"] = n
    assert result.of(aten.nll_loss2d_backward if spatial else aten.nll_loss_backward) == backward


def test_cross_entropy_is_log_softmax_then_nll_loss():
    logits, target = leaf(6, 10), torch.randint(0, 10, (6,))
    result = run(lambda: F.cross_entropy(logits, target))
    assert result.forward == {"softmax.log": 60, "elementwise.neg": 6, "reduce.mean": 6}
    assert result.of(aten._log_softmax_backward_data) == {"softmax.log_backward": 60}


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_mse_loss(reduction):
    x, y = leaf(3, 4, 5), torch.randn(3, 4, 5)
    result = run(lambda: F.mse_loss(x, y, reduction=reduction))
    expected = {"elementwise.sub": 60, "elementwise.mul": 60}       # (x - y)² over 3·4·5 elements
    if reduction != "none":
        expected["reduce.mean" if reduction == "mean" else "reduce.sum"] = 60
    assert forward_counts_of(result, aten.mse_loss) == expected
    assert result.of(aten.mse_loss_backward) == {"elementwise.sub": 60, "elementwise.mul": 120}   # 2·(x - y)·g


def test_smooth_l1_loss():
    x, y = leaf(4, 5), torch.randn(4, 5)
    result = run(lambda: F.smooth_l1_loss(x, y, beta=0.5))
    # d = x - y; |d| < β ? 0.5·d²/β : |d| - 0.5·β, then the mean
    assert forward_counts_of(result, aten.smooth_l1_loss) == {
        "elementwise.sub": 40, "elementwise.abs": 20, "elementwise.compare": 20, "elementwise.mul": 40,
        "elementwise.where": 20, "reduce.mean": 20}
    # g·(|d| < β ? d/β : sign(d))
    assert result.of(aten.smooth_l1_loss_backward) == {
        "elementwise.sub": 20, "elementwise.compare": 20, "elementwise.div": 20, "elementwise.sign": 20,
        "elementwise.where": 20, "elementwise.mul": 20}


@pytest.mark.parametrize("weighted", [False, True])
def test_binary_cross_entropy(weighted):
    p = torch.rand(4, 5).clamp(0.05, 0.95).requires_grad_()
    y, w = torch.rand(4, 5), (torch.rand(4, 5) if weighted else None)
    result = run(lambda: F.binary_cross_entropy(p, y, w))
    # (y - 1)·max(log(1 - p), -100) - y·max(log(p), -100): 2 logs, 2 clamps, 2 products, 2 subtracts
    expected = {"elementwise.log": 40, "elementwise.clamp": 40, "elementwise.mul": 40 + (20 if weighted else 0),
                "elementwise.sub": 40, "reduce.mean": 20}
    assert forward_counts_of(result, aten.binary_cross_entropy) == expected
    # g·(p - y)/max((1 - p)·p, ε)
    assert result.of(aten.binary_cross_entropy_backward) == {
        "elementwise.sub": 40, "elementwise.mul": 40 + (20 if weighted else 0), "elementwise.clamp": 20,
        "elementwise.div": 20}


@pytest.mark.parametrize("pos_weighted", [False, True])
def test_binary_cross_entropy_with_logits(pos_weighted):
    x, y = leaf(4, 5), torch.rand(4, 5)
    pos = torch.rand(5) if pos_weighted else None
    result = run(lambda: F.binary_cross_entropy_with_logits(x, y, pos_weight=pos))
    # (1 - y)·x - log σ(x), log σ(x) = min(x, 0) - log1p(exp(-|x|)); pos_weight: 2 products and an add more
    expected = {"elementwise.sub": 40, "elementwise.mul": 20 + (40 if pos_weighted else 0), "elementwise.abs": 20,
                "elementwise.exp": 20, "elementwise.log": 20, "elementwise.clamp": 20,
                "elementwise.add": 20 + (20 if pos_weighted else 0), "reduce.mean": 20}
    assert forward_counts_of(result, aten.binary_cross_entropy_with_logits) == expected


@pytest.mark.parametrize("root", [False, True], ids=["var", "std"])
def test_variance_over_a_dim(root):
    x = leaf(3, 8, 2)
    result = run(lambda: x.std(1) if root else x.var(1))
    # the mean (3·8·2 = 48 read), deviations, squares, their sum, one divide per output (3·2); std: a root each
    expected = {"reduce.mean": 48, "elementwise.sub": 48, "elementwise.mul": 48, "reduce.sum": 48,
                "elementwise.div": 6}
    if root:
        expected["elementwise.sqrt"] = 6
    assert forward_counts_of(result, aten.std if root else aten.var) == expected
