"""The backward primitives on symbolic sizes: a forward and backward traced once on FakeTensors with
N, H, W symbolic give formulas that, evaluated at other sizes, equal real runs at those sizes.

The oracle is the real run (concrete tensors, the same tracer); what is checked is that every
backward binding reads its shapes through the tracer (no int() of a symbolic size, no shape taken
from a value), so a training cost can be a formula in N, H, W. Which of ``mac.linear`` and
``mac.matmul`` a gradient product is, the forward ``mm`` handler decides from its operand order,
which autograd picks from strides (FunctionsManual.cpp, ``mm_mat1_backward``): the products are
compared as one total.
"""

from __future__ import annotations

import sympy
import torch
import torch.nn.functional as F
from torch import nn

from attncost.trace.symbolic import SymbolicInputs
from attncost.trace.tracer import CostTracer

N, H, W = sympy.symbols("N H W", positive=True, integer=True)


class SmallNet(nn.Module):
    """Conv, group and layer norm, ReLU, SiLU, max/avg/adaptive pooling, reflection padding, a token
    softmax attention and a linear head: many backward primitives in one forward, none of which makes
    torch fix a size (batch norm's training statistics and a scale-factor interpolation do: their
    backward runs on the sizes torch fixed, and they are checked on real tensors elsewhere)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.gn, self.ln = nn.GroupNorm(2, 8), nn.LayerNorm(8)
        self.fc = nn.Linear(8, 5)

    def forward(self, x):
        y = F.max_pool2d(F.relu(self.gn(self.conv(x))), 2)
        y = F.avg_pool2d(F.silu(F.pad(y, (1, 1, 1, 1), mode="reflect")), 2)
        tokens = self.ln(y.flatten(2).transpose(1, 2))                     # (N, tokens, 8)
        attended = ((tokens @ tokens.transpose(1, 2)).softmax(-1) @ tokens).mean(1)
        return self.fc(F.adaptive_avg_pool2d(y, 1).flatten(1) + attended).sigmoid()


def backward_counts(tracer, split) -> dict:
    counts: dict = {}
    for record in tracer.records[split:]:
        for k, v in record.counts.items():
            counts[k] = counts.get(k, 0) + v
    return counts


def traced_backward(shape, symbolic: bool) -> dict:
    torch.manual_seed(0)
    net = SmallNet()
    if symbolic:
        inputs = SymbolicInputs({"N": 2, "H": 8, "W": 12})
        x = inputs.tensor(shape).requires_grad_()
        with inputs.fake_mode:
            tracer = CostTracer(net, inputs.size_to_expr)
            with tracer:
                out = net(x)
                split = len(tracer.records)
                out.backward(torch.ones_like(out))
    else:
        x = torch.randn(*shape, requires_grad=True)
        tracer = CostTracer(net)
        with tracer:
            out = net(x)
            split = len(tracer.records)
            out.backward(torch.ones_like(out))
    assert not tracer.unsupported, tracer.unsupported
    return backward_counts(tracer, split)


def merged_products(counts: dict) -> dict:
    merged = {k: v for k, v in counts.items() if not k.startswith(("mac.linear", "mac.matmul", "tally."))}
    merged["products"] = sum(v for k, v in counts.items() if k in ("mac.linear", "mac.matmul"))
    return merged


def test_symbolic_backward_counts_evaluate_to_real_runs():
    formulas = merged_products(traced_backward((N, 3, H, W), symbolic=True))
    assert any(sympy.sympify(v).free_symbols for v in formulas.values())
    for n, h, w in ((2, 8, 12), (3, 12, 8), (1, 4, 16)):
        real = merged_products(traced_backward((n, 3, h, w), symbolic=False))
        evaluated = {k: int(sympy.sympify(v).subs({N: n, H: h, W: w})) for k, v in formulas.items()}
        assert evaluated == real, (n, h, w)
