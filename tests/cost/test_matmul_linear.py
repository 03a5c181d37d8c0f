"""Program.matmul and Program.linear against what aten runs: op for op (every view, copy and product,
with its counts and the elements it allocates) on random shapes, broadcast batches and permuted or
expanded operands, and the whole Cost (counts, params, activation and peak memory) against the
tracer."""

from __future__ import annotations

import random

import pytest
import torch
from torch import nn

from attncost.cost import Program
from attncost.trace.tracer import CostTracer


def _steps(records) -> list:
    """Each op as (counts, elements it allocates, number of storages it reads)."""
    return [(dict(r.counts), [e for _, e in r.allocations], len(r.uses)) for r in records]


def _operand(rng: random.Random, shape: tuple, g: Program):
    """A torch tensor and the matching Program tensor of ``shape``: contiguous, permuted, or (for a
    leading dim) expanded from a smaller tensor."""
    how = rng.choice(["contiguous", "permuted", "permuted", "expanded"])
    if how == "expanded" and len(shape) > 2:
        base = (1, *shape[1:])
        return torch.randn(base).expand(shape), g.expand(g.input(base), shape)
    if how == "permuted":
        perm = list(range(len(shape)))
        rng.shuffle(perm)
        base = [None] * len(shape)
        for j, p in enumerate(perm):
            base[p] = shape[j]
        return torch.randn(base).permute(perm), g.permute(g.input(tuple(base)), perm)
    return torch.randn(shape), g.input(shape)


def _trace(fn, *inputs, module=None):
    tracer = CostTracer(module)
    for x in inputs:
        tracer.add_input(x)
    with torch.no_grad(), tracer:
        out = fn(*inputs)
    return tracer, out


def _matmul_case(rng: random.Random):
    size = lambda: rng.choice([1, 2, 3, 4])                              # noqa: E731
    n, m, p = size(), size(), size()
    batch = [size() for _ in range(rng.randint(0, 2))]
    a_batch = [b if rng.random() < 0.7 else 1 for b in batch][rng.randint(0, len(batch)):]
    b_batch = [b if rng.random() < 0.7 else 1 for b in batch][rng.randint(0, len(batch)):]
    return (*a_batch, n, m), (*b_batch, m, p)


@pytest.mark.parametrize("seed", range(40))
def test_matmul_runs_the_ops_aten_runs(seed):
    rng = random.Random(seed)
    a_shape, b_shape = _matmul_case(rng)
    g = Program()
    a, pa = _operand(rng, a_shape, g)
    b, pb = _operand(rng, b_shape, g)
    start = len(g.records)
    out = g.matmul(pa, pb)
    tracer, expected = _trace(torch.matmul, a, b)
    assert out.shape == tuple(expected.shape)
    assert _steps(g.records[start:]) == _steps(tracer.records), (a_shape, a.stride(), b_shape, b.stride())
    traced = tracer.result(expected)
    cost = g.finish(out)
    assert (cost.counts, cost.activation_elements) == (traced.counts, traced.activation_elements)


def test_matmul_folds_a_batch_that_collapses_and_not_one_that_does_not():
    """(2, 3, 4, 5) @ (5, 7): contiguous, viewed to (24, 5), one mm of 24 * 7 * 5 = 840 MACs and no
    copy; transposed in its batch dims, the fold would copy, so aten expands and runs bmm, copying
    the 120 elements of a once."""
    g = Program()
    out = g.matmul(g.input((2, 3, 4, 5)), g.input((5, 7)))
    assert g.finish(out).counts == {"mac.matmul": 840}
    g = Program()
    out = g.matmul(g.transpose(g.input((3, 2, 4, 5)), 0, 1), g.input((5, 7)))
    assert g.finish(out).counts == {"mac.matmul": 840, "copy": 120}


def test_matmul_of_a_vector_is_refused():
    g = Program()
    with pytest.raises(ValueError, match="1-D"):
        g.matmul(g.input((3,)), g.input((3, 4)))


@pytest.mark.parametrize("seed", range(16))
@pytest.mark.parametrize("bias", [True, False])
def test_linear_runs_the_ops_aten_runs(seed, bias):
    """nn.Linear on contiguous and permuted inputs of 2-4 dims: the same non-view ops (a copy where a
    non-contiguous input cannot be viewed to 2-D, the product, the bias add) and the same Cost."""
    rng = random.Random(seed)
    fin, fout = rng.choice([2, 3, 5]), rng.choice([1, 4])
    shape = (*[rng.choice([1, 2, 3]) for _ in range(rng.randint(1, 3))], fin)     # (1-D: the tracer lacks squeeze_)
    layer = nn.Linear(fin, fout, bias=bias)
    g = Program()
    x, px = _operand(rng, shape, g)
    out = g.linear(px, fout, bias=bias, name="fc")
    tracer, expected = _trace(layer, x, module=layer)
    assert out.shape == tuple(expected.shape)
    computing = lambda records: [s[:2] for s in _steps(records) if s[0] or s[1]]     # noqa: E731
    assert computing(g.records) == computing(tracer.records), (shape, x.stride())     # (reads of parameters aside)
    assert g.finish(out).fields() == tracer.result(expected).fields()
